"""Deployment plans: which contracts to deploy on which network, read from a TOML file (``settlekit.toml``).

::

    [networks.local]
    rpc_url = "http://127.0.0.1:8545"
    chain_id = 31337
    local = true                 # mocks and Anvil's development keys are allowed only on local networks
    confirmations = 0
    roles = { guardian = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" }

    [networks.sepolia]
    rpc_url_env = "SEPOLIA_RPC_URL"   # the URL itself may hold an API key: keep it in the environment
    chain_id = 11155111
    confirmations = 3
    roles = { guardian = "0x..." }
    max_fee_gwei = 200                # stuck transactions are replaced with bumped fees up to this cap
    bump_after = 30                   # seconds without a receipt before a replacement (default 30)
    receipt_timeout = 300             # seconds to wait for a receipt or for confirmations (default 300)

    [deployments.safety]
    create2 = false                   # true: CREATE2 through the deterministic-deployment proxy (same addresses
    salt = "safety-v1"                # on every network); the salt of each step is keccak(salt ":" step id)

    [[deployments.safety.steps]]
    id = "collateral"
    artifact = "MockERC20"
    args = ["Demo USD", "dUSD", 6]
    mock = true                                   # deployed on local networks only...
    existing = { sepolia = "0x..." }              # ...elsewhere this address is used instead

    [[deployments.safety.steps]]
    id = "harness"
    artifact = "SafetyHarness"
    args = ["$guardian"]                          # $role: a role's address; @step: an earlier step's address
    roles = ["owner", "guardian"]                 # views `settlekit verify` compares with the roles

    [[deployments.margin.steps]]
    id = "feed_price"
    target = "@feed"                              # a call step: a transaction to an earlier step's contract
    function = "set_answer"                       # a name, or a signature such as "set_answer(int256)"
    args = [200000000000]
    mock = true                                   # only where the target is a deployed mock, never on a real feed

Roles always include ``deployer`` (the signing account); ``owner`` defaults to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eth_utils.address import is_address, to_checksum_address

from settlekit.build import Artifact, ArtifactStore
from settlekit.build.artifacts import canonical_type
from settlekit.chain.dev_accounts import LOCAL_CHAIN_IDS
from settlekit.config import validate_config
from settlekit.exceptions import SettlekitError

DEFAULT_PLAN_FILE = "settlekit.toml"


class PlanError(SettlekitError):
    """The plan file is missing, malformed, or asks for something the network does not allow."""


@dataclass(frozen=True)
class Network:
    name: str
    rpc_url_env: str | None
    rpc_url: str | None
    chain_id: int | None
    local: bool
    confirmations: int
    roles: dict[str, str]
    local_chain_ids: frozenset[int]
    max_fee_wei: int | None = None
    bump_after: float | None = 30.0
    receipt_timeout: float = 300.0

    def resolve_rpc_url(self, override: str | None = None) -> str:
        url = override or (os.environ.get(self.rpc_url_env) if self.rpc_url_env else None) or self.rpc_url
        url = url or os.environ.get("ETH_RPC_URL")
        if not url:
            raise PlanError(
                f"no RPC URL for network {self.name!r}",
                hint=f"pass --rpc-url, set ${self.rpc_url_env or 'ETH_RPC_URL'}, or add rpc_url to the plan",
            )
        return url


@dataclass(frozen=True)
class Step:
    id: str
    artifact: str
    args: tuple[Any, ...] = ()
    mock: bool = False
    existing: dict[str, str] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    blueprint: bool = False  # deploy the creation code as an ERC-5202 blueprint (for create_from_blueprint)
    target: str | None = None  # call steps: "@step" of an earlier step, whose contract is called
    function: str | None = None  # call steps: the function name or signature
    # events of this contract that announce children for the watcher: {event, address, artifact, label} tables
    children: tuple[dict[str, str], ...] = ()
    forced_existing: bool = False  # the existing address comes from a --set override for this run

    @property
    def is_call(self) -> bool:
        return self.function is not None


@dataclass(frozen=True)
class Deployment:
    name: str
    steps: tuple[Step, ...]
    create2: bool = False
    salt: str | None = None


@dataclass(frozen=True)
class Plan:
    path: Path
    networks: dict[str, Network]
    deployments: dict[str, Deployment]

    def network(self, name: str) -> Network:
        if name not in self.networks:
            raise PlanError(
                f"no network {name!r} in {self.path}",
                hint="networks in the plan: " + (", ".join(sorted(self.networks)) or "none"),
            )
        return self.networks[name]

    def deployment(self, name: str) -> Deployment:
        if name not in self.deployments:
            raise PlanError(
                f"no deployment {name!r} in {self.path}",
                hint="deployments in the plan: " + (", ".join(sorted(self.deployments)) or "none"),
            )
        return self.deployments[name]


def _address(value: Any, where: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise PlanError(f"{where}: {value!r} is not an address", hint="write a 0x-prefixed 20-byte hex address")
    return str(to_checksum_address(value))


def load_plan(path: Path) -> Plan:
    """Read and check the plan file."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise PlanError(f"no plan file at {path}", hint=f"create {DEFAULT_PLAN_FILE} (see docs/deploy.md)") from None
    except tomllib.TOMLDecodeError as error:
        raise PlanError(f"{path} is not valid TOML: {error}", hint="fix the syntax at the place shown") from None
    validate_config(data, path)  # types and ranges, reported with the key path (settlekit/config.py)
    networks: dict[str, Network] = {}
    for name, raw in data.get("networks", {}).items():
        chain_id = raw.get("chain_id")
        local = bool(raw.get("local", chain_id in LOCAL_CHAIN_IDS))
        extra_local = {int(c) for c in raw.get("local_chain_ids", [])}
        roles = {role: _address(value, f"networks.{name}.roles.{role}") for role, value in raw.get("roles", {}).items()}
        networks[name] = Network(
            name=name,
            rpc_url_env=raw.get("rpc_url_env"),
            rpc_url=raw.get("rpc_url"),
            chain_id=int(chain_id) if chain_id is not None else None,
            local=local,
            confirmations=int(raw.get("confirmations", 0 if local else 3)),
            roles=roles,
            max_fee_wei=_gwei(raw.get("max_fee_gwei"), f"networks.{name}.max_fee_gwei"),
            bump_after=_seconds(raw.get("bump_after", 30), f"networks.{name}.bump_after"),
            receipt_timeout=_seconds(raw.get("receipt_timeout", 300), f"networks.{name}.receipt_timeout") or 300.0,
            local_chain_ids=frozenset(
                LOCAL_CHAIN_IDS | extra_local | ({int(chain_id)} if local and chain_id else set())
            ),
        )
    deployments: dict[str, Deployment] = {}
    for name, raw in data.get("deployments", {}).items():
        steps: list[Step] = []
        for index, item in enumerate(raw.get("steps", [])):
            where = f"deployments.{name}.steps[{index}]"
            if "function" in item or "target" in item:
                steps.append(_call_step(item, where, steps))
                continue
            if "id" not in item or "artifact" not in item:
                raise PlanError(f"{where} needs an id and an artifact", hint="see docs/deploy.md for the format")
            existing = {
                net: _address(addr, f"{where}.existing.{net}") for net, addr in item.get("existing", {}).items()
            }
            steps.append(
                Step(
                    str(item["id"]),
                    str(item["artifact"]),
                    tuple(item.get("args", [])),
                    bool(item.get("mock", False)),
                    existing,
                    tuple(item.get("roles", [])),
                    bool(item.get("blueprint", False)),
                    children=_children(item.get("children", []), where),
                )
            )
        ids = [step.id for step in steps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise PlanError(f"deployment {name!r} repeats step ids {duplicates}", hint="give every step its own id")
        salt = raw.get("salt")
        deployments[name] = Deployment(
            name, tuple(steps), bool(raw.get("create2", False)), str(salt) if salt is not None else None
        )
    return Plan(path, networks, deployments)


def _children(raw: Any, where: str) -> tuple[dict[str, str], ...]:
    """``children = [{ event = "SeriesCreated", address = "series", artifact = "SettlementSeries" }]``: events
    that announce contracts the watcher should follow (docs/watch.md)."""
    if not isinstance(raw, list) or not all(
        isinstance(item, dict)
        and all(isinstance(item.get(key), str) for key in ("event", "address", "artifact"))
        and set(item) <= {"event", "address", "artifact", "label"}
        for item in raw
    ):
        raise PlanError(
            f"{where}.children must be a list of {{ event, address, artifact[, label] }} tables of strings",
            hint='children = [{ event = "SeriesCreated", address = "series", artifact = "SettlementSeries" }]',
        )
    return tuple({key: str(value) for key, value in item.items()} for item in raw)


def _gwei(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise PlanError(f"{where} must be a positive number of gwei, got {value!r}", hint="e.g. max_fee_gwei = 200")
    return int(value * 10**9)


def _seconds(value: Any, where: str) -> float | None:
    if value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise PlanError(f"{where} must be a positive number of seconds, got {value!r}", hint="e.g. 30")
    return float(value)


def with_overrides(deployment: Deployment, network: Network, overrides: dict[str, str]) -> Deployment:
    """``--set step=0x...``: use an existing contract for a step on this run, without editing the plan."""
    by_id = {step.id: step for step in deployment.steps}
    steps = list(deployment.steps)
    for name, value in overrides.items():
        if name not in by_id:
            raise PlanError(
                f"--set {name}=...: deployment {deployment.name!r} has no step {name!r}",
                hint="steps: " + ", ".join(s.id for s in deployment.steps if not s.is_call),
            )
        step = by_id[name]
        if step.is_call or step.blueprint:
            raise PlanError(
                f"--set {name}=...: step {name!r} is a {'call' if step.is_call else 'blueprint'} step",
                hint="--set replaces a deployed contract by an existing one; name a deploy step",
            )
        address = _address(value, f"--set {name}")
        steps[steps.index(step)] = replace(
            step, existing={**step.existing, network.name: address}, forced_existing=True
        )
    return replace(deployment, steps=tuple(steps))


def _call_step(item: dict[str, Any], where: str, earlier: list[Step]) -> Step:
    """A call step: ``target = "@step"`` (an earlier deploy step) and ``function``; the ABI is the target's."""
    if "id" not in item or "target" not in item or "function" not in item:
        raise PlanError(
            f"{where} is a call step and needs an id, a target and a function",
            hint='write target = "@step_id" and function = "name" (see docs/deploy.md)',
        )
    target = str(item["target"])
    deployed = {step.id: step for step in earlier if not step.is_call}
    if not target.startswith("@") or target[1:] not in deployed:
        raise PlanError(
            f"{where}: target {target!r} is not an earlier deploy step",
            hint="a call step targets an earlier step as @step_id: " + (", ".join(sorted(deployed)) or "none yet"),
        )
    if "artifact" in item or "blueprint" in item or "existing" in item or "roles" in item:
        raise PlanError(
            f"{where}: a call step takes only id, target, function, args and mock",
            hint="the contract called is the target step's; move the other keys to a deploy step",
        )
    return Step(
        str(item["id"]),
        deployed[target[1:]].artifact,
        tuple(item.get("args", [])),
        bool(item.get("mock", False)),
        target=target,
        function=str(item["function"]),
    )


def resolve_arg(value: Any, roles: dict[str, str], addresses: dict[str, str], where: str) -> Any:
    """Replace ``$role`` and ``@step`` references by addresses."""
    if isinstance(value, str) and value.startswith("$"):
        if value[1:] not in roles:
            raise PlanError(f"{where}: unknown role {value}", hint="roles: " + ", ".join(sorted(roles)))
        return roles[value[1:]]
    if isinstance(value, str) and value.startswith("@"):
        if value[1:] not in addresses:
            raise PlanError(f"{where}: {value} is not an earlier step", hint="a step can only use steps before it")
        return addresses[value[1:]]
    if isinstance(value, list):
        return [resolve_arg(item, roles, addresses, where) for item in value]
    return value


def check_plan(deployment: Deployment, network: Network, store: ArtifactStore) -> None:
    """Refuse before anything is sent: mocks outside local networks, unknown artifacts or references."""
    seen: set[str] = set()
    by_id = {step.id: step for step in deployment.steps}
    for step in deployment.steps:
        store.get(step.artifact)
        if step.is_call:
            assert step.target is not None
            call_abi(store.get(step.artifact), step)  # fails early on an unknown function or a wrong arity
            target = by_id[step.target[1:]]
            if target.mock and not step.mock:
                raise PlanError(
                    f"call step {step.id!r} calls the mock {target.id!r} but is not marked mock = true",
                    hint="mark it mock = true: it then runs where the mock is deployed and is skipped where the "
                    "network uses an existing contract",
                )
        elif step.mock and not network.local and network.name not in step.existing:
            raise PlanError(
                f"step {step.id!r} deploys the mock {step.artifact} on network {network.name!r}, which is not local",
                hint=f"give the step an existing address for {network.name}: existing = {{ {network.name} = ... }}",
            )
        for arg in step.args:
            for ref in _references(arg):
                if ref.startswith("@") and ref[1:] not in seen:
                    raise PlanError(
                        f"step {step.id!r} uses {ref} before it is deployed",
                        hint="reorder the steps so each comes after the ones it uses"
                        if ref[1:] not in by_id or not by_id[ref[1:]].is_call
                        else "a call step has no address; use the step of the contract it calls",
                    )
        if not step.is_call:
            seen.add(step.id)


def _references(value: Any) -> list[str]:
    if isinstance(value, str) and value[:1] in ("$", "@"):
        return [value]
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item)]
    return []


