"""What the ``deploy`` and ``verify`` commands do, as library calls: pick the signer, connect, run, dry-run."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from settlekit.build import ArtifactStore, build
from settlekit.chain import Anvil, AnvilConfig, redact_url
from settlekit.chain.connect import connect
from settlekit.deploy.bundle import Bundle, build_bundle
from settlekit.deploy.executor import Deployer, DeployResult, Progress
from settlekit.deploy.keys import Signer, dev_signer, from_keystore, from_private_key_env, password_from
from settlekit.deploy.manifest import manifest_path, read_manifest
from settlekit.deploy.plan import DEFAULT_PLAN_FILE, Deployment, Network, Plan, load_plan, with_overrides
from settlekit.deploy.preflight import check_arguments
from settlekit.deploy.submit import Submission, api_key_from, submit_bundle
from settlekit.deploy.verify import VerifyReport, verify_deployment
from settlekit.exceptions import UsageError
from settlekit.project import Project

DRY_RUN_FUNDING_WEI = 100 * 10**18


@dataclass(frozen=True)
class KeyChoice:
    account: str | None = None
    password_file: Path | None = None
    password_env: str | None = None
    private_key_env: str | None = None
    dev_account: int | None = None
    interactive: bool = True


def choose_signer(choice: KeyChoice, network: Network) -> Signer:
    given = [
        name
        for name, value in (
            ("--account", choice.account),
            ("--private-key-env", choice.private_key_env),
            ("--dev-account", choice.dev_account),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} both name a key; give one", hint="pick one way to sign")
    if choice.account is not None:
        return from_keystore(
            choice.account, password_from(file=choice.password_file, env=choice.password_env, prompt=choice.interactive)
        )
    if choice.private_key_env is not None:
        return from_private_key_env(choice.private_key_env)
    if choice.dev_account is not None or network.local:
        return dev_signer(choice.dev_account or 0)
    raise UsageError(
        f"network {network.name!r} is not local: say which key signs",
        hint="pass --account NAME (a Foundry keystore) or --private-key-env VAR",
    )


def open_plan(project: Project, plan_file: Path | None) -> Plan:
    return load_plan(plan_file or project.root / DEFAULT_PLAN_FILE)


def _prepare(
    project: Project, plan: Plan, name: str, network_name: str, keys: KeyChoice, overrides: dict[str, str] | None = None
) -> tuple[Network, Deployment, Signer, ArtifactStore]:
    """What every deploy needs before it touches a node: the network, the deployment, the signer, the artifacts."""
    network = plan.network(network_name)
    deployment = with_overrides(plan.deployment(name), network, overrides or {})
    signer = choose_signer(keys, network)
    build(project)
    return network, deployment, signer, ArtifactStore(project.out_dir)


def deploy(
    project: Project,
    plan: Plan,
    name: str,
    network_name: str,
    keys: KeyChoice,
    *,
    rpc_url: str | None = None,
    resume: bool = False,
    root: Path | None = None,
    progress: Progress | None = None,
    overrides: dict[str, str] | None = None,
    resume_command: str | None = None,
) -> DeployResult:
    network, deployment, signer, store = _prepare(project, plan, name, network_name, keys, overrides)
    w3 = connect(network.resolve_rpc_url(rpc_url))
    deployer = Deployer(
        w3,
        signer,
        deployment,
        network,
        store,
        root=root or project.root / "deployments",
        progress=progress,
        resume_command=resume_command,
    )
    return deployer.run(resume=resume)


@dataclass(frozen=True)
class DryRunResult:
    result: DeployResult
    forked_from: str
    balance_wei: int
    enough_funds: bool


def dry_run(
    project: Project,
    plan: Plan,
    name: str,
    network_name: str,
    keys: KeyChoice,
    *,
    rpc_url: str | None = None,
    progress: Progress | None = None,
    overrides: dict[str, str] | None = None,
    journal_root: Path | None = None,
) -> DryRunResult:
    """Run the whole plan on an Anvil fork of the network; nothing is sent to the network itself. With
    ``journal_root``, an existing journal of the deployment is copied to the fork and resumed there, so the
    rehearsal runs the remaining steps at their exact nonces."""
    network, deployment, signer, store = _prepare(project, plan, name, network_name, keys, overrides)
    roles = {"deployer": signer.address, "owner": signer.address, **network.roles}
    check_arguments(deployment, network, store, roles)
    url = network.resolve_rpc_url(rpc_url)
    balance = int(connect(url).eth.get_balance(signer.address))
    with (
        Anvil(AnvilConfig(fork_url=url, chain_id=None), project) as fork,
        tempfile.TemporaryDirectory(prefix="settlekit-dry-run-") as scratch,
    ):
        if balance < DRY_RUN_FUNDING_WEI:
            fork.set_balance(signer.address, DRY_RUN_FUNDING_WEI)
        # The fork automines: it makes a block only when sent a transaction, so waiting for the network's
        # confirmations after the last step would never end. A throw-away fork has nothing to reorg, so its
        # receipts are final at once (the canonical-hash check still runs).
        on_fork = replace(network, confirmations=0)
        on_fork = replace(on_fork, bump_after=None)
        chain_id = int(fork.w3.eth.chain_id)
        existing = (journal_root / str(chain_id) / f"{deployment.name}.journal.jsonl") if journal_root else None
        resume = existing is not None and existing.is_file()
        if resume:
            assert existing is not None
            (Path(scratch) / str(chain_id)).mkdir(parents=True)
            shutil.copy(existing, Path(scratch) / str(chain_id) / existing.name)
        deployer = Deployer(fork.w3, signer, deployment, on_fork, store, root=Path(scratch), progress=progress)
        result = deployer.run(resume=resume)
    return DryRunResult(result, redact_url(url), balance, balance >= result.cost_wei)


@dataclass(frozen=True)
class ExplorerChoice:
    """What ``settlekit verify`` does beyond checking the chain: write the bundle, and submit it."""

    bundle: bool = False
    submit: bool = False
    verifier: str = "etherscan"
    verifier_url: str | None = None
    api_key_env: str | None = None


@dataclass
class ExplorerResult:
    bundle: Bundle | None = None
    submissions: list[Submission] | None = None


def verify(
    project: Project,
    plan: Plan,
    name: str,
    network_name: str,
    *,
    rpc_url: str | None = None,
    root: Path | None = None,
    explorer: ExplorerChoice | None = None,
) -> tuple[VerifyReport, ExplorerResult]:
    """Check the chain against the manifest; with ``explorer``, also write the verification bundle (proven to
    recompile to the code on chain) and submit it through forge. Nothing is bundled or submitted unless the
    chain check passes."""
    explorer = explorer or ExplorerChoice()
    network = plan.network(network_name)
    api_key = api_key_from(explorer.api_key_env, explorer.verifier) if explorer.submit else None
    w3 = connect(network.resolve_rpc_url(rpc_url))
    chain_id = int(w3.eth.chain_id)  # the node first: an unreachable one fails before the build
    build(project)
    deployments = root or project.root / "deployments"
    manifest = read_manifest(manifest_path(deployments, chain_id, name))
    store = ArtifactStore(project.out_dir)
    report = verify_deployment(w3, manifest, store)
    result = ExplorerResult()
    if not report.ok or not (explorer.bundle or explorer.submit):
        return report, result
    result.bundle = build_bundle(w3, project, manifest, store, deployments)
    if explorer.submit:
        result.submissions = submit_bundle(
            project, result.bundle, verifier=explorer.verifier, verifier_url=explorer.verifier_url, api_key=api_key
        )
    return report, result
