"""Prometheus metrics of the watcher, served over HTTP (``settlekit watch --metrics-port PORT``).

:class:`WatchMetrics` is a :class:`~settlekit.watch.observer.WatchObserver`: the follower calls its hooks after each
step and on node failures. It keeps its own :class:`CollectorRegistry` (never the process-global one), so several
watchers (or tests) in one process do not share counters. The open incidents are read from the store at each scrape,
so an incident acknowledged or resolved by another process (``settlekit incidents --resolve``) shows at once.

Every metric and its meaning is listed in docs/watch.md ("Metrics").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector

from settlekit.exceptions import SettlekitError
from settlekit.watch.incidents import SEVERITIES, IncidentLog

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from settlekit.watch.follower import StepReport
    from settlekit.watch.store import BlockRow, Store

PREFIX = "settlekit_watch"
REORG_DEPTH_BUCKETS = (1, 2, 3, 4, 6, 8, 16, 32, 64)
MAX_EVENT_LABELS = 256  # distinct (contract, event) pairs; any further pair is counted as ("other", "other")
GUARDIAN_OUTCOMES = ("sent", "dry_run", "skipped", "failed")


class MetricsServerError(SettlekitError):
    """The metrics endpoint could not be started."""


class _OpenIncidents(Collector):
    """``settlekit_watch_incidents_open{severity}``, read from the incident log at each scrape."""

    def __init__(self, log: IncidentLog) -> None:
        self.log = log

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            f"{PREFIX}_incidents_open", "Incidents opened or acknowledged, not resolved", labels=["severity"]
        )
        try:
            incidents = self.log.list(open_only=True)
        except Exception:  # a store that is briefly unavailable must not break the scrape
            return
        for severity in SEVERITIES:
            family.add_metric([severity], sum(1 for incident in incidents if incident.severity == severity))
        yield family


class _Outbox(Collector):
    """``settlekit_watch_outbox{state}``: incident deliveries pending, delivered and failed, read at each scrape."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from settlekit.watch.outbox import counts

        family = GaugeMetricFamily(f"{PREFIX}_outbox", "Incident deliveries in the outbox by state", labels=["state"])
        try:
            found = counts(self.store)
        except Exception:  # a store that is briefly unavailable must not break the scrape
            return
        for state, count in sorted(found.items()):
            family.add_metric([state], count)
        yield family


