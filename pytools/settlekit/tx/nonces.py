"""Nonces for many concurrent senders from one account.

Reservations are local and start from the node's pending count, so threads never wait on each other's network
round trips. A nonce that was reserved but never reached the node is released and handed out again (lowest
first), so a failed send leaves no gap. After the node says "nonce too low", or when transactions were dropped,
:meth:`NonceManager.resync` rebuilds the view from the chain.
"""

from __future__ import annotations

import heapq
import threading

from eth_typing import ChecksumAddress
from web3 import Web3


class NonceManager:
    """Hands out nonces for ``address``; thread-safe."""

    def __init__(self, w3: Web3, address: ChecksumAddress) -> None:
        self.w3 = w3
        self.address = address
        self._lock = threading.Lock()
        self._next: int | None = None
        self._released: list[int] = []

    def reserve(self) -> int:
        """The next nonce to use: a released one if any (lowest first), else one past the highest handed out."""
        with self._lock:
            if self._released:
                return heapq.heappop(self._released)
            if self._next is None:
                self._next = int(self.w3.eth.get_transaction_count(self.address, "pending"))
            nonce = self._next
            self._next += 1
            return nonce

    def release(self, nonce: int) -> None:
        """Give back a nonce whose transaction never reached the node, so it is reused and no gap stays."""
        with self._lock:
            if self._next is not None and nonce == self._next - 1:
                self._next -= 1
            elif nonce not in self._released:
                heapq.heappush(self._released, nonce)

    def resync(self) -> int:
        """Forget local state and start again from the node's pending count; returns it."""
        with self._lock:
            pending = int(self.w3.eth.get_transaction_count(self.address, "pending"))
            self._released = [n for n in self._released if n >= pending]
            heapq.heapify(self._released)
            # Never move backwards: nonces above `pending` may be reserved by other threads that have not sent
            # yet. A dropped transaction is re-sent with its own nonce by the sender, so no gap can stay.
            self._next = max(pending, self._next or 0)
            return pending

    def confirmed(self) -> int:
        """The node's count of mined transactions from the account."""
        return int(self.w3.eth.get_transaction_count(self.address, "latest"))
