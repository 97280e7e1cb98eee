"""`settlekit verify --bundle/--submit`: explorer verification bundles proven against a real Anvil deployment, and
submitted through the real `forge verify-contract` to a local HTTP receiver that answers as an Etherscan-like API."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hexbytes import HexBytes
from test_deploy import deploy_cli, write_plan

from settlekit.chain import Anvil, AnvilConfig
from settlekit.project import Project
from settlekit.toolchain import find_tool

from support import REPO, cli_env, run_cli

SEPOLIA = 11155111  # forge's Etherscan verifier only submits for chains it knows; Anvil runs with Sepolia's id
SECRET = "explorer-key-5f3c9a17d2"
STEPS = {"collateral": "contracts/mocks/MockERC20.vy", "probe": "contracts/mocks/RevertProbe.vy"}
STEPS["harness"] = "contracts/mocks/SafetyHarness.vy"


class Explorer:
    """A tiny Etherscan-like API: records every request and answers with ``status`` (JSON on 200), or with 500 for
    the addresses in ``failing``."""

    def __init__(
        self, status: int = 200, failing: frozenset[str] = frozenset(), verified: frozenset[str] = frozenset()
    ) -> None:
        self.status = status
        self.failing = failing
        self.verified = verified
        self.requests: list[dict[str, Any]] = []
        explorer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path.startswith("/api/v2/verify/"):  # Sourcify v2: JSON in, 202 with an id out
                    explorer.requests.append({"method": self.command, "path": self.path, "json": json.loads(body)})
                    status, payload = 202, b'{"verificationId":"vid-%d"}' % len(explorer.requests)
                else:
                    form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
                    explorer.requests.append({"method": self.command, "path": self.path, "form": form})
                    status = 500 if form.get("contractaddress") in explorer.failing else explorer.status
                    payload = (
                        b'{"status":"1","message":"OK","result":"guid-%d"}' % len(explorer.requests)
                        if status == 200
                        else b"internal error"
                    )
                    if form.get("contractaddress") in explorer.verified:
                        status = 200
                        payload = b'{"status":"0","message":"NOTOK","result":"Contract source code already verified"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if status < 300 else "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Explorer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def deployment(
    settlekit_project: Project, artifacts: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Anvil, Path, Path]]:
    """One Anvil and one deployment for the module: verifying only reads the chain."""
    folder = tmp_path_factory.mktemp("deployment")
    with Anvil(AnvilConfig(chain_id=SEPOLIA), settlekit_project) as node:
        plan = write_plan(folder / "settlekit.toml", node.url, chain_id=SEPOLIA, local=True)
        out = folder / "deployments"
        result = deploy_cli(plan, out)
        assert result.returncode == 0, result.stdout + result.stderr
        yield node, plan, out


@pytest.fixture
def deployed(deployment: tuple[Anvil, Path, Path], tmp_path: Path) -> tuple[Anvil, Path, Path]:
    """The module's deployment with a deployments folder of the test's own (tests rewrite manifests and bundles)."""
    node, plan, out = deployment
    assert node.block_number() == 3  # nothing but the three deploy transactions reached the shared chain
    own = tmp_path / "deployments"
    shutil.copytree(out, own)
    return node, plan, own


def verify_cli(plan: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["verify", "safety", "--network", "target", "--plan", str(plan), "--deployments-dir", str(out), *extra]
    return run_cli(*args, env=cli_env(EXPLORER_KEY=SECRET), timeout=300)


def test_submit_sends_the_proven_bundle_through_forge(deployed: tuple[Anvil, Path, Path]) -> None:
    node, plan, out = deployed
    with Explorer() as explorer:
        result = verify_cli(
            plan, out, "--submit", "--verifier", "etherscan", "--verifier-url", explorer.url,
            "--api-key-env", "EXPLORER_KEY", "--json",
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    data = json.loads(result.stdout)
    folder = out / str(SEPOLIA) / "safety.verify"
    assert data["bundle"]["folder"] == str(folder)
    bundles = {c["step"]: c for c in data["bundle"]["contracts"]}
    assert {step: c["source_path"] for step, c in bundles.items()} == STEPS
    assert set(bundles["harness"]["sources"]) == {
        "contracts/mocks/SafetyHarness.vy",
        *(f"contracts/modules/{m}.vy" for m in ("ownable", "circuit_breaker", "nonces", "eip712")),
    }
    vyper = find_tool("vyper")
    version = subprocess.run([str(vyper.path), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    manifest = json.loads((out / str(SEPOLIA) / "safety.json").read_text())
    forge = str(find_tool("forge").path)

    # The bundle on disk recompiles (vyper --standard-json, run here independently) to the code on chain, and the
    # creation transaction is that creation code followed by the bundle's constructor arguments.
    for step, source in STEPS.items():
        bundle = bundles[step]
        args = (folder / step / "constructor-args.txt").read_text().strip()
        assert args == bundle["constructor_args"]
        assert bundle["compiler_version"] == version
        standard_json = json.loads((folder / step / "standard-json-input.json").read_text())
        assert standard_json["settings"]["evmVersion"] == "prague"
        compiled = json.loads(
            subprocess.run(
                [str(vyper.path), "--standard-json"], input=json.dumps(standard_json), capture_output=True,
                text=True, cwd=REPO, check=True,
            ).stdout
        )  # fmt: skip
        (contract,) = compiled["contracts"][source].values()
        runtime = bytes(HexBytes(contract["evm"]["deployedBytecode"]["object"]))
        creation = bytes(HexBytes(contract["evm"]["bytecode"]["object"]))
        address = manifest["contracts"][step]["address"]
        assert bytes(node.w3.eth.get_code(address)).startswith(runtime)
        tx = node.w3.eth.get_transaction(manifest["contracts"][step]["tx_hash"])
        assert bytes(tx["input"]) == creation + bytes.fromhex(args)
        assert bundle["proof"].startswith("runtime matches")

        # The exact forge command line (the key is in forge's environment, never on its command line).
        submission = next(s for s in data["submissions"] if s["step"] == step)
        assert submission["command"] == [
            forge, "verify-contract", address, f"{source}:{Path(source).stem}", "--root", str(REPO),
            "--language", "vyper", "--compiler-version", version, "--chain", str(SEPOLIA),
            "--verifier", "etherscan", "--verifier-url", explorer.url,
            *(["--constructor-args", args] if args else []),
            "--skip-is-verified-check", "--retries", "1", "--delay", "1",
        ]  # fmt: skip
        assert submission["guid"] is not None
        assert submission["guid"].startswith("guid-")
        # forge 1.7.1 sends only the contract's own file: settlekit posts the complete bundle when modules are missing
        modules = sorted(s for s in bundle["sources"] if s != source)
        assert submission["via"] == ("settlekit" if modules else "forge")
        assert submission["missing_in_forge"] == (modules or None)

        # What the receiver got from forge: the standard JSON with every source, the compiler, the arguments.
        (request,) = [r for r in explorer.requests if r["form"].get("contractaddress") == address.lower()]
        form = request["form"]
        assert request["method"] == "POST"
        assert (form["module"], form["action"], form["codeformat"]) == ("contract", "verifysourcecode", "vyper-json")
        assert form["compilerversion"] == "vyper:" + version.split("+")[0]
        assert form["contractname"] == f"{source}:{Path(source).stem}"
        assert form.get("constructorArguements", "") == args
        assert form["apikey"] == SECRET  # forge got the key from its environment
        sent = json.loads(form["sourceCode"])
        assert sent["language"] == "Vyper"
        assert sent["settings"]["evmVersion"] == "prague"
        sent_sources = {path.removeprefix(str(REPO) + "/"): s["content"] for path, s in sent["sources"].items()}
        assert sent_sources == {path: s["content"] for path, s in standard_json["sources"].items()}
    assert len(explorer.requests) == len(STEPS)
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".safety.verify")]


@pytest.mark.parametrize("explorer_state", ["down", "500", "500-for-a-module-contract"])
def test_explorer_down_or_failing_is_one_error_and_one_fix(
    deployed: tuple[Anvil, Path, Path], explorer_state: str
) -> None:
    _node, plan, out = deployed
    harness = json.loads((out / str(SEPOLIA) / "safety.json").read_text())["contracts"]["harness"]["address"]
    status, failing_addresses = (
        (200, frozenset({harness.lower()})) if "module" in explorer_state else (500, frozenset())
    )
    with Explorer(status, failing_addresses) as failing:
        if explorer_state == "down":
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                url = f"http://127.0.0.1:{probe.getsockname()[1]}/api"
        else:
            url = failing.url
        result = verify_cli(
            plan, out, "--submit", "--verifier-url", url, "--api-key-env", "EXPLORER_KEY"
        )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "fix"], result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    if explorer_state == "down":
        assert "contracts/mocks/MockERC20.vy:MockERC20" in lines[0]
        assert "Connection refused" in lines[0]
        assert "does not answer" in lines[1]
    elif explorer_state == "500":
        assert "contracts/mocks/MockERC20.vy:MockERC20" in lines[0]
        assert "Failed to submit" in lines[0]
        assert len(failing.requests) == 2  # forge's first attempt and its one retry, then the error
    else:  # the first contract went through forge; the module-built harness is posted by settlekit and refused
        assert "contracts/mocks/SafetyHarness.vy:SafetyHarness" in lines[0]
        assert "HTTP 500" in lines[0]
        assert len(failing.requests) == 2


def test_bundle_is_refused_when_it_does_not_match_the_chain(deployed: tuple[Anvil, Path, Path]) -> None:
    _node, plan, out = deployed
    good = verify_cli(plan, out, "--bundle")
    assert good.returncode == 0, good.stdout + good.stderr
    folder = out / str(SEPOLIA) / "safety.verify"
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    path = out / str(SEPOLIA) / "safety.json"
    manifest = json.loads(path.read_text())
    manifest["contracts"]["collateral"]["constructor_args"] = ["Other USD", "oUSD", 6]  # no immutables to betray it
    path.write_text(json.dumps(manifest))
    result = verify_cli(plan, out, "--bundle")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "fix"], result.stderr
    assert "collateral: the creation transaction" in lines[0]
    # the proven bundle of the previous run is left exactly as it was: a bundle is replaced only by a proven one
    assert {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".safety.verify")]


def test_submit_needs_a_named_key_for_etherscan(deployed: tuple[Anvil, Path, Path]) -> None:
    _node, plan, out = deployed
    result = verify_cli(plan, out, "--submit", "--verifier-url", "http://127.0.0.1:9/api")
    assert result.returncode == 2
    assert "needs an API key" in result.stderr
    assert "--api-key-env" in result.stderr


def test_create2_bundle_is_proven_through_the_proxy(settlekit_project: Project, artifacts: Any, tmp_path: Path) -> None:
    with Anvil(AnvilConfig(chain_id=SEPOLIA), settlekit_project) as node:
        plan = tmp_path / "settlekit.toml"
        plan.write_text(f"""
