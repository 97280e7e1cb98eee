"""ERC-5202 blueprints: contracts whose code is another contract's creation code, for ``create_from_blueprint``."""

from __future__ import annotations

from settlekit.exceptions import SettlekitError

BLUEPRINT_PREAMBLE = bytes.fromhex("fe7100")  # 0xFE (invalid, so it can never run), 0x71 (ERC-5202), version 0
# PUSH2 len, RETURNDATASIZE (0), DUP2, PUSH1 10, RETURNDATASIZE (0), CODECOPY(0, 10, len), RETURN(0, len): copies
# the bytes after these 10 and returns them as the deployed code.
_DEPLOYER_TAIL = bytes.fromhex("3d81600a3d39f3")


def blueprint_code(initcode: bytes) -> bytes:
    """The code a blueprint of ``initcode`` holds on chain."""
    return BLUEPRINT_PREAMBLE + initcode


def blueprint_deployer(initcode: bytes) -> bytes:
    """Creation code that deploys ``initcode`` as a blueprint."""
    code = blueprint_code(initcode)
    if len(code) > 0xFFFF:
        raise SettlekitError(
            f"a blueprint of {len(code)} bytes does not fit the deployer's 2-byte length",
            hint="blueprints are limited to 65,535 bytes; split the contract",
        )
    return bytes([0x61]) + len(code).to_bytes(2, "big") + _DEPLOYER_TAIL + code
