"""The incident log: one open incident per condition, so the same condition never pages twice.

An incident is opened the first time a rule fires for a key (the condition, e.g. ``reorg:depth>=3``), updated
(count, last seen, details) while it stays open, acknowledged by an operator, and resolved. A resolved condition
that fires again opens a new incident.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sqlalchemy import select, update

from settlekit.exceptions import SettlekitError
from settlekit.watch import schema
from settlekit.watch.store import Store

SEVERITIES = ("info", "warning", "critical")
OPEN_STATES = ("opened", "acknowledged")


class IncidentNotFoundError(SettlekitError):
    """No incident with that id."""


@dataclass(frozen=True)
class Incident:
    id: int
    rule: str
    key: str
    severity: str
    state: str
    opened_at: int
    updated_at: int
    count: int
    summary: str
    details: dict[str, Any]
    new: bool = False  # opened by the call that returned it (the caller should notify)


def _row(row: Any, new: bool = False) -> Incident:
    # Rows are tuples, so `row.count` would be tuple.count: read the columns through the mapping.
    m = row._mapping
    return Incident(
        m["id"],
        m["rule"],
        m["key"],
        m["severity"],
        m["state"],
        m["opened_at"],
        m["updated_at"],
        m["count"],
        m["summary"],
        json.loads(m["details"]),
        new,
    )


def payload(incident: Incident) -> dict[str, Any]:
    """The incident as the sinks send it."""
    data = asdict(incident)
    data.pop("new", None)
    return {"type": "incident", **data}


class Notifier(Protocol):
    def send(self, incident: Incident) -> None: ...


class IncidentLog:
    def __init__(self, store: Store, sinks: Sequence[Notifier] = ()) -> None:
        self.store = store
        self.sinks = list(sinks)  # told at once, in the follower's thread (the guardian, the terminal, a file)
        self._outbox: list[str] = []  # remote sinks: delivered from the outbox by the delivery worker
        self._store_key = ""
        self._wake: Callable[[], None] = lambda: None

    def deliver_to(self, outbox_sinks: Sequence[str], wake: Callable[[], None] | None = None) -> None:
        """From now on every newly opened incident also gets one outbox row per sink name, in its transaction."""
        from settlekit.watch.outbox import store_id

        self._outbox = list(outbox_sinks)
        self._store_key = store_id(self.store)
        self._wake = wake or (lambda: None)

    def _notify(self, incident: Incident) -> Incident:
        if incident.new:
            for sink in self.sinks:
                sink.send(incident)
        return incident

    def raise_(self, rule: str, key: str, severity: str, summary: str, details: dict[str, Any]) -> Incident:
        """Open an incident for ``key`` (and notify the sinks), or update the one already open (no notification)."""
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        now = int(time.time())
        table = schema.incidents
        with self.store.engine.begin() as connection:
            current = connection.execute(
                select(table).where(table.c.key == key, table.c.state.in_(OPEN_STATES)).order_by(table.c.id.desc())
            ).first()
            if current is not None:
                connection.execute(
                    update(table)
                    .where(table.c.id == current.id)
                    .values(
                        count=current._mapping["count"] + 1,
                        updated_at=now,
                        summary=summary,
                        details=json.dumps(details),
                    )
                )
                incident_id, new = current.id, False
            else:
                result = connection.execute(
                    table.insert().values(
                        rule=rule,
                        key=key,
                        severity=severity,
                        state="opened",
                        opened_at=now,
                        updated_at=now,
                        count=1,
                        summary=summary,
                        details=json.dumps(details),
                    )
                )
                incident_id, new = result.inserted_primary_key[0], True  # type: ignore[index]
            incident = _row(connection.execute(select(table).where(table.c.id == incident_id)).one(), new=new)
            if new and self._outbox:
                from settlekit.watch.outbox import enqueue

                enqueue(connection, payload(incident), self._outbox, self._store_key)
        if new and self._outbox:
            self._wake()
        return self._notify(incident)

    def _set_state(self, incident_id: int, state: str) -> Incident:
        table = schema.incidents
        with self.store.engine.begin() as connection:
            found = connection.execute(
                update(table).where(table.c.id == incident_id).values(state=state, updated_at=int(time.time()))
            )
            if not found.rowcount:
                raise IncidentNotFoundError(f"no incident #{incident_id}", hint="list them with `settlekit incidents`")
            return _row(connection.execute(select(table).where(table.c.id == incident_id)).one())

    def acknowledge(self, incident_id: int) -> Incident:
        return self._set_state(incident_id, "acknowledged")

    def resolve(self, incident_id: int) -> Incident:
        return self._set_state(incident_id, "resolved")

    def list(self, *, open_only: bool = False) -> list[Incident]:
        table = schema.incidents
        query = select(table).order_by(table.c.id)
        if open_only:
            query = query.where(table.c.state.in_(OPEN_STATES))
        with self.store.engine.begin() as connection:
            return [_row(row) for row in connection.execute(query)]
