"""``settlekit watch``, ``settlekit events`` and ``settlekit incidents``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from settlekit.cli.options import JsonOption
from settlekit.cli.output import emit, stderr
from settlekit.exceptions import UsageError
from settlekit.project import Project

if TYPE_CHECKING:
    from settlekit.watch.follower import FollowerConfig
    from settlekit.watch.targets import Targets

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="SETTLEKIT_STORE",
        show_envvar=True,
        help="Store URL (default: sqlite:///.settlekit/watch.db).",
    ),
]


def _open_store(store: str | None, *, create: bool) -> Any:
    """The store of --store (default .settlekit/watch.db); only `watch` (create) may make a new one."""
    from settlekit.watch.store_access import default_store_url, open_store

    return open_store(store or default_store_url(Project.discover(), create=create), create=create)


def _sinks(specs: list[str], secret_env: str | None, as_json: bool) -> tuple[list[Any], list[Any]]:
    """(sinks told at once in the follower's thread, remote sinks delivered through the outbox)."""
    import os

    from settlekit.watch.outbox import HttpSink
    from settlekit.watch.sinks import FileSink, StdoutSink

    secret: bytes | None = None
    if secret_env is not None:
        value = os.environ.get(secret_env)
        if not value:
            raise UsageError(f"--webhook-secret-env {secret_env}: the variable is not set", hint=f"export {secret_env}")
        secret = value.encode()
    immediate: list[Any] = []
    remote: list[Any] = []
    for spec in specs:
        kind, _, target = spec.partition(":")
        if kind == "stdout" and not target:
            immediate.append(StdoutSink(as_json=as_json))
        elif kind == "file" and target:
            immediate.append(FileSink(Path(target)))
        elif kind in ("webhook", "slack", "discord") and target:
            remote.append(HttpSink(kind, target, secret=secret if kind == "webhook" else None))
        else:
            raise UsageError(
                f"unknown sink {spec!r}", hint="use stdout, file:PATH, webhook:URL, slack:URL or discord:URL"
            )
    return immediate, remote


class _TerminalSink:
    """Every newly opened incident as one coloured line on stderr."""

    def send(self, incident: Any) -> None:
        from settlekit.watch.incidents import payload
        from settlekit.watch.outbox import incident_line

        color = {"critical": "red", "warning": "yellow"}.get(incident.severity, "cyan")
        stderr.print(f"[{color}]{escape(incident_line(payload(incident)))}[/]")


class _Progress:
    """One progress line every ``every`` seconds (and at once for a reorg), not one per block."""

    def __init__(self, every: float = 10.0) -> None:
        import time

        self.every, self._clock = every, time.monotonic
        self.blocks = self.events = 0
        self.last = self._clock() - every

    def add(self, report: Any) -> None:
        self.blocks += report.ingested_blocks
        self.events += report.ingested_events
        due = self._clock() - self.last >= self.every
        if report.reorgs or (due and self.blocks):
            stderr.print(
                f"[dim]head {report.head}: +{self.blocks:,} blocks, +{self.events:,} events[/]"
                + "".join(f", [yellow]reorg depth {r['depth']}[/]" for r in report.reorgs)
            )
            self.blocks = self.events = 0
            self.last = self._clock()


def _watch_config(project: Project) -> dict[str, Any]:
    """The [watch] table of settlekit.toml (alert rules), or nothing; its types checked (settlekit/config.py)."""
    from settlekit.config import CONFIG_FILE, load_config

    path = project.root / CONFIG_FILE
    if not path.is_file():
        return {}
    watch_table: dict[str, Any] = load_config(path)[0].get("watch", {})
    return watch_table


def _follower_config(
    settings: dict[str, Any],
    confirmations: int,
    start_block: int,
    targets: Targets | None = None,
    finality_depth: int = 64,
) -> FollowerConfig:
    """The follower's settings from the options, the manifests' chain and the [watch.reorg] table (incident depths
    of reorgs)."""
    from settlekit.watch.follower import FollowerConfig
    from settlekit.watch.rules import reorg_depths

    warning_depth, critical_depth = reorg_depths(settings)
    return FollowerConfig(
        confirmations=confirmations,
        start_block=start_block,
        reorg_warning_depth=warning_depth,
        reorg_critical_depth=critical_depth,
        finality_depth=finality_depth,
        expected_chain_id=targets.chain_id if targets else None,
        expected_genesis=targets.genesis_hash if targets else None,
    )


def _record_tokens(watch_store: Any, rpc: Any, contracts: Any) -> None:
    """Symbols and decimals of the watched tokens, to show amounts in token units."""
    from settlekit.watch.series import record_token

    for target in contracts:
        record_token(watch_store, rpc.call, target.address)


@dataclass(frozen=True)
class _GuardianOptions:
    enabled: bool | None
    contracts: list[str] | None
    level: int | None
    account: str | None
    password_file: Path | None
    password_env: str | None
    key_env: str | None
    dry_run: bool
    on_history: bool = False  # --alert-on-backfill: the guardian acts on history incidents too


def _metrics_and_guardian(
    settings: dict[str, Any],
    rpc: Any,
    store: Any,
    deployed: dict[str, Any],
    options: _GuardianOptions,
    metrics_port: int | None,
    metrics_host: str | None,
) -> tuple[Any, list[Any]]:
    """The metrics observer (serving, if asked) and the guardian sink (if enabled), from [watch] and the options."""
    from dataclasses import replace

    from web3 import Web3

    from settlekit.watch import guardian as guardian_module
    from settlekit.watch import metrics as metrics_module

    where = metrics_module.endpoint(settings.get("metrics", {}), metrics_port, metrics_host)
    metrics = None
    if where is not None:
        metrics = metrics_module.WatchMetrics(store, metrics_module.head_timestamp_reader(rpc.call))
        server = metrics_module.serve(metrics.registry, where[1], where[0])
        stderr.print(f"metrics on {server.url}")
    config = guardian_module.GuardianConfig.parse(settings.get("guardian", {}))
    config = replace(
        config,
        enabled=(options.enabled if options.enabled is not None else config.enabled) or options.dry_run,
        contracts=tuple(options.contracts) if options.contracts else config.contracts,
        level=options.level if options.level is not None else config.level,
        dry_run=options.dry_run or config.dry_run,
        account=options.account or (None if options.key_env else config.account),
        key_env=options.key_env or (None if options.account else config.key_env),
        on_history=options.on_history or config.on_history,
    )
    if not config.enabled:
        return metrics, []
    if not 1 <= config.level <= guardian_module.HALTED:
        raise UsageError(f"--guardian-level {config.level} is not 1, 2 or 3", hint="1 NO_NEW_RISK ... 3 HALTED")
    sink = guardian_module.build_guardian(
        Web3(Web3.HTTPProvider(rpc.url, request_kwargs={"timeout": rpc.timeout})),
        deployed,
        config,
        password_file=options.password_file,
        password_env=options.password_env,
        say=lambda message: stderr.print(f"[red]guardian[/] {escape(message)}"),
        on_outcome=metrics.on_guardian if metrics is not None else None,
    )
    return metrics, [sink]


def _decoder(project: Project, targets: Targets) -> Any:
    """The decoder of the manifests' contracts from the compiled artifacts (children's artifacts included),
    building only when one is missing or unreadable: a (re)start must not wait for, or fail on, the recompilation
    of sources edited since the deployment (the deployed contracts' events do not change with them)."""
    from settlekit.build import ArtifactNotFoundError, ArtifactStore, build
    from settlekit.watch.decoder import EventDecoder

    contracts = {t.label: (t.address, t.artifact) for t in targets.contracts}

    def load() -> Any:
        store = ArtifactStore(project.out_dir)
        for spec in targets.children:
            store.get(spec.artifact)
        return EventDecoder(contracts, store)

    try:
        return load()
    except (ArtifactNotFoundError, ValueError, KeyError):  # ValueError/KeyError: an artifact being rewritten
        build(project)
        return load()


def _targets(manifests: list[Path]) -> Targets:
    from settlekit.deploy.manifest import read_manifest
    from settlekit.watch.targets import from_manifests

    paths = list(dict.fromkeys(manifests))  # the same file twice is one manifest
    if not paths:
        raise UsageError("no --manifest given", hint="pass --manifest deployments/<chain id>/<name>.json")
    return from_manifests([(str(path), read_manifest(path)) for path in paths])


def _head_subscription(ws_url: str | None, metrics: Any) -> tuple[Any, Any]:
    """The follower's stop event and, with --ws-url, the newHeads subscription that wakes it (polling stays the
    source of truth)."""
    import threading

    if ws_url is None:
        return threading.Event(), None
    from settlekit.watch.heads import HeadSubscription, WakeableStop

    stop = WakeableStop()

    def ring(number: int) -> None:
        stop.wake()
        if metrics is not None:
            metrics.on_ws_head(number)

    subscription = HeadSubscription(
        ws_url, ring, on_error=lambda message: stderr.print(f"[yellow]{escape(message)}[/]")
    )
    return stop, subscription.start()


def watch(
    manifest: Annotated[
        list[Path],
        typer.Option("--manifest", help="Deployment manifest whose contracts to watch (repeatable, one chain)."),
    ],
    rpc_url: Annotated[str, typer.Option("--rpc-url", envvar="ETH_RPC_URL", help="Node to follow.")],
    as_json: JsonOption = False,
    store: StoreOpt = None,
    confirmations: Annotated[int, typer.Option(help="Blocks before an event counts as confirmed.")] = 2,
    poll_interval: Annotated[float, typer.Option("--poll-interval", help="Seconds between polls.")] = 1.0,
    start_block: Annotated[int, typer.Option("--start-block", help="First block to ingest.")] = 0,
    sink: Annotated[
        list[str] | None,
        typer.Option(
            "--sink", help="Incident sink: stdout, file:PATH, webhook:URL, slack:URL, discord:URL (repeatable)."
        ),
    ] = None,
    delivery_max_backoff: Annotated[
        float, typer.Option("--delivery-max-backoff", help="Longest wait (seconds) between delivery retries.")
    ] = 300.0,
    webhook_secret_env: Annotated[
        str | None, typer.Option("--webhook-secret-env", help="Env var with the HMAC key that signs webhook bodies.")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Catch up to the head once and exit.")] = False,
    rpc_timeout: Annotated[float, typer.Option("--rpc-timeout", help="Seconds before an RPC call fails.")] = 10.0,
    outage_after: Annotated[
        float, typer.Option("--outage-after", help="Seconds of node failure before a node_outage incident.")
    ] = 30.0,
    max_backoff: Annotated[
        float, typer.Option("--max-backoff", help="Longest wait (seconds) between retries while the node fails.")
    ] = 30.0,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Serve Prometheus metrics on this port (0: any free one).")
    ] = None,
    metrics_host: Annotated[
        str | None, typer.Option("--metrics-host", help="Address to serve metrics on (default 127.0.0.1).")
    ] = None,
    guardian: Annotated[
        bool | None,
        typer.Option("--guardian/--no-guardian", help="Raise the circuit breaker on critical incidents (TOML: off)."),
    ] = None,
    guardian_contract: Annotated[
        list[str] | None, typer.Option("--guardian-contract", help="Manifest name of a contract to raise (repeatable).")
    ] = None,
    guardian_level: Annotated[int | None, typer.Option("--guardian-level", help="Level to raise to (1-3).")] = None,
    guardian_account: Annotated[
        str | None, typer.Option("--guardian-account", help="Foundry keystore of the guardian key.")
    ] = None,
    guardian_password_file: Annotated[
        Path | None, typer.Option("--guardian-password-file", help="Guardian keystore password file.")
    ] = None,
    guardian_password_env: Annotated[
        str | None, typer.Option("--guardian-password-env", help="Env var with the guardian keystore password.")
    ] = None,
    guardian_key_env: Annotated[
        str | None, typer.Option("--guardian-key-env", help="Env var with the guardian's private key.")
    ] = None,
    guardian_dry_run: Annotated[
        bool, typer.Option("--guardian-dry-run", help="Show and record what the guardian would send; send nothing.")
    ] = False,
    ws_url: Annotated[
        str | None, typer.Option("--ws-url", help="WebSocket URL: new heads (eth_subscribe) wake the poll at once.")
    ] = None,
    alert_on_backfill: Annotated[
        bool,
        typer.Option(
            "--alert-on-backfill", help="Rules and the guardian also fire on events older than the watcher's start."
        ),
    ] = False,
    finality_depth: Annotated[
        int, typer.Option("--finality-depth", help="Blocks under the head counted final on nodes without `finalized`.")
    ] = 64,
) -> None:
    """Follow the head, ingest and decode the manifest's events, survive reorgs and outages, record incidents."""
    from dataclasses import replace

    from settlekit.chain import RpcClient
    from settlekit.watch.follower import Follower, StepReport

    project = Project.discover()
    targets = _targets(manifest)
    deployed = targets.manifest()
    decoder = _decoder(project, targets)
    settings = _watch_config(project)
    rpc, watch_store = RpcClient(rpc_url, timeout=rpc_timeout), _open_store(store, create=True)
    lock = watch_store.writer_lock()  # one writer per store: a second watcher stops here with a clear error
    _record_tokens(watch_store, rpc, targets.contracts)
    metrics, sinks = _metrics_and_guardian(
        settings,
        rpc,
        watch_store,
        deployed,
        _GuardianOptions(
            guardian,
            guardian_contract,
            guardian_level,
            guardian_account,
            guardian_password_file,
            guardian_password_env,
            guardian_key_env,
            guardian_dry_run,
            alert_on_backfill,
        ),
        metrics_port,
        metrics_host,
    )
    immediate, remote = _sinks(sink or [], webhook_secret_env, as_json)
    if not as_json and not any(type(target).__name__ == "StdoutSink" for target in immediate):
        immediate.append(_TerminalSink())  # incidents as readable lines on the terminal, always
    follower = Follower(
        rpc,
        watch_store,
        decoder,
        replace(
            _follower_config(settings, confirmations, start_block, targets, finality_depth),
            alert_on_backfill=alert_on_backfill,
        ),
        [*immediate, *sinks],
        settings.get("rules", []),
        observer=metrics,
        targets=targets.contracts,
        children=targets.children,
    )
    for extra in sinks:
        extra.bind(follower.incidents)
    from settlekit.watch.outbox import DeliveryWorker

    worker = DeliveryWorker(
        watch_store,
        remote,
        max_delay=delivery_max_backoff,
        say=lambda message: stderr.print(f"[yellow]{escape(message)}[/]"),
    )
    follower.incidents.deliver_to([target.name for target in remote], worker.wake)
    if remote:
        worker.start()  # its own thread: a slow or failing receiver never holds up ingestion

    progress = _Progress()

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
        else:
            progress.add(report)

    if once:
        follower.check_chain()
        while True:
            report = follower.step()
            show(report)
            if report.ingested_blocks == 0:
                worker.stop(drain_seconds=10.0 if remote else 0.0)  # what stays pending goes out on the next run
                return
    stop, subscription = _head_subscription(ws_url, metrics)
    try:
        follower.run(poll_interval, stop=stop, on_step=show, outage_after=outage_after, max_backoff=max_backoff)
    except KeyboardInterrupt:
        stderr.print("stopped")
    finally:
        if subscription is not None:
            subscription.close()
        worker.stop()
        lock.release()


def events(
    as_json: JsonOption = False,
    store: StoreOpt = None,
    contract: Annotated[str | None, typer.Option(help="Only this contract (its step id in the manifest).")] = None,
    event: Annotated[str | None, typer.Option(help="Only this event name.")] = None,
    account: Annotated[str | None, typer.Option(help="Only events with this address among their arguments.")] = None,
    from_block: Annotated[int | None, typer.Option("--from-block")] = None,
    to_block: Annotated[int | None, typer.Option("--to-block")] = None,
    include_retracted: Annotated[bool, typer.Option("--all", help="Include events of orphaned blocks.")] = False,
    series: Annotated[
        str | None, typer.Option("--series", help="Only this series' events (and the SeriesCreated announcing it).")
    ] = None,
) -> None:
    """Query the events the watcher stored."""
    from settlekit.watch.series import SERIES_AMOUNTS, series_events, token, units

    opened = _open_store(store, create=False)
    rows = opened.events(
        canonical_only=not include_retracted,
        contract=contract,
        event_name=event,
        from_block=from_block,
        to_block=to_block,
    )
    if series is not None:
        keep = {(e.block_hash, e.log_index) for e in series_events(opened, series)}
        rows = [r for r in rows if (r.block_hash, r.log_index) in keep]
    collateral = {
        str(e.args["series"]).lower(): str(e.args["collateral"]) for e in opened.events(event_name="SeriesCreated")
    }

    def shown(r: Any) -> list[str]:
        """The arguments, amounts in token units next to the raw integers."""
        args = dict(r.args)
        address = r.address.lower()
        if r.event in ("Transfer", "Approval") and address not in collateral and "value" in args:
            args["value"] = units(args["value"], token(opened, address))
        field = SERIES_AMOUNTS.get(r.event)
        if field in args and address in collateral:
            args[field] = units(args[field], token(opened, collateral[address]))
        return [f"{key}={value}" for key, value in args.items()]

    if account is not None:
        wanted = account.lower()
        rows = [r for r in rows if any(isinstance(v, str) and v.lower() == wanted for v in r.args.values())]

    def render(console: Console) -> None:  # one event per paragraph: addresses whole at any width
        console.print(f"{len(rows)} events", markup=False, highlight=False)
        for r in rows:
            console.print(
                f"block {r.block_number}, log {r.log_index}: {r.event} ({r.status})\n  {r.contract}",
                markup=False,
                highlight=False,
            )
            for argument in shown(r):
                console.print(f"    {argument}", markup=False, highlight=False)

    emit([asdict(r) for r in rows], as_json=as_json, render=render)


def series(
    as_json: JsonOption = False,
    store: StoreOpt = None,
    address: Annotated[str | None, typer.Option("--series", help="One series (default: every series seen).")] = None,
) -> None:
    """Per-series settlement summary: deposited, paid, reclaimed, swept, held, claims outstanding."""
    from settlekit.watch.series import all_series, summarize, units

    opened = _open_store(store, create=False)
    summaries = [summarize(opened, one) for one in ([address] if address else all_series(opened))]

    def render(console: Console) -> None:  # one series per paragraph: addresses and amounts whole at any width
        console.print(f"{len(summaries)} series", markup=False, highlight=False)
        for s in summaries:
            meta = {"symbol": s.symbol, "decimals": s.decimals} if s.symbol is not None else None
            lines = [
                f"series {s.series} ({'settled' if s.settled else 'not settled'})",
                *(
                    f"  {name:<19} {units(value, meta)}"
                    for name, value in (
                        ("deposited", s.deposited),
                        ("paid", s.paid),
                        ("reclaimed", s.reclaimed),
                        ("swept (dust)", s.swept),
                        ("held", s.held),
                    )
                ),
                f"  {'claims outstanding':<19} {s.claims_outstanding} of {s.units_minted} units "
                f"({s.dust_events} dust sweep{'' if s.dust_events == 1 else 's'})",
            ]
            console.print("\n".join(lines), markup=False, highlight=False)

    emit([s.as_dict() for s in summaries], as_json=as_json, render=render)


def incidents(
    as_json: JsonOption = False,
    store: StoreOpt = None,
    ack: Annotated[int | None, typer.Option("--ack", help="Acknowledge incident ID.")] = None,
    resolve: Annotated[int | None, typer.Option("--resolve", help="Resolve incident ID.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only incidents not resolved.")] = False,
) -> None:
    """List incidents; acknowledge or resolve one."""
    from settlekit.watch.incidents import IncidentLog

    if ack is not None and resolve is not None:
        raise UsageError("--ack and --resolve both given", hint="change one incident state at a time")
    log = IncidentLog(_open_store(store, create=False))
    if ack is not None:
        log.acknowledge(ack)
    if resolve is not None:
        log.resolve(resolve)
    rows = log.list(open_only=open_only)

    def render(console: Console) -> None:  # one incident per line, the summary wrapped under it, never cut
        console.print(f"{len(rows)} incidents", markup=False, highlight=False)
        for i in rows:
            color = {"critical": "red", "warning": "yellow"}.get(i.severity, "white")
            what = f"{escape(i.state)} {escape(i.rule)} (x{i.count}): {escape(i.summary)}"
            console.print(f"#{i.id} [{color}]{i.severity}[/] {what}", highlight=False)

    emit([asdict(i) for i in rows], as_json=as_json, render=render)
