"""The base of every error settlekit raises on purpose, and the typed operational errors the CLI reports.

Each error carries a ``hint``: the next thing a person should do (the CLI prints it as the ``fix:`` line). Classes
set ``default_hint`` for errors raised without one, so every error the CLI prints has a ``fix:`` line. The CLI
prints one ``error:`` line and one ``fix:`` line and exits non-zero without a traceback (``cli/main.py``);
library users can catch :class:`SettlekitError` and show the same text.
"""

from __future__ import annotations

from typing import ClassVar

DEBUG_ENV = "SETTLEKIT_DEBUG"  # set to 1: the CLI re-raises unexpected errors with their traceback


class SettlekitError(Exception):
    """An error with a message for people and a hint saying what to do about it."""

    exit_code: int = 1
    default_hint: ClassVar[str | None] = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def to_dict(self) -> dict[str, str | int | None]:
        """The error as JSON-ready data (the CLI's ``--json`` error output); ``fix`` repeats ``hint``."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
            "fix": self.hint,
            "exit_code": self.exit_code,
        }


class ToolNotFoundError(SettlekitError):
    """A required executable (vyper, anvil, forge, cast) could not be found."""


class ProjectNotFoundError(SettlekitError):
    """No settlekit project (a folder with foundry.toml and contracts/) around the working directory."""


class UsageError(SettlekitError):
    """The command was given input it cannot act on."""

    exit_code = 2


class ConfigError(SettlekitError):
    """settlekit.toml cannot be read, or a value in it has the wrong type or range (message names the key path)."""

    exit_code = 2
    default_hint = "correct settlekit.toml (format: docs/deploy.md and docs/watch.md)"


class RpcUrlError(UsageError):
    """An RPC URL that is not ``http://`` or ``https://``."""

    default_hint = "give the node's JSON-RPC URL as http://host:port or https://host/path"


class NodeError(SettlekitError):
    """The node could not be reached, did not answer in time, or answered something that is not JSON-RPC."""

    default_hint = "check that the node is running and the RPC URL is right"


class NodeRefusedError(SettlekitError):
    """The node answered a request with a JSON-RPC error that settlekit has no specific advice for."""

    default_hint = "read the node's message; rerun with SETTLEKIT_DEBUG=1 to see where it was raised"


class InsufficientFundsError(SettlekitError):
    """The signing account cannot pay for the transaction's gas and value."""

    default_hint = "fund the signing account (settlekit deploy NAME --dry-run shows the cost), or sign with another"


class StoreError(SettlekitError):
    """The watch store's URL is wrong, its folder or database does not exist, or its server is down."""

    default_hint = "pass --store sqlite:///PATH or postgresql://USER@HOST/DB (or set SETTLEKIT_STORE)"


class JournalCorruptError(SettlekitError):
    """A deployment journal has a line that is not a whole journal record."""

    default_hint = (
        "settlekit replaces journals atomically and never leaves half a line: restore the file from a backup or "
        "version control; do not delete it, it records the transactions already sent"
    )


class CommandInterruptedError(SettlekitError):
    """Ctrl-C (SIGINT) during a command."""

    exit_code = 130
    default_hint = "rerun the command; an interrupted deploy continues with settlekit deploy NAME --resume"


class UnexpectedError(SettlekitError):
    """An exception settlekit did not anticipate: reported in one line, with the way to see its traceback."""

    default_hint = f"rerun with {DEBUG_ENV}=1 (or settlekit --debug ...) to see the traceback, and report it"
