"""`settlekit build` and the artifact loader, on a small throwaway project compiled by the real forge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from settlekit.build import ArtifactNotFoundError, ArtifactStore, CompileError, build
from settlekit.project import Project
from settlekit.toolchain import find_tool

from support import REPO, cli_env, run_cli

COUNTER = """# pragma version ~=0.4.3
# pragma nonreentrancy on
from .modules import bumps

count: public(uint256)


@external
def bump(by: uint256):
    self.count = bumps._bumped(self.count, by)
"""
BUMPS = """# pragma version ~=0.4.3


@internal
@pure
def _bumped(current: uint256, by: uint256) -> uint256:
    assert by > 0, "bumps: zero step"
    return current + by
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    root = tmp_path / "proj"
    (root / "contracts" / "modules").mkdir(parents=True)
    shutil.copy(REPO / "foundry.toml", root / "foundry.toml")
    (root / "tests" / "forge").mkdir(parents=True)
    (root / "contracts" / "Counter.vy").write_text(COUNTER)
    (root / "contracts" / "modules" / "bumps.vy").write_text(BUMPS)
    # The throwaway project has no node_modules: use the main project's forge.
    monkeypatch.setenv("SETTLEKIT_FORGE", str(find_tool("forge", Project(REPO)).path))
    return Project(root)


def test_build_compiles_then_skips_unchanged_then_recompiles_dependents(project: Project) -> None:
    first = build(project)
    assert first.compiled == ["contracts/Counter.vy"]
    artifact = ArtifactStore(project.out_dir).get("Counter")
    assert {item["name"] for item in artifact.abi if item["type"] == "function"} == {"bump", "count"}
    assert artifact.bytecode
    assert artifact.runtime_bytecode
    assert artifact.runtime_bytecode in artifact.bytecode
    assert "bump(uint256)" in artifact.selectors.values()

    assert build(project).cached

    module = project.contracts_dir / "modules" / "bumps.vy"
    module.write_text(module.read_text() + "\n# a change in an imported module\n")
    assert build(project).compiled == ["contracts/Counter.vy"]


def test_test_contracts_are_compiled_only_when_asked(project: Project) -> None:
    (project.root / "tests" / "forge" / "CounterTest.vy").write_text(
        "# pragma version ~=0.4.3\n\n\n@external\ndef test_nothing():\n    pass\n"
    )
    assert build(project).compiled == ["contracts/Counter.vy"]
    assert build(project, tests=True).compiled == ["tests/forge/CounterTest.vy"]
    assert "CounterTest" in ArtifactStore(project.out_dir).names()


def _counting_forge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real forge behind a wrapper that logs each start; returns the log."""
    calls = tmp_path / "forge-starts.log"
    wrapper = tmp_path / "forge-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {find_tool("forge", Project(REPO)).path} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("SETTLEKIT_FORGE", str(wrapper))
    return calls


def _starts(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_an_unchanged_project_is_not_handed_to_forge_again(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build stamp: a build of unchanged inputs starts no forge; any change to a source, to the artifacts, to
    foundry.toml, to a FOUNDRY_ variable or to forge's cache (a build by forge itself) starts it again."""
    calls = _counting_forge(tmp_path, monkeypatch)
    assert build(project).compiled == ["contracts/Counter.vy"]
    assert _starts(calls) == 1
    assert build(project).cached
    assert build(project).cached
    assert _starts(calls) == 1  # no forge process for either

    module = project.contracts_dir / "modules" / "bumps.vy"
    module.write_text(module.read_text() + "\n# a change in an imported module\n")
    assert build(project).compiled == ["contracts/Counter.vy"]
    assert _starts(calls) == 2
    assert build(project).cached
    assert _starts(calls) == 2

    artifact = project.out_dir / "Counter.vy" / "Counter.json"
    artifact.unlink()
    build(project)
    assert _starts(calls) == 3
    assert artifact.is_file()  # forge was asked, and wrote it again

    monkeypatch.setenv("FOUNDRY_PROFILE", "quick")
    build(project)
    assert _starts(calls) == 4
    monkeypatch.delenv("FOUNDRY_PROFILE")
    build(project)  # back to the default profile: a stamp of other inputs
    assert _starts(calls) == 5

    toml = project.root / "foundry.toml"
    toml.write_text(toml.read_text() + "\n# a comment\n")
    build(project)
    assert _starts(calls) == 6

    (project.root / "cache" / "solidity-files-cache.json").write_text("{}")  # another tool rewrote forge's cache
    assert build(project).compiled == ["contracts/Counter.vy"]
    assert _starts(calls) == 7
    assert build(project).cached
    assert _starts(calls) == 7