def fingerprint(deployment: Deployment, network: Network, store: ArtifactStore, roles: dict[str, str]) -> str:
    """A hash of everything that decides what the deployment sends: steps, bytecode, arguments, roles."""
    canonical = {
        "steps": [
            {
                "id": s.id,
                "artifact": s.artifact,
                "bytecode": hashlib.sha256(store.get(s.artifact).bytecode).hexdigest(),
                "args": list(s.args),
                "mock": s.mock,
                "existing": s.existing.get(network.name),
                "blueprint": s.blueprint,
                "target": s.target,
                "function": s.function,
            }
            for s in deployment.steps
        ],
        "roles": roles,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def step_fingerprints(
    deployment: Deployment, network: Network, store: ArtifactStore, roles: dict[str, str]
) -> dict[str, str]:
    """One hash per step of everything that decides what that step sends: the journal keeps them, so a resumed
    plan may change steps that were not sent yet (or add steps) but not one that was."""
    prints: dict[str, str] = {}
    for s in deployment.steps:
        used_roles = {ref[1:]: roles.get(ref[1:]) for arg in s.args for ref in _references(arg) if ref[:1] == "$"}
        canonical = {
            "id": s.id,
            "artifact": s.artifact,
            "bytecode": hashlib.sha256(store.get(s.artifact).bytecode).hexdigest(),
            "args": list(s.args),
            "roles": used_roles,
            "mock": s.mock,
            "existing": s.existing.get(network.name),
            "blueprint": s.blueprint,
            "target": s.target,
            "function": s.function,
            "create2": [deployment.create2, deployment.salt],
        }
        prints[s.id] = hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()
    return prints


def call_abi(artifact: Artifact, step: Step) -> dict[str, Any]:
    """The ABI entry a call step names: by name when it is not overloaded, else by its full signature."""
    name = step.function or ""
    functions = [item for item in artifact.abi if item.get("type") == "function"]

    def signature(item: dict[str, Any]) -> str:
        return f"{item['name']}({','.join(canonical_type(p) for p in item.get('inputs', []))})"

    matches = [f for f in functions if (signature(f) == name if "(" in name else f["name"] == name)]
    if not matches:
        raise PlanError(
            f"call step {step.id!r}: {artifact.name} has no function {name!r}",
            hint="functions: " + ", ".join(sorted({signature(f) for f in functions})),
        )
    if len(matches) > 1:
        raise PlanError(
            f"call step {step.id!r}: {artifact.name}.{name} is overloaded",
            hint="name one by its signature: " + ", ".join(signature(f) for f in matches),
        )
    entry = matches[0]
    if len(entry.get("inputs", [])) != len(step.args):
        raise PlanError(
            f"call step {step.id!r}: {signature(entry)} takes {len(entry.get('inputs', []))} argument(s), "
            f"the plan gives {len(step.args)}",
            hint="fix the step's args",
        )
    return entry
