"""Running one Anvil in the foreground for ``settlekit chain up``, and stopping it from another shell.

The foreground process (the supervisor) owns anvil: it records the chain in the registry, forwards SIGINT,
SIGTERM and SIGHUP as an orderly stop, removes the record on the way out, and, if it is itself killed with
SIGKILL, anvil still exits because it was spawned bound to its parent.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from settlekit.chain.anvil import Anvil, AnvilConfig
from settlekit.chain.process import pid_alive
from settlekit.chain.registry import ChainRecord, ChainRegistry, command_fingerprint
from settlekit.exceptions import SettlekitError, UsageError
from settlekit.project import Project

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class AnvilExitedError(SettlekitError):
    """Anvil stopped on its own while supervised."""


@dataclass(frozen=True)
class ServeResult:
    record: ChainRecord
    stopped_by: str
    anvil_exit_code: int | None


def serve(
    config: AnvilConfig,
    *,
    registry: ChainRegistry,
    project: Project | None = None,
    on_ready: Callable[[ChainRecord], None] | None = None,
    stop: threading.Event | None = None,
) -> ServeResult:
    """Start anvil, record it, call ``on_ready``, then block until a stop signal (or ``stop`` is set)."""
    stop = stop or threading.Event()
    received: list[str] = []

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in _STOP_SIGNALS}
    anvil = Anvil(config, project)
    record: ChainRecord | None = None
    try:
        anvil.start()
        record = ChainRecord(
            port=anvil.port,
            url=anvil.url,
            chain_id=anvil.chain_id(),
            anvil_pid=anvil.pid,
            supervisor_pid=os.getpid(),
            supervisor_fingerprint=command_fingerprint(os.getpid()),
            started_at=time.time(),
            log_path=str(anvil.log_path),
            settings=config.describe(),
        )
        registry.record(record)
        if on_ready is not None:
            on_ready(record)
        while not stop.wait(0.2):
            if not anvil.running:
                tail = anvil.log_tail(1500).strip()
                code = anvil.stop()
                raise AnvilExitedError(
                    f"anvil on port {record.port} exited on its own with code {code}" + (f": {tail}" if tail else ""),
                    hint=f"see the full log at {record.log_path}",
                )
        code = anvil.stop()
        return ServeResult(record, received[0] if received else "stop event", code)
    finally:
        anvil.stop()
        if record is not None:
            registry.remove(record.port)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop_chains(
    registry: ChainRegistry, *, port: int | None = None, stop_all: bool = False, timeout: float = 10.0
) -> list[ChainRecord]:
    """Stop recorded chains: the one on ``port``, every one with ``stop_all``, or the only one running.

    Returns the chains stopped (empty when none was running). Refuses to guess when several run and neither
    ``port`` nor ``stop_all`` says which.
    """
    live, _stale = registry.all()
    if port is not None:
        targets = [c for c in live if c.port == port]
    elif stop_all or len(live) <= 1:
        targets = live
    else:
        ports = ", ".join(str(c.port) for c in live)
        raise UsageError(
            f"{len(live)} chains are running (ports {ports}); which one should stop?",
            hint="pass --port PORT, or --all to stop every one",
        )
    for chain in targets:
        _stop_one(chain, timeout)
        registry.remove(chain.port)
    return targets


def _stop_one(chain: ChainRecord, timeout: float) -> None:
    # Signal the supervisor, so it stops anvil and cleans up itself; fall back to anvil when the supervisor is
    # gone. The recorded command line guards against signalling an unrelated process that reused a pid.
    supervisor_ours = pid_alive(chain.supervisor_pid) and (
        command_fingerprint(chain.supervisor_pid) == chain.supervisor_fingerprint
    )
    if supervisor_ours and chain.supervisor_pid != os.getpid():
        os.kill(chain.supervisor_pid, signal.SIGTERM)
    elif chain.anvil_alive():
        os.kill(chain.anvil_pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while chain.anvil_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if chain.anvil_alive():
        os.kill(chain.anvil_pid, signal.SIGKILL)
