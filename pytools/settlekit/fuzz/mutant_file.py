"""Mutants planted by users: read and check a TOML or JSON file of them (``settlekit fuzz --mutants FILE``).

The file holds a list ``mutants`` of entries (in TOML, ``[[mutants]]`` tables; in JSON, ``{"mutants": [...]}`` or
a bare list), each with the keys of :class:`~settlekit.fuzz.mutants.Mutant`:

- ``id`` (required): a name, unique in the file;
- ``file`` (required): the source file, relative to the project root (``contracts/...``);
- ``original`` (required): the exact snippet (one line or several) to replace; it must occur exactly once;
- ``replacement`` (required): what replaces it (may be empty: the snippet is deleted);
- ``title`` (optional): one line saying what the bug is (default: the id);
- ``forge_tests`` (optional): forge test files (names under tests/forge) expected to kill it.

Everything is checked against the project before anything is copied or built; the first problem raises a
:class:`MutantFileError` that names the entry and the key (the CLI prints it as one ``error:`` and one ``fix:`` line).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from settlekit.fuzz.mutants import COPIED_DIRS, FORGE_TEST_DIR, Mutant, MutantError

__all__ = ["MutantFileError", "load_mutants"]

REQUIRED = ("id", "file", "original", "replacement")
OPTIONAL = ("title", "forge_tests")
EXAMPLE = "[[mutants]] with id, file, original, replacement (strings) and optionally title, forge_tests (a list)"


class MutantFileError(MutantError):
    """A mutants file that cannot be read or has a bad entry."""


def _parse(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as exc:
        raise MutantFileError(
            f"cannot read the mutants file {path}: {exc.strerror}", hint="pass the path of a .toml or .json file"
        ) from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise MutantFileError(
                f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}", hint="fix the JSON syntax there"
            ) from None
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise MutantFileError(f"{path} is not valid TOML: {exc}", hint="fix the TOML syntax there") from None
    raise MutantFileError(
        f"{path}: unknown mutants file type {path.suffix or '(no suffix)'!r}", hint="name the file *.toml or *.json"
    )


def _entries(path: Path, document: Any) -> list[Any]:
    entries = document.get("mutants") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise MutantFileError(f"{path} has no list of mutants", hint=f"write {EXAMPLE}")
    return entries


def _string(path: Path, where: str, entry: dict[str, Any], key: str) -> str:
    if key not in entry:
        raise MutantFileError(f"{path}: {where}: missing key {key!r}", hint=f'add {key} = "..." to that entry')
    value = entry[key]
    if not isinstance(value, str):
        raise MutantFileError(
            f"{path}: {where}: key {key!r} is a {type(value).__name__}, not a string", hint=f"make {key} a string"
        )
    return value


def _project_file(project_root: Path, path: Path, where: str, name: str) -> str:
    """The source ``name`` (relative to the project) after checking it is a file inside the project."""
    root = project_root.resolve()
    target = (root / name).resolve()
    if Path(name).is_absolute() or not target.is_relative_to(root):
        raise MutantFileError(
            f"{path}: {where}: key 'file': {name} is outside the project",
            hint="give the path relative to the project root, e.g. contracts/MarginEngine.vy",
        )
    if not target.is_file():
        raise MutantFileError(
            f"{path}: {where}: key 'file': no file {name} in {root}",
            hint="give the path of an existing source, relative to the project root (e.g. contracts/...)",
        )
    relative = target.relative_to(root).as_posix()
    if not relative.startswith(tuple(f"{folder}/" for folder in (*COPIED_DIRS, FORGE_TEST_DIR))):
        raise MutantFileError(
            f"{path}: {where}: key 'file': {name} is not a source the benchmark copies",
            hint=f"plant mutants in files under {', '.join((*COPIED_DIRS, FORGE_TEST_DIR))}/",
        )
    return relative


def _forge_tests(project_root: Path, path: Path, where: str, entry: dict[str, Any]) -> tuple[str, ...]:
    value = entry.get("forge_tests", [])
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise MutantFileError(
            f"{path}: {where}: key 'forge_tests' is not a list of file names",
            hint='write forge_tests = ["SomeTest.vy", ...] (files under tests/forge), or leave it out',
        )
    for name in value:
        if not (project_root / FORGE_TEST_DIR / name).is_file():
            raise MutantFileError(
                f"{path}: {where}: key 'forge_tests': no forge test file {name} in {FORGE_TEST_DIR}",
                hint=f"name files that exist under {FORGE_TEST_DIR}, or leave forge_tests out",
            )
    return tuple(value)


def _mutant(project_root: Path, path: Path, index: int, entry: Any, seen: set[str]) -> Mutant:
    where = f"mutant #{index}"
    if not isinstance(entry, dict):
        raise MutantFileError(f"{path}: {where} is not a table of keys", hint=f"write {EXAMPLE}")
    mutant_id = _string(path, where, entry, "id")
    where = f"mutant #{index} ({mutant_id!r})"
    if not mutant_id.strip():
        raise MutantFileError(f"{path}: {where}: key 'id' is empty", hint="give each mutant a short name")
    if mutant_id in seen:
        raise MutantFileError(f"{path}: {where}: key 'id' repeats an earlier mutant", hint="make every id unique")
    unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise MutantFileError(
            f"{path}: {where}: unknown key {unknown[0]!r}",
            hint=f"use only {', '.join(REQUIRED + OPTIONAL)} (check the spelling)",
        )
    file = _project_file(project_root, path, where, _string(path, where, entry, "file"))
    original = _string(path, where, entry, "original")
    replacement = _string(path, where, entry, "replacement")
    title = _string(path, where, entry, "title") if "title" in entry else mutant_id
    if not original:
        raise MutantFileError(f"{path}: {where}: key 'original' is empty", hint="give the exact snippet to replace")
    count = (project_root / file).read_text().count(original)
    if count != 1:
        found = "is not found" if count == 0 else f"is found {count} times"
        raise MutantFileError(
            f"{path}: {where}: key 'original': the snippet {found} in {file} (it must occur exactly once)",
            hint="copy the line exactly (indentation included); if it repeats, add a neighbouring line to the snippet",
        )
    if replacement == original:
        raise MutantFileError(
            f"{path}: {where}: key 'replacement' equals 'original', so nothing is planted",
            hint="write the buggy version of the snippet in replacement",
        )
    forge_tests = _forge_tests(project_root, path, where, entry)
    seen.add(mutant_id)
    return Mutant(mutant_id, title, file, original, replacement, forge_tests)


def load_mutants(project_root: Path, path: Path) -> tuple[Mutant, ...]:
    """The mutants of the TOML or JSON file at ``path``, each checked to apply once to ``project_root``'s sources.

    Raises :class:`MutantFileError` naming the entry (``mutant #N ('id')``) and the key at the first problem."""
    entries = _entries(path, _parse(path))
    seen: set[str] = set()
    return tuple(_mutant(project_root, path, index, entry, seen) for index, entry in enumerate(entries, start=1))
