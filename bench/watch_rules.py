"""What the alert rules cost (issue 18): a backfill of 200,000 events with the project's settlekit.toml rules on and
off, and a wave of 100,000 Liquidated events in 100 blocks.

1. backfill: Anvil holding 200,000 events from contracts/mocks/EventSpammer.vy (100 per block over 2,000 blocks,
   rotating Transfer, Liquidated and AnswerUpdated: 66,667 Liquidated, so the `liquidation imbalance` window of 50
   blocks holds ~1,667 of them); a fresh SQLite store each run; the follower's steps to the head with no rules, with
   the rules of settlekit.toml, and with those rules and alert_on_backfill (history evaluated for incidents too).
   The three settings run interleaved, several rounds, so the machine's load falls on all of them alike. Reports
   the wall time per run and the time spent inside the rule engine (timed around RuleEngine.after_step).
2. wave: 100,000 Liquidated events in 100 blocks (1,000 per block) through the rule engine alone, with the project's
   window (50 blocks) and a threshold the wave crosses: the engine as it is, and the engine before issue 18 (which
   re-added its whole window for every event) on the first 10,000 events, since all of them would take hours.

Run: .venv/bin/python bench/watch_rules.py [backfill|wave ...]   (no argument: both)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tomllib
from collections import deque
from pathlib import Path
from typing import Any

from settlekit.build import ArtifactStore, build
from settlekit.chain import Anvil, AnvilConfig, RpcClient
from settlekit.project import Project
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import Follower, FollowerConfig
from settlekit.watch.incidents import IncidentLog
from settlekit.watch.rules import Rule, RuleEngine
from settlekit.watch.store import EventRow, Store

from report import ROOT, write_section
from watch_perf import FINALITY_BLOCKS, deploy_spammer, python_speed, spam

EVENTS = 200_000
PER_BLOCK = 100
ROUNDS = 4
WAVE_EVENTS, WAVE_BLOCKS, OLD_WAVE_EVENTS = 100_000, 100, 10_000


def project_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = tomllib.loads((ROOT / "settlekit.toml").read_text())["watch"]["rules"]
    return rules


def fill(node: Anvil, address: str) -> float:
    started = time.perf_counter()
    sender = node.w3.eth.accounts[0]
    for _ in range(EVENTS // PER_BLOCK):
        spam(node.rpc, sender, address, PER_BLOCK)
    node.mine(FINALITY_BLOCKS)
    return time.perf_counter() - started


def run(url: str, address: str, artifacts: ArtifactStore, rules: list[dict[str, Any]], alert: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        store = Store(f"sqlite:///{Path(scratch) / 'watch.db'}")
        decoder = EventDecoder({"spammer": (address, "EventSpammer")}, artifacts)
        follower = Follower(RpcClient(url), store, decoder, FollowerConfig(alert_on_backfill=alert), rules=rules)
        inner = follower.rules.after_step
        spent = [0.0]

        def timed(*args: Any) -> Any:
            began = time.perf_counter()
            try:
                return inner(*args)
            finally:
                spent[0] += time.perf_counter() - began

        follower.rules.after_step = timed  # type: ignore[method-assign]
        follower.check_chain()
        head = int(follower.rpc.call("eth_blockNumber"), 16)
        started, events = time.perf_counter(), 0
        while True:
            events += follower.step().ingested_events
            tip = store.tip()
            if tip is not None and tip.number >= head:
                break
        seconds = time.perf_counter() - started
        store.close()
    return {"events": events, "seconds": seconds, "rules": spent[0]}


def backfill(project: Project, artifacts: ArtifactStore) -> str:
    settings = (("rules off", [], False), ("settlekit.toml rules", project_rules(), False))
    settings += (("rules + alert_on_backfill", project_rules(), True),)
    runs: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in settings}
    speeds = [python_speed()]
    with Anvil(AnvilConfig(), project) as node:
        address = deploy_spammer(node, artifacts)
        generated = fill(node, address)
        for _ in range(ROUNDS):
            for label, rules, alert in settings:
                runs[label].append(run(node.url, address, artifacts, rules, alert))
        speeds.append(python_speed())
    base = statistics.median(r["seconds"] for r in runs["rules off"])
    rows = [
        "| setting | wall per run (s) | median | vs rules off | inside the rule engine (median) |",
        "|---|---|---|---|---|",
    ]
    for label, results in runs.items():
        wall = statistics.median(r["seconds"] for r in results)
        inside = statistics.median(r["rules"] for r in results)
        each = ", ".join(f"{r['seconds']:.2f}" for r in results)
        rows.append(
            f"| {label} | {each} | {wall:.2f} s | "
            f"{(wall / base - 1) * 100:+.1f}% | {inside * 1000:.0f} ms ({inside / wall * 100:.1f}% of the run) |"
        )
    share = max(statistics.median(r["rules"] / r["seconds"] for r in runs[label]) for label, _, _ in settings[1:])
    return (
        f"{EVENTS:,} events ({PER_BLOCK} per block over {EVENTS // PER_BLOCK:,} blocks, a third of them Liquidated; "
        f"generating them took {generated:.0f} s), backfilled from Anvil into a fresh SQLite store, {ROUNDS} rounds "
        "with the settings interleaved (rules off, on, on with alert_on_backfill) so the load of this shared machine "
        "falls on each alike. Inside the rule engine is the time spent in `RuleEngine.after_step`, measured in the "
        "run itself: it does not depend on the noise between runs the way the wall-time difference does.\n\n"
        + "\n".join(rows)
        + f"\n\nResult: the rules take **{share * 100:.1f}%** of a backfill's time at most (target <= 5%). "
        + "Machine load: "
        + " / ".join(speeds)
        + " (before / after the runs; ~9 µs on a quiet core).\n"
    )


def old_window_sum(events: list[EventRow], rule: Rule) -> float:
    """The window_sum of the engine before issue 18: append, expire, then re-add the whole window for each event."""
    window: deque[tuple[int, int]] = deque()
    started = time.perf_counter()
    for event in events:
        window.append((event.block_number, int(event.args[rule.argument or ""])))
        while window and window[0][0] <= event.block_number - rule.window_blocks:
            window.popleft()
        total = sum(amount for _, amount in window)
        if total > rule.threshold:
            pass  # the old engine wrote an incident here, per event
    return time.perf_counter() - started


def wave(_project: Project, _artifacts: ArtifactStore) -> str:
    raw = next(r for r in project_rules() if r["kind"] == "window_sum")
    rule = Rule.parse(raw)
    per_block = WAVE_EVENTS // WAVE_BLOCKS
    amount = 2 * rule.threshold // (rule.window_blocks * per_block) + 1  # crosses the threshold at half a window
    events = [
        EventRow(
            f"0x{1 + i // per_block:064x}",
            i % per_block,
            1 + i // per_block,
            "0x" + "0" * 64,
            "0x" + "ab" * 20,
            "engine",
            "Liquidated",
            {raw["field"]: amount},
            "seen",
        )
        for i in range(WAVE_EVENTS)
    ]
    speed = python_speed()
    with tempfile.TemporaryDirectory() as scratch:
        log = IncidentLog(Store(f"sqlite:///{Path(scratch) / 'w.db'}"))
        engine = RuleEngine([Rule.parse(r) for r in project_rules()], log)
        times = []
        for first in range(0, WAVE_EVENTS, 20_000):  # in steps of 20,000 events, as a backfill step delivers them
            began = time.perf_counter()
            engine.observe(events[first : first + 20_000])
            times.append(time.perf_counter() - began)
        incidents = log.list()
    new = sum(times)
    old = old_window_sum(events[:OLD_WAVE_EVENTS], rule)
    return (
        f"{WAVE_EVENTS:,} `Liquidated` events in {WAVE_BLOCKS} blocks ({per_block:,} per block, {amount:,} each, so "
        f"the {rule.window_blocks}-block window crosses its threshold of {rule.threshold:,}) through the rule engine "
        "with all of settlekit.toml's rules, in steps of 20,000 events.\n\n"
        "| engine | events | time | per event |\n|---|---|---|---|\n"
        f"| incremental (now) | {WAVE_EVENTS:,} | {new * 1000:.0f} ms | {new / WAVE_EVENTS * 1e6:.2f} µs |\n"
        f"| before issue 18, window_sum alone, incident writes left out | {OLD_WAVE_EVENTS:,} | {old * 1000:.0f} ms | "
        f"{old / OLD_WAVE_EVENTS * 1e6:.1f} µs (grows with the window: ~{WAVE_EVENTS * 25_000:.1e} additions for the "
        "whole wave) |\n\n"
        f"Incidents: {len(incidents)} (`{incidents[0].rule}`, raised once per step: count {incidents[0].count}, "
        f"{incidents[0].details.get('events', 1):,} events fired it in the last step). {speed}\n"
    )


SECTIONS = {
    "backfill": ("watch-rules-backfill", "Watcher: alert rules during a backfill (on and off)", backfill),
    "wave": ("watch-rules-wave", "Watcher: alert rules on a liquidation wave", wave),
}


def main(argv: list[str] | None = None) -> None:
    names = argv or list(SECTIONS)
    project = Project.discover(ROOT)
    build(project)
    artifacts = ArtifactStore(project.out_dir)
    for name in names:
        section, title, measure = SECTIONS[name]
        body = measure(project, artifacts)
        write_section(section, title, f".venv/bin/python bench/watch_rules.py {name}", body)
        print(body)


if __name__ == "__main__":
    main(sys.argv[1:])
