"""EIP-712 signing the way wallets do it, against a contract's own domain (read through EIP-5267).

Used by the demo, the tests and the tooling to produce signatures the contracts must accept; the domain is read
from the contract (``eip712Domain()``), never rebuilt by hand, so a chain-id change on the node shows up here as
it does on chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from settlekit.exceptions import SettlekitError

_EIP712_FIELDS = ("name", "version", "chainId", "verifyingContract", "salt")


@dataclass(frozen=True)
class Signature:
    v: int
    r: bytes
    s: bytes


def contract_domain(contract: Contract) -> dict[str, Any]:
    """The EIP-712 domain ``contract`` reports through EIP-5267 ``eip712Domain()``."""
    fields, name, version, chain_id, verifying_contract, salt, extensions = contract.functions.eip712Domain().call()
    if extensions:
        raise SettlekitError(
            f"{contract.address} reports EIP-712 extensions {extensions}, which settlekit cannot sign for",
            hint="sign with a tool that knows these extensions",
        )
    values = {
        "name": name,
        "version": version,
        "chainId": chain_id,
        "verifyingContract": verifying_contract,
        "salt": salt,
    }
    flags = fields[0] if isinstance(fields, bytes | bytearray) else int(fields)
    return {key: values[key] for bit, key in enumerate(_EIP712_FIELDS) if flags & (1 << bit)}


def sign_typed(
    account: LocalAccount,
    domain: dict[str, Any],
    primary_type: str,
    fields: list[tuple[str, str]],
    message: dict[str, Any],
) -> Signature:
    """Sign ``message`` (a ``primary_type`` struct with ``fields`` as (name, type) pairs) for ``domain``."""
    signable = encode_typed_data(
        domain_data=domain,
        message_types={primary_type: [{"name": name, "type": kind} for name, kind in fields]},
        message_data=message,
    )
    signed = account.sign_message(signable)
    return Signature(int(signed.v), int(signed.r).to_bytes(32, "big"), int(signed.s).to_bytes(32, "big"))


def typed_data_hash(
    domain: dict[str, Any], primary_type: str, fields: list[tuple[str, str]], message: dict[str, Any]
) -> bytes:
    """The EIP-712 digest (keccak of 0x1901 || domain separator || struct hash)."""
    from eth_utils.crypto import keccak

    signable = encode_typed_data(
        domain_data=domain,
        message_types={primary_type: [{"name": name, "type": kind} for name, kind in fields]},
        message_data=message,
    )
    return bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))
