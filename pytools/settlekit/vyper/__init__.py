"""settlekit's reusable Vyper 0.4.3 modules, shipped in the wheel so a user's contract can import them.

A user's contract writes ``from settlekit.vyper import safe_token`` (likewise math, ownable, circuit_breaker,
nonces, eip712, price_guard). Vyper resolves that name against its search paths:

- ``vyper`` on the command line searches ``sys.path`` too, so the installed package is found with no flag;
- ``forge`` passes only the project's ``libs`` (foundry.toml) to vyper, so the folder that holds the ``settlekit``
  package (:func:`search_path`, printed by ``python -m settlekit.vyper``) goes into ``libs``; ``settlekit init``
  writes it there.

The ``.vy`` files here are copies of ``contracts/modules/`` (the source of truth in settlekit's repository), kept
identical by :func:`sync_from` (``make vyper-lib``) and checked by a test.
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

MODULES: tuple[str, ...] = ("math", "safe_token", "ownable", "circuit_breaker", "nonces", "eip712", "price_guard")
"""The modules a user's contract can import from ``settlekit.vyper``."""

MODULE_DIR = Path(__file__).resolve().parent
"""The folder holding the ``.vy`` files."""


def search_path() -> Path:
    """The folder to give vyper (``-p``) or forge (``libs``) so that ``from settlekit.vyper import X`` resolves."""
    return MODULE_DIR.parent.parent


def module_path(name: str) -> Path:
    """The installed source of module ``name`` (one of :data:`MODULES`)."""
    if name not in MODULES:
        raise KeyError(f"settlekit.vyper has no module {name!r}; it has {', '.join(MODULES)}")
    return MODULE_DIR / f"{name}.vy"


def stale_copies(modules_dir: Path, target: Path = MODULE_DIR) -> list[str]:
    """Module names whose copy in ``target`` is missing or differs from ``modules_dir/<name>.vy``."""
    return [
        name
        for name in MODULES
        if not (target / f"{name}.vy").is_file()
        or not filecmp.cmp(modules_dir / f"{name}.vy", target / f"{name}.vy", shallow=False)
    ]


def sync_from(modules_dir: Path, target: Path = MODULE_DIR) -> list[str]:
    """Copy the stale modules from ``modules_dir`` (the repository's ``contracts/modules``); return their names."""
    stale = stale_copies(modules_dir, target)
    for name in stale:
        shutil.copyfile(modules_dir / f"{name}.vy", target / f"{name}.vy")
    return stale
