"""Alert rules: each kind fires exactly when its condition holds, once per open condition."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from settlekit.watch.incidents import IncidentLog
from settlekit.watch.rules import Rule, RuleEngine, RuleError
from settlekit.watch.store import EventRow, Store

SERIES = "0x00000000000000000000000000000000000000a1"
ENGINE = "0x00000000000000000000000000000000000000b2"


def event(name: str, block: int, address: str = ENGINE, **args: object) -> EventRow:
    return EventRow(f"0x{block:064x}", 0, block, "0x" + "0" * 64, address, "c", name, dict(args), "seen")


@pytest.fixture
def log(tmp_path: Path) -> IncidentLog:
    return IncidentLog(Store.sqlite(str(tmp_path / "r.db")))


def test_event_rule_fires_on_matching_events_only(log: IncidentLog) -> None:
    engine = RuleEngine.from_config(
        {
            "rules": [
                {"name": "deficit", "kind": "event", "event": "DeficitRecorded", "severity": "critical"},
                {
                    "name": "level 3",
                    "kind": "event",
                    "event": "CircuitBreakerLevelChanged",
                    "where": {"new_level": 3},
                    "severity": "critical",
                },
            ]
        },
        log,
    )
    assert engine.observe([event("Liquidated", 1), event("CircuitBreakerLevelChanged", 2, new_level=1)]) == []
    fired = engine.observe([event("DeficitRecorded", 3, amount=5), event("CircuitBreakerLevelChanged", 4, new_level=3)])
    assert [i.rule for i in fired] == ["deficit", "level 3"]
    again = engine.observe([event("DeficitRecorded", 5, amount=7)])
    assert not again[0].new  # the same condition, still open: updated, not paged again
    assert len(log.list()) == 2


def test_window_sum_rule_counts_only_the_window(log: IncidentLog) -> None:
    engine = RuleEngine(
        [
            Rule(
                "imbalance",
                "window_sum",
                "warning",
                event="Liquidated",
                argument="debt_repaid",
                window_blocks=10,
                threshold=100,
            )
        ],
        log,
    )
    assert engine.observe([event("Liquidated", 1, debt_repaid=60), event("Liquidated", 5, debt_repaid=40)]) == []
    assert engine.observe([event("Liquidated", 20, debt_repaid=60)]) == []  # blocks 1 and 5 left the window
    fired = engine.observe([event("Liquidated", 25, debt_repaid=41)])
    assert [i.details["total"] for i in fired] == [101]


def test_dust_rule_compares_dust_with_the_number_of_payouts(log: IncidentLog) -> None:
    engine = RuleEngine([Rule("dust", "dust", "critical")], log)
    payouts = [event("Claimed", 1, SERIES), event("Claimed", 2, SERIES), event("Reclaimed", 3, SERIES)]
    assert engine.observe([*payouts, event("DustSwept", 4, SERIES, amount=2, after_deadline=False)]) == []
    other = "0x00000000000000000000000000000000000000c3"
    fired = engine.observe([event("Claimed", 5, other), event("DustSwept", 6, other, amount=1, after_deadline=False)])
    assert [i.details for i in fired] == [{"dust": 1, "payouts": 1, "block": 6}]
    late = "0x00000000000000000000000000000000000000d4"
    assert engine.observe([event("DustSwept", 7, late, amount=10**9, after_deadline=True)]) == []  # unclaimed funds


def test_lag_rule(log: IncidentLog) -> None:
    engine = RuleEngine([Rule("lag", "lag", "warning", max_seconds=30)], log)
    assert engine.observe([], head_timestamp=int(time.time()) - 5) == []
    assert [i.rule for i in engine.observe([], head_timestamp=int(time.time()) - 90)] == ["lag"]


@pytest.mark.parametrize(
    "raw",
    [
        {"name": "x", "kind": "nope"},
        {"name": "x", "kind": "event"},
        {"name": "x", "kind": "window_sum", "event": "E"},
        {"name": "x", "kind": "lag"},
        {"name": "x", "kind": "event", "event": "E", "severity": "loud"},
    ],
)
def test_malformed_rules_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(RuleError):
        Rule.parse(raw)


def test_reorg_incident_depths_come_from_the_watch_reorg_table() -> None:
    from settlekit.cli.watch_cmd import _follower_config
    from settlekit.watch.rules import reorg_depths

    assert reorg_depths({}) == (1, 8)
    assert reorg_depths({"reorg": {"warning_depth": 2, "critical_depth": 3}}) == (2, 3)
    config = _follower_config({"reorg": {"warning_depth": 2, "critical_depth": 4}}, confirmations=5, start_block=7)
    assert (config.reorg_warning_depth, config.reorg_critical_depth) == (2, 4)
    assert (config.confirmations, config.start_block) == (5, 7)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"warning_depth": 0}, "need whole numbers with 1 <= warning_depth <= critical_depth"),
        ({"warning_depth": 5, "critical_depth": 4}, "need whole numbers with 1 <= warning_depth <= critical_depth"),
        ({"critical_depth": "8"}, "need whole numbers with 1 <= warning_depth <= critical_depth"),
        ({"critical_depth": True}, "need whole numbers with 1 <= warning_depth <= critical_depth"),
        ({"critcal_depth": 8}, "unknown keys ['critcal_depth']"),
    ],
)
def test_bad_reorg_table_is_refused_with_what_to_write(table: dict[str, object], message: str) -> None:
    from settlekit.watch.rules import reorg_depths

    with pytest.raises(RuleError) as caught:
        reorg_depths({"reorg": table})
    assert message in caught.value.message
    assert caught.value.hint


def test_project_reorg_table_matches_the_documented_defaults(settlekit_project) -> None:
    from settlekit.cli.watch_cmd import _watch_config
    from settlekit.watch.rules import reorg_depths

    assert reorg_depths(_watch_config(settlekit_project)) == (1, 8)
