"""Running a deployment plan through the journal: fresh, or resumed after a crash.

Order of facts for each contract: ``signed`` (nonce, raw transaction, hash) is journaled, then the bytes are sent,
then ``sent``, then ``receipt``. On ``--resume`` every step that has a ``signed`` record but no ``receipt`` is
reconciled first: a receipt on chain means done; a transaction the node knows means wait; one it does not know is
re-sent with the same bytes. A step is never re-signed at a new nonce: if its nonce was taken by something else the
deploy stops and says so. After the last step, every receipt waits for its confirmations and its block hash is
checked to be canonical (a reorged-out transaction is re-sent with its own bytes).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from settlekit.build import Artifact, ArtifactStore
from settlekit.build.artifacts import canonical_type
from settlekit.build.blueprint import blueprint_deployer
from settlekit.contracts import replay_failure
from settlekit.deploy.journal import JOURNAL_VERSION, Journal
from settlekit.deploy.keys import Signer, check_allowed
from settlekit.deploy.manifest import write_manifest
from settlekit.deploy.plan import (
    Deployment,
    Network,
    PlanError,
    Step,
    call_abi,
    check_plan,
    fingerprint,
    resolve_arg,
)
from settlekit.exceptions import SettlekitError
from settlekit.tx.fees import FeeStrategy

CRASH_ENV = "SETTLEKIT_DEPLOY_CRASH_AT"  # fault injection for the crash tests: "<step>:<boundary>"
Progress = Callable[[str], None]


class ResumeRefusedError(SettlekitError):
    """A journal exists but cannot be continued safely (other chain, other plan, other deployer, or no --resume)."""


class NonceConflictError(SettlekitError):
    """A journaled transaction's nonce was used by another transaction: re-signing silently is not allowed."""


@dataclass
class DeployResult:
    deployment: str
    network: str
    chain_id: int
    journal: Path
    manifest: Path
    addresses: dict[str, str]
    sent: int
    resumed: bool
    gas_used: int
    cost_wei: int


def _crash_point(step: str, boundary: str) -> None:
    if os.environ.get(CRASH_ENV) == f"{step}:{boundary}":
        os.kill(os.getpid(), signal.SIGKILL)


def constructor_types(artifact: Artifact) -> list[str]:
    constructor = next((item for item in artifact.abi if item.get("type") == "constructor"), None)
    return [canonical_type(param) for param in (constructor or {}).get("inputs", [])]


def init_code(artifact: Artifact, args: list[Any]) -> bytes:
    types = constructor_types(artifact)
    if len(types) != len(args):
        raise PlanError(
            f"{artifact.name} takes {len(types)} constructor argument(s) ({', '.join(types)}), "
            f"the plan gives {len(args)}",
            hint="fix the step's args",
        )
    return artifact.bytecode + (encode(types, args) if types else b"")


def journal_path(root: Path, chain_id: int, name: str) -> Path:
    return root / str(chain_id) / f"{name}.journal.jsonl"


