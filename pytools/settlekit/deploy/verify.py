"""Verifying a deployment against its manifest: the code at each address, and the roles the contracts report.

Vyper appends a contract's immutables after its runtime code, so the code on chain is the compiled runtime followed
by the immutables section. Verification requires the runtime to match byte for byte and the immutables section to
equal what the same constructor with the same arguments produces: the constructor is run again in an ``eth_call``
on the same chain, by the same deployer at the journaled nonce, so it lands at the same address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from settlekit.build import ArtifactStore
from settlekit.build.blueprint import blueprint_code
from settlekit.deploy.executor import init_code

ROLE_VIEWS = ("owner", "guardian", "reporter", "treasury", "pending_owner")


@dataclass
class ContractCheck:
    step: str
    address: str
    ok: bool
    code: str
    immutables_bytes: int = 0
    roles: dict[str, dict[str, str | bool]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class VerifyReport:
    deployment: str
    chain_id: int
    contracts: list[ContractCheck]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.contracts)


def _simulated_code(w3: Web3, deployer: str, nonce: int, address: str, data: bytes) -> bytes | None:
    """The code the constructor returns when ``deployer`` runs it at ``nonce``.

    An eth_call with a state override: the deployer's nonce is set to the journaled one, so the simulated contract
    gets the real address and every immutable derived from ``self`` (an EIP-712 domain separator, say) comes out
    the same; the real contract's account is emptied for the call, or the creation would collide with it.
    """
    override = {deployer: {"nonce": hex(nonce)}, address: {"code": "0x", "nonce": "0x0", "state": {}}}
    response = w3.provider.make_request(
        "eth_call",  # type: ignore[arg-type]
        [{"from": deployer, "data": HexBytes(data).to_0x_hex()}, "latest", override],
    )
    result = response.get("result")
    if "error" in response or not isinstance(result, str):
        return None  # a node without state overrides: the immutables are reported as not re-derived
    return bytes(HexBytes(result))


def verify_deployment(w3: Web3, manifest: dict[str, Any], store: ArtifactStore) -> VerifyReport:
    chain_id = int(w3.eth.chain_id)
    checks: list[ContractCheck] = []
    roles: dict[str, str] = manifest.get("roles", {})
    for step, entry in manifest["contracts"].items():
        address = to_checksum_address(entry["address"])
        code = bytes(w3.eth.get_code(address))
        check = ContractCheck(step, address, True, "existing" if entry.get("existing") else "unchecked")
        if not code:
            check.ok, check.code = False, "no code"
            check.problems.append(f"{step}: no code at {address}")
        elif not entry.get("existing"):
            _check_code(w3, manifest, store, entry, code, check)
        for role in entry.get("verify_roles", []):
            _check_role(w3, store, entry, role, roles, check)
        checks.append(check)
    if chain_id != manifest["chain_id"]:
        checks.append(
            ContractCheck(
                "(chain)",
                "",
                False,
                "wrong chain",
                problems=[f"the node is chain {chain_id}, the manifest {manifest['chain_id']}"],
            )
        )
    return VerifyReport(manifest["deployment"], chain_id, checks)


def _check_code(
    w3: Web3, manifest: dict[str, Any], store: ArtifactStore, entry: dict[str, Any], code: bytes, check: ContractCheck
) -> None:
    artifact = store.get(entry["artifact"])
    if entry.get("blueprint"):
        ok = code == blueprint_code(artifact.bytecode)
        check.ok, check.code = ok, "blueprint matches" if ok else "blueprint differs"
        if not ok:
            check.problems.append(
                f"{check.step}: the blueprint at {check.address} is not {artifact.name}'s creation code"
            )
        return
    runtime = artifact.runtime_bytecode
    if code[: len(runtime)] != runtime:
        check.ok, check.code = False, "runtime differs"
        check.problems.append(
            f"{check.step}: the code at {check.address} is not the compiled {artifact.name} runtime "
            "(different source, compiler or settings)"
        )
        return
    tail = code[len(runtime) :]
    check.immutables_bytes = len(tail)
    args = [_decoded(arg) for arg in entry.get("constructor_args", [])]
    simulated = _simulated_code(w3, manifest["deployer"], int(entry["nonce"]), check.address, init_code(artifact, args))
    if simulated is None:
        check.code = "runtime matches; immutables not re-derived (the node refused the constructor simulation)"
        return
    if simulated != code:
        check.ok, check.code = False, "immutables differ"
        check.problems.append(
            f"{check.step}: the immutables at {check.address} differ from what the recorded "
            "constructor arguments produce"
        )
        return
    check.code = "runtime and immutables match"


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) != 42:
        return bytes.fromhex(value[2:])
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


def _check_role(
    w3: Web3, store: ArtifactStore, entry: dict[str, Any], role: str, roles: dict[str, str], check: ContractCheck
) -> None:
    contract = w3.eth.contract(address=Web3.to_checksum_address(entry["address"]), abi=store.get(entry["artifact"]).abi)
    expected = roles.get(role)
    try:
        actual = str(getattr(contract.functions, role)().call())
    except Exception as error:  # a missing view is a plan error worth showing, not a crash
        check.ok = False
        check.problems.append(f"{check.step}: cannot read {role}(): {type(error).__name__}")
        return
    matches = expected is not None and actual.lower() == expected.lower()
    check.roles[role] = {"expected": expected or "(not in plan)", "actual": actual, "ok": matches}
    if not matches:
        check.ok = False
        check.problems.append(f"{check.step}: {role}() is {actual}, the plan says {expected}")
