"""``settlekit deploy`` and ``settlekit verify``."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from settlekit.cli.options import JsonOption
from settlekit.cli.output import emit, stderr
from settlekit.project import Project

NameArg = Annotated[str, typer.Argument(help="Deployment name in the plan file.")]
NetworkOpt = Annotated[str, typer.Option("--network", "-n", help="Network profile in the plan file.")]
PlanOpt = Annotated[Path | None, typer.Option("--plan", help="Plan file (default: settlekit.toml in the project).")]
RpcOpt = Annotated[
    str | None,
    typer.Option("--rpc-url", envvar="ETH_RPC_URL", show_envvar=True, help="RPC URL (overrides the plan's)."),
]
DirOpt = Annotated[Path | None, typer.Option("--deployments-dir", help="Where journals and manifests live.")]


def deploy(
    name: NameArg,
    network: NetworkOpt = "local",
    as_json: JsonOption = False,
    plan_file: PlanOpt = None,
    rpc_url: RpcOpt = None,
    account: Annotated[str | None, typer.Option("--account", help="Foundry keystore name.")] = None,
    password_file: Annotated[Path | None, typer.Option("--password-file", help="Keystore password file.")] = None,
    password_env: Annotated[str | None, typer.Option("--password-env", help="Env var with the password.")] = None,
    private_key_env: Annotated[str | None, typer.Option("--private-key-env", help="Env var with a key.")] = None,
    dev_account: Annotated[int | None, typer.Option("--dev-account", help="Anvil dev account (local only).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the journal of an interrupted deploy.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run the plan on an Anvil fork; send nothing.")] = False,
    deployments_dir: DirOpt = None,
    check: Annotated[
        bool, typer.Option("--check", help="Resolve, type-check and rehearse the plan on a fork; send nothing.")
    ] = False,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="STEP=0xADDRESS: use an existing contract for a step on this run."),
    ] = None,
) -> None:
    """Deploy a plan through the write-ahead journal, then write the manifest."""
    from settlekit.deploy import service
    from settlekit.exceptions import UsageError

    project = Project.discover()
    plan = service.open_plan(project, plan_file)
    sets: dict[str, str] = {}
    for item in overrides or []:
        step, sep, address = item.partition("=")
        if not sep or not step:
            raise UsageError(f"--set {item!r} is not STEP=0xADDRESS", hint="e.g. --set collateral=0x1c7D...")
        sets[step.strip()] = address.strip()
    resume_command = " ".join(
        [f"settlekit deploy {name} --network {network}"]
        + ([f"--plan {plan_file}"] if plan_file else [])
        + ([f"--deployments-dir {deployments_dir}"] if deployments_dir else [])
        + [f"--set {k}={v}" for k, v in sets.items()]
        + ([f"--account {account}"] if account else [])
        + ([f"--private-key-env {private_key_env}"] if private_key_env else [])
        + ([f"--dev-account {dev_account}"] if dev_account is not None else [])
        + ["--resume"]
    )
    keys = service.KeyChoice(
        account, password_file, password_env, private_key_env, dev_account, interactive=sys.stdin.isatty()
    )
    say = (lambda _m: None) if as_json else (lambda message: stderr.print(f"  {message}"))
    if dry_run or check:
        outcome = service.dry_run(
            project,
            plan,
            name,
            network,
            keys,
            rpc_url=rpc_url,
            progress=say,
            overrides=sets,
            journal_root=(deployments_dir or project.root / "deployments") if check else None,
        )
        data = {
            "dry_run": dry_run,
            "check": "ok" if check else None,
            "forked_from": outcome.forked_from,
            "gas_used": outcome.result.gas_used,
            "cost_wei": outcome.result.cost_wei,
            "balance_wei": outcome.balance_wei,
            "enough_funds": outcome.enough_funds,
            "addresses_on_fork": outcome.result.addresses,
        }

        def render_dry(console: Console) -> None:
            if check:
                console.print("check ok: roles and arguments resolved and type-checked, plan rehearsed on a fork")
            console.print(
                f"dry run on a fork of {outcome.forked_from}: {outcome.result.gas_used:,} gas, "
                f"{outcome.result.cost_wei / 1e18:.6f} ETH at the fork's fees"
            )
            console.print(
                f"deployer balance on {network}: {outcome.balance_wei / 1e18:.6f} ETH "
                + ("(enough)" if outcome.enough_funds else "[red](NOT enough)[/]")
            )

        emit(data, as_json=as_json, render=render_dry)
        return
    result = service.deploy(
        project,
        plan,
        name,
        network,
        keys,
        rpc_url=rpc_url,
        resume=resume,
        root=deployments_dir,
        progress=say,
        overrides=sets,
        resume_command=resume_command,
    )
    data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(result).items()}

    def render(console: Console) -> None:
        table = Table(
            title=f"{result.deployment} on {result.network} (chain {result.chain_id})"
            + (" resumed" if result.resumed else "")
        )
        table.add_column("step")
        table.add_column("address")
        for step, address in result.addresses.items():
            table.add_row(step, address)
        console.print(table)
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {warning}")
        console.print(f"{result.sent} transaction(s) sent, {result.gas_used:,} gas; manifest {result.manifest}")

    emit(data, as_json=as_json, render=render)


def verify(
    name: NameArg,
    network: NetworkOpt = "local",
    as_json: JsonOption = False,
    plan_file: PlanOpt = None,
    rpc_url: RpcOpt = None,
    deployments_dir: DirOpt = None,
    bundle: Annotated[
        bool, typer.Option("--bundle", help="Write deployments/<chain>/<name>.verify/, proven to recompile.")
    ] = False,
    submit: Annotated[
        bool, typer.Option("--submit", help="Write the bundle and submit it to an explorer (forge verify-contract).")
    ] = False,
    verifier: Annotated[
        str, typer.Option("--verifier", help="etherscan, sourcify, blockscout or custom (as forge names them).")
    ] = "etherscan",
    verifier_url: Annotated[str | None, typer.Option("--verifier-url", help="The explorer's API URL.")] = None,
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", help="Env var holding the explorer API key (never printed).")
    ] = None,
) -> None:
    """Check the code and roles on chain against the manifest and the compiled contracts; with --bundle/--submit,
    build each contract's explorer verification bundle, prove it recompiles to the code on chain, and submit it."""
    from settlekit.deploy import service

    project = Project.discover()
    report, explorer = service.verify(
        project,
        service.open_plan(project, plan_file),
        name,
        network,
        rpc_url=rpc_url,
        root=deployments_dir,
        explorer=service.ExplorerChoice(bundle, submit, verifier, verifier_url, api_key_env),
    )

    def render(console: Console) -> None:  # one contract per paragraph: addresses whole at 80 columns
        console.print(f"verify {report.deployment} (chain {report.chain_id})", markup=False, highlight=False)
        for check in report.contracts:
            roles = ", ".join(f"{role} {'ok' if r['ok'] else 'WRONG'}" for role, r in check.roles.items())
            console.print(f"  {'[green]ok[/]' if check.ok else '[red]FAIL[/]'}  {escape(check.step)}", highlight=False)
            console.print(f"      {check.address}  {check.code}", markup=False, highlight=False)
            if roles:
                console.print(f"      roles: {roles}", markup=False, highlight=False)
        for check in report.contracts:
            for problem in check.problems:
                console.print(f"[red]{problem}[/]")
        if explorer.bundle is not None:
            console.print(f"verification bundle {explorer.bundle.folder}", markup=False, highlight=False)
            for contract in explorer.bundle.contracts:
                console.print(f"  {contract.step}  {contract.contract}", markup=False, highlight=False)
                console.print(f"      {contract.proof}", markup=False, highlight=False)
            for step, reason in explorer.bundle.skipped.items():
                console.print(f"  {step}  skipped: {reason}", markup=False, highlight=False)
        for submission in explorer.submissions or []:
            console.print(f"  submitted {submission.step}  {submission.address}", markup=False, highlight=False)
            via = "forge" if submission.via == "forge" else "settlekit (forge would omit its modules)"
            console.print(f"      via {via}; id {submission.guid or '-'}", markup=False, highlight=False)

    emit(
        {
            "ok": report.ok,
            "deployment": report.deployment,
            "chain_id": report.chain_id,
            "contracts": [asdict(c) for c in report.contracts],
            "bundle": explorer.bundle.summary() if explorer.bundle is not None else None,
            "submissions": [asdict(s) for s in explorer.submissions] if explorer.submissions is not None else None,
        },
        as_json=as_json,
        render=render,
    )
    if not report.ok:
        raise typer.Exit(1)
