"""The boundary in `cli/main.py` for errors settlekit did not anticipate: one line, a fix naming the debug switch,
URLs redacted; `--debug` or SETTLEKIT_DEBUG=1 re-raise with the traceback. (An unanticipated error cannot be
provoked through the real commands on purpose, so one command's library call is replaced by one that raises.)"""

from __future__ import annotations

import json

import pytest

from settlekit.cli import doctor_cmd
from settlekit.cli.main import main
from settlekit.exceptions import DEBUG_ENV


def _boom(_project: object) -> None:
    raise RuntimeError("bad state at https://rpc.example/v3/SECRETKEY\nsecond line")


def test_an_unexpected_error_is_one_line_with_the_debug_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    monkeypatch.setattr(doctor_cmd, "run_doctor", _boom)
    assert main(["doctor"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines[0] == "error: unexpected RuntimeError: bad state at https://rpc.example/***"
    assert lines[1].startswith("fix: rerun with SETTLEKIT_DEBUG=1")
    assert len(lines) == 2
    assert "SECRETKEY" not in captured.out + captured.err


def test_json_mode_prints_the_error_object_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    monkeypatch.setattr(doctor_cmd, "run_doctor", _boom)
    assert main(["doctor", "--json"]) == 1
    error = json.loads(capsys.readouterr().out)
    assert error["error"] == "UnexpectedError"
    assert DEBUG_ENV in error["fix"]


@pytest.mark.parametrize("switch", ["env", "flag"])
def test_debug_shows_the_traceback(switch: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    monkeypatch.setattr(doctor_cmd, "run_doctor", _boom)
    if switch == "env":
        monkeypatch.setenv(DEBUG_ENV, "1")
    args = ["doctor"] if switch == "env" else ["--debug", "doctor"]
    with pytest.raises(RuntimeError, match="bad state"):
        main(args)
    monkeypatch.delenv(DEBUG_ENV, raising=False)  # the flag sets it for the process


def test_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(_project: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(doctor_cmd, "run_doctor", interrupted)
    assert main(["doctor"]) == 130
