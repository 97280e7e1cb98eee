"""The quick-start demo, run the way `make demo` runs it."""

from __future__ import annotations

import json

from settlekit.chain.process import pid_alive

from support import run_cli


def test_demo_runs_every_chapter_and_stops_anvil() -> None:
    result = run_cli("demo", "--json", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["chain"]["chain_id"] == 31337
    assert not pid_alive(report["chain"]["anvil_pid"])
    deployment = report["deployment"]
    assert set(deployment["manifest"]) == {"collateral", "harness"}
    assert deployment["verified"]["harness"] == "runtime and immutables match"
    assert deployment["roles"]["harness"] == {"owner": True, "guardian": True}
    assert report["token"]["address"] == deployment["manifest"]["collateral"]["address"]
    assert report["token"]["decimals"] == 6
    assert sorted(report["token"]["balances"].values()) == [250 * 10**6, 750 * 10**6]
    assert report["guarded_failure"]["kind"] == "SafeTokenRevert"
    assert (report["guarded_failure"]["module"], report["guarded_failure"]["reason"]) == (
        "safe_token",
        "transfer returned false",
    )
    settlement = report["settlement"]
    assert settlement["ok"] is True
    assert settlement["held"] == 0
    assert settlement["deposited"] == settlement["paid"] + settlement["reclaimed"] + settlement["swept"]
    assert settlement["swept"] < settlement["payouts"]
    liquidation = report["liquidation"]
    assert liquidation["accounting_ok"] is True
    assert liquidation["model_agrees"] is True
    assert liquidation["bad_debt_positions"] == 1
    assert liquidation["blocks"] > 1
    assert liquidation["capped_liquidations"] > 0
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


def test_demo_text_output_is_readable() -> None:
    result = run_cli("demo", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for expected in (
        "settlekit demo",
        "through the journal",
        "runtime and",
        "dUSD",
        "guarded failure, decoded",
        "transfer returned false",
        "settled and paid out",
        "under a per-block cap",
        "watcher: reorg of depth 3",
        "retracted",
        "incident #",
        "checks",
    ):
        assert expected in result.stdout
    assert "FAIL" not in result.stdout
