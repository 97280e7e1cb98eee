"""Calldata encoding and log decoding from an artifact's ABI, with selectors and topics computed once.

web3 is kept off the hot path: a call is its 4-byte selector plus ``eth_abi.encode`` of the arguments, and an
event is decoded straight from pyrevm's topics and data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.crypto import keccak

from settlekit.build.artifacts import Artifact, ArtifactStore, canonical_type

from .evm import Log

_STATIC = re.compile(r"^(u?int\d*|address|bool|bytes32)$")


def _word(kind: str, value: Any) -> bytes:
    """One static ABI word, packed by hand (eth_abi's validation costs more than the EVM call itself)."""
    if kind == "address":
        return bytes(12) + bytes.fromhex(value[2:])
    if kind == "bytes32":
        return bytes(value).ljust(32, b"\0")
    if kind.startswith("int"):
        return int(value).to_bytes(32, "big", signed=True)
    return int(value).to_bytes(32, "big")  # uintN and bool; the callee rejects values out of range


def _unword(kind: str, word: bytes) -> Any:
    if kind == "address":
        return "0x" + word[12:].hex()
    if kind == "bool":
        return word != bytes(32)
    if kind == "bytes32":
        return word
    return int.from_bytes(word, "big", signed=kind.startswith("int"))


class Function:
    """One function: selector, argument and result types, and whether hand-packing applies to each side."""

    def __init__(self, selector: bytes, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> None:
        self.selector = selector
        self.inputs = inputs
        self.outputs = outputs
        self.static_in = all(_STATIC.match(kind) for kind in inputs)
        self.static_out = all(_STATIC.match(kind) for kind in outputs)

    def calldata(self, args: tuple[Any, ...]) -> bytes:
        if self.static_in:
            return self.selector + b"".join(_word(kind, value) for kind, value in zip(self.inputs, args, strict=True))
        return self.selector + encode(list(self.inputs), list(args))

    def result(self, output: bytes) -> tuple[Any, ...]:
        if not self.outputs:
            return ()
        if self.static_out and len(output) == 32 * len(self.outputs):
            return tuple(_unword(kind, output[32 * i : 32 * i + 32]) for i, kind in enumerate(self.outputs))
        return tuple(_normalise(v) for v in decode(list(self.outputs), output))


@dataclass(frozen=True)
class Event:
    name: str
    indexed: tuple[str, ...]
    data: tuple[str, ...]
    order: tuple[tuple[bool, int], ...]  # per argument in ABI order: (is_indexed, position in its group)
    static_data: bool

    def args(self, log: Log) -> tuple[Any, ...]:
        topics = [_unword(kind, topic) for kind, topic in zip(self.indexed, log.topics[1:], strict=True)]
        if self.static_data and len(log.data) == 32 * len(self.data):
            body: Any = [_unword(kind, log.data[32 * i : 32 * i + 32]) for i, kind in enumerate(self.data)]
        else:
            body = decode(list(self.data), log.data) if self.data else ()
        return tuple(topics[i] if is_indexed else body[i] for is_indexed, i in self.order)


def _normalise(value: Any) -> Any:
    """Addresses as lower-case hex, bytes as bytes; everything else unchanged."""
    if isinstance(value, str) and value.startswith("0x"):
        return value.lower()
    return value


class Abi:
    """One artifact's functions (by name; overloads are not used in settlekit) and events (by topic)."""

    def __init__(self, artifact: Artifact) -> None:
        self.name = artifact.name
        self._views: dict[tuple[Any, ...], bytes] = {}
        self.functions: dict[str, Function] = {}
        self.events: dict[bytes, Event] = {}
        for item in artifact.abi:
            if item.get("type") == "function":
                inputs = tuple(canonical_type(p) for p in item.get("inputs", []))
                outputs = tuple(canonical_type(p) for p in item.get("outputs", []))
                signature = f"{item['name']}({','.join(inputs)})"
                self.functions[item["name"]] = Function(
                    function_signature_to_4byte_selector(signature), inputs, outputs
                )
            elif item.get("type") == "event":
                params = item.get("inputs", [])
                signature = f"{item['name']}({','.join(canonical_type(p) for p in params)})"
                order: list[tuple[bool, int]] = []
                indexed: list[str] = []
                data: list[str] = []
                for p in params:
                    group = indexed if p.get("indexed") else data
                    order.append((bool(p.get("indexed")), len(group)))
                    group.append(canonical_type(p))
                self.events[bytes(keccak(text=signature))] = Event(
                    item["name"], tuple(indexed), tuple(data), tuple(order), all(_STATIC.match(k) for k in data)
                )

    def calldata(self, function: str, *args: Any) -> bytes:
        return self.functions[function].calldata(args)

    def view_calldata(self, function: str, *args: Any) -> bytes:
        """Calldata of a view call, cached: invariant checks repeat the same few reads."""
        key = (function, *args)
        data = self._views.get(key)
        if data is None:
            data = self._views[key] = self.calldata(function, *args)
        return data

    def decode_log(self, log: Log) -> tuple[str, tuple[Any, ...]] | None:
        """(event name, args in ABI order) if the log is one of this ABI's events, else None."""
        if not log.topics:
            return None
        event = self.events.get(log.topics[0])
        if event is None:
            return None
        return event.name, tuple(_normalise(v) for v in event.args(log))


_ABIS: dict[tuple[int, str], Abi] = {}


def abi_of(store: ArtifactStore, name: str) -> Abi:
    """The :class:`Abi` of ``name`` in ``store``, built once per store."""
    key = (id(store), name)
    if key not in _ABIS:
        _ABIS[key] = Abi(store.get(name))
    return _ABIS[key]
