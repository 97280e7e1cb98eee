"""The differential fuzz engine (settlekit.fuzz.differential) on the real contracts and on a planted bug."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from settlekit.cli.fuzz_cmd import coverage_line
from settlekit.exceptions import SettlekitError
from settlekit.fuzz.differential import DiffConfig, replay_file, run_campaign
from settlekit.fuzz.differential.margin import MarginWorld
from settlekit.fuzz.differential.registry import declared_worlds
from settlekit.fuzz.differential.runner import make_world, run_steps
from settlekit.fuzz.differential.settlement import SettlementWorld
from settlekit.fuzz.differential.shrink import shrink
from settlekit.fuzz.differential.world import decode_events

from support import run_cli

ROOT = Path(__file__).resolve().parents[2]
# The planted bug: the holder's payout in _pay rounds up instead of down (wherever _pay lives now).
PAYOUT_LINE = re.compile(r"(payout: uint256 = math\._mul_div\(.*numerator.*), False\)")
SETTLEMENT_SOURCES = [
    "SettlementSeries.vy",
    "SettlementSeriesClone.vy",
    "SeriesFactory.vy",
    "mocks/MockERC20.vy",
    "mocks/MockAggregator.vy",
    "mocks/NoReturnToken.vy",
    "mocks/BlacklistToken.vy",
    "mocks/FalseReturnToken.vy",
    "mocks/FeeOnTransferToken.vy",
]


@pytest.fixture(scope="module")
def mutant_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with just what the settlement world needs, one payout rounded up."""
    root = tmp_path_factory.mktemp("mutant")
    shutil.copy(ROOT / "foundry.toml", root / "foundry.toml")
    shutil.copy(ROOT / "settlekit.toml", root / "settlekit.toml")
    shutil.copytree(ROOT / "contracts" / "modules", root / "contracts" / "modules")
    for name in SETTLEMENT_SOURCES:
        (root / "contracts" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "contracts" / name, root / "contracts" / name)
    (root / "node_modules").symlink_to(ROOT / "node_modules")
    mutated = 0
    for path in (root / "contracts").rglob("*.vy"):
        text = path.read_text()
        new, count = PAYOUT_LINE.subn(r"\1, True)", text)
        if count:
            path.write_text(new)
            mutated += count
    assert mutated == 1, "the payout line to mutate was not found exactly once"
    return root


def test_short_campaign_on_the_real_contracts_agrees(tmp_path: Path) -> None:
    ticks: list[int] = []
    config = DiffConfig(ROOT, seed=7, steps=2_000, time_budget=None, workers=1, out_dir=tmp_path, invariant_every=1)
    assert config.products == ()  # every world the project declares, in settlekit.toml's order
    assert list(declared_worlds(ROOT)) == ["settlement", "margin"]
    report = run_campaign(config, lambda p: ticks.append(p.steps))
    assert report.ok, report.failures[0].message if report.failures else ""
    assert report.steps == 2_000
    assert report.sequences == 10  # sequences of 200 steps, settlement and margin in turn
    assert ticks
    assert ticks[-1] == 2_000
    assert report.to_json()["engine"] == "diff"
    assert report.steps_per_second > 0
    assert report.cpu_seconds > 0
    assert report.wall >= report.elapsed
    data = report.to_json()
    assert data["cpu_seconds"] > 0
    assert data["steps_per_cpu_second"] > 0
    assert data["wall"] >= data["elapsed"]
    assert not list(tmp_path.iterdir())


