"""Alerts without loss or stalls: a durable outbox in the store and a delivery worker.

When an incident opens, one outbox row per configured remote sink is written in the incident's own transaction
(``IncidentLog``), so a kill can never keep an incident without its pending deliveries. A worker thread (never the
follower) sends the due rows: a slow receiver delays only its own deliveries, never ingestion. Each attempt carries
the incident's idempotency key (``Idempotency-Key`` header and ``idempotency_key`` in the body: the same for every
attempt, so a receiver that saw an attempt time out can drop the retry). A failure (connection error, timeout, 5xx,
429) is retried with exponential backoff and full jitter, never sooner than the receiver's ``Retry-After``; a 4xx
other than 429 fails at once (a configuration error); a row still failing after ``give_up_after`` seconds is
``failed``. Pending and failed rows are in the metrics (``settlekit_watch_outbox{state}``).

Sinks: ``webhook`` (the incident as JSON, optionally HMAC-SHA256 signed: ``X-Settlekit-Signature: sha256=<hex>``
over ``<timestamp>.<body>`` with ``X-Settlekit-Timestamp``), ``slack`` (an incoming-webhook ``{"text": ...}``) and
``discord`` (a webhook ``{"content": ...}``).
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from settlekit.chain.rpc import redact_url
from settlekit.watch import schema
from settlekit.watch.store import Store


def _now_ms() -> int:
    return int(time.time() * 1000)


def store_id(store: Store) -> str:
    """A random id of the store, made once: idempotency keys are unique across stores."""
    value = store.get_meta("store_id")
    if value is None:
        value = uuid.uuid4().hex
        store.set_meta("store_id", value)
    return value


def idempotency_key(store_key: str, incident_id: int) -> str:
    return f"settlekit-{store_key}-incident-{incident_id}"


def incident_line(payload: dict[str, Any]) -> str:
    """One readable line for an incident (the terminal, Slack, Discord)."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(payload.get("opened_at", 0))))
    return (
        f"{when} UTC {str(payload.get('severity', '')).upper():8} #{payload.get('id')} "
        f"{payload.get('rule')}: {payload.get('summary')}"
    )


@dataclass(frozen=True)
class Attempt:
    ok: bool
    error: str = ""
    retry_after: float | None = None  # seconds the receiver asked to wait
    permanent: bool = False  # do not retry (a 4xx other than 429)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


