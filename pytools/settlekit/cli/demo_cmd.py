"""``settlekit demo``.

Progress is a step line per step that stays on screen (with a spinner on the running step in a terminal), plain
lines when the output is not a terminal (CI), and on stderr with ``--json`` so stdout stays one JSON document. The
report is written line by line, never as tables of addresses: at 80 columns nothing is cut with an ellipsis.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from settlekit.amounts import in_units, ratio
from settlekit.cli.options import JsonOption
from settlekit.cli.output import emit
from settlekit.project import Project

if TYPE_CHECKING:
    from rich.status import Status

    from settlekit.demo import DemoReport

BAR = 20  # characters of a chart bar: the cap is its right end


class _Steps:
    """Step lines, each printed once and kept: ``[  3.1s] deploying ...``. In a terminal a spinner shows the running
    step under them; elsewhere (a pipe, CI) only the plain lines, flushed one by one."""

    def __init__(self, console: Console, plain_stream: Any) -> None:
        self.console = console
        self.plain_stream = plain_stream
        self.started = time.monotonic()
        self.status: Status | None = None

    def __call__(self, message: str) -> None:
        line = f"[{time.monotonic() - self.started:6.1f}s] {message}"
        if self.status is None:
            self.plain_stream.write(line + "\n")
            self.plain_stream.flush()
            return
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)
        self.status.update(escape(message))

    @contextmanager
    def spinner(self) -> Iterator[_Steps]:
        if not self.console.is_terminal:
            yield self
            return
        with self.console.status("starting") as status:
            self.status = status
            try:
                yield self
            finally:
                self.status = None


def _line(console: Console, text: str) -> None:
    """One line of the report, without markup (amounts, addresses and revert text are shown as they are)."""
    console.print(text, markup=False, highlight=False)


def _render(report: DemoReport, console: Console) -> None:
    console.print(
        Panel.fit(
            f"chain id {report.chain['chain_id']} at {report.chain['url']} (anvil pid {report.chain['anvil_pid']}, "
            f"stopped)\nbuild: {'cached' if report.build['cached'] else str(report.build['compiled']) + ' compiled'}",
            title="settlekit demo",
        )
    )
    _render_deployments(report, console)
    token = report.token
    console.print()
    _line(
        console,
        f"{token['symbol']} at {token['address']} ({token['decimals']} decimals, {token['runtime_bytes']} bytes "
        "of code)",
    )
    for account, balance in token["balances"].items():
        _line(console, f"  {account}  {in_units(balance, token['decimals'], token['symbol']):>20}")
    _line(console, f"  gas: mint {token['mint_gas']:,}, transfer {token['transfer_gas']:,}")
    failure = report.guarded_failure
    console.print(
        Panel.fit(
            f"{failure['call']}\n-> {failure['kind']}: module [bold]{failure['module']}[/], "
            f"reason [bold]{escape(str(failure['reason']))}[/]\n   raw revert data {failure['raw']}",
            title="guarded failure, decoded",
        )
    )
    _render_settlement(report, console)
    _render_liquidation(report, console)
    _render_watcher(report, console)
    console.print()
    _line(console, f"checks ({sum(1 for c in report.checks if c['ok'])} of {len(report.checks)} hold)")
    for check in report.checks:
        _line(console, f"  {'ok' if check['ok'] else 'FAIL'}  {check['name']}")
        if not check["ok"]:
            _line(console, f"        expected {check['expected']!r}, got {check['actual']!r}")
    console.print(f"[green]demo finished in {report.seconds:.1f}s[/]")


def _render_deployments(report: DemoReport, console: Console) -> None:
    for name, deployment in report.deployments.items():
        console.print()
        _line(
            console,
            f"deployed `{name}` from {deployment['plan']} through the journal ({deployment['transactions']} txs, "
            f"{deployment['gas_used']:,} gas, {deployment['journal_records']} journal records)",
        )
        for step, entry in deployment["manifest"].items():
            roles = deployment["roles"].get(step) or {}
            role_text = "".join(f", {role} {'ok' if ok else 'WRONG'}" for role, ok in roles.items())
            _line(console, f"  {step:<22} {entry['artifact']:<22} block {entry['block_number']}{role_text}")
            _line(console, f"    {entry['address']}  {deployment['verified'][step]}")
            for child in entry.get("children", []):
                _line(console, f"    watched with children: {child['event']}.{child['address']} -> {child['artifact']}")


def _render_settlement(report: DemoReport, console: Console) -> None:
    settlement = report.settlement
    token = settlement["token"]

    def amount(raw: int | str) -> str:
        return in_units(int(raw), token["decimals"], token["symbol"])

    numerator, denominator = settlement["payout_rate"]
    console.print()
    _line(console, "expiring series, settled and paid out")
    _line(console, f"  factory {settlement['factory']} (the `settlement` plan's series_factory)")
    _line(console, f"  series  {settlement['series']} (created through it)")
    _line(
        console,
        f"  settled at {in_units(settlement['settlement_price'], 8)}; payout rate {ratio(numerator, denominator)} "
        "of the max payout per unit, fixed once",
    )
    _line(
        console,
        f"  {settlement['payouts']} payouts: {amount(settlement['claim_for_paid'])} in one claim_for batch, "
        f"{amount(settlement['relayed_claim_paid'])} by a relayed signed claim",
    )
    watched = settlement.get("watched")
    if watched is None:
        return
    events = ", ".join(f"{count} {name}" for name, count in watched["events"].items())
    _line(console, f"  settlement summary from the watcher's store ({events}):")
    rows = [
        ("deposited", amount(watched["deposited"])),
        ("paid", amount(watched["paid"])),
        ("reclaimed", amount(watched["reclaimed"])),
        ("swept (dust)", amount(watched["swept"])),
        ("held", amount(watched["held"])),
    ]
    for label, value in rows:
        _line(console, f"    {label:<20} {value:>24}")
    _line(
        console,
        f"    {'claims outstanding':<20} {watched['claims_outstanding']:>19} units (of {watched['units_minted']} "
        f"minted; {watched['dust_events']} dust sweep{'s' if watched['dust_events'] != 1 else ''})",
    )
    on_chain = all(int(watched[k]) == settlement[k] for k in ("deposited", "paid", "reclaimed", "swept", "held"))
    _line(
        console,
        f"    {'equal to the chain' if on_chain else 'DIFFERENT FROM THE CHAIN'}: deposited = paid + "
        "reclaimed + swept + held, to the wei",
    )


def _bar(value: int, cap: int) -> str:
    filled = min(BAR, -(-value * BAR // cap)) if cap else 0  # rounded up: any use shows
    return "#" * filled + "." * (BAR - filled) + ("|" if value <= cap else ">")


def _render_liquidation(report: DemoReport, console: Console) -> None:
    liquidation = report.liquidation
    console.print()
    _line(
        console,
        f"liquidations over {liquidation['blocks']} blocks under a per-block cap "
        f"({liquidation['capped_liquidations']} cut down by the cap, {liquidation['bad_debt_positions']} ended in "
        "bad debt)",
    )
    for row in liquidation["liquidations"]:
        _line(console, f"  block {row['block']}  {row['borrower']}")
        _line(
            console,
            f"    repaid {in_units(row['repaid'], 6, 'USDC')}, seized {in_units(row['seized'], 18, 'WETH')}, "
            f"fee {in_units(row['fee'], 18, 'WETH')}"
            + (f", bad debt {in_units(row['bad_debt'], 6, 'USDC')}" if row["bad_debt"] else "")
            + (", cut by the cap" if row["capped"] else ""),
        )
    caps = liquidation.get("caps")
    if caps:
        _render_wave(liquidation["wave"], caps, console)
    books = liquidation["accounting"]
    console.print()
    _line(console, "the lenders' books (USDC)")
    for label, key in (
        ("cash", "cash"),
        ("+ debt", "total_debt"),
        ("= assets", "total_assets"),
        ("deficit written off", "deficit"),
        ("lenders' shares worth", "lenders_worth"),
    ):
        _line(console, f"  {label:<22} {in_units(books[key], 6):>20}")
    _line(console, f"  {'dust in the pool':<22} {books['dust']:>20} (smallest units of USDC)")


def _render_wave(wave: list[dict[str, int]], caps: dict[str, Any], console: Console) -> None:
    """The liquidation wave as a text chart: per block, the debt repaid against the block cap and the rolling
    window's usage against the window cap (``|`` is the cap; ``>`` would be a breach)."""
    decimals, symbol = int(caps["decimals"]), str(caps["symbol"])

    def whole(raw: int) -> str:
        return f"{raw // 10**decimals:,}"

    console.print()
    _line(console, f"liquidation wave, {symbol} repaid per block against the caps")
    _line(
        console,
        f"  block cap {whole(caps['per_block'])} {symbol}; window cap {whole(caps['per_window'])} {symbol} over "
        f"{caps['window_seconds']:,} s; '|' marks the cap",
    )
    _line(
        console, f"  {'block':>6} {'repaid':>10}  {'this block':<{BAR + 1}}  {'rolling window':<{BAR + 1}} {'used':>7}"
    )
    for row in wave:
        repaid = f"{row['repaid'] / 10**decimals:,.2f}" if row["repaid"] % 10**decimals else whole(row["repaid"])
        _line(
            console,
            f"  {row['block']:>6} {repaid:>10}  {_bar(row['repaid'], caps['per_block'])}  "
            f"{_bar(row['window_used'], caps['per_window'])} {whole(row['window_used']):>7}",
        )


