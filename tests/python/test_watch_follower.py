"""The head follower against a real Anvil: ingestion, reorgs (deeper, same height, shorter), restarts, finality."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig, RpcError
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import ChainMismatchError, Follower, FollowerConfig, ReorgPastFinalityError
from settlekit.watch.incidents import IncidentLog, IncidentNotFoundError
from settlekit.watch.store import Store


def _token(node: Anvil, artifacts: ArtifactStore) -> Any:
    accounts = list(node.w3.eth.accounts)
    token = contracts.deploy(node.w3, artifacts.get("MockERC20"), "Demo", "DMO", 6, sender=accounts[0])
    contracts.transact(token.functions.mint(accounts[0], 10**12), sender=accounts[0])
    return token


def _transfer(node: Anvil, token: Any, to_index: int, amount: int) -> None:
    accounts = list(node.w3.eth.accounts)
    contracts.transact(token.functions.transfer(accounts[to_index], amount), sender=accounts[0])


def _node_logs(node: Anvil, address: str) -> list[tuple[str, int]]:
    logs = node.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": Web3.to_checksum_address(address)})
    return sorted((log["blockHash"].to_0x_hex(), int(log["logIndex"])) for log in logs)


def _stored(store: Store) -> list[tuple[str, int]]:
    return sorted((e.block_hash, e.log_index) for e in store.events())


@pytest.fixture
def setup(settlekit_project, artifacts: ArtifactStore, store_url: str) -> Any:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        token = _token(node, artifacts)
        store = Store(store_url)
        decoder = EventDecoder({"token": (token.address, "MockERC20")}, artifacts)
        follower = Follower(node.rpc, store, decoder, FollowerConfig(confirmations=2))
        follower.check_chain()
        yield node, token, store, follower, decoder


def test_ingests_and_decodes_every_event_once(setup: Any) -> None:
    node, token, store, follower, _ = setup
    for amount in (1, 2, 3):
        _transfer(node, token, 1, amount)
    follower.step()
    follower.step()  # idempotent: nothing new, nothing duplicated
    assert _stored(store) == _node_logs(node, token.address)
    transfers = store.events(event_name="Transfer")
    assert [e.args["value"] for e in transfers][-3:] == ["1", "2", "3"]
    assert transfers[-1].args["receiver"] == node.w3.eth.accounts[1]


def test_reorg_retracts_orphaned_events_and_ingests_the_new_branch(setup: Any) -> None:
    node, token, store, follower, _ = setup
    for amount in (10, 20, 30):
        _transfer(node, token, 1, amount)
    follower.step()
    before = set(_stored(store))
    accounts = list(node.w3.eth.accounts)
    replacement = token.functions.transfer(accounts[2], 777).build_transaction(
        {"from": accounts[0], "gas": 100_000, "nonce": node.w3.eth.get_transaction_count(accounts[0]) - 3}
    )
    node.reorg(3, [(replacement, 1)])
    report = follower.step()
    assert [reorg["depth"] for reorg in report.reorgs] == [3]
    assert _stored(store) == _node_logs(node, token.address)
    retracted = {(e.block_hash, e.log_index) for e in store.events(canonical_only=False) if e.status == "retracted"}
    assert len(retracted) == 3
    assert retracted <= before
    assert [e.args["value"] for e in store.events(event_name="Transfer")][-1] == "777"
    assert store.reorg_log()[-1]["depth"] == 3


def test_same_height_replacement_and_shorter_chain_are_reorgs(setup: Any) -> None:
    node, token, store, follower, _ = setup
    _transfer(node, token, 1, 5)
    follower.step()
    node.reorg(1)  # same height, different (empty) block
    follower.step()
    assert _stored(store) == _node_logs(node, token.address)
    _transfer(node, token, 1, 6)
    _transfer(node, token, 1, 7)
    follower.step()
    node.rollback(2)  # the chain gets shorter
    follower.step()
    assert _stored(store) == _node_logs(node, token.address)
    assert [r["depth"] for r in store.reorg_log()] == [1, 2]


def test_restart_on_the_same_store_resumes_without_loss_or_duplicates(setup: Any) -> None:
    node, token, store, follower, decoder = setup
    _transfer(node, token, 1, 1)
    follower.step()
    store.close()
    _transfer(node, token, 1, 2)
    reopened = Store(store.url)
    again = Follower(node.rpc, reopened, decoder, FollowerConfig(confirmations=2))
    again.check_chain()
    again.step()
    assert _stored(reopened) == _node_logs(node, token.address)


def test_statuses_move_from_seen_to_confirmed_to_finalized(
    settlekit_project, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    with Anvil(AnvilConfig(slots_in_an_epoch=1), settlekit_project) as node:  # finalized = head - 2
        token = _token(node, artifacts)
        store = Store.sqlite(str(tmp_path / "w.db"))
        follower = Follower(
            node.rpc,
            store,
            EventDecoder({"token": (token.address, "MockERC20")}, artifacts),
            FollowerConfig(confirmations=1),
        )
        follower.step()
        last = store.events()[-1]
        assert last.status == "seen"
        node.mine(1)
        follower.step()
        assert store.events()[-1].status == "confirmed"
        node.mine(2)
        follower.step()
        assert store.events()[-1].status == "finalized"
        node.rollback(3)  # replaces a finalized block
        with pytest.raises(ReorgPastFinalityError):
            follower.step()


def test_other_chain_is_refused(setup: Any, settlekit_project) -> None:
    _, _, store, _, decoder = setup
    with (
        Anvil(AnvilConfig(chain_id=5), settlekit_project) as other,
        pytest.raises(ChainMismatchError, match="the store was filled from chain 31337"),
    ):
        Follower(other.rpc, store, decoder).check_chain()


def test_every_reorg_is_in_the_incident_log_with_its_depth(setup: Any) -> None:
    node, token, store, follower, _ = setup
    for depth in (1, 2, 3):
        for amount in range(depth):
            _transfer(node, token, 1, amount + 1)
        follower.step()
        node.reorg(depth)
        follower.step()
    log = IncidentLog(store)
    reorgs = [incident for incident in log.list() if incident.rule == "reorg"]
    assert [incident.details["depth"] for incident in reorgs] == [1, 2, 3]
    assert {incident.severity for incident in reorgs} == {"warning"}
    first = log.acknowledge(reorgs[0].id)
    assert first.state == "acknowledged"
    assert log.resolve(reorgs[0].id).state == "resolved"
    assert len([i for i in log.list(open_only=True) if i.rule == "reorg"]) == 2
    # the depth-3 reorg took back a transfer that had 2 confirmations: its own incident, naming it
    (retracted,) = [i for i in log.list() if i.rule == "confirmed_retracted"]
    assert retracted.details["event"] == "Transfer"
    assert retracted.details["reorg_depth"] == 3
    assert retracted.summary.startswith("confirmed Transfer of token")


def test_the_same_condition_does_not_open_a_second_incident(store_url: str) -> None:
    log = IncidentLog(Store(store_url))
    first = log.raise_("deficit", "deficit:market-1", "critical", "deficit recorded", {"amount": 5})
    again = log.raise_("deficit", "deficit:market-1", "critical", "deficit recorded", {"amount": 9})
    assert first.new
    assert not again.new
    assert (again.id, again.count, again.details) == (first.id, 2, {"amount": 9})
    log.resolve(first.id)
    reopened = log.raise_("deficit", "deficit:market-1", "critical", "deficit recorded", {"amount": 1})
    assert reopened.new
    assert reopened.id != first.id
    with pytest.raises(IncidentNotFoundError):
        log.acknowledge(999)


class _LimitedNode:
    """A node that refuses eth_getLogs ranges wider than `limit` blocks, as hosted providers do."""

    def __init__(self, rpc: Any, limit: int) -> None:
        self._rpc = rpc
        self.limit = limit
        self.url = rpc.url
        self.url_for_display = rpc.url_for_display

    def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        if method == "eth_getLogs" and "fromBlock" in params[0]:
            width = int(params[0]["toBlock"], 16) - int(params[0]["fromBlock"], 16) + 1
            if width > self.limit:
                raise RpcError(method, -32005, f"query returned more than 10000 results (range {width})")
        return self._rpc.call(method, *params, timeout=timeout)


def test_backfill_uses_ranges_that_adapt_to_what_the_node_accepts(
    settlekit_project, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    with Anvil(AnvilConfig(slots_in_an_epoch=1), settlekit_project) as node:  # finalized = head - 2
        token = _token(node, artifacts)
        for amount in range(1, 31):
            _transfer(node, token, 1, amount)
            node.mine(10)  # spread the events over ~330 blocks
        store = Store.sqlite(str(tmp_path / "b.db"))
        limited = _LimitedNode(node.rpc, limit=64)
        follower = Follower(
            limited,
            store,
            EventDecoder({"token": (token.address, "MockERC20")}, artifacts),  # type: ignore[arg-type]
            FollowerConfig(confirmations=1, max_blocks_per_step=20, backfill_range=256),
        )
        report = follower.step()
        assert report.backfilled_to == node.block_number() - 2
        while follower.step().ingested_blocks:
            pass
        assert _stored(store) == _node_logs(node, token.address)
        outcomes = [outcome for _, _, outcome in follower.backfill_calls]
        assert outcomes[:3] == ["too big", "too big", "ok"]  # 256 -> 128 -> 64 blocks
        widths = [last - first + 1 for first, last, outcome in follower.backfill_calls if outcome == "ok"]
        assert max(widths) <= 64
        assert len(widths) < 20  # far fewer calls than one per block


def _reorg_incidents(store: Store) -> list[tuple[str, int]]:
    return [(i.details["old_tip"], i.details["depth"]) for i in IncidentLog(store).list() if i.rule == "reorg"]


def test_reorg_incident_survives_a_failure_while_the_new_branch_is_fetched(setup: Any) -> None:
    """Regression (chaos test): the incident used to be raised after the new branch was ingested, so a node error
    or a kill in between lost it for good (the next step no longer sees a reorg: the old blocks are orphaned)."""
    node, token, store, follower, _ = setup
    for amount in (1, 2):
        _transfer(node, token, 1, amount)
    follower.step()
    old_tip = store.tip()
    assert old_tip is not None
    node.reorg(2, [(_replacement(node, token, 2), 0)])
    fetch = follower._events_of

    def failing(_block: Any) -> Any:
        raise RpcError("eth_getLogs", -32000, "node restarting")

    follower._events_of = failing  # type: ignore[method-assign]
    with pytest.raises(RpcError):
        follower.step()
    follower._events_of = fetch  # type: ignore[method-assign]
    follower.step()
    assert _reorg_incidents(store) == [(old_tip.hash, 2)]
    assert [r["depth"] for r in store.reorg_log()] == [2]
    assert _stored(store) == _node_logs(node, token.address)


def test_reorg_recorded_but_not_reported_before_a_kill_is_reported_on_restart(setup: Any) -> None:
    """Regression (chaos test): a kill -9 between recording the reorg and raising its incident; the restarted
    follower raises it from the reorg table, once."""
    node, token, store, follower, decoder = setup
    _transfer(node, token, 1, 1)
    follower.step()
    old_tip = store.tip()
    assert old_tip is not None
    node.reorg(1, [(_replacement(node, token, 1), 0)])

    def killed(*_args: Any) -> None:
        raise KeyboardInterrupt  # stands in for the kill: nothing after this point runs

    follower._reorg_incident = killed  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        follower.step()
    assert [r["depth"] for r in store.reorg_log()] == [1]
    assert _reorg_incidents(store) == []
    restarted = Follower(node.rpc, Store(store.url), decoder, FollowerConfig(confirmations=2))
    restarted.check_chain()
    restarted.step()
    restarted.check_chain()  # a reconnect later: already reported, not raised again
    assert _reorg_incidents(store) == [(old_tip.hash, 1)]
    assert [i.count for i in IncidentLog(store).list() if i.rule == "reorg"] == [1]
    assert _stored(store) == _node_logs(node, token.address)


def _replacement(node: Anvil, token: Any, depth: int) -> dict[str, Any]:
    """A transfer for the first block of a reorg's new branch, so that the replaced blocks really differ."""
    accounts = list(node.w3.eth.accounts)
    nonce = int(node.rpc.call("eth_getTransactionCount", accounts[0], hex(node.block_number() - depth)), 16)
    tx: dict[str, Any] = token.functions.transfer(accounts[3], 4242).build_transaction(
        {"from": accounts[0], "gas": 100_000, "nonce": nonce}
    )
    return tx