[networks.target]
rpc_url = "{node.url}"
chain_id = {SEPOLIA}
local = true
confirmations = 0

[deployments.safety]
create2 = true

[[deployments.safety.steps]]
id = "collateral"
artifact = "MockERC20"
args = ["Demo USD", "dUSD", 6]
mock = true
""")
        out = tmp_path / "deployments"
        deployed = deploy_cli(plan, out)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert json.loads((out / str(SEPOLIA) / "safety.json").read_text())["contracts"]["collateral"]["create2"]
        result = verify_cli(plan, out, "--bundle", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    (bundle,) = json.loads(result.stdout)["bundle"]["contracts"]
    assert bundle["step"] == "collateral"
    assert bundle["proof"].startswith("runtime matches")
    assert json.loads(result.stdout)["submissions"] is None


@pytest.mark.parametrize("verifier", ["sourcify", "blockscout"])
def test_submit_to_sourcify_and_blockscout(deployed: tuple[Anvil, Path, Path], verifier: str) -> None:
    _node, plan, out = deployed
    manifest = json.loads((out / str(SEPOLIA) / "safety.json").read_text())
    with Explorer() as explorer:
        url = explorer.url + ("/" if verifier == "sourcify" else "")  # forge joins v2/verify/... onto it
        result = verify_cli(plan, out, "--submit", "--verifier", verifier, "--verifier-url", url, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    bundles = {c["step"]: c for c in data["bundle"]["contracts"]}
    assert len(explorer.requests) == len(STEPS)
    for submission in data["submissions"]:
        step, address = submission["step"], submission["address"]
        assert submission["command"][submission["command"].index("--verifier") + 1] == verifier
        assert submission["via"] == ("settlekit" if step == "harness" else "forge")
        if verifier == "sourcify":
            tx_hash = manifest["contracts"][step]["tx_hash"]
            assert submission["command"][submission["command"].index("--creation-transaction-hash") + 1] == tx_hash
            (request,) = [r for r in explorer.requests if r["path"] == f"/api/v2/verify/{SEPOLIA}/{address}"]
            sent = request["json"]
            assert sent["contractIdentifier"] == bundles[step]["contract"]
            assert sent["compilerVersion"] == bundles[step]["compiler_version"].split("+")[0]
            assert sent["creationTransactionHash"] == tx_hash
            sources = sent["stdJsonInput"]["sources"]
        else:
            (request,) = [r for r in explorer.requests if r.get("form", {}).get("contractaddress") == address.lower()]
            assert request["form"].get("constructorArguements", "") == bundles[step]["constructor_args"]
            sources = json.loads(request["form"]["sourceCode"])["sources"]
        assert sorted(p.removeprefix(str(REPO) + "/") for p in sources) == bundles[step]["sources"]


def test_a_contract_already_verified_is_not_an_error(deployed: tuple[Anvil, Path, Path]) -> None:
    _node, plan, out = deployed
    harness = json.loads((out / str(SEPOLIA) / "safety.json").read_text())["contracts"]["harness"]["address"]
    with Explorer(verified=frozenset({harness.lower()})) as explorer:
        result = verify_cli(
            plan, out, "--submit", "--verifier-url", explorer.url, "--api-key-env", "EXPLORER_KEY", "--json"
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    guids = {s["step"]: s["guid"] for s in json.loads(result.stdout)["submissions"]}
    assert guids["harness"] is None
    assert guids["collateral"] is not None
    assert guids["probe"] is not None


def test_a_second_bundle_of_an_unchanged_deployment_compiles_nothing_and_still_proves(
    deployed: tuple[Anvil, Path, Path], tmp_path: Path
) -> None:
    """The compiler's output is kept per standard-JSON input and compiler (a vyper at a new path: a new compiler
    here, so the first bundle compiles each contract); the second bundle reuses it and is proven against the chain
    all the same, and the kept output is the code on chain."""
    _node, plan, out = deployed
    vyper = find_tool("vyper")
    calls = tmp_path / "vyper-calls.log"
    tools = tmp_path / "tools"
    tools.mkdir()
    wrapper = tools / "vyper"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {vyper.path} "$@"\n')
    wrapper.chmod(0o755)
    python = tools / "python"  # the default EVM version is read through the python beside vyper
    python.write_text(f'#!/bin/sh\nexec {vyper.path.parent / "python"} "$@"\n')
    python.chmod(0o755)
    env = cli_env(SETTLEKIT_VYPER=str(wrapper))
    args = ["verify", "safety", "--network", "target", "--plan", str(plan), "--deployments-dir", str(out)]
    runs = []
    for _ in range(2):
        calls.unlink(missing_ok=True)
        result = run_cli(*args, "--bundle", "--json", env=env, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        runs.append((json.loads(result.stdout)["bundle"]["contracts"], calls.read_text().splitlines()))
    (first, first_calls), (second, second_calls) = runs
    assert sum(line == "--standard-json" for line in first_calls) == len(STEPS)
    assert sum(line == "--standard-json" for line in second_calls) == 0, second_calls
    assert [c["proof"] for c in second] == [c["proof"] for c in first]
    assert all(c["proof"].startswith("runtime matches") for c in second)
    kept = list((REPO / ".settlekit" / "cache" / "standard-json").glob("*.json"))
    runtimes = {json.loads(path.read_text())["runtime"] for path in kept}
    for step in STEPS:
        address = json.loads((out / str(SEPOLIA) / "safety.json").read_text())["contracts"][step]["address"]
        code = bytes(_node.w3.eth.get_code(address)).hex()
        assert any(code.startswith(runtime) for runtime in runtimes), step
