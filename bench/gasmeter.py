"""Execution gas of real transactions: gasUsed - 21,000 (base) - calldata cost (4 per zero byte, 16 per other)."""

from __future__ import annotations

from typing import Any

from settlekit import contracts

BASE_TX_GAS = 21_000


def calldata_cost(data: bytes) -> int:
    return sum(16 if byte else 4 for byte in data)


def measure(call: Any, sender: str) -> tuple[int, int]:
    """Send ``call`` from ``sender``; return (gasUsed, execution gas)."""
    receipt = contracts.transact(call, sender=sender)
    data = bytes.fromhex(call._encode_transaction_data()[2:])
    used = int(receipt["gasUsed"])
    return used, used - BASE_TX_GAS - calldata_cost(data)
