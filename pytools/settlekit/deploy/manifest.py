"""Deployment manifests: ``deployments/<chain_id>/<name>.json``, written atomically and only from journal facts."""

from __future__ import annotations

import json
import os
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak

from settlekit.build import ArtifactStore
from settlekit.deploy.journal import Journal
from settlekit.deploy.plan import Deployment, Network
from settlekit.exceptions import SettlekitError


class ManifestError(SettlekitError):
    """A manifest is missing or unreadable."""


def manifest_path(root: Path, chain_id: int, name: str) -> Path:
    return root / str(chain_id) / f"{name}.json"


def write_manifest(
    journal: Journal, deployment: Deployment, network: Network, store: ArtifactStore, roles: dict[str, str], root: Path
) -> Path:
    header = journal.header()
    assert header is not None
    contracts: dict[str, Any] = {}
    calls: dict[str, Any] = {}
    for step in deployment.steps:
        if step.is_call:
            calls[step.id] = _call_entry(journal, step.id)
            continue
        existing = journal.last("existing", step.id)
        if existing is not None:
            contracts[step.id] = {"artifact": step.artifact, "address": existing["address"], "existing": True}
            continue
        receipt, final = journal.last("receipt", step.id), journal.last("final", step.id)
        signed = _signed_for(journal, receipt)
        if signed is None or receipt is None or final is None:
            raise ManifestError(f"step {step.id!r} is not final in the journal", hint="resume the deployment")
        artifact = store.get(step.artifact)
        contracts[step.id] = {
            "artifact": step.artifact,
            "address": receipt["contract_address"],
            "existing": False,
            "tx_hash": receipt["tx_hash"],
            "nonce": signed["nonce"],
            "block_number": receipt["block_number"],
            "block_hash": receipt["block_hash"],
            "gas_used": receipt["gas_used"],
            "cost_wei": receipt["gas_used"] * receipt.get("effective_gas_price", 0),
            "abi": artifact.abi,
            "create2": "create2_address" in signed,
            "constructor_args": signed["args"],
            "bytecode_hash": "0x" + keccak(artifact.bytecode).hex(),
            "runtime_hash": "0x" + keccak(artifact.runtime_bytecode).hex(),
            "verify_roles": list(step.roles),
            "blueprint": step.blueprint,
        }
        if step.children:
            contracts[step.id]["children"] = [dict(child) for child in step.children]
    manifest = {
        "deployment": deployment.name,
        "network": network.name,
        "chain_id": header["chain_id"],
        "genesis_hash": header["genesis_hash"],
        "deployer": header["deployer"],
        "plan": next((r["plan"] for r in reversed(journal.records) if r["kind"] == "plan_changed"), header["plan"]),
        "warnings": [r["message"] for r in journal.records if r["kind"] == "warning"],
        "compiler": {"vyper": version("vyper"), "settlekit": version("settlekit")},
        "roles": roles,
        "contracts": contracts,
        "calls": calls,
    }
    path = manifest_path(root, header["chain_id"], deployment.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    Path(temporary).replace(path)
    return path


def _call_entry(journal: Journal, step: str) -> dict[str, Any]:
    skipped = journal.last("skipped", step)
    if skipped is not None:
        return {"skipped": True, "reason": skipped["reason"]}
    receipt, final = journal.last("receipt", step), journal.last("final", step)
    signed = _signed_for(journal, receipt)
    if signed is None or receipt is None or final is None:
        raise ManifestError(f"call step {step!r} is not final in the journal", hint="resume the deployment")
    return {
        "skipped": False,
        "call": signed["call"],
        "to": signed["to"],
        "args": signed["args"],
        "tx_hash": receipt["tx_hash"],
        "nonce": signed["nonce"],
        "block_number": receipt["block_number"],
        "block_hash": receipt["block_hash"],
        "gas_used": receipt["gas_used"],
        "cost_wei": receipt["gas_used"] * receipt.get("effective_gas_price", 0),
    }


def _signed_for(journal: Journal, receipt: dict[str, Any] | None) -> dict[str, Any] | None:
    """The signed attempt that was mined (after fee bumps, not necessarily the last one signed)."""
    if receipt is None:
        return None
    return next((r for r in journal.records if r["kind"] == "signed" and r["tx_hash"] == receipt["tx_hash"]), None)


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"no manifest at {path}", hint="deploy first: settlekit deploy NAME --network N") from None
    except ValueError:
        raise ManifestError(
            f"{path} is not valid JSON", hint="redeploy, or restore the file from version control"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(f"cannot read the manifest {path}: {error}", hint="check the path") from None
    contracts = data.get("contracts") if isinstance(data, dict) else None
    if (
        not isinstance(contracts, dict)
        or not isinstance(data.get("chain_id"), int)
        or not all(isinstance(c, dict) and isinstance(c.get("address"), str) for c in contracts.values())
    ):
        raise ManifestError(
            f"{path} is not a settlekit manifest (no chain_id and contracts with addresses)",
            hint="pass the deployments/<chain id>/<name>.json that settlekit deploy wrote",
        )
    return data
