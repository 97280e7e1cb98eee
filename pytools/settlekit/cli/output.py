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
    if as_json:
        sys.stdout.write(json.dumps(error.to_dict()) + "\n")
        sys.stdout.flush()
        return
    stderr.print(f"[bold red]error:[/] {escape(error.message)}", markup=True, soft_wrap=True)
    if error.hint:
        stderr.print(f"[yellow]fix:[/] {escape(error.hint)}", markup=True, soft_wrap=True)
