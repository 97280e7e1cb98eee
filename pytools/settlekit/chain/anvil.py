"""A managed Anvil process: start on a free port, wait until it answers, drive it, stop it.

``Anvil`` is a context manager::

    with Anvil(AnvilConfig(chain_id=31337)) as node:
        snapshot = node.snapshot()
        node.mine(5)
        node.revert(snapshot)

The process is bound to the current process (see :mod:`settlekit.chain.process`), so it cannot be orphaned.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Self

from settlekit.chain.ports import free_port, port_in_use
from settlekit.chain.process import spawn_bound_to_parent, stop_process
from settlekit.chain.rpc import RpcClient, RpcConnectionError, RpcError, redact_url
from settlekit.exceptions import SettlekitError
from settlekit.project import Project
from settlekit.toolchain import find_tool

if TYPE_CHECKING:
    from web3 import Web3

_AUTO_PORT_ATTEMPTS = 3
_LOG_TAIL_BYTES = 4000


class AnvilStartError(SettlekitError):
    """Anvil exited or never answered while starting; the message carries anvil's own output."""


@dataclass(frozen=True)
class AnvilConfig:
    """How to start Anvil. ``port=None`` picks a free port."""

    port: int | None = None
    host: str = "127.0.0.1"
    chain_id: int | None = 31337
    block_time: float | None = None
    mining: bool = True
    fork_url: str | None = None
    fork_block_number: int | None = None
    slots_in_an_epoch: int | None = None
    accounts: int = 10
    balance_ether: int = 10_000
    extra_args: tuple[str, ...] = ()
    startup_timeout: float = 30.0

    def argv(self, binary: Path, port: int) -> list[str]:
        """The anvil command line for ``port``."""
        args = [str(binary), "--host", self.host, "--port", str(port)]
        args += ["--accounts", str(self.accounts), "--balance", str(self.balance_ether)]
        if self.chain_id is not None:
            args += ["--chain-id", str(self.chain_id)]
        if self.block_time is not None:
            args += ["--block-time", _number(self.block_time)]
        if not self.mining:
            args.append("--no-mining")
        if self.fork_url is not None:
            args += ["--fork-url", self.fork_url]
            if self.fork_block_number is not None:
                args += ["--fork-block-number", str(self.fork_block_number)]
        if self.slots_in_an_epoch is not None:
            args += ["--slots-in-an-epoch", str(self.slots_in_an_epoch)]
        return [*args, *self.extra_args]

    def describe(self) -> dict[str, Any]:
        """The settings as JSON-ready data, with the fork URL redacted (it may hold an API key)."""
        return {
            "host": self.host,
            "chain_id": self.chain_id,
            "block_time": self.block_time,
            "mining": self.mining,
            "fork_url": redact_url(self.fork_url) if self.fork_url else None,
            "fork_block_number": self.fork_block_number,
            "slots_in_an_epoch": self.slots_in_an_epoch,
        }


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass
class Anvil:
    """One Anvil process and the RPC calls tests and tools make against it."""

    config: AnvilConfig = field(default_factory=AnvilConfig)
    project: Project | None = None
    log_path: Path | None = None

    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)
    _port: int | None = field(default=None, init=False)
    _rpc: RpcClient | None = field(default=None, init=False, repr=False)
    _w3: Web3 | None = field(default=None, init=False, repr=False)

    # --- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start anvil and block until ``eth_chainId`` answers. Raises :class:`AnvilStartError` with anvil's
        own output when it exits or does not answer within ``config.startup_timeout`` seconds."""
        if self._process is not None:
            raise SettlekitError("this Anvil is already started", hint="call stop() before starting it again")
        binary = find_tool("anvil", self.project).path
        explicit_port = self.config.port
        if explicit_port is not None and port_in_use(explicit_port, self.config.host):
            raise AnvilStartError(
                f"port {explicit_port} on {self.config.host} is already in use",
                hint="pick another --port, or omit it to use a free one",
            )
        attempts = 1 if explicit_port is not None else _AUTO_PORT_ATTEMPTS
        for attempt in range(attempts):
            port = explicit_port if explicit_port is not None else free_port(self.config.host)
            try:
                self._launch(binary, port)
                return self
            except AnvilStartError as error:
                # A free port can be taken by another process between our probe and anvil's bind.
                if explicit_port is None and "in use" in str(error) and attempt + 1 < attempts:
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _launch(self, binary: Path, port: int) -> None:
        if self.log_path is None:
            handle = tempfile.NamedTemporaryFile(prefix=f"anvil-{port}-", suffix=".log", delete=False)  # noqa: SIM115
            self.log_path = Path(handle.name)
            handle.close()
        self._log = self.log_path.open("wb")
        process = spawn_bound_to_parent(self.config.argv(binary, port), log=self._log)
        self._process, self._port = process, port
        rpc = RpcClient(f"http://{self.config.host}:{port}", timeout=5.0)
        deadline = time.monotonic() + self.config.startup_timeout
        while True:
            exit_code = process.poll()
            if exit_code is not None:
                output = self.log_tail()
                self._cleanup()
                in_use = "address already in use" in output.lower()
                raise AnvilStartError(
                    f"anvil exited with code {exit_code} while starting on port {port}"
                    + (" (port already in use)" if in_use else "")
                    + (f": {output.strip()}" if output.strip() else ""),
                    hint="pick another --port"
                    if in_use
                    else "read anvil's message above; `settlekit doctor` checks the installation",
                )
            try:
                rpc.call("eth_chainId", timeout=1.0)
                break
            except RpcConnectionError:
                if time.monotonic() > deadline:
                    output = self.log_tail()
                    stop_process(process)
                    self._cleanup()
                    raise AnvilStartError(
                        f"anvil did not answer on port {port} within {self.config.startup_timeout:g}s"
                        + (f": {output.strip()}" if output.strip() else ""),
                        hint="raise startup_timeout, or check the fork URL if forking",
                    ) from None
                time.sleep(0.05)
        rpc.timeout = 30.0
        self._rpc = rpc

    def stop(self) -> int | None:
        """Stop anvil (SIGTERM, then SIGKILL after 5 s). Returns its exit code, or None if not running."""
        if self._process is None:
            return None
        code = stop_process(self._process)
        self._cleanup()
        return code

    def _cleanup(self) -> None:
        if self._rpc is not None:
            self._rpc.close()
        if self._log is not None:
            self._log.close()
        self._process, self._rpc, self._w3, self._log = None, None, None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log_tail(self, limit: int = _LOG_TAIL_BYTES) -> str:
        """The last ``limit`` bytes anvil wrote to stdout/stderr, with the fork URL redacted."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_bytes()[-limit:].decode(errors="replace")
        if self.config.fork_url:
            text = text.replace(self.config.fork_url, redact_url(self.config.fork_url))
        return text

    # --- identity --------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        return self._require_process().pid

    @property
    def port(self) -> int:
        self._require_process()
        assert self._port is not None
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def rpc(self) -> RpcClient:
        self._require_process()
        assert self._rpc is not None
        return self._rpc

    @property
    def w3(self) -> Web3:
        """A web3 instance bound to this node (created once)."""
        if self._w3 is None:
            from web3 import Web3  # imported here: web3 takes seconds to import, most commands never need it

            self._w3 = Web3(Web3.HTTPProvider(self.url, request_kwargs={"timeout": 30}))
        return self._w3

    def _require_process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise SettlekitError("this Anvil is not running", hint="call start() or use it as a context manager")
        return self._process

    # --- chain control ---------------------------------------------------------------------------------------

    def chain_id(self) -> int:
        return int(self.rpc.call("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.rpc.call("eth_blockNumber"), 16)

    def snapshot(self) -> str:
        """Take a snapshot. Anvil's ids are single-use: take a new one after each revert."""
        return str(self.rpc.call("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        """Return the chain to ``snapshot_id``; raises if anvil does not know the id."""
        if self.rpc.call("evm_revert", snapshot_id) is not True:
            raise SettlekitError(
                f"evm_revert({snapshot_id}) was refused: the snapshot is unknown or already used",
                hint="snapshot ids are single-use; take a new snapshot after each revert",
            )

    def mine(self, blocks: int = 1, interval: int | None = None) -> None:
        """Mine ``blocks`` blocks, ``interval`` seconds apart (anvil's default spacing when None)."""
        if interval is None:
            self.rpc.call("anvil_mine", hex(blocks))
        else:
            self.rpc.call("anvil_mine", hex(blocks), hex(interval))

    def set_next_block_timestamp(self, timestamp: int) -> None:
        self.rpc.call("evm_setNextBlockTimestamp", hex(timestamp))

    def increase_time(self, seconds: int) -> None:
        self.rpc.call("evm_increaseTime", hex(seconds))

    def set_automine(self, enabled: bool) -> None:
        self.rpc.call("evm_setAutomine", enabled)

    def set_interval_mining(self, seconds: int) -> None:
        self.rpc.call("evm_setIntervalMining", seconds)

    def reorg(self, depth: int, transactions: Sequence[tuple[dict[str, Any], int]] = ()) -> None:
        """Replace the last ``depth`` blocks; each ``(tx, offset)`` goes into the new block at ``offset``
        (0 <= offset < depth) of the new branch."""
        if depth < 1:
            raise SettlekitError(f"reorg depth must be >= 1, got {depth}", hint="pass a positive depth")
        for _, offset in transactions:
            if not 0 <= offset < depth:
                raise SettlekitError(
                    f"reorg transaction offset {offset} outside 0..{depth - 1}",
                    hint="each offset names a block of the new branch, counted from its first block",
                )
        self.rpc.call("anvil_reorg", depth, [[tx, offset] for tx, offset in transactions])

    def rollback(self, depth: int) -> None:
        """Drop the last ``depth`` blocks."""
        self.rpc.call("anvil_rollback", depth)

    def set_balance(self, address: str, wei: int) -> None:
        self.rpc.call("anvil_setBalance", address, hex(wei))

    def drop_transaction(self, tx_hash: str) -> None:
        self.rpc.call("anvil_dropTransaction", tx_hash)


__all__ = ["Anvil", "AnvilConfig", "AnvilStartError", "RpcError"]
