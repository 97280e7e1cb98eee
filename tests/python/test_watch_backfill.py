"""Backfill of a dense chain (EventSpammer: hundreds of events per block): ranges shrink to the log budget, a step
stops at its event budget and the next one carries on, and the store ends equal to the node's logs, finalized."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import Follower, FollowerConfig
from settlekit.watch.store import Store

PER_TX, TXS = 200, 12


def _spam(node: Anvil, address: str, events: int) -> None:
    data = "0x" + (keccak(text="spam(uint256)")[:4] + encode(["uint256"], [events])).hex()
    sender = node.w3.eth.accounts[0]
    node.rpc.call("eth_sendTransaction", {"from": sender, "to": address, "data": data, "gas": hex(2_000_000)})


def _node_logs(node: Anvil, address: str) -> list[tuple[str, int]]:
    logs = node.rpc.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "address": address})
    return sorted((log["blockHash"], int(log["logIndex"], 16)) for log in logs)


def test_dense_backfill_is_bounded_per_call_and_per_step(
    settlekit_project: Any, artifacts: ArtifactStore, store_url: str
) -> None:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        spammer = contracts.deploy(node.w3, artifacts.get("EventSpammer"), sender=node.w3.eth.accounts[0])
        for _ in range(TXS):
            _spam(node, spammer.address, PER_TX)  # one block each (automine)
        node.mine(100)  # past anvil's finalized block (head - 64) by more than max_blocks_per_step
        store = Store(store_url)
        config = FollowerConfig(
            max_blocks_per_step=20, backfill_range=8, backfill_max_logs=500, backfill_step_events=1_000
        )
        follower = Follower(
            node.rpc, store, EventDecoder({"spam": (spammer.address, "EventSpammer")}, artifacts), config
        )
        follower.check_chain()
        first = follower.step()
        assert first.backfill_pending
        assert 1_000 <= first.ingested_events < 1_000 + 8 * PER_TX
        assert first.ingested_blocks == first.backfilled_to + 1  # nothing block by block while backfilling
        steps = [first]
        while steps[-1].backfill_pending:
            steps.append(follower.step())
            assert len(steps) < 20
        assert len(steps) >= 3  # 2,400 events at most ~1,000 per step
        widths = [last - first_block + 1 for first_block, last, outcome in follower.backfill_calls if outcome == "ok"]
        assert widths[:2] == [8, 3]  # 1,200 logs > 500: the next range shrinks in proportion (8 * 500 // 1,200)
        assert max(widths[2:]) >= 8  # past the dense blocks, fast and sparse calls double the range again
        follower.step()
        assert sorted((e.block_hash, e.log_index) for e in store.events()) == _node_logs(node, spammer.address)
        assert store.count_events() == PER_TX * TXS
        assert store.count_events("finalized") == PER_TX * TXS
        kinds = {e.event for e in store.events()}
        assert kinds == {"Transfer", "Liquidated", "AnswerUpdated"}
        negative = [e.args["current"] for e in store.events(event_name="AnswerUpdated")]
        assert min(negative) < 0
        store.close()
