"""The base of every error settlekit raises on purpose.

Each error carries a ``hint``: the next thing a person should do. The CLI prints both and exits non-zero
without a traceback; library users can catch :class:`SettlekitError` and show the same text.
"""

from __future__ import annotations


class SettlekitError(Exception):
    """An error with a message for people and a hint saying what to do about it."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, str | None]:
        """The error as JSON-ready data (the CLI's ``--json`` error output)."""
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class ToolNotFoundError(SettlekitError):
    """A required executable (vyper, anvil, forge, cast) could not be found."""


class ProjectNotFoundError(SettlekitError):
    """No settlekit project (a folder with foundry.toml and contracts/) around the working directory."""


class UsageError(SettlekitError):
    """The command was given input it cannot act on."""

    exit_code = 2
