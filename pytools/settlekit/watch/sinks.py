"""Where incidents go when they open: stdout (JSON lines), a file (JSON lines, fsynced), a webhook (HTTP POST JSON
with a timeout and retries with exponential backoff and jitter)."""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any, Protocol

import requests

from settlekit.chain.rpc import redact_url
from settlekit.watch.incidents import Incident


class Sink(Protocol):
    def send(self, incident: Incident) -> None: ...


def _payload(incident: Incident) -> dict[str, Any]:
    data = asdict(incident)
    data.pop("new", None)
    return {"type": "incident", **data}


class StdoutSink:
    """JSON lines (``as_json``, for machines), or one readable line per incident (for a terminal)."""

    def __init__(self, stream: IO[str] | None = None, *, as_json: bool = True) -> None:
        self.stream = stream or sys.stdout
        self.as_json = as_json
        self._lock = threading.Lock()

    def send(self, incident: Incident) -> None:
        from settlekit.watch.outbox import incident_line

        payload = _payload(incident)
        line = json.dumps(payload, sort_keys=True) if self.as_json else incident_line(payload)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()


class FileSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, incident: Incident) -> None:
        with self._lock, self.path.open("a") as handle:
            handle.write(json.dumps(_payload(incident), sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


class WebhookSink:
    """POSTs each incident as JSON. Retries on connection errors, timeouts and 5xx/429 answers with exponential
    backoff and full jitter; a 4xx answer (other than 429) is a configuration error and is not retried. A delivery
    that fails after every attempt is recorded in ``failures`` (and logged to stderr) rather than stopping the
    watcher: losing the page must not also lose the events."""

    def __init__(
        self, url: str, *, timeout: float = 5.0, attempts: int = 5, base_delay: float = 0.5, max_delay: float = 30.0
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.failures: list[tuple[int, str]] = []
        self._session = requests.Session()

    def send(self, incident: Incident) -> None:
        problem = "no attempt made"
        for attempt in range(self.attempts):
            try:
                response = self._session.post(self.url, json=_payload(incident), timeout=self.timeout)
            except requests.RequestException as error:
                problem = type(error).__name__
            else:
                if response.status_code < 300:
                    return
                problem = f"HTTP {response.status_code}"
                if 400 <= response.status_code < 500 and response.status_code != 429:
                    break
            if attempt + 1 < self.attempts:
                time.sleep(random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt)))  # noqa: S311
        self.failures.append((incident.id, problem))
        sys.stderr.write(f"webhook {redact_url(self.url)}: incident #{incident.id} not delivered ({problem})\n")
