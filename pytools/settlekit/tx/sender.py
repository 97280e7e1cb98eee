"""Signing, sending and confirming transactions from one account, safely under concurrency.

- Each transaction gets a reserved nonce; if the node refuses the send for a reason that means "this nonce never
  made it", the nonce is released so no gap stays.
- "nonce too low": every earlier attempt at that nonce is checked for a receipt first (it may be ours, already
  mined); only if none is ours does the transaction get a fresh nonce.
- "already known": the node has these exact bytes; treat as sent.
- Waiting: a transaction without a receipt after ``bump_after`` seconds is replaced with fees raised by at least
  10% + 1 wei (up to the cap); one the node no longer knows (dropped) is re-sent with the same bytes.
- A mined revert is replayed and decoded into the typed :mod:`settlekit.errors` exception.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from settlekit.contracts import replay_failure
from settlekit.deploy.keys import SignedTransaction, Signer
from settlekit.errors import revert_from_exception
from settlekit.exceptions import SettlekitError
from settlekit.tx.fees import Fees, FeeStrategy
from settlekit.tx.nonces import NonceManager
from settlekit.tx.transport import is_transport_error, node_knows

_NONCE_TOO_LOW = ("nonce too low", "nonce is too low", "invalid nonce", "old nonce")
_ALREADY_KNOWN = ("already known", "already imported", "known transaction")
_REPLACEMENT = ("replacement transaction underpriced", "replacement underpriced")
_UNDERPRICED = ("underpriced", "fee too low", "max fee per gas less than block base fee", "gas price too low")


class TransactionTimeoutError(SettlekitError):
    """No receipt within the timeout, even after replacements."""


class SendError(SettlekitError):
    """The node refused a transaction for a reason settlekit cannot fix by itself."""


class OutcomeUnknownError(SendError):
    """The send's answer was lost (HTTP 5xx, reset, timeout) and the node does not show the transaction either:
    it may still be mined. Its nonce stays reserved; check ``tx_hash`` before sending again."""

    def __init__(self, message: str, *, hint: str, tx_hash: str, nonce: int) -> None:
        super().__init__(message, hint=hint)
        self.tx_hash = tx_hash
        self.nonce = nonce


@dataclass
class SentTransaction:
    """A transaction at one nonce and every attempt made for it (replacements included), newest last."""

    nonce: int
    params: dict[str, Any]
    fees: Fees
    attempts: list[SignedTransaction] = field(default_factory=list)
    sent_at: float = field(default_factory=time.monotonic)

    @property
    def latest(self) -> SignedTransaction:
        return self.attempts[-1]

    @property
    def hashes(self) -> list[bytes]:
        return [attempt.hash for attempt in self.attempts]


def _message(error: Exception) -> str:
    text = str(error)
    args = getattr(error, "args", ())
    if args and isinstance(args[0], dict):
        text = str(args[0].get("message", text))
    return text.lower()


class TransactionSender:
    """Sends transactions for one :class:`Signer`; safe to use from many threads at once."""

    def __init__(
        self,
        w3: Web3,
        signer: Signer,
        *,
        nonces: NonceManager | None = None,
        fees: FeeStrategy | None = None,
        bump_after: float = 30.0,
        poll_interval: float = 0.2,
        drop_check_interval: float = 2.0,
    ) -> None:
        self.w3 = w3
        self.signer = signer
        self.nonces = nonces or NonceManager(w3, signer.address)
        self.fees = fees or FeeStrategy(w3)
        self.bump_after = bump_after
        self.poll_interval = poll_interval
        self.drop_check_interval = drop_check_interval
        self._chain_id: int | None = None
        self._chain_lock = threading.Lock()

    @property
    def chain_id(self) -> int:
        with self._chain_lock:
            if self._chain_id is None:
                self._chain_id = int(self.w3.eth.chain_id)
            return self._chain_id

    # --- sending ---------------------------------------------------------------------------------------------

    def prepare(self, params: dict[str, Any]) -> dict[str, Any]:
        """Complete ``params`` with from, chain id and gas (estimated; a revert raises the decoded error)."""
        tx = {"from": self.signer.address, "value": 0, **params, "chainId": self.chain_id}
        if "gas" not in tx:
            try:
                estimate = int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
            except Exception as error:
                decoded = revert_from_exception(error)
                if decoded is None:
                    raise
                raise decoded from None
            tx["gas"] = estimate + estimate // 5  # 20% headroom: state may change before inclusion
        return tx

    def send(self, params: dict[str, Any]) -> SentTransaction:
        """Sign and send ``params`` at a freshly reserved nonce."""
        tx = self.prepare(params)
        fees = self.fees.market()
        while True:
            nonce = self.nonces.reserve()
            sent = SentTransaction(nonce, tx, fees)
            try:
                self._submit(sent, fees)
                return sent
            except _NonceTaken:
                self.nonces.resync()
                continue
            except OutcomeUnknownError:
                raise  # the nonce may be used by the lost transaction: never hand it out again
            except BaseException:
                self.nonces.release(nonce)
                raise

    def _submit(self, sent: SentTransaction, fees: Fees) -> None:
        body = {k: v for k, v in sent.params.items() if k not in ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas")}
        signed = self.signer.sign_transaction({**body, **fees.fields(), "nonce": sent.nonce})
        for _ in range(5):
            try:
                self.w3.eth.send_raw_transaction(signed.raw)
                break
            except Exception as error:
                if is_transport_error(error):
                    if self._lookup(HexBytes(signed.hash)):
                        break  # the answer was lost, but the node has the transaction
                    raise OutcomeUnknownError(
                        f"outcome unknown: the answer to sending {HexBytes(signed.hash).to_0x_hex()} (nonce "
                        f"{sent.nonce}) was lost and the node does not show it",
                        hint="do not send it again blindly: check the hash later (it may still be mined)",
                        tx_hash=HexBytes(signed.hash).to_0x_hex(),
                        nonce=sent.nonce,
                    ) from None
                message = _message(error)
                if any(marker in message for marker in _ALREADY_KNOWN):
                    break
                if not sent.attempts and any(marker in message for marker in _REPLACEMENT):
                    raise _NonceTaken from None  # someone else's pending transaction holds it: never outbid it
                if any(marker in message for marker in _NONCE_TOO_LOW):
                    if self._receipt_of_any(sent) is not None:
                        break  # an earlier attempt of ours at this nonce is already mined
                    raise _NonceTaken from None
                if any(marker in message for marker in _UNDERPRICED):
                    fees = self.fees.replacement(fees)
                    signed = self.signer.sign_transaction({**body, **fees.fields(), "nonce": sent.nonce})
                    continue
                raise SendError(
                    f"the node refused the transaction at nonce {sent.nonce}: {message[:300]}",
                    hint="check the account's balance and the transaction's fields",
                ) from None
        else:
            raise SendError(
                f"could not get nonce {sent.nonce} accepted after 5 fee bumps",
                hint="the network's fees are moving fast; retry later or raise the fee cap",
            )
        sent.fees = fees
        sent.attempts.append(signed)
        sent.sent_at = time.monotonic()

    def _lookup(self, tx_hash: HexBytes, tries: int = 5) -> bool:
        """Does the node have the transaction whose answer was lost? (a few tries)"""
        return node_knows(self.w3, tx_hash, tries)

    # --- waiting ---------------------------------------------------------------------------------------------

    def _receipt_of_any(self, sent: SentTransaction) -> TxReceipt | None:
        for tx_hash in reversed(sent.hashes):
            try:
                return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                continue
        return None

    def _known_to_node(self, sent: SentTransaction) -> bool:
        for tx_hash in sent.hashes:
            try:
                self.w3.eth.get_transaction(HexBytes(tx_hash))
                return True
            except TransactionNotFound:
                continue
        return False

    def wait(self, sent: SentTransaction, timeout: float = 120.0) -> TxReceipt:
        """Wait for a receipt of any attempt; replace when stuck, re-send when dropped. Raises the decoded revert
        for a mined failure and :class:`TransactionTimeoutError` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        next_drop_check = time.monotonic()
        while True:
            receipt = self._receipt_of_any(sent)
            if receipt is not None:
                if receipt["status"] != 1:
                    raise replay_failure(self.w3, receipt)
                return receipt
            now = time.monotonic()
            if now > deadline:
                raise TransactionTimeoutError(
                    f"no receipt for nonce {sent.nonce} after {timeout:g}s ({len(sent.attempts)} attempt(s))",
                    hint="the transaction is still pending; resume later, or cancel it with a self-transfer",
                )
            if now >= next_drop_check:
                next_drop_check = now + self.drop_check_interval
                if not self._known_to_node(sent):
                    self._resend(sent)
                    continue
            if now - sent.sent_at > self.bump_after:
                self._submit(sent, self.fees.replacement(sent.fees))
            time.sleep(self.poll_interval)

    def _resend(self, sent: SentTransaction) -> None:
        try:
            self.w3.eth.send_raw_transaction(sent.latest.raw)
        except Exception as error:
            message = _message(error)
            if any(marker in message for marker in _UNDERPRICED):
                self._submit(sent, self.fees.replacement(sent.fees))
            elif not any(marker in message for marker in (*_ALREADY_KNOWN, *_NONCE_TOO_LOW)):
                raise SendError(
                    f"re-sending nonce {sent.nonce} failed: {message[:300]}",
                    hint="check the node and the account's balance",
                ) from None

    def send_and_wait(self, params: dict[str, Any], timeout: float = 120.0) -> TxReceipt:
        return self.wait(self.send(params), timeout)

    def cancel(self, nonce: int, timeout: float = 120.0) -> TxReceipt:
        """Clear a hopeless nonce with a 0-value transfer to self at replacement fees."""
        tx = self.prepare({"to": self.signer.address, "value": 0, "gas": 21_000})
        sent = SentTransaction(nonce, tx, self.fees.market())
        self._submit(sent, self.fees.replacement(sent.fees))
        return self.wait(sent, timeout)


class _NonceTaken(Exception):
    """Internal: the nonce was used by a transaction that is not ours; reserve another."""
