"""The unsigned fields of a journaled raw transaction, so a replacement (fee bump) is signed from the journal alone.

Only the two kinds settlekit signs are read: EIP-1559 (type 2) and legacy transactions.
"""

from __future__ import annotations

from typing import Any

import rlp  # type: ignore[import-untyped]
from eth_utils.address import to_checksum_address

from settlekit.exceptions import SettlekitError


class RawTransactionError(SettlekitError):
    """A journaled raw transaction cannot be decoded."""


def _int(value: bytes) -> int:
    return int.from_bytes(value, "big")


def unsigned_fields(raw: bytes) -> dict[str, Any]:
    """The fields to sign again (nonce, gas, to, value, data, chain id and the fee fields) of ``raw``."""
    try:
        if raw[:1] == b"\x02":
            chain_id, nonce, tip, max_fee, gas, to, value, data, _access, *_sig = rlp.decode(raw[1:])
            fields: dict[str, Any] = {
                "chainId": _int(chain_id),
                "maxPriorityFeePerGas": _int(tip),
                "maxFeePerGas": _int(max_fee),
            }
        elif raw[:1] >= b"\xc0":
            nonce, gas_price, gas, to, value, data, v, *_sig = rlp.decode(raw)
            fields = {"gasPrice": _int(gas_price)}
            if _int(v) >= 35:
                fields["chainId"] = (_int(v) - 35) // 2
        else:
            raise ValueError(f"transaction type 0x{raw[:1].hex()}")
    except (ValueError, rlp.exceptions.DecodingError) as error:
        raise RawTransactionError(
            f"cannot decode a journaled transaction: {error}",
            hint="the journal may be damaged; restore it, or move it away and deploy again",
        ) from None
    fields.update({"nonce": _int(nonce), "gas": _int(gas), "value": _int(value), "data": "0x" + bytes(data).hex()})
    if to:
        fields["to"] = to_checksum_address(bytes(to))
    return fields
