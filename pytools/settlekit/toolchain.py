"""Finding the external tools settlekit drives (vyper, anvil, forge, cast) and their versions.

Lookup order for a Foundry tool: ``$SETTLEKIT_<TOOL>`` (an explicit path), the platform binary that npm installed
under the project's node_modules (run directly, not through npm's node wrapper, so signals and exit codes are the
tool's own), then ``PATH``. vyper is looked up beside the running Python first, since forge must compile with the
venv's pinned vyper, not some other one on PATH.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from settlekit.exceptions import ProjectNotFoundError, ToolNotFoundError
from settlekit.project import Project

FOUNDRY_TOOLS = ("anvil", "forge", "cast")
EXPECTED_FOUNDRY_VERSION = "1.7.1"
EXPECTED_VYPER_VERSION = "0.4.3"
INSTALL_HINT = "run `make setup` in the project root (it installs the pinned versions)"

_NPM_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_VERSION_PATTERN = re.compile(r"(\d+\.\d+\.\d+)")


@dataclass(frozen=True)
class Tool:
    """A resolved executable."""

    name: str
    path: Path

    def version(self, timeout: float = 20.0) -> str:
        """The tool's own version string (first x.y.z it prints for ``--version``)."""
        completed = subprocess.run(
            [str(self.path), "--version"], capture_output=True, text=True, timeout=timeout, check=False
        )
        match = _VERSION_PATTERN.search(completed.stdout + completed.stderr)
        if completed.returncode != 0 or match is None:
            raise ToolNotFoundError(
                f"{self.path} --version failed (exit {completed.returncode}): {completed.stderr.strip()[:300]}",
                hint=INSTALL_HINT,
            )
        return match.group(1)


def _npm_platform_binary(project: Project | None, name: str) -> Path | None:
    if project is None:
        return None
    arch = _NPM_ARCH.get(platform.machine().lower())
    system = sys.platform if sys.platform != "linux" else "linux"
    if arch is None:
        return None
    candidate = project.root / "node_modules" / "@foundry-rs" / f"{name}-{system}-{arch}" / "bin" / name
    return candidate if os.access(candidate, os.X_OK) else None


def default_project() -> Project | None:
    """The project around the working directory, else the one this package was installed from (editable
    install), else None."""
    for start in (None, Path(__file__).resolve().parent):
        try:
            return Project.discover(start)
        except ProjectNotFoundError:
            continue
    return None


def find_tool(name: str, project: Project | None = None) -> Tool:
    """Resolve ``name`` to an executable, or raise :class:`ToolNotFoundError` saying how to install it."""
    project = project or default_project()
    override = os.environ.get(f"SETTLEKIT_{name.upper()}")
    if override:
        path = Path(override).expanduser()
        if not os.access(path, os.X_OK):
            raise ToolNotFoundError(
                f"$SETTLEKIT_{name.upper()} is set to {path}, which is not an executable file",
                hint=f"point $SETTLEKIT_{name.upper()} at the {name} binary, or unset it",
            )
        return Tool(name, path)
    candidates: list[Path | None] = []
    if name == "vyper":
        candidates.append(Path(sys.executable).parent / "vyper")
        if project is not None:
            candidates.append(project.venv_bin_dir / "vyper")
    if name in FOUNDRY_TOOLS:
        candidates.append(_npm_platform_binary(project, name))
    for candidate in candidates:
        if candidate is not None and os.access(candidate, os.X_OK):
            return Tool(name, candidate)
    on_path = shutil.which(name)
    if on_path:
        return Tool(name, Path(on_path))
    raise ToolNotFoundError(
        f"{name} not found (looked in the project's node_modules, the venv and PATH)", hint=INSTALL_HINT
    )


def tool_environment(project: Project | None) -> dict[str, str]:
    """Environment for subprocesses: the venv's bin first on PATH, so forge compiles with the pinned vyper."""
    env = dict(os.environ)
    front = [str(Path(sys.executable).parent)]
    if project is not None:
        front.append(str(project.venv_bin_dir))
    env["PATH"] = os.pathsep.join([*front, env.get("PATH", "")])
    return env
