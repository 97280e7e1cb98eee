"""Decoding the logs of the project's contracts, from a deployment manifest and the compiled ABIs.

Events whose arguments are all static one-word types (uintN, intN, address, bool, bytesN), which is every event of
the project's contracts, are decoded from a layout computed once per event: each argument is one 32-byte word, read
straight from the node's hex (``decode_hex``: no conversion to bytes, ``int(word, 16)``, addresses checksummed
through a cache). The layout is compiled into one closure per (address, topic0), found with one dict lookup keyed by
the address as nodes spell it; ``decode_parts`` returns its result as a plain tuple for the backfill's hot path.
Anything else (strings, bytes, arrays, tuples), and any word that fails the checks eth_abi
makes (non-zero padding, a value out of range, data too short), goes through eth_abi, so the result and the errors
are those of eth_abi's decoding. ``decode_generic`` is that eth_abi path on its own (the reference the tests compare
the fast path with).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from settlekit.build import ArtifactStore

_STATIC_WORD = re.compile(r"^(uint|int)(\d*)$|^(address|bool)$|^bytes(\d+)$")
_WORD, _HALF_WORD = 1 << 256, 1 << 255
_ZERO_HEX_24 = "0" * 24
_FALSE_HEX, _TRUE_HEX = "0" * 64, "0" * 63 + "1"
_HEX = re.compile(r"0x[0-9a-f]*")  # what nodes send: anything else goes through bytes.fromhex and eth_abi
_TOPICS = re.compile(r"(?:0x[0-9a-f]{64})*")  # topics joined, each checked to be 66 characters long


class _Fallback(Exception):
    """A word the fast path does not vouch for: decode the whole log with eth_abi instead."""


@dataclass(frozen=True, slots=True)
class DecodedLog:
    contract: str
    event: str
    args: dict[str, Any]


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # every integer is a decimal string: one JSON type, exact in any reader
    return value


def _typed(kind: str, value: Any) -> Any:
    if kind == "address":
        return to_checksum_address(value)
    if kind == "address[]":
        return [to_checksum_address(item) for item in value]
    return value


def _load_keccak_hex() -> Callable[[bytes], str]:
    """safe-pysha3 (installed with the eth-hash backends) is a C keccak, several times faster than eth-hash's
    default backend; eth-hash is the fallback."""
    try:
        hasher = importlib.import_module("sha3").keccak_256
    except ImportError:  # pragma: no cover - the venv has it
        return lambda data: keccak(data).hex()
    return lambda data: str(hasher(data).hexdigest())


_keccak_hex = _load_keccak_hex()

_BYTE_ONES = int.from_bytes(b"\x01" * 40, "big")


@lru_cache(maxsize=16_384)  # about 4.5 MB when full
def _checksum(digits: str) -> str:
    """The EIP-55 checksummed form of an address given as 40 lower-case hex digits (cached: the same accounts recur
    in most logs). EIP-55 upper-cases the letters whose nibble in the hash's hex is >= 8; this does it for all 40
    characters at once on their ASCII codes as one integer: a hash digit is >= 8 when its code has bit 3 (the digits
    8, 9) or bit 6 (the letters) set, an address digit is a letter when its code has bit 6 set, and upper-casing a
    lower-case letter subtracts 0x20 from its code."""
    text = int.from_bytes(digits.encode(), "big")
    hashed = int.from_bytes(_keccak_hex(digits.encode())[:40].encode(), "big")
    upper = ((hashed >> 3) | (hashed >> 6)) & (text >> 6) & _BYTE_ONES  # one bit per character to upper-case
    return "0x" + (text - (upper << 5)).to_bytes(40, "big").decode()


@lru_cache(maxsize=4_096)
def _checksum_text(address: str) -> str:
    return to_checksum_address(address)


def _word_reader(kind: str) -> Callable[[str], Any] | None:
    """A reader of one 32-byte word (64 lower-case hex digits) of static type ``kind`` into its JSON-ready value, or
    None if ``kind`` is not a one-word static type. A reader raises _Fallback where eth_abi would raise or decode
    differently."""
    match = _STATIC_WORD.match(kind)
    if match is None:
        return None
    integer, bits_text, simple, size_text = match.groups()
    if integer is not None:
        bits = int(bits_text) if bits_text else 256
        if bits % 8 or not 8 <= bits <= 256:
            return None
        if integer == "uint":
            limit = 1 << bits

            def read_uint(word: str) -> Any:
                value = int(word, 16)
                if value >= limit:
                    raise _Fallback
                return str(value)  # every integer is a decimal string: one JSON type, exact in any reader

            return read_uint
        half = 1 << (bits - 1)

        def read_int(word: str) -> Any:
            value = int(word, 16)
            if value >= _HALF_WORD:
                value -= _WORD  # two's complement
            if not -half <= value < half:
                raise _Fallback
            return str(value)

        return read_int
    if simple == "address":

        def read_address(word: str) -> Any:
            if not word.startswith(_ZERO_HEX_24):
                raise _Fallback
            return _checksum(word[24:])

        return read_address
    if simple == "bool":

        def read_bool(word: str) -> Any:
            if word == _FALSE_HEX:
                return False
            if word == _TRUE_HEX:
                return True
            raise _Fallback

        return read_bool
    size = int(size_text)
    if not 1 <= size <= 32:
        return None
    padding = "0" * (64 - 2 * size)

    def read_fixed_bytes(word: str) -> Any:
        if not word.endswith(padding):
            raise _Fallback
        return "0x" + word[: 2 * size]

    return read_fixed_bytes


@dataclass(frozen=True)
class _Layout:
    """How to decode one event without eth_abi: one reader per topic after topic0, one per data word."""

    name: str
    topics: tuple[tuple[str, Callable[[str], Any]], ...]
    words: tuple[tuple[str, Callable[[str], Any], int, int], ...]  # (name, reader, start, end) in the data's hex
    data_length: int  # the data's hex must have at least this many characters ("0x" + 64 per word)


def _hashed(word: str) -> str:
    """A dynamic indexed value: only its hash is in the topic."""
    return "0x" + word


def _dynamic(kind: str) -> bool:
    return kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("tuple")


def _layout(abi: dict[str, Any]) -> _Layout | None:
    topics: list[tuple[str, Callable[[str], Any]]] = []
    words: list[tuple[str, Callable[[str], Any], int, int]] = []
    for item in abi["inputs"]:
        kind = str(item["type"])
        reader = _hashed if item.get("indexed") and _dynamic(kind) else _word_reader(kind)
        if reader is None:
            return None  # a dynamic or multi-word argument in the data: eth_abi decodes this event
        if item.get("indexed"):
            topics.append((str(item["name"]), reader))
        else:
            start = 2 + 64 * len(words)
            words.append((str(item["name"]), reader, start, start + 64))
    return _Layout(str(abi["name"]), tuple(topics), tuple(words), 2 + 64 * len(words))


_Args = dict[str, Any]
_Compiled = Callable[[list[str], str], "_Args | None"]


def _compile(layout: _Layout) -> _Compiled:
    """The fast path of one event as a closure over its layout (everything it needs is a local: this runs once per
    log of a backfill). It returns None, and eth_abi decides, for anything it does not vouch for: the same checks
    as before the closure existed (topic count and lengths, lower-case hex, data length, each reader's own)."""
    count = len(layout.topics) + 1
    topic_readers = tuple((name, read, index + 1) for index, (name, read) in enumerate(layout.topics))
    words, data_length = layout.words, layout.data_length
    hex_ok, topics_ok = _HEX.fullmatch, _TOPICS.fullmatch

    def decode(topics: list[str], data: str) -> _Args | None:
        if len(topics) != count or len(data) < data_length or len(data) % 2 or not hex_ok(data):
            return None
        rest = topics[1:]
        for topic in rest:
            if len(topic) != 66:
                return None
        if not topics_ok("".join(rest)):
            return None
        args: _Args = {}
        try:
            for name, read, index in topic_readers:
                args[name] = read(topics[index][2:])
            for name, read, start, end in words:
                args[name] = read(data[start:end])
        except _Fallback:
            return None
        return args

    return decode


class EventDecoder:
    """Maps (address, topic0) to an event ABI and decodes topics and data into named, JSON-ready arguments."""

    def __init__(self, contracts: dict[str, tuple[str, str]], store: ArtifactStore) -> None:
        """``contracts``: label -> (address, artifact name)."""
        self._by_address: dict[str, tuple[str, dict[bytes, dict[str, Any]]]] = {}
        self._layouts: dict[tuple[str, str], _Layout | None] = {}  # (address, topic0 as 0x-hex)
        # (address as the node spells it: lower-case, or checksummed; topic0 as 0x-hex) -> (label, event, decoder):
        # one dict lookup finds everything for a log of a watched event, without checksumming its address
        self._compiled: dict[tuple[str, str], tuple[str, str, _Compiled]] = {}
        self._artifacts = store
        self.generation = 0  # bumped whenever the watched addresses change (a prefetched range may be stale)
        for label, (address, artifact) in contracts.items():
            self._register(label, address, store.get(artifact).event_topics)

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], store: ArtifactStore) -> EventDecoder:
        return cls(
            {step: (entry["address"], entry["artifact"]) for step, entry in manifest["contracts"].items()}, store
        )

    @classmethod
    def from_event_abis(cls, contracts: dict[str, tuple[str, dict[bytes, dict[str, Any]]]]) -> EventDecoder:
        """``contracts``: label -> (address, topic0 -> event ABI entry); for ABIs that are not build artifacts."""
        decoder = cls({}, ArtifactStore(Path()))  # nothing is looked up in it
        for label, (address, by_topic) in contracts.items():
            decoder._register(label, address, by_topic)
        return decoder

    def register(self, label: str, address: str, artifact: str) -> None:
        """Watch one more contract (a child announced by a factory, a contract added to a manifest)."""
        self._register(label, address, self._artifacts.get(artifact).event_topics)

    def unregister(self, address: str) -> None:
        """Stop decoding a contract (a child whose announcement was reorged out)."""
        checksummed = to_checksum_address(address)
        if self._by_address.pop(checksummed, None) is None:
            return
        self.generation += 1
        for key in [key for key in self._layouts if key[0] == checksummed]:
            del self._layouts[key]
        for key in [key for key in self._compiled if key[0] in (checksummed, checksummed.lower())]:
            del self._compiled[key]

    def watches(self, address: str) -> bool:
        return to_checksum_address(address) in self._by_address

    def _register(self, label: str, address: str, by_topic: dict[bytes, dict[str, Any]]) -> None:
        checksummed = to_checksum_address(address)
        self.generation += 1
        self._by_address[checksummed] = (label, by_topic)
        for topic0, abi in by_topic.items():
            layout = _layout(abi)
            self._layouts[(checksummed, "0x" + topic0.hex())] = layout
            if layout is not None:
                compiled = (label, layout.name, _compile(layout))
                for spelling in (checksummed, checksummed.lower()):
                    self._compiled[(spelling, "0x" + topic0.hex())] = compiled

    @property
    def addresses(self) -> list[str]:
        return sorted(self._by_address)

    def decode(self, address: str, topics: list[bytes], data: bytes) -> DecodedLog | None:
        """Decode a log given as bytes (topics and data)."""
        return self.decode_hex(address, ["0x" + bytes(topic).hex() for topic in topics], "0x" + data.hex())

    def decode_hex(self, address: str, topics: list[str], data: str) -> DecodedLog | None:
        """Decode a log as a node sends it (0x-prefixed hex topics and data), without converting it to bytes."""
        parts = self.decode_parts(address, topics, data)
        return None if parts is None else DecodedLog(*parts)

    def decode_parts(self, address: str, topics: list[str], data: str) -> tuple[str, str, dict[str, Any]] | None:
        """:meth:`decode_hex` as a plain (contract, event, args) tuple: the backfill's hot path builds one row per
        log and needs no DecodedLog in between."""
        if not topics:
            return None
        compiled = self._compiled.get((address, topics[0]))
        if compiled is not None:
            label, name, decode = compiled
            args = decode(topics, data)
            if args is not None:
                return label, name, args
        decoded = self._decode_hex_slow(address, topics, data)
        return None if decoded is None else (decoded.contract, decoded.event, decoded.args)

    def _decode_hex_slow(self, address: str, topics: list[str], data: str) -> DecodedLog | None:
        """Any other spelling of the address, an unknown event, or a log the compiled path refused."""
        checksummed = _checksum_text(address)
        known = self._by_address.get(checksummed)
        if known is None:
            return None
        layout = self._layouts.get((checksummed, topics[0]))
        rest = topics[1:]
        if (
            layout is not None
            and len(rest) == len(layout.topics)
            and len(data) >= layout.data_length
            and not len(data) % 2
            and _HEX.fullmatch(data)
            and all(len(topic) == 66 for topic in rest)
            and _TOPICS.fullmatch("".join(rest))
        ):
            try:
                args = {name: read(topic[2:]) for (name, read), topic in zip(layout.topics, rest, strict=True)}
                args.update({name: read(data[start:end]) for name, read, start, end in layout.words})
                return DecodedLog(known[0], layout.name, args)
            except _Fallback:
                pass  # eth_abi decides: it raises the error it raises, or decodes what the fast path refused
        return self.decode_generic(address, [bytes.fromhex(t[2:]) for t in topics], bytes.fromhex(data[2:]))

    def decode_generic(self, address: str, topics: list[bytes], data: bytes) -> DecodedLog | None:
        """The same decoding with eth_abi for every argument (the slow path, and the fast path's reference)."""
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
            if _dynamic(kind):
                args[item["name"]] = HexBytes(topic).to_0x_hex()  # dynamic indexed values are only their hash
            else:
                args[item["name"]] = _typed(kind, decode([kind], bytes(topic))[0])
        values = decode([str(item["type"]) for item in plain], data) if plain else ()
        for item, value in zip(plain, values, strict=True):
            args[item["name"]] = _typed(str(item["type"]), value)
        return DecodedLog(label, str(abi["name"]), {k: _jsonable(v) for k, v in args.items()})
