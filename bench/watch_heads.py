"""Head-following latency with and without the WebSocket doorbell (`settlekit watch --ws-url`).

An automining Anvil and a follower (`Follower.run`, what `settlekit watch` runs) in this process. Each sample sends one
mint (one block, one event) at a random phase of the poll cycle and measures from the send's return (the block is
mined) until the event is in the store. Two settings: polling every 1 s alone, and polling every 60 s with the
newHeads subscription waking the loop. The store is SQLite in a temporary folder.

Run: .venv/bin/python bench/watch_heads.py [samples]   (default 20 per setting)
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from settlekit import contracts
from settlekit.build import ArtifactStore, build
from settlekit.chain import Anvil, AnvilConfig
from settlekit.project import Project
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import Follower
from settlekit.watch.heads import HeadSubscription, WakeableStop
from settlekit.watch.store import Store

from report import write_section

COMMAND = ".venv/bin/python bench/watch_heads.py"


def measure(node: Anvil, artifacts: ArtifactStore, folder: Path, *, poll: float, ws: bool, samples: int) -> list[float]:
    owner = node.w3.eth.accounts[0]
    token = contracts.deploy(node.w3, artifacts.get("MockERC20"), "Demo", "DMO", 6, sender=owner)
    store = Store.sqlite(str(folder / f"heads-{'ws' if ws else 'poll'}.db"))
    follower = Follower(node.rpc, store, EventDecoder({"token": (token.address, "MockERC20")}, artifacts), rules=[])
    stop: Any = WakeableStop() if ws else threading.Event()
    subscription = (
        HeadSubscription(node.url.replace("http://", "ws://"), lambda _n: stop.wake()).start() if ws else None
    )
    runner = threading.Thread(target=follower.run, args=(poll,), kwargs={"stop": stop}, daemon=True)
    runner.start()
    mint = token.functions.mint(owner, 1).build_transaction({"from": owner, "gas": 100_000})
    latencies = []
    try:
        while (tip := store.tip()) is None or tip.number < node.w3.eth.block_number:  # caught up first
            time.sleep(0.01)
        for _ in range(samples):
            time.sleep(random.uniform(0, 1.0))  # a random phase of the 1 s poll cycle
            before = store.count_events()
            node.rpc.call("eth_sendTransaction", {k: (hex(v) if isinstance(v, int) else v) for k, v in mint.items()})
            mined = time.perf_counter()
            while store.count_events() == before:
                if time.perf_counter() - mined > 5 * max(poll, 1.0):
                    raise RuntimeError("the event was not stored in time")
                time.sleep(0.002)
            latencies.append(time.perf_counter() - mined)
    finally:
        stop.set()
        runner.join(timeout=10)
        if subscription is not None:
            subscription.close()
        store.close()
    return latencies


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    project = Project.discover()
    build(project)
    artifacts = ArtifactStore(project.out_dir)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Anvil(AnvilConfig(), project) as node:
        for label, poll, ws in (("poll every 1 s", 1.0, False), ("poll every 60 s + --ws-url", 60.0, True)):
            found = sorted(measure(node, artifacts, Path(tmp), poll=poll, ws=ws, samples=samples))
            median, p90 = statistics.median(found), found[int(0.9 * (len(found) - 1))]
            rows.append(f"| {label} | {samples} | {median * 1000:.0f} | {p90 * 1000:.0f} | {found[-1] * 1000:.0f} |")
            print(f"{label}: median {median * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, max {found[-1] * 1000:.0f} ms")
    body = "\n".join(
        [
            "Block mined (the send returned on an automining Anvil) to event stored, in this process.",
            "",
            "| setting | samples | median ms | p90 ms | max ms |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )
    write_section("watch-heads", "Watcher: head latency with the WebSocket doorbell", COMMAND, body)


if __name__ == "__main__":
    main()
