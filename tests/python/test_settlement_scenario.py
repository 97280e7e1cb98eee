"""The settlement scenario used by the demo, on a real Anvil: it must settle, pay by batch and by a relayed signed
claim, sweep the dust, and report a conservation check that holds and agrees with the model to the wei."""

from __future__ import annotations

import json

from settlekit.build import ArtifactStore
from settlekit.chain import Anvil
from settlekit.model.settlement import SeriesTerms, holder_payout, payout_numerator
from settlekit.scenarios.settlement import (
    CAP,
    MAX_PAYOUT_PER_UNIT,
    SETTLEMENT_PRICE,
    STRIKE,
    blueprint_deployer,
    run_settlement_scenario,
)


def test_blueprint_deployer_preamble() -> None:
    # PUSH2 len, RETURNDATASIZE, DUP2, PUSH1 10, RETURNDATASIZE, CODECOPY, RETURN, then 0xFE7100 || initcode
    code = blueprint_deployer(b"\x60\x00")
    assert code == bytes.fromhex("610005" + "3d81600a3d39f3" + "fe7100" + "6000")


def test_blueprint_is_deployed_with_erc5202_preamble(anvil: Anvil, artifacts: ArtifactStore) -> None:
    from settlekit.scenarios.settlement import deploy_blueprint

    artifact = artifacts.get("SettlementSeries")
    address = deploy_blueprint(anvil.w3, artifact, sender=anvil.w3.eth.accounts[0])
    assert bytes(anvil.w3.eth.get_code(address)) == b"\xfe\x71\x00" + artifact.bytecode


def test_scenario_conserves_and_agrees_with_model(anvil: Anvil, artifacts: ArtifactStore) -> None:
    lines: list[str] = []
    summary = run_settlement_scenario(anvil.w3, artifacts, lines.append)
    assert summary["ok"] is True
    assert all(summary["checks"].values())
    assert summary["held"] == 0
    assert summary["deposited"] == summary["paid"] + summary["reclaimed"] + summary["swept"]
    assert summary["deposited"] == 15 * MAX_PAYOUT_PER_UNIT
    terms = SeriesTerms(STRIKE, CAP, MAX_PAYOUT_PER_UNIT)
    n = payout_numerator(terms, SETTLEMENT_PRICE)
    assert summary["payout_rate"] == [n, CAP]
    # the relayed claim was for a 1-unit holder
    assert summary["relayed_claim_paid"] == holder_payout(terms, 1, n)
    assert 0 < summary["swept"] < summary["payouts"]
    json.dumps(summary)  # JSON-ready
    assert any("conservation" in line and "OK" in line for line in lines)
