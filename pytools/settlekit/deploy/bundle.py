"""Explorer verification bundles: what an explorer needs to verify each deployed contract, proven locally first.

For each contract a manifest deployed (not ``existing`` addresses, not blueprints), the bundle holds the Vyper
standard-JSON input with every imported module's source (as ``vyper -f solc_json`` writes it, which is also what
``forge verify-contract`` sends), the exact compiler version, the ABI-encoded constructor arguments and the
``path:Name`` identifier. Before it is written, the input is compiled again with the project's vyper
(``vyper --standard-json``) and the result is checked against the chain: the code at the address must start with the
recompiled runtime (the rest is the immutables section, which ``settlekit verify`` re-derives), and the creation
transaction's input must end with the recompiled creation code followed by the recorded constructor arguments.

The bundle is written to ``deployments/<chain_id>/<name>.verify/`` atomically: it is assembled in a temporary folder
beside it and renamed into place, so a reader sees the old bundle or the new one, never half of one.

The compiler's output for one standard-JSON input is kept in ``.settlekit/cache/standard-json/`` under the SHA-256 of
that input, the compiler's full version and its path: vyper is deterministic, so the same input to the same compiler
gives the same code, and a second ``verify --bundle`` of an unchanged deployment does not compile again. The proof
against the chain is made every time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from settlekit.build import Artifact, ArtifactStore
from settlekit.deploy.executor import init_code
from settlekit.deploy.verify import _decoded
from settlekit.exceptions import SettlekitError
from settlekit.project import Project
from settlekit.toolchain import Tool, find_tool, tool_environment

VYPER_TIMEOUT = 300.0


class BundleError(SettlekitError):
    """A verification bundle could not be built, or does not recompile to what is on chain."""


@dataclass
class ContractBundle:
    """One contract's verification bundle (the files are under ``folder`` once written)."""

    step: str
    address: str
    artifact: str
    contract: str  # forge's identifier: ``contracts/X.vy:X``
    source_path: str
    compiler_version: str  # ``0.4.3+commit.bff19ea2``
    constructor_args: str  # ABI-encoded, hex without 0x ("" when the constructor takes none)
    tx_hash: str
    sources: list[str]
    proof: str
    standard_json: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass
class Bundle:
    deployment: str
    chain_id: int
    folder: Path
    contracts: list[ContractBundle]
    skipped: dict[str, str]

    def summary(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "chain_id": self.chain_id,
            "folder": str(self.folder),
            "contracts": [{k: v for k, v in asdict(c).items() if k != "standard_json"} for c in self.contracts],
            "skipped": self.skipped,
        }


def bundle_folder(root: Path, chain_id: int, name: str) -> Path:
    return root / str(chain_id) / f"{name}.verify"


def source_of(project: Project, artifact: str) -> str:
    """The source file of ``artifact``, relative to the project root (``contracts/mocks/MockERC20.vy``)."""
    matches = sorted(project.contracts_dir.rglob(f"{artifact}.vy"))
    if len(matches) != 1:
        raise BundleError(
            f"{'no' if not matches else len(matches)} source file(s) named {artifact}.vy under {project.contracts_dir}",
            hint="artifact names are contract file names; give contracts unique file names",
        )
    return str(matches[0].relative_to(project.root))


