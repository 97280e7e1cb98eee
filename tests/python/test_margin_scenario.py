"""The demo's margin story on Anvil: a price drop, a keeper liquidating within the per-block cap over several blocks,
one position ending in bad debt, the model agreeing to the wei at every step, and the accounting check."""

from __future__ import annotations

import json

from settlekit.build import ArtifactStore
from settlekit.chain import Anvil
from settlekit.scenarios.margin import run_margin_scenario


def test_margin_scenario_story(anvil: Anvil, artifacts: ArtifactStore) -> None:
    lines: list[str] = []
    summary = run_margin_scenario(anvil, artifacts, lines.append)
    json.dumps(summary)  # JSON-ready
    assert summary["model_agrees"] is True
    assert summary["accounting_ok"] is True
    assert summary["bad_debt_positions"] == 1
    assert summary["blocks"] >= 2  # the cap spread the wave over several blocks
    assert summary["capped_liquidations"] >= 1
    per_block: dict[int, int] = {}
    for item in summary["liquidations"]:
        per_block[item["block"]] = per_block.get(item["block"], 0) + item["repaid"]
    assert max(per_block.values()) <= 2_000 * 10**6
    # The rolling window cap (20,000 USDC per hour) over every span of one window, on the record.
    assert 0 < summary["heaviest_window"] <= 20_000 * 10**6
    assert summary["heaviest_window"] == sum(item["repaid"] for item in summary["liquidations"])
    assert summary["accounting"]["deficit"] > 0
    assert any("accounting:" in line for line in lines)
