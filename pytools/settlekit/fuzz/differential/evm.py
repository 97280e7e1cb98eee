"""The in-process EVM back end: pyrevm 0.3.7 with raw calldata, revert decoding and block control.

Nothing here knows about settlekit's contracts; :mod:`.abi` encodes and decodes, the product worlds drive it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from settlekit.errors import ReasonRevert, decode_revert
from settlekit.extras import require

_REVERT_OUTPUT = re.compile(r"output: 0x([0-9a-fA-F]*)")
FUNDS = 10**30  # ether every actor holds, so that gas and value never matter


@dataclass(frozen=True)
class Log:
    """One emitted log: the emitting address (lower-case hex), its topics and data."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class CallResult:
    """A committed call: ``ok`` and its output and logs, or the revert reason (a string, "" if none decoded)."""

    ok: bool
    output: bytes
    logs: tuple[Log, ...]
    reason: str | None


def revert_reason(error: BaseException) -> str:
    """The revert text of a pyrevm failure: the Error(string) text, else a short description of the failure."""
    match = _REVERT_OUTPUT.search(str(error))
    if match is None:
        return f"halt: {str(error)[:120]}"
    return _decode_output(match.group(1))


@lru_cache(maxsize=4096)
def _decode_output(hex_output: str) -> str:
    decoded = decode_revert(bytes.fromhex(hex_output))
    if isinstance(decoded, ReasonRevert):
        return decoded.text
    return f"revert: {decoded.message}"


class Chain:
    """One pyrevm EVM with a clock; every call commits, so calls are transactions in consecutive blocks."""

    def __init__(self, timestamp: int = 1_700_000_000, number: int = 1, chain_id: int = 1) -> None:
        self._pyrevm = require("pyrevm", "the differential fuzzer's in-process EVM")
        # the chain id goes into the EVM's configuration (CHAINID reads it); the attribute alone would leave every
        # chain at pyrevm's default id and make a forked deployment identical to a local one
        self.evm = self._pyrevm.EVM(env=self._pyrevm.Env(cfg=self._pyrevm.CfgEnv(chain_id=chain_id)))
        self.chain_id = chain_id
        self.timestamp = timestamp
        self.number = number
        self._apply_block()

    def _apply_block(self) -> None:
        self.evm.set_block_env(self._pyrevm.BlockEnv(number=self.number, timestamp=self.timestamp))

    def set_block(self, timestamp: int, number: int) -> None:
        """Run the next calls in block ``number`` at ``timestamp``."""
        if timestamp != self.timestamp or number != self.number:
            self.timestamp, self.number = timestamp, number
            self._apply_block()

    def fund(self, address: str) -> None:
        self.evm.set_balance(address, FUNDS)

    def replace_code(self, address: str, code: bytes) -> None:
        """Put ``code`` at ``address``, keeping its balance and nonce (a contract as another chain deployed it)."""
        info = self.evm.basic(address)
        account = self._pyrevm.AccountInfo(balance=info.balance, nonce=info.nonce, code=code)
        self.evm.insert_account_info(address, account)

    def deploy(self, deployer: str, initcode: bytes) -> str:
        """Deploy ``initcode`` (creation code + encoded constructor args); return the lower-case address."""
        return str(self.evm.deploy(deployer, initcode, gas=30_000_000)).lower()

    def call(self, sender: str, to: str, calldata: bytes) -> CallResult:
        """Run a state-changing call from ``sender``; a revert leaves no trace but its reason."""
        try:
            output = self.evm.message_call(sender, to, calldata, gas=30_000_000)
        except RuntimeError as error:
            return CallResult(False, b"", (), revert_reason(error))
        result = self.evm.result
        logs = tuple(
            Log(str(raw.address).lower(), tuple(bytes(t) for t in raw.data[0]), bytes(raw.data[1]))
            for raw in (result.logs if result is not None else [])
        )
        return CallResult(True, bytes(output), logs, None)

    def view(self, to: str, calldata: bytes) -> bytes:
        """A read-only call; raises RuntimeError on revert."""
        return bytes(self.evm.message_call("0x" + "00" * 19 + "01", to, calldata, is_static=True))
