"""Backfill of a dense chain (EventSpammer: hundreds of events per block): ranges shrink to the log budget, a step
stops at its event budget and the next one carries on, and the store ends equal to the node's logs, finalized."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig
from settlekit.chain.rpc import RpcClient, RpcResponseTooLargeError
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
        calls = follower.backfill_calls
        # 1,200 logs (about 900 KB of JSON) over 500 logs * 1,500 bytes: abandoned unread, cut in proportion to the
        # announced size (8 * 750,000 // ~900,000 = 6), then halved again for the 1,000 logs of blocks 0-5...
        assert calls[0] == (0, 7, "too big")
        widths = [last - first_block + 1 for first_block, last, outcome in calls if outcome == "ok"]
        assert all(width < 8 for width in widths[:2])
        assert max(widths[2:]) >= 8  # past the dense blocks, fast and sparse calls double the range again
        follower.step()
        assert sorted((e.block_hash, e.log_index) for e in store.events()) == _node_logs(node, spammer.address)
        assert store.count_events() == PER_TX * TXS
        assert store.count_events("finalized") == PER_TX * TXS
        kinds = {e.event for e in store.events()}
        assert kinds == {"Transfer", "Liquidated", "AnswerUpdated"}
        negative = [int(e.args["current"]) for e in store.events(event_name="AnswerUpdated")]
        assert min(negative) < 0
        store.close()


def _backfill_all(node: Anvil, address: str, artifacts: ArtifactStore, url: str, **config: Any) -> Follower:
    store = Store(url)
    follower = Follower(
        node.rpc, store, EventDecoder({"spam": (address, "EventSpammer")}, artifacts), FollowerConfig(**config)
    )
    follower.check_chain()
    while follower.step().backfill_pending:
        pass
    follower.step()
    return follower


def test_log_budget_byte_limit_single_blocks_and_prefetch_give_the_same_store(
    settlekit_project: Any, artifacts: ArtifactStore, store_url: str, tmp_path: Any
) -> None:
    """The three ways a range is bounded, and the prefetch worker, change the calls, never the stored events."""
    with Anvil(AnvilConfig(), settlekit_project) as node:
        spammer = contracts.deploy(node.w3, artifacts.get("EventSpammer"), sender=node.w3.eth.accounts[0])
        for _ in range(TXS):
            _spam(node, spammer.address, PER_TX)
        node.mine(100)
        expected = _node_logs(node, spammer.address)
        common = {"max_blocks_per_step": 20, "backfill_range": 8, "backfill_step_events": 1_000}
        # A byte limit far above the answers: only the log budget acts (8 blocks, 1,200 logs > 500: 8 * 500 // 1,200).
        by_count = _backfill_all(
            node, spammer.address, artifacts, store_url, **common, backfill_max_logs=500, backfill_log_bytes=10_000
        )
        widths = [last - first + 1 for first, last, outcome in by_count.backfill_calls if outcome == "ok"]
        assert widths[:2] == [8, 3]
        # A limit below one block's answer (200 logs, ~150 KB, over 50 * 1,500 bytes): every range of several
        # blocks is abandoned unread and cut until it is one block, which is fetched whole (it cannot be split).
        by_bytes = _backfill_all(
            node, spammer.address, artifacts, f"sqlite:///{tmp_path / 'bytes.db'}", **common, backfill_max_logs=50
        )
        assert any(outcome == "too big" for _, _, outcome in by_bytes.backfill_calls)
        dense = [(first, last) for first, last, outcome in by_bytes.backfill_calls if outcome == "ok" and first <= 13]
        assert all(first == last for first, last in dense)
        unprefetched = _backfill_all(
            node, spammer.address, artifacts, f"sqlite:///{tmp_path / 'plain.db'}", **common, backfill_prefetch=False
        )
        for follower in (by_count, by_bytes, unprefetched):
            stored = follower.store.events()
            assert sorted((e.block_hash, e.log_index) for e in stored) == expected
            assert follower.store.count_events("finalized") == PER_TX * TXS
            follower.store.close()
        assert [e.args for e in by_count.store.events()] == [e.args for e in unprefetched.store.events()]


class _Answer(BaseHTTPRequestHandler):
    body = b'{"jsonrpc": "2.0", "id": 1, "result": ["' + b"x" * 5_000 + b'"]}'

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path == "/chunked":  # no Content-Length: the client must count what it reads
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(self.body), 1_000):
                piece = self.body[start : start + 1_000]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.protocol_version = "HTTP/1.1"
    _Answer.protocol_version = "HTTP/1.1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("path", ["/", "/chunked"])
def test_call_bounded_abandons_long_answers_and_parses_short_ones(path: str) -> None:
    with _server() as url:
        client = RpcClient(url + path, timeout=5)
        assert client.call_bounded("eth_getLogs", {}, max_bytes=10_000) == ["x" * 5_000]
        with pytest.raises(RpcResponseTooLargeError) as raised:
            client.call_bounded("eth_getLogs", {}, max_bytes=4_000)
        assert raised.value.size == (None if path == "/chunked" else len(_Answer.body))
        assert "response size" in raised.value.message
        assert client.call("eth_getLogs", {}) == ["x" * 5_000]  # the session still works after an abandoned answer
        client.close()


class _CrashingStore(Store):
    """A store whose `crash_at`-th ingest dies before writing: a crash between two ranges of a backfill (each range
    is one transaction, so a kill -9 leaves the store as it was after some range, as this does)."""

    def __init__(self, url: str, crash_at: int) -> None:
        super().__init__(url)
        self.ingests, self.crash_at = 0, crash_at

    def ingest(self, blocks: Any, events: Any, watched: Any = ()) -> None:
        self.ingests += 1
        if self.ingests == self.crash_at:
            raise KeyboardInterrupt("crash")  # not an error the follower handles: it unwinds the step
        super().ingest(blocks, events, watched)


def test_crash_during_a_prefetched_backfill_resumes_from_the_checkpoint(
    settlekit_project: Any, artifacts: ArtifactStore, store_url: str
) -> None:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        spammer = contracts.deploy(node.w3, artifacts.get("EventSpammer"), sender=node.w3.eth.accounts[0])
        for _ in range(TXS):
            _spam(node, spammer.address, PER_TX)
        node.mine(100)
        decoder = EventDecoder({"spam": (spammer.address, "EventSpammer")}, artifacts)
        config = FollowerConfig(max_blocks_per_step=20, backfill_range=2, backfill_max_logs=500)
        crashing = _CrashingStore(store_url, crash_at=3)
        follower = Follower(node.rpc, crashing, decoder, config)
        follower.check_chain()
        with pytest.raises(KeyboardInterrupt):
            follower.step()  # the second range is stored, the third fetched (and the fourth prefetched) when it dies
        assert not [thread for thread in threading.enumerate() if thread.name.startswith("settlekit-backfill")]
        assert 0 < crashing.count_events() < PER_TX * TXS
        crashing.close()
        restarted = _backfill_all(node, spammer.address, artifacts, store_url, **vars(config))
        assert sorted((e.block_hash, e.log_index) for e in restarted.store.events()) == _node_logs(
            node, spammer.address
        )
        assert restarted.store.count_events() == restarted.store.count_events("finalized") == PER_TX * TXS
        restarted.store.close()
