"""Output at 80 columns. ``--help``: every option name of every command is shown whole, and nothing is cut with an
ellipsis (typer's option tables used to print ``--delivery-max-ba…``)."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from settlekit.cli.main import app, main


def _commands() -> list[tuple[list[str], Any]]:
    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():  # a group's subcommands
            walk([*path, name], sub)

    walk([], typer.main.get_command(app))
    return found


def test_every_command_is_covered() -> None:
    names = {" ".join(path) for path, _ in _commands()}
    assert {"", "watch", "demo", "deploy", "events", "chain up", "errors"} <= names


@pytest.mark.parametrize(
    ("path", "command"), _commands(), ids=lambda value: " ".join(value) if isinstance(value, list) else ""
)
def test_help_at_80_columns_keeps_option_names_whole(
    path: list[str], command: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    for param in command.params:
        for name in [*param.opts, *param.secondary_opts]:
            if name.startswith("--"):
                assert name in out, f"{name} of `settlekit {' '.join(path)}` is not shown whole at 80 columns"


@pytest.mark.parametrize("command", [["doctor"], ["errors", "catalogue"]])
def test_tables_fold_long_paths_at_80_columns_instead_of_cutting_them(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    main(command)
    out = capsys.readouterr().out
    assert "│" in out  # a table
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
