"""``settlekit init [DIR]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from settlekit.cli.options import JsonOption
from settlekit.cli.output import emit
from settlekit.scaffold import InitReport, init_project


def _render(report: InitReport, console: Console) -> None:
    console.print(f"[green]created[/] a settlekit project in {report.root} ({len(report.files)} files)")
    console.print(f"vyper modules: from settlekit.vyper import ... (search path {report.vyper_lib})")
    console.print(f"next: cd {report.root} && make setup && make test")


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project (new or empty).")] = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Create a new project: example Vault, forge and pytest tests, foundry.toml, settlekit.toml, Makefile."""
    report = init_project(directory)
    data = {"root": str(report.root), "files": report.files, "vyper_lib": report.vyper_lib}
    emit(data, as_json=as_json, render=lambda console: _render(report, console))
