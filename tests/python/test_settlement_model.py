"""The exact settlement model (settlekit.model.settlement): unit tests of its arithmetic and invariants, and a
differential test that runs random scenarios on a real Anvil and in the model and compares every balance and
every payout to the wei."""

from __future__ import annotations

import dataclasses
import random
from fractions import Fraction
from itertools import permutations
from typing import Any, cast

import pytest
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil
from settlekit.errors import ReasonRevert
from settlekit.model.settlement import (
    FALLBACK_DELAY,
    MAX_SETTLEMENT_DELAY,
    MAX_TIME,
    MIN_CLAIM_PERIOD,
    SOURCE_FALLBACK,
    SeriesTerms,
    SeriesTimes,
    SettlementModel,
    SettlementRevert,
    holder_payout,
    new_series,
    payout_numerator,
    writer_reclaim,
)
from settlekit.scenarios.settlement import SETTLEMENT_WINDOW, SettlementKit, deploy_kit, now, set_time

TERMS = SeriesTerms(strike=2_000 * 10**8, cap=500 * 10**8, max_payout_per_unit=500 * 10**6)
DAY = 86_400
# a timed series: created at 1,000, expiring a day later, a one-hour window, the shortest sweep deadline allowed
T0, EXPIRY, WINDOW = 1_000, 1_000 + DAY, 3_600
SWEEP = EXPIRY + WINDOW + MIN_CLAIM_PERIOD
LAPSES, FALLBACK = EXPIRY + WINDOW + MAX_SETTLEMENT_DELAY, EXPIRY + WINDOW + FALLBACK_DELAY


def _book(terms: SeriesTerms = TERMS) -> SettlementModel:
    model = SettlementModel(terms)
    model.mint("w1", "h1", 3)
    model.mint("w1", "h2", 2)
    model.mint("w2", "h3", 5)
    model.transfer("h3", "h1", 1)
    model.expire()
    return model


def test_numerator_clamps_at_strike_and_cap() -> None:
    assert payout_numerator(TERMS, TERMS.strike - 1) == 0
    assert payout_numerator(TERMS, TERMS.strike) == 0
    assert payout_numerator(TERMS, TERMS.strike + 1) == 1
    assert payout_numerator(TERMS, TERMS.strike + TERMS.cap) == TERMS.cap
    assert payout_numerator(TERMS, TERMS.strike + TERMS.cap + 1) == TERMS.cap


def test_lifecycle_matches_hand_computed_amounts() -> None:
    # Same book and price as SettlementTest.test_full_lifecycle_6_decimals (n = 12,345,678,901).
    model = _book()
    assert model.settle(212_345_678_901) == 12_345_678_901
    assert model.claim("h1") == 493_827_156
    assert model.reclaim("w1") == 1_882_716_054
    assert model.claim_for(["h2", "h3", "h1"]) == 246_913_578 + 493_827_156
    assert model.reclaim("w2") == 1_882_716_054
    assert model.held == 2
    model.check_invariants()
    assert model.sweep(after_deadline=False) == 2
    assert model.held == 0
    model.check_invariants()


