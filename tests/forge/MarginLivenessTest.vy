# pragma version ~=0.4.3
"""
@title MarginLivenessTest
@notice Issue 14, findings 5 to 9 on the margin engine: a jump is confirmed only by answers that stay within 1% of
        its first value for the confirmation window (the two reproductions: a healthy HF 1.14 position is not
        liquidated on a first-seen -60% answer; nothing is borrowed against a first-seen +150% answer); a feed
        that reverts or answers near 2**255 is a rejection, never an empty revert; the index cannot overflow
        within 100 years at the maximum rate and exits never revert on accrual; no price moves at level 2; a
        repayment never leaves a debt below MIN_DEBT; a debt token that switches a transfer fee on.
"""

from .interfaces import IVm
from ...contracts import MarginEngine
from . import MarginFixture as fx

initializes: fx

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
GUARDIAN: constant(address) = 0x0000000000000000000000000000000006a4D1a4
LENDER: constant(address) = 0x000000000000000000000000000000000000d0D0
ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
KEEPER: constant(address) = 0x000000000000000000000000000000000000cEE9
BOB: constant(address) = 0x0000000000000000000000000000000000000B0b
USDC: constant(uint256) = 10**6
ETH: constant(uint256) = 10**18
WAD: constant(uint256) = 10**18
PRICE: constant(int256) = 2_000 * 10**8
GRACE: constant(uint256) = 7_200
CONFIRMATION: constant(uint256) = 600
DAY: constant(uint256) = 86_400
# @notice ALICE's debt: HF = 10 ETH x $2,000 x 80% / debt = 1.14 (rounded down).
HF_114_DEBT: constant(uint256) = 14_035 * USDC


event PriceRejected:
    answer: int256
    updated_at: uint256
    reason: uint256
    price_used: uint256


event PriceAccepted:
    price: uint256
    updated_at: uint256


interface FeeToken:
    def mint(to: address, amount: uint256): nonpayable
    def approve(spender: address, amount: uint256) -> bool: nonpayable
    def set_fee_bps(fee_bps_: uint256): nonpayable
    def balanceOf(owner: address) -> uint256: view


@external
def setUp():
    """
    @notice A default market, 100,000 USDC supplied, ALICE with 10 ETH deposited, a funded keeper.
    """
    fx._deploy_market(fx._config())
    fx._supply(LENDER, 100_000 * USDC)
    fx._fund_liquidator(KEEPER, 10**15)
    fx._deposit(ALICE, 10 * ETH)


@internal
def _poke():
    """
    @notice The keeper runs a lenient read.
    """
    extcall VM.prank(KEEPER)
    extcall fx.engine.poke_price()


# ---------------------------------------------------------------------------------------------------------------
# Finding 5: the confirmation is tied to the jump it confirms
# ---------------------------------------------------------------------------------------------------------------


