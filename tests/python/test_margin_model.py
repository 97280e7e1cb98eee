"""The exact model of the margin engine (settlekit.model.margin): unit tests of its arithmetic, then random scenarios
run on Anvil and in the model side by side, compared to the wei after every step."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from settlekit.build import ArtifactStore
from settlekit.chain import Anvil
from settlekit.model.margin import (
    BPS,
    WAD,
    Feed,
    Liquidation,
    MarginModel,
    MarginRevert,
    MarketConfig,
    mul_div,
    price_scale_for,
    validate_config,
)
from settlekit.scenarios.margin import ETH, USDC, MarginMarket

NOW = 1_700_000_000


def _model(cfg: MarketConfig | None = None, price: int = 2_000 * 10**8) -> MarginModel:
    model = MarginModel.create(cfg or MarketConfig(), 10**20, Feed(price, NOW), NOW)
    model.supply("lender", 1_000_000 * USDC)
    return model


def _drop(model: MarginModel, price: int) -> None:
    model.now += 1
    model.feed = Feed(price, model.now)


def test_mul_div_rounds_both_ways() -> None:
    assert mul_div(7, 3, 2, False) == 10
    assert mul_div(7, 3, 2, True) == 11
    assert mul_div(6, 3, 2, True) == 9
    with pytest.raises(MarginRevert, match="division by zero"):
        mul_div(1, 1, 0, False)


def test_config_rules() -> None:
    validate_config(MarketConfig())
    with pytest.raises(MarginRevert) as error:
        validate_config(MarketConfig(threshold_bps=9_500, bonus_bps=10_600))
    assert error.value.reason == "margin_engine: threshold times bonus above one"
    with pytest.raises(MarginRevert) as error:
        validate_config(MarketConfig(bonus_bps=10_000))
    assert error.value.reason == "margin_engine: bonus not above one"
    assert price_scale_for(18, 6, 8) == 10**20


def test_seizure_and_fee_round_for_the_protocol() -> None:
    """Swept over many amounts at an awkward price: seized <= exact < seized + 1, fee >= exact > fee - 1."""
    model = _model()
    model.deposit("alice", 75 * ETH // 10)
    model.borrow("alice", 10_000 * USDC)
    price = 123_456_789_012
    _drop(model, price)
    for k in range(1, 3_000):
        coll_before, fees_before = model.collateral["alice"], model.protocol_fees
        result = model.liquidate("keeper", "alice", k)
        seized = coll_before - model.collateral["alice"]
        fee = model.protocol_fees - fees_before
        exact_seized = Fraction(k * 10_500 * 10**20, price * BPS)
        assert seized <= exact_seized < seized + 1
        exact_fee = max(Fraction(0), (seized - Fraction(k * 10**20, price)) * Fraction(1_000, BPS))
        assert fee - 1 < exact_fee <= fee
        assert result.out == seized - fee


def test_bad_debt_is_bounded_by_true_shortfall() -> None:
    model = _model()
    model.deposit("alice", 8 * 10**17)
    model.borrow("alice", 1_000 * USDC)
    _drop(model, 1_000 * 10**8)  # collateral worth 800 USDC
    result = model.liquidate("keeper", "alice", 1_000 * USDC)
    assert model.debt_of("alice") == 0
    assert model.collateral["alice"] == 0
    assert result.bad_debt == model.deficit == 238_095_238
    assert Fraction(result.bad_debt) <= 1_000 * USDC - Fraction(800 * USDC * BPS, 10_500)


def test_reverted_call_leaves_model_unchanged() -> None:
    model = _model()
    model.deposit("alice", ETH)
    cash = model.cash
    with pytest.raises(MarginRevert) as error:
        model.borrow("alice", 1_500 * USDC + 1)
    assert error.value.reason == "margin_engine: exceeds ltv"
    assert model.cash == cash
    assert model.scaled_debt.get("alice", 0) == 0
    assert model.total_scaled_debt == 0


def test_hf_boundaries_exact() -> None:
    """HF exactly 1 is not liquidatable; 0.95 exactly closes fully; 0.95 + 1 wei closes half."""
    for value, expect in ((95 * 10**16, 0), (95 * 10**16 + 1, 4 * 10**17)):
        model = _model()
        model.supply("lender", 10**18)
        model.deposit("alice", value * 10**9)
        model.borrow("alice", 8 * 10**17)
        _drop(model, 1_000 * 10**8)
        assert model.health_factor("alice") == value
        model.liquidate("keeper", "alice", 8 * 10**17)
        assert model.debt_of("alice") == expect
    model = _model()
    model.deposit("alice", 1_250 * USDC * 10**9)
    model.borrow("alice", 1_000 * USDC)
    _drop(model, 1_000 * 10**8)
    assert model.health_factor("alice") == WAD
    with pytest.raises(MarginRevert, match="position healthy"):
        model.liquidate("keeper", "alice", 1)


# --- differential: the same random scenarios on Anvil and in the model ----------------------------------------------


def _random_step(market: MarginMarket, rng: random.Random) -> None:
    a = market.accounts
    lenders, borrowers, keeper = a[2:4], a[4:7], a[7]
    m = market.model
    kind = rng.choices(
        [
            "supply",
            "withdraw",
            "deposit",
            "borrow",
            "repay",
            "withdraw_collateral",
            "transfer",
            "price",
            "time",
            "liquidate",
            "wave",
        ],
        weights=[6, 3, 5, 8, 4, 3, 2, 6, 4, 8, 3],
    )[0]
    if kind == "supply":
        market.act(rng.choice(lenders), "supply", rng.randint(1, 20_000 * USDC))
    elif kind == "withdraw":
        lender = rng.choice(lenders)
        market.act(lender, "withdraw", rng.randint(1, max(1, m.shares.get(lender, 0))))
    elif kind == "deposit":
        market.act(rng.choice(borrowers), "deposit", rng.randint(1, 3 * ETH))
    elif kind == "borrow":
        # Mostly close to the LTV limit (so that price drops make positions liquidatable), sometimes beyond it.
        borrower = rng.choice(borrowers)
        room = m.value(m.collateral.get(borrower, 0), m.guard.last_good_price) * 7_500 // BPS - m.debt_of(borrower)
        market.act(borrower, "borrow", max(1, room * rng.randint(80, 101) // 100))
    elif kind == "repay":
        market.act(keeper, "repay", rng.choice(borrowers), rng.randint(1, 2_000 * USDC))
    elif kind == "withdraw_collateral":
        market.act(rng.choice(borrowers), "withdraw_collateral", rng.randint(1, ETH))
    elif kind == "transfer":
        sender, receiver = rng.sample(borrowers, 2)
        market.act(sender, "transfer_collateral", receiver, rng.randint(1, ETH))
    elif kind == "price":
        last = m.guard.last_good_price
        move = rng.choice([rng.randint(-1_500, 500)] * 6 + [rng.randint(-7_000, 7_000), -10_000])
        market.set_price(max(0, last + last * move // BPS), seconds=rng.randint(1, 120))
    elif kind == "time":
        market.act(keeper, "poke_price", seconds=rng.choice([1, 60, 700, 3_000, 8_000]))
        if rng.random() < 0.7:
            market.set_price(m.guard.last_good_price)  # the feed publishes again
    elif kind == "liquidate":
        borrower = rng.choice(borrowers)
        cover = rng.choice([rng.randint(1, 10_000), rng.randint(1, 3_000 * USDC), 2**255])
        market.act(keeper, "liquidate", borrower, cover, 0, seconds=rng.randint(1, 30))
    else:
        calls = [(keeper, "liquidate", (b, 2**255, 0)) for b in borrowers]
        market.batch(calls, seconds=12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_differential_random_scenarios(anvil: Anvil, artifacts: ArtifactStore, seed: int) -> None:
    rng = random.Random(seed)
    cfg = MarketConfig(
        rate_per_second=rng.choice([0, 3_170_979_198, 25 * 10**9]),
        cap_per_block=rng.choice([1_500 * USDC, 10**28]),
        cap_per_window=rng.choice([4_000 * USDC, 10**28]),
        window_seconds=600,
    )
    if cfg.cap_per_block > cfg.cap_per_window:
        cfg = MarketConfig(
            rate_per_second=cfg.rate_per_second,
            cap_per_block=cfg.cap_per_window,
            cap_per_window=cfg.cap_per_window,
            window_seconds=600,
        )
    market = MarginMarket.deploy(anvil, artifacts, cfg)
    a = market.accounts
    for account in a[2:8]:
        market.mint(market.debt, account, 10**12)
        market.mint(market.coll, account, 100 * ETH)
    market.act(a[2], "supply", 50_000 * USDC)
    for borrower in a[4:7]:
        market.act(borrower, "deposit", 3 * ETH)
        market.act(borrower, "borrow", rng.randint(3_500, 4_400) * USDC)
    for step in range(28):
        _random_step(market, rng)
        if step in (8, 18):
            # A crash inside the jump bound, then a wave in one block and a partial: liquidations must happen.
            market.set_price(market.model.guard.last_good_price * rng.randint(55, 75) // 100)
            market.batch([(a[7], "liquidate", (b, 2**255, 0)) for b in a[4:7]], seconds=12)
            market.act(a[7], "liquidate", a[rng.randint(4, 6)], rng.randint(1, 500 * USDC), 0)
    market.compare()
    # The scenario must have exercised liquidations, not only reverts.
    assert any(line.startswith("liquidate") and "Liquidation(" in line for line in market.log), "\n".join(market.log)
    check = market.accounting()
    assert check["cash"] + check["total_debt"] == check["total_assets"]
    assert 0 <= check["dust"] <= 2
    # Lone reverts were compared to the model's exact reason, time-dependent ones (price, health) among them.
    assert any(r.startswith("price_guard:") or "healthy" in r for r in market.reasons_checked), market.reasons_checked


# --- the rolling window: the model's buckets, and chain == model across bucket edges --------------------------------


def test_model_window_rolls_by_buckets() -> None:
    """Buckets of ceil(window / 4) s (601 s -> 151 s); an amount leaves the look-back when the fifth bucket after
    its own starts, never earlier than one window after it was liquidated, and a new block refreshes the block cap
    only."""
    cfg = MarketConfig(cap_per_block=500 * USDC, cap_per_window=800 * USDC, window_seconds=601)
    model = _model(cfg)
    assert model.bucket_seconds == 151
    model.deposit("alice", 11_250 * USDC * 10**9)
    model.borrow("alice", 10_000 * USDC)
    _drop(model, 1_000 * 10**8)
    model.block += 1
    t0 = model.now
    first = model.liquidate("keeper", "alice", 10_000 * USDC)
    assert first.capped
    assert first.repaid == 500 * USDC
    assert model.liquidation_room() == 0
    model.block += 1
    assert model.liquidation_room() == 300 * USDC
    head = t0 // 151
    model.now, model.block = (head + 5) * 151 - 1, model.block + 1
    model.feed = Feed(1_000 * 10**8, model.now)
    assert model.window_buckets() == [0, 0, 0, 0, 500 * USDC]
    assert model.liquidation_room() == 300 * USDC
    model.now += 1
    assert model.now >= t0 + 601
    assert model.window_buckets() == [0] * 5
    assert model.liquidation_room() == 500 * USDC


def _repaid(result: object) -> int:
    """The debt a successful liquidation repaid (fails on a revert)."""
    assert isinstance(result, Liquidation), result
    return result.repaid


def _reason(result: object) -> str:
    """The reason of a reverted call (fails on a success)."""
    assert isinstance(result, MarginRevert), result
    return result.reason


def test_differential_rolling_window_edges(anvil: Anvil, artifacts: ArtifactStore) -> None:
    """Chain and model side by side through liquidations placed on bucket edges (the last second of a bucket, the
    first of the next, one second before and at the moment the oldest bucket leaves the look-back), with the
    buckets, the raw cap slots and the room compared after every step, and the cap reverts' reasons compared."""
    cfg = MarketConfig(cap_per_block=700 * USDC, cap_per_window=1_500 * USDC, window_seconds=600)
    market = MarginMarket.deploy(anvil, artifacts, cfg)
    a = market.accounts
    keeper, borrower = a[7], a[4]
    m = market.model
    assert market.engine.functions.BUCKET_SECONDS().call() == m.bucket_seconds == 150
    for account in a[2:8]:
        market.mint(market.debt, account, 10**12)
        market.mint(market.coll, account, 100 * ETH)
    market.act(a[2], "supply", 50_000 * USDC)
    market.act(borrower, "deposit", 10 * ETH)
    market.act(borrower, "borrow", 14_000 * USDC)
    market.set_price(1_500 * 10**8)  # 15,000 USDC of collateral for 14,000 owed: HF 0.857, fully closable

    def liquidate(timestamp: int, cover: int = 2**255) -> object:
        """Liquidate in a block at exactly ``timestamp``, the feed having published a second before if it can."""
        if m.now < timestamp - 1:
            market.set_price(1_500 * 10**8, seconds=timestamp - 1 - m.now)
        result = market.act(keeper, "liquidate", borrower, cover, 0, seconds=timestamp - m.now)
        assert m.now == timestamp
        return result

    head = (m.now + 300) // 150
    # 700 (the block cap) at the last second of bucket head, 700 at the first second of head + 1, then the window's
    # last 100 (cut by the window cap) 12 s later.
    assert _repaid(liquidate((head + 1) * 150 - 1)) == 700 * USDC
    assert _repaid(liquidate((head + 1) * 150)) == 700 * USDC
    assert m.window_buckets() == [700 * USDC, 700 * USDC, 0, 0, 0]
    assert _repaid(liquidate(m.now + 12)) == 100 * USDC
    # The window is full: a lone liquidation reverts with the cap's reason on both sides (compared exactly).
    assert _reason(liquidate(m.now + 12, 1)) == "margin_engine: liquidation cap reached"
    # One second before bucket head leaves the look-back: still nothing; at that second, its 700 come back.
    assert _reason(liquidate((head + 5) * 150 - 1)) == "margin_engine: liquidation cap reached"
    assert _repaid(liquidate((head + 5) * 150)) == 700 * USDC
    assert m.window_buckets() == [700 * USDC, 0, 0, 0, 800 * USDC]
    market.compare()


