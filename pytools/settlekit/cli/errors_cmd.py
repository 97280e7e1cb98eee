"""``settlekit errors``: the revert-reason catalogue and decoding of revert data."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from settlekit.cli.options import JsonOption
from settlekit.cli.output import emit
from settlekit.errors import PanicRevert, ReasonRevert, decode_revert
from settlekit.exceptions import UsageError
from settlekit.project import Project
from settlekit.revert_catalogue import scan_sources, to_json, to_markdown

app = typer.Typer(help="Revert reasons: list the catalogue, decode revert data.", no_args_is_help=True)

PACKAGE_COPY = "pytools/settlekit/data/revert_reasons.json"
DOCS_COPY = "docs/errors.md"


@app.command("catalogue")
def catalogue(
    as_json: JsonOption = False,
    write: Annotated[bool, typer.Option("--write", help=f"Refresh {PACKAGE_COPY} and {DOCS_COPY}.")] = False,
) -> None:
    """List every revert reason in contracts/ (read from the sources)."""
    project = Project.discover()
    reasons = scan_sources(project.contracts_dir)
    if write:
        (project.root / PACKAGE_COPY).write_text(to_json(reasons))
        (project.root / DOCS_COPY).write_text(to_markdown(reasons))

    def render(console: Console) -> None:
        table = Table(title=f"{len(reasons)} revert reasons")
        for column in ("module", "reason", "where"):
            table.add_column(column, overflow="fold")  # a long path goes on over lines, never cut
        for reason in reasons:
            table.add_row(reason.module, reason.reason, f"{reason.file}:{reason.line}")
        console.print(table)
        if write:
            console.print(f"wrote {PACKAGE_COPY} and {DOCS_COPY}")

    emit([asdict(r) for r in reasons], as_json=as_json, render=render)


@app.command("decode")
def decode(
    data: Annotated[str, typer.Argument(help="Revert data as 0x-prefixed hex.")],
    as_json: JsonOption = False,
) -> None:
    """Decode revert data (Error(string), Panic(uint256), or raw) into module and reason."""
    text = data.strip()
    body = text[2:] if text.lower().startswith("0x") else text
    if len(body) % 2 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise UsageError(f"{data!r} is not hex revert data", hint="pass the data as 0x-prefixed hex bytes")
    revert = decode_revert(text)
    result: dict[str, object] = {
        "kind": type(revert).__name__,
        "message": revert.message,
        "data": "0x" + revert.data.hex(),
    }
    if isinstance(revert, ReasonRevert):
        result.update(module=revert.module, reason=revert.reason, raised_at=revert.raised_at)
    if isinstance(revert, PanicRevert):
        result.update(code=revert.code, meaning=revert.meaning)

    def render(console: Console) -> None:
        console.print(f"{result['kind']}: {revert.message}")
        for place in revert.raised_at if isinstance(revert, ReasonRevert) else []:
            console.print(f"  raised at {place}")

    emit(result, as_json=as_json, render=render)
