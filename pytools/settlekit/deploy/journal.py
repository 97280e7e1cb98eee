"""The write-ahead journal of a deployment: JSON lines, one file per chain id and deployment name.

Every fact is written before the action it describes is taken (the signed transaction before it is sent) and the
outcome right after (the receipt). The file is replaced atomically on every write (temp file, fsync, rename), so a
crash leaves either the old journal or the new one, never half a line. A lock file keeps two deploys of the same
plan from interleaving.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from settlekit.exceptions import JournalCorruptError, SettlekitError

JOURNAL_VERSION = 2  # 2: per-step fingerprints, fee-bump attempts, warnings


class JournalLockedError(SettlekitError):
    """Another process holds the journal's lock."""


class Journal:
    """An append-only list of records, persisted atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        self._lock = FileLock(str(path) + ".lock")

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise JournalLockedError(
                f"the journal {self.path} is locked: another deploy of this plan is running",
                hint="wait for it to finish; if no deploy is running, the lock is released when its process exits",
            ) from None

    def release(self) -> None:
        self._lock.release()

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> list[dict[str, Any]]:
        self.records = [
            _record(self.path, number, line)
            for number, line in enumerate(self.path.read_text().splitlines(), 1)
            if line.strip()
        ]
        return self.records

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            for record in self.records:
                handle.write(json.dumps(record, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(self.path)

    def header(self) -> dict[str, Any] | None:
        return next((r for r in self.records if r["kind"] == "header"), None)

    def last(self, kind: str, step: str) -> dict[str, Any] | None:
        return next((r for r in reversed(self.records) if r["kind"] == kind and r.get("step") == step), None)


def _record(path: Path, number: int, line: str) -> dict[str, Any]:
    """One journal line as its record; a line that is not a whole record raises :class:`JournalCorruptError`."""
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("kind"), str):
        raise JournalCorruptError(f"{path} line {number} is not a journal record (corrupt or truncated)")
    return record
