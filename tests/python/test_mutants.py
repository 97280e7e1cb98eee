"""The planted bugs (settlekit.fuzz.mutants): each applies exactly once to the current sources, copies leave the
project alone, and a mutant compiles and is killed by the forge suite that targets it."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from settlekit.exceptions import SettlekitError
from settlekit.fuzz.mutant_bench import (
    CONTROL,
    EngineResult,
    MutantResult,
    MutantRun,
    _first_failure,
    load_partial,
    markdown,
    run_mutants,
    summarize,
)
from settlekit.fuzz.mutants import (
    MUTANTS,
    Mutant,
    MutantError,
    apply_mutant,
    check_mutant,
    copy_project,
    get_mutant,
    mutated_source,
)
from settlekit.project import Project
from settlekit.toolchain import find_tool, tool_environment

from support import REPO

# The bugs issue #8 asks for, each planted by at least one mutant.
REQUIRED = {
    "payout-rounded-up",
    "claim-period-from-deadline",  # issue 14, findings 1-4 (settlement liveness)
    "breaker-holds-settle-forever",
    "fallback-never-opens",
    "transfer-to-series-allowed",
    "rate-per-claim",
    "dust-not-tracked",
    "nonce-not-consumed",
    "domain-separator-stale",
    "high-s-accepted",
    "breaker-missing-on-mint",
    "withdraw-no-health-check",
    "close-factor-off-by-one",
    "fee-rounded-down",
    "bonus-applied-twice",
    "liquidation-cap-not-enforced",
    "bad-debt-left",
    "self-liquidation-allowed",
    "no-return-token-rejected",
}


def _digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_the_issue_s_mutants_are_all_there_with_unique_ids() -> None:
    ids = [mutant.id for mutant in MUTANTS]
    assert len(ids) == len(set(ids)) >= 15
    assert set(ids) >= REQUIRED
    for mutant in MUTANTS:
        assert mutant.forge_tests, mutant.id
        assert (REPO / "tests" / "forge" / mutant.forge_tests[0]).is_file(), mutant.id


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_every_mutant_applies_exactly_once_to_the_current_sources(mutant: Mutant) -> None:
    source = (REPO / mutant.file).read_text()
    assert source.count(mutant.original) == 1
    mutated = mutated_source(source, mutant)
    assert mutated != source
    assert mutated.count(mutant.replacement) >= 1
    check_mutant(REPO, mutant)


def test_a_snippet_missing_or_repeated_is_refused() -> None:
    mutant = get_mutant("fee-rounded-down")
    with pytest.raises(MutantError, match="does not occur"):
        mutated_source("nothing here", mutant)
    with pytest.raises(MutantError, match="occurs 2 times"):
        mutated_source(mutant.original + "\n" + mutant.original, mutant)
    with pytest.raises(MutantError, match="no mutant 'nope'"):
        get_mutant("nope")


def test_apply_mutant_copies_and_mutates_without_touching_the_project(tmp_path: Path) -> None:
    # The original is a private copy, so helpers editing the real sources meanwhile cannot disturb the check.
    original = copy_project(REPO, tmp_path / "original")
    before = _digest(original)
    mutant = get_mutant("high-s-accepted")
    dest = apply_mutant(original, mutant, tmp_path / "mutant")
    assert _digest(original) == before
    assert (dest / mutant.file).read_text() == mutated_source((original / mutant.file).read_text(), mutant)
    changed = {name for name, digest in _digest(dest).items() if before.get(name) != digest}
    assert changed == {mutant.file}
    assert (dest / "foundry.toml").is_file()
    assert (dest / "tests" / "forge" / "Eip712Test.vy").is_file()
    for absent in ("node_modules", ".venv", "out", "cache", "pytools"):
        assert not (dest / absent).exists()
    with pytest.raises(MutantError, match="not empty"):
        apply_mutant(original, mutant, dest)


def test_a_mutant_that_no_longer_applies_copies_nothing(tmp_path: Path) -> None:
    stale = Mutant(
        "stale", "a snippet that is gone", "contracts/modules/math.vy", "no such code", "x", ("MathTest.vy",)
    )
    with pytest.raises(MutantError, match="stale: its snippet does not occur"):
        apply_mutant(REPO, stale, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_summary_counts_kills_and_medians() -> None:
    def result(mutant_id: str, forge: float | None, diff: float | None) -> MutantResult:
        return MutantResult(
            get_mutant(mutant_id),
            0.0,
            EngineResult("forge", forge is not None, forge, 60.0),
            EngineResult("diff", diff is not None, diff, 60.0),
        )

    results = [
        result("fee-rounded-down", 4.0, None),
        result("high-s-accepted", 2.0, 0.5),
        result("bad-debt-left", None, 1.5),
        result("self-liquidation-allowed", None, None),
    ]
    summary = summarize(results)
    assert summary["killed"] == 3
    assert summary["mutants"] == 4
    assert summary["forge_median_time_to_kill"] == 3.0
    assert summary["diff_median_time_to_kill"] == 1.0
    assert summary["survivors"] == ["self-liquidation-allowed"]
    text = markdown(MutantRun(budget=30.0, seed=7, profile="default", results=results))
    assert "| `fee-rounded-down` | killed 4.0s | survived | yes |" in text
    assert "| `self-liquidation-allowed` | survived | survived | NO | - |" in text
    assert "killed by any: 3/4 (75%)" in text
    assert "control" not in text  # no control run recorded


def test_kills_show_what_failed_and_a_failing_control_is_a_false_alarm() -> None:
    mutant = get_mutant("fee-rounded-down")
    killed = MutantResult(
        mutant,
        1.0,
        EngineResult("forge", True, 4.0, 4.0, "MarginLiquidationTest.test_fee_rounds_up(): fee | low"),
        EngineResult("diff", True, 0.5, 0.5, "step 9 {'op': 'liquidate'}: return value: model (1,), contract (2,)"),
    )
    quiet = EngineResult("forge", False, None, 30.0)
    control = MutantResult(CONTROL, 0.0, quiet, EngineResult("diff", False, None, 30.0, "91,000 steps"))
    run = MutantRun(budget=30.0, seed=7, profile="default", results=[killed], control=control)
    assert not run.false_alarm
    text = markdown(run)
    # the table says which test and which mismatch killed it (a Markdown pipe in a reason is escaped)
    assert "forge: MarginLiquidationTest.test_fee_rounds_up(): fee \\| low" in text
    assert "diff: step 9 {'op': 'liquidate'}: return value" in text
    assert "control (the engines on the unmutated project" in text
    assert "no engine failed" in text
    alarm = MutantResult(CONTROL, 0.0, quiet, EngineResult("diff", True, 0.2, 0.2, "step 3 borrow: model reverts"))
    suspect = MutantRun(budget=30.0, seed=7, profile="default", results=[killed], control=alarm)
    assert suspect.false_alarm
    assert suspect.to_json()["false_alarm"] is True
    assert "FALSE ALARM" in markdown(suspect)


def test_run_mutants_refuses_a_bad_budget_before_building(tmp_path: Path) -> None:
    with pytest.raises(SettlekitError, match="budget 0s is not positive"):
        run_mutants(REPO, mutants=MUTANTS[:1], budget=0, work_dir=tmp_path)
    assert not any(tmp_path.iterdir())


# The SafeToken suite needs only these contracts: the copy keeps them (and the modules) so that the targeted forge
# run compiles a handful of small files instead of the whole project.
SAFE_TOKEN_MOCKS = {
    "SafeTokenHarness.vy",
    "MockERC20.vy",
    "NoReturnToken.vy",
    "FalseReturnToken.vy",
    "FeeOnTransferToken.vy",
}


def test_no_return_token_mutant_compiles_and_the_safe_token_suite_kills_it(tmp_path: Path) -> None:
    mutant = get_mutant("no-return-token-rejected")
    dest = apply_mutant(REPO, mutant, tmp_path / "copy", forge_tests=["SafeTokenTest.vy"])
    for path in (dest / "contracts").glob("*.vy"):
        path.unlink()
    for path in (dest / "contracts" / "mocks").glob("*.vy"):
        if path.name not in SAFE_TOKEN_MOCKS:
            path.unlink()
    project = Project(REPO)
    env = tool_environment(project)
    vyper = find_tool("vyper", project)
    compiled = subprocess.run(
        [str(vyper.path), "contracts/mocks/SafeTokenHarness.vy"],
        cwd=dest,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stderr[-2000:]
    assert compiled.stdout.strip().startswith("0x")
    forge = find_tool("forge", project)
    argv = [str(forge.path), "test", "--match-path", "tests/forge/SafeTokenTest.vy", "--fail-fast"]
    argv += ["--out", str(dest / "out"), "--cache-path", str(dest / "cache")]
    completed = subprocess.run(argv, cwd=dest, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr[-2000:]
    failures = [line for line in completed.stdout.splitlines() if line.startswith("[FAIL")]
    assert failures, completed.stdout[-3000:]
    assert "no_return_token" in failures[0]
    assert "returned malformed data" in failures[0]


MARGIN_INVARIANT_CONTRACTS = {"MarginEngine.vy", "MarginHandler.vy", "MockAggregator.vy", "MockERC20.vy"}
SETTLEMENT_INVARIANT_CONTRACTS = {
    "SeriesFactory.vy",
    "SettlementSeries.vy",
    "SettlementSeriesClone.vy",
    "MockAggregator.vy",
    "MockERC20.vy",
    "SettlementHandler.vy",
}


def _invariant_on_mutant(
    tmp_path: Path, mutant_id: str, suite: str, invariant: str, keep: set[str], profile: str | None
) -> tuple[list[str], str]:
    """Run one invariant of ``suite`` on a copy of the project with ``mutant_id`` planted (only the contracts in
    ``keep`` compiled); expect forge to fail. Returns the ``[FAIL`` lines and the whole output."""
    dest = apply_mutant(REPO, get_mutant(mutant_id), tmp_path / "copy", forge_tests=[suite])
    for path in [*(dest / "contracts").glob("*.vy"), *(dest / "contracts" / "mocks").glob("*.vy")]:
        if path.name not in keep:
            path.unlink()
    project = Project(REPO)
    env = {key: value for key, value in tool_environment(project).items() if key != "FOUNDRY_PROFILE"}
    if profile is not None:
        env["FOUNDRY_PROFILE"] = profile
    argv = [str(find_tool("forge", project).path), "test", "--match-path", f"tests/forge/{suite}"]
    argv += ["--match-test", invariant, "--fail-fast", "--out", str(dest / "out"), "--cache-path", str(dest / "cache")]
    completed = subprocess.run(argv, cwd=dest, env=env, capture_output=True, text=True, timeout=900, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-4000:]
    failures = [line for line in completed.stdout.splitlines() if line.startswith("[FAIL")]
    assert failures, output[-4000:]
    assert f"{invariant}() (runs:" in output, output[-4000:]
    return failures, output


def test_close_factor_on_collateral_value_is_caught_by_the_margin_invariant(tmp_path: Path) -> None:
    """Issue 13: the forge invariant layer itself (not only unit tests) catches a close factor applied to the
    collateral value: the handler checks each liquidation against the limit it computes from the debt before it."""
    failures, output = _invariant_on_mutant(
        tmp_path,
        "close-factor-on-collateral-value",
        "MarginInvariantTest.vy",
        "invariant_close_factor_respected",
        MARGIN_INVARIANT_CONTRACTS,
        "quick",
    )
    assert failures[0] == "[FAIL: close factor exceeded]", output[-4000:]


def test_payout_rounded_up_is_caught_by_the_settlement_invariants_in_the_default_campaign(tmp_path: Path) -> None:
    """Issue 13: the handler publishes the first round after expiry inside the window, three times in four inside
    the rounding band, and every settle attempt names that round, so the default campaign reaches rounded payouts
    and the payout-rounded-up bug fails an invariant (it used to survive the default and ci profiles)."""
    failures, output = _invariant_on_mutant(
        tmp_path,
        "payout-rounded-up",
        "SettlementInvariantTest.vy",
        "invariant_payouts_floor_of_exact_entitlement",
        SETTLEMENT_INVARIANT_CONTRACTS,
        None,
    )
    assert "payout off its entitlement" in failures[0], output[-4000:]


def test_three_columns_count_each_engine_and_its_survivors() -> None:
    def engine(name: str, seconds: float | None, not_reached: bool = False) -> EngineResult:
        return EngineResult(name, seconds is not None, seconds, 5.0, "", not_reached)

    fee, debt = get_mutant("fee-rounded-down"), get_mutant("bad-debt-left")
    results = [
        MutantResult(fee, 0.0, engine("forge", 2.0), engine("diff", 0.4), engine("readme", 30.0)),
        MutantResult(debt, 0.0, engine("forge", None, True), engine("diff", 0.2), engine("readme", None, True)),
    ]
    summary = summarize(results)
    assert (summary["readme_killed"], summary["forge_killed"], summary["diff_killed"]) == (1, 1, 2)
    assert summary["readme_survivors"] == ["bad-debt-left"]
    assert summary["diff_median_time_to_kill"] == pytest.approx(0.3)
    assert summary["survivors"] == []
    run = MutantRun(budget=6.0, seed=7, profile="quick", results=results, engines=("readme", "forge", "diff"))
    text = markdown(run)
    assert "| mutant | README test command | forge engine | differential engine | killed by any |" in text
    assert "| `bad-debt-left` | not reached | not reached | killed 0.2s | yes |" in text
    assert "- README test command: 1/2 killed (50%), median time to kill 30.0 s; not killed: bad-debt-left" in text
    assert "capped at 900 s" in text


def test_the_readme_engine_names_the_first_failing_test() -> None:
    output = "\n".join(
        [
            "Ran 3 tests for tests/forge/MathTest.vy:MathTest",
            "[PASS] test_a() (gas: 1)",
            "Ran 2 tests for tests/forge/SafeTokenTest.vy:SafeTokenTest",
            "[FAIL: safe_token: returned malformed data] test_transfer_no_return_token() (gas: 9)",
            "[FAIL: other] test_b() (gas: 2)",
        ]
    )
    expected = "SafeTokenTest.test_transfer_no_return_token(): safe_token: returned malformed data"
    assert _first_failure(output) == expected
    assert _first_failure("Ran 1 test for a.vy:A\n[PASS] test_a() (gas: 1)\n") == ""


def test_unknown_engines_are_refused_before_building(tmp_path: Path) -> None:
    with pytest.raises(SettlekitError, match="unknown engine"):
        run_mutants(REPO, mutants=MUTANTS[:1], engine_names=["readme", "afl"], work_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_partial_results_file_renders_the_same_table(tmp_path: Path) -> None:
    fee = get_mutant("fee-rounded-down")
    readme = EngineResult("readme", True, 2.5, 2.5, "MarginLiquidationTest.test_x(): fee")
    forge = EngineResult("forge", False, None, 6.0, "budget ran out; not run: X", not_reached=True)
    diff = EngineResult("diff", True, 0.4, 0.4, "step 3: fee")
    control = MutantResult(CONTROL, 0.0, forge, EngineResult("diff", False, None, 6.0, "7,600 steps"), readme)
    result = MutantResult(fee, 12.0, forge, diff, readme)
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join(json.dumps(r.to_json()) for r in (control, result)) + "\n")
    engines = ("readme", "forge", "diff")
    settings: dict[str, object] = {"budget": 6.0, "seed": 7, "profile": "quick", "engines": engines}
    loaded = load_partial(path, **settings)
    assert loaded.results == [result]
    assert loaded.control == control
    expected = MutantRun(budget=6.0, seed=7, profile="quick", engines=engines, results=[result], control=control)
    assert markdown(loaded) == markdown(expected)
    path.write_text(json.dumps({**result.to_json(), "id": "nobody-knows"}) + "\n")
    with pytest.raises(SettlekitError, match="unknown mutant 'nobody-knows'"):
        load_partial(path, **settings)
