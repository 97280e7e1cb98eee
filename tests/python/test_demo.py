"""The quick-start demo, run the way `make demo` runs it (and the way CI runs it: output not a terminal)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from settlekit.chain.process import pid_alive
from settlekit.model.settlement import SeriesTerms, SettlementModel
from settlekit.scenarios.settlement import CAP, MAX_PAYOUT_PER_UNIT, SETTLEMENT_PRICE, STRIKE

from support import cli_env, run_cli

SERIES_EVENTS = {"SeriesCreated", "Minted", "Settled", "Claimed", "Reclaimed", "DustSwept"}


def _model_totals() -> dict[str, int]:
    """The demo's series story replayed in the exact model: the figures the chain and the store must equal."""
    model = SettlementModel(SeriesTerms(STRIKE, CAP, MAX_PAYOUT_PER_UNIT))
    for writer, units, holder in (
        ("w0", 3, "h0"),
        ("w1", 5, "h1"),
        ("w0", 2, "h2"),
        ("w1", 1, "signer"),
        ("w0", 4, "h0"),
    ):
        model.mint(writer, holder, units)
    model.expire()
    model.settle(SETTLEMENT_PRICE)
    model.claim_for(["h0", "h1", "h2"])
    model.claim("signer")
    model.reclaim("w0")
    model.reclaim("w1")
    model.sweep(after_deadline=False)
    return {"deposited": model.deposited, "paid": model.paid, "reclaimed": model.reclaimed, "swept": model.swept_amount}


