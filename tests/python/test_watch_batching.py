"""Catching up above finality with JSON-RPC batches, through a local proxy adding 50 ms per round trip; a node
without the `finalized` tag (finality depth fallback); a node replaced by a fresh chain is refused, not adopted."""

from __future__ import annotations

import time
from typing import Any

import pytest
from web3 import Web3

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig, RpcClient
from settlekit.testing.rpc_proxy import RpcProxy
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import ChainMismatchError, Follower, FollowerConfig
from settlekit.watch.incidents import IncidentLog
from settlekit.watch.store import Store


def _token(node: Anvil, artifacts: ArtifactStore, transfers: int) -> Any:
    accounts = list(node.w3.eth.accounts)
    token = contracts.deploy(node.w3, artifacts.get("MockERC20"), "Demo", "DMO", 6, sender=accounts[0])
    contracts.transact(token.functions.mint(accounts[0], 10**12), sender=accounts[0])
    for amount in range(1, transfers + 1):
        contracts.transact(token.functions.transfer(accounts[1], amount), sender=accounts[0])
    return token


def _node_logs(node: Anvil, address: str) -> list[tuple[str, int]]:
    logs = node.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": Web3.to_checksum_address(address)})
    return sorted((log["blockHash"].to_0x_hex(), int(log["logIndex"])) for log in logs)


def _catch_up(follower: Follower) -> float:
    began = time.monotonic()
    while follower.step().ingested_blocks:
        pass
    return time.monotonic() - began


@pytest.fixture
def node(settlekit_project: Any) -> Any:
    with Anvil(AnvilConfig(), settlekit_project) as started:
        yield started


def test_batches_cut_round_trips_against_a_slow_node_and_store_the_same(
    node: Anvil, artifacts: ArtifactStore, tmp_path: Any
) -> None:
    token = _token(node, artifacts, 60)
    results = {}
    with RpcProxy(node.url, latency=0.05, no_finalized_tag=True) as proxy:
        for batch in (1, 50):
            store = Store(f"sqlite:///{tmp_path / f'b{batch}.db'}")
            decoder = EventDecoder({"token": (token.address, "MockERC20")}, artifacts)
            # finality depth 10,000: every block is above finality, fetched block by block (or batch by batch)
            config = FollowerConfig(rpc_batch=batch, finality_depth=10_000, max_blocks_per_step=500)
            follower = Follower(RpcClient(proxy.url), store, decoder, config)
            follower.check_chain()
            before = proxy.requests
            seconds = _catch_up(follower)
            results[batch] = (proxy.requests - before, seconds)
            assert sorted((e.block_hash, e.log_index) for e in store.events()) == _node_logs(node, token.address)
    blocks = node.w3.eth.block_number + 1
    unbatched, batched = results[1][0], results[50][0]
    assert unbatched >= 2 * blocks  # a header and a logs call per block
    assert batched <= 2 * (blocks // 50 + 1) + 12  # two batches per 50 blocks, plus the per-step calls
    assert results[50][1] < results[1][1] / 3


def test_a_node_without_the_finalized_tag_falls_back_to_the_finality_depth(
    node: Anvil, artifacts: ArtifactStore, store_url: str
) -> None:
    token = _token(node, artifacts, 3)
    node.mine(20)
    with RpcProxy(node.url, no_finalized_tag=True) as proxy:
        store = Store(store_url)
        decoder = EventDecoder({"token": (token.address, "MockERC20")}, artifacts)
        follower = Follower(RpcClient(proxy.url), store, decoder, FollowerConfig(finality_depth=10))
        follower.check_chain()
        _catch_up(follower)
    assert follower.finalized_tag is False
    assert store.count_events("finalized") == store.count_events() == len(_node_logs(node, token.address))
    assert int(store.get_meta("finalized_number") or -1) == node.w3.eth.block_number - 10
    assert [i for i in IncidentLog(store).list() if i.rule == "node_outage"] == []


def test_a_node_replaced_by_a_fresh_chain_is_refused_not_taken_for_a_reorg(
    settlekit_project: Any, artifacts: ArtifactStore, store_url: str
) -> None:
    with Anvil(AnvilConfig(), settlekit_project) as first:
        token = _token(first, artifacts, 3)
        port = first.port
        store = Store(store_url)
        decoder = EventDecoder({"token": (token.address, "MockERC20")}, artifacts)
        follower = Follower(RpcClient(first.url), store, decoder, FollowerConfig())
        follower.check_chain()
        _catch_up(follower)
    time.sleep(1.1)  # another genesis timestamp
    with Anvil(AnvilConfig(port=port), settlekit_project) as second:
        _token(second, artifacts, 1)  # the same deployer: the same token address, a shorter chain
        with pytest.raises(ChainMismatchError):
            follower.step()  # no reconnect in between: the reorg path checks the chain first
        assert store.reorg_log() == []
        assert [i.rule for i in IncidentLog(store).list()] == ["chain_mismatch"]
