"""Counterexample files of the forge engine, and telling replay files of both engines apart.

A replay file is a JSON object whose top-level ``"engine"`` says who wrote it: ``"forge"`` (this module) or
``"diff"`` (the differential engine). A forge counterexample file holds what it takes to rerun exactly the
failing test: its file, contract and name, the seed, the foundry profile, the counterexample (calldata or call
sequence) as forge reported it, and the forge version.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from settlekit.exceptions import UsageError
from settlekit.fuzz.forge_json import counterexample_calls
from settlekit.fuzz.report import TestResult

FORMAT_VERSION = 1
ENGINES = ("forge", "diff")
_REQUIRED = ("path", "contract", "test", "seed", "profile")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def counterexample_filename(result: TestResult, seed: int) -> str:
    """``<Contract>.<test>.<seed>.json``: one file per failing test and seed (a rerun overwrites it)."""
    return _UNSAFE.sub("_", f"{result.contract}.{result.name}.{seed:#x}") + ".json"


def counterexample_document(
    result: TestResult, *, seed: int, profile: str, forge_version: str, settings: dict[str, Any]
) -> dict[str, Any]:
    """The JSON document saved for one failing test."""
    return {
        "engine": "forge",
        "format": FORMAT_VERSION,
        "suite": result.suite,
        "path": result.path,
        "contract": result.contract,
        "test": result.test,
        "kind": result.kind,
        "seed": hex(seed),
        "profile": profile,
        "reason": result.reason,
        "counterexample": result.counterexample,
        "calls": counterexample_calls(result.counterexample),
        "forge_version": forge_version,
        "settings": settings,
        "found_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_counterexample(directory: Path, document: dict[str, Any], filename: str) -> Path:
    """Write ``document`` atomically (temporary file, then rename) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / filename
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(document, stream, indent=2, sort_keys=True)
            stream.write("\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def load_replay_file(path: Path) -> dict[str, Any]:
    """Read a replay file of either engine; raise :class:`UsageError` saying what is wrong with a bad one."""
    hint = "pass a file written by `settlekit fuzz` (forge counterexample or differential replay file)"
    try:
        text = path.read_text()
    except OSError as error:
        raise UsageError(f"cannot read replay file {path}: {error.strerror or error}", hint=hint) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"replay file {path} is not JSON ({error.msg} at line {error.lineno})", hint=hint) from None
    if not isinstance(document, dict):
        raise UsageError(f"replay file {path} holds a JSON {type(document).__name__}, not an object", hint=hint)
    engine = document.get("engine")
    if engine not in ENGINES:
        raise UsageError(
            f'replay file {path} has no known "engine" key (found {engine!r}; expected "forge" or "diff")',
            hint=hint,
        )
    return document


def check_forge_document(path: Path, document: dict[str, Any]) -> int:
    """Check the fields a forge replay needs; return the seed as an integer."""
    missing = [key for key in _REQUIRED if not isinstance(document.get(key), str) or not document.get(key)]
    if missing:
        raise UsageError(
            f"forge counterexample file {path} lacks {', '.join(missing)}",
            hint="pass a counterexample file as `settlekit fuzz` wrote it, not an edited copy",
        )
    try:
        return int(str(document["seed"]), 0)
    except ValueError:
        raise UsageError(
            f"forge counterexample file {path} has a seed that is not a number: {document['seed']!r}",
            hint="the seed is written as 0x-prefixed hex; restore it from the original file",
        ) from None
