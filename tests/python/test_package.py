"""settlekit as a library other projects install: the wheel's Vyper modules and `settlekit init`, end to end.

The wheel is built from a copy of the sources and installed with ``--no-deps`` into a fresh virtualenv outside the
repository; that venv sees the dependencies through a ``.pth`` line naming this venv's site-packages (plain path
lines do not run the ``.pth`` files there, so this checkout's editable install stays invisible: the test asserts
that ``settlekit`` is imported from the fresh venv).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from settlekit.chain import Anvil, AnvilConfig
from settlekit.toolchain import find_tool
from settlekit.vyper import MODULES, stale_copies

from support import REPO, run_cli

pytestmark = pytest.mark.slow

USER_CONTRACT = """# pragma version ~=0.4.3
# pragma nonreentrancy on
from settlekit.vyper import math
from settlekit.vyper import safe_token
from settlekit.vyper import ownable
from settlekit.vyper import circuit_breaker
from settlekit.vyper import nonces
from settlekit.vyper import eip712
from settlekit.vyper import price_guard

initializes: ownable
initializes: circuit_breaker[ownable := ownable]
initializes: nonces
initializes: eip712

@deploy
def __init__(guardian: address):
    ownable.__init__()
    circuit_breaker.__init__(guardian)
    eip712.__init__("User", "1")

@external
@view
def half_up(x: uint256) -> uint256:
    return math._mul_div(x, 1, 2, True)

@external
def pay(token: address, to: address, amount: uint256):
    ownable._check_owner()
    safe_token._safe_transfer(token, to, amount)
"""


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path
    env: dict[str, str]

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def run(self, *argv: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )


def _build_wheel(dest: Path) -> Path:
    """Build the wheel from a copy of what an sdist holds, so the checkout gets no build/ or egg-info."""
    source = dest / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "pytools", source / "pytools", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dest), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dest.glob("settlekit-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(root)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    fresh_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (fresh_site / "deps-from-test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # The `vyper` console script pip writes for the vyper package, bound to the fresh venv's Python (forge runs it).
    vyper = venv / "bin" / "vyper"
    vyper.write_text(
        f"#!{python}\nimport sys\nfrom vyper.cli.vyper_compile import _parse_cli_args\nsys.exit(_parse_cli_args())\n"
    )
    vyper.chmod(0o755)
    foundry = [str(find_tool(tool).path.parent) for tool in ("forge", "anvil", "cast")]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SETTLEKIT_", "FOUNDRY_"))}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *foundry, "/usr/bin", "/bin"])
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    where = subprocess.run(
        [str(python), "-c", "import settlekit; print(settlekit.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(venv), f"settlekit imported from {where}, not from the fresh venv"
    return Installed(venv=venv, wheel=wheel, env=env)


def test_packaged_vyper_modules_are_the_contracts_modules() -> None:
    stale = stale_copies(REPO / "contracts" / "modules")
    assert stale == [], f"pytools/settlekit/vyper differs from contracts/modules for {stale}: run `make vyper-lib`"


def test_wheel_carries_the_modules_and_the_project_template(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for module in MODULES:
        assert f"settlekit/vyper/{module}.vy" in names
    assert "settlekit/scaffold/template/contracts/Vault.vy.tmpl" in names
    assert "settlekit/scaffold/template/tests/forge/interfaces/IVm.vyi.tmpl" in names
    assert not any(name.startswith("settlekit/vyper/settlement_series") for name in names)


def test_vyper_compiles_a_user_contract_against_the_installed_wheel(installed: Installed, tmp_path: Path) -> None:
    (tmp_path / "User.vy").write_text(USER_CONTRACT)
    compiled = installed.run("vyper", "-f", "abi", "User.vy", cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    assert {item.get("name") for item in json.loads(compiled.stdout)} >= {"half_up", "pay"}
    printed = installed.run(str(installed.bin / "python"), "-m", "settlekit.vyper", cwd=tmp_path)
    assert Path(printed.stdout.strip()).is_relative_to(installed.venv)
    # Without the sys.path search the import cannot resolve: the modules come from the installed package only.
    alone = installed.run("vyper", "--disable-sys-path", "User.vy", cwd=tmp_path)
    assert alone.returncode != 0
    assert "settlekit" in alone.stderr


def test_init_project_builds_tests_deploys_verifies_and_watches(installed: Installed, tmp_path: Path) -> None:
    project = tmp_path / "my-protocol"
    project.mkdir()
    made = installed.run("settlekit", "init", str(project), "--json", cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    report = json.loads(made.stdout)
    assert {"foundry.toml", "settlekit.toml", "contracts/Vault.vy", "tests/forge/VaultTest.vy"} <= set(report["files"])
    assert {"tests/worlds/vault_world.py", "tests/worlds/vault_model.py"} <= set(report["files"])
    assert Path(report["vyper_lib"]).is_relative_to(installed.venv)
    assert "from settlekit.vyper import math" in (project / "contracts" / "Vault.vy").read_text()

    steps = [
        ("settlekit", "build", "--json"),
        ("forge", "test"),
        (str(installed.bin / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"),
    ]
    for argv in steps:
        done = installed.run(*argv, cwd=project)
        assert done.returncode == 0, f"{argv}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
        if argv[0] == "forge":
            assert "5 passed; 0 failed" in done.stdout
        if "pytest" in argv:
            assert "3 passed" in done.stdout  # the Anvil tests and a short campaign of the differential world

    # the project's own differential world (tests/worlds/vault_world.py, declared in settlekit.toml)
    fuzzed = installed.run("settlekit", "fuzz", "--engine", "diff", "--profile", "quick", "--json", cwd=project)
    assert fuzzed.returncode == 0, fuzzed.stdout[-3000:] + fuzzed.stderr[-3000:]
    campaign = json.loads(fuzzed.stdout)["engines"]["diff"]
    assert campaign["ok"], campaign
    assert campaign["worlds"] == ["vault"]
    assert campaign["steps"] == 2_000

    with Anvil(AnvilConfig()) as node:
        for argv in (
            ("settlekit", "deploy", "example", "--rpc-url", node.url, "--dev-account", "0", "--json"),
            ("settlekit", "verify", "example", "--rpc-url", node.url, "--json"),
            (
                "settlekit",
                "watch",
                "--once",
                "--json",
                "--manifest",
                "deployments/31337/example.json",
                "--rpc-url",
                node.url,
            ),
        ):
            done = installed.run(*argv, cwd=project)
            assert done.returncode == 0, f"{argv}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
        manifest = json.loads((project / "deployments" / "31337" / "example.json").read_text())
        vault = manifest["contracts"]["vault"]["address"]
        assert node.w3.eth.get_code(vault)
    listed = installed.run("settlekit", "events", "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    decoded = {(row["contract"], row["event"]) for row in json.loads(listed.stdout)}
    assert ("vault", "OwnershipTransferred") in decoded, decoded
    assert ("vault", "GuardianSet") in decoded, decoded


def test_init_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    refused = run_cli("init", str(tmp_path), cwd=tmp_path)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert lines[0].startswith("error:")
    assert "not empty" in lines[0]
    assert lines[1].startswith("fix:")
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