def test_index_bound_100_years_any_accrual_pattern() -> None:
    """At MAX_RATE_PER_SECOND the index stays below 2**192 for 100 years whatever the accrual pattern.

    Each accrual over dt seconds sets index' = index + ceil(index * r * dt) <= index * (1 + r * dt) + 1 with
    r = rate / WAD, and 1 + r * dt <= exp(r * dt); with u = index + 1 / r this gives u' <= u * exp(r * dt), so after
    T seconds in total, whatever the split, index <= (WAD + 1 / r) * exp(r * T). The bound is checked with a
    safety factor of 1e5, and the model's daily accrual over 100 years lands under it.
    """
    from settlekit.model.margin import MAX_INDEX, MAX_RATE_PER_SECOND

    r = MAX_RATE_PER_SECOND / WAD
    years_100 = 100 * 365 * 86_400 + 25 * 86_400
    bound = (WAD + 1 / r) * math.exp(r * years_100)
    assert bound * 10**5 < MAX_INDEX
    model = MarginModel.create(
        MarketConfig(rate_per_second=MAX_RATE_PER_SECOND), price_scale_for(18, 6, 8), Feed(2_000 * 10**8, 0), 0
    )
    for day in range(1, 36_526):
        model.now = day * 86_400
        model._accrue()
    assert 10**34 * WAD < model.borrow_index < bound
    model.now += 10**15  # far past the horizon: saturates, never raises
    assert model.index_now() == MAX_INDEX


