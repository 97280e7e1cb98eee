"""One deployment's transactions against the node: nonces from the journal, sending, waiting with fee bumps, and
re-checking that every journaled step is still on the canonical chain.

A step's *attempts* are its ``signed`` records (the first signature and every fee-bump replacement, all at one
nonce) after its last ``abandoned`` record. A step is abandoned only when its nonce was consumed by a transaction that
is not in the journal and no later step was signed after it: its bytes can then never be mined, nothing used its
address, and it is signed again at the next free nonce (with a warning). Every other vanished step is re-sent with
its journaled bytes, or the run stops naming the step and the command that continues.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from settlekit.contracts import replay_failure
from settlekit.deploy.errors import (
    DeployTimeoutError,
    ForeignTransactionError,
    NonceConflictError,
    OutcomeUnknownError,
    StepReorgedOutError,
)
from settlekit.deploy.journal import Journal
from settlekit.deploy.keys import Signer
from settlekit.deploy.rawtx import unsigned_fields
from settlekit.errors import ReasonRevert, revert_from_exception
from settlekit.exceptions import InsufficientFundsError, SettlekitError
from settlekit.tx.fees import FeeCapError, Fees, FeeStrategy, bump
from settlekit.tx.transport import is_transport_error, node_knows

_NONCE_TOO_LOW = ("nonce too low", "nonce is too low", "invalid nonce", "old nonce")
_ALREADY_KNOWN = ("already known", "already imported", "known transaction")
_REPLACEMENT = ("replacement transaction underpriced", "replacement underpriced")
_UNDERPRICED = ("underpriced", "fee too low", "less than block base fee", "gas price too low", "fee cap less")


class Warn(Protocol):
    def __call__(self, code: str, message: str, **extra: Any) -> None: ...


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def error_text(error: BaseException) -> str:
    args = getattr(error, "args", ())
    if args and isinstance(args[0], dict):
        return str(args[0].get("message", error)).lower()
    return str(error).lower()


def fees_of(raw: bytes) -> Fees:
    fields = unsigned_fields(raw)
    if "gasPrice" in fields:
        return Fees(gas_price=fields["gasPrice"])
    return Fees(max_fee=fields["maxFeePerGas"], max_priority_fee=fields["maxPriorityFeePerGas"])


class Settler:
    """Sends, waits for and re-checks the transactions of one journal."""

    def __init__(
        self,
        w3: Web3,
        signer: Signer,
        journal: Journal,
        fees: FeeStrategy,
        *,
        say: Callable[[str], None],
        warn: Warn,
        poll_interval: float,
        receipt_timeout: float,
        bump_after: float | None,
        resume_command: str,
    ) -> None:
        self.w3, self.signer, self.journal, self.fees = w3, signer, journal, fees
        self.say, self.warn = say, warn
        self.poll_interval = poll_interval
        self.receipt_timeout = receipt_timeout
        self.bump_after = bump_after
        self.resume_command = resume_command

    # --- what the journal says -------------------------------------------------------------------------------

    def attempts(self, step: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for record in self.journal.records:
            if record.get("step") != step:
                continue
            if record["kind"] == "signed":
                found.append(record)
            elif record["kind"] == "abandoned":
                found = []
        return found

    def signed_steps(self) -> list[str]:
        order: list[str] = []
        for record in self.journal.records:
            if record["kind"] == "signed" and record["step"] not in order:
                order.append(record["step"])
        return [step for step in order if self.attempts(step)]

    def live_receipt(self, step: str) -> dict[str, Any] | None:
        hashes = {a["tx_hash"] for a in self.attempts(step)}
        receipt = self.journal.last("receipt", step)
        return receipt if receipt is not None and receipt["tx_hash"] in hashes else None

    def used_nonces(self) -> set[int]:
        used = {int(r["nonce"]) for r in self.journal.records if r["kind"] == "signed"}
        for record in self.journal.records:
            if record["kind"] == "warning" and record.get("code") == "foreign_tx":
                used.update(int(n) for n in record.get("nonces", []))
        return used

    # --- nonces ----------------------------------------------------------------------------------------------

    def _count(self, tag: str) -> int:
        return int(self.w3.eth.get_transaction_count(self.signer.address, tag))  # type: ignore[arg-type]

    def next_nonce(self) -> int:
        """The journal's last nonce + 1, cross-checked against the node (call after :meth:`recheck_all`)."""
        latest, pending = self._count("latest"), self._count("pending")
        used = self.used_nonces()
        if not used:
            return max(latest, pending)
        expected = max(used) + 1
        if latest > expected:
            foreign = list(range(expected, latest))
            self.warn(
                "foreign_tx",
                f"nonce(s) {', '.join(map(str, foreign))} of the deployer {self.signer.address} were used by "
                "transaction(s) that are not in this deployment's journal (mined between its steps); "
                f"continuing at nonce {latest}",
                nonces=foreign,
            )
            expected = latest
        if pending > expected:
            raise ForeignTransactionError(
                f"nonce {expected} of the deployer {self.signer.address} is held by a pending transaction that is "
                f"not in this deployment's journal{self._foreign_hash(expected)}",
                hint="another tool is sending from this account: let that transaction be mined (the deploy then "
                f"records it and continues at the next nonce) or cancel it, then run: {self.resume_command}",
            )
        if latest < expected:
            self.warn(
                "node_lags",
                f"the node reports {latest} mined transaction(s) ({pending} pending) for the deployer but the "
                f"journal's steps already used nonces up to {expected - 1} and their receipts are on chain: the "
                f"node lags behind (a replica?); signing at the journal's nonce {expected}",
                node_latest=latest,
                node_pending=pending,
            )
        return expected

    def _foreign_hash(self, nonce: int) -> str:
        try:
            content = self.w3.provider.make_request("txpool_content", [])  # type: ignore[arg-type]
            pending = content["result"]["pending"]
            for account, by_nonce in pending.items():
                if account.lower() == self.signer.address.lower() and str(nonce) in by_nonce:
                    return f" ({by_nonce[str(nonce)]['hash']})"
        except Exception:  # txpool_content is optional (anvil, geth); the message is complete without the hash
            return ""
        return ""

    # --- sending ---------------------------------------------------------------------------------------------

    def estimate(self, tx: dict[str, Any], step: str) -> int:
        try:
            estimate = int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
        except Exception as error:
            decoded = revert_from_exception(error)
            if decoded is None:
                raise
            reason = decoded.text if isinstance(decoded, ReasonRevert) else decoded.message
            decoded.message = f"step {step!r} would revert: {reason}"
            decoded.args = (decoded.message,)
            decoded.hint = "check the step's arguments in the plan against the reason (docs/errors.md lists them)"
            raise decoded from None
        return estimate + estimate // 5  # 20% headroom: state may change before inclusion

    def send(self, step: str, raw: HexBytes, tx_hash: HexBytes, *, first: bool = True) -> None:
        """Hand ``raw`` to the node. A lost answer is checked by hash; refusals become typed errors."""
        try:
            self.w3.eth.send_raw_transaction(raw)
            return
        except Exception as error:
            if is_transport_error(error):
                if self._known(tx_hash, tries=5):
                    self.say(f"{step}: the node's answer was lost, but it knows {tx_hash.to_0x_hex()}")
                    return
                raise OutcomeUnknownError(
                    f"step {step!r}: the answer to sending {tx_hash.to_0x_hex()} was lost ({type(error).__name__}) "
                    "and the node does not show the transaction: outcome unknown",
                    hint="the journal holds its signed bytes, so nothing is sent twice; check the node, then run: "
                    f"{self.resume_command}",
                ) from None
            message = error_text(error)
            if any(marker in message for marker in _ALREADY_KNOWN):
                return
            if any(marker in message for marker in _REPLACEMENT) and first:
                nonce = unsigned_fields(bytes(raw))["nonce"]
                raise ForeignTransactionError(
                    f"step {step!r}: its nonce {nonce} is held by a pending transaction that is not in this "
                    f"deployment's journal{self._foreign_hash(nonce)}",
                    hint="settlekit does not outbid a transaction it did not sign: let it be mined or cancel it, "
                    f"then run: {self.resume_command}",
                ) from None
            if any(marker in message for marker in _NONCE_TOO_LOW):
                raise _NonceUsed from None
            if any(marker in message for marker in _UNDERPRICED):
                raise _Underpriced from None
            if "insufficient funds" in message.lower():
                raise InsufficientFundsError(
                    f"step {step!r}: the signing account {self.signer.address} cannot pay for transaction "
                    f"{tx_hash.to_0x_hex()}: {message[:300]}",
                    hint=f"fund {self.signer.address}, then run: {self.resume_command}",
                ) from None
            raise SettlekitError(
                f"step {step!r}: the node refused transaction {tx_hash.to_0x_hex()}: {message[:300]}",
                hint=f"fix the cause (the account's balance, the node), then run: {self.resume_command}",
            ) from None

    def send_first(self, step: str, raw: HexBytes, tx_hash: HexBytes) -> bool:
        """Send a step's first attempt; if the fees moved above it meanwhile, replace it at once (journaled).
        True when these bytes were accepted."""
        try:
            self.send(step, raw, tx_hash)
        except _Underpriced:
            self._bump(step)
            return False
        except _NonceUsed:
            if not self._resend(step):  # sorts out ours-already-mined from taken-by-someone-else
                raise ForeignTransactionError(
                    f"step {step!r}: its nonce was taken by a transaction that is not in the journal as it was sent",
                    hint=f"the step is signed again at the next free nonce by: {self.resume_command}",
                ) from None
            return False
        return True

    def _known(self, tx_hash: HexBytes, tries: int = 1) -> bool:
        return node_knows(self.w3, tx_hash, tries)

    def _receipt(self, step: str) -> TxReceipt | None:
        for attempt in reversed(self.attempts(step)):
            try:
                return self.w3.eth.get_transaction_receipt(HexBytes(attempt["tx_hash"]))
            except TransactionNotFound:
                continue
        return None

    # --- waiting, bumping ------------------------------------------------------------------------------------

    def wait(self, step: str) -> TxReceipt:
        """A receipt of any attempt of ``step``; a stuck one is replaced with bumped fees after ``bump_after``
        seconds, a dropped one re-sent with its bytes; progress is reported as the head moves."""
        deadline = time.monotonic() + self.receipt_timeout
        last_sent = time.monotonic()
        shown_head = -1
        capped = False
        while True:
            receipt = self._receipt(step)
            if receipt is not None:
                return receipt
            now = time.monotonic()
            latest = self.attempts(step)[-1]
            if now > deadline:
                raise DeployTimeoutError(
                    f"step {step!r}: no receipt for nonce {latest['nonce']} after {self.receipt_timeout:g}s "
                    f"({len(self.attempts(step))} attempt(s), last {latest['tx_hash']})",
                    hint=f"the journal holds every attempt's bytes; run later: {self.resume_command}",
                )
            head = int(self.w3.eth.block_number)
            if head != shown_head:
                fee = fees_of(HexBytes(latest["raw_tx"])).highest()
                self.say(
                    f"{step}: waiting for inclusion (nonce {latest['nonce']}, attempt {latest.get('attempt', 0) + 1}"
                    f", max fee {fee / 1e9:g} gwei), block {head}"
                )
                shown_head = head
            if not any(self._known(HexBytes(a["tx_hash"])) for a in self.attempts(step)):
                self._resend(step)
            elif self.bump_after is not None and not capped and now - last_sent > self.bump_after:
                capped = not self._bump(step)
                last_sent = time.monotonic()
            time.sleep(self.poll_interval)

    def _bump(self, step: str) -> bool:
        """Replace the step's latest attempt with fees >= 1.10x + 1 wei (journaled first); False at the cap."""
        latest = self.attempts(step)[-1]
        raw = HexBytes(latest["raw_tx"])
        try:
            fees = bump(fees_of(raw), self.fees._read_market(), self.fees.cap)
        except FeeCapError as error:
            self.warn("fee_cap", f"{step}: {error.message}; waiting at the current fee", tx_hash=latest["tx_hash"])
            return False
        fields = {
            k: v
            for k, v in unsigned_fields(raw).items()
            if k not in ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas")
        }
        signed = self.signer.sign_transaction({**fields, **fees.fields()})
        record = {
            **{k: v for k, v in latest.items() if k not in ("tx_hash", "raw_tx", "fees", "attempt", "replaces")},
            "attempt": int(latest.get("attempt", 0)) + 1,
            "replaces": latest["tx_hash"],
            "tx_hash": HexBytes(signed.hash).to_0x_hex(),
            "raw_tx": HexBytes(signed.raw).to_0x_hex(),
            "fees": fees.fields(),
        }
        self.journal.append(record)
        self.say(
            f"{step}: stuck for {self.bump_after:g}s, replacing nonce {latest['nonce']} with max fee "
            f"{fees.highest() / 1e9:g} gwei (attempt {record['attempt'] + 1})"
        )
        try:
            self.send(step, HexBytes(signed.raw), HexBytes(signed.hash), first=False)
        except _Underpriced:
            return True  # the market moved again; the next bump goes higher
        except _NonceUsed:
            return True  # an earlier attempt was mined meanwhile: the next poll finds its receipt
        self.journal.append({"kind": "sent", "step": step, "tx_hash": record["tx_hash"], "replacement": True})
        return True

    def _resend(self, step: str) -> bool:
        """Re-send the step's latest journaled bytes. False when the step was abandoned (nonce taken)."""
        latest = self.attempts(step)[-1]
        try:
            self.send(
                step, HexBytes(latest["raw_tx"]), HexBytes(latest["tx_hash"]), first=len(self.attempts(step)) == 1
            )
        except _Underpriced:
            if self.bump_after is None:
                self._bump(step)
            return True
        except _NonceUsed:
            if self._receipt(step) is not None:
                return True
            return self._nonce_taken(step)
        self.journal.append({"kind": "sent", "step": step, "tx_hash": latest["tx_hash"], "resent": True})
        return True

    def _nonce_taken(self, step: str) -> bool:
        """The step's nonce was consumed by a transaction that is not in the journal."""
        nonce = int(self.attempts(step)[-1]["nonce"])
        steps = self.signed_steps()
        later = steps[steps.index(step) + 1 :]
        had_receipt = self.live_receipt(step) is not None
        if later:
            raise (StepReorgedOutError if had_receipt else NonceConflictError)(
                (f"step {step!r} was reorged out" if had_receipt else f"step {step!r} was never mined")
                + f" and its nonce {nonce} is now used by a transaction that is not in the journal; steps "
                f"{', '.join(later)} were signed after it",
                hint="its bytes can never be mined again and later steps may use its address: inspect the account, "
                f"then move {self.journal.path} away and deploy again",
            )
        self.warn(
            "foreign_tx",
            f"step {step!r} "
            + ("was reorged out and its" if had_receipt else "was never mined and its")
            + f" nonce {nonce} is now used by a transaction that is not in the journal; no later step depends on it, "
            "so it is signed again at the next free nonce",
            nonces=[nonce],
        )
        self.journal.append({"kind": "abandoned", "step": step, "nonce": nonce, "at": time.time()})
        return False

    # --- receipts --------------------------------------------------------------------------------------------

    def record(self, step: str, receipt: TxReceipt) -> dict[str, Any]:
        if receipt["status"] != 1:
            raise replay_failure(self.w3, receipt)
        signed = next(
            a for a in self.attempts(step) if a["tx_hash"] == HexBytes(receipt["transactionHash"]).to_0x_hex()
        )
        address = signed.get("create2_address") or receipt["contractAddress"]
        if address:
            self.say(f"{step}: deployed at {address} in block {receipt['blockNumber']}")
        else:
            self.say(f"{step}: mined in block {receipt['blockNumber']}")
        record = {
            "kind": "receipt",
            "step": step,
            "tx_hash": HexBytes(receipt["transactionHash"]).to_0x_hex(),
            "block_number": int(receipt["blockNumber"]),
            "block_hash": HexBytes(receipt["blockHash"]).to_0x_hex(),
            "contract_address": address,
            "gas_used": int(receipt["gasUsed"]),
            "effective_gas_price": int(receipt.get("effectiveGasPrice", 0)),
            "status": 1,
        }
        self.journal.append(record)
        return record

    def ensure_canonical(self, step: str) -> dict[str, Any]:
        """The step's receipt as the node has it now: unchanged, moved to another block, or (vanished) re-sent
        with the journaled bytes and waited for."""
        journaled = self.live_receipt(step)
        receipt = self._receipt(step)
        if receipt is not None:
            if journaled is not None and journaled["block_hash"] == HexBytes(receipt["blockHash"]).to_0x_hex():
                return journaled
            if journaled is not None:
                self.say(f"{step}: its transaction moved from block {journaled['block_number']} (reorg)")
            return self.record(step, receipt)
        if journaled is not None:
            self.say(
                f"{step}: its receipt in block {journaled['block_number']} vanished (step {step!r} was reorged out); "
                "re-sending its journaled bytes (same nonce, same address)"
            )
        if not any(self._known(HexBytes(a["tx_hash"])) for a in self.attempts(step)):
            try:
                if not self._resend(step):
                    raise _Abandoned
            except SettlekitError as error:
                if journaled is None or isinstance(error, StepReorgedOutError | NonceConflictError):
                    raise
                raise StepReorgedOutError(
                    f"step {step!r} was reorged out and re-sending its journaled bytes failed: {error.message}",
                    hint=error.hint,
                ) from None
        else:
            self.say(f"{step}: pending on the node, waiting")
        return self.record(step, self.wait(step))

    def recheck_all(self) -> int:
        """Check every live step's receipt (vanished ones are re-sent); returns how many were re-sent."""
        resent = 0
        for step in self.signed_steps():
            before = sum(1 for r in self.journal.records if r["kind"] == "sent" and r.get("resent"))
            try:
                self.ensure_canonical(step)
            except _Abandoned:
                continue
            resent += sum(1 for r in self.journal.records if r["kind"] == "sent" and r.get("resent")) - before
        return resent


class _NonceUsed(Exception):
    """Internal: the node says the nonce is already used."""


class _Underpriced(Exception):
    """Internal: the node wants higher fees."""


class _Abandoned(Exception):
    """Internal: the step was abandoned (its nonce was consumed by someone else); it is signed again."""
