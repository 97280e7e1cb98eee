"""``settlekit demo``."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from settlekit.cli.options import JsonOption
from settlekit.cli.output import emit, stderr
from settlekit.project import Project

if TYPE_CHECKING:
    from settlekit.demo import DemoReport


def _render(report: DemoReport, console: Console) -> None:
    console.print(
        Panel.fit(
            f"chain id {report.chain['chain_id']} at {report.chain['url']} (anvil pid {report.chain['anvil_pid']}, "
            f"stopped)\nbuild: {'cached' if report.build['cached'] else str(report.build['compiled']) + ' compiled'}",
            title="settlekit demo",
        )
    )
    deployment = report.deployment
    deployed = Table(
        title=f"deployed `{deployment['deployment']}` from {deployment['plan']} through the journal "
        f"({deployment['transactions']} txs, {deployment['gas_used']:,} gas, "
        f"{deployment['journal_records']} journal records)"
    )
    for column in ("step", "artifact", "address", "block", "verified"):
        deployed.add_column(column)
    for step, entry in deployment["manifest"].items():
        roles = deployment["roles"].get(step) or {}
        role_text = "".join(f", {role} {'ok' if ok else 'WRONG'}" for role, ok in roles.items())
        deployed.add_row(
            step,
            entry["artifact"],
            entry["address"],
            str(entry["block_number"]),
            deployment["verified"][step] + role_text,
        )
    console.print(deployed)
    token = report.token
    table = Table(
        title=f"{token['symbol']} at {token['address']} ({token['decimals']} decimals, "
        f"{token['runtime_bytes']} bytes of code)"
    )
    table.add_column("account")
    table.add_column("balance", justify="right")
    for account, balance in token["balances"].items():
        table.add_row(account, f"{balance / 10 ** token['decimals']:,.6f}")
    console.print(table)
    console.print(f"gas: mint {token['mint_gas']:,}, transfer {token['transfer_gas']:,}")
    failure = report.guarded_failure
    console.print(
        Panel.fit(
            f"{failure['call']}\n-> {failure['kind']}: module [bold]{failure['module']}[/], "
            f"reason [bold]{failure['reason']}[/]\n   raw revert data {failure['raw'][:42]}...",
            title="guarded failure, decoded",
        )
    )
    settlement = report.settlement
    rate_numerator, rate_denominator = settlement["payout_rate"]
    console.print(
        Panel.fit(
            f"series {settlement['series']} settled at {settlement['settlement_price'] / 10**8:,.8f}\n"
            f"payout rate {rate_numerator}/{rate_denominator} of the max payout per unit, fixed once\n"
            f"{settlement['payouts']} payouts: {settlement['claim_for_paid']:,} wei in one claim_for batch, "
            f"{settlement['relayed_claim_paid']:,} wei by a relayed signed claim\n"
            f"deposited {settlement['deposited']:,} = paid {settlement['paid']:,} + reclaimed "
            f"{settlement['reclaimed']:,} + dust swept {settlement['swept']:,}; series holds {settlement['held']}",
            title="expiring series, settled and paid out",
        )
    )
    liquidation = report.liquidation
    waves = Table(
        title=f"liquidations over {liquidation['blocks']} blocks under a per-block cap "
        f"({liquidation['capped_liquidations']} cut down by the cap, "
        f"{liquidation['bad_debt_positions']} ended in bad debt)"
    )
    for column in ("block", "borrower", "repaid USDC", "seized collateral", "fee", "bad debt USDC", "capped"):
        waves.add_column(column, justify="right")
    for row in liquidation["liquidations"]:
        waves.add_row(
            str(row["block"]),
            row["borrower"][:8],
            f"{row['repaid'] / 1e6:,.2f}",
            f"{row['seized'] / 1e18:,.4f}",
            f"{row['fee'] / 1e18:,.5f}",
            f"{row['bad_debt'] / 1e6:,.2f}",
            "yes" if row["capped"] else "",
        )
    console.print(waves)
    books = liquidation["accounting"]
    console.print(
        f"accounting: cash {books['cash']:,} + debt {books['total_debt']:,} = assets "
        f"{books['total_assets']:,} (deficit {books['deficit']:,} written off); lenders' shares worth "
        f"{books['lenders_worth']:,}, dust {books['dust']} wei"
    )
    _render_watcher(report, console)
    checks = Table(title="checks")
    for column in ("check", "expected", "actual", ""):
        checks.add_column(column)
    for check in report.checks:
        checks.add_row(
            check["name"],
            str(check["expected"]),
            str(check["actual"]),
            "[green]ok[/]" if check["ok"] else "[red]FAIL[/]",
        )
    console.print(checks)
    console.print(f"[green]demo finished in {report.seconds:.1f}s[/]")


def _short(value: object) -> str:
    text = str(value)
    return text[:10] + "..." if text.startswith("0x") and len(text) == 42 else text


def _render_watcher(report: DemoReport, console: Console) -> None:
    """The reorg the watcher saw: the retracted events, the re-ingested ones, and the incident."""
    watcher = report.watcher
    reorg = watcher["reorg"]
    events = Table(
        title=f"watcher: reorg of depth {reorg['depth']} above block {reorg['common_ancestor']} "
        f"(anvil_reorg depth {reorg['anvil_depth']}; {watcher['events_stored']} events stored, "
        f"store {'equals' if watcher['store_matches_node'] else 'DIFFERS FROM'} eth_getLogs)"
    )
    for column in ("block", "block hash", "log", "event", "args", "status"):
        events.add_column(column)
    for row in [*watcher["retracted"], *watcher["reingested"]]:
        color = "red" if row["status"] == "retracted" else "green"
        events.add_row(
            str(row["block"]),
            row["block_hash"][:12] + "...",
            str(row["log_index"]),
            row["event"],
            ", ".join(f"{key} {_short(value)}" for key, value in row["args"].items()),
            f"[{color}]{row['status']}[/]",
        )
    console.print(events)
    incident = watcher["incident"]
    if incident is not None:
        console.print(
            f"incident #{incident['id']} [yellow]{incident['severity']}[/] {incident['rule']} ({incident['state']}): "
            f"{incident['summary']}"
        )


def demo(as_json: JsonOption = False) -> None:
    """Run the demo on an embedded Anvil: build, deploy, call, decode a guarded failure, stop Anvil."""
    from settlekit.demo import run_demo  # web3 is slow to import; only this command needs it

    project = Project.discover()
    if as_json:
        report = run_demo(project)
    else:
        with stderr.status("starting") as status:
            report = run_demo(project, progress=status.update)
    emit(report.to_dict(), as_json=as_json, render=partial(_render, report))
