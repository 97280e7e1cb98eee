"""Factory children against a real Anvil: series created through the deployed factory are watched from their
creation block (live, backfilled, announced while the watcher was down), and retracted with everything they emitted
when the announcing event is reorged out; a contract added to the manifest later is backfilled from its deployment."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig
from settlekit.scenarios.settlement import (
    CAP,
    MAX_PAYOUT_PER_UNIT,
    STRIKE,
    SettlementKit,
    deploy_kit,
    now,
)
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import Follower, FollowerConfig
from settlekit.watch.store import Store
from settlekit.watch.targets import Targets, from_manifests


def _manifest(kit: SettlementKit, *, with_factory: bool = True) -> dict[str, Any]:
    def entry(contract: Any, artifact: str) -> dict[str, Any]:
        return {"address": contract.address, "artifact": artifact, "block_number": 1}

    contracts = {"collateral": entry(kit.token, "MockERC20"), "oracle": entry(kit.oracle, "MockAggregator")}
    if with_factory:
        contracts["series_factory"] = entry(kit.factory, "SeriesFactory")
    return {"deployment": "settlement", "chain_id": 31337, "contracts": contracts}


def _follower(node: Anvil, artifacts: ArtifactStore, store: Store, targets: Targets, **config: Any) -> Follower:
    decoder = EventDecoder({t.label: (t.address, t.artifact) for t in targets.contracts}, artifacts)
    follower = Follower(
        node.rpc,
        store,
        decoder,
        FollowerConfig(confirmations=2, expected_chain_id=targets.chain_id, **config),
        targets=targets.contracts,
        children=targets.children,
    )
    follower.check_chain()
    return follower


def _create(kit: SettlementKit, node: Anvil) -> Any:
    accounts = list(node.w3.eth.accounts)
    expiry = now(node.w3) + 3_600
    return kit.create_series(
        strike=STRIKE,
        cap=CAP,
        max_payout_per_unit=MAX_PAYOUT_PER_UNIT,
        expiry=expiry,
        sweep_deadline=expiry + 30 * 86_400,
        treasury=accounts[2],
        reporter=accounts[1],
        guardian=accounts[0],
    )


def _mint(kit: SettlementKit, node: Anvil, series: Any, units: int) -> None:
    from settlekit import contracts

    writer = node.w3.eth.accounts[3]
    amount = units * MAX_PAYOUT_PER_UNIT
    contracts.transact(kit.token.functions.mint(writer, amount), sender=writer)
    contracts.transact(kit.token.functions.approve(series.address, amount), sender=writer)
    contracts.transact(series.functions.mint(units, writer), sender=writer)


def _node_logs(node: Anvil, address: str) -> list[tuple[str, int]]:
    logs = node.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": Web3.to_checksum_address(address)})
    return sorted((log["blockHash"].to_0x_hex(), int(log["logIndex"])) for log in logs)


def _stored(store: Store, address: str) -> list[tuple[str, int]]:
    return sorted((e.block_hash, e.log_index) for e in store.events() if e.address.lower() == address.lower())


def _catch_up(follower: Follower) -> None:
    for _ in range(50):
        report = follower.step()
        if not report.ingested_blocks and not report.backfill_pending:
            return


@pytest.fixture
def kit_node(settlekit_project: Any, artifacts: ArtifactStore) -> Any:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        yield node, deploy_kit(node.w3, artifacts, node.w3.eth.accounts[0])


def test_series_created_while_following_are_watched_from_their_creation_block(
    kit_node: Any, artifacts: ArtifactStore, store_url: str
) -> None:
    node, kit = kit_node
    store = Store(store_url)
    follower = _follower(node, artifacts, store, from_manifests([("settlement.json", _manifest(kit))]))
    _catch_up(follower)
    series = _create(kit, node)  # the clone's initialize logs in the same block, before SeriesCreated
    _catch_up(follower)
    _mint(kit, node, series, 3)
    _catch_up(follower)
    assert _stored(store, series.address) == _node_logs(node, series.address)
    names = [e.event for e in store.events() if e.address.lower() == series.address.lower()]
    assert "Minted" in names
    assert "OwnershipTransferred" in names
    (child,) = store.watched(kind="child")
    assert child.label == f"series:{series.address.lower()}"
    assert child.parent == "series_factory"
    # a restart reads its children from the store: the series stays watched
    again = _follower(node, artifacts, store, from_manifests([("settlement.json", _manifest(kit))]))
    _mint(kit, node, series, 1)
    _catch_up(again)
    assert _stored(store, series.address) == _node_logs(node, series.address)


def test_series_announced_while_the_watcher_was_down_are_backfilled(
    kit_node: Any, artifacts: ArtifactStore, store_url: str
) -> None:
    node, kit = kit_node
    store = Store(store_url)
    targets = from_manifests([("settlement.json", _manifest(kit))])
    _catch_up(_follower(node, artifacts, store, targets))
    first = _create(kit, node)  # the watcher is down: these land below the finalized block
    _mint(kit, node, first, 2)
    second = _create(kit, node)
    _mint(kit, node, second, 5)
    node.mine(100)
    follower = _follower(node, artifacts, store, targets, backfill_range=2, max_blocks_per_step=10)
    _catch_up(follower)
    assert any(outcome == "ok" for *_, outcome in follower.backfill_calls)  # really the range path
    for series in (first, second):
        assert _stored(store, series.address) == _node_logs(node, series.address)
    assert {e.status for e in store.events()} == {"finalized"}
    assert len(store.watched(kind="child")) == 2


def test_a_reorged_announcement_retracts_the_child_and_all_it_emitted(
    kit_node: Any, artifacts: ArtifactStore, store_url: str
) -> None:
    node, kit = kit_node
    store = Store(store_url)
    follower = _follower(node, artifacts, store, from_manifests([("settlement.json", _manifest(kit))]))
    _catch_up(follower)
    start = node.w3.eth.block_number
    series = _create(kit, node)
    _mint(kit, node, series, 2)
    _catch_up(follower)
    depth = node.w3.eth.block_number - start
    assert _stored(store, series.address)
    accounts = list(node.w3.eth.accounts)
    # the new branch carries a plain transfer in its first block, not the series
    filler = kit.token.functions.mint(accounts[5], 1).build_transaction(
        {"from": accounts[5], "gas": 100_000, "nonce": node.w3.eth.get_transaction_count(accounts[5])}
    )
    node.reorg(depth, [(filler, 0)])
    _catch_up(follower)
    assert _stored(store, series.address) == []  # nothing canonical left of it
    assert store.watched(kind="child") == []
    (gone,) = store.watched(kind="child", active_only=False)
    assert not gone.active
    retracted = [e for e in store.events(canonical_only=False) if e.address.lower() == series.address.lower()]
    assert retracted
    assert {e.status for e in retracted} == {"retracted"}
    assert not follower.decoder.watches(series.address)


def test_a_contract_added_to_the_manifest_is_backfilled_from_its_deployment(
    kit_node: Any, artifacts: ArtifactStore, store_url: str
) -> None:
    node, kit = kit_node
    series = _create(kit, node)
    _mint(kit, node, series, 4)
    store = Store(store_url)
    # first run: a manifest without the factory
    _catch_up(_follower(node, artifacts, store, from_manifests([("a.json", _manifest(kit, with_factory=False))])))
    assert _stored(store, kit.factory.address) == []
    assert _stored(store, series.address) == []
    # restart with the factory added: its history and its series' are backfilled, not only what follows
    both = from_manifests([("a.json", _manifest(kit, with_factory=False)), ("b.json", _manifest(kit))])
    follower = _follower(node, artifacts, store, both)
    _catch_up(follower)
    for address in (kit.factory.address, series.address, kit.token.address):
        assert _stored(store, address) == _node_logs(node, address)


def test_labels_that_collide_across_manifests_are_prefixed_and_other_chains_refused() -> None:
    a = {"deployment": "settlement", "chain_id": 1, "contracts": {"collateral": {"address": "0x" + "11" * 20}}}
    b = {"deployment": "margin", "chain_id": 1, "contracts": {"collateral": {"address": "0x" + "22" * 20}}}
    for manifest in (a, b):
        manifest["contracts"]["collateral"]["artifact"] = "MockERC20"
    targets = from_manifests([("a", a), ("b", b)])
    assert [t.label for t in targets.contracts] == ["collateral", "margin.collateral"]
    from settlekit.watch.targets import TargetError

    with pytest.raises(TargetError, match="different chains"):
        from_manifests([("a", a), ("b", {**b, "chain_id": 2})])
