"""A failing forge test fails the README's test command (and so CI).

npm's ``node_modules/.bin/forge`` is a Node wrapper that spawns the real binary and always exits 0, so a ``make test``
that ran forge through it went green with failing Vyper tests. These tests plant a failing Vyper test in a throwaway
copy of the project's build setup and run the same make target that ``make test`` (and ``.ci/run``) runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from settlekit.project import Project
from settlekit.toolchain import find_tool

from support import REPO

pytestmark = [pytest.mark.forge, pytest.mark.slow]

TARGET = """# pragma version ~=0.4.3
# pragma nonreentrancy on

stored: public(uint256)


@external
def store(amount: uint256):
    self.stored = amount
"""

PLANTED_TEST = """# pragma version ~=0.4.3

interface Target:
    def store(amount: uint256): nonpayable
    def stored() -> uint256: view

interface Vm:
    def deployCode(artifact: String[64]) -> address: nonpayable

VM: constant(address) = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D
target: Target


@external
def setUp():
    self.target = Target(extcall Vm(VM).deployCode("Target.vy"))


@external
def test_stored_value_round_trips():
    extcall self.target.store(41)
    assert staticcall self.target.stored() == EXPECTED, "planted: stored value differs"
"""

# Files the make targets read; the venv and node_modules are the repository's own (symlinked, never copied).
MAKE_INPUTS = (
    "Makefile",
    "foundry.toml",
    "pyproject.toml",
    "requirements.lock",
    "requirements-dev.lock",
    "package.json",
    "package-lock.json",
)
STAMPS = (".venv/.settlekit-installed", ".venv/.settlekit-runtime", "node_modules/.settlekit-installed")


def _make_copy(root: Path, expected: int) -> Path:
    root.mkdir(parents=True)
    for name in MAKE_INPUTS:
        shutil.copy2(REPO / name, root / name)
    for name in (".venv", "node_modules"):
        (root / name).symlink_to(REPO / name)
    (root / "contracts").mkdir()
    (root / "contracts" / "Target.vy").write_text(TARGET)
    (root / "tests" / "forge").mkdir(parents=True)
    (root / "tests" / "forge" / "PlantedTest.vy").write_text(PLANTED_TEST.replace("EXPECTED", str(expected)))
    return root


def _make(root: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    # `-o STAMP` keeps make from reinstalling into the shared venv because the copied lock files look newer.
    old = [arg for stamp in STAMPS for arg in ("-o", stamp)]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MAKE", "MFLAGS"))}
    env.pop("SETTLEKIT_FORGE", None)
    return subprocess.run(
        ["make", "--no-print-directory", *old, *targets],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )


@pytest.fixture(scope="module")
def setup_present() -> None:
    for stamp in STAMPS:
        if not (REPO / stamp).exists():
            pytest.fail(f"{stamp} is missing: run `make setup` before the tests")


def test_readme_test_command_runs_the_forge_target() -> None:
    """`make test` (what the README and .ci/run call) has forge-test among its prerequisites."""
    ci_run = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci_run, re.MULTILINE), ci_run
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme
    makefile = (REPO / "Makefile").read_text()
    match = re.search(r"^test:(.*)$", makefile, re.MULTILINE)
    assert match is not None
    assert "forge-test" in match.group(1).split()


def test_a_failing_forge_test_fails_make(tmp_path: Path, setup_present: None) -> None:
    root = _make_copy(tmp_path / "failing", expected=42)
    completed = _make(root, "forge-test")
    output = completed.stdout + completed.stderr
    assert "planted: stored value differs" in output, output[-3000:]
    assert completed.returncode != 0, output[-3000:]


def test_a_passing_forge_test_passes_make(tmp_path: Path, setup_present: None) -> None:
    """The control: the same copy with a correct expectation exits 0, so the failure above is the test's."""
    root = _make_copy(tmp_path / "passing", expected=41)
    completed = _make(root, "forge-test")
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert "1 passed" in output or "1 tests passed" in output, output[-3000:]


def test_make_and_settlekit_find_the_real_foundry_binaries(setup_present: None) -> None:
    """Neither make nor settlekit runs npm's wrappers, and each real binary passes a failure's status back."""
    completed = _make(REPO, "-s", "foundry-paths")
    assert completed.returncode == 0, completed.stderr
    found = dict(line.split(" ", 1) for line in completed.stdout.strip().splitlines())
    assert set(found) == {"forge", "anvil", "cast"}
    project = Project(REPO)
    for tool, path in found.items():
        assert "/node_modules/.bin/" not in path
        assert Path(path).resolve() == find_tool(tool, project).path.resolve()
    failing = {
        "forge": [found["forge"], "no-such-subcommand"],
        "anvil": [found["anvil"], "--port", "not-a-port"],
        "cast": [found["cast"], "to-dec", "not-hex"],
    }
    for tool, argv in failing.items():
        status = subprocess.run(argv, capture_output=True, timeout=60, check=False).returncode
        assert status != 0, f"{tool} exited 0 on a failure"