class HttpSink:
    """POST one JSON body per incident; the body and the headers depend on the kind."""

    def __init__(self, kind: str, url: str, *, secret: bytes | None = None, timeout: float = 15.0) -> None:
        self.kind, self.url, self.secret, self.timeout = kind, url, secret, timeout
        # the name stored with each row: stable across restarts, and no secret in it (Slack URLs are secrets)
        self.name = f"{kind}:{hashlib.sha256(url.encode()).hexdigest()[:16]}"
        self._session = requests.Session()

    @property
    def display(self) -> str:
        return f"{self.kind}:{redact_url(self.url)}"

    def body(self, payload: dict[str, Any], key: str) -> dict[str, Any]:
        if self.kind == "slack":
            return {"text": incident_line(payload)}
        if self.kind == "discord":
            return {"content": incident_line(payload)[:2000]}
        return {**payload, "idempotency_key": key}

    def send(self, payload: dict[str, Any], key: str) -> Attempt:
        data = json.dumps(self.body(payload, key), sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        if self.secret is not None:
            stamp = str(int(time.time()))
            digest = hmac.new(self.secret, stamp.encode() + b"." + data, hashlib.sha256).hexdigest()
            headers |= {"X-Settlekit-Timestamp": stamp, "X-Settlekit-Signature": f"sha256={digest}"}
        try:
            response = self._session.post(self.url, data=data, headers=headers, timeout=self.timeout)
        except requests.RequestException as error:
            return Attempt(False, type(error).__name__)
        if response.status_code < 300:
            return Attempt(True)
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        wait = _retry_after(response.headers.get("Retry-After"))
        return Attempt(False, f"HTTP {response.status_code}", wait, permanent)


def verify_signature(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver checks (and the tests do): the signature of ``<timestamp>.<body>``."""
    expected = "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def enqueue(connection: Connection, incident: dict[str, Any], sinks: Sequence[str], store_key: str) -> None:
    """Write the incident's deliveries (inside the transaction that opened it)."""
    if not sinks:
        return
    now = _now_ms()
    key = idempotency_key(store_key, int(incident["id"]))
    connection.execute(
        schema.outbox.insert(),
        [
            {
                "incident_id": incident["id"],
                "sink": sink,
                "idempotency_key": key,
                "payload": json.dumps(incident, sort_keys=True),
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "",
                "created_at": now,
                "delivered_at": None,
            }
            for sink in sinks
        ],
    )


def counts(store: Store) -> dict[str, int]:
    """Outbox rows by state (pending, delivered, failed)."""
    table = schema.outbox
    with store.engine.begin() as connection:
        rows = connection.execute(select(table.c.state, func.count()).group_by(table.c.state)).all()
    found = {"pending": 0, "delivered": 0, "failed": 0}
    found.update({str(state): int(count) for state, count in rows})
    return found


class DeliveryWorker:
    """Sends the outbox's due rows in a thread of its own (:meth:`start`), or once (:meth:`run_once`)."""

    def __init__(
        self,
        store: Store,
        sinks: Sequence[HttpSink],
        *,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        give_up_after: float = 86_400.0,
        poll_interval: float = 0.5,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.sinks = {sink.name: sink for sink in sinks}
        self.base_delay, self.max_delay, self.give_up_after = base_delay, max_delay, give_up_after
        self.poll_interval = poll_interval
        self.say = say or (lambda _message: None)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DeliveryWorker:
        self._thread = threading.Thread(target=self._run, name="settlekit-delivery", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, drain_seconds: float = 0.0) -> None:
        """Stop the thread; with ``drain_seconds``, first keep delivering until nothing is due or the time is up."""
        deadline = time.monotonic() + drain_seconds
        while drain_seconds and time.monotonic() < deadline and self.pending_due():
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def pending_due(self) -> int:
        table = schema.outbox
        query = select(func.count()).where(
            table.c.state == "pending", table.c.sink.in_(list(self.sinks)), table.c.next_attempt_at <= _now_ms()
        )
        with self.store.engine.begin() as connection:
            return int(connection.execute(query).scalar() or 0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.run_once()
            except Exception as error:  # a store briefly unavailable: try again on the next round
                self.say(f"delivery worker: {type(error).__name__}")
                sent = 0
            if not sent:
                self._wake.wait(self.poll_interval)
                self._wake.clear()

    def run_once(self, limit: int = 50) -> int:
        """Attempt every due row (at most ``limit``); returns the number attempted."""
        table = schema.outbox
        with self.store.engine.begin() as connection:
            due = connection.execute(
                select(table)
                .where(
                    table.c.state == "pending",
                    table.c.sink.in_(list(self.sinks)),
                    table.c.next_attempt_at <= _now_ms(),
                )
                .order_by(table.c.id)
                .limit(limit)
            ).all()
        for row in due:
            if self._stop.is_set():
                break
            m = row._mapping
            attempt = self.sinks[m["sink"]].send(json.loads(m["payload"]), m["idempotency_key"])
            self._record(m, attempt)
        return len(due)

    def _record(self, row: Any, attempt: Attempt) -> None:
        table = schema.outbox
        attempts = int(row["attempts"]) + 1
        now = _now_ms()
        values: dict[str, Any] = {"attempts": attempts, "last_error": attempt.error}
        if attempt.ok:
            values |= {"state": "delivered", "delivered_at": now}
        elif attempt.permanent or now - int(row["created_at"]) > self.give_up_after * 1000:
            values |= {"state": "failed"}
            sink = self.sinks[row["sink"]]
            self.say(f"incident #{row['incident_id']} not delivered to {sink.display}: {attempt.error} (given up)")
        else:
            delay = random.uniform(0, min(self.max_delay, self.base_delay * 2 ** min(attempts - 1, 20)))  # noqa: S311
            if attempt.retry_after is not None:
                delay = max(delay, attempt.retry_after)
            values |= {"next_attempt_at": now + int(delay * 1000)}
        with self.store.engine.begin() as connection:
            connection.execute(update(table).where(table.c.id == row["id"]).values(**values))
