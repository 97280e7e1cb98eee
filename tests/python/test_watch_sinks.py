"""Incident sinks: stdout and file JSON lines, and a webhook tested against a real local HTTP server."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from settlekit.watch.incidents import IncidentLog
from settlekit.watch.sinks import FileSink, StdoutSink, WebhookSink
from settlekit.watch.store import Store


class _Receiver:
    """A local HTTP server that fails the first ``failures`` requests with 503, then records JSON bodies."""

    def __init__(self, failures: int = 0, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.requests += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.requests <= failures:
                    self.send_response(503)
                else:
                    receiver.bodies.append(body)
                    self.send_response(status)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver(failures=2)
    yield server
    server.close()


def test_new_incidents_reach_every_sink_once(tmp_path: Path, receiver: _Receiver) -> None:
    stream = io.StringIO()
    webhook = WebhookSink(receiver.url, base_delay=0.01)
    log = IncidentLog(
        Store.sqlite(str(tmp_path / "s.db")), [StdoutSink(stream), FileSink(tmp_path / "incidents.jsonl"), webhook]
    )
    log.raise_("reorg", "reorg:0xabc", "warning", "reorg of depth 3", {"depth": 3})
    log.raise_("reorg", "reorg:0xabc", "warning", "reorg of depth 3", {"depth": 3})  # same condition: no page
    printed = [json.loads(line) for line in stream.getvalue().splitlines()]
    written = [json.loads(line) for line in (tmp_path / "incidents.jsonl").read_text().splitlines()]
    assert [p["details"]["depth"] for p in printed] == [3]
    assert written == printed
    assert receiver.requests == 3  # two 503s, then delivered
    assert [b["summary"] for b in receiver.bodies] == ["reorg of depth 3"]
    assert webhook.failures == []


def test_webhook_gives_up_after_its_attempts_and_does_not_retry_client_errors(tmp_path: Path) -> None:
    rejecting = _Receiver(status=400)
    try:
        webhook = WebhookSink(rejecting.url, base_delay=0.01)
        log = IncidentLog(Store.sqlite(str(tmp_path / "s.db")), [webhook])
        incident = log.raise_("deficit", "deficit:1", "critical", "deficit", {})
        assert rejecting.requests == 1
        assert webhook.failures == [(incident.id, "HTTP 400")]
    finally:
        rejecting.close()
    unreachable = WebhookSink("http://127.0.0.1:9/hook", attempts=3, base_delay=0.01, timeout=0.5)
    log = IncidentLog(Store.sqlite(str(tmp_path / "t.db")), [unreachable])
    incident = log.raise_("deficit", "deficit:2", "critical", "deficit", {})
    assert unreachable.failures == [(incident.id, "ConnectionError")]
