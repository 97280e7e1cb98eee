"""``settlekit doctor``."""

from __future__ import annotations

from functools import partial

import typer
from rich.console import Console
from rich.table import Table

from settlekit.cli.options import JsonOption
from settlekit.cli.output import emit
from settlekit.doctor import DoctorReport, run_doctor
from settlekit.toolchain import default_project


def _render(report: DoctorReport, console: Console) -> None:
    table = Table(title="settlekit doctor")
    for column in ("tool", "status", "version", "path"):
        table.add_column(column, overflow="fold")  # a long path goes on over lines, never cut
    for check in report.checks:
        status = "[green]ok[/]" if check.ok else ("[red]missing[/]" if check.required else "[yellow]warn[/]")
        table.add_row(check.name, status, check.version or "-", check.path or "-")
    console.print(table)
    for check in report.checks:
        if not check.ok:
            console.print(f"[red]{check.name}[/]: {check.problem}\n  [yellow]fix:[/] {check.fix}")
    console.print("[green]all required tools present[/]" if report.ok else "[red]required tools missing[/]")


def doctor(as_json: JsonOption = False) -> None:
    """Show versions and paths of python, vyper, anvil, forge and cast, and how to fix what is missing."""
    report = run_doctor(default_project())
    emit(report.to_dict(), as_json=as_json, render=partial(_render, report))
    if not report.ok:
        raise typer.Exit(1)
