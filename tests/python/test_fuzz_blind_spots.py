"""The differential engine's former blind spots (ISSUE-13): bugs only a view, an owner action, an odd token or a
chain-id change shows. Each is planted in a copy of the project and must be found within seconds of fuzzing; a
planted bug's counterexample shrinks to a minimal sequence."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from settlekit.fuzz.differential import DiffConfig, run_campaign
from settlekit.fuzz.differential.runner import prepare, run_steps
from settlekit.fuzz.differential.shrink import shrink
from settlekit.fuzz.mutants import apply_mutant, get_mutant

ROOT = Path(__file__).resolve().parents[2]
# (mutant, product whose world reaches it, the text the mismatch must contain)
BLIND_SPOTS = [
    ("collect-fees-not-zeroed", "margin", "protocol_fees"),
    ("claimable-rounded-up", "settlement", "claimable"),
    ("domain-separator-stale", "settlement", "DOMAIN_SEPARATOR"),
    ("no-return-token-rejected", "settlement", "malformed data"),
    ("nonce-word-bit-swapped", "settlement", "nonce"),
    ("claim-for-skip-drops-units", "settlement", "claimable"),  # the refused holder (blacklist) has nothing left
]
# what the differential worlds deploy; the copies drop the other contracts (forge handlers and harnesses), which
# would only lengthen each copy's build
WORLD_CONTRACTS = {"MarginEngine", "SeriesFactory", "SettlementSeries", "SettlementSeriesClone", "MockAggregator"}
WORLD_CONTRACTS |= {"MockERC20", "NoReturnToken", "FalseReturnToken", "FeeOnTransferToken", "BlacklistToken"}


@pytest.fixture(scope="module")
def mutant_copy(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A copy of the project with one mutant applied, made once per mutant for this module."""
    copies: dict[str, Path] = {}

    def make(mutant_id: str) -> Path:
        if mutant_id not in copies:
            prepare(ROOT)  # the project's own build seeds the copy's: forge recompiles only what the mutant touches
            dest = tmp_path_factory.mktemp(mutant_id) / "copy"
            apply_mutant(ROOT, get_mutant(mutant_id), dest, forge_tests=(), seed_build_from=ROOT)
            for path in (dest / "contracts").rglob("*.vy"):
                if path.parent.name != "modules" and path.stem not in WORLD_CONTRACTS:
                    path.unlink()
            (dest / "node_modules").symlink_to(ROOT / "node_modules")
            copies[mutant_id] = dest
        return copies[mutant_id]

    return make


@pytest.mark.parametrize(("mutant_id", "product", "needle"), BLIND_SPOTS)
def test_blind_spot_mutant_is_killed_within_seconds(
    mutant_id: str, product: str, needle: str, tmp_path: Path, mutant_copy: Callable[[str], Path]
) -> None:
    dest = mutant_copy(mutant_id)
    config = DiffConfig(
        dest, seed=0x5E771E, steps=None, time_budget=15.0, workers=1, out_dir=tmp_path / "out", products=(product,),
        shrink_budget=5.0,  # finding is the point here; shrinking has its own test below
    )  # fmt: skip
    report = run_campaign(config)
    assert report.failures, f"{mutant_id} survived {report.steps} steps"
    message = report.failures[0].message
    assert needle in message, message
    assert report.elapsed < 10.0, f"{mutant_id} took {report.elapsed:.1f} s of fuzzing"


def test_the_unmutated_project_agrees_on_every_view_and_admin_action(tmp_path: Path) -> None:
    """The same worlds on the real contracts: the new actions and views raise no false alarm."""
    config = DiffConfig(ROOT, seed=11, steps=3_000, time_budget=None, workers=1, out_dir=tmp_path)
    report = run_campaign(config)
    assert not report.failures, report.failures[0].message
    assert report.steps == 3_000


def test_planted_bugs_counterexamples_shrink_to_one_warp_and_a_one_bit_mask(
    mutant_copy: Callable[[str], Path],
) -> None:
    """The unordered-nonce word and bit swapped: a cancelled 77-digit mask and a signed claim after three warps
    (the sequences a campaign finds, with steps that do not matter) shrink to the one step or five steps that
    show the bug, with the warps merged into one of exactly the time to expiry and the mask down to one bit."""
    dest = mutant_copy("nonce-word-bit-swapped")
    mask = random.Random(7).getrandbits(256)
    assert len(str(mask)) == 77
    cancel = [
        {"op": "mint", "writer": 0, "receiver": 1, "units": 3},
        {"op": "transfer", "sender": 1, "receiver": 2, "units": 1},
        {"op": "cancel_nonces", "holder": 2, "word": 3, "mask": mask},
        {"op": "warp", "seconds": 60},
    ]
    claim = [
        {"op": "mint", "writer": 0, "receiver": 1, "units": 3},
        {"op": "warp", "seconds": 300},
        {"op": "transfer", "sender": 1, "receiver": 2, "units": 1},
        {"op": "warp", "seconds": 401},
        {"op": "warp", "seconds": 350},
        {"op": "set_round", "round": 1, "answer": 2_000 * 10**8 + 7, "updated_at": 1_700_001_001},
        {"op": "settle", "round": 1},
        {"op": "claim_sig", "holder": 1, "recipient": 3, "nonce": 517, "deadline": 1_700_005_000, "signer": "holder"},
    ]
    for steps in (cancel, claim):
        assert run_steps(ROOT, "settlement", 0, steps) is None  # the real contracts agree with the model

    def fails(steps: list[dict[str, object]]) -> str | None:
        return run_steps(dest, "settlement", 0, steps)

    shrunk, message = shrink(cancel, fails, budget=60)
    # word 0, bit 0 is the one nonce the swap leaves in place: the smallest mask that shows it is bit 1
    assert shrunk == [{"op": "cancel_nonces", "holder": 0, "word": 0, "mask": 2}], shrunk
    assert "is_nonce_used" in message
    shrunk, message = shrink(claim, fails, budget=60)
    assert [step["op"] for step in shrunk] == ["mint", "warp", "set_round", "settle", "claim_sig"], shrunk
    assert shrunk[1] == {"op": "warp", "seconds": 1_000}  # three warps merged, down to the expiry exactly
    assert shrunk[4]["nonce"] == 1  # word 0 bit 1: the contract marks word 1 bit 0
    assert "nonce_bitmap" in message
