"""EIP-712 signing on the hot path: digests built by hand and signed with coincurve (no JSON typed-data round trip).

The result is the same signature eth_account produces (RFC 6979, low s); the typed-data layout follows
contracts/modules/eip712.vy (domain: name, version, chainId, verifyingContract).
"""

from __future__ import annotations

from functools import cache

from coincurve import PrivateKey
from eth_utils.crypto import keccak

from .world import actor

DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")


def _word(value: int | str) -> bytes:
    if isinstance(value, str):
        return bytes(12) + bytes.fromhex(value[2:])
    return value.to_bytes(32, "big")


@cache
def domain_separator(name: str, version: str, chain_id: int, contract: str) -> bytes:
    body = DOMAIN_TYPEHASH + keccak(text=name) + keccak(text=version) + _word(chain_id) + _word(contract)
    return bytes(keccak(body))


@cache
def typehash(type_string: str) -> bytes:
    return bytes(keccak(text=type_string))


@cache
def _key(index: int) -> PrivateKey:
    return PrivateKey(bytes(actor(index).key))


def sign(index: int, separator: bytes, type_string: str, values: tuple[int | str, ...]) -> tuple[int, bytes, bytes]:
    """(v, r, s) of actor ``index`` over the typed struct ``values`` (ints and 0x-addresses, in type order)."""
    struct_hash = keccak(typehash(type_string) + b"".join(_word(v) for v in values))
    digest = keccak(b"\x19\x01" + separator + struct_hash)
    raw = _key(index).sign_recoverable(digest, hasher=None)
    return 27 + raw[64], raw[:32], raw[32:64]