@external
def test_first_seen_minus_60_does_not_liquidate_healthy_position():
    """
    @notice Reproduction 1: a +70% jump is seen (pending), the feed is silent for five days, then a -60% answer is
            seen for the first time: it restarts the confirmation, the last good price is used, and ALICE (HF 1.14)
            is not liquidated ("margin_engine: position healthy").
    """
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(HF_114_DEBT)
    assert staticcall fx.engine.health_factor(ALICE) // 10**16 == 114, "HF 1.14"
    fx._step(60)
    fx._set_price(PRICE * 17 // 10)
    self._poke()
    first: uint256 = staticcall fx.engine.pending_since()
    assert first == block.timestamp, "pending"
    fx._step(5 * DAY)
    fx._set_price(PRICE * 4 // 10)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"margin_engine: position healthy")
    extcall fx.engine.liquidate(ALICE, HF_114_DEBT, 0)
    self._poke()
    assert staticcall fx.engine.pending_since() == block.timestamp, "restarted"
    assert staticcall fx.engine.pending_price() == convert(PRICE * 4 // 10, uint256), "pending value"
    assert staticcall fx.engine.last_good_price() == convert(PRICE, uint256), "last good kept"
    assert staticcall fx.engine.health_factor(ALICE) // 10**16 == 114, "HF at the last good price"


@external
def test_first_seen_plus_150_allows_no_borrow():
    """
    @notice Reproduction 2: a -55% jump is pending for five days, then a +150% answer is seen for the first time
            by a borrow of 37,000 USDC against 10 ETH: "price_guard: price deviation".
    """
    fx._step(60)
    fx._set_price(PRICE * 45 // 100)
    self._poke()
    fx._step(5 * DAY)
    fx._set_price(PRICE * 25 // 10)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"price_guard: price deviation")
    extcall fx.engine.borrow(37_000 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 0, "nothing borrowed"


@external
def test_jump_confirmed_only_within_band_for_whole_window():
    """
    @notice A jump to +70% is pending; 300 s later an answer 2.9% away restarts it; 600 s after the restart an
            answer within 1% of the restarted value is accepted (PriceAccepted), not before.
    """
    fx._step(60)
    fx._set_price(3_400 * 10**8)
    self._poke()
    fx._step(300)
    fx._set_price(3_500 * 10**8)
    self._poke()
    restart: uint256 = block.timestamp
    assert staticcall fx.engine.pending_since() == restart, "restarted by a different jump"
    fx._step(CONFIRMATION - 1)
    fx._set_price(3_530 * 10**8)
    self._poke()
    assert staticcall fx.engine.last_good_price() == convert(PRICE, uint256), "not before the window"
    assert staticcall fx.engine.pending_since() == restart, "inside the band: not restarted"
    fx._step(1)
    fx._set_price(3_534 * 10**8)
    extcall VM.expectEmit(False, False, False, True, fx.engine.address)
    log PriceAccepted(price=3_534 * 10**8, updated_at=block.timestamp)
    self._poke()
    assert staticcall fx.engine.last_good_price() == 3_534 * 10**8, "confirmed"
    assert staticcall fx.engine.pending_since() == 0, "cleared"


@external
def test_strict_read_never_starts_a_confirmation():
    """
    @notice Strict reads only: a jump seen by borrows alone for days is never pending and never accepted.
    """
    fx._step(60)
    fx._set_price(PRICE * 25 // 10)
    for i: uint256 in range(3):
        extcall VM.prank(ALICE)
        extcall VM.expectRevert(b"price_guard: price deviation")
        extcall fx.engine.borrow(37_000 * USDC)
        fx._step(DAY)
        fx._set_price(PRICE * 25 // 10)
    assert staticcall fx.engine.pending_since() == 0, "no pending jump"


# ---------------------------------------------------------------------------------------------------------------
# Finding 6: feed failures
# ---------------------------------------------------------------------------------------------------------------


@external
def test_reverting_feed_last_good_within_grace_then_zero():
    """
    @notice A feed that reverts: within the grace period liquidate and poke_price use the last good price
            (PriceRejected reason 4) and health_factor answers at it; borrow reverts "price_guard: feed failed";
            after the grace period health_factor is 0 and liquidate / poke_price revert
            "price_guard: no usable price".
    """
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(HF_114_DEBT)
    fx._step(60)
    fx._set_price(1_500 * 10**8)
    self._poke()
    accepted_at: uint256 = block.timestamp
    hf: uint256 = staticcall fx.engine.health_factor(ALICE)
    assert hf < WAD, "liquidatable"
    extcall fx.feed.set_reverting(True)
    fx._step(GRACE)
    assert staticcall fx.engine.health_factor(ALICE) == hf, "HF at the last good price"
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"price_guard: feed failed")
    extcall fx.engine.borrow(10 * USDC)
    extcall VM.expectEmit(False, False, False, True, fx.engine.address)
    log PriceRejected(answer=0, updated_at=0, reason=4, price_used=1_500 * 10**8)
    fx._liquidate(KEEPER, ALICE, 100 * USDC)
    extcall VM.warp(accepted_at + GRACE + 1)
    assert staticcall fx.engine.health_factor(ALICE) == 0, "no usable price: 0"
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"price_guard: no usable price")
    extcall fx.engine.liquidate(ALICE, 100 * USDC, 0)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"price_guard: no usable price")
    extcall fx.engine.poke_price()
    extcall fx.feed.set_reverting(False)
    fx._set_price(1_500 * 10**8)
    fx._liquidate(KEEPER, ALICE, 100 * USDC)


@external
def test_answer_near_2_255_is_rejected_not_overflowed():
    """
    @notice Answers of 2**255 - 1 and 2**128 - 1: poke_price logs PriceRejected (reason 5, then 3) and keeps the
            last good price, health_factor answers at it; borrow reverts "price_guard: price out of range", then
            "price_guard: price deviation".
    """
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(1_000 * USDC)
    hf: uint256 = staticcall fx.engine.health_factor(ALICE)
    fx._step(60)
    fx._set_price(max_value(int256))
    extcall VM.expectEmit(False, False, False, True, fx.engine.address)
    log PriceRejected(answer=max_value(int256), updated_at=block.timestamp, reason=5, price_used=convert(PRICE, uint256))
    self._poke()
    assert staticcall fx.engine.health_factor(ALICE) == hf, "HF unchanged"
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"price_guard: price out of range")
    extcall fx.engine.borrow(10 * USDC)
    fx._step(60)
    fx._set_price(convert(max_value(uint128), int256))
    extcall VM.expectEmit(False, False, False, True, fx.engine.address)
    log PriceRejected(answer=convert(max_value(uint128), int256), updated_at=block.timestamp, reason=3, price_used=convert(PRICE, uint256))
    self._poke()
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"price_guard: price deviation")
    extcall fx.engine.borrow(10 * USDC)


# ---------------------------------------------------------------------------------------------------------------
# Finding 7: the interest index
# ---------------------------------------------------------------------------------------------------------------


@external
def test_config_rate_above_bound_rejected():
    """
    @notice A rate one above MAX_RATE_PER_SECOND (2.5e10): "margin_engine: invalid config"; the bound itself passes.
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.rate_per_second = 25 * 10**9
    assert staticcall fx.engine.validate_config(cfg), "bound accepted"
    cfg.rate_per_second = 25 * 10**9 + 1
    extcall VM.expectRevert(b"margin_engine: invalid config")
    success: bool = staticcall fx.engine.validate_config(cfg)


@external
def test_index_100_years_daily_accrual_at_max_rate_and_exits_work():
    """
    @notice At the maximum rate, accrued every day for 100 years (36,525 accruals through repay): the index grows
            past 1e34 x WAD and stays below 2**192 / 10**5; the lender's withdraw and a repayment still work.
            (The bound for every accrual pattern, once per second included, is proved in
            tests/python/test_margin_model.py::test_index_bound_100_years_any_accrual_pattern.)
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.rate_per_second = 25 * 10**9
    fx._deploy_market(cfg)
    fx._supply(LENDER, 100_000 * USDC)
    fx._fund_liquidator(KEEPER, 10**15)
    fx._open(ALICE, 10 * ETH, 1_000 * USDC)
    for i: uint256 in range(36_525):
        extcall VM.warp(block.timestamp + DAY)
        extcall VM.prank(KEEPER)
        extcall fx.engine.repay(ALICE, 1)
    index: uint256 = staticcall fx.engine.borrow_index()
    assert index > 10**34 * WAD, "the index grew"
    assert index < (2**192 - 1) // 10**5, "far below 2**192"
    self._exits_still_work(10**30)


@external
def test_accrual_saturates_instead_of_reverting():
    """
    @notice 10**13 seconds at the maximum rate in one accrual: the index saturates at 2**192 - 1 and stays there;
            repay and the lender's withdraw (of what the cash covers) still work.
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.rate_per_second = 25 * 10**9
    fx._deploy_market(cfg)
    fx._supply(LENDER, 100_000 * USDC)
    fx._fund_liquidator(KEEPER, 10**15)
    fx._open(ALICE, 10 * ETH, 1_000 * USDC)
    for i: uint256 in range(8):
        extcall VM.warp(block.timestamp + 10**13)
        extcall VM.prank(KEEPER)
        extcall fx.engine.repay(ALICE, 1)
    assert staticcall fx.engine.borrow_index() == 2**192 - 1, "saturated"
    extcall VM.warp(block.timestamp + 10**13)
    assert staticcall fx.engine.current_index() == 2**192 - 1, "stays"
    self._exits_still_work(10**34)


@internal
def _exits_still_work(fresh_cash: uint256):
    """
    @notice A new lender brings `fresh_cash` (a share is now worth far more than the original cash), a day passes,
            and the first lender's withdraw of one share and a repayment both accrue and succeed.
    @param fresh_cash The new lender's supply.
    """
    fx._supply(BOB, fresh_cash)
    extcall VM.warp(block.timestamp + DAY)
    extcall VM.prank(LENDER)
    assert extcall fx.engine.withdraw(1) > 0, "withdrawn"
    extcall VM.prank(KEEPER)
    assert extcall fx.engine.repay(ALICE, 1) == 1, "repaid"


# ---------------------------------------------------------------------------------------------------------------
# Finding 8: level table and MIN_DEBT
# ---------------------------------------------------------------------------------------------------------------


@external
def test_withdraw_collateral_at_level_2_does_not_move_price():
    """
    @notice With a newer valid round (+5%), a health-checked withdrawal at NO_LIQUIDATION validates the price but
            stores nothing; the same withdrawal at LIVE stores it.
    """
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(1_000 * USDC)
    fx._step(60)
    fx._set_price(2_100 * 10**8)
    extcall VM.prank(GUARDIAN)
    extcall fx.engine.raise_level(2, empty(bytes32))
    extcall VM.prank(ALICE)
    extcall fx.engine.withdraw_collateral(ETH)
    assert staticcall fx.engine.last_good_price() == convert(PRICE, uint256), "no price move at level 2"
    extcall VM.prank(GUARDIAN)
    extcall fx.engine.raise_level(3, empty(bytes32))
    extcall VM.prank(ALICE)
    extcall fx.engine.withdraw_collateral(ETH)
    assert staticcall fx.engine.last_good_price() == convert(PRICE, uint256), "no price move at level 3"
    extcall fx.engine.lower_level(0, empty(bytes32))
    extcall VM.prank(ALICE)
    extcall fx.engine.withdraw_collateral(ETH)
    assert staticcall fx.engine.last_good_price() == 2_100 * 10**8, "stored at level 0"


@external
def test_repay_leaving_debt_below_minimum_refused():
    """
    @notice A debt of 14,035 USDC: repaying all but 9.999999 USDC reverts "margin_engine: leftover debt below
            minimum"; all but exactly MIN_DEBT passes; then the rest clears the debt.
    """
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(HF_114_DEBT)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"margin_engine: leftover debt below minimum")
    extcall fx.engine.repay(ALICE, HF_114_DEBT - 10 * USDC + 1)
    extcall VM.prank(KEEPER)
    extcall fx.engine.repay(ALICE, HF_114_DEBT - 10 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 10 * USDC, "MIN_DEBT left"
    extcall VM.prank(KEEPER)
    extcall fx.engine.repay(ALICE, 10 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 0, "cleared"


# ---------------------------------------------------------------------------------------------------------------
# Finding 9: a debt token that switches a fee on later
# ---------------------------------------------------------------------------------------------------------------


@external
def test_fee_switching_debt_token_freezes_inflows_not_outflows():
    """
    @notice Decision (docs/liquidation.md, "Debt tokens that change"): the engine counts exact amounts, so once the
            debt token charges a fee, every transfer *into* the engine (supply, repay, liquidate) reverts
            "safe_token: received amount mismatch" and books nothing; every transfer *out* (lender withdraw,
            collateral withdrawal, fee collection) still works. Switching the fee off unfreezes repay and
            liquidate with the books intact.
    """
    token: FeeToken = FeeToken(fx._deploy("FeeOnTransferToken.vy", abi_encode(empty(uint256))))
    engine: MarginEngine.__interface__ = MarginEngine.__interface__(
        fx._deploy("MarginEngine.vy", abi_encode(token.address, fx.coll.address, fx.feed.address, GUARDIAN, fx._config()))
    )
    extcall token.mint(LENDER, 100_000 * ETH)
    extcall VM.prank(LENDER)
    extcall token.approve(engine.address, max_value(uint256))
    extcall VM.prank(LENDER)
    extcall engine.supply(100_000 * ETH)
    extcall fx.coll.mint(ALICE, 10 * ETH)
    extcall VM.startPrank(ALICE)
    extcall fx.coll.approve(engine.address, max_value(uint256))
    extcall engine.deposit(10 * ETH)
    extcall engine.borrow(14_000 * ETH)
    extcall token.approve(engine.address, max_value(uint256))
    extcall VM.stopPrank()
    extcall token.mint(KEEPER, 100_000 * ETH)
    extcall VM.prank(KEEPER)
    extcall token.approve(engine.address, max_value(uint256))
    fx._step(60)
    fx._set_price(1_500 * 10**8)
    extcall token.set_fee_bps(100)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"safe_token: received amount mismatch")
    extcall engine.repay(ALICE, 1_000 * ETH)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"safe_token: received amount mismatch")
    extcall engine.liquidate(ALICE, 1_000 * ETH, 0)
    cash: uint256 = staticcall engine.cash()
    extcall VM.prank(LENDER)
    paid: uint256 = extcall engine.withdraw(10**6 * 1_000 * ETH)
    assert staticcall engine.cash() == cash - paid, "the books move by what was sent"
    assert staticcall token.balanceOf(LENDER) == paid - paid // 100, "the lender bears its token's fee"
    extcall token.set_fee_bps(0)
    extcall VM.prank(KEEPER)
    extcall engine.liquidate(ALICE, 1_000 * ETH, 0)
    extcall VM.prank(ALICE)
    extcall engine.repay(ALICE, 1_000 * ETH)
