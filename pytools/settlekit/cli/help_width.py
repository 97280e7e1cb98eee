"""``--help`` at 80 columns without cut option names.

Typer lays a command's options out as a rich table whose columns ellipsize (``--delivery-max-ba…``) when the
terminal is narrow. Here every column but the last (the help text) is made unwrappable, so rich narrows and wraps the
help text instead and never cuts an option name, a flag or a type; a help word wider than its column is folded onto
the next line, not cut. Installed when the CLI is asked for help; checked by ``tests/python/test_cli_width.py``
at COLUMNS=80 for every command.
"""

from __future__ import annotations

from typing import Any, cast

from rich.columns import Columns
from rich.table import Table
from rich.text import Text


class _HelpTable(Table):
    """A rich Table whose columns, except the last, keep their cells whole (no wrap, no ellipsis)."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*[_foldable(cell) for cell in renderables], **kwargs)
        for column in self.columns[:-1]:
            column.no_wrap = True
        for column in self.columns:
            column.overflow = "fold"  # a word wider than its column goes on over lines: never an ellipsis


def _foldable(cell: Any) -> Any:
    """An option's help (typer gives a rich Columns of Text pieces, which ellipsizes a long word) as one Text that
    wraps at spaces and folds a word wider than the column."""
    if isinstance(cell, Columns) and all(isinstance(item, Text) for item in cell.renderables):
        joined = Text(" ").join(cast(list[Text], cell.renderables))
        joined.overflow = "fold"
        return joined
    if isinstance(cell, Text):
        cell.overflow = "fold"
    return cell


def install() -> None:
    """Make typer's help tables keep option names whole (idempotent)."""
    from typer import rich_utils

    setattr(rich_utils, "Table", _HelpTable)  # noqa: B010 (typer does not export the name it builds tables with)
