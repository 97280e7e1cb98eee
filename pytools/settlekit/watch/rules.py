"""Alert rules over the events the follower ingests, configured in the ``[watch]`` table of settlekit.toml::

    [[watch.rules]]
    name = "deficit"                 # any DeficitRecorded event opens a critical incident
    kind = "event"
    event = "DeficitRecorded"
    severity = "critical"

    [[watch.rules]]
    name = "liquidation imbalance"   # liquidated debt over a window of blocks above a threshold
    kind = "window_sum"
    event = "Liquidated"
    field = "debt_repaid"
    window_blocks = 50
    threshold = 1000000000
    severity = "warning"

    [[watch.rules]]
    name = "settlement dust"         # a sweep whose dust is not below the number of payouts of its series
    kind = "dust"
    severity = "critical"

    [[watch.rules]]
    name = "node lag"                # the head's timestamp older than max_seconds
    kind = "lag"
    max_seconds = 60
    severity = "warning"

Reorgs, reorgs past finality, chain mismatches and node outages are built into the follower.

Cost: every rule kind is O(1) amortised per event. Events are dispatched by name (a dict lookup, not a test of
every rule); a ``window_sum`` keeps a running total per (rule, emitting contract) over per-block buckets, which
leave the window by block number as new events arrive; ``dust`` keeps a running count of payouts per series.

Reorgs: :meth:`RuleEngine.retract` takes back every event above a common ancestor exactly (a retracted event
leaves every window and count as if it had never been seen); buckets that left a window are kept until the
follower's finalized block makes them unreachable (a reorg never goes below it: that stops the follower).

History is not news: events at or below the history boundary (the store's checkpoint at start, or for a fresh store
the node's head at start) update the windows and counts but fire nothing, unless ``alert_on_backfill``. The ``lag``
rule compares the head's timestamp with wall time only on a step that ends at the node's head (never while
backfilling or catching up, when the newest stored block is old by nature).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from settlekit.exceptions import SettlekitError
from settlekit.watch import schema
from settlekit.watch.incidents import SEVERITIES, Incident, IncidentLog
from settlekit.watch.store import BlockRow, EventRow, Store

if TYPE_CHECKING:
    from settlekit.watch.follower import StepReport

KINDS = ("event", "window_sum", "dust", "lag")
PAYOUT_EVENTS = ("Claimed", "Reclaimed")
DUST_EVENT = "DustSwept"


class RuleError(SettlekitError):
    """A rule in the configuration is malformed."""


def reorg_depths(watch_table: dict[str, Any]) -> tuple[int, int]:
    """The ``[watch.reorg]`` table: ``warning_depth`` (default 1) and ``critical_depth`` (default 8), the reorg
    depths from which a reorg opens a warning and a critical incident. Every reorg is recorded either way."""
    raw = watch_table.get("reorg", {})
    if not isinstance(raw, dict):
        raise RuleError("[watch.reorg] must be a table", hint="write warning_depth and critical_depth under it")
    unknown = sorted(set(raw) - {"warning_depth", "critical_depth"})
    if unknown:
        raise RuleError(f"[watch.reorg] has unknown keys {unknown}", hint="use warning_depth and critical_depth")
    warning, critical = raw.get("warning_depth", 1), raw.get("critical_depth", 8)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (warning, critical)) or not (
        1 <= warning <= critical
    ):
        raise RuleError(
            f"[watch.reorg] warning_depth {warning!r}, critical_depth {critical!r}: need whole numbers with "
            "1 <= warning_depth <= critical_depth",
            hint="for example warning_depth = 1, critical_depth = 8",
        )
    return warning, critical


@dataclass
class Rule:
    name: str
    kind: str
    severity: str
    event: str | None = None
    argument: str | None = None  # the event argument a window_sum adds up (TOML key: field)
    window_blocks: int = 0
    threshold: int = 0
    max_seconds: int = 0
    where: dict[str, Any] = field(default_factory=dict)  # event arguments that must equal these values

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Rule:
        name = str(raw.get("name", ""))
        kind, severity = str(raw.get("kind", "")), str(raw.get("severity", "warning"))
        if not name or kind not in KINDS or severity not in SEVERITIES:
            raise RuleError(
                f"rule {raw!r}: needs a name, a kind in {KINDS} and a severity in {SEVERITIES}",
                hint="see the [watch] section of docs/watch.md",
            )
        rule = cls(
            name,
            kind,
            severity,
            raw.get("event"),
            raw.get("field"),
            int(raw.get("window_blocks", 0)),
            int(raw.get("threshold", 0)),
            int(raw.get("max_seconds", 0)),
            dict(raw.get("where", {})),
        )
        if kind in ("event", "window_sum") and not rule.event:
            raise RuleError(f"rule {name!r} ({kind}) needs an event", hint='add event = "EventName"')
        if kind == "window_sum" and (not rule.argument or rule.window_blocks <= 0):
            raise RuleError(f"rule {name!r} needs field and window_blocks > 0", hint="see docs/watch.md")
        if kind == "lag" and rule.max_seconds <= 0:
            raise RuleError(f"rule {name!r} needs max_seconds > 0", hint="add max_seconds = 60")
        return rule

    def matches(self, event: EventRow) -> bool:
        # integers are decoded as decimal strings, and a TOML `where` may write a number: compare integers as text
        def same(value: Any, wanted: Any) -> bool:
            if any(isinstance(x, int) and not isinstance(x, bool) for x in (value, wanted)):
                return str(value) == str(wanted)
            return bool(value == wanted)

        return event.event == self.event and all(same(event.args.get(k), v) for k, v in self.where.items())


class _Window:
    """The running total of one ``window_sum`` rule for one emitting contract.

    ``live`` holds per-block buckets ``[block, amount]`` inside the window, oldest first, and ``total`` their sum;
    ``gone`` holds the buckets that left it, newest last, until the finalized block makes them unreachable: a reorg
    moves the window back, and the buckets it uncovers come back from there. Each bucket moves between the two at most
    once per window movement, so an event costs O(1) amortised."""

    __slots__ = ("gone", "live", "total")

    def __init__(self) -> None:
        self.live: deque[list[int]] = deque()
        self.gone: deque[list[int]] = deque()
        self.total = 0

    def add(self, block: int, amount: int, width: int) -> int:
        """Add an event of ``block`` and return the total over the window (block - width, block]."""
        low = block - width
        live, gone = self.live, self.gone
        while gone and gone[-1][0] > low:  # only after a reorg moved the window back
            bucket = gone.pop()
            live.appendleft(bucket)
            self.total += bucket[1]
        while live and live[0][0] <= low:
            bucket = live.popleft()
            gone.append(bucket)
            self.total -= bucket[1]
        if live and live[-1][0] == block:
            live[-1][1] += amount
        else:
            live.append([block, amount])
        self.total += amount
        return self.total

    def retract(self, ancestor: int) -> None:
        """Take back every bucket above ``ancestor`` (the events of orphaned blocks)."""
        live, gone = self.live, self.gone
        while live and live[-1][0] > ancestor:
            self.total -= live.pop()[1]
        while gone and gone[-1][0] > ancestor:
            gone.pop()

    def forget(self, at_or_below: int) -> None:
        """Drop the buckets that left the window and can never come back (at or below ``at_or_below``)."""
        gone = self.gone
        while gone and gone[0][0] <= at_or_below:
            gone.popleft()


# The payouts of a series, counted for the dust rule (an internal rule dispatched like the others).
_PAYOUT = Rule("payouts", "payout", "info")


@dataclass
class _Firing:
    """A rule that fired on an event during one evaluation: the last event, its value, and how many events fired."""

    rule: Rule
    event: EventRow
    value: int  # the window's total, the dust swept
    payouts: int  # the series' payouts (dust)
    count: int = 1


class RuleEngine:
    """Evaluates rules on the events the follower ingests (:meth:`after_step`) and opens incidents through the
    incident log. Within one evaluation a condition (rule and contract) is raised once, with the last event that
    fired it and, when more than one did, their number (``details["events"]``): a liquidation wave costs one incident
    write per step, not one per event."""

    def __init__(self, rules: Sequence[Rule], incidents: IncidentLog, *, alert_on_backfill: bool = False) -> None:
        self.rules = list(rules)
        self.incidents = incidents
        self.alert_on_backfill = alert_on_backfill
        self.history_until = -1  # events at or below this block are history: they fire nothing (see start)
        self.started = False
        self.suppressed: dict[str, int] = {}  # events of history that met a rule, by rule (not alerted)
        self._by_event: dict[str, list[Rule]] = {}
        for rule in self.rules:
            if rule.kind in ("event", "window_sum"):
                self._by_event.setdefault(str(rule.event), []).append(rule)
            elif rule.kind == "dust":
                self._by_event.setdefault(DUST_EVENT, []).append(rule)
        self._counts_payouts = any(rule.kind == "dust" for rule in self.rules)
        if self._counts_payouts:
            for name in PAYOUT_EVENTS:
                self._by_event.setdefault(name, []).insert(0, _PAYOUT)
        self._lag = [rule for rule in self.rules if rule.kind == "lag"]
        self._widths = {rule.name: rule.window_blocks for rule in self.rules if rule.kind == "window_sum"}
        self._windows: dict[tuple[str, str], _Window] = {}
        self._payouts: dict[str, int] = {}  # series address -> payouts seen
        self._recent_payouts: deque[tuple[int, str]] = deque()  # payouts above the finalized block, newest last

    @classmethod
    def from_config(
        cls, config: dict[str, Any], incidents: IncidentLog, *, alert_on_backfill: bool = False
    ) -> RuleEngine:
        return cls([Rule.parse(raw) for raw in config.get("rules", [])], incidents, alert_on_backfill=alert_on_backfill)

    # --- the follower's hooks ----------------------------------------------------------------------------------

    def start(self, store: Store, head: Callable[[], int]) -> None:
        """Set the history boundary, once (the follower calls this when it checks the chain at start).

        A store that already holds blocks: its checkpoint (what a watcher already evaluated; blocks after it appeared
        while no watcher ran, nobody was alerted for them, so they are news), and the windows and payout counts are
        rebuilt from its canonical events. A fresh store: the node's head now (``head()``)."""
        if self.started:
            return
        tip = store.tip()
        if tip is None:
            self.history_until = head() if self.rules else -1
        else:
            self.history_until = tip.number
            if self._by_event:
                self._rebuild(store, tip)
        self.started = True

    def after_step(self, report: StepReport, tip: BlockRow | None, finalized: int | None) -> list[Incident]:
        """Evaluate one follower step: its events in order, its reorgs' retractions where they happened, the lag
        rule if the step ended at the node's head, then forget what the finalized block makes final.

        An event ingested earlier in the same step from a block the step's reorg then orphaned is never seen."""
        raised: list[Incident] = []
        events = report.events
        position = 0
        floors = [ancestor for _, ancestor in report.retractions]
        for index in range(len(floors) - 2, -1, -1):
            floors[index] = min(floors[index], floors[index + 1])
        for (index, ancestor), floor in zip(report.retractions, floors, strict=True):
            raised += self._evaluate([event for event in events[position:index] if event.block_number <= floor])
            self.retract(ancestor)
            position = index
        raised += self._evaluate(events[position:] if position else events)
        live = tip is not None and tip.number >= report.head and report.backfilled_to is None
        if live and tip is not None:
            raised += self._check_lag(tip.timestamp)
        if finalized is not None and finalized >= 0:
            self.finalize(finalized)
        return raised

    def observe(self, events: Iterable[EventRow], head_timestamp: int | None = None) -> list[Incident]:
        """Evaluate ``events`` (in block order) and, given the head's timestamp, the lag rule."""
        raised = self._evaluate(events)
        if head_timestamp is not None:
            raised += self._check_lag(head_timestamp)
        return raised

    def retract(self, ancestor: int) -> None:
        """Take back every event above block ``ancestor`` seen so far: each window and count is left exactly as if
        they had never been seen. O(events taken back), plus O(1) per (window rule, contract)."""
        for window in self._windows.values():
            window.retract(ancestor)
        recent, payouts = self._recent_payouts, self._payouts
        while recent and recent[-1][0] > ancestor:
            _, address = recent.pop()
            payouts[address] -= 1

    def finalize(self, finalized: int) -> None:
        """Forget what no reorg can take back any more (the follower stops on a reorg below its finalized block)."""
        for (name, _), window in self._windows.items():
            window.forget(finalized - self._widths[name])
        recent = self._recent_payouts
        while recent and recent[0][0] <= finalized:
            recent.popleft()

    # --- evaluation --------------------------------------------------------------------------------------------

    def _evaluate(self, events: Iterable[EventRow], *, fire: bool = True) -> list[Incident]:
        by_event, windows = self._by_event, self._windows
        news_after = -1 if self.alert_on_backfill or not fire else self.history_until
        firings: dict[str, _Firing] = {}
        for event in events:
            rules = by_event.get(event.event)
            if rules is None:
                continue
            block = event.block_number
            for rule in rules:
                kind = rule.kind
                if kind == "window_sum":
                    if rule.where and not rule.matches(event):
                        continue
                    window = windows.get((rule.name, event.address))
                    if window is None:
                        window = windows[(rule.name, event.address)] = _Window()
                    amount = int(event.args.get(rule.argument or "", 0))
                    value = window.add(block, amount, rule.window_blocks)
                    if value <= rule.threshold:
                        continue
                    payouts = 0
                elif kind == "payout":
                    self._payouts[event.address] = self._payouts.get(event.address, 0) + 1
                    self._recent_payouts.append((block, event.address))
                    continue
                elif kind == "event":
                    if rule.where and not rule.matches(event):
                        continue
                    value = payouts = 0
                else:  # dust, on DustSwept
                    value = int(event.args.get("amount", 0))
                    if value < max(self._payouts.get(event.address, 0), 1) or event.args.get("after_deadline", False):
                        continue
                    payouts = self._payouts.get(event.address, 0)
                if not fire:
                    continue
                if block <= news_after:
                    self.suppressed[rule.name] = self.suppressed.get(rule.name, 0) + 1
                    continue
                key = f"{rule.name}:{event.address}"
                firing = firings.get(key)
                if firing is None:
                    firings[key] = _Firing(rule, event, value, payouts)
                else:
                    firing.event, firing.value, firing.payouts = event, value, payouts
                    firing.count += 1
        return [self._raise(key, firing) for key, firing in firings.items()]

    def _raise(self, key: str, firing: _Firing) -> Incident:
        rule, event, value = firing.rule, firing.event, firing.value
        block = event.block_number
        details: dict[str, Any]
        if rule.kind == "event":
            summary = f"{event.event} on {event.contract} in block {block}"
            details = {"event": event.event, "contract": event.contract, "block": block, "args": event.args}
        elif rule.kind == "window_sum":
            summary = f"{rule.argument} of {rule.event} over {rule.window_blocks} blocks: {value} > {rule.threshold}"
            details = {"total": value, "threshold": rule.threshold, "to_block": block}
        else:
            payouts = firing.payouts
            summary = f"series {event.address} swept {value} wei of dust after {payouts} payouts"
            details = {"dust": value, "payouts": payouts, "block": block}
        if firing.count > 1:
            details["events"] = firing.count
        if block <= self.history_until:
            details["history"] = True  # raised only with alert_on_backfill
        return self.incidents.raise_(rule.name, key, rule.severity, summary, details)

    def _check_lag(self, head_timestamp: int) -> list[Incident]:
        raised = []
        for rule in self._lag:
            lag = int(time.time()) - head_timestamp
            if lag > rule.max_seconds:
                raised.append(
                    self.incidents.raise_(
                        rule.name,
                        f"{rule.name}",
                        rule.severity,
                        f"head is {lag}s old (limit {rule.max_seconds}s)",
                        {"lag_seconds": lag},
                    )
                )
        return raised

    # --- restart -----------------------------------------------------------------------------------------------

    def _rebuild(self, store: Store, tip: BlockRow) -> None:
        """The windows and payout counts of a store's canonical events, as if the engine had watched them: payouts at
        or below the finalized block are counted in the database; window events and payouts that a reorg could still
        take back are replayed, firing nothing."""
        known = store.get_meta("finalized_number")
        finalized = min(int(known), tip.number) if known is not None else tip.number
        replay: list[EventRow] = []
        for rule in self.rules:
            if rule.kind == "window_sum":
                start = max(0, finalized - rule.window_blocks + 1)
                replay += store.events(event_name=rule.event, from_block=start)
        if self._counts_payouts:
            table = schema.events
            query = (
                select(table.c.address, func.count())
                .where(
                    table.c.event.in_(PAYOUT_EVENTS),
                    table.c.status != "retracted",
                    table.c.block_number <= finalized,
                )
                .group_by(table.c.address)
            )
            with store.engine.begin() as connection:
                self._payouts = {str(address): int(count) for address, count in connection.execute(query)}
            for name in PAYOUT_EVENTS:
                replay += store.events(event_name=name, from_block=finalized + 1)
        unique = {(event.block_hash, event.log_index): event for event in replay}
        self._evaluate(sorted(unique.values(), key=lambda e: (e.block_number, e.log_index)), fire=False)
