"""The differential engine's former blind spots (ISSUE-13): bugs only a view, an owner action, an odd token or a
chain-id change shows. Each is planted in a copy of the project and must be found within seconds of fuzzing."""

from __future__ import annotations

from pathlib import Path

import pytest

from settlekit.fuzz.differential import DiffConfig, run_campaign
from settlekit.fuzz.differential.runner import prepare
from settlekit.fuzz.mutants import apply_mutant, get_mutant

ROOT = Path(__file__).resolve().parents[2]
# (mutant, product whose world reaches it, the text the mismatch must contain)
BLIND_SPOTS = [
    ("collect-fees-not-zeroed", "margin", "protocol_fees"),
    ("claimable-rounded-up", "settlement", "claimable"),
    ("domain-separator-stale", "settlement", "DOMAIN_SEPARATOR"),
    ("no-return-token-rejected", "settlement", "malformed data"),
    ("nonce-word-bit-swapped", "settlement", "nonce"),
]


@pytest.mark.parametrize(("mutant_id", "product", "needle"), BLIND_SPOTS)
def test_blind_spot_mutant_is_killed_within_seconds(mutant_id: str, product: str, needle: str, tmp_path: Path) -> None:
    prepare(ROOT)  # the project's own build seeds the copy's: forge recompiles only what the mutant touches
    dest = apply_mutant(ROOT, get_mutant(mutant_id), tmp_path / "copy", forge_tests=(), seed_build_from=ROOT)
    (dest / "node_modules").symlink_to(ROOT / "node_modules")
    config = DiffConfig(
        dest, seed=0x5E771E, steps=None, time_budget=15.0, workers=1, out_dir=tmp_path / "out", products=(product,)
    )
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
