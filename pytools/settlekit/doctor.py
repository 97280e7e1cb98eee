"""Checking that everything settlekit needs is installed, at the versions it was built and tested with."""

from __future__ import annotations

import shutil
import sys
from dataclasses import asdict, dataclass
from typing import Any

from settlekit.exceptions import SettlekitError
from settlekit.project import Project
from settlekit.toolchain import (
    EXPECTED_FOUNDRY_VERSION,
    EXPECTED_VYPER_VERSION,
    FOUNDRY_TOOLS,
    INSTALL_HINT,
    find_tool,
)


@dataclass(frozen=True)
class Check:
    """One tool: where it is, its version, and what to do if it is missing or wrong."""

    name: str
    required: bool
    ok: bool
    version: str | None
    path: str | None
    problem: str | None = None
    fix: str | None = None


@dataclass(frozen=True)
class DoctorReport:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks if check.required)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(check) for check in self.checks]}


def _check_tool(name: str, expected: str, project: Project | None) -> Check:
    try:
        tool = find_tool(name, project)
        version = tool.version()
    except SettlekitError as error:
        return Check(name, True, False, None, None, error.message, error.hint or INSTALL_HINT)
    if version != expected:
        return Check(
            name,
            True,
            False,
            version,
            str(tool.path),
            f"{name} {version} found, settlekit is pinned to {expected}",
            INSTALL_HINT,
        )
    return Check(name, True, True, version, str(tool.path))


def run_doctor(project: Project | None) -> DoctorReport:
    """Check python, vyper, anvil, forge, cast (required) and node, npm (needed only to install Foundry)."""
    checks: list[Check] = []
    py_version = ".".join(str(part) for part in sys.version_info[:3])
    py_ok = sys.version_info[:2] == (3, 11)
    checks.append(
        Check(
            "python",
            True,
            py_ok,
            py_version,
            sys.executable,
            None if py_ok else f"Python {py_version}; settlekit needs 3.11",
            None if py_ok else "install Python 3.11 and run `make setup`",
        )
    )
    checks.append(_check_tool("vyper", EXPECTED_VYPER_VERSION, project))
    checks.extend(_check_tool(name, EXPECTED_FOUNDRY_VERSION, project) for name in FOUNDRY_TOOLS)
    for name in ("node", "npm"):
        path = shutil.which(name)
        checks.append(
            Check(
                name,
                False,
                path is not None,
                None,
                path,
                None if path else f"{name} not on PATH (needed only by `make setup`)",
                None if path else "install Node.js 20 with npm",
            )
        )
    if project is None:
        checks.append(
            Check(
                "project",
                False,
                False,
                None,
                None,
                "not inside a settlekit project",
                "cd into the project or set $SETTLEKIT_PROJECT",
            )
        )
    else:
        checks.append(Check("project", False, True, None, str(project.root)))
    return DoctorReport(checks)
