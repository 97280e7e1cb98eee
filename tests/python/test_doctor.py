"""`settlekit doctor`."""

from __future__ import annotations

import json
from pathlib import Path

from support import cli_env, run_cli


def test_doctor_reports_every_tool_with_version_and_path() -> None:
    result = run_cli("doctor", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    checks = {check["name"]: check for check in report["checks"]}
    assert report["ok"] is True
    assert checks["vyper"]["version"] == "0.4.3"
    for tool in ("anvil", "forge", "cast"):
        assert checks[tool]["version"] == "1.7.1"
        assert Path(checks[tool]["path"]).is_file()
    assert checks["python"]["version"].startswith("3.11.")


def test_doctor_fails_with_a_fix_when_a_required_tool_is_missing(tmp_path: Path) -> None:
    result = run_cli("doctor", "--json", env=cli_env(SETTLEKIT_CAST=str(tmp_path / "cast")))
    assert result.returncode == 1
    cast = next(check for check in json.loads(result.stdout)["checks"] if check["name"] == "cast")
    assert cast["ok"] is False
    assert cast["fix"]
    text = run_cli("doctor", env=cli_env(SETTLEKIT_CAST=str(tmp_path / "cast")))
    assert text.returncode == 1
    assert "fix:" in text.stdout
    assert "required tools missing" in text.stdout


def test_doctor_flags_a_wrong_version(tmp_path: Path) -> None:
    fake = tmp_path / "forge"
    fake.write_text("#!/bin/sh\necho 'forge Version: 0.2.0'\n")
    fake.chmod(0o755)
    result = run_cli("doctor", "--json", env=cli_env(SETTLEKIT_FORGE=str(fake)))
    assert result.returncode == 1
    forge = next(check for check in json.loads(result.stdout)["checks"] if check["name"] == "forge")
    assert forge["problem"] == "forge 0.2.0 found, settlekit is pinned to 1.7.1"
