"""``settlekit chain up | down | status``: a process manager for local Anvil chains."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from functools import partial
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from settlekit.chain import AnvilConfig, ChainRecord, ChainRegistry
from settlekit.chain.supervise import serve, stop_chains
from settlekit.cli.options import JsonOption
from settlekit.cli.output import emit, stdout
from settlekit.toolchain import default_project

app = typer.Typer(help="Start, stop and list local Anvil chains.", no_args_is_help=True)


def _ready(record: ChainRecord, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"event": "ready", **asdict(record)}) + "\n")
        sys.stdout.flush()
    else:
        stdout.print(f"[green]anvil ready[/] on {record.url} (chain id {record.chain_id}, pid {record.anvil_pid})")
        stdout.print(
            "stop it with Ctrl-C here, or `settlekit chain down"
            f"{'' if record.port is None else f' --port {record.port}'}` from another shell"
        )


@app.command("up")
def up(
    as_json: JsonOption = False,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: a free one).")] = None,
    chain_id: Annotated[int, typer.Option("--chain-id", help="Chain id to report.")] = 31337,
    block_time: Annotated[
        float | None, typer.Option("--block-time", help="Mine a block every N seconds (default: automine).")
    ] = None,
    no_mining: Annotated[bool, typer.Option("--no-mining", help="Mine only on anvil_mine/evm_mine.")] = False,
    fork_url: Annotated[
        str | None, typer.Option("--fork-url", envvar="SETTLEKIT_FORK_URL", help="Fork this RPC URL.")
    ] = None,
    slots_in_an_epoch: Annotated[
        int | None, typer.Option("--slots-in-an-epoch", help="Sets the safe/finalized block distance.")
    ] = None,
) -> None:
    """Start Anvil in the foreground; Ctrl-C, SIGTERM or `settlekit chain down` stop it."""
    if port is not None and not 0 < port < 65536:
        raise typer.BadParameter(f"{port} is not a TCP port (1-65535)", param_hint="--port")
    config = AnvilConfig(
        port=port,
        chain_id=chain_id,
        block_time=block_time,
        mining=not no_mining,
        fork_url=fork_url,
        slots_in_an_epoch=slots_in_an_epoch,
    )
    result = serve(
        config, registry=ChainRegistry(), project=default_project(), on_ready=partial(_ready, as_json=as_json)
    )
    data = {
        "event": "stopped",
        "port": result.record.port,
        "stopped_by": result.stopped_by,
        "anvil_exit_code": result.anvil_exit_code,
    }
    emit(
        data,
        as_json=as_json,
        render=lambda console: console.print(f"anvil on port {result.record.port} stopped ({result.stopped_by})"),
    )


@app.command("down")
def down(
    as_json: JsonOption = False,
    port: Annotated[int | None, typer.Option(help="Stop the chain on this port.")] = None,
    stop_all: Annotated[bool, typer.Option("--all", help="Stop every chain started by `chain up`.")] = False,
) -> None:
    """Stop a chain started by `settlekit chain up` (the only one, or the one on --port)."""
    stopped = stop_chains(ChainRegistry(), port=port, stop_all=stop_all)

    def render(console: Console) -> None:
        if not stopped:
            console.print("no chain running" + (f" on port {port}" if port is not None else ""))
        for chain in stopped:
            console.print(f"stopped anvil on port {chain.port} (pid {chain.anvil_pid})")

    emit({"stopped": [asdict(chain) for chain in stopped]}, as_json=as_json, render=render)


def _render_status(live: list[ChainRecord], stale: list[ChainRecord], console: Console) -> None:
    if not live:
        console.print("no chain running")
    else:
        table = Table(title="chains")
        for column in ("port", "url", "chain id", "anvil pid", "up for", "settings"):
            table.add_column(column, overflow="fold")  # wrapped over lines at 80 columns, never cut
        for chain in live:
            settings = ", ".join(f"{k}={v}" for k, v in chain.settings.items() if v not in (None, True))
            table.add_row(
                str(chain.port),
                chain.url,
                str(chain.chain_id),
                str(chain.anvil_pid),
                f"{time.time() - chain.started_at:.0f}s",
                settings or "-",
            )
        console.print(table)
    for chain in stale:
        console.print(f"[yellow]removed stale record[/] of port {chain.port} (anvil pid {chain.anvil_pid} is gone)")


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """List the chains started by `settlekit chain up`."""
    live, stale = ChainRegistry().all()
    data = {"running": [asdict(c) for c in live], "stale_removed": [asdict(c) for c in stale]}
    emit(data, as_json=as_json, render=partial(_render_status, live, stale))
