# pragma version ~=0.4.3
"""
@title PriceGuardTest
@notice Tests of contracts/modules/price_guard.vy through MarginEngine: price 0 and negative, stale by one second,
        a jump one basis point beyond the bound, every revert reason, and the rejected-price policy (strict paths
        revert; liquidations use the last good price within the grace period, and accept a jump after the
        confirmation window, so a rejected price never blocks liquidations for long).
"""

from .interfaces import IVm
from ...contracts import MarginEngine
from . import MarginFixture as fx

initializes: fx

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
LENDER: constant(address) = 0x000000000000000000000000000000000000d0D0
ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
KEEPER: constant(address) = 0x000000000000000000000000000000000000cEE9
USDC: constant(uint256) = 10**6
ETH: constant(uint256) = 10**18
PRICE: constant(int256) = 2_000 * 10**8
HEARTBEAT: constant(uint256) = 3_600
GRACE: constant(uint256) = 7_200
CONFIRMATION: constant(uint256) = 600


event PriceRejected:
    answer: int256
    updated_at: uint256
    reason: uint256
    price_used: uint256


@external
def setUp():
    """
    @notice A default market, 100,000 USDC supplied, ALICE with 10 ETH deposited, a funded keeper.
    """
    fx._deploy_market(fx._config())
    fx._supply(LENDER, 100_000 * USDC)
    fx._fund_liquidator(KEEPER, 100_000 * USDC)
    fx._deposit(ALICE, 10 * ETH)


@internal
def _round(answer: int256, updated_at: uint256):
    """
    @notice Writes the next round with `answer` updated at `updated_at`.
    @param answer The answer.
    @param updated_at Its update time.
    """
    extcall fx.feed.set_round(staticcall fx.feed.latest_round() + 1, answer, updated_at)


@external
def test_price_zero_rejected():
    """
    @notice Named: an answer of 0: borrow reverts "price_guard: non-positive price".
    """
    self._round(0, block.timestamp)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"price_guard: non-positive price")
    extcall fx.engine.borrow(100 * USDC)


@external
def test_price_negative_rejected():
    """
    @notice Named: a negative answer: borrow reverts "price_guard: non-positive price".
    """
    self._round(-1, block.timestamp)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"price_guard: non-positive price")
    extcall fx.engine.borrow(100 * USDC)


@external
def test_stale_by_one_second_rejected():
    """
    @notice Named: a round exactly HEARTBEAT old is fresh; one second older is stale: "price_guard: stale price".
    """
    fx._step(10_000)
    self._round(PRICE, block.timestamp - HEARTBEAT)
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(100 * USDC)
    extcall VM.warp(block.timestamp + 1)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"price_guard: stale price")
    extcall fx.engine.borrow(100 * USDC)


@external
def test_jump_one_bp_beyond_bound_rejected():
    """
    @notice Named: a fall of exactly 50% is accepted, 50.01% is one basis point beyond: "price_guard: price
            deviation".
    """
    fx._step(1)
    fx._set_price(PRICE // 2 - PRICE // 10_000)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"price_guard: price deviation")
    extcall fx.engine.borrow(100 * USDC)
    fx._step(1)
    fx._set_price(PRICE // 2)
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(100 * USDC)
    assert staticcall fx.engine.last_good_price() == convert(PRICE // 2, uint256)


@external
def test_invalid_guard_config_rejected():
    """
    @notice A zero heartbeat, a zero confirmation window or a deviation bound above 100%: "price_guard: invalid
            config".
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.heartbeat = 0
    extcall VM.expectRevert(b"price_guard: invalid config")
    ok: bool = staticcall fx.engine.validate_config(cfg)
    cfg = fx._config()
    cfg.confirmation_window = 0
    extcall VM.expectRevert(b"price_guard: invalid config")
    ok = staticcall fx.engine.validate_config(cfg)
    cfg = fx._config()
    cfg.max_deviation_bps = 10_001
    extcall VM.expectRevert(b"price_guard: invalid config")
    ok = staticcall fx.engine.validate_config(cfg)


@external
def test_liquidation_uses_last_good_price_within_grace():
    """
    @notice With a stale feed, a liquidation still runs at the last good price (PriceRejected, reason 2) within the
            grace period; after it, "price_guard: no usable price"; a fresh round restores liquidations.
    """
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(15_000 * USDC)
    fx._step(1)
    fx._set_price(PRICE * 9 // 10)  # $1,800: 18,000 x 80% = 14,400 < 15,000
    extcall VM.prank(KEEPER)
    extcall fx.engine.poke_price()
    accepted_at: uint256 = block.timestamp
    extcall VM.warp(accepted_at + HEARTBEAT + 1)
    extcall VM.expectEmit(False, False, False, True, fx.engine.address)
    log PriceRejected(answer=PRICE * 9 // 10, updated_at=accepted_at, reason=2, price_used=convert(PRICE * 9 // 10, uint256))
    fx._liquidate(KEEPER, ALICE, 100 * USDC)
    extcall VM.warp(accepted_at + GRACE + 1)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"price_guard: no usable price")
    extcall fx.engine.liquidate(ALICE, 100 * USDC, 0)
    fx._set_price(PRICE * 9 // 10)
    fx._liquidate(KEEPER, ALICE, 100 * USDC)


@external
def test_liquidation_with_zero_price_uses_last_good_within_grace():
    """
    @notice An answer of 0 does not stop a liquidation within the grace period (PriceRejected, reason 1).
    """
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(15_000 * USDC)
    fx._step(1)
    fx._set_price(PRICE * 9 // 10)
    extcall VM.prank(KEEPER)
    extcall fx.engine.poke_price()
    fx._step(60)
    fx._set_price(0)
    debt_before: uint256 = staticcall fx.engine.debt_of(ALICE)
    fx._liquidate(KEEPER, ALICE, 100 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == debt_before - 100 * USDC


@external
def test_jump_is_confirmed_after_window_and_never_blocks_liquidations():
    """
    @notice A 60% crash is beyond the bound: the first read records it (pending_since) and keeps the last good
            price, so the position is not yet liquidatable; CONFIRMATION seconds later the crash is accepted and
            the liquidation runs at the new price.
    """
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(15_000 * USDC)
    fx._step(1)
    fx._set_price(PRICE * 4 // 10)
    extcall VM.prank(KEEPER)
    assert extcall fx.engine.poke_price() == convert(PRICE, uint256)
    assert staticcall fx.engine.pending_since() == block.timestamp
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"margin_engine: position healthy")
    extcall fx.engine.liquidate(ALICE, 100 * USDC, 0)
    fx._step(CONFIRMATION)
    fx._set_price(PRICE * 4 // 10)
    fx._liquidate(KEEPER, ALICE, 100 * USDC)
    assert staticcall fx.engine.last_good_price() == convert(PRICE * 4 // 10, uint256)
    assert staticcall fx.engine.pending_since() == 0


@external
def test_jump_that_reverts_inside_bound_clears_pending():
    """
    @notice A jump followed by a price back inside the bound: the new price is accepted at once and the pending
            jump is forgotten.
    """
    fx._step(1)
    fx._set_price(PRICE * 3)
    extcall fx.engine.poke_price()
    assert staticcall fx.engine.pending_since() != 0
    fx._step(1)
    fx._set_price(PRICE * 11 // 10)
    assert extcall fx.engine.poke_price() == convert(PRICE * 11 // 10, uint256)
    assert staticcall fx.engine.pending_since() == 0