class WatchMetrics:
    """The watcher's metrics, updated through the follower's observer hooks."""

    def __init__(self, store: Store | None = None, head_timestamp: Callable[[int], int | None] | None = None) -> None:
        """``store``: read at scrape time for the open incidents. ``head_timestamp``: the timestamp of a block
        number on the node (asked only while the watcher is behind, for the lag in seconds)."""
        self.registry = CollectorRegistry(auto_describe=True)
        self._head_timestamp = head_timestamp
        self._lock = threading.Lock()
        self._event_labels: set[tuple[str, str]] = set()
        self._tip_timestamp: int | None = None
        self._down_since: float | None = None
        r = self.registry
        self.head_block = Gauge(f"{PREFIX}_head_block", "The node's head block number at the last step", registry=r)
        self.checkpoint_block = Gauge(
            f"{PREFIX}_checkpoint_block", "Last ingested block (the store's tip: a restart resumes there)", registry=r
        )
        self.head_lag_blocks = Gauge(f"{PREFIX}_head_lag_blocks", "Node head minus the last ingested block", registry=r)
        self.head_lag_seconds = Gauge(
            f"{PREFIX}_head_lag_seconds",
            "Timestamp of the node's head minus that of the last ingested block (0 when caught up)",
            registry=r,
        )
        self.tip_age_seconds = Gauge(
            f"{PREFIX}_tip_age_seconds", "Wall-clock seconds since the last ingested block's timestamp", registry=r
        )
        self.tip_age_seconds.set_function(self._tip_age)
        self.steps = Counter(f"{PREFIX}_steps", "Follower steps completed", registry=r)
        self.blocks = Counter(
            f"{PREFIX}_blocks_ingested", "Blocks ingested (reorgs' new branches included)", registry=r
        )
        self.events = Counter(
            f"{PREFIX}_events_ingested",
            f"Decoded events ingested, by contract and event (at most {MAX_EVENT_LABELS} pairs, then other/other)",
            ["contract", "event"],
            registry=r,
        )
        self.reorgs = Histogram(
            f"{PREFIX}_reorg_depth_blocks", "Reorgs by depth (blocks replaced)", buckets=REORG_DEPTH_BUCKETS, registry=r
        )
        self.retracted = Counter(f"{PREFIX}_events_retracted", "Events retracted by reorgs", registry=r)
        self.rpc_errors = Counter(f"{PREFIX}_rpc_errors", "Failed follower steps (node errors, timeouts)", registry=r)
        self.outage_seconds = Gauge(
            f"{PREFIX}_outage_seconds", "Seconds the node has been failing (0 while it answers)", registry=r
        )
        self.outage_seconds_total = Counter(
            f"{PREFIX}_outage_recovered_seconds", "Seconds of node failure, summed over recovered outages", registry=r
        )
        self.ws_heads = Counter(f"{PREFIX}_ws_heads", "New-head notifications received over WebSocket", registry=r)
        self.guardian_actions = Counter(
            f"{PREFIX}_guardian_actions", "Guardian actions by outcome", ["outcome"], registry=r
        )
        for outcome in GUARDIAN_OUTCOMES:
            self.guardian_actions.labels(outcome=outcome)
        if store is not None:
            r.register(_OpenIncidents(IncidentLog(store)))
            r.register(_Outbox(store))

    # --- observer hooks (called by the follower; never raise) ------------------------------------------------

    def on_step(self, report: StepReport, tip: BlockRow | None) -> None:
        try:
            self._on_step(report, tip)
        except Exception:  # metrics must never stop ingestion
            return

    def _on_step(self, report: StepReport, tip: BlockRow | None) -> None:
        self.steps.inc()
        self.head_block.set(report.head)
        self.blocks.inc(report.ingested_blocks)
        for event in report.events:
            self.events.labels(*self._event_label(event.contract, event.event)).inc()
        for reorg in report.reorgs:
            self.reorgs.observe(int(reorg["depth"]))
            self.retracted.inc(int(reorg.get("retracted_events", 0)))
        if tip is None:
            return
        self._tip_timestamp = tip.timestamp
        self.checkpoint_block.set(tip.number)
        lag = max(0, report.head - tip.number)
        self.head_lag_blocks.set(lag)
        if lag == 0:
            self.head_lag_seconds.set(0)
        elif self._head_timestamp is not None:
            head_time = self._head_timestamp(report.head)
            if head_time is not None:
                self.head_lag_seconds.set(max(0, head_time - tip.timestamp))

    def on_rpc_error(self, message: str, down_seconds: float) -> None:
        self.rpc_errors.inc()
        self.outage_seconds.set(down_seconds)

    def on_recovered(self, outage_seconds: float) -> None:
        self.outage_seconds.set(0)
        self.outage_seconds_total.inc(max(0.0, outage_seconds))

    def on_ws_head(self, number: int) -> None:
        """A new head was announced over the WebSocket subscription."""
        self.ws_heads.inc()

    def on_guardian(self, outcome: str) -> None:
        """A guardian action ended with ``outcome`` (one of GUARDIAN_OUTCOMES)."""
        if outcome in GUARDIAN_OUTCOMES:
            self.guardian_actions.labels(outcome=outcome).inc()

    # --- helpers ---------------------------------------------------------------------------------------------

    def _event_label(self, contract: str, event: str) -> tuple[str, str]:
        pair = (contract, event)
        with self._lock:
            if pair in self._event_labels:
                return pair
            if len(self._event_labels) < MAX_EVENT_LABELS:
                self._event_labels.add(pair)
                return pair
        return ("other", "other")

    def _tip_age(self) -> float:
        return 0.0 if self._tip_timestamp is None else max(0.0, time.time() - self._tip_timestamp)


@dataclass
class MetricsServer:
    """The HTTP endpoint serving one registry at ``/metrics`` (any path answers) in a daemon thread."""

    server: WSGIServer
    thread: threading.Thread
    host: str

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(registry: CollectorRegistry, port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve ``registry`` on ``host:port`` (port 0: any free port; see ``.port``)."""
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        raise MetricsServerError(
            f"cannot serve metrics on {host}:{port}: {error.strerror or error}",
            hint="pick another --metrics-port (or stop whatever holds this one)",
        ) from None
    return MetricsServer(server, thread, host)


def head_timestamp_reader(call: Callable[..., Any]) -> Callable[[int], int | None]:
    """A ``head_timestamp`` for :class:`WatchMetrics` from an RPC ``call`` (e.g. ``RpcClient.call``)."""

    def read(number: int) -> int | None:
        try:
            raw = call("eth_getBlockByNumber", hex(number), False)
        except Exception:  # the follower reports node failures; the metric just stays as it was
            return None
        return None if raw is None else int(raw["timestamp"], 16)

    return read


def endpoint(table: dict[str, Any], port: int | None = None, host: str | None = None) -> tuple[str, int] | None:
    """Where to serve metrics, from ``[watch.metrics]`` (``enabled``, ``host``, ``port``) and the command line
    (``--metrics-port`` turns them on; ``--metrics-host`` overrides the host). None: metrics are off (the default)."""
    unknown = sorted(set(table) - {"enabled", "host", "port"})
    if unknown:
        raise MetricsServerError(
            f"[watch.metrics] has unknown keys: {', '.join(unknown)}", hint="known keys: enabled, host, port"
        )
    if port is None:
        if not table.get("enabled", False):
            return None
        port = table.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise MetricsServerError(
            f"metrics port {port!r} is not a TCP port", hint="set port = 9464 in [watch.metrics] or --metrics-port"
        )
    return (host or str(table.get("host", "127.0.0.1")), port)
