"""Storage slots of the contracts' state variables (from ``vyper -f layout``), so that frequent invariant checks
read storage directly (about 1 us a read) instead of running view functions (about 15 us a call).

The layout is cached under ``<project>/.settlekit/`` keyed by the runtime bytecode, so pool workers and later
runs do not call the compiler again. The end-of-sequence check still uses the view functions.
"""

from __future__ import annotations

import json
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak

from settlekit.build import ArtifactStore
from settlekit.exceptions import SettlekitError
from settlekit.project import Project
from settlekit.toolchain import find_tool, tool_environment

Layout = dict[str, int]  # variable name -> slot (names unique within one contract's layout)


def _flatten(tree: dict[str, Any], into: dict[str, int]) -> None:
    for name, entry in tree.items():
        if isinstance(entry, dict) and "slot" in entry and "type" in entry:
            into[name] = -1 if name in into else int(entry["slot"])  # -1: ambiguous, never used
        elif isinstance(entry, dict):
            _flatten(entry, into)


def _compile_layout(project: Project, source: Path) -> Layout:
    vyper = find_tool("vyper", project)
    completed = subprocess.run(
        [str(vyper.path), "-f", "layout", str(source.relative_to(project.root))],
        cwd=project.root,
        env=tool_environment(project),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if completed.returncode != 0:
        raise SettlekitError(
            f"vyper -f layout {source} failed: {completed.stderr.strip()[-500:]}",
            hint="run `settlekit build` to see the compile error",
        )
    layout: dict[str, int] = {}
    _flatten(json.loads(completed.stdout).get("storage_layout", {}), layout)
    return layout


def storage_layout(project_root: Path, store: ArtifactStore, name: str) -> Layout:
    """The slots of contract ``name`` (file ``contracts/**/<name>.vy``) in the project at ``project_root``."""
    project = Project(project_root.resolve())
    artifact = store.get(name)
    cache = project.root / ".settlekit" / f"diff-layout-{name}.json"
    key = artifact.runtime_hash.hex()
    try:
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return {str(k): int(v) for k, v in cached["layout"].items()}
    except (OSError, ValueError, KeyError):
        pass
    sources = sorted(project.contracts_dir.rglob(f"{name}.vy"))
    if len(sources) != 1:
        raise SettlekitError(
            f"expected one source file for {name}, found {len(sources)}", hint="give contracts unique names"
        )
    layout = _compile_layout(project, sources[0])
    cache.parent.mkdir(exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "layout": layout}))
    tmp.replace(cache)
    return layout


@lru_cache(maxsize=65_536)
def mapping_slot(slot: int, key: str | int) -> int:
    """Vyper's HashMap slot: keccak256(slot . key) (cached: the fuzzer reads the same few accounts over and over)."""
    word = bytes(12) + bytes.fromhex(key[2:]) if isinstance(key, str) else key.to_bytes(32, "big")
    return int.from_bytes(keccak(slot.to_bytes(32, "big") + word), "big")
