"""Decoding revert data into typed exceptions that carry the contract module and the reason.

settlekit's contracts revert with ``Error(string)`` reasons of the form ``"<module>: <reason>"``. This module
turns whatever a failed call produced (a web3 ``ContractLogicError``, raw revert bytes, a hex string) into:

- :class:`ReasonRevert` (or its per-module subclass, e.g. :class:`SafeTokenRevert`) for ``Error(string)``;
- :class:`PanicRevert` for ``Panic(uint256)``, with the panic code's meaning;
- :class:`EmptyRevert` when the call reverted with no data (e.g. a failed ``assert`` without reason, an
  out-of-gas, or a call to a function that does not exist);
- :class:`RawRevert` for any other data (custom errors of other contracts, data bubbled up verbatim).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from typing import Any, ClassVar

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError

from settlekit.exceptions import SettlekitError

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)

_BYTES_REPR = re.compile(r"""^b(['"]).*\1$""", re.DOTALL)

PANIC_MEANINGS: dict[int, str] = {
    0x00: "generic compiler panic",
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "conversion to an invalid enum value",
    0x22: "incorrectly encoded storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "too much memory allocated",
    0x51: "call to an uninitialised internal function",
}


class ContractRevert(SettlekitError):
    """A contract call or transaction reverted. ``data`` is the raw revert data."""

    def __init__(self, message: str, data: bytes, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.data = data


class ReasonRevert(ContractRevert):
    """``Error(string)``: ``module`` and ``reason`` split from ``"module: reason"`` (module None if absent)."""

    module_name: ClassVar[str | None] = None

    def __init__(self, text: str, data: bytes) -> None:
        module, sep, reason = text.partition(": ")
        self.text = text
        self.module: str | None = module if sep and module and " " not in module else None
        self.reason = reason if self.module is not None else text
        super().__init__(f"reverted: {text}", data)

    @property
    def raised_at(self) -> list[str]:
        """Where settlekit's contracts raise this reason ("file:line"), from the shipped catalogue; empty for
        a reason that is not settlekit's (another contract's, or a catalogue that is out of date)."""
        return _catalogue_places().get(self.text, [])


class PanicRevert(ContractRevert):
    """``Panic(uint256)``, with the code and its meaning."""

    def __init__(self, code: int, data: bytes) -> None:
        self.code = code
        self.meaning = PANIC_MEANINGS.get(code, "unknown panic code")
        super().__init__(f"panicked: 0x{code:02x} ({self.meaning})", data)


class EmptyRevert(ContractRevert):
    """The call reverted without any data."""

    def __init__(self, data: bytes = b"") -> None:
        super().__init__(
            "reverted without a reason",
            data,
            hint="a failed assert without message, an unknown function selector, or out of gas",
        )


class RawRevert(ContractRevert):
    """Revert data that is neither Error(string) nor Panic(uint256)."""

    def __init__(self, data: bytes) -> None:
        self.selector = data[:4]
        super().__init__(f"reverted with data 0x{data.hex()}", data)


class MathRevert(ReasonRevert):
    module_name = "math"


class SafeTokenRevert(ReasonRevert):
    module_name = "safe_token"


class OwnableRevert(ReasonRevert):
    module_name = "ownable"


class CircuitBreakerRevert(ReasonRevert):
    module_name = "circuit_breaker"


class NoncesRevert(ReasonRevert):
    module_name = "nonces"


class Eip712Revert(ReasonRevert):
    module_name = "eip712"


REVERT_CLASSES: dict[str, type[ReasonRevert]] = {
    cls.module_name: cls
    for cls in (MathRevert, SafeTokenRevert, OwnableRevert, CircuitBreakerRevert, NoncesRevert, Eip712Revert)
    if cls.module_name is not None
}


@cache
def _catalogue_places() -> dict[str, list[str]]:
    from settlekit.revert_catalogue import shipped_catalogue

    places: dict[str, list[str]] = {}
    for entry in shipped_catalogue():
        places.setdefault(entry.text, []).append(f"{entry.file}:{entry.line}")
    return places


def _as_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    text = data.strip()
    text = text[2:] if text.startswith(("0x", "0X")) else text
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


def decode_revert(data: bytes | str | None) -> ContractRevert:
    """Decode raw revert data (bytes or 0x-hex) into the matching :class:`ContractRevert`."""
    raw = _as_bytes(data)
    if not raw:
        return EmptyRevert()
    selector, body = raw[:4], raw[4:]
    if selector == ERROR_SELECTOR:
        try:
            (text,) = abi_decode(["string"], body)
        except (DecodingError, ValueError, OverflowError):
            return RawRevert(raw)
        module = text.partition(": ")[0]
        return REVERT_CLASSES.get(module, ReasonRevert)(str(text), raw)
    if selector == PANIC_SELECTOR and len(body) == 32:
        return PanicRevert(int.from_bytes(body, "big"), raw)
    return RawRevert(raw)


def _data_of(exc: BaseException) -> bytes | str | None:
    data: Any = getattr(exc, "data", None)
    if isinstance(data, dict):  # some providers wrap it: {"data": "0x..."} or {"message":..., "data":...}
        data = data.get("data")
    if isinstance(data, bytes | str) and data:
        return data
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, dict) and isinstance(arg.get("data"), str):
            return str(arg["data"])
    return None


def _eth_tester_data(exc: BaseException) -> bytes | None:
    # eth-tester reports a failed call as TransactionFailed(text), where text is the decoded Error(string)
    # reason, or the repr of the raw revert bytes (b'...'); web3's provider then wraps it again as
    # "execution reverted: <text>". The innermost failure in the __context__ chain holds the original.
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None:
        chain.append(current)
        current = current.__context__
    for failure in reversed(chain):
        if type(failure).__name__ not in ("TransactionFailed", "Revert") or not failure.args:
            continue
        first: Any = failure.args[0]
        if isinstance(first, Exception) and first.args:
            first = first.args[0]
        if isinstance(first, bytes):
            return first
        if isinstance(first, str):
            if _BYTES_REPR.match(first):
                value = ast.literal_eval(first)
                return value if isinstance(value, bytes) else None
            return ERROR_SELECTOR + abi_encode(["string"], [first])
    return None


def _is_eth_tester_failure(exc: BaseException) -> bool:
    return type(exc).__name__ == "TransactionFailed" and type(exc).__module__.startswith("eth_tester")


def revert_from_exception(exc: BaseException) -> ContractRevert | None:
    """The revert inside an exception raised by web3.py (eth-tester or an HTTP node), or None if the
    exception is not a revert."""
    if isinstance(exc, ContractRevert):
        return exc
    if _is_eth_tester_failure(exc):
        return decode_revert(_eth_tester_data(exc))
    from web3.exceptions import ContractLogicError  # local import: web3 is slow to import

    if not isinstance(exc, ContractLogicError):
        return None
    return decode_revert(_data_of(exc))
