"""Sending transactions from one account: nonce reservation, fees and fee bumping, receipts with decoded reverts."""

from settlekit.tx.fees import Fees, FeeStrategy, bump
from settlekit.tx.nonces import NonceManager
from settlekit.tx.sender import SentTransaction, TransactionSender, TransactionTimeoutError

__all__ = [
    "FeeStrategy",
    "Fees",
    "NonceManager",
    "SentTransaction",
    "TransactionSender",
    "TransactionTimeoutError",
    "bump",
]
