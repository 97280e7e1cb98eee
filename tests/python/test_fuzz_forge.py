"""The forge engine of `settlekit fuzz`, on a small copy of the project with planted bugs, run by the real forge.

The copy holds the real math module (mutated: `_bps_of` always rounds up, a payout rounded against the protocol)
with its real harness, a small fuzz test that catches it, and an invariant test over a counter with a planted
drift. It is built once per module; each test that changes it works on its own copy of the built tree (forge's
cache holds relative paths, so a copy stays built).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_utils import function_signature_to_4byte_selector

from settlekit.exceptions import SettlekitError, UsageError
from settlekit.fuzz.forge_engine import ForgeConfig, ForgeReport, replay_counterexample, run_forge
from settlekit.project import Project
from settlekit.toolchain import find_tool

from support import REPO, cli_env, run_cli

ROUNDING = "return self._mul_div(amount, bps, BPS, round_up)"
ROUNDING_BUG = "return self._mul_div(amount, bps, BPS, True)"

PLANTED_FUZZ_TEST = '''# pragma version ~=0.4.3
"""
@title PlantedFuzzTest
@notice bps_of rounds down when asked to; the copy's math module is mutated so that it does not.
"""

from .interfaces import IVm


interface MathHarness:
    def bps_of(amount: uint256, bps: uint256, round_up: bool) -> uint256: pure


VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
harness: MathHarness


@external
def setUp():
    self.harness = MathHarness(extcall VM.deployCode("MathHarness.vy"))


@external
def test_bps_of_whole_amount():
    assert staticcall self.harness.bps_of(10_000, 10_000, False) == 10_000, "whole amount"


@external
def testFuzz_bps_of_rounds_down(amount: uint128, bps: uint16):
    a: uint256 = convert(amount, uint256)
    b: uint256 = convert(bps, uint256) % 10_001
    assert staticcall self.harness.bps_of(a, b, False) == a * b // 10_000, "bps_of rounded up"
'''

COUNTER = """# pragma version ~=0.4.3
count: public(uint256)
calls: public(uint256)


@external
def bump(x: uint256):
    self.calls += 1
    self.count += 1
    if x % 5 == 3:
        self.count += 1
