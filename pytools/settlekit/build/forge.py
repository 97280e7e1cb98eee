"""Compiling the project's contracts through ``forge build`` (forge runs the venv's vyper).

forge keeps its own cache: sources whose content and imports did not change are not recompiled, and the report
says which files were compiled this time.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from settlekit.build import stamp as build_stamp
from settlekit.exceptions import SettlekitError
from settlekit.project import Project
from settlekit.toolchain import find_tool, tool_environment

_LOCATION = re.compile(r'contract "(?P<file>[^":]+)(?::(?P<line>\d+))?"')
_LINE_COL = re.compile(r"line (?P<line>\d+):(?P<col>\d+)")


@dataclass(frozen=True)
class CompilerMessage:
    """One error or warning from the compiler, with its place in the source when known."""

    severity: str
    file: str
    line: int | None
    column: int | None
    message: str
    detail: str

    def location(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where


class CompileError(SettlekitError):
    """The contracts did not compile. ``messages`` holds each error with file and line."""

    def __init__(self, messages: list[CompilerMessage]) -> None:
        errors = [m for m in messages if m.severity == "error"]
        summary = "; ".join(f"{m.location()}: {m.message}" for m in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(
            f"compilation failed with {len(errors)} error(s): {summary}{more}",
            hint="fix the source at the place shown, then run `settlekit build` again",
        )
        self.messages = messages


@dataclass(frozen=True)
class BuildReport:
    """What a build did: files compiled this time (empty when everything was cached) and warnings."""

    compiled: list[str]
    warnings: list[CompilerMessage] = field(default_factory=list)
    out_dir: Path = Path("out")

    @property
    def cached(self) -> bool:
        return not self.compiled


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path


def parse_message(raw: dict[str, Any], root: Path) -> CompilerMessage:
    """Turn one entry of forge's ``errors`` array into a :class:`CompilerMessage`."""
    formatted = str(raw.get("formattedMessage") or raw.get("message") or "")
    source = raw.get("sourceLocation") or {}
    file = str(source.get("file") or "")
    line = source.get("lineno")
    column = source.get("col_offset")
    where = _LOCATION.search(formatted)
    if where:
        file = file or where.group("file")
        if line is None and where.group("line"):
            line = int(where.group("line"))
    line_col = _LINE_COL.search(formatted)
    if line_col:
        line = line if line is not None else int(line_col.group("line"))
        column = column if column is not None else int(line_col.group("col"))
    return CompilerMessage(
        severity=str(raw.get("severity", "error")).lower(),
        file=_relative(file, root) if file else "<unknown>",
        line=int(line) if line is not None else None,
        column=int(column) if column is not None else None,
        message=str(raw.get("message") or formatted.splitlines()[0] if formatted else "unknown error"),
        detail=formatted,
    )


def build(
    project: Project,
    *,
    force: bool = False,
    tests: bool = False,
    timeout: float = 900.0,
    out_dir: Path | None = None,
    cache_dir: Path | None = None,
    lock_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> BuildReport:
    """Run ``forge build`` in ``project``; raise :class:`CompileError` with file and line on failure.

    Only the contracts are compiled unless ``tests`` is true: the Vyper test contracts take most of the compile
    time and nothing but ``forge test`` needs them. ``out_dir``/``cache_dir`` build elsewhere than the project's
    out/ and cache/ (the fuzz engine's own folders), ``lock_path`` is the lock those folders take turns on (default
    ``.settlekit/build.lock``), and ``env`` replaces the tool environment (a FOUNDRY_PROFILE, say).
    """
    forge = find_tool("forge", project)
    find_tool("vyper", project)  # fail early with an install hint rather than with forge's message
    argv = [str(forge.path), "build", "--json", "--root", str(project.root)]
    if out_dir is not None:
        argv += ["--out", str(out_dir)]
    if cache_dir is not None:
        argv += ["--cache-path", str(cache_dir)]
    if not tests:
        argv += ["--skip", f"{project.test_dir.relative_to(project.root)}/**"]
    if force:
        argv.append("--force")
    # Two builds writing the same out/ and cache/ at once (parallel test workers, a CLI build beside a library one)
    # can leave one reading half-written artifacts: builds of one project take turns.
    lock = lock_path if lock_path is not None else project.root / ".settlekit" / "build.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    environment = env if env is not None else tool_environment(project)
    artifacts_dir = out_dir if out_dir is not None else project.out_dir
    forge_cache = cache_dir if cache_dir is not None else build_stamp.default_cache_dir(project)
    stamp = build_stamp.stamp_path(forge_cache, tests)
    try:
        with FileLock(str(lock), timeout=timeout):
            inputs = build_stamp.inputs(project, argv, environment, forge.path, forge_cache, tests)
            # Nothing changed since the last successful build (settlekit.build.stamp): no forge start-up at all.
            fresh = build_stamp.fingerprint(inputs, forge_cache)
            if not force and build_stamp.is_fresh(project, stamp, fresh, forge_cache, artifacts_dir):
                return BuildReport(compiled=[], out_dir=artifacts_dir)
            stamp.unlink(missing_ok=True)  # until this build is known to have succeeded
            completed = subprocess.run(
                argv,
                cwd=project.root,
                env=environment,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            built = build_stamp.fingerprint(inputs, forge_cache)
    except Timeout:
        raise SettlekitError(
            f"another build of {project.root} held the build lock for {timeout:g}s",
            hint=f"wait for it to finish, or remove {lock} if no settlekit or forge is running",
        ) from None
    except subprocess.TimeoutExpired:
        raise SettlekitError(
            f"forge build did not finish within {timeout:g}s",
            hint="run `forge build` by hand to see where it hangs",
        ) from None
    try:
        payload = json.loads(completed.stdout) if completed.stdout.strip() else {}
    except ValueError:
        payload = {}
    messages = [parse_message(raw, project.root) for raw in payload.get("errors", [])]
    if completed.returncode != 0 or any(m.severity == "error" for m in messages):
        if not any(m.severity == "error" for m in messages):
            text = (completed.stderr or completed.stdout).strip()
            messages.append(
                CompilerMessage(
                    "error",
                    "<forge>",
                    None,
                    None,
                    text[-2000:] or f"forge build exited with {completed.returncode}",
                    text,
                )
            )
        raise CompileError(messages)
    build_stamp.record(stamp, built)
    compiled = sorted(_relative(path, project.root) for path in payload.get("contracts", {}))
    return BuildReport(
        compiled=compiled,
        warnings=[m for m in messages if m.severity != "error"],
        out_dir=out_dir if out_dir is not None else project.out_dir,
    )