def test_demo_runs_every_chapter_and_stops_anvil(tmp_path: Path) -> None:
    store_path = tmp_path / "watch.db"
    result = run_cli("demo", "--json", "--keep-store", str(store_path), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert "deploying the `settlement` plan" in result.stderr  # step lines on stderr with --json, one per line
    assert report["chain"]["chain_id"] == 31337
    assert not pid_alive(report["chain"]["anvil_pid"])
    safety, plan = report["deployments"]["safety"], report["deployments"]["settlement"]
    assert set(safety["manifest"]) == {"collateral", "harness"}
    assert safety["verified"]["harness"] == "runtime and immutables match"
    assert safety["roles"]["harness"] == {"owner": True, "guardian": True}
    assert report["token"]["address"] == safety["manifest"]["collateral"]["address"]
    assert report["token"]["decimals"] == 6
    assert sorted(report["token"]["balances"].values()) == [250 * 10**6, 750 * 10**6]
    assert report["guarded_failure"]["kind"] == "SafeTokenRevert"
    assert (report["guarded_failure"]["module"], report["guarded_failure"]["reason"]) == (
        "safe_token",
        "transfer returned false",
    )
    # the series comes from the deployed `settlement` plan's factory, which the manifest declares as announcing it
    factory = plan["manifest"]["series_factory"]
    assert factory["children"] == [
        {"event": "SeriesCreated", "address": "series", "artifact": "SettlementSeries", "label": "series"}
    ]
    settlement = report["settlement"]
    assert settlement["factory"] == factory["address"]
    assert settlement["token"]["address"] == plan["manifest"]["collateral"]["address"]
    assert settlement["ok"] is True
    assert settlement["held"] == 0
    model = _model_totals()
    assert {key: settlement[key] for key in model} == model  # chain == exact model, to the wei
    numerator, denominator = settlement["payout_rate"]
    assert settlement["payout_rate_decimal"] == "0.24691357802" == str(Decimal(numerator) / Decimal(denominator))
    # the watcher followed the series from its SeriesCreated: the store's summary equals the chain's and the model's
    watched = settlement["watched"]
    assert {key: int(watched[key]) for key in model} == model
    assert (watched["held"], watched["units_minted"], watched["units_claimed"]) == ("0", "15", "15")
    assert (watched["claims_outstanding"], watched["settled"], watched["dust_events"]) == ("0", True, 1)
    assert (watched["symbol"], watched["decimals"]) == ("dUSD", 6)
    assert set(watched["events"]) >= SERIES_EVENTS
    # ... and the store it kept answers `settlekit events --series` and `settlekit series` as an operator asks them
    store = f"sqlite:///{store_path}"
    listed = run_cli("events", "--store", store, "--series", settlement["series"], "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {row["event"] for row in rows} >= SERIES_EVENTS
    assert sum(int(r["args"]["collateral"]) for r in rows if r["event"] == "Minted") == model["deposited"]
    assert sum(int(r["args"]["payout"]) for r in rows if r["event"] == "Claimed") == model["paid"]
    summaries = json.loads(run_cli("series", "--store", store, "--json").stdout)
    assert [{key: int(s[key]) for key in model} for s in summaries] == [model]
    narrow = cli_env(COLUMNS="80")  # as text at 80 columns: addresses and amounts whole, nothing cut
    text = run_cli("series", "--store", store, env=narrow).stdout
    assert f"series {settlement['series']} (settled)" in text
    assert f"  deposited           7,500.000015 dUSD ({model['deposited']})" in text
    assert "  claims outstanding  0 of 15 units" in text
    text += run_cli("events", "--store", store, "--series", settlement["series"], env=narrow).stdout
    text += run_cli("incidents", "--store", store, env=narrow).stdout
    assert "reorg of depth 3" in text
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert all(len(h) in (42, 66) for h in re.findall(r"0x[0-9a-fA-F]+", text))
    liquidation = report["liquidation"]
    assert liquidation["accounting_ok"] is True
    assert liquidation["model_agrees"] is True
    assert liquidation["bad_debt_positions"] == 1
    assert liquidation["blocks"] > 1
    assert liquidation["capped_liquidations"] > 0
    wave, caps = liquidation["wave"], liquidation["caps"]
    assert sum(row["repaid"] for row in wave) == sum(row["repaid"] for row in liquidation["liquidations"])
    assert max(row["repaid"] for row in wave) == caps["per_block"]  # the wave hits the block cap, never more
    assert all(row["window_used"] <= caps["per_window"] for row in wave)
    watcher = report["watcher"]  # the watcher followed the whole demo and saw the reorg of the last chapter
    assert watcher["reorg"]["depth"] == watcher["reorg"]["anvil_depth"] >= 2
    assert [e["args"]["value"] for e in watcher["retracted"]] == [
        str(n * 10**6) for n in (1, 2, 3)
    ]  # integers are strings
    assert {e["status"] for e in watcher["retracted"]} == {"retracted"}
    assert [e["args"]["value"] for e in watcher["reingested"]] == [str(7 * 10**6)]
    assert watcher["reingested"][0]["block"] == watcher["reorg"]["common_ancestor"] + 1
    assert not {e["block_hash"] for e in watcher["retracted"]} & {e["block_hash"] for e in watcher["reingested"]}
    assert (watcher["incident"]["rule"], watcher["incident"]["depth"]) == ("reorg", watcher["reorg"]["depth"])
    assert watcher["store_matches_node"] is True
    assert report["checks"]
    assert all(check["ok"] for check in report["checks"])


def test_demo_text_output_is_readable_at_80_columns_and_not_a_terminal() -> None:
    result = run_cli("demo", env=cli_env(COLUMNS="80"), timeout=300)  # stdout is a pipe here, as in CI
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # progress: one plain line per step, in order, on stdout before the report (no spinner in a pipe)
    steps = [line for line in out.splitlines() if re.match(r"\[ *\d+\.\d+s\] ", line)]
    wanted = ("compiling", "deploying the `safety` plan", "deploying the `settlement` plan", "created series")
    assert [next(i for i, s in enumerate(steps) if w in s) for w in wanted] == sorted(
        next(i for i, s in enumerate(steps) if w in s) for w in wanted
    )
    assert any("settled at 2,123.45678901 from oracle round 1: payout rate 0.24691357802" in s for s in steps)
    assert any(re.search(r"the watcher followed series 0x[0-9a-fA-F]{40} .*Minted.*Settled.*Claimed", s) for s in steps)
    report = out[out.index("settlekit demo") :]
    for expected in (
        "through the journal",
        "runtime and",
        "watched with children: SeriesCreated.series -> SettlementSeries",
        "dUSD",
        "guarded failure, decoded",
        "transfer returned false",
        "settled and paid out",
        "payout rate 0.24691357802",
        "settlement summary from the watcher's store",
        "7,500.000015 dUSD",
        "claims outstanding",
        "under a per-block cap",
        "liquidation wave",
        "####################|",  # a block at the block cap
        "watcher: reorg of depth 3",
        "retracted",
        "incident #",
        "checks",
    ):
        assert expected in report, expected
    assert "FAIL" not in out
    # at 80 columns nothing is cut: no ellipsis, no shortened address, and the report fits the width
    assert "…" not in out
    hexes = re.findall(r"0x[0-9a-fA-F]+", "\n".join(steps) + _without_raw(report))
    assert len(hexes) > 30
    assert all(len(h) in (42, 66) for h in hexes), [h for h in hexes if len(h) not in (42, 66)]  # address, hash
    assert all(len(line) <= 80 for line in report.splitlines())


def _without_raw(report: str) -> str:
    """The report without the guarded failure's panel (its raw revert data is folded at the width on purpose)."""
    start = report.index("guarded failure, decoded")
    return report[:start] + report[report.index("╰", start) :]


def test_step_lines_stay_on_screen_in_a_terminal_and_are_plain_elsewhere() -> None:
    import io

    from rich.console import Console

    from settlekit.cli.demo_cmd import _Steps

    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    steps = _Steps(terminal, io.StringIO())
    with steps.spinner():
        assert steps.status is not None  # a spinner on the running step...
        steps("deploying the `settlement` plan")
        steps("settled")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue()).replace("\r", "\n")  # without the escapes
    kept = [line for line in text.splitlines() if re.match(r"\[ *\d+\.\ds\] ", line)]
    assert [line.split("] ", 1)[1] for line in kept] == ["deploying the `settlement` plan", "settled"]  # ...and lines
    pipe, plain = io.StringIO(), Console(file=io.StringIO(), force_terminal=False)
    steps = _Steps(plain, pipe)
    with steps.spinner():
        assert steps.status is None
        steps("compiling")
    assert re.fullmatch(r"\[ *\d+\.\ds\] compiling\n", pipe.getvalue())
