"""settlekit's declared dependencies: every import is declared, the runtime lock carries no dev tools or extras,
and an optional part used without its extra fails with an error naming the extra."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions

from settlekit.extras import EXTRAS

from support import REPO, cli_env

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
DEV_ONLY = {"mypy", "ruff", "pytest", "pytest-xdist", "hypothesis"}
EXTRA_DISTS = {"pyrevm", "psycopg", "psycopg-binary", "eth-tester", "py-evm"}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match is not None, requirement
    return match.group(0).lower().replace("_", "-")


def _third_party_imports() -> set[str]:
    found: set[str] = set()
    for path in (REPO / "pytools" / "settlekit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "settlekit":
                    found.add(top)
    return found


def _locked(lock: str) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (REPO / lock).read_text(), re.MULTILINE)
    return {name.lower(): version for name, version in pins}


def test_every_import_of_the_package_is_a_declared_dependency() -> None:
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = {
        _name(r) for key, reqs in PYPROJECT["project"]["optional-dependencies"].items() if key != "dev" for r in reqs
    }
    owners = packages_distributions()
    for module in sorted(_third_party_imports()):
        if module == "pytest":  # only the pytest plugin imports it, and only pytest loads the plugin
            continue
        dists = {d.lower().replace("_", "-") for d in owners.get(module, [])}
        assert dists, f"{module}: no installed distribution provides it"
        if module in EXTRAS:
            assert dists & extras, f"{module} must be an extra ({EXTRAS[module]})"
        else:
            assert dists & declared, f"settlekit imports {module} ({dists}) without declaring it"


def test_extras_and_imports_of_optional_modules_agree() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {_name(r) for r in extras["fuzz"]} == {"pyrevm"}
    assert {_name(r) for r in extras["postgres"]} == {"psycopg"}
    assert {_name(r) for r in extras["tester"]} == {"eth-tester"}
    assert EXTRAS == {"pyrevm": "fuzz", "psycopg": "postgres", "eth_tester": "tester"}
    assert "hypothesis" not in (REPO / "pyproject.toml").read_text()


def test_runtime_lock_has_no_dev_tools_or_extras_and_agrees_with_the_dev_lock() -> None:
    runtime, dev = _locked("requirements.lock"), _locked("requirements-dev.lock")
    assert not (set(runtime) & (DEV_ONLY | EXTRA_DISTS)), set(runtime) & (DEV_ONLY | EXTRA_DISTS)
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert _name(requirement) in runtime, requirement
    assert {"mypy", "ruff", "pytest", "pytest-xdist", "pyrevm", "psycopg", "eth-tester"} <= set(dev)
    assert "hypothesis" not in dev
    assert {name: dev[name] for name in runtime} == runtime, "the two locks pin different versions: run make lock"
    for lock in ("requirements.lock", "requirements-dev.lock"):
        blocks = re.findall(
            r"^[A-Za-z0-9_.-]+==\S+ \\\n((?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+)", (REPO / lock).read_text(), re.M
        )
        assert len(blocks) == len(_locked(lock)), f"{lock}: every pin must carry hashes"


def _without(module: str, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a Python where importing ``module`` fails as if it were not installed."""
    prelude = f"import sys; sys.modules[{module!r}] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, env=cli_env(), timeout=120, check=False
    )


def test_missing_postgres_extra_is_an_error_and_fix_line_naming_it() -> None:
    done = _without(
        "psycopg",
        "from settlekit.cli.main import main\n"
        "sys.exit(main(['events', '--store', 'postgresql+psycopg://u@127.0.0.1:9/x']))",
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("error:"), done.stderr
    assert "psycopg" in lines[0]
    assert lines[1] == "fix: pip install 'settlekit[postgres]'"
    assert "Traceback" not in done.stderr


def test_missing_fuzz_and_tester_extras_raise_errors_naming_them() -> None:
    fuzz = _without(
        "pyrevm",
        "from settlekit.extras import MissingExtraError\n"
        "from settlekit.fuzz.differential.evm import Chain\n"
        "try:\n    Chain()\nexcept MissingExtraError as e:\n    print(e.message); print(e.hint)\n",
    )
    assert fuzz.returncode == 0, fuzz.stderr
    assert fuzz.stdout.splitlines()[1] == "pip install 'settlekit[fuzz]'"
    tester = _without(
        "eth_tester",
        "from settlekit.extras import MissingExtraError, require\n"
        "try:\n    require('eth_tester', 'the tester_w3 fixture')\nexcept MissingExtraError as e:\n    print(e.hint)\n",
    )
    assert tester.stdout.strip() == "pip install 'settlekit[tester]'", tester.stderr
