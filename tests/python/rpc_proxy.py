"""A small local HTTP JSON-RPC proxy for fault tests: a lagging replica (stale nonce counts) or lost answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

# (method, params, upstream answer) -> replacement answer, or None to pass it through; "502" loses the answer
Fault = Callable[[str, list[Any], dict[str, Any]], dict[str, Any] | str | None]


class RpcProxy:
    def __init__(self, upstream: str, fault: Fault) -> None:
        self.upstream, self.fault = upstream, fault
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = requests.post(proxy.upstream, json=body, timeout=30).json()
                changed = proxy.fault(body["method"], body.get("params", []), answer)
                proxy.seen.append(body["method"])
                if changed == "502":
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = json.dumps(changed if changed is not None else answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RpcProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
