"""A real local HTTP receiver for the delivery tests: it records every request and answers as told (slow, 500,
429 with Retry-After), and can be stopped and started again on the same port (down, then up)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def key(self) -> str:
        return self.headers.get("Idempotency-Key", "")


# (request number from 1, the request) -> (status, extra headers, seconds to wait before answering)
Behaviour = Callable[[int, Received], tuple[int, dict[str, str], float]]


def always_ok(_n: int, _request: Received) -> tuple[int, dict[str, str], float]:
    return 200, {}, 0.0


@dataclass
class Receiver:
    behaviour: Behaviour = always_ok
    port: int = 0
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        if not self.port:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = Received(time.monotonic(), dict(self.headers.items()), body, 0)
                with receiver._lock:
                    receiver.received.append(request)
                    number = len(receiver.received)
                status, headers, delay = receiver.behaviour(number, request)
                request.status = status
                time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted(self) -> dict[str, int]:
        """Idempotency key -> number of requests answered 2xx for it."""
        found: dict[str, int] = {}
        for request in list(self.received):
            if 200 <= request.status < 300:
                found[request.key] = found.get(request.key, 0) + 1
        return found
