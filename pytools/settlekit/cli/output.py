"""Rendering command results: JSON on stdout with ``--json``, rich text otherwise. Errors go to stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape

from settlekit.exceptions import SettlekitError

stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


def emit(data: Any, *, as_json: bool, render: Callable[[Console], None]) -> None:
    """Print ``data`` as one JSON document, or call ``render`` with the console."""
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
        sys.stdout.flush()
    else:
        render(stdout)


def emit_error(error: SettlekitError, *, as_json: bool) -> None:
    """Exactly one ``error:`` line and one ``fix:`` line on stderr; with ``as_json`` also the error as one JSON
    object on stdout (:meth:`SettlekitError.to_dict`)."""
    if as_json:
        sys.stdout.write(json.dumps(error.to_dict()) + "\n")
        sys.stdout.flush()
    fix = error.hint or "rerun with SETTLEKIT_DEBUG=1 for details"
    stderr.print(f"[bold red]error:[/] {escape(_one_line(error.message))}", markup=True, soft_wrap=True)
    stderr.print(f"[yellow]fix:[/] {escape(_one_line(fix))}", markup=True, soft_wrap=True)


def _one_line(text: str) -> str:
    """``text`` on one line (a message from a library may span several)."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())
