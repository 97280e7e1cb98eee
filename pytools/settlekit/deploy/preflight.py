"""Checks a plan before anything is sent: every ``$role`` and ``@step`` resolves and every constructor and call
argument fits its ABI type (a ``$guardain`` typo or a uint8 of 300 is refused naming the step and the argument)."""

from __future__ import annotations

import difflib
from typing import Any

from eth_abi.abi import is_encodable

from settlekit.build import ArtifactStore
from settlekit.build.artifacts import canonical_type
from settlekit.deploy.plan import Deployment, Network, PlanError, call_abi

_PLACEHOLDER = "0x" + "11" * 20  # stands for an address a step will get; only its type matters here


def _resolve(value: Any, roles: dict[str, str], steps: set[str], where: str) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        if value[1:] not in roles:
            near = difflib.get_close_matches(value[1:], list(roles), n=1)
            raise PlanError(
                f"{where}: unknown role {value}" + (f" (did you mean ${near[0]}?)" if near else ""),
                hint="roles: " + ", ".join("$" + r for r in sorted(roles)) + " (add it to the network's roles)",
            )
        return roles[value[1:]]
    if isinstance(value, str) and value.startswith("@"):
        if value[1:] not in steps:
            raise PlanError(f"{where}: {value} is not an earlier step", hint="a step can only use steps before it")
        return _PLACEHOLDER
    if isinstance(value, list):
        return [_resolve(item, roles, steps, where) for item in value]
    return value


def check_arguments(deployment: Deployment, network: Network, store: ArtifactStore, roles: dict[str, str]) -> int:
    """Resolve and type-check every argument of every step; returns how many arguments were checked."""
    seen: set[str] = set()
    checked = 0
    for step in deployment.steps:
        artifact = store.get(step.artifact)
        if step.is_call:
            inputs = call_abi(artifact, step).get("inputs", [])
        else:
            constructor = next((i for i in artifact.abi if i.get("type") == "constructor"), {})
            inputs = constructor.get("inputs", []) if not step.blueprint else []
        types = [canonical_type(p) for p in inputs]
        if step.blueprint and step.args:
            raise PlanError(
                f"step {step.id!r} is a blueprint and cannot take constructor arguments",
                hint="a blueprint holds creation code; arguments go to create_from_blueprint",
            )
        uses_existing = step.existing.get(network.name) is not None and (
            step.mock or step.forced_existing or not network.local
        )
        if not step.is_call and not uses_existing and len(types) != len(step.args):
            raise PlanError(
                f"step {step.id!r}: {step.artifact} takes {len(types)} constructor argument(s) "
                f"({', '.join(types)}), the plan gives {len(step.args)}",
                hint="fix the step's args",
            )
        for index, (kind, raw) in enumerate(zip(types, step.args, strict=False)):
            where = f"step {step.id!r} argument {index + 1} ({kind})"
            value = _resolve(raw, roles, seen, where)
            if not is_encodable(kind, value):
                raise PlanError(
                    f"{where}: {raw!r} is not a valid {kind}",
                    hint=f"give a value of type {kind}" + (_range(kind) if kind.startswith(("uint", "int")) else ""),
                )
            checked += 1
        if not step.is_call:
            seen.add(step.id)
    return checked


def _range(kind: str) -> str:
    bits = int(kind.lstrip("uint") or 256)
    if kind.startswith("uint"):
        return f" ({kind} holds 0 to {2**bits - 1})"
    return f" ({kind} holds {-(2 ** (bits - 1))} to {2 ** (bits - 1) - 1})"
