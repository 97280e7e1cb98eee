"""The watcher's performance (issue 7): backfill throughput, head-following latency, memory, batching trade-off.

Events come from contracts/mocks/EventSpammer.vy (one call emits many events with the signatures of the project's
Transfer, Liquidated and a Chainlink-style AnswerUpdated), watched through a manifest and decoded from the ABIs as
`settlekit watch` does.

1. backfill: Anvil holding 200,000 events (all below the node's `finalized` block); a fresh SQLite store; the
   follower's steps until it reaches the head (range eth_getLogs, decode, store), with the prefetch worker on (the
   default) and off, three runs each. Reports events/s and the split between RPC (request, node, JSON parsing),
   decoding and storing. Target >= 20,000 events/s.
2. latency: a watcher process (`Follower.run`, what `settlekit watch` runs) follows an automining Anvil; the bench
   sends a transaction emitting one event, takes the moment its receipt is visible (a tight poll) as the mining
   time, then polls the store until the row is there. Median and p95 for poll intervals of 0.1 s and 1 s.
   Target: median <= poll interval + 50 ms.
3. memory: a watcher process ingests a chain holding 1,000,000 events into one SQLite store; its VmRSS at
   100k to 1M events and its peak (VmHWM). Target <= 200 MB.
4. batching: backfill throughput, step durations (how long a backfill step keeps the follower from the head) and
   the watcher's peak RSS for several `backfill_max_logs` settings, and with the prefetch off.

Run: .venv/bin/python bench/watch_perf.py [backfill|latency|memory|batching ...]   (no argument: all four)
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from settlekit.build import ArtifactStore, build
from settlekit.chain import Anvil, AnvilConfig, RpcClient
from settlekit.project import Project
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import Follower, FollowerConfig
from settlekit.watch.store import Store
from settlekit.watch.targets import ChildSpec

from report import ROOT, write_section

EVENTS_PER_TX = 250  # one block per transaction (automine): 250 events per block
FINALITY_BLOCKS = 70  # anvil's finalized block is head - 64: mine past it so the whole range is backfilled
SPAM = keccak(text="spam(uint256)")[:4]
BACKFILL_EVENTS = 200_000
MEMORY_EVENTS = 1_000_000
MEMORY_MARKS = (100_000, 200_000, 300_000, 500_000, 700_000, 900_000, 1_000_000)
LATENCY_SAMPLES = 40
POLL_INTERVALS = (0.1, 1.0)
# (label, FollowerConfig overrides): the log budget per range call, and the prefetch worker on and off
BATCH_SETTINGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("1,000", {"backfill_max_logs": 1_000}),
    ("10,000 (default)", {}),
    ("10,000, no prefetch", {"backfill_prefetch": False}),
    ("50,000", {"backfill_max_logs": 50_000}),
    ("10,000, backfill_step_events 5,000", {"backfill_step_events": 5_000}),
)


def python_speed() -> str:
    """A yardstick of how loaded the machine is: the same figure on a quiet core is what to compare runs by."""
    best = min(timeit.repeat("sum(range(1000))", number=2_000, repeat=5)) / 2_000
    return f"Python speed at the time: `sum(range(1000))` takes {best * 1e6:.1f} µs (best of 5)."


# --- the chain -------------------------------------------------------------------------------------------------


def deploy_spammer(node: Anvil, artifacts: ArtifactStore) -> str:
    from settlekit import contracts  # web3: kept out of the watcher processes, whose memory is measured

    spammer = contracts.deploy(node.w3, artifacts.get("EventSpammer"), sender=node.w3.eth.accounts[0])
    return str(spammer.address)


def spam(rpc: RpcClient, sender: str, address: str, events: int) -> str:
    data = "0x" + (SPAM + encode(["uint256"], [events])).hex()
    tx = {"from": sender, "to": address, "data": data, "gas": hex(100_000 + 4_000 * events)}
    return str(rpc.call("eth_sendTransaction", tx))


def fill(node: Anvil, address: str, events: int) -> float:
    """Emit ``events`` events (EVENTS_PER_TX per block), then mine past finality; returns the seconds it took."""
    started = time.perf_counter()
    sender = node.w3.eth.accounts[0]
    for _ in range(events // EVENTS_PER_TX):
        spam(node.rpc, sender, address, EVENTS_PER_TX)
    node.mine(FINALITY_BLOCKS)
    return time.perf_counter() - started


def manifest(address: str) -> dict[str, Any]:
    return {"contracts": {"spammer": {"address": address, "artifact": "EventSpammer"}}}


# --- timing the parts of a backfill -------------------------------------------------------------------------------


class TimedRpc(RpcClient):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.seconds = 0.0

    def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        started = time.perf_counter()
        try:
            return super().call(method, *params, timeout=timeout)
        finally:
            self.seconds += time.perf_counter() - started

    def call_bounded(self, method: str, *params: Any, max_bytes: int, timeout: float | None = None) -> Any:
        started = time.perf_counter()
        try:
            return super().call_bounded(method, *params, max_bytes=max_bytes, timeout=timeout)
        finally:
            self.seconds += time.perf_counter() - started


class TimedDecoder(EventDecoder):
    seconds = 0.0

    def decode_parts(self, address: str, topics: list[str], data: str) -> tuple[str, str, dict[str, Any]] | None:
        started = time.perf_counter()
        try:
            return super().decode_parts(address, topics, data)
        finally:
            self.seconds += time.perf_counter() - started


class TimedStore(Store):
    seconds = 0.0

    def ingest(self, blocks: Any, events: Any, watched: Any = ()) -> None:
        started = time.perf_counter()
        try:
            super().ingest(blocks, events, watched)
        finally:
            self.seconds += time.perf_counter() - started


def catch_up(follower: Follower, head: int, on_step: Any = None, steps: list[float] | None = None) -> int:
    """Step until the store's tip is ``head``; returns the events ingested (``steps`` gets each step's seconds)."""
    events = 0
    while True:
        began = time.perf_counter()
        report = follower.step()
        if steps is not None:
            steps.append(time.perf_counter() - began)
        events += report.ingested_events
        if on_step is not None:
            on_step(events)
        tip = follower.store.tip()
        if tip is not None and tip.number >= head:
            return events


def run_backfill(
    url: str, address: str, artifacts: ArtifactStore, config: FollowerConfig, children: tuple[ChildSpec, ...] = ()
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        rpc = TimedRpc(url)
        store = TimedStore(f"sqlite:///{Path(scratch) / 'watch.db'}")
        decoder = TimedDecoder({"spammer": (address, "EventSpammer")}, artifacts)
        follower = Follower(rpc, store, decoder, config, children=children)
        follower.check_chain()
        head = int(rpc.call("eth_blockNumber"), 16)
        rpc.seconds = 0.0
        started, cpu = time.perf_counter(), time.process_time()
        events = catch_up(follower, head)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu
        stored = store.count_events()
        store.close()
    assert stored == events, (stored, events)
    return {
        "events": events,
        "seconds": total,
        "cpu": cpu,
        "rpc": rpc.seconds,
        "decode": decoder.seconds,
        "store": store.seconds,
        "calls": len(follower.backfill_calls),
    }


BACKFILL_RUNS = 3  # per setting, alternating: the machine is shared, so the median run is what is reported
# Children being discovered: every Liquidated event is scanned as an announcement (its `liquidator`, the sender, is
# registered as a child on the first one, and that range's prefetch is discarded), as a factory's SeriesCreated is.
CHILDREN = (ChildSpec("spammer", "Liquidated", "liquidator", "MockERC20", "child"),)
BACKFILL_SETTINGS: tuple[tuple[str, FollowerConfig, tuple[ChildSpec, ...]], ...] = (
    ("default (prefetch on)", FollowerConfig(), ()),
    ("prefetch off", FollowerConfig(backfill_prefetch=False), ()),
    ("prefetch on, children discovered", FollowerConfig(), CHILDREN),
)


def backfill(project: Project, artifacts: ArtifactStore) -> str:
    runs: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in BACKFILL_SETTINGS}
    with Anvil(AnvilConfig(), project) as node:
        address = deploy_spammer(node, artifacts)
        generated = fill(node, address, BACKFILL_EVENTS)
        for _ in range(BACKFILL_RUNS):
            for label, config, children in BACKFILL_SETTINGS:
                runs[label].append(run_backfill(node.url, address, artifacts, config, children))
    rows = [
        "| setting | throughput (each run) | wall (CPU) | range calls | RPC (request, node, JSON parsing) | decoding "
        "| storing | rest |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdict = ""
    for label, results in runs.items():
        rates = [r["events"] / r["seconds"] for r in results]
        result = sorted(results, key=lambda r: r["events"] / r["seconds"])[len(results) // 2]  # the median run
        rate = result["events"] / result["seconds"]
        other = result["seconds"] - result["rpc"] - result["decode"] - result["store"]
        verdict = verdict or f"{rate:,.0f} events/s (target >= 30,000: {'met' if rate >= 30_000 else 'NOT met'})"
        rows.append(
            f"| {label} | **{rate:,.0f} events/s** ({', '.join(f'{r:,.0f}' for r in rates)}) "
            f"| {result['seconds']:.2f} s ({result['cpu']:.2f} s) | {result['calls']:.0f} | {result['rpc']:.2f} s "
            f"| {result['decode']:.2f} s | {result['store']:.2f} s | {other:.2f} s |"
        )
    return (
        f"{BACKFILL_EVENTS:,} events ({EVENTS_PER_TX} per block, {BACKFILL_EVENTS // EVENTS_PER_TX:,} blocks; "
        f"generating them took {generated:.0f} s) backfilled from Anvil into a fresh SQLite store, {BACKFILL_RUNS} "
        "runs per setting (alternating); the median run's split. Storing is SQLite, one transaction per range; rest "
        "is building rows and the step logic. With the prefetch the RPC time is spent in the worker thread while the "
        "main thread decodes and stores, so the parts add up to more than the wall time (rest goes negative).\n\n"
        + "\n".join(rows)
        + f"\n\nResult: **{verdict}**.\n"
    )


# --- a watcher process (latency, memory, batching) -----------------------------------------------------------------


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (VmRSS), or its peak (VmHWM). Not ru_maxrss: Linux carries the parent's peak
    across fork and exec into it, so a watcher started from a big bench process would report the bench's memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker(spec_json: str) -> None:
    """The watcher process: follow (latency) or catch up once while reporting RSS (memory, batching); prints JSON."""
    spec = json.loads(spec_json)
    artifacts = ArtifactStore(Path(spec["out_dir"]))
    store = Store.sqlite(spec["store"])
    config = FollowerConfig(**spec.get("config", {}))
    follower = Follower(RpcClient(spec["url"]), store, EventDecoder.from_manifest(spec["manifest"], artifacts), config)
    if spec["mode"] == "follow":
        print(json.dumps({"ready": True}), flush=True)
        follower.run(float(spec["poll_interval"]), stop=threading.Event())
        return
    marks = list(spec.get("marks", []))
    follower.check_chain()
    head = int(follower.rpc.call("eth_blockNumber"), 16)
    started = time.perf_counter()

    def on_step(events: int) -> None:
        while marks and events >= marks[0]:
            calls = follower.backfill_calls[-3:]
            print(json.dumps({"mark": marks.pop(0), "events": events, "rss_mb": rss_mb(), "calls": calls}), flush=True)

    steps: list[float] = []
    events = catch_up(follower, head, on_step, steps)
    seconds = time.perf_counter() - started
    peak = rss_mb("VmHWM")
    calls = len(follower.backfill_calls)
    too_big = sum(1 for call in follower.backfill_calls if call[2] != "ok")
    summary = {"events": events, "seconds": seconds, "rss_mb": rss_mb(), "peak_mb": peak, "calls": calls}
    summary.update({"too_big": too_big, "step_max": max(steps), "step_median": statistics.median(steps)})
    print(json.dumps(summary))


def spawn_worker(spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "_worker", json.dumps(spec)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def run_worker(spec: dict[str, Any]) -> list[dict[str, Any]]:
    process = spawn_worker(spec)
    out, _ = process.communicate(timeout=3_600)
    if process.returncode != 0:
        raise RuntimeError(f"watcher process failed with exit code {process.returncode}")
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


# --- latency ----------------------------------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure_latency(project: Project, artifacts: ArtifactStore, poll: float) -> list[float]:
    with Anvil(AnvilConfig(), project) as node, tempfile.TemporaryDirectory() as scratch:
        address = deploy_spammer(node, artifacts)
        db = str(Path(scratch) / "watch.db")
        spec = {
            "mode": "follow",
            "url": node.url,
            "store": db,
            "out_dir": str(artifacts.out_dir),
            "manifest": manifest(address),
            "poll_interval": poll,
        }
        process = spawn_worker(spec)
        try:
            assert process.stdout is not None
            assert json.loads(process.stdout.readline())["ready"]
            sender = node.w3.eth.accounts[0]
            warm = spam(node.rpc, sender, address, 1)
            samples = [wait_row(db, warm, time.perf_counter(), timeout=30)]
            samples.clear()
            for index in range(LATENCY_SAMPLES):
                time.sleep(poll * ((index * 7919) % 97) / 97)  # spread the sends over the poll phase
                tx_hash = spam(node.rpc, sender, address, 1)
                while node.rpc.call("eth_getTransactionReceipt", tx_hash) is None:
                    pass  # automine: already mined; this confirms it is visible to readers
                mined = time.perf_counter()
                samples.append(wait_row(db, tx_hash, mined, timeout=10 + poll * 5))
        finally:
            process.terminate()
            process.wait(timeout=10)
    return samples


def wait_row(db: str, tx_hash: str, since: float, *, timeout: float) -> float:
    """Poll the store (read-only, as another reader would) until an event of ``tx_hash`` is visible."""
    deadline = since + timeout
    connection: sqlite3.Connection | None = None
    while time.perf_counter() < deadline:
        try:
            if connection is None:
                connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            if connection.execute("SELECT 1 FROM events WHERE tx_hash = ? LIMIT 1", (tx_hash,)).fetchone():
                connection.close()
                return time.perf_counter() - since
        except sqlite3.OperationalError:
            connection = None  # the watcher has not created the store yet
        time.sleep(0.001)
    raise RuntimeError(f"event of {tx_hash} not stored within {timeout} s")


def latency(project: Project, artifacts: ArtifactStore) -> str:
    rows = [
        "| poll interval | samples | median | p95 | max | target (median) | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for poll in POLL_INTERVALS:
        samples = measure_latency(project, artifacts, poll)
        median = statistics.median(samples)
        limit = poll + 0.050
        rows.append(
            f"| {poll:g} s | {len(samples)} | {median * 1000:.0f} ms | {percentile(samples, 0.95) * 1000:.0f} ms | "
            f"{max(samples) * 1000:.0f} ms | <= {limit * 1000:.0f} ms | {'met' if median <= limit else 'NOT met'} |"
        )
    return (
        "From the moment the bench sees the receipt of a transaction that emits one event (automining Anvil) to the "
        "moment the event's row is visible to another SQLite reader; the watcher is a separate process running "
        "`Follower.run`, as `settlekit watch` does:\n\n" + "\n".join(rows) + "\n"
    )


# --- memory and batching -------------------------------------------------------------------------------------------


def memory(project: Project, artifacts: ArtifactStore) -> str:
    with Anvil(AnvilConfig(), project) as node, tempfile.TemporaryDirectory() as scratch:
        address = deploy_spammer(node, artifacts)
        generated = fill(node, address, MEMORY_EVENTS)
        lines = run_worker(
            {
                "mode": "catch_up",
                "url": node.url,
                "store": str(Path(scratch) / "watch.db"),
                "out_dir": str(artifacts.out_dir),
                "manifest": manifest(address),
                "marks": list(MEMORY_MARKS),
            }
        )
    final = lines[-1]
    rows = ["| events ingested | VmRSS of the watcher |", "|---|---|"]
    rows += [f"| {line['events']:,} | {line['rss_mb']:.0f} MB |" for line in lines if "mark" in line]
    verdict = "met" if final["peak_mb"] <= 200 else "NOT met"
    return (
        f"A watcher process ingests a chain of {final['events']:,} events ({EVENTS_PER_TX} per block; generating "
        f"them took {generated:.0f} s) into one SQLite store with the default FollowerConfig, in "
        f"{final['seconds']:.0f} s ({final['events'] / final['seconds']:,.0f} events/s):\n\n"
        + "\n".join(rows)
        + f"\n| caught up to the head | {final['rss_mb']:.0f} MB |"
        + f"\n\nPeak RSS (VmHWM) **{final['peak_mb']:.0f} MB** (target <= 200 MB: {verdict}).\n"
    )


def batching(project: Project, artifacts: ArtifactStore) -> str:
    rows = [
        "| backfill_max_logs | range calls (refused as too big) | events/s | median step | longest step "
        "| watcher peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    with Anvil(AnvilConfig(), project) as node, tempfile.TemporaryDirectory() as scratch:
        address = deploy_spammer(node, artifacts)
        fill(node, address, BACKFILL_EVENTS)
        for index, (label, config) in enumerate(BATCH_SETTINGS):
            lines = run_worker(
                {
                    "mode": "catch_up",
                    "url": node.url,
                    "store": str(Path(scratch) / f"watch{index}.db"),
                    "out_dir": str(artifacts.out_dir),
                    "manifest": manifest(address),
                    "config": config,
                }
            )
            final = lines[-1]
            rows.append(
                f"| {label} | {final['calls']} ({final['too_big']}) | {final['events'] / final['seconds']:,.0f} | "
                f"{final['step_median'] * 1000:.0f} ms | {final['step_max'] * 1000:.0f} ms | "
                f"{final['peak_mb']:.0f} MB |"
            )
    return (
        f"Backfill of {BACKFILL_EVENTS:,} events ({EVENTS_PER_TX} per block) by a watcher process, per setting of "
        "`FollowerConfig.backfill_max_logs` (the logs one range call may return before the next range shrinks; an "
        "answer over `backfill_max_logs * backfill_log_bytes` bytes is refused unread). A step is what keeps the "
        "follower away from the head: a new block's events wait at most one step (plus the poll interval) while a "
        "backfill runs; every step stops after `backfill_step_events` (20,000) events:\n\n" + "\n".join(rows) + "\n"
    )


REMOTE_BLOCKS = 300
REMOTE_EVENTS_PER_BLOCK = 10
REMOTE_LATENCY = 0.05


def remote(project: Project, artifacts: ArtifactStore) -> str:
    """Catching up above finality through a proxy adding 50 ms per HTTP round trip (a remote node): block by block
    (two round trips per block) against JSON-RPC batches of 50 blocks (two round trips per 50)."""
    from settlekit.testing.rpc_proxy import RpcProxy

    rows = ["| rpc_batch | blocks | events | HTTP round trips | seconds | blocks/s |", "|---|---|---|---|---|---|"]
    with Anvil(AnvilConfig(), project) as node:
        address = deploy_spammer(node, artifacts)
        sender = node.w3.eth.accounts[0]
        for _ in range(REMOTE_BLOCKS):
            spam(node.rpc, sender, address, REMOTE_EVENTS_PER_BLOCK)
        head = node.w3.eth.block_number
        with RpcProxy(node.url, latency=REMOTE_LATENCY, no_finalized_tag=True) as proxy:
            for batch in (1, 10, 50):
                with tempfile.TemporaryDirectory() as scratch:
                    store = Store(f"sqlite:///{Path(scratch) / 'watch.db'}")
                    decoder = EventDecoder({"spammer": (address, "EventSpammer")}, artifacts)
                    # every block above finality (the node has no `finalized` tag; depth 10,000)
                    config = FollowerConfig(rpc_batch=batch, finality_depth=10_000, max_blocks_per_step=500)
                    follower = Follower(RpcClient(proxy.url), store, decoder, config)
                    follower.check_chain()
                    before, started = proxy.requests, time.perf_counter()
                    events = catch_up(follower, head)
                    seconds = time.perf_counter() - started
                    store.close()
                rows.append(
                    f"| {batch} | {head + 1:,} | {events:,} | {proxy.requests - before:,} | {seconds:.1f} "
                    f"| {(head + 1) / seconds:,.0f} |"
                )
    return (
        f"{REMOTE_BLOCKS} blocks of {REMOTE_EVENTS_PER_BLOCK} events, all above finality, caught up through "
        f"`settlekit.testing.rpc_proxy` adding {REMOTE_LATENCY * 1000:.0f} ms to every HTTP request "
        "(`FollowerConfig.rpc_batch`; `settlekit watch` uses 50).\n\n" + "\n".join(rows) + "\n"
    )


SECTIONS = {
    "backfill": ("watch-backfill", "Watcher backfill throughput (Anvil to SQLite)", backfill),
    "latency": ("watch-latency", "Watcher head-following latency", latency),
    "memory": ("watch-memory", "Watcher memory after 1,000,000 events", memory),
    "batching": ("watch-batching", "Watcher batching versus memory (backfill range limit)", batching),
    "remote": ("watch-remote", "Watcher catch-up above finality against a node 50 ms away (JSON-RPC batches)", remote),
}


def main(names: list[str] | None = None) -> None:
    project = Project(ROOT)
    build(project)
    artifacts = ArtifactStore(project.out_dir)
    for name in names or list(SECTIONS):
        key, title, bench = SECTIONS[name]
        body = bench(project, artifacts) + "\n" + python_speed() + "\n"
        write_section(key, title, f".venv/bin/python bench/watch_perf.py {name}", body)
        print(f"## {title}\n\n{body}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_worker":
        worker(sys.argv[2])
    else:
        main(sys.argv[1:])
