"""Transaction fees: EIP-1559 by default, legacy gas price for chains without a base fee, and replacement bumps."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from settlekit.exceptions import SettlekitError

# A replacement must raise both fee fields by at least 10% (what geth and anvil require) plus one wei.
BUMP_NUMERATOR, BUMP_DENOMINATOR = 110, 100


class FeeCapError(SettlekitError):
    """A replacement would need fees above the configured cap."""


@dataclass(frozen=True)
class Fees:
    """Either EIP-1559 fields (max_fee, max_priority_fee) or a legacy gas price."""

    max_fee: int | None = None
    max_priority_fee: int | None = None
    gas_price: int | None = None

    @property
    def legacy(self) -> bool:
        return self.gas_price is not None

    def fields(self) -> dict[str, Any]:
        if self.gas_price is not None:
            return {"gasPrice": self.gas_price}
        return {"maxFeePerGas": self.max_fee, "maxPriorityFeePerGas": self.max_priority_fee}

    def highest(self) -> int:
        return int(self.gas_price if self.gas_price is not None else self.max_fee or 0)


def _raised(old: int) -> int:
    """At least old x 1.10 + 1 wei, rounded up."""
    return -(-old * BUMP_NUMERATOR // BUMP_DENOMINATOR) + 1


def bump(old: Fees, market: Fees, cap: int | None = None) -> Fees:
    """Fees for a replacement of a transaction sent with ``old``: each field raised to at least old x 1.10 + 1 wei,
    or to the current ``market`` if that is higher; :class:`FeeCapError` if that exceeds ``cap``."""
    if old.gas_price is not None:
        new = Fees(gas_price=max(_raised(old.gas_price), market.gas_price or 0))
    else:
        tip = max(_raised(old.max_priority_fee or 0), market.max_priority_fee or 0)
        new = Fees(max_fee=max(_raised(old.max_fee or 0), market.max_fee or 0, tip), max_priority_fee=tip)
    if cap is not None and new.highest() > cap:
        raise FeeCapError(
            f"replacing the stuck transaction needs {new.highest():,} wei per gas, above the cap of {cap:,}",
            hint="raise the fee cap, or wait for the network's fees to fall and resume",
        )
    return new


class FeeStrategy:
    """Market fees from the node: max fee = 2 x base fee + tip (EIP-1559), or the node's gas price (legacy)."""

    def __init__(self, w3: Web3, *, legacy: bool | None = None, cap: int | None = None, max_age: float = 1.0) -> None:
        self.w3 = w3
        self.cap = cap
        self.max_age = max_age
        self._legacy = legacy
        self._cached: tuple[float, Fees] | None = None
        self._lock = threading.Lock()

    def legacy(self) -> bool:
        if self._legacy is None:
            self._legacy = self.w3.eth.get_block("latest").get("baseFeePerGas") is None
        return self._legacy

    def market(self) -> Fees:
        """Current market fees, read from the node at most once per ``max_age`` seconds (many threads send at
        once; asking the node for every transaction would double the RPC load for no better answer)."""
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.max_age:
                return self._cached[1]
            fees = self._read_market()
            self._cached = (time.monotonic(), fees)
            return fees

    def _read_market(self) -> Fees:
        if self.legacy():
            return Fees(gas_price=int(self.w3.eth.gas_price))
        # The pending block carries the base fee the next block will charge; the latest block's may be stale.
        base = int(self.w3.eth.get_block("pending")["baseFeePerGas"])
        tip = int(self.w3.eth.max_priority_fee)
        return Fees(max_fee=2 * base + tip, max_priority_fee=tip)

    def replacement(self, old: Fees) -> Fees:
        """Fees for replacing a transaction sent with ``old``. Always read fresh: a replacement is needed exactly
        when the market moved, so a cached answer would be the wrong one."""
        fresh = self._read_market()
        with self._lock:
            self._cached = (time.monotonic(), fresh)
        return bump(old, fresh, self.cap)