def test_a_failed_build_leaves_no_stamp(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_forge(tmp_path, monkeypatch)
    build(project)
    broken = project.contracts_dir / "Broken.vy"
    broken.write_text("# pragma version ~=0.4.3\nx: uint256 = 1\n")
    for attempt in (2, 3):
        with pytest.raises(CompileError):
            build(project)
        assert _starts(calls) == attempt  # each attempt asks forge: a failure is never taken for fresh
    broken.unlink()
    assert build(project).cached
    assert _starts(calls) == 4


def test_compile_error_names_file_and_line(project: Project) -> None:
    (project.contracts_dir / "Broken.vy").write_text(
        "# pragma version ~=0.4.3\n\n@external\ndef f():\n    self.missing = 1\n"
    )
    with pytest.raises(CompileError) as raised:
        build(project)
    [error] = [m for m in raised.value.messages if m.severity == "error"]
    assert (error.file, error.line) == ("contracts/Broken.vy", 5)
    assert "missing" in error.message
    assert "contracts/Broken.vy:5" in raised.value.message


def test_cli_build_reports_compile_errors_without_traceback(project: Project) -> None:
    (project.contracts_dir / "Broken.vy").write_text("# pragma version ~=0.4.3\nx: uint256 = 1\n")
    env = cli_env(SETTLEKIT_PROJECT=str(project.root))
    result = run_cli("build", env=env)
    assert result.returncode == 1
    assert "contracts/Broken.vy:2" in result.stderr
    assert "Traceback" not in result.stderr
    as_json = json.loads(run_cli("build", "--json", env=env).stdout)
    assert as_json["error"] == "CompileError"


def test_cli_build_json_lists_compiled_and_cached(project: Project) -> None:
    env = cli_env(SETTLEKIT_PROJECT=str(project.root))
    first = json.loads(run_cli("build", "--json", env=env).stdout)
    assert first["compiled"] == ["contracts/Counter.vy"]
    assert first["cached"] is False
    assert "Counter" in first["artifacts"]
    second = json.loads(run_cli("build", "--json", env=env).stdout)
    assert second["cached"] is True
    assert second["compiled"] == []


def test_missing_vyper_and_forge_are_reported(project: Project, tmp_path: Path) -> None:
    for tool in ("vyper", "forge"):
        env = cli_env(SETTLEKIT_PROJECT=str(project.root), **{f"SETTLEKIT_{tool.upper()}": str(tmp_path / "nope")})
        result = run_cli("build", env=env)
        assert result.returncode == 1
        assert f"SETTLEKIT_{tool.upper()}" in result.stderr
        assert "Traceback" not in result.stderr


def test_unknown_artifact_says_what_to_do(project: Project) -> None:
    build(project)
    with pytest.raises(ArtifactNotFoundError) as raised:
        ArtifactStore(project.out_dir).get("Nope")
    assert raised.value.hint is not None
    assert "settlekit build" in raised.value.hint


def test_outside_a_project_is_a_clear_error(tmp_path: Path) -> None:
    env = cli_env()
    env.pop("SETTLEKIT_PROJECT", None)
    result = run_cli("build", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "no settlekit project" in result.stderr
