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

The API key is read from the environment variable the caller names and handed to forge in *its* environment
(``ETHERSCAN_API_KEY``, ``VERIFIER_API_KEY``), never on its command line; forge's output is scrubbed of it before
anything is returned, so it cannot reach settlekit's output, logs or exception text.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

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
            output = _run(argv, env, api_key, project.root)
            submissions.append(
                Submission(
                    contract.step,
                    contract.address,
                    argv,
                    _first(_GUID, output),
                    _first(_URL, output),
                )
            )
    return submissions


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