def test_model_guard_ties_a_jump_to_its_value_and_survives_a_failed_feed() -> None:
    """The model's guard: a different jump restarts the confirmation; a failed feed or an answer above 2**128 - 1
    falls back to the last good price (lenient) or raises the strict reason."""
    from settlekit.model.margin import PriceGuard

    guard = PriceGuard(3_600, 5_000, 7_200, 600, last_good_price=2_000, last_good_updated_at=0)
    assert guard.price(Feed(3_400, 10), 10, False) == (2_000, 3)
    assert guard.price(Feed(800, 5 * 86_400), 5 * 86_400, False) == (2_000, 3)
    assert (guard.pending_since, guard.pending_price) == (5 * 86_400, 800)
    with pytest.raises(MarginRevert, match="price_guard: price deviation"):
        guard.price(Feed(900, 5 * 86_400 + 600), 5 * 86_400 + 600, True)
    assert guard.price(Feed(805, 5 * 86_400 + 601), 5 * 86_400 + 601, True) == (805, None)
    assert guard.price(Feed(0, 0, failed=True), 5 * 86_400 + 700, False) == (805, 4)
    assert guard.price(Feed(2**255 - 1, 5 * 86_400 + 700), 5 * 86_400 + 700, False) == (805, 5)
    with pytest.raises(MarginRevert, match="price_guard: feed failed"):
        guard.price(Feed(0, 0, failed=True), 5 * 86_400 + 700, True)
    with pytest.raises(MarginRevert, match="price_guard: price out of range"):
        guard.price(Feed(2**128, 5 * 86_400 + 700), 5 * 86_400 + 700, True)
