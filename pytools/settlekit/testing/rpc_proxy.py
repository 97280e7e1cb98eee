"""A local JSON-RPC proxy in front of a node, for tests and benchmarks: it adds a fixed latency to every HTTP
request (a remote node's round trip), counts requests and calls, and can play a node without the ``finalized``
block tag. Loopback only."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


class RpcProxy:
    def __init__(self, upstream: str, *, latency: float = 0.0, no_finalized_tag: bool = False) -> None:
        self.upstream = upstream
        self.latency = latency
        self.no_finalized_tag = no_finalized_tag
        self.requests = 0  # HTTP round trips
        self.calls = 0  # JSON-RPC calls (a batch counts each of its calls)
        self._lock = threading.Lock()
        self._session = requests.Session()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = proxy._answer(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RpcProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _refused(self, call: dict[str, Any]) -> dict[str, Any] | None:
        tag = call.get("params", [None])[0] if call.get("method") == "eth_getBlockByNumber" else None
        if self.no_finalized_tag and tag in ("finalized", "safe"):
            message = "invalid block tag: unknown block tag finalized"
            return {"jsonrpc": "2.0", "id": call.get("id"), "error": {"code": -32602, "message": message}}
        return None

    def _answer(self, body: bytes) -> bytes:
        time.sleep(self.latency)
        payload = json.loads(body)
        calls = payload if isinstance(payload, list) else [payload]
        with self._lock:
            self.requests += 1
            self.calls += len(calls)
        refused = [self._refused(call) for call in calls]
        if not any(refused):
            return self._session.post(self.upstream, data=body, headers={"Content-Type": "application/json"}).content
        answers = [
            answer if answer is not None else self._session.post(self.upstream, json=call).json()
            for call, answer in zip(calls, refused, strict=True)
        ]
        return json.dumps(answers if isinstance(payload, list) else answers[0]).encode()
