"""The watcher's fast event decoder equals eth_abi's decoding (decode_generic) for every event of every contract of
the project, with random and edge-value arguments, and falls back to eth_abi for what it does not decode itself."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from settlekit.build import ArtifactStore
from settlekit.project import Project
from settlekit.watch.decoder import EventDecoder

ADDRESS = "0x00000000000000000000000000000000000000a1"
SAMPLES_PER_EVENT = 25


def _project_events(project: Project, artifacts: ArtifactStore) -> dict[str, dict[bytes, dict[str, Any]]]:
    """Deployables and mocks under contracts/ (not modules, not tests): name -> topic0 -> event ABI."""
    names = sorted(path.stem for path in (project.root / "contracts").glob("*.vy"))
    names += sorted(path.stem for path in (project.root / "contracts" / "mocks").glob("*.vy"))
    return {name: artifacts.get(name).event_topics for name in names if artifacts.get(name).event_topics}


def _edge_or_random(kind: str, rng: random.Random) -> Any:
    if kind.endswith("[]"):
        return [_edge_or_random(kind[:-2], rng) for _ in range(rng.randrange(4))]
    if kind.endswith("]"):
        inner, size = kind[:-1].rsplit("[", 1)
        return [_edge_or_random(inner, rng) for _ in range(int(size))]
    if kind.startswith("uint"):
        bits = int(kind[4:] or 256)
        choices = [0, 1, 2**bits - 1, rng.randrange(2**bits), rng.randrange(min(1000, 2**bits))]
        return rng.choice(choices + ([2**53, 2**53 + 1] if bits > 54 else []))
    if kind.startswith("int"):
        bits = int(kind[3:] or 256)
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        choices = [0, -1, low, high, rng.randrange(low, high), -rng.randrange(min(1000, high))]
        choices += [-(2**53) - 1, 2**53 + 1] if bits > 54 else []
        return rng.choice(choices)
    if kind == "address":
        return to_checksum_address(rng.randbytes(20))
    if kind == "bool":
        return rng.random() < 0.5
    if kind.startswith("bytes") and kind != "bytes":
        return rng.randbytes(int(kind[5:]))
    if kind == "bytes":
        return rng.randbytes(rng.randrange(70))
    if kind == "string":
        return "".join(rng.choice("abcé✓ ") for _ in range(rng.randrange(40)))
    raise AssertionError(f"no generator for {kind}")


def _dynamic(kind: str) -> bool:
    return kind in ("string", "bytes") or kind.endswith("]")


def _log(abi: dict[str, Any], topic0: bytes, rng: random.Random) -> tuple[list[bytes], bytes]:
    topics = [topic0]
    plain_kinds, plain_values = [], []
    for item in abi["inputs"]:
        kind, value = item["type"], _edge_or_random(item["type"], rng)
        if item.get("indexed"):
            topics.append(keccak(rng.randbytes(8)) if _dynamic(kind) else encode([kind], [value]))
        else:
            plain_kinds.append(kind)
            plain_values.append(value)
    return topics, encode(plain_kinds, plain_values)


def _same(decoder: EventDecoder, topics: list[bytes], data: bytes) -> None:
    try:
        expected = decoder.decode_generic(ADDRESS, topics, data)
    except Exception as error:  # the fast path must raise what eth_abi raises
        with pytest.raises(type(error)):
            decoder.decode(ADDRESS, topics, data)
        return
    assert decoder.decode(ADDRESS, topics, data) == expected


def test_fast_path_equals_eth_abi_for_every_project_event(settlekit_project: Project, artifacts: ArtifactStore) -> None:
    by_contract = _project_events(settlekit_project, artifacts)
    assert {"MarginEngine", "SettlementSeries", "SeriesFactory", "MockERC20"} <= set(by_contract)
    rng = random.Random(7)
    checked = 0
    for name, by_topic in by_contract.items():
        decoder = EventDecoder.from_event_abis({name: (ADDRESS, by_topic)})
        for topic0, abi in by_topic.items():
            for _ in range(SAMPLES_PER_EVENT):
                topics, data = _log(abi, topic0, rng)
                fast = decoder.decode(ADDRESS, topics, data)
                assert fast is not None
                assert (fast.contract, fast.event) == (name, abi["name"])
                assert fast == decoder.decode_generic(ADDRESS, topics, data), (name, abi["name"])
                checked += 1
    assert checked >= SAMPLES_PER_EVENT * 30


def test_project_events_do_not_go_through_eth_abi(
    settlekit_project: Project, artifacts: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: Any) -> Any:
        raise AssertionError("eth_abi was called")

    monkeypatch.setattr("settlekit.watch.decoder.decode", refuse)
    rng = random.Random(3)
    for name, by_topic in _project_events(settlekit_project, artifacts).items():
        decoder = EventDecoder.from_event_abis({name: (ADDRESS, by_topic)})
        for topic0, abi in by_topic.items():
            decoded = decoder.decode(ADDRESS, *_log(abi, topic0, rng))
            assert decoded is not None
            assert decoded.event == abi["name"]


def test_known_values_decode_to_json_ready_arguments() -> None:
    abi = {
        "name": "Mixed",
        "type": "event",
        "inputs": [
            {"name": "who", "type": "address", "indexed": True},
            {"name": "delta", "type": "int256", "indexed": True},
            {"name": "tag", "type": "bytes4", "indexed": False},
            {"name": "big", "type": "uint256", "indexed": False},
            {"name": "small", "type": "int8", "indexed": False},
            {"name": "ok", "type": "bool", "indexed": False},
        ],
    }
    decoder = EventDecoder.from_event_abis({"probe": (ADDRESS, {b"\x01" * 32: abi})})
    who = "0x" + "ab" * 20
    topics = [b"\x01" * 32, encode(["address"], [who]), encode(["int256"], [-(2**60)])]
    data = encode(["bytes4", "uint256", "int8", "bool"], [b"\xde\xad\xbe\xef", 2**53 + 1, -128, True])
    decoded = decoder.decode(ADDRESS, topics, data)
    assert decoded is not None
    assert decoded.args == {
        "who": to_checksum_address(who),
        "delta": str(-(2**60)),
        "tag": "0xdeadbeef",
        "big": str(2**53 + 1),
        "small": "-128",
        "ok": True,
    }


DYNAMIC_ABI = {
    "name": "Dynamic",
    "type": "event",
    "inputs": [
        {"name": "label", "type": "string", "indexed": True},
        {"name": "owners", "type": "address[]", "indexed": False},
        {"name": "note", "type": "string", "indexed": False},
        {"name": "blob", "type": "bytes", "indexed": False},
        {"name": "triple", "type": "uint256[3]", "indexed": False},
        {"name": "level", "type": "int16", "indexed": False},
    ],
}
STATIC_ABI = {
    "name": "Static",
    "type": "event",
    "inputs": [
        {"name": "flag", "type": "bool", "indexed": True},
        {"name": "key", "type": "bytes32", "indexed": True},
        {"name": "amount", "type": "uint8", "indexed": False},
        {"name": "owner", "type": "address", "indexed": False},
        {"name": "tiny", "type": "int8", "indexed": False},
        {"name": "tag", "type": "bytes3", "indexed": False},
    ],
}


def test_dynamic_arguments_fall_back_to_eth_abi() -> None:
    decoder = EventDecoder.from_event_abis({"probe": (ADDRESS, {b"\x02" * 32: DYNAMIC_ABI})})
    rng = random.Random(11)
    for _ in range(50):
        topics, data = _log(DYNAMIC_ABI, b"\x02" * 32, rng)
        _same(decoder, topics, data)
    topics, data = _log(DYNAMIC_ABI, b"\x02" * 32, rng)
    decoded = decoder.decode(ADDRESS, topics, data)
    assert decoded is not None
    assert decoded.args["label"] == "0x" + topics[1].hex()  # only the hash is on chain


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


@pytest.mark.parametrize(
    ("case", "mutate"),
    [
        ("uint8 above its range", lambda t, d: (t, _word(256) + d[32:])),
        ("address with dirty upper bytes", lambda t, d: (t, d[:32] + b"\x01" + d[33:])),
        ("int8 badly sign-extended", lambda t, d: (t, d[:64] + _word(0x80) + d[96:])),
        ("bytes3 with dirty padding", lambda t, d: (t, d[:96] + d[96:99] + b"\x01" * 29)),
        ("bool topic of 2", lambda t, d: ([t[0], _word(2), t[2]], d)),
        ("data too short", lambda t, d: (t, d[:100])),
        ("trailing data", lambda t, d: (t, d + b"\x00" * 40)),
        ("a topic missing", lambda t, d: (t[:2], d)),
        ("an extra topic", lambda t, d: ([*t, _word(5)], d)),
        ("a short topic", lambda t, d: ([t[0], t[1], t[2][:31]], d)),
        ("unknown topic0", lambda t, d: ([b"\x09" * 32, *t[1:]], d)),
    ],
)
def test_malformed_logs_decode_or_fail_exactly_as_eth_abi(case: str, mutate: Any) -> None:
    decoder = EventDecoder.from_event_abis({"probe": (ADDRESS, {b"\x03" * 32: STATIC_ABI})})
    rng = random.Random(case)
    for _ in range(10):
        topics, data = _log(STATIC_ABI, b"\x03" * 32, rng)
        _same(decoder, topics, data)  # the well-formed log first
        _same(decoder, *mutate(topics, data))


def test_node_hex_decodes_like_bytes_and_bad_hex_fails_like_bytes_fromhex() -> None:
    decoder = EventDecoder.from_event_abis({"probe": (ADDRESS, {b"\x03" * 32: STATIC_ABI})})
    topics, data = _log(STATIC_ABI, b"\x03" * 32, random.Random(5))
    hex_topics, hex_data = ["0x" + t.hex() for t in topics], "0x" + data.hex()
    expected = decoder.decode_generic(ADDRESS, topics, data)
    assert decoder.decode_hex(ADDRESS, hex_topics, hex_data) == expected
    assert (
        decoder.decode_hex(ADDRESS, [t.upper().replace("0X", "0x") for t in hex_topics], "0x" + data.hex().upper())
        == expected
    )
    with pytest.raises(ValueError, match="non-hexadecimal"):
        decoder.decode_hex(ADDRESS, hex_topics, hex_data + "0")  # odd length: bytes.fromhex refuses it
    with pytest.raises(ValueError, match="non-hexadecimal"):
        decoder.decode_hex(ADDRESS, hex_topics, hex_data[:-2] + "_1")


def test_addresses_are_checksummed_as_eth_utils_does() -> None:
    abi = {"name": "A", "type": "event", "inputs": [{"name": "who", "type": "address", "indexed": False}]}
    decoder = EventDecoder.from_event_abis({"probe": (ADDRESS, {b"\x04" * 32: abi})})
    rng = random.Random(9)
    raws = [rng.randbytes(20) for _ in range(3_000)] + [bytes(20), b"\xff" * 20, b"\xab" * 20, b"\x09" * 20]
    for raw in raws:
        decoded = decoder.decode_hex(ADDRESS, ["0x" + "04" * 32], "0x" + bytes(12).hex() + raw.hex())
        assert decoded is not None
        assert decoded.args["who"] == to_checksum_address(raw)


def test_other_addresses_and_empty_topics_are_not_decoded() -> None:
    decoder = EventDecoder.from_event_abis({"probe": (ADDRESS, {b"\x03" * 32: STATIC_ABI})})
    assert decoder.decode("0x" + "11" * 20, [b"\x03" * 32], b"") is None
    assert decoder.decode(ADDRESS, [], b"") is None
    assert decoder.decode(ADDRESS.upper().replace("0X", "0x"), *_log(STATIC_ABI, b"\x03" * 32, random.Random(1)))


def test_every_spelling_of_the_address_decodes_the_same(settlekit_project: Project, artifacts: ArtifactStore) -> None:
    """The compiled path is keyed by the address as nodes spell it (lower-case) and checksummed; any other spelling
    goes the slow way: all three give eth_abi's answer, and decode_parts is decode_hex as a tuple."""
    by_topic = artifacts.get("MarginEngine").event_topics
    decoder = EventDecoder.from_event_abis({"engine": (ADDRESS, by_topic)})
    rng = random.Random(11)
    spellings = (ADDRESS, to_checksum_address(ADDRESS), ADDRESS.upper().replace("0X", "0x"))
    for topic0, abi in by_topic.items():
        topics, data = _log(abi, topic0, rng)
        expected = decoder.decode_generic(ADDRESS, topics, data)
        assert expected is not None
        hex_topics, hex_data = ["0x" + t.hex() for t in topics], "0x" + data.hex()
        for address in spellings:
            assert decoder.decode_hex(address, hex_topics, hex_data) == expected
            assert decoder.decode_parts(address, hex_topics, hex_data) == (
                expected.contract,
                expected.event,
                expected.args,
            )


@pytest.mark.parametrize(
    "args",
    [
        {"value": 3, "sender": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "receiver": "0x" + "00" * 20},
        {"current": -1000, "round_id": 2**53, "big": str(2**200), "updated_at": 0},
        {"flag": True, "other": False, "n": 1},  # bools are not ints here
        {"text": 'quote " and \\ and é', "n": 1},  # strings needing escapes
        {"hash": "0x" + "ab" * 32, "list": [1, "0x01"], "none": None, "f": 1.5},
        {"empty": "", "under_score": "a_b"},
        {},
    ],
)
def test_store_args_encoding_equals_json(args: dict[str, Any]) -> None:
    from settlekit.watch.store import _args_json, _encode_args

    assert _encode_args(args) == _args_json(args)
    assert _encode_args(args) == _args_json(args)  # again, with the key order cached