def _vyper(project: Project, vyper: Tool, argv: list[str], stdin: str | None = None) -> str:
    try:
        completed = subprocess.run(
            [str(vyper.path), *argv],
            input=stdin,
            cwd=project.root,
            env=tool_environment(project),
            capture_output=True,
            text=True,
            timeout=VYPER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BundleError(f"vyper {argv[0]} did not finish in {VYPER_TIMEOUT:g}s", hint="run it by hand") from None
    if completed.returncode != 0:
        last = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BundleError(f"vyper {' '.join(argv)} failed: {last[0]}", hint="run `settlekit build` and fix the source")
    return completed.stdout


def standard_json_input(project: Project, vyper: Tool, source: str) -> dict[str, Any]:
    """The standard-JSON input of ``source`` with every module it imports, as ``vyper -f solc_json`` writes it,
    with the EVM version made explicit (the compiler's default, which is what forge submits too), so the input
    means the same to any compiler build that reads it."""
    data: dict[str, Any] = json.loads(_vyper(project, vyper, ["-f", "solc_json", source]))
    data.setdefault("settings", {}).setdefault("evmVersion", _default_evm_version(project, vyper))
    return data


def _default_evm_version(project: Project, vyper: Tool) -> str:
    """The EVM version the project's vyper compiles for by default (``prague`` for 0.4.3)."""
    return _vyper_default_evm_version(vyper.path, str(project.root))


@functools.lru_cache(maxsize=8)
def _vyper_default_evm_version(vyper_path: Path, cwd: str) -> str:
    """Asked once per vyper per process (a Python start-up each time otherwise: once per contract)."""
    python = vyper_path.parent / "python"
    completed = subprocess.run(
        [str(python), "-c", "from vyper.evm.opcodes import DEFAULT_EVM_VERSION as v; print(v)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )
    if completed.returncode != 0 or not completed.stdout.strip():
        raise BundleError("cannot read the project vyper's default EVM version", hint="reinstall it: make setup")
    return completed.stdout.strip()


def _compile_cache_file(project: Project, vyper: Tool, standard_json: dict[str, Any], source: str) -> Path:
    """Where the output of this input, source and compiler is kept (see the module's docstring)."""
    key = hashlib.sha256()
    for part in (_full_version(vyper), str(vyper.path.resolve()), source, json.dumps(standard_json, sort_keys=True)):
        key.update(part.encode())
        key.update(b"\0")
    return project.root / ".settlekit" / "cache" / "standard-json" / f"{key.hexdigest()}.json"


def _cached_code(path: Path) -> tuple[bytes, bytes] | None:
    try:
        data = json.loads(path.read_text())
        return bytes.fromhex(data["creation"]), bytes.fromhex(data["runtime"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or unreadable: compile again (and rewrite it)


def _keep_code(path: Path, creation: bytes, runtime: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as stream:
            json.dump({"creation": creation.hex(), "runtime": runtime.hex()}, stream)
        os.replace(stream.name, path)  # whole or absent, even with builds of parallel workers
    except OSError:
        pass  # a read-only project: the cache is an optimisation only


def recompile(project: Project, vyper: Tool, standard_json: dict[str, Any], source: str) -> tuple[bytes, bytes]:
    """Compile a standard-JSON input with the project's vyper: (creation code, runtime code) of ``source``
    (the kept output when this compiler already compiled this very input)."""
    cache = _compile_cache_file(project, vyper, standard_json, source)
    cached = _cached_code(cache)
    if cached is not None:
        return cached
    output = json.loads(_vyper(project, vyper, ["--standard-json"], stdin=json.dumps(standard_json)))
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise BundleError(
            f"the standard-JSON input of {source} does not compile: {errors[0].get('message')}",
            hint="run `settlekit build` and fix the source",
        )
    (contract,) = output["contracts"][source].values()
    creation = bytes(HexBytes(contract["evm"]["bytecode"]["object"]))
    runtime = bytes(HexBytes(contract["evm"]["deployedBytecode"]["object"]))
    _keep_code(cache, creation, runtime)
    return creation, runtime


def _constructor_args(artifact: Artifact, entry: dict[str, Any]) -> bytes:
    code = init_code(artifact, [_decoded(arg) for arg in entry.get("constructor_args", [])])
    return code[len(artifact.bytecode) :]


def _prove(w3: Web3, step: str, entry: dict[str, Any], creation: bytes, runtime: bytes, args: bytes) -> str:
    address = to_checksum_address(entry["address"])
    code = bytes(w3.eth.get_code(address))
    if not code.startswith(runtime):
        raise BundleError(
            f"{step}: the bundle recompiles to a runtime that is not the code at {address}",
            hint="the sources or compiler changed since the deploy: check out the deployed commit, then retry",
        )
    tx_input = bytes(w3.eth.get_transaction(entry["tx_hash"])["input"])
    expected = creation + args
    # through the deterministic-deployment proxy the input is the 32-byte salt followed by the init code
    matches = tx_input[32:] == expected if entry.get("create2") else tx_input == expected
    if not matches:
        raise BundleError(
            f"{step}: the creation transaction {entry['tx_hash']} did not run the recompiled creation code with the "
            "recorded constructor arguments",
            hint="the sources or compiler changed since the deploy: check out the deployed commit, then retry",
        )
    return (
        f"runtime matches ({len(runtime)} bytes, {len(code) - len(runtime)} bytes of immutables); "
        "creation transaction = recompiled creation code + constructor arguments"
    )


def build_bundle(w3: Web3, project: Project, manifest: dict[str, Any], store: ArtifactStore, root: Path) -> Bundle:
    """Build, prove and atomically write the verification bundle of every contract the manifest deployed."""
    vyper = find_tool("vyper", project)
    compiler_version = _full_version(vyper)
    contracts: list[ContractBundle] = []
    skipped: dict[str, str] = {}
    for step, entry in manifest["contracts"].items():
        if entry.get("existing"):
            skipped[step] = "existing address: not deployed by this plan"
            continue
        if entry.get("blueprint"):
            skipped[step] = "ERC-5202 blueprint: not a callable contract (settlekit verify checks it byte for byte)"
            continue
        artifact = store.get(entry["artifact"])
        source = source_of(project, entry["artifact"])
        standard_json = standard_json_input(project, vyper, source)
        creation, runtime = recompile(project, vyper, standard_json, source)
        args = _constructor_args(artifact, entry)
        proof = _prove(w3, step, entry, creation, runtime, args)
        contracts.append(
            ContractBundle(
                step=step,
                address=to_checksum_address(entry["address"]),
                artifact=entry["artifact"],
                contract=f"{source}:{entry['artifact']}",
                source_path=source,
                compiler_version=compiler_version,
                constructor_args=args.hex(),
                tx_hash=entry["tx_hash"],
                sources=sorted(standard_json["sources"]),
                proof=proof,
                standard_json=standard_json,
            )
        )
    bundle = Bundle(
        manifest["deployment"],
        int(manifest["chain_id"]),
        bundle_folder(root, int(manifest["chain_id"]), manifest["deployment"]),
        contracts,
        skipped,
    )
    _write(bundle)
    return bundle


def _full_version(vyper: Tool) -> str:
    """``vyper --version`` as printed (``0.4.3+commit.bff19ea2``): explorers want the build, not just x.y.z."""
    try:
        stat = vyper.path.stat()
    except OSError:
        return _vyper_full_version(vyper.path, 0, 0)
    return _vyper_full_version(vyper.path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _vyper_full_version(path: Path, _mtime_ns: int, _size: int) -> str:
    """Asked once per process for each compiler file (its time and size in the key: a reinstall asks again)."""
    completed = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60, check=False)
    text = completed.stdout.strip()
    if completed.returncode != 0 or not text:
        raise BundleError("vyper --version failed", hint="reinstall the project's vyper: make setup")
    return text.splitlines()[-1].strip()


def _write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _write(bundle: Bundle) -> None:
    parent = bundle.folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{bundle.folder.name}.", suffix=".tmp"))
    try:
        for contract in bundle.contracts:
            folder = staging / contract.step
            _write_file(folder / "standard-json-input.json", json.dumps(contract.standard_json, indent=2) + "\n")
            _write_file(folder / "constructor-args.txt", contract.constructor_args + "\n")
        _write_file(
            staging / "bundle.json",
            json.dumps({k: v for k, v in bundle.summary().items() if k != "folder"}, indent=2) + "\n",
        )
        old = None
        if bundle.folder.exists():
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{bundle.folder.name}.", suffix=".old"))
            bundle.folder.replace(old / "previous")
        staging.replace(bundle.folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
