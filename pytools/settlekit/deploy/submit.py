"""Submitting verification bundles to an explorer through ``forge verify-contract``.

forge (1.7.1) compiles nothing for a Vyper contract: it asks ``vyper -f solc_json`` for the standard-JSON input (the
same input the bundle holds and proved) and posts it with the compiler version and constructor arguments. Two
quirks are worked around here:

- before submitting, forge looks for a *solc* of the Vyper version number in its svm folder (``~/.svm``) and, when
  there is none, downloads the solc release list, which fails offline even though no solc is used for a Vyper
  contract. forge therefore runs with ``HOME`` pointing at a throw-away folder whose ``.svm/X.Y.Z/solc-X.Y.Z`` is a
  placeholder script; the placeholder is never run to compile anything.
- forge's Etherscan verifier refuses chains it has no Etherscan entry for (Anvil's 31337) with "ETHERSCAN_API_KEY
  must be set", whatever key is given; a chain id Etherscan knows (Sepolia's 11155111) works with any URL.

forge 1.7.1 also sends only the contract's own file, not the modules it imports (for every verifier type: its
Etherscan ``vyper-json`` payload and its Sourcify ``stdJsonInput`` both hold one source), so an explorer cannot
compile a contract built from modules from what forge sends. Each submission therefore first asks forge for the
input it would send (``--show-standard-json-input``, which sends nothing) and compares it with the bundle: when they
hold the same sources forge submits; when forge's input lacks sources, settlekit posts the bundle's own input to the
same API with the same fields forge uses (Etherscan-style form for etherscan/blockscout/custom, the Sourcify v2 JSON
for sourcify), and the submission says so (``via``, ``missing_in_forge``).

The API key is read from the environment variable the caller names and handed to forge in *its* environment
(``ETHERSCAN_API_KEY``, ``VERIFIER_API_KEY``), never on its command line; forge's output is scrubbed of it before
anything is returned, so it cannot reach settlekit's output, logs or exception text.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from settlekit.deploy.bundle import Bundle, ContractBundle
from settlekit.exceptions import SettlekitError, UsageError
from settlekit.project import Project
from settlekit.toolchain import find_tool, tool_environment

VERIFIERS = ("etherscan", "sourcify", "blockscout", "custom")
FORGE_TIMEOUT = 300.0
_GUID = re.compile(r"GUID:\s*`([^`]*)`")
_URL = re.compile(r"URL:\s*(\S+)")


class SubmitError(SettlekitError):
    """An explorer did not accept a verification submission (down, refusing, or an error answer)."""


@dataclass
class Submission:
    step: str
    address: str
    command: list[str]  # forge's exact argv (it holds no key)
    guid: str | None
    url: str | None
    via: str = "forge"  # or "settlekit" when forge's input lacked sources of the bundle
    missing_in_forge: list[str] | None = None


def forge_command(
    forge: str,
    project: Project,
    contract: ContractBundle,
    chain_id: int,
    verifier: str,
    verifier_url: str | None,
) -> list[str]:
    """The exact ``forge verify-contract`` command line for one contract of a bundle."""
    argv = [
        forge,
        "verify-contract",
        contract.address,
        contract.contract,
        "--root",
        str(project.root),
        "--language",
        "vyper",
        "--compiler-version",
        contract.compiler_version,
        "--chain",
        str(chain_id),
        "--verifier",
        verifier,
    ]
    if verifier_url:
        argv += ["--verifier-url", verifier_url]
    if verifier == "sourcify":
        argv += ["--creation-transaction-hash", contract.tx_hash]
    elif contract.constructor_args:
        argv += ["--constructor-args", contract.constructor_args]
    return [*argv, "--skip-is-verified-check", "--retries", "1", "--delay", "1"]


def _placeholder_home(folder: Path, compiler_version: str) -> None:
    """A HOME whose svm folder has a placeholder solc of the Vyper version number (see the module docstring)."""
    number = compiler_version.split("+", maxsplit=1)[0]
    solc = folder / ".svm" / number / f"solc-{number}"
    solc.parent.mkdir(parents=True, exist_ok=True)
    solc.write_text(
        "#!/bin/sh\n# settlekit: a placeholder so forge verify-contract does not download solc for a Vyper contract\n"
        f'echo "solc, the solidity compiler commandline interface"\necho "Version: {number}"\n'
    )
    solc.chmod(0o755)


def api_key_from(env_var: str | None, verifier: str) -> str | None:
    if env_var is None:
        if verifier == "etherscan":
            raise UsageError(
                "the etherscan verifier needs an API key",
                hint="put it in an environment variable and pass --api-key-env VAR",
            )
        return None
    key = os.environ.get(env_var, "").strip()
    if not key:
        raise UsageError(f"${env_var} is empty or not set", hint=f"export {env_var}=<your explorer API key>")
    return key


def submit_bundle(
    project: Project,
    bundle: Bundle,
    *,
    verifier: str,
    verifier_url: str | None,
    api_key: str | None,
) -> list[Submission]:
    """Submit every contract of ``bundle``; raise :class:`SubmitError` at the first one the explorer refuses."""
    if verifier not in VERIFIERS:
        raise UsageError(f"unknown verifier {verifier!r}", hint=f"use one of: {', '.join(VERIFIERS)}")
    forge = str(find_tool("forge", project).path)
    submissions: list[Submission] = []
    with tempfile.TemporaryDirectory(prefix="settlekit-forge-home-") as home:
        env = tool_environment(project)
        env["HOME"] = home
        for name in ("ETHERSCAN_API_KEY", "VERIFIER_API_KEY", "VERIFIER_URL", "CHAIN"):
            env.pop(name, None)
        if api_key is not None:
            env["ETHERSCAN_API_KEY"] = env["VERIFIER_API_KEY"] = api_key
        for contract in bundle.contracts:
            _placeholder_home(Path(home), contract.compiler_version)
            argv = forge_command(forge, project, contract, bundle.chain_id, verifier, verifier_url)
            missing = _missing_in_forge(argv, env, project, contract, api_key)
            if not missing:
                output = _run(argv, env, api_key, project.root)
                submissions.append(
                    Submission(contract.step, contract.address, argv, _first(_GUID, output), _first(_URL, output))
                )
                continue
            if not verifier_url:
                raise UsageError(
                    f"forge would submit {contract.contract} without {', '.join(missing)}, and settlekit can only "
                    "submit the complete bundle itself to an explicit URL",
                    hint="pass --verifier-url (the explorer's API URL)",
                )
            guid = _post_bundle(contract, bundle.chain_id, verifier, verifier_url, api_key)
            submissions.append(Submission(contract.step, contract.address, argv, guid, None, "settlekit", missing))
    return submissions


def _missing_in_forge(
    argv: list[str], env: dict[str, str], project: Project, contract: ContractBundle, api_key: str | None
) -> list[str]:
    """The bundle's sources that forge's own standard-JSON input lacks or holds with other content."""
    try:
        completed = subprocess.run(
            [*argv, "--show-standard-json-input"],
            env=env,
            capture_output=True,
            text=True,
            timeout=FORGE_TIMEOUT,
            check=False,
            cwd=project.root,
        )
    except subprocess.TimeoutExpired:
        raise SubmitError(
            f"forge verify-contract --show-standard-json-input for {contract.contract} did not finish in "
            f"{FORGE_TIMEOUT:g}s",
            hint="run it by hand to see where it hangs",
        ) from None
    try:
        sources = json.loads(completed.stdout)["sources"]
    except (ValueError, KeyError, TypeError):
        raise SubmitError(
            f"forge verify-contract could not prepare {contract.contract}: "
            + _forge_error(_scrub(completed.stdout + completed.stderr, api_key))[0],
            hint="run the command with --show-standard-json-input by hand to see why",
        ) from None
    root = str(project.root) + "/"
    forge_sources = {path.removeprefix(root): entry.get("content") for path, entry in sources.items()}
    wanted = contract.standard_json["sources"]
    return sorted(path for path, entry in wanted.items() if forge_sources.get(path) != entry["content"])


def _post_bundle(
    contract: ContractBundle, chain_id: int, verifier: str, verifier_url: str, api_key: str | None
) -> str | None:
    """Post the bundle's complete standard-JSON input with the fields forge uses; the explorer's id for it."""
    number = contract.compiler_version.split("+", maxsplit=1)[0]
    if not verifier_url.startswith(("http://", "https://")):
        raise UsageError(
            f"--verifier-url {verifier_url!r} is not an http(s) URL", hint="e.g. https://api.etherscan.io/api"
        )
    kwargs: dict[str, Any]
    if verifier == "sourcify":
        # joined as forge joins it (a URL join: keep a trailing slash on the base to keep its last segment)
        url = urllib.parse.urljoin(verifier_url, f"v2/verify/{chain_id}/{contract.address}")
        kwargs = {
            "json": {
                "stdJsonInput": contract.standard_json,
                "compilerVersion": number,
                "contractIdentifier": contract.contract,
                "creationTransactionHash": contract.tx_hash,
            }
        }
    else:
        url = verifier_url
        form = {
            "module": "contract",
            "action": "verifysourcecode",
            "contractaddress": contract.address.lower(),
            "sourceCode": json.dumps(contract.standard_json),
            "codeformat": "vyper-json",
            "contractname": contract.contract,
            "compilerversion": f"vyper:{number}",
            "optimizationUsed": "0",
            "runs": "0",
            "constructorArguements": contract.constructor_args,
            "constructorArguments": contract.constructor_args,
        }
        if api_key is not None:
            form["apikey"] = api_key
        kwargs = {"data": form}
    try:
        response = requests.post(url, timeout=60, **kwargs)
    except requests.RequestException as error:
        reason = _scrub(type(error).__name__, api_key)
        raise SubmitError(
            f"the explorer did not accept {contract.contract}: the verifier URL does not answer ({reason})",
            hint="the verifier URL does not answer: check --verifier-url and that the explorer is up, then run "
            "settlekit verify --submit again",
        ) from None
    if response.status_code >= 400:
        raise SubmitError(
            f"the explorer did not accept {contract.contract}: HTTP {response.status_code} from the verifier URL",
            hint="the explorer answered with an error: check --verifier and --verifier-url (the bundle under "
            "deployments/ is written and proven), then run settlekit verify --submit again",
        )
    text = response.text
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if verifier == "sourcify":
        return str(answer.get("verificationId")) if isinstance(answer, dict) and "verificationId" in answer else None
    if isinstance(answer, dict) and "already verified" in str(answer.get("result", "")).lower():
        return None  # nothing to do: the explorer has this contract's source (forge treats it the same way)
    if not isinstance(answer, dict) or str(answer.get("status")) != "1":
        result = answer.get("result") if isinstance(answer, dict) else text[:200]
        raise SubmitError(
            f"the explorer did not accept {contract.contract}: {_scrub(str(result), api_key)[:300]}",
            hint="read the explorer's answer; fix the cause (the bundle under deployments/ is written and proven), "
            "then run settlekit verify --submit again",
        )
    return str(answer.get("result"))


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(1) if match else None


def _run(argv: list[str], env: dict[str, str], api_key: str | None, cwd: Path) -> str:
    contract = argv[3]
    try:
        completed = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=FORGE_TIMEOUT, check=False, cwd=cwd
        )
    except subprocess.TimeoutExpired:
        raise SubmitError(
            f"forge verify-contract for {contract} did not finish in {FORGE_TIMEOUT:g}s",
            hint="check that the verifier URL answers, then run settlekit verify --submit again",
        ) from None
    output = _scrub(completed.stdout + completed.stderr, api_key)
    if completed.returncode == 0:
        return output
    reason, context = _forge_error(output)
    unreachable = any(word in output for word in ("error sending request", "Connect", "connection refused"))
    raise SubmitError(
        f"the explorer did not accept {contract}: {reason}" + (f" ({context})" if context else ""),
        hint=(
            "the verifier URL does not answer: check --verifier-url and that the explorer is up, then run "
            "settlekit verify --submit again"
            if unreachable
            else "the explorer answered with an error or not as its API does: check --verifier and --verifier-url "
            "(the bundle under deployments/ is written and proven), then run settlekit verify --submit again"
        ),
    )


def _forge_error(output: str) -> tuple[str, str]:
    """forge's error line without the payload it echoes (the whole source), and its context lines, shortened."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    reason = next((line for line in lines if line.startswith("Error")), lines[-1] if lines else "no output")
    reason = reason.removeprefix("Error:").strip().split(", payload:")[0]
    context = "; ".join(line.removeprefix("- ")[:200] for line in lines if line.startswith("- "))
    return reason[:300], context[:400]
