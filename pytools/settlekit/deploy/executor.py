"""Running a deployment plan through the journal: fresh, resumed after a crash, or continued after the plan grew.

Trust order: the journal over the node. Every new step is signed at the journal's last nonce + 1 (the node's pending
count is only cross-checked: a foreign transaction mined in between is recorded and warned about, a foreign pending
one stops the run, a node that lags is warned about and the journal's nonce is used). Before each new step, and on
every resume and during finalization, each earlier step's receipt is looked up again: one that vanished (a reorg, or
another chain behind the same URL) is re-sent with its journaled bytes, so it lands at the same nonce and address, or
the run stops naming the step and the command that continues. Stuck transactions are replaced with bumped fees
(journaled before they are sent). The per-transaction mechanics live in :mod:`settlekit.deploy.settle`.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3

from settlekit.build import Artifact, ArtifactStore
from settlekit.build.artifacts import canonical_type
from settlekit.build.blueprint import blueprint_deployer
from settlekit.deploy import create2
from settlekit.deploy.errors import (
    DeployInterruptedError,
    DeployTimeoutError,
    ForeignTransactionError,
    NonceConflictError,
    PlanChangedError,
    ResumeRefusedError,
)
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
    step_fingerprints,
)
from settlekit.deploy.preflight import check_arguments
from settlekit.deploy.settle import Settler, jsonable
from settlekit.tx.fees import FeeStrategy

CRASH_ENV = "SETTLEKIT_DEPLOY_CRASH_AT"  # fault injection for the crash tests: "<step>:<boundary>"
Progress = Callable[[str], None]

__all__ = [
    "CRASH_ENV",
    "DeployResult",
    "Deployer",
    "NonceConflictError",
    "Progress",
    "ResumeRefusedError",
    "constructor_types",
    "init_code",
    "journal_path",
]


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
    warnings: list[str] = field(default_factory=list)


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
        receipt_timeout: float | None = None,
        bump_after: float | None = None,
        resume_command: str | None = None,
    ) -> None:
        self.w3, self.signer, self.deployment, self.network, self.store = w3, signer, deployment, network, store
        self.root = root
        self.say = progress or (lambda _message: None)
        self.poll_interval = poll_interval
        self.receipt_timeout = receipt_timeout if receipt_timeout is not None else network.receipt_timeout
        self.bump_after = bump_after if bump_after is not None else network.bump_after
        self.resume_command = resume_command or (
            f"settlekit deploy {deployment.name} --network {network.name} --resume"
        )
        self.fees = FeeStrategy(w3, cap=network.max_fee_wei)
        self.warnings: list[str] = []

    # --- entry point -----------------------------------------------------------------------------------------

    def run(self, *, resume: bool = False) -> DeployResult:
        try:
            return self._run(resume)
        except KeyboardInterrupt:
            raise DeployInterruptedError(
                f"deployment {self.deployment.name!r} interrupted; the journal holds every transaction signed so far",
                hint=f"continue it with: {self.resume_command}",
            ) from None

    def _run(self, resume: bool) -> DeployResult:
        chain_id = int(self.w3.eth.chain_id)
        if self.network.chain_id is not None and chain_id != self.network.chain_id:
            raise PlanError(
                f"the node at the RPC URL reports chain id {chain_id}, network {self.network.name!r} "
                f"expects {self.network.chain_id}",
                hint="check --rpc-url and --network",
            )
        check_allowed(self.signer, chain_id, self.network.local_chain_ids)
        check_plan(self.deployment, self.network, self.store)
        if self.deployment.create2:
            create2.check_create2_plan(self.deployment)
        roles = {"deployer": self.signer.address, "owner": self.signer.address, **self.network.roles}
        check_arguments(self.deployment, self.network, self.store, roles)  # before anything is sent
        plan_hash = fingerprint(self.deployment, self.network, self.store, roles)
        self.step_fps = step_fingerprints(self.deployment, self.network, self.store, roles)
        genesis = HexBytes(self.w3.eth.get_block(0)["hash"]).to_0x_hex()
        journal = Journal(journal_path(self.root, chain_id, self.deployment.name))
        journal.acquire()
        try:
            resumed = self._open(journal, resume, chain_id, genesis, plan_hash)
            settler = Settler(
                self.w3,
                self.signer,
                journal,
                self.fees,
                say=self._say,
                warn=lambda code, message, **extra: self._warn(journal, code, message, **extra),
                poll_interval=self.poll_interval,
                receipt_timeout=self.receipt_timeout,
                bump_after=self.bump_after,
                resume_command=self.resume_command,
            )
            self.settler = settler
            sent = settler.recheck_all()
            if self.deployment.create2:
                create2.ensure_proxy(self.w3, self.network, self._say)
            addresses = self._addresses(journal)
            for step in self.deployment.steps:
                if step.id in self._done(journal):
                    continue
                where = f"step {step.id!r}"
                args = [resolve_arg(arg, roles, addresses, where) for arg in step.args]
                existing = step.existing.get(self.network.name)
                if step.is_call:
                    sent += self._call_step(journal, step, args, addresses)
                elif existing is not None and (step.mock or step.forced_existing or not self.network.local):
                    self._use_existing(journal, step, existing)
                else:
                    self._deploy_step(journal, step, self.store.get(step.artifact), args)
                    sent += 1
                addresses = self._addresses(journal)
            self._finalize(journal)
            manifest = write_manifest(journal, self.deployment, self.network, self.store, roles, self.root)
            receipts = [journal.last("receipt", s.id) for s in self.deployment.steps]
            gas = sum(int(r["gas_used"]) for r in receipts if r is not None)
            cost = sum(int(r["gas_used"]) * int(r.get("effective_gas_price", 0)) for r in receipts if r is not None)
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
                list(self.warnings),
            )
        finally:
            journal.release()

    def _say(self, message: str) -> None:
        self.say(message)

    def _warn(self, journal: Journal, code: str, message: str, **extra: Any) -> None:
        self.warnings.append(message)
        self.say(f"warning: {message}")
        journal.append({"kind": "warning", "code": code, "message": message, "at": time.time(), **extra})

    # --- journal header, resume checks and plan evolution ----------------------------------------------------

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
                    "steps": self.step_fps,
                    "create2": self.deployment.create2,
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
                hint=f"pass --resume to continue it (appended steps are deployed), or move {journal.path} away "
                "to deploy again from scratch",
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
        if header["deployer"] != self.signer.address:
            problems.append(
                f"the journal was written by {header['deployer']}, this deploy signs as {self.signer.address}"
            )
        if bool(header.get("create2", False)) != self.deployment.create2:
            problems.append("the plan switched create2 mode on or off since the journal was started")
        if problems:
            raise ResumeRefusedError(
                "cannot resume: " + "; ".join(problems),
                hint="resume with the original chain, plan and account, or move "
                f"{journal.path} away to deploy from scratch",
            )
        current_plan = self._current_plan(journal)
        if current_plan != plan_hash:
            self._evolve(journal, plan_hash)
        journal.append({"kind": "resumed", "at": time.time()})
        return True

    def _current_plan(self, journal: Journal) -> str:
        changes = [r for r in journal.records if r["kind"] == "plan_changed"]
        header = journal.header()
        assert header is not None
        return str(changes[-1]["plan"] if changes else header["plan"])

    def _evolve(self, journal: Journal, plan_hash: str) -> None:
        """The plan changed: continue if only unsent steps changed or steps were added; refuse naming a sent one."""
        header = journal.header()
        assert header is not None
        if "steps" not in header:  # a version-1 journal has no per-step fingerprints
            raise PlanChangedError(
                "cannot resume: the plan changed since the journal was started (bytecode, arguments or roles)",
                hint=f"resume with the original plan, or move {journal.path} away to deploy from scratch",
            )
        used = [r for r in journal.records if r["kind"] in ("signed", "existing", "skipped") and "step" in r]
        for record in used:
            step = record["step"]
            if step not in self.step_fps:
                raise PlanChangedError(
                    f"cannot resume: the plan changed: step {step!r} was already sent but is no longer in the plan",
                    hint=f"put step {step!r} back as it was, or move {journal.path} away to deploy from scratch",
                )
            if record.get("step_fp") not in (None, self.step_fps[step]):
                raise PlanChangedError(
                    f"cannot resume: the plan changed step {step!r}, which was already sent "
                    "(its artifact, bytecode, arguments or roles differ from the journal's)",
                    hint=f"undo the change to step {step!r} (change only steps not sent yet, or add new ones), "
                    f"or move {journal.path} away to deploy from scratch",
                )
        sent_ids = {r["step"] for r in used}
        old = self._latest_step_fps(journal)
        added = [s for s in self.step_fps if s not in old]
        changed = [s for s in self.step_fps if s in old and old[s] != self.step_fps[s] and s not in sent_ids]
        self.say(
            "the plan changed since the journal was started: "
            + "; ".join(
                part
                for part in (
                    f"new steps {', '.join(added)}" if added else "",
                    f"changed unsent steps {', '.join(changed)}" if changed else "",
                )
                if part
            )
            + "; continuing the journal"
        )
        journal.append(
            {"kind": "plan_changed", "plan": plan_hash, "steps": self.step_fps, "added": added, "changed": changed}
        )

    def _latest_step_fps(self, journal: Journal) -> dict[str, str]:
        changes = [r for r in journal.records if r["kind"] == "plan_changed"]
        header = journal.header()
        assert header is not None
        return dict(changes[-1]["steps"] if changes else header.get("steps", {}))

    # --- steps -----------------------------------------------------------------------------------------------

    def _addresses(self, journal: Journal) -> dict[str, str]:
        found: dict[str, str] = {}
        for record in journal.records:
            if record["kind"] == "existing":
                found[record["step"]] = record["address"]
        for step in self.settler.signed_steps():
            receipt = self.settler.live_receipt(step)
            if receipt is not None and receipt.get("contract_address"):
                found[step] = receipt["contract_address"]
        return found

    def _done(self, journal: Journal) -> set[str]:
        done = {r["step"] for r in journal.records if r["kind"] in ("existing", "skipped")}
        return done | set(self.settler.signed_steps())  # abandoned steps (nonce taken by someone else) are not

    def _call_step(self, journal: Journal, step: Step, args: list[Any], addresses: dict[str, str]) -> int:
        """Send a call step's transaction, or skip it where its target is an existing contract (not our mock)."""
        assert step.target is not None
        assert step.function is not None
        target = step.target[1:]
        if step.mock and journal.last("existing", target) is not None:
            self.say(f"{step.id}: skipped ({target} is an existing contract on this network)")
            journal.append(
                {
                    "kind": "skipped",
                    "step": step.id,
                    "reason": f"{target} is existing",
                    "step_fp": self.step_fps[step.id],
                }
            )
            return 0
        entry = call_abi(self.store.get(step.artifact), step)
        types = [canonical_type(param) for param in entry.get("inputs", [])]
        selector = function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
        data = selector + (encode(types, args) if types else b"")
        label = f"{target}.{entry['name']}"
        self._send_step(journal, step, data, to=addresses[target], artifact=step.artifact, args=args, label=label)
        return 1

    def _use_existing(self, journal: Journal, step: Step, address: str) -> None:
        if not bytes(self.w3.eth.get_code(Web3.to_checksum_address(address))):
            raise PlanError(
                f"step {step.id!r}: the existing address {address} has no code on this chain",
                hint="check the address in the plan for this network (or the --set override)",
            )
        self.say(f"{step.id}: using existing {address}" + (" (--set)" if step.forced_existing else ""))
        journal.append(
            {
                "kind": "existing",
                "step": step.id,
                "address": address,
                "override": step.forced_existing,
                "step_fp": self.step_fps[step.id],
            }
        )

    def _deploy_step(self, journal: Journal, step: Step, artifact: Artifact, args: list[Any]) -> None:
        if step.blueprint and args:
            raise PlanError(
                f"step {step.id!r} is a blueprint and cannot take constructor arguments",
                hint="a blueprint holds creation code; arguments go to create_from_blueprint",
            )
        data = blueprint_deployer(artifact.bytecode) if step.blueprint else init_code(artifact, args)
        if self.deployment.create2:
            salt = create2.salt_for(self.deployment, step.id)
            address = create2.address_of(salt, data)
            if bytes(self.w3.eth.get_code(Web3.to_checksum_address(address))):
                raise NonceConflictError(
                    f"step {step.id!r}: the CREATE2 address {address} already holds code",
                    hint="this plan was already deployed here with another journal; use that journal (--resume), "
                    "or change the deployment's salt to deploy a second copy",
                )
            self._send_step(
                journal,
                step,
                salt + data,
                to=create2.PROXY,
                artifact=artifact.name,
                args=args,
                blueprint=step.blueprint,
                create2_address=address,
            )
            return
        self._send_step(journal, step, data, to=None, artifact=artifact.name, args=args, blueprint=step.blueprint)

    def _send_step(
        self,
        journal: Journal,
        step: Step,
        data: bytes,
        *,
        to: str | None,
        artifact: str,
        args: list[Any],
        blueprint: bool = False,
        label: str | None = None,
        create2_address: str | None = None,
    ) -> None:
        """Sign at the journal's next nonce, journal, send and wait: a creation (``to`` None), a CREATE2 creation
        through the proxy, or a call step."""
        settler = self.settler
        settler.recheck_all()  # earlier steps must still be on chain before one more is signed after them
        nonce = settler.next_nonce()
        tx: dict[str, Any] = {
            "from": self.signer.address,
            "data": HexBytes(data).to_0x_hex(),
            "value": 0,
            "chainId": int(self.w3.eth.chain_id),
            "nonce": nonce,
        }
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        tx["gas"] = settler.estimate(tx, step.id)
        fees = self.fees.market()
        tx.update(fees.fields())
        del tx["from"]
        signed = self.signer.sign_transaction(tx)
        record: dict[str, Any] = {
            "kind": "signed",
            "step": step.id,
            "step_fp": self.step_fps[step.id],
            "artifact": artifact,
            "blueprint": blueprint,
            "nonce": nonce,
            "attempt": 0,
            "tx_hash": HexBytes(signed.hash).to_0x_hex(),
            "raw_tx": HexBytes(signed.raw).to_0x_hex(),
            "args": [jsonable(a) for a in args],
            "gas_limit": tx["gas"],
            "fees": fees.fields(),
        }
        if create2_address is not None:
            record["create2_address"] = create2_address
        elif to is not None:
            record["to"] = tx["to"]
            record["call"] = label
        journal.append(record)
        _crash_point(step.id, "before-send")
        self.say(f"{step.id}: sending {label or artifact} (nonce {nonce})")
        if settler.send_first(step.id, HexBytes(signed.raw), HexBytes(signed.hash)):
            journal.append({"kind": "sent", "step": step.id, "tx_hash": HexBytes(signed.hash).to_0x_hex()})
        _crash_point(step.id, "after-send")
        settler.record(step.id, settler.wait(step.id))
        _crash_point(step.id, "after-receipt")

    # --- finality --------------------------------------------------------------------------------------------

    def _finalize(self, journal: Journal) -> None:
        """Wait for confirmations, and check that every receipt's block is still canonical (final ones included:
        a resume after a deep reorg must not report a dead block)."""
        needed = self.network.confirmations
        for _ in range(5):
            changed = False
            for step in self.settler.signed_steps():
                changed |= self._confirm(journal, step, needed)
            if not changed:
                break
            # something moved while later steps were waited for: check every step once more
        else:
            raise DeployTimeoutError(
                "the chain kept reorganising the deployment's blocks while they were being confirmed",
                hint=f"wait for the network to settle, then run: {self.resume_command}",
            )
        if not journal.records or journal.records[-1]["kind"] != "complete":
            journal.append({"kind": "complete", "at": time.time()})

    def _confirm(self, journal: Journal, step: str, needed: int) -> bool:
        """Wait until ``step`` has ``needed`` confirmations on a canonical block; True if its receipt changed."""
        settler = self.settler
        before = journal.last("receipt", step)
        deadline = time.monotonic() + self.receipt_timeout
        shown = -1
        while True:
            receipt = settler.ensure_canonical(step)
            head = int(self.w3.eth.block_number)
            confirmations = head - int(receipt["block_number"])
            if confirmations >= needed:
                break
            if head != shown:
                self.say(f"{step}: waiting for {confirmations}/{needed} confirmations, block {head}")
                shown = head
            if time.monotonic() > deadline:
                raise DeployTimeoutError(
                    f"step {step!r} has {confirmations}/{needed} confirmations after {self.receipt_timeout:g}s "
                    f"(block {receipt['block_number']}, head {head})",
                    hint=f"the network is not making blocks; run later: {self.resume_command}",
                )
            time.sleep(self.poll_interval)
        final = journal.last("final", step)
        moved = before is None or before["block_hash"] != receipt["block_hash"]
        if final is None or final["block_hash"] != receipt["block_hash"]:
            journal.append(
                {"kind": "final", "step": step, "block_hash": receipt["block_hash"], "confirmations": confirmations}
            )
        return moved


__all__ += ["ForeignTransactionError"]