def _render_watcher(report: DemoReport, console: Console) -> None:
    """The reorg the watcher saw: the retracted events, the re-ingested ones, and the incident."""
    watcher = report.watcher
    reorg = watcher["reorg"]
    console.print()
    _line(
        console,
        f"watcher: reorg of depth {reorg['depth']} above block {reorg['common_ancestor']} (anvil_reorg depth "
        f"{reorg['anvil_depth']}; {watcher['events_stored']} events stored, store "
        f"{'equals' if watcher['store_matches_node'] else 'DIFFERS FROM'} eth_getLogs)",
    )
    decimals, symbol = report.token.get("decimals"), report.token.get("symbol")
    for row in [*watcher["retracted"], *watcher["reingested"]]:
        _line(console, f"  {row['status']:<9} block {row['block']}, log {row['log_index']}: {row['event']}")
        _line(console, f"    hash {row['block_hash']}")
        for key, value in row["args"].items():
            shown = str(value)
            if key == "value" and isinstance(decimals, int) and row["event"] == "Transfer":
                shown = f"{in_units(int(value), decimals, str(symbol))} ({value})"
            _line(console, f"    {key:<9} {shown}")
    incident = watcher["incident"]
    if incident is not None:
        _line(
            console,
            f"incident #{incident['id']} {incident['severity']} {incident['rule']} ({incident['state']}): "
            f"{incident['summary']}",
        )


StorePathOption = Annotated[
    Path | None,
    typer.Option(
        "--keep-store",
        help="Keep the watcher's SQLite store at this path (query it with `settlekit events --store sqlite:///PATH`).",
    ),
]


def demo(as_json: JsonOption = False, keep_store: StorePathOption = None) -> None:
    """Run the demo on an embedded Anvil: deploy the plans, settle a series, liquidate, watch a reorg, stop Anvil."""
    from settlekit.demo import run_demo  # web3 is slow to import; only this command needs it

    project = Project.discover()
    if keep_store is not None:
        keep_store = keep_store.resolve()
        keep_store.parent.mkdir(parents=True, exist_ok=True)
    # Step lines: on stdout with the text report; on stderr with --json (stdout stays one JSON document).
    console = Console(stderr=as_json, highlight=False)
    steps = _Steps(console, sys.stderr if as_json else sys.stdout)
    with steps.spinner():
        report = run_demo(project, progress=steps, store_path=keep_store)
    emit(report.to_dict(), as_json=as_json, render=partial(_render, report))