def test_planted_rounding_bug_is_found_shrunk_and_replayed(mutant_root: Path, tmp_path: Path) -> None:
    config = DiffConfig(
        mutant_root, seed=1, steps=50_000, time_budget=40, workers=1, out_dir=tmp_path, products=("settlement",)
    )
    report = run_campaign(config)
    assert not report.ok
    (failure,) = report.failures
    assert "payout" in failure.message or "return value" in failure.message or "Claimed" in failure.message
    assert failure.replay_path is not None
    assert failure.regression_test_path is not None
    saved = json.loads(failure.replay_path.read_text())
    assert saved["engine"] == "diff"
    assert saved["product"] == "settlement"
    assert saved["seed"] == failure.seed
    # shrunk: a mint, time past expiry, a settlement and one claim are enough to show a rounded-up payout; the claim
    # may be left to the liveness drain that ends every sequence (it claims for every holder)
    assert 3 <= len(saved["steps"]) <= 6, saved["steps"]
    assert {"mint", "warp"} <= {step["op"] for step in saved["steps"]}
    assert saved["steps"][-1]["op"] in {"claim", "claim_for", "claim_sig", "settle", "settle_report"}
    mutant_replay = replay_file(mutant_root, failure.replay_path)
    assert not mutant_replay.ok
    assert mutant_replay.failures[0].message == saved["message"]
    assert replay_file(ROOT, failure.replay_path).ok  # the unmutated contracts agree with the model
    # the generated test lives outside any project: $SETTLEKIT_PROJECT names the one it replays against
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "SETTLEKIT_PROJECT": str(mutant_root)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(failure.regression_test_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed" in run.stdout
    # the CLI replays it too: exit 1 while the mutant still disagrees, 0 on the unmutated project
    for cwd, code in ((mutant_root, 1), (ROOT, 0)):
        done = run_cli("fuzz", "--replay", str(failure.replay_path), "--json", cwd=cwd)
        assert done.returncode == code, done.stdout + done.stderr
        result = json.loads(done.stdout)
        assert result["replay"] == {"file": str(failure.replay_path), "engine": "diff", "still_fails": code == 1}
        assert result["engines"]["diff"]["steps"] == len(saved["steps"])


def test_two_workers_run_two_seeds_and_merge(tmp_path: Path) -> None:
    config = DiffConfig(ROOT, seed=11, steps=600, time_budget=None, workers=2, out_dir=tmp_path, invariant_every=5)
    ticks: list[int] = []
    report = run_campaign(config, lambda p: ticks.append(p.steps))
    assert report.ok
    assert report.workers == 2
    assert report.steps == 600
    assert report.sequences >= 4
    assert report.to_json()["workers"] == 2
    assert ticks[-1] == 600
    # each worker measures its own fuzzing loop: its steps and CPU time add up to the merged figures
    assert sorted(int(w["seed"]) for w in report.per_worker) == [11, 12]
    assert sum(int(w["steps"]) for w in report.per_worker) == 600
    assert all(w["cpu_seconds"] > 0 for w in report.per_worker)
    assert report.cpu_seconds == pytest.approx(sum(w["cpu_seconds"] for w in report.per_worker))
    assert report.elapsed == max(w["elapsed"] for w in report.per_worker)
    assert report.steps_per_cpu_second == pytest.approx(600 / report.cpu_seconds)
    # the whole call includes the pool's start-up (until the last worker's first step), which fuzzing time does not
    assert report.startup > 0
    assert report.wall > report.startup
    assert report.wall > report.elapsed


def test_cli_diff_engine_with_two_workers_and_json(tmp_path: Path) -> None:
    done = run_cli(
        "fuzz", "--engine", "diff", "--profile", "quick", "--workers", "2", "--seed", "5", "--corpus", str(tmp_path),
        "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert (data["ok"], data["seed"], data["profile"], set(data["engines"])) == (True, "0x5", "quick", {"diff"})
    diff = data["engines"]["diff"]
    assert (diff["steps"], diff["workers"], diff["failures"]) == (2_000, 2, [])  # the quick profile's steps
    assert diff["cpu_seconds"] > 0
    assert diff["wall"] >= diff["elapsed"]


def test_capped_liquidation_that_runs_out_of_collateral_reports_the_cap_cut() -> None:
    """Found by the fuzzer (shrunk): a liquidation cut by the per-block cap (300 debt units in variant 7) whose
    seizure then takes all the collateral at a price of 1. The contract logs LiquidationCapped with the cut (300
    units) before the seizure shrinks the repayment to what the collateral is worth; both sides must agree on the
    whole step, events included."""
    steps = [
        {"op": "deposit", "who": 3, "amount": 5 * 10**17},
        {"op": "supply", "who": 0, "amount": 500_000 * 10**6},
        {"op": "borrow", "who": 3, "amount": 375_539_072},
        {"op": "warp", "seconds": 1},
        {"op": "price", "answer": 1},
        {"op": "poke_price"},
        {"op": "price", "answer": 1},
        {"op": "warp", "seconds": 600},
        {"op": "liquidate", "who": 0, "borrower": 3, "amount": 336_389_718, "min_out": 0},
    ]
    assert run_steps(ROOT, "margin", 7, steps) is None
    world = make_world(ROOT, "margin", 7)
    assert isinstance(world, MarginWorld)
    for step in steps[:-1]:
        world.execute(step)
    calldata = world.engine_abi.calldata("liquidate", world.people[3], 336_389_718, 0)
    result = world.chain.call(world.people[0], world.engine, calldata)
    events = {name: args for _label, name, args in decode_events(result, world.labels)}
    assert events["LiquidationCapped"][1:] == (336_389_718, 300 * 10**6)  # requested, allowed: the cap's cut
    assert events["Liquidated"][2] < 300 * 10**6  # the repayment: what the collateral was worth
    assert "DeficitRecorded" in events  # the collateral ran out


def test_settlement_variants_cover_constructor_series_and_factory_clones() -> None:
    direct, clone = make_world(ROOT, "settlement", 0), make_world(ROOT, "settlement", 4)
    assert isinstance(direct, SettlementWorld)
    assert isinstance(clone, SettlementWorld)
    assert (direct.clone, clone.clone) == (False, True)
    # the clone is a short proxy, not a copy of the series' code
    assert len(clone.chain.evm.get_code(clone.series)) < len(direct.chain.evm.get_code(direct.series)) // 10
    lifecycle = [
        {"op": "mint", "writer": 0, "receiver": 1, "units": 3},
        {"op": "warp", "seconds": 1_001},
        {"op": "set_round", "round": 1, "answer": 2_000 * 10**8 + 7, "updated_at": 1_700_001_001},
        {"op": "settle", "round": 1},
        {"op": "claim", "holder": 1},
        {"op": "reclaim", "writer": 0},
    ]
    for variant in range(8):
        assert run_steps(ROOT, "settlement", variant, lifecycle) is None


def test_replay_refuses_a_file_of_another_engine(tmp_path: Path) -> None:
    path = tmp_path / "forge.json"
    path.write_text(json.dumps({"engine": "forge", "calls": []}))
    with pytest.raises(SettlekitError, match="not a differential-engine replay"):
        replay_file(ROOT, path)


def test_campaign_needs_a_budget(tmp_path: Path) -> None:
    with pytest.raises(SettlekitError, match="step count or a time budget"):
        run_campaign(DiffConfig(ROOT, 0, None, None, 1, tmp_path))


def test_shrink_finds_the_minimal_pair_and_simplest_arguments() -> None:
    steps = [{"op": "noise", "x": i} for i in range(40)]
    steps[5] = {"op": "arm", "x": 77}
    steps[31] = {"op": "fire", "x": 900}

    def fails(candidate: list[dict[str, object]]) -> str | None:
        ops = [s["op"] for s in candidate]
        if "arm" in ops and "fire" in ops and ops.index("arm") < ops.index("fire"):
            fire = candidate[ops.index("fire")]
            return "boom" if isinstance(fire["x"], int) and fire["x"] >= 1 else None
        return None

    shrunk, message = shrink(steps, fails, budget=10)
    assert message == "boom"
    assert shrunk == [{"op": "arm", "x": 0}, {"op": "fire", "x": 1}]


def test_shrink_merges_consecutive_warps_and_clears_mask_bits_that_do_not_matter() -> None:
    """Time must pass 1,000 s and bit 77 of one mask must be set: the shrunk sequence is one warp of exactly
    1,000 s and a mask with that one bit, whatever the fuzzer's warps and 77-digit mask were."""
    mask = (1 << 255) - 1 - (1 << 3)  # a 77-digit mask, bit 77 among its 254 set bits
    steps: list[dict[str, object]] = [
        {"op": "noise", "x": 5},
        {"op": "warp", "seconds": 300},
        {"op": "warp", "seconds": 401},
        {"op": "warp", "seconds": 350},
        {"op": "cancel", "word": 3, "mask": mask},
        {"op": "noise", "x": 9},
    ]
    runs: list[int] = []

    def fails(candidate: list[dict[str, object]]) -> str | None:
        runs.append(1)
        elapsed = sum(int(str(s["seconds"])) for s in candidate if s["op"] == "warp")
        masks = [int(str(s["mask"])) for s in candidate if s["op"] == "cancel"]
        return "boom" if elapsed >= 1_000 and any(m >> 77 & 1 for m in masks) else None

    shrunk, message = shrink(steps, fails, budget=30)
    assert message == "boom"
    assert shrunk == [{"op": "warp", "seconds": 1_000}, {"op": "cancel", "word": 0, "mask": 1 << 77}]
    assert len(runs) < 400  # chunks of bits, not one run per bit


def test_campaign_coverage_shows_rounding_and_refused_holders_were_reached(tmp_path: Path) -> None:
    """Coverage you can see (issue 13): the summary counts each action's outcomes and the states the settlement world
    is there to reach; rounded-down payouts and a holder the blacklisting token refuses both happen."""
    config = DiffConfig(ROOT, 11, 6_000, None, 1, tmp_path, products=("settlement",))
    report = run_campaign(config)
    assert report.ok, report.failures[0].message if report.failures else ""
    counts = report.to_json()["coverage"]["settlement"]
    assert counts["claim paid a rounded-down payout"] > 0
    assert counts["claim_for skipped a refused holder"] > 0
    assert counts["block: ok"] > 0
    assert counts["mint: ok"] > 0
    assert counts["claim: settlement_series: not settled"] > 0  # revert reasons are counted by reason
    assert sum(count for label, count in counts.items() if ": " in label) <= report.steps  # one outcome per call


def test_coverage_line_names_actions_that_never_succeed() -> None:
    line = coverage_line("w", {"a: ok": 3, "a: x: bad": 2, "b: y": 1, "rounded": 4})
    assert line == (
        "coverage (w): 3 calls ok, 3 reverted (2 distinct reasons) over 2 actions · never ok: b · rounded: 4"
    )
