"""What a watcher follows, from one or more deployment manifests: the contracts (with the block each was deployed
in), the events that announce children (a factory's ``SeriesCreated``), and the chain the manifests belong to.

A manifest's contract entry may carry ``children``: a list of ``{event, address, artifact, label}`` tables (the
announcing event's name, the argument holding the child's address, the artifact whose ABI decodes the child, a
short label for it). A deployment plan step writes them with ``children = [...]`` (docs/deploy.md). A
``SeriesFactory`` entry without any is given the factory's own announcement (``SeriesCreated`` -> ``series``,
decoded with ``SettlementSeries``; the clones emit the same events), so manifests written before the field existed
watch their series too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils.address import is_address, to_checksum_address

from settlekit.exceptions import SettlekitError

DEFAULT_CHILDREN: dict[str, tuple[dict[str, str], ...]] = {
    "SeriesFactory": (
        {"event": "SeriesCreated", "address": "series", "artifact": "SettlementSeries", "label": "series"},
    ),
}


class TargetError(SettlekitError):
    """The manifests cannot be watched together (another chain, a malformed child declaration)."""


@dataclass(frozen=True)
class Target:
    label: str  # unique among the watched contracts; stored as the events' `contract`
    address: str  # checksummed
    artifact: str
    from_block: int  # its deployment block (0 when unknown: an existing contract)


@dataclass(frozen=True)
class ChildSpec:
    parent: str  # the announcing contract's label
    event: str  # the announcing event
    argument: str  # the argument holding the child's address
    artifact: str  # the child's ABI
    label: str  # children are labelled "<label>:<address in lower case>"

    def child_label(self, address: str) -> str:
        return f"{self.label}:{address.lower()}"


@dataclass(frozen=True)
class Targets:
    contracts: tuple[Target, ...]
    children: tuple[ChildSpec, ...]
    chain_id: int | None
    genesis_hash: str | None

    def manifest(self) -> dict[str, Any]:
        """One merged manifest (labels as keys), for what reads a manifest (the guardian)."""
        return {
            "chain_id": self.chain_id,
            "genesis_hash": self.genesis_hash,
            "contracts": {t.label: {"address": t.address, "artifact": t.artifact} for t in self.contracts},
        }


def _child_specs(label: str, entry: dict[str, Any], where: str) -> list[ChildSpec]:
    raw = entry.get("children")
    if raw is None:
        raw = DEFAULT_CHILDREN.get(str(entry.get("artifact")), ())
    specs = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("event", "artifact")):
            raise TargetError(
                f"{where}.children[{index}] needs an event and an artifact",
                hint='children = [{ event = "SeriesCreated", address = "series", artifact = "SettlementSeries" }]',
            )
        argument = str(item.get("address", "child"))
        specs.append(ChildSpec(label, item["event"], argument, item["artifact"], str(item.get("label", argument))))
    return specs


def from_manifests(manifests: list[tuple[str, dict[str, Any]]]) -> Targets:
    """``manifests``: (where it came from, its JSON) pairs. Contracts at the same address are watched once; a label
    an earlier manifest already uses is prefixed with its deployment's name (``margin.collateral``), so adding a
    manifest after the others never renames what the store already holds."""
    chain_ids = {int(m["chain_id"]) for _, m in manifests if m.get("chain_id") is not None}
    if len(chain_ids) > 1:
        raise TargetError(
            f"the manifests are for different chains ({', '.join(str(c) for c in sorted(chain_ids))})",
            hint="run one watcher per chain",
        )
    geneses = {str(m["genesis_hash"]) for _, m in manifests if m.get("genesis_hash")}
    if len(geneses) > 1:
        raise TargetError("the manifests name different genesis blocks", hint="run one watcher per chain")
    entries: list[tuple[str, str, dict[str, Any], str]] = []  # (deployment, label, entry, where)
    seen: set[str] = set()
    for where, manifest in manifests:
        deployment = str(manifest.get("deployment", where))
        for label, entry in manifest.get("contracts", {}).items():
            address = entry.get("address")
            if not isinstance(address, str) or not is_address(address):
                raise TargetError(f"{where}: contract {label!r} has no address", hint="redeploy to rewrite it")
            if address.lower() in seen:
                continue
            seen.add(address.lower())
            entries.append((deployment, str(label), entry, where))
    contracts: list[Target] = []
    children: list[ChildSpec] = []
    used: set[str] = set()
    for deployment, label, entry, where in entries:
        name = f"{deployment}.{label}" if label in used else label
        if name in used:
            raise TargetError(f"{where}: two contracts named {name!r}", hint="give the deployments different names")
        used.add(name)
        address, block = to_checksum_address(entry["address"]), int(entry.get("block_number") or 0)
        contracts.append(Target(name, address, str(entry["artifact"]), block))
        children.extend(_child_specs(name, entry, f"{where}: contracts.{label}"))
    return Targets(
        tuple(contracts), tuple(children), chain_ids.pop() if chain_ids else None, geneses.pop() if geneses else None
    )
