"""``settlekit build``."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer
from rich.console import Console

from settlekit.build import ArtifactStore, BuildReport, build
from settlekit.cli.options import JsonOption
from settlekit.cli.output import emit
from settlekit.project import Project


def _render(report: BuildReport, contracts: list[str], console: Console) -> None:
    if report.cached:
        console.print(f"[green]up to date[/]: no source changed; {len(contracts)} artifacts in {report.out_dir}")
    else:
        console.print(
            f"[green]compiled {len(report.compiled)} file(s)[/]; {len(contracts)} artifacts in {report.out_dir}"
        )
        for path in report.compiled:
            console.print(f"  {path}")
    for warning in report.warnings:
        console.print(f"[yellow]warning[/] {warning.location()}: {warning.message}")


def build_command(
    as_json: JsonOption = False,
    force: Annotated[bool, typer.Option("--force", help="Recompile everything, ignoring forge's cache.")] = False,
    with_tests: Annotated[bool, typer.Option("--with-tests", help="Compile the forge test contracts too.")] = False,
) -> None:
    """Compile contracts/ with forge and the pinned vyper; unchanged sources are not recompiled."""
    project = Project.discover()
    report = build(project, force=force, tests=with_tests)
    contracts = ArtifactStore(project.out_dir).names()
    data = {
        "compiled": report.compiled,
        "cached": report.cached,
        "artifacts": contracts,
        "out_dir": str(report.out_dir),
        "warnings": [w.__dict__ for w in report.warnings],
    }
    emit(data, as_json=as_json, render=partial(_render, report, contracts))
