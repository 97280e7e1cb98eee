"""The incremental rule engine against a brute-force reference: random event streams with reorgs, finality and a
history boundary; plus the follower-facing behaviour (history, the live-head lag rule, restart, waves)."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from settlekit.watch.follower import StepReport
from settlekit.watch.incidents import Incident, IncidentLog
from settlekit.watch.rules import PAYOUT_EVENTS, Rule, RuleEngine
from settlekit.watch.store import BlockRow, EventRow, Store

ADDRESSES = ("0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000b2")
NAMES = ("Liquidated", "Claimed", "Reclaimed", "DustSwept", "DeficitRecorded", "Transfer")
RULES = [
    Rule("deficit", "event", "critical", event="DeficitRecorded"),
    Rule("big deficit", "event", "warning", event="DeficitRecorded", where={"kind": 1}),
    Rule("wave", "window_sum", "warning", event="Liquidated", argument="debt_repaid", window_blocks=5, threshold=60),
    Rule("every liquidation", "window_sum", "info", event="Liquidated", argument="debt_repaid", window_blocks=3),
    Rule(
        "kind 1 wave",
        "window_sum",
        "info",
        event="Liquidated",
        argument="debt_repaid",
        window_blocks=2,
        threshold=10,
        where={"kind": 1},
    ),
    Rule("dust", "dust", "critical"),
]


Strategy = Callable[[random.Random], Any]


class st:  # lower case: reads like the strategies it stands for
    """Seeded random draws: each stream is reproducible from its seed (the test id names it)."""

    @staticmethod
    def sampled_from(options: Sequence[Any]) -> Strategy:
        return lambda rng: rng.choice(options)

    @staticmethod
    def integers(low: int, high: int) -> Strategy:
        return lambda rng: rng.randint(low, high)

    @staticmethod
    def booleans() -> Strategy:
        return lambda rng: rng.random() < 0.5


class Recorder:
    """Records what the engine raises (the incident log's own behaviour is tested in test_watch_follower.py)."""

    def __init__(self) -> None:
        self.raised: list[tuple[str, str, str, dict[str, Any]]] = []

    def raise_(self, rule: str, key: str, severity: str, summary: str, details: dict[str, Any]) -> Incident:
        self.raised.append((rule, key, summary, details))
        return Incident(len(self.raised), rule, key, severity, "opened", 0, 0, 1, summary, details, True)


class Reference:
    """The rules by brute force: every evaluation recomputed from the list of surviving events."""

    def __init__(self, history_until: int, alert_on_backfill: bool) -> None:
        self.seen: list[EventRow] = []
        self.history_until = -1 if alert_on_backfill else history_until
        self.mark_history = history_until

    def observe(self, events: list[EventRow]) -> list[tuple[str, str, str, dict[str, Any]]]:
        firings: dict[str, list[Any]] = {}
        for event in events:
            self.seen.append(event)
            for rule in RULES:
                value = self._value(rule, event)
                if value is None or event.block_number <= self.history_until:
                    continue
                key = f"{rule.name}:{event.address}"
                count = firings[key][3] + 1 if key in firings else 1
                firings[key] = [rule, event, value, count]
        out = []
        for key, (rule, event, value, count) in firings.items():
            b = event.block_number
            if rule.kind == "event":
                summary = f"{event.event} on {event.contract} in block {b}"
                details = {"event": event.event, "contract": event.contract, "block": b, "args": event.args}
            elif rule.kind == "window_sum":
                summary = (
                    f"{rule.argument} of {rule.event} over {rule.window_blocks} blocks: {value} > {rule.threshold}"
                )
                details = {"total": value, "threshold": rule.threshold, "to_block": b}
            else:
                summary = f"series {event.address} swept {value[0]} wei of dust after {value[1]} payouts"
                details = {"dust": value[0], "payouts": value[1], "block": b}
            if count > 1:
                details["events"] = count
            if b <= self.mark_history:
                details["history"] = True
            out.append((rule.name, key, summary, details))
        return out

    def _value(self, rule: Rule, event: EventRow) -> Any:
        if rule.kind in ("event", "window_sum") and not rule.matches(event):
            return None
        if rule.kind == "event":
            return 0
        same = [e for e in self.seen if e.address == event.address]
        if rule.kind == "window_sum":
            low = event.block_number - rule.window_blocks
            total = sum(e.args["debt_repaid"] for e in same if rule.matches(e) and e.block_number > low)
            return total if total > rule.threshold else None
        if event.event != "DustSwept":
            return None
        payouts = sum(1 for e in same if e.event in PAYOUT_EVENTS)
        amount = event.args["amount"]
        return (amount, payouts) if amount >= max(payouts, 1) and not event.args["after_deadline"] else None

    def retract(self, ancestor: int) -> None:
        self.seen = [e for e in self.seen if e.block_number <= ancestor]


def _event(draw: Any, block: int, index: int) -> EventRow:
    name = draw(st.sampled_from(NAMES))
    args: dict[str, Any] = {"kind": draw(st.integers(0, 1))}
    if name == "Liquidated":
        args["debt_repaid"] = draw(st.integers(0, 40))
    if name == "DustSwept":
        args.update(amount=draw(st.integers(0, 4)), after_deadline=draw(st.booleans()))
    return EventRow(
        f"0x{block:064x}", index, block, "0x" + "0" * 64, draw(st.sampled_from(ADDRESSES)), "c", name, args, "seen"
    )


@pytest.mark.parametrize("seed", range(300))
def test_the_engine_equals_a_brute_force_reference_on_random_streams_with_reorgs(seed: int) -> None:
    rng = random.Random(seed)

    def draw(strategy: Strategy) -> Any:
        return strategy(rng)

    history_until, alert = draw(st.integers(-1, 12)), draw(st.booleans())
    recorder = Recorder()
    engine = RuleEngine(RULES, recorder, alert_on_backfill=alert)  # type: ignore[arg-type]
    engine.history_until = history_until
    reference = Reference(history_until, alert)
    last, finalized, index = 0, -1, 0
    for _ in range(draw(st.integers(1, 25))):
        op = draw(st.sampled_from(("events", "events", "events", "reorg", "finalize", "step with reorg")))
        if op in ("events", "step with reorg"):
            batch: list[EventRow] = []
            block = last + draw(st.integers(1, 3))
            for _ in range(draw(st.integers(1, 8))):
                block += draw(st.integers(0, 2))
                index += 1
                batch.append(_event(draw, block, index))
            if op == "events":
                recorder.raised.clear()
                engine.observe(batch)
                assert recorder.raised == reference.observe(batch)
                last = block
                continue
            # One follower step: these events, then a reorg to `ancestor` (taking back some of them and older
            # ones), then the new branch's events.
            ancestor = draw(st.integers(max(finalized, 0), max(finalized, block)))
            branch_start = ancestor + 1
            branch = [_event(draw, branch_start + i, 10_000 + index + i) for i in range(draw(st.integers(0, 4)))]
            index += 10
            report = StepReport(head=10**9, events=batch + branch, retractions=[(len(batch), ancestor)])
            report.backfilled_to = 0  # not at the live head: no lag rule
            recorder.raised.clear()
            engine.after_step(report, None, None)
            expected = reference.observe([e for e in batch if e.block_number <= ancestor])
            reference.retract(ancestor)
            expected += reference.observe(branch)
            assert recorder.raised == expected
            last = branch[-1].block_number if branch else ancestor
        elif op == "reorg":
            ancestor = draw(st.integers(max(finalized, 0), max(finalized, last)))
            engine.retract(ancestor)
            reference.retract(ancestor)
            last = min(last, ancestor)
        else:
            finalized = max(finalized, draw(st.integers(0, last + 3)))
            engine.finalize(finalized)
            # Bounded memory: nothing that can never come back is kept.
            for (name, _), window in engine._windows.items():
                width = engine._widths[name]
                assert all(bucket[0] > finalized - width for bucket in window.gone)
            assert all(block > finalized for block, _ in engine._recent_payouts)


def _row(name: str, block: int, address: str = ADDRESSES[0], index: int = 0, **args: Any) -> EventRow:
    return EventRow(f"0x{block:064x}", index, block, "0x" + "1" * 64, address, "engine", name, args, "finalized")


def test_history_fires_nothing_unless_asked_and_is_marked_when_it_does(tmp_path: Path) -> None:
    for alert in (False, True):
        log = IncidentLog(Store.sqlite(str(tmp_path / f"h{alert}.db")))
        engine = RuleEngine([RULES[0]], log, alert_on_backfill=alert)
        engine.start(log.store, lambda: 100)  # a fresh store: history is everything up to the head at start
        assert engine.history_until == 100
        fired = engine.observe([_row("DeficitRecorded", 40, amount=5), _row("DeficitRecorded", 99, amount=6)])
        if alert:
            assert [(i.rule, i.details["history"], i.details["events"]) for i in fired] == [("deficit", True, 2)]
        else:
            assert fired == []
            assert engine.suppressed == {"deficit": 2}
        live = engine.observe([_row("DeficitRecorded", 101, amount=7)])
        assert [i.details.get("history") for i in live] == [None]


def test_a_restart_rebuilds_windows_and_payouts_from_the_store(tmp_path: Path) -> None:
    store = Store.sqlite(str(tmp_path / "r.db"))
    rows = [_row("Liquidated", 8 + i, index=i, debt_repaid=20) for i in range(3)]  # blocks 8, 9, 10
    rows += [_row("Claimed", 10, ADDRESSES[1], index=9), _row("Reclaimed", 10, ADDRESSES[1], index=10)]
    store.ingest([BlockRow(10, f"0x{10:064x}", "0x" + "0" * 64, 0, True)], rows)
    store.set_meta("finalized_number", "9")
    log = IncidentLog(store)
    engine = RuleEngine([RULES[2], RULES[5]], log)
    engine.start(store, lambda: 10**6)  # not asked: the store has a checkpoint
    assert engine.history_until == 10
    [wave] = engine.observe([_row("Liquidated", 11, index=0, debt_repaid=1)])
    assert wave.details == {"total": 61, "threshold": 60, "to_block": 11}  # blocks 7..11 of the stored ones
    assert engine.observe([_row("DustSwept", 11, ADDRESSES[1], index=1, amount=1, after_deadline=False)]) == []
    engine.retract(9)  # block 10's Claimed and Reclaimed are above finality: taken back exactly
    [dust] = engine.observe([_row("DustSwept", 11, ADDRESSES[1], index=2, amount=1, after_deadline=False)])
    assert dust.details == {"dust": 1, "payouts": 0, "block": 11}


def test_the_lag_rule_runs_only_at_the_live_head(tmp_path: Path) -> None:
    log = IncidentLog(Store.sqlite(str(tmp_path / "l.db")))
    engine = RuleEngine([Rule("lag", "lag", "warning", max_seconds=30)], log)
    old = int(time.time()) - 3_600
    tip = BlockRow(50, "0x" + "5" * 64, "0x" + "4" * 64, old, True)
    backfill = StepReport(head=50, backfilled_to=50)
    assert engine.after_step(backfill, tip, 10) == []  # backfilling history: old by nature
    assert engine.after_step(StepReport(head=80), tip, 10) == []  # catching up, behind the head
    [lag] = engine.after_step(StepReport(head=50), tip, 10)  # following the live head
    assert lag.rule == "lag"
    assert lag.details["lag_seconds"] >= 3_600


def test_a_wave_is_one_incident_write_per_step(tmp_path: Path) -> None:
    log = IncidentLog(Store.sqlite(str(tmp_path / "w.db")))
    engine = RuleEngine([RULES[2]], log)
    wave = [_row("Liquidated", 1 + i // 1_000, index=i % 1_000, debt_repaid=1) for i in range(20_000)]
    started = time.perf_counter()
    [incident] = engine.observe(wave)
    assert time.perf_counter() - started < 2.0  # the old engine re-added its window per event: ~10^8 additions here
    assert incident.details["total"] == 5_000  # the last 5 blocks of 1,000 events
    assert incident.details["events"] == 20_000 - 60
    assert [i.count for i in log.list()] == [1]
    assert Counter(len(w.live) for w in engine._windows.values()) == Counter({5: 1})