"""

PLANTED_INVARIANT_TEST = '''# pragma version ~=0.4.3
"""
@title PlantedInvariantTest
@notice The counter counts each call once; the planted counter sometimes counts twice.
"""

from .interfaces import IVm


interface Counter:
    def count() -> uint256: view
    def calls() -> uint256: view


VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
counter: Counter


@external
def setUp():
    self.counter = Counter(extcall VM.deployCode("PlantedCounter.vy"))


@external
@view
def targetContracts() -> DynArray[address, 1]:
    return [self.counter.address]


@external
@view
def invariant_count_matches_calls():
    assert staticcall self.counter.count() == staticcall self.counter.calls(), "count drifted"


@external
@view
def invariant_count_never_below_calls():
    assert staticcall self.counter.count() >= staticcall self.counter.calls(), "count below calls"
'''

FUZZ_SUITE = "tests/forge/PlantedFuzzTest.vy:PlantedFuzzTest"
INVARIANT_SUITE = "tests/forge/PlantedInvariantTest.vy:PlantedInvariantTest"


@dataclass
class Planted:
    root: Path
    report: ForgeReport
    forge: str

    def copy(self, target: Path) -> Path:
        shutil.copytree(self.root, target, symlinks=True)
        return target

    def env(self, root: Path) -> dict[str, str]:
        return cli_env(SETTLEKIT_PROJECT=str(root), SETTLEKIT_FORGE=self.forge)


def _make_project(root: Path) -> None:
    (root / "contracts" / "modules").mkdir(parents=True)
    (root / "contracts" / "mocks").mkdir()
    (root / "tests" / "forge").mkdir(parents=True)
    shutil.copy(REPO / "foundry.toml", root / "foundry.toml")
    math = (REPO / "contracts" / "modules" / "math.vy").read_text()
    assert ROUNDING in math, "the planted bug no longer applies to contracts/modules/math.vy"
    (root / "contracts" / "modules" / "math.vy").write_text(math.replace(ROUNDING, ROUNDING_BUG))
    shutil.copy(REPO / "contracts" / "mocks" / "MathHarness.vy", root / "contracts" / "mocks" / "MathHarness.vy")
    (root / "contracts" / "mocks" / "PlantedCounter.vy").write_text(COUNTER)
    shutil.copytree(REPO / "tests" / "forge" / "interfaces", root / "tests" / "forge" / "interfaces")
    (root / "tests" / "forge" / "PlantedFuzzTest.vy").write_text(PLANTED_FUZZ_TEST)
    (root / "tests" / "forge" / "PlantedInvariantTest.vy").write_text(PLANTED_INVARIANT_TEST)


def _fix_math(root: Path) -> None:
    shutil.copy(REPO / "contracts" / "modules" / "math.vy", root / "contracts" / "modules" / "math.vy")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planted]:
    """The planted project, built and run once with the quick profile (the run every test starts from)."""
    root = tmp_path_factory.mktemp("fuzzforge") / "project"
    _make_project(root)
    forge = str(find_tool("forge", Project(REPO)).path)  # the copy has no node_modules
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SETTLEKIT_FORGE", forge)
        report = run_forge(ForgeConfig(root, profile="quick"))
        yield Planted(root, report, forge)


def _by_name(report: ForgeReport) -> dict[str, Any]:
    return {result.name: result for result in report.results}


def test_run_reports_each_test_and_the_planted_failures(planted: Planted) -> None:
    report = planted.report
    assert not report.ok
    assert report.seed == 0x5E771E  # the quick profile's seed in foundry.toml
    assert report.forge_version == "1.7.1"
    results = _by_name(report)
    assert set(results) == {
        "test_bps_of_whole_amount",
        "testFuzz_bps_of_rounds_down",
        "invariant_count_matches_calls",
        "invariant_count_never_below_calls",
    }
    assert {r.name for r in report.failures} == {"testFuzz_bps_of_rounds_down", "invariant_count_matches_calls"}

    unit = results["test_bps_of_whole_amount"]
    assert (unit.kind, unit.status, unit.suite) == ("unit", "pass", FUZZ_SUITE)
    fuzz = results["testFuzz_bps_of_rounds_down"]
    assert (fuzz.kind, fuzz.reason) == ("fuzz", "bps_of rounded up")
    selector = "0x" + function_signature_to_4byte_selector("testFuzz_bps_of_rounds_down(uint128,uint16)").hex()
    assert fuzz.counterexample["Single"]["calldata"].startswith(selector)
    passing = results["invariant_count_never_below_calls"]
    # the quick profile: 16 runs of depth 32, every call counted
    assert (passing.kind, passing.status, passing.runs, passing.calls, passing.reverts) == (
        "invariant",
        "pass",
        16,
        512,
        0,
    )
    broken = results["invariant_count_matches_calls"]
    assert (broken.kind, broken.suite, broken.reason) == ("invariant", INVARIANT_SUITE, "count drifted")


def test_counterexample_files_hold_what_a_replay_needs(planted: Planted) -> None:
    paths = planted.report.counterexample_paths
    assert {p.parent for p in paths} == {planted.root / ".settlekit" / "fuzz" / "counterexamples"}
    documents = {json.loads(p.read_text())["test"].split("(")[0]: json.loads(p.read_text()) for p in paths}
    assert set(documents) == {"testFuzz_bps_of_rounds_down", "invariant_count_matches_calls"}
    for document in documents.values():
        assert document["engine"] == "forge"
        assert document["seed"] == "0x5e771e"
        assert document["profile"] == "quick"
        assert document["forge_version"] == "1.7.1"
        assert isinstance(document["forge_failure_record"], dict)
    fuzz = documents["testFuzz_bps_of_rounds_down"]
    assert (fuzz["path"], fuzz["contract"], fuzz["kind"]) == (
        "tests/forge/PlantedFuzzTest.vy",
        "PlantedFuzzTest",
        "fuzz",
    )
    assert fuzz["calls"] == [fuzz["counterexample"]["Single"]]
    invariant = documents["invariant_count_matches_calls"]
    assert invariant["kind"] == "invariant"
    assert invariant["calls"], "an invariant counterexample is a call sequence"
    assert {call["signature"] for call in invariant["calls"]} == {"bump(uint256)"}
    # the planted drift needs a bump with x % 5 == 3 somewhere in the sequence
    assert any(int(call["calldata"][10:], 16) % 5 == 3 for call in invariant["calls"])


def test_replay_reproduces_each_failure_then_reports_the_fix(
    planted: Planted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETTLEKIT_FORGE", planted.forge)
    root = planted.copy(tmp_path / "copy")
    files = sorted((root / ".settlekit" / "fuzz" / "counterexamples").glob("*.json"))
    assert len(files) == 2
    for path in files:
        recorded = json.loads(path.read_text())
        replay = replay_counterexample(root, path)
        assert not replay.ok
        assert replay.replayed_from == path
        assert [r.test for r in replay.results] == [recorded["test"]]  # exactly that test, nothing else
        assert (replay.seed, replay.profile) == (0x5E771E, "quick")
        assert replay.failures[0].counterexample == recorded["counterexample"]
        assert replay.counterexample_paths == []  # a replay does not write new files

    _fix_math(root)
    [fuzz_file] = [path for path in files if "testFuzz_bps_of_rounds_down" in path.name]
    replay = replay_counterexample(root, fuzz_file)
    assert replay.ok, replay.to_json()["failures"]
    assert [(r.name, r.status) for r in replay.results] == [("testFuzz_bps_of_rounds_down", "pass")]


def test_time_budget_stops_a_running_campaign_and_reports_it(
    planted: Planted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETTLEKIT_FORGE", planted.forge)
    monkeypatch.setenv("FOUNDRY_INVARIANT_RUNS", "1000000")  # far more than fits in the budget
    root = planted.copy(tmp_path / "copy")
    report = run_forge(
        ForgeConfig(root, profile="quick", time_budget=1.0, match_test="invariant_count_never_below", workers=1)
    )
    assert report.ok  # nothing failed: the campaign was stopped, which is not a failure
    assert report.budget_exhausted
    assert report.not_run == [INVARIANT_SUITE]
    assert [(r.name, r.status) for r in report.results] == [("invariant_count_never_below_calls", "stopped")]
    assert report.elapsed < 10


def test_fail_fast_stops_at_the_first_failing_suite(
    planted: Planted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETTLEKIT_FORGE", planted.forge)
    root = planted.copy(tmp_path / "copy")
    report = run_forge(ForgeConfig(root, profile="quick", fail_fast=True))
    assert not report.ok
    assert [r.name for r in report.failures] == ["testFuzz_bps_of_rounds_down"]  # the first suite, alphabetically
    assert report.not_run == [INVARIANT_SUITE]
    assert report.time_to_first_failure is not None
    assert 0 < report.time_to_first_failure <= report.elapsed
    saved = [p.name for p in report.counterexample_paths]
    assert saved == ["PlantedFuzzTest.testFuzz_bps_of_rounds_down.0x5e771e.json"]


def test_cli_passes_with_exit_0_and_json(planted: Planted, tmp_path: Path) -> None:
    root = planted.copy(tmp_path / "copy")
    done = run_cli(
        "fuzz", "--engine", "forge", "--profile", "quick", "--match-test", "test_bps_of_whole", "--json",
        env=planted.env(root),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["ok"], data["seed"], data["profile"]) == (True, "0x5e771e", "quick")
    forge = data["engines"]["forge"]
    assert set(data["engines"]) == {"forge"}
    assert (forge["ok"], forge["failures"], forge["counterexamples"]) == (True, [], [])
    assert [(r["test"], r["kind"], r["status"]) for r in forge["results"]] == [
        ("test_bps_of_whole_amount()", "unit", "pass")
    ]


def test_cli_failure_exits_1_saves_under_corpus_and_replays(planted: Planted, tmp_path: Path) -> None:
    root = planted.copy(tmp_path / "copy")
    corpus = tmp_path / "corpus"
    done = run_cli(
        "fuzz", "--engine", "forge", "--profile", "quick", "--seed", "0x1234", "--match-contract", "PlantedFuzzTest",
        "--corpus", str(corpus), "--json",
        env=planted.env(root),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    forge = data["engines"]["forge"]
    assert (data["ok"], forge["seed"]) == (False, "0x1234")
    assert [f["test"] for f in forge["failures"]] == ["testFuzz_bps_of_rounds_down(uint128,uint16)"]
    [saved] = forge["counterexamples"]
    assert Path(saved).parent == corpus / "counterexamples"
    assert (corpus / "fuzz").is_dir()  # forge's coverage corpus went to the corpus folder too

    replay = run_cli("fuzz", "--replay", saved, "--json", env=planted.env(root))
    assert replay.returncode == 1, replay.stderr
    result = json.loads(replay.stdout)
    assert result["replay"] == {"file": saved, "engine": "forge", "still_fails": True}
    assert result["engines"]["forge"]["seed"] == "0x1234"
    assert [r["status"] for r in result["engines"]["forge"]["results"]] == ["fail"]


def test_cli_rejects_a_bad_replay_file_with_a_hint(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json {")
    done = run_cli("fuzz", "--replay", str(bad), "--json")
    assert done.returncode == 2
    error = json.loads(done.stdout)
    assert error["error"] == "UsageError"
    assert f"replay file {bad} is not JSON" in error["message"]
    assert "settlekit fuzz" in error["hint"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[1, 2]", "holds a JSON list, not an object"),
        ('{"engine": "afl"}', 'no known "engine" key'),
        ('{"engine": "forge", "test": "testFuzz_x(uint256)"}', "lacks path, contract, seed, profile"),
        (
            '{"engine": "forge", "test": "t()", "path": "p", "contract": "C", "seed": "0xzz", "profile": "quick"}',
            "seed that is not a number",
        ),
    ],
)
def test_replay_rejects_a_bad_file(tmp_path: Path, content: str, expected: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(UsageError, match=re.escape(expected)):
        replay_counterexample(tmp_path, bad)


def test_replay_of_a_removed_test_says_so(planted: Planted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETTLEKIT_FORGE", planted.forge)
    root = planted.copy(tmp_path / "copy")
    [path] = [p for p in planted.report.counterexample_paths if "PlantedInvariantTest" in p.name]
    document = json.loads(path.read_text())
    document["test"] = "invariant_renamed()"
    moved = tmp_path / "renamed.json"
    moved.write_text(json.dumps(document))
    with pytest.raises(SettlekitError, match="is no longer in"):
        replay_counterexample(root, moved)


def _counting_forge(tmp_path: Path, forge: str) -> tuple[str, Path]:
    """A forge that logs each invocation's arguments, then runs the real one (exit status passed back)."""
    calls = tmp_path / "forge-calls.log"
    wrapper = tmp_path / "forge"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {forge} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper), calls


def test_a_run_without_budget_is_one_forge_process_and_a_budget_is_one_per_suite(
    planted: Planted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = planted.copy(tmp_path / "copy")
    wrapper, calls = _counting_forge(tmp_path, planted.forge)
    monkeypatch.setenv("SETTLEKIT_FORGE", wrapper)
    at_once = run_forge(ForgeConfig(root, profile="quick"))
    test_runs = [line for line in calls.read_text().splitlines() if line.startswith("test --json")]
    assert len(test_runs) == 1, test_runs
    # nor a listing beside it: the one process's results give the suites and tests
    assert not [line for line in calls.read_text().splitlines() if line.startswith("test --list")]
    assert sorted((r.name, r.status) for r in at_once.results) == sorted(
        (r.name, r.status) for r in planted.report.results
    )
    calls.unlink()
    per_suite = run_forge(ForgeConfig(root, profile="quick", time_budget=600))
    test_runs = [line for line in calls.read_text().splitlines() if line.startswith("test --json")]
    assert len(test_runs) == 2, test_runs  # PlantedFuzzTest and PlantedInvariantTest
    assert sorted((r.name, r.status) for r in per_suite.results) == sorted((r.name, r.status) for r in at_once.results)
