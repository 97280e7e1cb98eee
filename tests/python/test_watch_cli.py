"""`settlekit watch --once`, `settlekit events`, `settlekit incidents` as real processes against Anvil."""

from __future__ import annotations

import json
from pathlib import Path

from web3 import Web3

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil
from settlekit.deploy.executor import Deployer
from settlekit.deploy.keys import dev_signer
from settlekit.deploy.plan import load_plan

from support import run_cli


def test_watch_events_and_incidents_through_a_reorg(
    anvil: Anvil, artifacts: ArtifactStore, settlekit_project, tmp_path: Path
) -> None:
    plan = load_plan(settlekit_project.root / "settlekit.toml")
    result = Deployer(
        anvil.w3,
        dev_signer(0),
        plan.deployment("safety"),
        plan.network("local"),
        artifacts,
        root=tmp_path / "deployments",
    ).run()
    token = anvil.w3.eth.contract(
        address=Web3.to_checksum_address(result.addresses["collateral"]), abi=artifacts.get("MockERC20").abi
    )
    accounts = list(anvil.w3.eth.accounts)
    for amount in (5, 6, 7):
        contracts.transact(token.functions.mint(accounts[1], amount), sender=accounts[0])
    store = f"sqlite:///{tmp_path / 'watch.db'}"
    watch = [
        "watch",
        "--manifest",
        str(result.manifest),
        "--rpc-url",
        anvil.url,
        "--store",
        store,
        "--once",
        "--confirmations",
        "1",
    ]
    first = run_cli(*watch, "--json")
    assert first.returncode == 0, first.stderr
    anvil.reorg(2)  # the last two mints are orphaned
    second = run_cli(*watch, "--json")
    assert second.returncode == 0, second.stderr
    assert any(line and json.loads(line)["reorgs"] for line in second.stdout.splitlines())

    canonical = json.loads(run_cli("events", "--store", store, "--event", "Transfer", "--json").stdout)
    assert [e["args"]["value"] for e in canonical] == ["5"]  # every integer is a string
    everything = json.loads(run_cli("events", "--store", store, "--event", "Transfer", "--all", "--json").stdout)
    assert sorted(e["status"] for e in everything) == ["confirmed", "retracted", "retracted"]
    mine = json.loads(run_cli("events", "--store", store, "--account", accounts[1], "--json").stdout)
    assert sorted(e["event"] for e in mine) == ["GuardianSet", "Transfer"]  # accounts[1] is the guardian too

    # settlekit.toml's rules are active too (e.g. node lag: the shared test chain's head can be minutes old).
    listed = [i for i in json.loads(run_cli("incidents", "--store", store, "--json").stdout) if i["rule"] == "reorg"]
    assert [i["details"]["depth"] for i in listed] == [2]
    acked = json.loads(run_cli("incidents", "--store", store, "--ack", str(listed[0]["id"]), "--json").stdout)
    assert {i["id"]: i["state"] for i in acked}[listed[0]["id"]] == "acknowledged"
    missing = run_cli("incidents", "--store", store, "--resolve", "99")
    assert missing.returncode == 1
    assert "no incident #99" in missing.stderr
