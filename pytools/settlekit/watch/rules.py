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
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from settlekit.exceptions import SettlekitError
from settlekit.watch.incidents import SEVERITIES, Incident, IncidentLog
from settlekit.watch.store import EventRow

KINDS = ("event", "window_sum", "dust", "lag")
PAYOUT_EVENTS = ("Claimed", "Reclaimed")


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


class RuleEngine:
    """Evaluates rules on each batch of newly ingested events and opens incidents through the incident log."""

    def __init__(self, rules: list[Rule], incidents: IncidentLog) -> None:
        self.rules = rules
        self.incidents = incidents
        self._windows: dict[str, deque[tuple[int, int]]] = {r.name: deque() for r in rules if r.kind == "window_sum"}
        self._payouts: dict[str, int] = {}  # series address -> payouts seen

    @classmethod
    def from_config(cls, config: dict[str, Any], incidents: IncidentLog) -> RuleEngine:
        return cls([Rule.parse(raw) for raw in config.get("rules", [])], incidents)

    def observe(self, events: list[EventRow], head_timestamp: int | None = None) -> list[Incident]:
        raised: list[Incident] = []
        for event in events:
            if event.event in PAYOUT_EVENTS:
                self._payouts[event.address] = self._payouts.get(event.address, 0) + 1
            for rule in self.rules:
                raised.extend(self._apply(rule, event))
        for rule in self.rules:
            if rule.kind == "lag" and head_timestamp is not None:
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

    def _apply(self, rule: Rule, event: EventRow) -> list[Incident]:
        if rule.kind == "event" and rule.matches(event):
            return [
                self.incidents.raise_(
                    rule.name,
                    f"{rule.name}:{event.address}",
                    rule.severity,
                    f"{event.event} on {event.contract} in block {event.block_number}",
                    {"event": event.event, "contract": event.contract, "block": event.block_number, "args": event.args},
                )
            ]
        if rule.kind == "window_sum" and rule.matches(event):
            window = self._windows[rule.name]
            window.append((event.block_number, int(event.args.get(rule.argument or "", 0))))
            while window and window[0][0] <= event.block_number - rule.window_blocks:
                window.popleft()
            total = sum(amount for _, amount in window)
            if total > rule.threshold:
                return [
                    self.incidents.raise_(
                        rule.name,
                        f"{rule.name}:{event.address}",
                        rule.severity,
                        f"{rule.argument} of {rule.event} over {rule.window_blocks} blocks: {total} > {rule.threshold}",
                        {"total": total, "threshold": rule.threshold, "to_block": event.block_number},
                    )
                ]
        if rule.kind == "dust" and event.event == "DustSwept":
            amount = int(event.args.get("amount", 0))
            payouts = self._payouts.get(event.address, 0)
            if amount >= max(payouts, 1) and not event.args.get("after_deadline", False):
                return [
                    self.incidents.raise_(
                        rule.name,
                        f"{rule.name}:{event.address}",
                        rule.severity,
                        f"series {event.address} swept {amount} wei of dust after {payouts} payouts",
                        {"dust": amount, "payouts": payouts, "block": event.block_number},
                    )
                ]
        return []
