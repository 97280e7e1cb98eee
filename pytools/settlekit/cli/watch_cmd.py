"""``settlekit watch``, ``settlekit events`` and ``settlekit incidents``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from settlekit.cli.options import JsonOption
from settlekit.cli.output import emit, stderr
from settlekit.exceptions import UsageError
from settlekit.project import Project

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="SETTLEKIT_STORE",
        show_envvar=True,
        help="Store URL (default: sqlite:///.settlekit/watch.db).",
    ),
]


def _store_url(store: str | None) -> str:
    if store:
        return store
    folder = Project.discover().root / ".settlekit"
    folder.mkdir(exist_ok=True)
    return f"sqlite:///{folder / 'watch.db'}"


def _sinks(specs: list[str]) -> list[Any]:
    from settlekit.watch.sinks import FileSink, StdoutSink, WebhookSink

    sinks: list[Any] = []
    for spec in specs:
        kind, _, target = spec.partition(":")
        if kind == "stdout" and not target:
            sinks.append(StdoutSink())
        elif kind == "file" and target:
            sinks.append(FileSink(Path(target)))
        elif kind == "webhook" and target:
            sinks.append(WebhookSink(target))
        else:
            raise UsageError(f"unknown sink {spec!r}", hint="use stdout, file:PATH or webhook:URL")
    return sinks


def _watch_config(project: Project) -> dict[str, Any]:
    """The [watch] table of settlekit.toml (alert rules), or nothing."""
    import tomllib

    path = project.root / "settlekit.toml"
    if not path.is_file():
        return {}
    watch_table: dict[str, Any] = tomllib.loads(path.read_text()).get("watch", {})
    return watch_table


def watch(
    manifest: Annotated[Path, typer.Option("--manifest", help="Deployment manifest whose contracts to watch.")],
    rpc_url: Annotated[str, typer.Option("--rpc-url", envvar="ETH_RPC_URL", help="Node to follow.")],
    as_json: JsonOption = False,
    store: StoreOpt = None,
    confirmations: Annotated[int, typer.Option(help="Blocks before an event counts as confirmed.")] = 2,
    poll_interval: Annotated[float, typer.Option("--poll-interval", help="Seconds between polls.")] = 1.0,
    start_block: Annotated[int, typer.Option("--start-block", help="First block to ingest.")] = 0,
    sink: Annotated[
        list[str] | None, typer.Option("--sink", help="Incident sink: stdout, file:PATH, webhook:URL (repeatable).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Catch up to the head once and exit.")] = False,
) -> None:
    """Follow the head, ingest and decode the manifest's events, survive reorgs and outages, record incidents."""
    from settlekit.build import ArtifactStore, build
    from settlekit.chain import RpcClient
    from settlekit.deploy.manifest import read_manifest
    from settlekit.watch.decoder import EventDecoder
    from settlekit.watch.follower import Follower, FollowerConfig, StepReport
    from settlekit.watch.store import Store

    project = Project.discover()
    build(project)
    decoder = EventDecoder.from_manifest(read_manifest(manifest), ArtifactStore(project.out_dir))
    follower = Follower(
        RpcClient(rpc_url, timeout=10),
        Store(_store_url(store)),
        decoder,
        FollowerConfig(confirmations=confirmations, start_block=start_block),
        _sinks(sink or []),
        _watch_config(project).get("rules", []),
    )

    def show(report: StepReport) -> None:
        line = {
            "head": report.head,
            "blocks": report.ingested_blocks,
            "events": report.ingested_events,
            "reorgs": report.reorgs,
        }
        if as_json:
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
        elif report.ingested_blocks or report.reorgs:
            stderr.print(
                f"head {report.head}: +{report.ingested_blocks} blocks, +{report.ingested_events} events"
                + "".join(f", [yellow]reorg depth {r['depth']}[/]" for r in report.reorgs)
            )

    if once:
        follower.check_chain()
        while True:
            report = follower.step()
            show(report)
            if report.ingested_blocks == 0:
                return
    try:
        follower.run(poll_interval, on_step=show)
    except KeyboardInterrupt:
        stderr.print("stopped")


def events(
    as_json: JsonOption = False,
    store: StoreOpt = None,
    contract: Annotated[str | None, typer.Option(help="Only this contract (its step id in the manifest).")] = None,
    event: Annotated[str | None, typer.Option(help="Only this event name.")] = None,
    account: Annotated[str | None, typer.Option(help="Only events with this address among their arguments.")] = None,
    from_block: Annotated[int | None, typer.Option("--from-block")] = None,
    to_block: Annotated[int | None, typer.Option("--to-block")] = None,
    include_retracted: Annotated[bool, typer.Option("--all", help="Include events of orphaned blocks.")] = False,
) -> None:
    """Query the events the watcher stored."""
    from settlekit.watch.store import Store

    rows = Store(_store_url(store)).events(
        canonical_only=not include_retracted,
        contract=contract,
        event_name=event,
        from_block=from_block,
        to_block=to_block,
    )
    if account is not None:
        wanted = account.lower()
        rows = [r for r in rows if any(isinstance(v, str) and v.lower() == wanted for v in r.args.values())]

    def render(console: Console) -> None:
        table = Table(title=f"{len(rows)} events")
        for column in ("block", "log", "contract", "event", "args", "status"):
            table.add_column(column)
        for r in rows:
            table.add_row(str(r.block_number), str(r.log_index), r.contract, r.event, json.dumps(r.args), r.status)
        console.print(table)

    emit([asdict(r) for r in rows], as_json=as_json, render=render)


def incidents(
    as_json: JsonOption = False,
    store: StoreOpt = None,
    ack: Annotated[int | None, typer.Option("--ack", help="Acknowledge incident ID.")] = None,
    resolve: Annotated[int | None, typer.Option("--resolve", help="Resolve incident ID.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only incidents not resolved.")] = False,
) -> None:
    """List incidents; acknowledge or resolve one."""
    from settlekit.watch.incidents import IncidentLog
    from settlekit.watch.store import Store

    if ack is not None and resolve is not None:
        raise UsageError("--ack and --resolve both given", hint="change one incident state at a time")
    log = IncidentLog(Store(_store_url(store)))
    if ack is not None:
        log.acknowledge(ack)
    if resolve is not None:
        log.resolve(resolve)
    rows = log.list(open_only=open_only)

    def render(console: Console) -> None:
        table = Table(title=f"{len(rows)} incidents")
        for column in ("id", "severity", "state", "rule", "count", "summary"):
            table.add_column(column)
        for i in rows:
            color = {"critical": "red", "warning": "yellow"}.get(i.severity, "white")
            table.add_row(str(i.id), f"[{color}]{i.severity}[/]", i.state, i.rule, str(i.count), i.summary)
        console.print(table)

    emit([asdict(i) for i in rows], as_json=as_json, render=render)
