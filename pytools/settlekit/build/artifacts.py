"""Loading compiled contracts (ABI, creation bytecode, runtime bytecode) from forge's ``out/`` folder.

Every other part of settlekit gets contract code through :class:`ArtifactStore`, never by reading ``out/``
itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.crypto import keccak

from settlekit.exceptions import SettlekitError


class ArtifactNotFoundError(SettlekitError):
    """No compiled artifact for a contract name."""


def _hex_bytes(field: Any) -> bytes:
    text = field.get("object", "") if isinstance(field, dict) else str(field or "")
    text = text[2:] if text.startswith("0x") else text
    return bytes.fromhex(text)


def canonical_type(param: dict[str, Any]) -> str:
    """The ABI type of ``param`` as eth_abi and selectors want it: tuples spelled out as ``(t1,t2,...)``."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param.get("components", []))
        return f"({inner}){kind[5:]}"
    return kind


def _signature(item: dict[str, Any]) -> str:
    return f"{item['name']}({','.join(canonical_type(p) for p in item.get('inputs', []))})"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    runtime_bytecode: bytes

    @cached_property
    def selectors(self) -> dict[bytes, str]:
        """4-byte selector -> function signature."""
        return {
            function_signature_to_4byte_selector(_signature(item)): _signature(item)
            for item in self.abi
            if item.get("type") == "function"
        }

    @cached_property
    def event_topics(self) -> dict[bytes, dict[str, Any]]:
        """topic0 -> event ABI entry."""
        return {keccak(text=_signature(item)): item for item in self.abi if item.get("type") == "event"}

    @property
    def runtime_hash(self) -> bytes:
        return keccak(self.runtime_bytecode)


class ArtifactStore:
    """The artifacts under one ``out/`` folder, loaded lazily and cached."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._cache: dict[str, Artifact] = {}

    def names(self) -> list[str]:
        """Names of every compiled contract (test contracts included)."""
        if not self.out_dir.is_dir():
            return []
        return sorted(
            path.stem
            for folder in self.out_dir.iterdir()
            if folder.is_dir() and folder.name != "build-info"
            for path in folder.glob("*.json")
        )

    def get(self, name: str) -> Artifact:
        """The artifact called ``name`` (the file stem: ``MockERC20`` for ``MockERC20.vy``)."""
        if name in self._cache:
            return self._cache[name]
        matches = sorted(self.out_dir.glob(f"*/{name}.json")) if self.out_dir.is_dir() else []
        if not matches:
            raise ArtifactNotFoundError(
                f"no compiled artifact named {name!r} in {self.out_dir}",
                hint="run `settlekit build`; artifact names are the contract file names without .vy",
            )
        if len(matches) > 1:
            raise ArtifactNotFoundError(
                f"{len(matches)} artifacts are named {name!r}: {', '.join(str(m) for m in matches)}",
                hint="give contracts unique file names",
            )
        data = json.loads(matches[0].read_text())
        artifact = Artifact(
            name=name,
            source=matches[0].parent.name,
            abi=list(data["abi"]),
            bytecode=_hex_bytes(data.get("bytecode")),
            runtime_bytecode=_hex_bytes(data.get("deployedBytecode")),
        )
        self._cache[name] = artifact
        return artifact
