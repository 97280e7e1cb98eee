"""Decoding the logs of the project's contracts, from a deployment manifest and the compiled ABIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes

from settlekit.build import ArtifactStore


@dataclass(frozen=True)
class DecodedLog:
    contract: str
    event: str
    args: dict[str, Any]


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)  # JSON numbers above 2**53 lose precision in most readers
    return value


def _typed(kind: str, value: Any) -> Any:
    if kind == "address":
        return to_checksum_address(value)
    if kind == "address[]":
        return [to_checksum_address(item) for item in value]
    return value


class EventDecoder:
    """Maps (address, topic0) to an event ABI and decodes topics and data into named, JSON-ready arguments."""

    def __init__(self, contracts: dict[str, tuple[str, str]], store: ArtifactStore) -> None:
        """``contracts``: label -> (address, artifact name)."""
        self._by_address: dict[str, tuple[str, dict[bytes, dict[str, Any]]]] = {}
        for label, (address, artifact) in contracts.items():
            self._by_address[to_checksum_address(address)] = (label, store.get(artifact).event_topics)

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], store: ArtifactStore) -> EventDecoder:
        return cls(
            {step: (entry["address"], entry["artifact"]) for step, entry in manifest["contracts"].items()}, store
        )

    @property
    def addresses(self) -> list[str]:
        return sorted(self._by_address)

    def decode(self, address: str, topics: list[bytes], data: bytes) -> DecodedLog | None:
        known = self._by_address.get(to_checksum_address(address))
        if known is None or not topics:
            return None
        label, by_topic = known
        abi = by_topic.get(bytes(topics[0]))
        if abi is None:
            return DecodedLog(label, "unknown", {"topic0": HexBytes(topics[0]).to_0x_hex(), "data": "0x" + data.hex()})
        indexed = [item for item in abi["inputs"] if item.get("indexed")]
        plain = [item for item in abi["inputs"] if not item.get("indexed")]
        args: dict[str, Any] = {}
        for item, topic in zip(indexed, topics[1:], strict=False):
            kind = str(item["type"])
            if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("tuple"):
                args[item["name"]] = HexBytes(topic).to_0x_hex()  # dynamic indexed values are only their hash
            else:
                args[item["name"]] = _typed(kind, decode([kind], bytes(topic))[0])
        values = decode([str(item["type"]) for item in plain], data) if plain else ()
        for item, value in zip(plain, values, strict=True):
            args[item["name"]] = _typed(str(item["type"]), value)
        return DecodedLog(label, str(abi["name"]), {k: _jsonable(v) for k, v in args.items()})
