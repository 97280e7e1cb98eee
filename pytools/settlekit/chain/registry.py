"""State files for chains started by ``settlekit chain up``, so ``chain down`` and ``chain status`` work from
another shell.

One JSON file per chain, named by port, under ``$SETTLEKIT_STATE_DIR`` (default ``~/.local/state/settlekit``)
in ``chains/``. Files are written atomically (temp file + rename). A file whose processes are gone is stale: it is
reported once and removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from settlekit.chain.process import pid_alive, process_command

STATE_DIR_ENV = "SETTLEKIT_STATE_DIR"


def command_fingerprint(pid: int) -> str:
    """A hash of the command line of ``pid``: enough to tell a reused pid apart, without recording the
    command line itself (it may hold a fork URL with an API key)."""
    return hashlib.sha256(process_command(pid).encode()).hexdigest()


def state_dir() -> Path:
    configured = os.environ.get(STATE_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "settlekit"


@dataclass(frozen=True)
class ChainRecord:
    """What ``chain up`` records about a running chain."""

    port: int
    url: str
    chain_id: int
    anvil_pid: int
    supervisor_pid: int
    supervisor_fingerprint: str
    started_at: float
    log_path: str
    settings: dict[str, Any]

    def anvil_alive(self) -> bool:
        return pid_alive(self.anvil_pid) and "anvil" in process_command(self.anvil_pid)

    def supervisor_alive(self) -> bool:
        return pid_alive(self.supervisor_pid)


class ChainRegistry:
    """The chains recorded in a state folder."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or state_dir()) / "chains"

    def path_for(self, port: int) -> Path:
        return self.root / f"{port}.json"

    def record(self, chain: ChainRecord) -> Path:
        """Write ``chain``'s file atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path_for(chain.port)
        fd, temporary = tempfile.mkstemp(dir=self.root, prefix=f".{chain.port}.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(chain), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(target)
        return target

    def remove(self, port: int) -> None:
        self.path_for(port).unlink(missing_ok=True)

    def load(self, port: int) -> ChainRecord | None:
        path = self.path_for(port)
        try:
            data = json.loads(path.read_text())
            return ChainRecord(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            # A file we cannot parse is useless to everyone; drop it rather than fail every command.
            path.unlink(missing_ok=True)
            return None

    def all(self) -> tuple[list[ChainRecord], list[ChainRecord]]:
        """(live chains, stale records removed just now), both sorted by port."""
        live: list[ChainRecord] = []
        stale: list[ChainRecord] = []
        if not self.root.is_dir():
            return live, stale
        for path in sorted(self.root.glob("*.json")):
            try:
                port = int(path.stem)
            except ValueError:
                continue
            chain = self.load(port)
            if chain is None:
                continue
            if chain.anvil_alive():
                live.append(chain)
            else:
                self.remove(port)
                stale.append(chain)
        return sorted(live, key=lambda c: c.port), sorted(stale, key=lambda c: c.port)
