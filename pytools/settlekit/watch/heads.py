"""New-head notifications over WebSocket (``eth_subscribe`` ``newHeads``) that wake the poll loop early.

The subscription is only a doorbell: each notification wakes the follower, which then polls as usual. Polling stays
the source of truth, so a dropped notification, a reconnect or a node without WebSocket support costs latency (up to
one poll interval), never correctness. The subscription runs in a daemon thread and reconnects with backoff.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from websockets.sync.client import ClientConnection, connect

from settlekit.chain.rpc import redact_url


class WakeableStop(threading.Event):
    """A stop event whose ``wait`` also returns early when :meth:`wake` is called.

    ``Follower.run`` waits on its stop event between polls (``stop.wait(poll_interval)``); handing it this event makes
    a new head end that wait at once. ``set`` still stops the follower."""

    def __init__(self) -> None:
        super().__init__()
        self._doorbell = threading.Event()

    def wake(self) -> None:
        self._doorbell.set()

    def set(self) -> None:
        super().set()
        self._doorbell.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self.is_set():
            return True
        self._doorbell.wait(timeout)
        self._doorbell.clear()
        return self.is_set()


class HeadSubscription:
    """Follows ``newHeads`` on ``url`` in a daemon thread and calls ``on_head(number)`` for each new head."""

    def __init__(
        self,
        url: str,
        on_head: Callable[[int], None],
        *,
        open_timeout: float = 5.0,
        max_backoff: float = 30.0,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.on_head = on_head
        self.open_timeout = open_timeout
        self.max_backoff = max_backoff
        self.on_error = on_error or (lambda _message: None)
        self.heads = 0  # notifications received
        self.connects = 0  # successful subscriptions (1 + reconnects)
        self._closed = threading.Event()
        self._connection: ClientConnection | None = None
        self._thread = threading.Thread(target=self._run, name="settlekit-heads", daemon=True)

    def start(self) -> HeadSubscription:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        connection = self._connection
        if connection is not None:
            connection.close()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        failures = 0
        while not self._closed.is_set():
            try:
                self._follow()
                failures = 0
            except Exception as error:  # any failure: back off and reconnect; polling carries on meanwhile
                failures += 1
                if not self._closed.is_set():
                    self.on_error(f"head subscription to {redact_url(self.url)} failed: {type(error).__name__}")
            self._closed.wait(min(self.max_backoff, 0.5 * 2 ** min(failures, 8)))

    def _follow(self) -> None:
        with connect(self.url, open_timeout=self.open_timeout) as connection:
            self._connection = connection
            connection.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
            answer: dict[str, Any] = json.loads(connection.recv(timeout=self.open_timeout))
            if "result" not in answer:
                raise ConnectionError(f"eth_subscribe refused: {answer.get('error')}")
            self.connects += 1
            for message in connection:
                if self._closed.is_set():
                    return
                params = json.loads(message).get("params", {})
                head = params.get("result", {}) if isinstance(params, dict) else {}
                number = head.get("number") if isinstance(head, dict) else None
                if isinstance(number, str):
                    self.heads += 1
                    self.on_head(int(number, 16))