def test_model_reverts_with_contract_reasons() -> None:
    model = SettlementModel(TERMS)
    cases = [
        (lambda: model.mint("w", "h", 0), "settlement_series: zero units"),
        (lambda: model.mint("w", "", 1), "settlement_series: zero address"),
        (lambda: model.mint("w", "h", 2**256 // TERMS.max_payout_per_unit + 1), "settlement_series: mint too large"),
        (lambda: model.transfer("h", "x", 1), "settlement_series: insufficient balance"),
        (lambda: model.settle(1), "settlement_series: not expired"),
        (lambda: model.claim("h"), "settlement_series: not settled"),
    ]
    for action, reason in cases:
        with pytest.raises(SettlementRevert) as caught:
            action()
        assert caught.value.reason == reason
    model.mint("w", "h", 1)
    model.expire()
    with pytest.raises(SettlementRevert, match="settlement_series: expired"):
        model.mint("w", "h", 1)
    with pytest.raises(SettlementRevert, match="non-positive price"):
        model.settle(0)
    model.settle(TERMS.strike + 7)
    with pytest.raises(SettlementRevert, match="already settled"):
        model.settle(TERMS.strike)
    with pytest.raises(SettlementRevert, match="claims outstanding"):
        model.sweep(after_deadline=False)
    with pytest.raises(SettlementRevert, match="nothing to reclaim"):
        model.reclaim("h")


def test_zero_transfer_from_an_empty_account_is_allowed() -> None:
    model = _book()
    model.transfer("nobody", "h1", 0)
    assert model.balances["h1"] == 4
    model.check_invariants()


def test_failed_operation_leaves_model_unchanged() -> None:
    model = _book()
    snapshot = (dict(model.balances), model.deposited, model.open_units)
    with pytest.raises(SettlementRevert):
        model.transfer("h2", "h1", 3)
    assert (dict(model.balances), model.deposited, model.open_units) == snapshot


def test_claim_order_independence_exhaustive() -> None:
    # every order of the five exits pays every party the same amount
    results = set()
    for order in permutations(["h1", "h2", "h3", "w1", "w2"]):
        model = _book(SeriesTerms(strike=10, cap=7, max_payout_per_unit=1_000_003))
        model.settle(13)
        paid = {who: model.claim(who) if who.startswith("h") else model.reclaim(who) for who in order}
        results.add(tuple(sorted(paid.items())))
        model.check_invariants()
    assert len(results) == 1


def test_adversarial_one_wei_pool_over_1000_holders() -> None:
    # The holders' pool is 1,000 * 1 * 1/1,000 = 1 wei: nobody can be paid; the wei is dust, not lost.
    model = SettlementModel(SeriesTerms(strike=100, cap=1_000, max_payout_per_unit=1))
    for holder in range(1_000):
        model.mint("w", f"h{holder}", 1)
    model.expire()
    model.settle(101)
    assert model.claim_for([f"h{holder}" for holder in range(1_000)]) == 0
    assert model.reclaim("w") == 999
    assert model.sweep(after_deadline=False) == 1
    model.check_invariants()


def test_adversarial_10_pow_18_plus_7_over_three_holders() -> None:
    model = SettlementModel(SeriesTerms(strike=100, cap=3, max_payout_per_unit=10**18 + 7))
    for holder in ("a", "b", "c"):
        model.mint("w", holder, 1)
    model.expire()
    model.settle(101)  # each unit owed (1e18 + 7) / 3
    assert [model.claim(holder) for holder in ("a", "b", "c")] == [333_333_333_333_333_335] * 3
    assert model.reclaim("w") == 2 * (10**18 + 7)
    assert model.sweep(after_deadline=False) == 2
    model.check_invariants()


def test_holder_payout_never_exceeds_exact_entitlement() -> None:
    rng = random.Random(5)
    for _ in range(2_000):
        terms = SeriesTerms(rng.randrange(0, 10**9), rng.randrange(1, 10**9), rng.randrange(1, 10**20))
        units = rng.randrange(1, 10**12)
        n = payout_numerator(terms, rng.randrange(1, 2 * 10**9))
        exact_h = Fraction(units * terms.max_payout_per_unit * n, terms.cap)
        exact_w = Fraction(units * terms.max_payout_per_unit * (terms.cap - n), terms.cap)
        assert 0 <= exact_h - holder_payout(terms, units, n) < 1
        assert 0 <= exact_w - writer_reclaim(terms, units, n) < 1


def _timed_book(sweep_deadline: int = SWEEP) -> SettlementModel:
    model = new_series(
        (TERMS.strike, TERMS.cap, 500 * 10**6 + 1), (EXPIRY, WINDOW, sweep_deadline), now=T0, treasury="t", admin="a"
    )
    model.mint("w1", "h1", 3)
    model.mint("w2", "h2", 4)
    return model


def _reverts(action: Any, reason: str) -> None:
    with pytest.raises(SettlementRevert) as caught:
        action()
    assert caught.value.reason == reason


def test_timing_constants_are_the_contract_s() -> None:
    assert (MIN_CLAIM_PERIOD, MAX_SETTLEMENT_DELAY, FALLBACK_DELAY, MAX_TIME) == (7 * DAY, 7 * DAY, 14 * DAY, 2**64 - 1)
    times = SeriesTimes(EXPIRY, WINDOW, SWEEP)
    assert (times.claims_from, times.guard_lapses_at, times.fallback_opens_at) == (SWEEP, LAPSES, FALLBACK)


def test_creation_checks_in_the_contract_s_order() -> None:
    good = ((1, 2, 3), (EXPIRY, WINDOW, SWEEP))
    cases = [
        ({"treasury": ""}, good, "settlement_series: zero address"),
        ({"admin": ""}, good, "settlement_series: zero address"),
        ({"treasury": "series"}, good, "settlement_series: receiver is the series"),
        ({}, ((1, 0, 3), good[1]), "settlement_series: zero cap"),
        ({}, ((1, 2, 0), good[1]), "settlement_series: zero max payout"),
        ({}, ((1, 2, 3), (T0 - 1, WINDOW, SWEEP)), "settlement_series: expiry in the past"),
        ({}, ((1, 2, 3), (MAX_TIME + 1, 0, 2**70)), "settlement_series: time out of range"),
        ({}, ((1, 2, 3), (EXPIRY, MAX_TIME + 1, 2**70)), "settlement_series: time out of range"),
        ({}, ((1, 2, 3), (EXPIRY, WINDOW, SWEEP - 1)), "settlement_series: claim period too short"),
        # the sweep deadline is checked against expiry + window, not expiry: the old rule accepted this one
        ({}, ((1, 2, 3), (EXPIRY, WINDOW, EXPIRY)), "settlement_series: claim period too short"),
        # a zero cap is reported before a bad time, as on chain
        ({}, ((1, 0, 3), (EXPIRY, WINDOW, EXPIRY)), "settlement_series: zero cap"),
    ]
    for override, (terms, times), reason in cases:
        who = {"treasury": "t", "admin": "a", **override}
        with pytest.raises(SettlementRevert) as caught:
            new_series(terms, times, now=T0, treasury=who["treasury"], admin=who["admin"])
        assert caught.value.reason == reason
    model = new_series(*good, now=T0, treasury="t", admin="a")  # the shortest claim period is accepted
    assert model.times == SeriesTimes(EXPIRY, WINDOW, SWEEP)
    assert not model.expired


def test_nothing_can_be_sent_to_the_series_itself() -> None:
    model = _timed_book()
    _reverts(lambda: model.mint("w1", "series", 1), "settlement_series: receiver is the series")
    _reverts(lambda: model.transfer("h1", "series", 1), "settlement_series: receiver is the series")
    _reverts(lambda: model.check_receiver("series"), "settlement_series: receiver is the series")
    _reverts(lambda: model.check_receiver(""), "settlement_series: zero address")
    model.series = "0xSeries"  # the name is the model's own; the differential world gives it the real address
    _reverts(lambda: model.transfer("h1", "0xSeries", 0), "settlement_series: receiver is the series")
    model.transfer("h1", "series", 1)
    assert model.balances["series"] == 1
    model.check_invariants()


def test_clock_closes_minting_and_opens_settlement_at_expiry() -> None:
    model = _timed_book()
    model.warp(EXPIRY - 1)
    _reverts(lambda: model.settle(TERMS.strike + 1), "settlement_series: not expired")
    model.mint("w1", "h1", 1)
    model.warp(EXPIRY)
    _reverts(lambda: model.mint("w1", "h1", 1), "settlement_series: expired")
    assert model.settle(TERMS.strike + 1) == 1
    assert (model.settled, model.settled_at, model.source) == (True, EXPIRY, 1)


def test_breaker_holds_settlement_at_most_max_settlement_delay() -> None:
    model = _timed_book()
    model.warp(EXPIRY)
    assert model.breaker_holds
    model.warp(LAPSES - 1)
    assert model.breaker_holds
    model.warp(LAPSES)
    assert not model.breaker_holds
    assert SettlementModel(TERMS).breaker_holds  # a model without times always leaves the level to its caller


def test_claim_period_starts_at_settlement() -> None:
    model = _timed_book()
    assert model.late_sweep_at == 0  # unsettled: the claim period has not started
    model.warp(LAPSES)  # settled late (the breaker held it as long as it could)
    model.settle(TERMS.strike + TERMS.cap // 2)
    assert model.late_sweep_at == LAPSES + MIN_CLAIM_PERIOD > SWEEP
    model.claim("h1")
    model.warp(SWEEP)  # past SWEEP_DEADLINE, but holders have had less than MIN_CLAIM_PERIOD
    _reverts(model.sweep, "settlement_series: claims outstanding")
    model.warp(LAPSES + MIN_CLAIM_PERIOD - 1)
    _reverts(model.sweep, "settlement_series: claims outstanding")
    model.warp(LAPSES + MIN_CLAIM_PERIOD)
    held = model.held
    assert model.sweep() == held
    assert model.swept_late
    model.check_invariants()
    _reverts(lambda: model.claim("h2"), "settlement_series: swept")


def test_early_settlement_keeps_sweep_deadline_and_dust_sweep_is_not_late() -> None:
    model = _timed_book(sweep_deadline=SWEEP + 30 * DAY)
    model.warp(EXPIRY + 1)
    model.settle(TERMS.strike + 3)
    assert model.late_sweep_at == SWEEP + 30 * DAY
    for exit_ in (lambda: model.claim("h1"), lambda: model.claim("h2"), lambda: model.reclaim("w1")):
        exit_()
    model.reclaim("w2")
    model.warp(EXPIRY + 2)
    dust = model.held
    assert model.sweep() == dust
    assert not model.swept_late
    model.check_invariants()


def test_fallback_voids_the_series_and_every_wei_ends_with_someone() -> None:
    model = _timed_book()
    model.warp(EXPIRY - 1)
    _reverts(model.settle_fallback, "settlement_series: not expired")
    model.warp(FALLBACK - 1)
    _reverts(model.settle_fallback, "settlement_series: fallback not open")
    _reverts(lambda: model.claim("h1"), "settlement_series: not settled")
    _reverts(model.sweep, "settlement_series: not settled")
    model.warp(FALLBACK)
    assert model.settle_fallback() == 0
    assert (model.settled, model.settled_at, model.source, model.price, model.numerator) == (
        True,
        FALLBACK,
        SOURCE_FALLBACK,
        0,
        0,
    )
    _reverts(model.settle_fallback, "settlement_series: already settled")
    _reverts(lambda: model.settle(TERMS.strike + 1), "settlement_series: already settled")
    m = TERMS.max_payout_per_unit + 1
    assert model.claim("h1") == 0  # holders are owed nothing, and their claim still works (an exit)
    assert model.reclaim("w1") == 3 * m  # writers get back exactly what they locked: no rounding at rate 0
    model.check_invariants()
    assert model.late_sweep_at == FALLBACK + MIN_CLAIM_PERIOD
    model.warp(FALLBACK + MIN_CLAIM_PERIOD - 1)
    _reverts(model.sweep, "settlement_series: claims outstanding")
    model.warp(FALLBACK + MIN_CLAIM_PERIOD)
    assert model.sweep() == 4 * m  # w2 never reclaimed: its collateral is swept, not lost
    assert model.reclaimed + model.swept_amount == model.deposited
    assert model.held == 0
    model.check_invariants()


def test_fallback_needs_the_times_and_settle_needs_a_price() -> None:
    model = SettlementModel(TERMS)
    model.expire()
    with pytest.raises(ValueError, match="needs a model built with SeriesTimes"):
        model.settle_fallback()
    timed = _timed_book()
    timed.expire()
    assert timed.now == EXPIRY
    _reverts(lambda: timed.settle(0), "settlement_series: non-positive price")


def test_claim_for_skips_a_holder_the_token_refuses() -> None:
    model = _timed_book()
    model.mint("w1", "h3", 2)
    model.warp(EXPIRY)
    n = TERMS.cap // 3
    model.settle(TERMS.strike + n)
    m = TERMS.max_payout_per_unit + 1
    pay = {h: holder_payout(model.terms, u, n) for h, u in (("h1", 3), ("h2", 4), ("h3", 2))}
    assert 0 not in pay.values()
    total = model.claim_for(["h2", "h1", "h2", "h3", "nobody"], refused={"h2"})
    assert total == pay["h1"] + pay["h3"]
    assert model.last_batch == [
        ("skip", "h2", 4, pay["h2"]),
        ("claim", "h1", 3, pay["h1"]),
        ("skip", "h2", 4, pay["h2"]),  # listed twice, refused twice: two ClaimSkipped, as on chain
        ("claim", "h3", 2, pay["h3"]),
    ]
    assert model.balances["h2"] == 4
    assert model.open_units == 4
    model.check_invariants()
    assert model.claim("h2") == pay["h2"]  # and claims later, once the token lets it
    assert model.claim_for(["h1"]) == 0
    assert model.last_batch == []
    assert m * 9 == model.deposited
    model.check_invariants()


def test_a_refused_holder_owed_nothing_is_paid_not_skipped() -> None:
    # the contract makes no transfer for a zero payout, so the token cannot refuse it
    model = _timed_book()
    model.warp(FALLBACK)
    model.settle_fallback()
    assert model.claim_for(["h1"], refused={"h1"}) == 0
    assert model.last_batch == [("claim", "h1", 3, 0)]
    assert model.balances["h1"] == 0
    model.check_invariants()


# ---------------------------------------------------------------------------------------------------------------
# Differential: the contract on Anvil against the model, random scenarios, every balance to the wei
# ---------------------------------------------------------------------------------------------------------------


def _compare(series: Contract, kit: SettlementKit, model: SettlementModel, accounts: list[str]) -> None:
    for account in accounts:
        assert series.functions.balanceOf(account).call() == model.balances.get(account, 0)
        assert series.functions.written(account).call() == model.written.get(account, 0)
    assert series.functions.total_deposited().call() == model.deposited
    assert series.functions.total_paid().call() == model.paid
    assert series.functions.total_reclaimed().call() == model.reclaimed
    assert series.functions.total_swept().call() == model.swept_amount
    assert series.functions.open_units().call() == model.open_units
    assert series.functions.collateral_held().call() == model.held
    assert kit.token.functions.balanceOf(series.address).call() == model.held
    model.check_invariants()


@pytest.mark.parametrize("seed", range(10))
def test_differential_random_scenarios(anvil: Anvil, artifacts: ArtifactStore, seed: int) -> None:
    rng = random.Random(seed)
    w3 = anvil.w3
    accounts = list(w3.eth.accounts)
    admin, treasury = accounts[0], accounts[1]
    writers = accounts[2 : 2 + rng.randint(1, 3)]
    holders = accounts[5 : 5 + rng.randint(2, 5)]
    kit = deploy_kit(w3, artifacts, admin, decimals=rng.choice([6, 18]))
    strike = rng.randrange(1, 5_000) * 10**8 + rng.randrange(10**8)
    cap = rng.randrange(1, 10**11)
    m = rng.randrange(1, 10**20) if seed % 2 else rng.randrange(1, 10**7)
    expiry = now(w3) + 86_400
    series = kit.create_series(
        strike=strike,
        cap=cap,
        max_payout_per_unit=m,
        expiry=expiry,
        sweep_deadline=expiry + 8 * 86_400,
        treasury=treasury,
        reporter=admin,
        guardian=admin,
        blueprint=seed % 3 == 2,  # seeds 2, 5 and 8 run on a full series from the blueprint, the rest on clones
    )
    assert (len(w3.eth.get_code(series.address)) == 365) == (seed % 3 != 2)
    model = SettlementModel(SeriesTerms(strike, cap, m))
    everyone = writers + holders
    for _ in range(rng.randint(3, 6)):  # lots, at different times
        writer, receiver, units = rng.choice(writers), rng.choice(holders), rng.randrange(1, 10**6)
        kit.mint(series, writer, units, receiver)
        model.mint(writer, receiver, units)
        if rng.random() < 0.6:  # a transfer of an odd amount between holders
            sender, receiver = rng.choice(holders), rng.choice(everyone)
            amount = rng.randrange(0, model.balances.get(sender, 0) + 1)
            contracts.transact(series.functions.transfer(receiver, amount), sender=sender)
            model.transfer(sender, receiver, amount)
        _compare(series, kit, model, everyone)
    set_time(w3, expiry + 5)
    model.expire()
    price = rng.choice([strike - 1, strike, strike + 1, strike + cap, strike + cap + 1, strike + rng.randrange(cap)])
    contracts.transact(kit.oracle.functions.set_round(1, price, expiry + 5), sender=admin)
    contracts.transact(series.functions.settle(1), sender=admin)
    model.settle(price)
    before = {a: kit.token.functions.balanceOf(a).call() for a in [*everyone, treasury]}
    exits: list[tuple[str, list[str]]] = [("claim", [h]) for h in holders] + [("reclaim", [w]) for w in writers]
    rng.shuffle(exits)
    # fold a random slice of the holder claims into one claim_for batch
    batch = [h for kind, (h,) in exits if kind == "claim" and rng.random() < 0.5]
    exits = [e for e in exits if not (e[0] == "claim" and e[1][0] in batch)] + [("claim_for", batch)]
    rng.shuffle(exits)
    for kind, who in exits:
        if kind == "claim_for":
            contracts.transact(series.functions.claim_for(who), sender=admin)
            model.claim_for(who)
        elif kind == "claim":
            if model.balances.get(who[0], 0) == 0:
                with pytest.raises(ReasonRevert) as caught:
                    contracts.transact(series.functions.claim(), sender=who[0])
                assert caught.value.text == "settlement_series: nothing to claim"
                continue
            contracts.transact(series.functions.claim(), sender=who[0])
            model.claim(who[0])
        else:
            if model.written.get(who[0], 0) == 0:
                continue
            contracts.transact(series.functions.reclaim(), sender=who[0])
            model.reclaim(who[0])
        _compare(series, kit, model, everyone)
    for account in everyone:  # writers that also hold, holders that never minted: all accounted
        if model.balances.get(account, 0):
            contracts.transact(series.functions.claim(), sender=account)
            model.claim(account)
        if model.written.get(account, 0):
            contracts.transact(series.functions.reclaim(), sender=account)
            model.reclaim(account)
    contracts.transact(series.functions.sweep(), sender=admin)
    dust = model.sweep(after_deadline=False)
    _compare(series, kit, model, everyone)
    assert dust < model.payouts
    expected = dict.fromkeys(before, 0)
    for _kind, account, _units, amount in model.ledger:
        expected[account] += amount
    expected[treasury] += dust
    for account, start in before.items():
        assert kit.token.functions.balanceOf(account).call() - start == expected[account]
    assert kit.token.functions.balanceOf(series.address).call() == 0


# ---------------------------------------------------------------------------------------------------------------
# Differential on Anvil: the liveness rules (claim period from settlement, breaker bound, fallback, no sends to the
# series, claim_for skipping a refused holder), each boundary second checked on both sides with the same reason
# ---------------------------------------------------------------------------------------------------------------

REASON = b"test".ljust(32, b"\0")


def _at(w3: Web3, timestamp: int, model: SettlementModel) -> None:
    """Calls, gas estimates and the next transaction run at exactly ``timestamp``; so does the model. (Anvil
    estimates on the latest block, so an empty block is mined at ``timestamp`` first, then the next one is pinned
    to the same second.)"""
    for method in ("evm_mine", "evm_setNextBlockTimestamp"):
        response = w3.provider.make_request(cast(Any, method), [timestamp])
        assert "error" not in response, response
    model.warp(timestamp)


def _both_revert(call: Any, sender: ChecksumAddress, action: Any, reason: str) -> None:
    with pytest.raises(ReasonRevert) as on_chain:
        contracts.transact(call, sender=sender)
    assert on_chain.value.text == reason
    _reverts(action, reason)


def _events(series: Contract, receipt: TxReceipt, name: str) -> list[dict[str, Any]]:
    return [dict(e["args"]) for e in series.events[name]().process_receipt(receipt, errors=DISCARD)]


def _timing_views(series: Contract, model: SettlementModel) -> None:
    times = model.times
    assert times is not None
    assert series.functions.settlement_guard_lapses_at().call() == times.guard_lapses_at
    assert series.functions.fallback_opens_at().call() == times.fallback_opens_at
    assert series.functions.late_sweep_at().call() == model.late_sweep_at
    assert series.functions.settled_at().call() == model.settled_at


def _liveness_series(
    kit: SettlementKit, blueprint: bool, treasury: str, admin: ChecksumAddress, m: int
) -> tuple[Contract, SettlementModel]:
    w3 = kit.w3
    start = now(w3)
    expiry = start + DAY
    shortest = expiry + SETTLEMENT_WINDOW + MIN_CLAIM_PERIOD
    terms, args = (TERMS.strike, TERMS.cap, m), {"treasury": treasury, "admin": admin}
    create = dict(strike=TERMS.strike, cap=TERMS.cap, max_payout_per_unit=m, expiry=expiry, treasury=treasury)
    create |= dict(reporter=admin, guardian=admin, blueprint=blueprint)
    with pytest.raises(ReasonRevert) as on_chain:  # one second short of the claim period: refused by both
        kit.create_series(**create, sweep_deadline=shortest - 1)
    assert on_chain.value.text == "settlement_series: claim period too short"
    _reverts(
        lambda: new_series(terms, (expiry, SETTLEMENT_WINDOW, shortest - 1), now=start, **args), on_chain.value.text
    )
    series = kit.create_series(**create, sweep_deadline=shortest)
    return series, new_series(terms, (expiry, SETTLEMENT_WINDOW, shortest), now=now(w3), series=series.address, **args)


@pytest.mark.parametrize("blueprint", [False, True])
def test_differential_fallback_and_no_sends_to_the_series(
    anvil: Anvil, artifacts: ArtifactStore, blueprint: bool
) -> None:
    w3 = anvil.w3
    admin, treasury, w1, w2, h1, h2 = w3.eth.accounts[:6]
    m = TERMS.max_payout_per_unit + 1
    kit = deploy_kit(w3, artifacts, admin)
    series, model = _liveness_series(kit, blueprint, treasury, admin, m)
    for writer, holder, units in ((w1, h1, 3), (w2, h2, 5)):
        kit.mint(series, writer, units, holder)
        model.mint(writer, holder, units)
    _both_revert(series.functions.mint(1, series.address), w1, lambda: model.mint(w1, series.address, 1),
                 "settlement_series: receiver is the series")  # fmt: skip
    _both_revert(series.functions.transfer(series.address, 1), h1, lambda: model.transfer(h1, series.address, 1),
                 "settlement_series: receiver is the series")  # fmt: skip
    _timing_views(series, model)
    contracts.transact(series.functions.raise_level(3, REASON), sender=admin)  # HALTED, and nobody lowers it
    times = model.times
    assert times is not None
    _at(w3, times.fallback_opens_at - 1, model)  # no oracle round, no report: nothing settles the series
    _both_revert(series.functions.settle_fallback(), h1, model.settle_fallback, "settlement_series: fallback not open")
    _at(w3, times.fallback_opens_at, model)
    receipt = contracts.transact(series.functions.settle_fallback(), sender=h1)  # anyone, at HALTED
    assert w3.eth.get_block(receipt["blockNumber"])["timestamp"] == model.now
    assert model.settle_fallback() == 0
    (settled,) = _events(series, receipt, "Settled")
    assert tuple(settled.values()) == (0, 0, TERMS.cap, SOURCE_FALLBACK, 0)
    _timing_views(series, model)
    assert series.functions.reclaimable(w1).call() == 3 * m
    assert series.functions.claimable(h1).call() == 0
    assert contracts.call(series.functions.claim(), sender=h1) == model.claim(h1) == 0
    contracts.transact(series.functions.claim(), sender=h1)
    assert contracts.call(series.functions.reclaim(), sender=w1) == model.reclaim(w1) == 3 * m
    contracts.transact(series.functions.reclaim(), sender=w1)
    _compare(series, kit, model, [w1, w2, h1, h2])
    _at(w3, model.late_sweep_at - 1, model)
    _both_revert(series.functions.sweep(), admin, model.sweep, "settlement_series: claims outstanding")
    _at(w3, model.late_sweep_at, model)
    receipt = contracts.transact(series.functions.sweep(), sender=admin)  # at HALTED: the guard has lapsed
    assert w3.eth.get_block(receipt["blockNumber"])["timestamp"] == model.now
    assert model.sweep() == 5 * m
    assert model.swept_late
    (swept,) = _events(series, receipt, "DustSwept")
    assert (swept["amount"], swept["after_deadline"]) == (5 * m, True)
    _compare(series, kit, model, [w1, w2, h1, h2])
    assert model.reclaimed + model.swept_amount == model.deposited  # every wei ended with someone entitled


@pytest.mark.parametrize("blueprint", [False, True])
def test_differential_breaker_bound_claim_period_and_refused_holder(
    anvil: Anvil, artifacts: ArtifactStore, blueprint: bool
) -> None:
    w3 = anvil.w3
    admin, treasury, w1, w2, h1, h2 = w3.eth.accounts[:6]
    m = TERMS.max_payout_per_unit + 1
    kit = deploy_kit(w3, artifacts, admin)
    blacklist = contracts.deploy(w3, artifacts.get("BlacklistToken"), "Frozen Dollar", "FUSD", 6, sender=admin)
    kit = dataclasses.replace(kit, token=blacklist)
    series, model = _liveness_series(kit, blueprint, treasury, admin, m)
    for writer, holder, units in ((w1, h1, 2), (w1, h2, 7), (w2, h1, 1)):
        kit.mint(series, writer, units, holder)
        model.mint(writer, holder, units)
    contracts.transact(series.functions.raise_level(2, REASON), sender=admin)  # price moves paused, never lowered
    times = model.times
    assert times is not None
    price = TERMS.strike + TERMS.cap // 3
    contracts.transact(kit.oracle.functions.set_round(1, price, times.expiry + 5), sender=admin)
    for moment in (times.expiry + 10, times.guard_lapses_at - 1):
        _at(w3, moment, model)
        assert model.breaker_holds
        with pytest.raises(ReasonRevert) as on_chain:
            contracts.transact(series.functions.settle(1), sender=h1)
        assert on_chain.value.text == "circuit_breaker: price moves paused"
    _at(w3, times.guard_lapses_at, model)
    assert not model.breaker_holds
    receipt = contracts.transact(series.functions.settle(1), sender=h1)  # at level 2: the bound has passed
    assert w3.eth.get_block(receipt["blockNumber"])["timestamp"] == model.now
    model.settle(price)
    _timing_views(series, model)
    assert model.late_sweep_at == times.guard_lapses_at + MIN_CLAIM_PERIOD > times.sweep_deadline
    contracts.transact(blacklist.functions.set_blocked(h2, True), sender=admin)
    batch = [h2, h1, h2]
    expected_total = model.claim_for(batch, refused={h2})
    assert contracts.call(series.functions.claim_for(batch), sender=admin) == expected_total
    receipt = contracts.transact(series.functions.claim_for(batch), sender=admin)
    skipped = [(e["holder"], e["units"], e["payout"]) for e in _events(series, receipt, "ClaimSkipped")]
    claimed = [(e["holder"], e["units"], e["payout"]) for e in _events(series, receipt, "Claimed")]
    assert skipped == [(h, u, p) for kind, h, u, p in model.last_batch if kind == "skip"]
    assert len(skipped) == 2
    assert claimed == [(h, u, p) for kind, h, u, p in model.last_batch if kind == "claim"]
    assert len(claimed) == 1
    _compare(series, kit, model, [w1, w2, h1, h2])
    for writer in (w1, w2):
        contracts.transact(series.functions.reclaim(), sender=writer)
        model.reclaim(writer)
    assert times.sweep_deadline == times.guard_lapses_at  # the shortest deadline; settled there, so one second on:
    # past SWEEP_DEADLINE, within the claim period: h2's claim is safe. Not a boundary second: any time up to
    # late_sweep_at will do, and the blocks since settlement may already be later than the deadline (a loaded
    # machine: anvil's clock runs on from the pinned second)
    _at(w3, max(times.sweep_deadline + 1, w3.eth.get_block("latest")["timestamp"]), model)
    _both_revert(series.functions.sweep(), admin, model.sweep, "settlement_series: claims outstanding")
    contracts.transact(blacklist.functions.set_blocked(h2, False), sender=admin)
    _at(w3, model.late_sweep_at - 2, model)
    contracts.transact(series.functions.claim(), sender=h2)
    model.claim(h2)
    _at(w3, model.late_sweep_at - 1, model)  # the last second of the claim period
    receipt = contracts.transact(series.functions.sweep(), sender=admin)  # all claimed: the dust, not late
    assert w3.eth.get_block(receipt["blockNumber"])["timestamp"] == model.now
    dust = model.sweep()
    assert not model.swept_late
    assert dust < model.payouts
    (swept,) = _events(series, receipt, "DustSwept")
    assert (swept["amount"], swept["after_deadline"]) == (dust, False)
    _compare(series, kit, model, [w1, w2, h1, h2])