class Deployer:
    """Runs one deployment of a plan on one network with one signer."""

    def __init__(
        self,
        w3: Web3,
        signer: Signer,
        deployment: Deployment,
        network: Network,
        store: ArtifactStore,
        *,
        root: Path,
        progress: Progress | None = None,
        poll_interval: float = 0.2,
        receipt_timeout: float = 300.0,
    ) -> None:
        self.w3, self.signer, self.deployment, self.network, self.store = w3, signer, deployment, network, store
        self.root = root
        self.say = progress or (lambda _message: None)
        self.poll_interval = poll_interval
        self.receipt_timeout = receipt_timeout
        self.fees = FeeStrategy(w3)

    # --- entry point -----------------------------------------------------------------------------------------

    def run(self, *, resume: bool = False) -> DeployResult:
        chain_id = int(self.w3.eth.chain_id)
        if self.network.chain_id is not None and chain_id != self.network.chain_id:
            raise PlanError(
                f"the node at the RPC URL reports chain id {chain_id}, network {self.network.name!r} "
                f"expects {self.network.chain_id}",
                hint="check --rpc-url and --network",
            )
        check_allowed(self.signer, chain_id, self.network.local_chain_ids)
        check_plan(self.deployment, self.network, self.store)
        roles = {"deployer": self.signer.address, "owner": self.signer.address, **self.network.roles}
        plan_hash = fingerprint(self.deployment, self.network, self.store, roles)
        genesis = HexBytes(self.w3.eth.get_block(0)["hash"]).to_0x_hex()
        journal = Journal(journal_path(self.root, chain_id, self.deployment.name))
        journal.acquire()
        try:
            resumed = self._open(journal, resume, chain_id, genesis, plan_hash)
            sent = self._reconcile(journal)
            addresses = self._addresses(journal)
            for step in self.deployment.steps:
                if step.id in self._done(journal):
                    continue
                where = f"step {step.id!r}"
                args = [resolve_arg(arg, roles, addresses, where) for arg in step.args]
                existing = step.existing.get(self.network.name)
                if step.is_call:
                    sent += self._call_step(journal, step, args, addresses)
                elif existing is not None and (step.mock or not self.network.local):
                    self._use_existing(journal, step.id, existing)
                else:
                    self._deploy_step(journal, step.id, self.store.get(step.artifact), args, blueprint=step.blueprint)
                    sent += 1
                addresses = self._addresses(journal)
            self._finalize(journal)
            manifest = write_manifest(journal, self.deployment, self.network, self.store, roles, self.root)
            receipts = [r for r in journal.records if r["kind"] == "receipt"]
            gas = sum(int(r["gas_used"]) for r in receipts)
            cost = sum(int(r["gas_used"]) * int(r.get("effective_gas_price", 0)) for r in receipts)
            return DeployResult(
                self.deployment.name,
                self.network.name,
                chain_id,
                journal.path,
                manifest,
                self._addresses(journal),
                sent,
                resumed,
                gas,
                cost,
            )
        finally:
            journal.release()

    # --- journal header and resume checks --------------------------------------------------------------------

    def _open(self, journal: Journal, resume: bool, chain_id: int, genesis: str, plan_hash: str) -> bool:
        if not journal.exists():
            if resume:
                raise ResumeRefusedError(
                    f"nothing to resume: no journal at {journal.path}",
                    hint="run without --resume to start the deployment",
                )
            journal.append(
                {
                    "kind": "header",
                    "version": JOURNAL_VERSION,
                    "deployment": self.deployment.name,
                    "network": self.network.name,
                    "chain_id": chain_id,
                    "genesis_hash": genesis,
                    "deployer": self.signer.address,
                    "plan": plan_hash,
                    "at": time.time(),
                }
            )
            return False
        journal.load()
        header = journal.header()
        if not resume:
            done = any(r["kind"] == "complete" for r in journal.records)
            raise ResumeRefusedError(
                f"a journal for deployment {self.deployment.name!r} on chain {chain_id} already exists"
                + (" and is complete" if done else ""),
                hint=f"pass --resume to continue it, or move {journal.path} away to deploy again from scratch",
            )
        if header is None:
            raise ResumeRefusedError(f"{journal.path} has no header", hint="move the file away and deploy again")
        problems = []
        if header["chain_id"] != chain_id:
            problems.append(f"the journal is for chain id {header['chain_id']}, the node reports {chain_id}")
        elif header["genesis_hash"] != genesis:
            problems.append(
                "the node's genesis block differs from the journal's (a different chain with the same id,"
                " e.g. a restarted local node)"
            )
        if header["plan"] != plan_hash:
            problems.append("the plan changed since the journal was started (bytecode, arguments or roles)")
        if header["deployer"] != self.signer.address:
            problems.append(
                f"the journal was written by {header['deployer']}, this deploy signs as {self.signer.address}"
            )
        if problems:
            raise ResumeRefusedError(
                "cannot resume: " + "; ".join(problems),
                hint="resume with the original chain, plan and account, or move "
                f"{journal.path} away to deploy from scratch",
            )
        journal.append({"kind": "resumed", "at": time.time()})
        return True

    # --- steps -----------------------------------------------------------------------------------------------

    def _addresses(self, journal: Journal) -> dict[str, str]:
        found: dict[str, str] = {}
        for record in journal.records:
            if record["kind"] == "receipt" and record.get("contract_address"):
                found[record["step"]] = record["contract_address"]
            elif record["kind"] == "existing":
                found[record["step"]] = record["address"]
        return found

    def _done(self, journal: Journal) -> set[str]:
        return {r["step"] for r in journal.records if r["kind"] in ("receipt", "existing", "skipped")}

    def _call_step(self, journal: Journal, step: Step, args: list[Any], addresses: dict[str, str]) -> int:
        """Send a call step's transaction, or skip it where its target is an existing contract (not our mock)."""
        assert step.target is not None
        assert step.function is not None
        target = step.target[1:]
        if step.mock and journal.last("existing", target) is not None:
            self.say(f"{step.id}: skipped ({target} is an existing contract on this network)")
            journal.append({"kind": "skipped", "step": step.id, "reason": f"{target} is existing"})
            return 0
        entry = call_abi(self.store.get(step.artifact), step)
        types = [canonical_type(param) for param in entry.get("inputs", [])]
        selector = function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
        data = selector + (encode(types, args) if types else b"")
        label = f"{target}.{entry['name']}"
        self._send_step(journal, step.id, data, to=addresses[target], artifact=step.artifact, args=args, label=label)
        return 1

    def _use_existing(self, journal: Journal, step: str, address: str) -> None:
        if not bytes(self.w3.eth.get_code(Web3.to_checksum_address(address))):
            raise PlanError(
                f"step {step!r}: the existing address {address} has no code on this chain",
                hint="check the address in the plan for this network",
            )
        self.say(f"{step}: using existing {address}")
        journal.append({"kind": "existing", "step": step, "address": address})

    def _deploy_step(
        self, journal: Journal, step: str, artifact: Artifact, args: list[Any], *, blueprint: bool = False
    ) -> None:
        if blueprint and args:
            raise PlanError(
                f"step {step!r} is a blueprint and cannot take constructor arguments",
                hint="a blueprint holds creation code; arguments go to create_from_blueprint",
            )
        data = blueprint_deployer(artifact.bytecode) if blueprint else init_code(artifact, args)
        self._send_step(journal, step, data, to=None, artifact=artifact.name, args=args, blueprint=blueprint)

    def _send_step(
        self,
        journal: Journal,
        step: str,
        data: bytes,
        *,
        to: str | None,
        artifact: str,
        args: list[Any],
        blueprint: bool = False,
        label: str | None = None,
    ) -> None:
        """Sign, journal, send and wait: a contract creation (``to`` None) or a call step."""
        nonce = int(self.w3.eth.get_transaction_count(self.signer.address, "pending"))
        tx: dict[str, Any] = {
            "from": self.signer.address,
            "data": HexBytes(data).to_0x_hex(),
            "value": 0,
            "chainId": int(self.w3.eth.chain_id),
            "nonce": nonce,
        }
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        estimate = int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
        tx["gas"] = estimate + estimate // 5
        tx.update(self.fees.market().fields())
        del tx["from"]
        signed = self.signer.sign_transaction(tx)
        record: dict[str, Any] = {
            "kind": "signed",
            "step": step,
            "artifact": artifact,
            "blueprint": blueprint,
            "nonce": nonce,
            "tx_hash": HexBytes(signed.hash).to_0x_hex(),
            "raw_tx": HexBytes(signed.raw).to_0x_hex(),
            "args": [_jsonable(a) for a in args],
            "gas_limit": tx["gas"],
        }
        if to is not None:
            record["to"] = tx["to"]
            record["call"] = label
        journal.append(record)
        _crash_point(step, "before-send")
        self.say(f"{step}: sending {label or artifact} (nonce {nonce})")
        self.w3.eth.send_raw_transaction(signed.raw)
        journal.append({"kind": "sent", "step": step, "tx_hash": HexBytes(signed.hash).to_0x_hex()})
        _crash_point(step, "after-send")
        self._record_receipt(journal, step, self._wait(HexBytes(signed.hash), HexBytes(signed.raw)))
        _crash_point(step, "after-receipt")

    def _record_receipt(self, journal: Journal, step: str, receipt: TxReceipt) -> None:
        if receipt["status"] != 1:
            raise replay_failure(self.w3, receipt)
        address = receipt["contractAddress"]
        if address:
            self.say(f"{step}: deployed at {address} in block {receipt['blockNumber']}")
        else:
            self.say(f"{step}: mined in block {receipt['blockNumber']}")
        journal.append(
            {
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
        )

    def _wait(self, tx_hash: HexBytes, raw: HexBytes) -> TxReceipt:
        deadline = time.monotonic() + self.receipt_timeout
        while time.monotonic() < deadline:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                pass
            try:
                self.w3.eth.get_transaction(tx_hash)
            except TransactionNotFound:
                self._resend(tx_hash, raw)
            time.sleep(self.poll_interval)
        raise SettlekitError(
            f"no receipt for {tx_hash.to_0x_hex()} after {self.receipt_timeout:g}s",
            hint="the transaction may still be pending; run the deploy again with --resume later",
        )

    def _resend(self, tx_hash: HexBytes, raw: HexBytes) -> None:
        try:
            self.w3.eth.send_raw_transaction(raw)
        except Exception as error:
            message = str(error).lower()
            if "already known" in message:
                return
            if "nonce too low" in message or "nonce is too low" in message:
                try:
                    self.w3.eth.get_transaction_receipt(tx_hash)
                    return
                except TransactionNotFound:
                    raise NonceConflictError(
                        f"the nonce of journaled transaction {tx_hash.to_0x_hex()} was used by another transaction",
                        hint="settlekit will not re-sign a step at a new nonce by itself; inspect the account's "
                        "transactions, then move the journal away to deploy the remaining steps from scratch",
                    ) from None
            raise

    def _reconcile(self, journal: Journal) -> int:
        """Settle every step that was signed but has no receipt yet; returns how many were re-sent."""
        resent = 0
        for record in [r for r in journal.records if r["kind"] == "signed"]:
            step = record["step"]
            if journal.last("receipt", step) is not None:
                continue
            tx_hash, raw = HexBytes(record["tx_hash"]), HexBytes(record["raw_tx"])
            try:
                receipt = self.w3.eth.get_transaction_receipt(tx_hash)
                self.say(f"{step}: already mined (found its receipt)")
            except TransactionNotFound:
                try:
                    self.w3.eth.get_transaction(tx_hash)
                    self.say(f"{step}: pending on the node, waiting")
                except TransactionNotFound:
                    self.say(f"{step}: unknown to the node, re-sending the same signed bytes")
                    self._resend(tx_hash, raw)
                    journal.append({"kind": "sent", "step": step, "tx_hash": record["tx_hash"], "resent": True})
                    resent += 1
                receipt = self._wait(tx_hash, raw)
            self._record_receipt(journal, step, receipt)
        return resent

    # --- finality --------------------------------------------------------------------------------------------

    def _finalize(self, journal: Journal) -> None:
        """Wait for confirmations, and check every receipt's block is still canonical."""
        needed = self.network.confirmations
        for record in [r for r in journal.records if r["kind"] == "receipt"]:
            step = record["step"]
            if journal.last("final", step) is not None:
                continue
            receipt = record
            while True:
                head = int(self.w3.eth.block_number)
                canonical = HexBytes(self.w3.eth.get_block(receipt["block_number"])["hash"]).to_0x_hex()
                if canonical != receipt["block_hash"]:
                    self.say(f"{step}: block {receipt['block_number']} was reorged out; re-checking its transaction")
                    signed = journal.last("signed", step)
                    assert signed is not None
                    self._record_receipt(
                        journal, step, self._wait(HexBytes(signed["tx_hash"]), HexBytes(signed["raw_tx"]))
                    )
                    receipt = journal.last("receipt", step) or receipt
                    continue
                if head - receipt["block_number"] >= needed:
                    break
                time.sleep(self.poll_interval)
            journal.append(
                {
                    "kind": "final",
                    "step": step,
                    "block_hash": receipt["block_hash"],
                    "confirmations": head - receipt["block_number"],
                }
            )
        journal.append({"kind": "complete", "at": time.time()})


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
