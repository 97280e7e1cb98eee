"""Telling, without starting forge, that a build would compile nothing.

A cached ``forge build`` still costs about half a second of CPU (forge, then ``vyper --version``, a Python start-up),
and every command that deploys, verifies, watches or fuzzes begins with one. After each successful build a stamp is
written beside forge's own cache (``<cache>/settlekit-build-<contracts|tests>.json``) holding a fingerprint of
everything that decides the build's output:

- the forge arguments (``--force`` aside) and every ``FOUNDRY_*`` / ``DAPP_*`` variable;
- the forge binary and the ``vyper`` forge runs (the first on the tools' PATH): path, size and modification time;
- ``foundry.toml`` and ``remappings.txt``;
- the content of every file under the sources folder (and the test folder for a build with tests), and of every file
  forge's cache lists, with their imports (modules from outside the project included);
- the content of forge's cache file itself, so a build by anything else (``forge test``, another out folder) is
  noticed.

The next build with the same fingerprint, whose artifacts are all still on disk, is skipped. Anything that cannot be
read makes the check fail, and forge runs as before: the stamp can only save a start-up, never skip a compilation.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from settlekit.project import Project

ENV_PREFIXES = ("FOUNDRY_", "DAPP_")


def default_cache_dir(project: Project) -> Path:
    """forge's cache folder: ``cache_path`` of the default profile in foundry.toml (forge's default: ``cache``)."""
    try:
        config = tomllib.loads(project.foundry_toml.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        config = {}
    return project.root / str(config.get("profile", {}).get("default", {}).get("cache_path", "cache"))


def stamp_path(cache_dir: Path, tests: bool) -> Path:
    return cache_dir / f"settlekit-build-{'tests' if tests else 'contracts'}.json"


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def _tool_identity(path: str | None) -> str:
    if path is None:
        return "absent"
    try:
        stat = os.stat(path)
    except OSError:
        return f"{path}:unreadable"
    return f"{os.path.realpath(path)}:{stat.st_size}:{stat.st_mtime_ns}"


def _forge_cache(cache_dir: Path) -> tuple[bytes, dict[str, Any]] | None:
    try:
        raw = (cache_dir / "solidity-files-cache.json").read_bytes()
        data = json.loads(raw)
    except (OSError, ValueError):
        return None
    return (raw, data) if isinstance(data, dict) else None


def _sources(project: Project, tests: bool, cache: dict[str, Any]) -> list[Path]:
    """Every file the build can read: the sources (and tests) folders, and what forge's cache lists and imports."""
    found: set[Path] = set()
    folders = [project.contracts_dir] + ([project.test_dir] if tests else [])
    for folder in folders:
        if folder.is_dir():
            found.update(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    files = cache.get("files")
    if isinstance(files, dict):
        for name, entry in files.items():
            found.add(project.root / str(name))
            imports = entry.get("imports") if isinstance(entry, dict) else None
            if isinstance(imports, list):
                found.update(project.root / str(item) for item in imports)
    return sorted(found)


def inputs(project: Project, argv: list[str], env: dict[str, str], forge: Path, cache_dir: Path, tests: bool) -> str:
    """The digest of this build's inputs, forge's cache aside (see the module's docstring). Taken before forge runs:
    a file changed while it compiles then differs from what the stamp holds, and the next build runs forge."""
    cache = _forge_cache(cache_dir)
    digest = hashlib.sha256()

    def add(*parts: str) -> None:
        for part in parts:
            digest.update(part.encode())
            digest.update(b"\0")

    add("argv", *[arg for arg in argv[1:] if arg != "--force"])
    for key in sorted(k for k in env if k.startswith(ENV_PREFIXES)):
        add(key, env[key])
    add("forge", _tool_identity(str(forge)))
    add("vyper", _tool_identity(shutil.which("vyper", path=env.get("PATH"))))
    for config in ("foundry.toml", "remappings.txt"):
        add(config, _file_digest(project.root / config))
    for path in _sources(project, tests, cache[1] if cache is not None else {}):
        add(str(path), _file_digest(path))
    return digest.hexdigest()


def fingerprint(inputs_digest: str, cache_dir: Path) -> str | None:
    """``inputs_digest`` sealed with the content of forge's cache file; None when forge has no cache."""
    cache = _forge_cache(cache_dir)
    if cache is None:
        return None
    return hashlib.sha256(f"{inputs_digest}:{hashlib.sha256(cache[0]).hexdigest()}".encode()).hexdigest()


def _artifacts_present(project: Project, cache_dir: Path, out_dir: Path) -> bool:
    cache = _forge_cache(cache_dir)
    if cache is None:
        return False
    files = cache[1].get("files")
    if not isinstance(files, dict):
        return False
    for entry in files.values():
        artifacts = entry.get("artifacts", {}) if isinstance(entry, dict) else {}
        for versions in artifacts.values():
            for profiles in versions.values():
                for artifact in profiles.values():
                    if not (out_dir / str(artifact.get("path", ""))).is_file():
                        return False
    return True


def is_fresh(project: Project, stamp: Path, key: str | None, cache_dir: Path, out_dir: Path) -> bool:
    """True when the last successful build had fingerprint ``key`` and its artifacts are all on disk."""
    if key is None:
        return False
    try:
        recorded = json.loads(stamp.read_text()).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded == key and _artifacts_present(project, cache_dir, out_dir)


def record(stamp: Path, key: str | None) -> None:
    """Write the stamp of a successful build (whole or not at all; a read-only project just keeps no stamp)."""
    if key is None:
        return
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=stamp.parent, suffix=".tmp", delete=False) as stream:
            json.dump({"fingerprint": key}, stream)
        os.replace(stream.name, stamp)
    except OSError:
        return
