"""settlekit.errors: every revert kind decoded the same way from eth-tester (py-evm) and from Anvil."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_abi.abi import encode
from web3 import Web3

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil
from settlekit.errors import (
    PANIC_SELECTOR,
    ContractRevert,
    EmptyRevert,
    PanicRevert,
    RawRevert,
    ReasonRevert,
    SafeTokenRevert,
    decode_revert,
    revert_from_exception,
)

from support import run_cli

ERROR_SELECTOR = bytes.fromhex("08c379a0")


def error_data(text: str) -> bytes:
    return ERROR_SELECTOR + encode(["string"], [text])


def test_decode_error_string_splits_module_and_reason() -> None:
    revert = decode_revert(error_data("safe_token: transfer returned false"))
    assert isinstance(revert, SafeTokenRevert)
    assert (revert.module, revert.reason) == ("safe_token", "transfer returned false")
    assert revert.message == "reverted: safe_token: transfer returned false"


def test_reasons_from_settlekit_contracts_say_where_they_are_raised() -> None:
    probe = decode_revert(error_data("revert_probe: always reverts"))
    assert isinstance(probe, ReasonRevert)
    assert len(probe.raised_at) == 1
    assert probe.raised_at[0].startswith("contracts/mocks/RevertProbe.vy:")
    foreign = decode_revert(error_data("other_protocol: not ours"))
    assert isinstance(foreign, ReasonRevert)
    assert foreign.raised_at == []


def test_cli_decode_shows_module_reason_and_place() -> None:
    data = "0x" + error_data("revert_probe: always reverts").hex()
    result = run_cli("errors", "decode", data, "--json")
    assert result.returncode == 0
    decoded = json.loads(result.stdout)
    assert (decoded["kind"], decoded["module"], decoded["reason"]) == ("ReasonRevert", "revert_probe", "always reverts")
    assert decoded["raised_at"][0].startswith("contracts/mocks/RevertProbe.vy:")
    text = run_cli("errors", "decode", data)
    assert "raised at contracts/mocks/RevertProbe.vy:" in text.stdout
    bad = run_cli("errors", "decode", "0xabc")
    assert bad.returncode == 2
    assert "not hex revert data" in bad.stderr


def test_decode_error_string_without_module() -> None:
    revert = decode_revert("0x" + error_data("Ownable: caller is not the owner").hex())
    assert type(revert) is ReasonRevert
    assert revert.module == "Ownable"
    plain = decode_revert(error_data("insufficient balance"))
    assert isinstance(plain, ReasonRevert)
    assert plain.module is None
    assert plain.reason == "insufficient balance"


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        (0x01, "assertion failed"),
        (0x11, "arithmetic overflow or underflow"),
        (0x12, "division or modulo by zero"),
        (0x32, "array index out of bounds"),
        (0x99, "unknown panic code"),
    ],
)
def test_decode_panic(code: int, meaning: str) -> None:
    revert = decode_revert(PANIC_SELECTOR + code.to_bytes(32, "big"))
    assert isinstance(revert, PanicRevert)
    assert (revert.code, revert.meaning) == (code, meaning)


def test_decode_empty_raw_and_malformed() -> None:
    assert isinstance(decode_revert(b""), EmptyRevert)
    assert isinstance(decode_revert(None), EmptyRevert)
    raw = decode_revert("0xdeadbeef01")
    assert isinstance(raw, RawRevert)
    assert raw.selector == bytes.fromhex("deadbeef")
    truncated = decode_revert(ERROR_SELECTOR + b"\x00" * 5)
    assert isinstance(truncated, RawRevert)
    short_panic = decode_revert(PANIC_SELECTOR + b"\x01")
    assert isinstance(short_panic, RawRevert)


def test_exceptions_that_are_not_reverts_are_left_alone() -> None:
    assert revert_from_exception(ValueError("boom")) is None


def _probe(w3: Web3, artifacts: ArtifactStore) -> Any:
    return contracts.deploy(w3, artifacts.get("RevertProbe"), sender=w3.eth.accounts[0])


def _outcomes(w3: Web3, artifacts: ArtifactStore) -> list[tuple[str, str, tuple[Any, ...]]]:
    probe = _probe(w3, artifacts)
    sender = w3.eth.accounts[0]
    calls = [
        probe.functions.revert_with_reason(),
        probe.functions.revert_without_data(),
        probe.functions.revert_with_panic(0x12),
        probe.functions.revert_with_data(b"\xde\xad\xbe\xef"),
        probe.functions.overflow(),
    ]
    seen: list[tuple[str, str, tuple[Any, ...]]] = []
    for function in calls:
        for way in ("call", "transact"):
            send = contracts.call if way == "call" else contracts.transact
            with pytest.raises(ContractRevert) as raised:
                send(function, sender=sender)
            revert = raised.value
            fields: tuple[Any, ...] = (revert.data,)
            if isinstance(revert, ReasonRevert):
                fields += (revert.module, revert.reason)
            if isinstance(revert, PanicRevert):
                fields += (revert.code,)
            seen.append((way, type(revert).__name__, fields))
    return seen


EXPECTED_KINDS = [
    "ReasonRevert",
    "ReasonRevert",
    "EmptyRevert",
    "EmptyRevert",
    "PanicRevert",
    "PanicRevert",
    "RawRevert",
    "RawRevert",
    "EmptyRevert",
    "EmptyRevert",
]


def test_revert_kinds_decode_identically_on_eth_tester_and_anvil(
    tester_w3: Web3, anvil: Anvil, artifacts: ArtifactStore
) -> None:
    on_tester = _outcomes(tester_w3, artifacts)
    on_anvil = _outcomes(anvil.w3, artifacts)
    assert [kind for _, kind, _ in on_tester] == EXPECTED_KINDS
    assert on_tester == on_anvil
    reason = on_anvil[0][2]
    assert reason[1:] == ("revert_probe", "always reverts")
    assert on_anvil[4][2][1] == 0x12
    assert on_anvil[6][2][0] == bytes.fromhex("deadbeef")
