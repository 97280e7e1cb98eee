"""`settlekit watch` as an operator runs it: the settlement plan deployed, a series created through the deployed
factory, repeated --manifest into one store, a manifest of another chain refused, one writer per store."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig
from settlekit.deploy.executor import Deployer
from settlekit.deploy.keys import dev_signer
from settlekit.deploy.plan import load_plan
from settlekit.scenarios.settlement import CAP, MAX_PAYOUT_PER_UNIT, STRIKE, SettlementKit, now
from settlekit.watch.store import Store

from support import REPO, SETTLEKIT, cli_env, run_cli, wait_until


def _deploy(node: Anvil, artifacts: ArtifactStore, root: Path, name: str) -> Any:
    plan = load_plan(REPO / "settlekit.toml")
    return Deployer(node.w3, dev_signer(0), plan.deployment(name), plan.network("local"), artifacts, root=root).run()


def _kit(node: Anvil, artifacts: ArtifactStore, addresses: dict[str, str]) -> SettlementKit:
    def bind(step: str, artifact: str) -> Any:
        return node.w3.eth.contract(address=Web3.to_checksum_address(addresses[step]), abi=artifacts.get(artifact).abi)

    return SettlementKit(
        node.w3,
        artifacts,
        node.w3.eth.accounts[0],
        bind("collateral", "MockERC20"),
        bind("oracle", "MockAggregator"),
        bind("series_factory", "SeriesFactory"),
    )


def _series(node: Anvil, kit: SettlementKit) -> Any:
    accounts = list(node.w3.eth.accounts)
    expiry = now(node.w3) + 3_600
    series = kit.create_series(
        strike=STRIKE,
        cap=CAP,
        max_payout_per_unit=MAX_PAYOUT_PER_UNIT,
        expiry=expiry,
        sweep_deadline=expiry + 30 * 86_400,
        treasury=accounts[2],
        reporter=accounts[1],
        guardian=accounts[0],
    )
    writer = accounts[3]
    contracts.transact(kit.token.functions.mint(writer, 2 * MAX_PAYOUT_PER_UNIT), sender=writer)
    contracts.transact(kit.token.functions.approve(series.address, 2 * MAX_PAYOUT_PER_UNIT), sender=writer)
    contracts.transact(series.functions.mint(2, writer), sender=writer)
    return series


def _node_logs(node: Anvil, address: str) -> list[tuple[str, int]]:
    logs = node.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": Web3.to_checksum_address(address)})
    return sorted((log["blockHash"].to_0x_hex(), int(log["logIndex"])) for log in logs)


def _stored(store_url: str, address: str) -> list[tuple[str, int]]:
    store = Store(store_url)
    try:
        return sorted((e.block_hash, e.log_index) for e in store.events() if e.address.lower() == address.lower())
    finally:
        store.close()


def _watch_once(node: Anvil, store_url: str, *manifests: Path) -> subprocess.CompletedProcess[str]:
    options = [arg for path in manifests for arg in ("--manifest", str(path))]
    return run_cli("watch", *options, "--rpc-url", node.url, "--store", store_url, "--once")


def test_the_documented_workflow_watches_series_and_many_manifests_share_a_store(
    settlekit_project: Any, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        settlement = _deploy(node, artifacts, tmp_path / "deployments", "settlement")
        assert json.loads(settlement.manifest.read_text())["contracts"]["series_factory"]["children"][0] == {
            "event": "SeriesCreated",
            "address": "series",
            "artifact": "SettlementSeries",
            "label": "series",
        }
        margin = _deploy(node, artifacts, tmp_path / "deployments", "margin")
        series = _series(node, _kit(node, artifacts, settlement.addresses))
        store_url = f"sqlite:///{tmp_path / 'watch.db'}"
        first = _watch_once(node, store_url, settlement.manifest)
        assert first.returncode == 0, first.stderr
        assert _stored(store_url, series.address) == _node_logs(node, series.address)
        assert _stored(store_url, margin.addresses["engine"]) == []
        # restart with the margin manifest added: its contracts are backfilled from their deployment blocks
        again = _watch_once(node, store_url, settlement.manifest, margin.manifest)
        assert again.returncode == 0, again.stderr
        for address in (series.address, margin.addresses["engine"], margin.addresses["collateral"]):
            assert _stored(store_url, address) == _node_logs(node, address)
        watched = {row.label: row.address for row in Store(store_url).watched()}
        assert watched["collateral"] == settlement.addresses["collateral"].lower()
        assert watched["margin.collateral"] == margin.addresses["collateral"].lower()  # a later manifest is prefixed
        assert watched[f"series:{series.address.lower()}"] == series.address.lower()
        assert {"engine", "series_factory"} <= {e.contract for e in Store(store_url).events()}


def test_a_manifest_of_another_chain_is_refused(anvil: Anvil, artifacts: ArtifactStore, tmp_path: Path) -> None:
    result = _deploy(anvil, artifacts, tmp_path / "deployments", "safety")
    sepolia = json.loads(result.manifest.read_text())
    sepolia["chain_id"] = 11155111
    path = tmp_path / "sepolia.json"
    path.write_text(json.dumps(sepolia))
    store_url = f"sqlite:///{tmp_path / 'watch.db'}"
    refused = _watch_once(anvil, store_url, path)
    assert refused.returncode == 1
    assert "error: the node is on chain 31337" in refused.stderr
    assert "the manifest on chain 11155111" in refused.stderr
    assert "fix:" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert Store(store_url).count_events() == 0


def test_a_second_watcher_on_the_same_store_refuses_to_start(
    anvil: Anvil, artifacts: ArtifactStore, tmp_path: Path, store_url: str
) -> None:
    result = _deploy(anvil, artifacts, tmp_path / "deployments", "safety")
    command = [*SETTLEKIT, "watch", "--manifest", str(result.manifest), "--rpc-url", anvil.url, "--store", store_url]
    first = subprocess.Popen(
        [*command, "--poll-interval", "0.2"], cwd=REPO, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert wait_until(lambda: Store(store_url).tip() is not None, timeout=60)
        second = _watch_once(anvil, store_url, result.manifest)
        assert second.returncode == 1
        assert "error: another watcher" in second.stderr
        assert "is writing to" in second.stderr
        assert "fix: stop the other `settlekit watch`" in second.stderr
    finally:
        first.kill()
        first.wait()
    time.sleep(0.5)  # PostgreSQL ends the killed session's advisory lock once it sees the socket closed
    assert wait_until(lambda: _watch_once(anvil, store_url, result.manifest).returncode == 0, timeout=30)


def test_the_lock_is_exclusive_and_released(store_url: str) -> None:
    from settlekit.watch.store import WriterLockError

    first, second = Store(store_url), Store(store_url)
    lock = first.writer_lock()
    with pytest.raises(WriterLockError, match="another watcher"):
        second.writer_lock()
    lock.release()
    second.writer_lock().release()


def test_events_of_a_series_and_its_summary_in_token_units(
    settlekit_project: Any, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        settlement = _deploy(node, artifacts, tmp_path / "deployments", "settlement")
        series = _series(node, _kit(node, artifacts, settlement.addresses))  # 2 units minted
        store_url = f"sqlite:///{tmp_path / 'watch.db'}"
        assert _watch_once(node, store_url, settlement.manifest).returncode == 0
    listed = run_cli("events", "--store", store_url, "--series", series.address, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {r["event"] for r in rows} >= {"SeriesCreated", "Minted"}
    assert all(r["address"].lower() == series.address.lower() or r["event"] == "SeriesCreated" for r in rows)
    (minted,) = [r for r in rows if r["event"] == "Minted"]
    assert minted["args"]["collateral"] == str(2 * MAX_PAYOUT_PER_UNIT)  # uint256: always a string
    table = run_cli("events", "--store", store_url, "--series", series.address, env=cli_env(COLUMNS="400"))
    assert "collateral=1,000.000002 dUSD (1000000002)" in table.stdout
    summary = json.loads(run_cli("series", "--store", store_url, "--json").stdout)
    assert summary == [
        {
            "series": series.address,
            "collateral": settlement.addresses["collateral"],
            "symbol": "dUSD",
            "decimals": 6,
            "deposited": str(2 * MAX_PAYOUT_PER_UNIT),
            "paid": "0",
            "reclaimed": "0",
            "swept": "0",
            "held": str(2 * MAX_PAYOUT_PER_UNIT),
            "units_minted": "2",
            "units_claimed": "0",
            "units_reclaimed": "0",
            "claims_outstanding": "2",
            "settled": False,
            "dust_events": 0,
        }
    ]
