# pragma version ~=0.4.3
"""
@title MarginLiquidationTest
@notice Liquidation tests of contracts/MarginEngine.vy: the named adversarial cases (HF exactly 1, exactly 0.95 and
        0.95 + 1 wei, a position one wei under the small-position threshold, leftover one wei under the minimum,
        debt_to_cover swept from 1 to 10,000 wei, self-liquidation directly and through a second contract), bad
        debt, the caps, slippage, and every liquidation revert reason.
@dev Positions are opened at $2,000 and the price then drops 50% to $1,000 (exactly the guard's bound), where
     value(c) = c * 1000e8 / 1e20 = c / 1e9: a collateral of v * 1e9 is worth exactly v debt units, so health
     factors floor(v * 0.8e18 / d) are hit to the wei.
"""

from .interfaces import IVm
from ...contracts import MarginEngine
from ...contracts.mocks import MarginSelfLiquidator
from . import MarginFixture as fx

initializes: fx

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
LENDER: constant(address) = 0x000000000000000000000000000000000000d0D0
ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
BOB: constant(address) = 0x0000000000000000000000000000000000000B0b
KEEPER: constant(address) = 0x000000000000000000000000000000000000cEE9
USDC: constant(uint256) = 10**6
ETH: constant(uint256) = 10**18
WAD: constant(uint256) = 10**18
BPS: constant(uint256) = 10_000
SCALE: constant(uint256) = 10**20
LOW_PRICE: constant(int256) = 1_000 * 10**8
BONUS: constant(uint256) = 10_500
FEE: constant(uint256) = 1_000
# @notice The engine's bucket length with the default one-hour window: ceil(3,600 / 4).
BUCKET: constant(uint256) = 900


event Liquidated:
    borrower: indexed(address)
    liquidator: indexed(address)
    debt_repaid: uint256
    collateral_seized: uint256
    fee: uint256
    bad_debt: uint256


event DeficitRecorded:
    borrower: indexed(address)
    amount: uint256
    total_deficit: uint256


event LiquidationCapped:
    borrower: indexed(address)
    requested: uint256
    allowed: uint256


@external
def setUp():
    """
    @notice A default market with 10**18 debt units supplied (enough for the huge exact-HF positions) and a keeper
            funded with as much.
    """
    self._market(fx._config())


@internal
def _market(cfg: MarginEngine.MarketConfig):
    """
    @notice Deploys a market with `cfg`, supplies liquidity and funds the keeper.
    @param cfg The configuration.
    """
    fx._deploy_market(cfg)
    fx._supply(LENDER, 10**18)
    fx._fund_liquidator(KEEPER, 10**18)


@internal
def _open_then_drop(borrower: address, debt: uint256, value_after: uint256):
    """
    @notice Opens a position of `debt` whose collateral is worth exactly `value_after` once the price halves.
    @param borrower The borrower.
    @param debt The debt.
    @param value_after The collateral's value at LOW_PRICE, in debt units.
    """
    fx._open(borrower, value_after * 10**9, debt)
    fx._step(1)
    fx._set_price(LOW_PRICE)


# --- health factor boundaries ------------------------------------------------------------------------------------


@external
def test_hf_exactly_one_is_not_liquidatable():
    """
    @notice Named: HF exactly 1 (value x 80% == debt): "margin_engine: position healthy".
    """
    self._open_then_drop(ALICE, 1_000 * USDC, 1_250 * USDC)
    assert staticcall fx.engine.health_factor(ALICE) == WAD
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"margin_engine: position healthy")
    extcall fx.engine.liquidate(ALICE, 1, 0)


@external
def test_hf_one_wei_under_one_is_liquidatable():
    """
    @notice One debt unit of value less than HF 1 is liquidatable (up to 50%: HF is above 0.95).
    """
    self._open_then_drop(ALICE, 1_000 * USDC, 1_250 * USDC - 1)
    assert staticcall fx.engine.health_factor(ALICE) < WAD
    fx._liquidate(KEEPER, ALICE, 1_000 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 500 * USDC


@external
def test_hf_exactly_095_allows_full_close():
    """
    @notice Named: HF exactly 0.95 (debt 8e17, value 0.95e18): the whole debt may be repaid at once.
    """
    self._open_then_drop(ALICE, 8 * 10**17, 95 * 10**16)
    assert staticcall fx.engine.health_factor(ALICE) == 95 * 10**16
    fx._liquidate(KEEPER, ALICE, 8 * 10**17)
    assert staticcall fx.engine.debt_of(ALICE) == 0


@external
def test_hf_095_plus_one_wei_closes_half():
    """
    @notice Named: HF 0.95e18 + 1: the close factor caps the repayment at 50% of the debt.
    """
    self._open_then_drop(ALICE, 8 * 10**17, 95 * 10**16 + 1)
    assert staticcall fx.engine.health_factor(ALICE) == 95 * 10**16 + 1
    fx._liquidate(KEEPER, ALICE, 8 * 10**17)
    assert staticcall fx.engine.debt_of(ALICE) == 4 * 10**17


@external
def test_small_position_one_wei_under_threshold_full_close():
    """
    @notice Named: a debt of SMALL_POSITION - 1 at HF 0.97 may be closed in full; at exactly SMALL_POSITION only
            half.
    """
    self._open_then_drop(ALICE, 100 * USDC - 1, 121_250_000)
    hf: uint256 = staticcall fx.engine.health_factor(ALICE)
    assert hf > 95 * 10**16 and hf < WAD
    fx._liquidate(KEEPER, ALICE, 100 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 0
    fx._deploy_market(fx._config())
    fx._supply(LENDER, 10**18)
    fx._fund_liquidator(KEEPER, 10**18)
    self._open_then_drop(BOB, 100 * USDC, 121_250_000)
    fx._liquidate(KEEPER, BOB, 100 * USDC)
    assert staticcall fx.engine.debt_of(BOB) == 50 * USDC


@external
def test_leftover_one_wei_under_minimum_reverts():
    """
    @notice Named: at HF 0.9, repaying all but MIN_DEBT - 1 reverts "margin_engine: leftover debt below minimum";
            all but exactly MIN_DEBT succeeds.
    """
    self._open_then_drop(ALICE, 1_000 * USDC, 1_125 * USDC)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"margin_engine: leftover debt below minimum")
    extcall fx.engine.liquidate(ALICE, 990 * USDC + 1, 0)
    fx._liquidate(KEEPER, ALICE, 990 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 10 * USDC


# --- exact seizure and fee ----------------------------------------------------------------------------------------


@external
def test_debt_to_cover_sweep_1_to_10000_wei():
    """
    @notice Named: debt_to_cover from 1 to 10,000 wei at an awkward price ($1,234.56789012): every liquidation
            seizes exactly floor(k x bonus / price) (never more than the exact entitlement, and the floor) and
            takes a fee of exactly ceil(bonus part x 10%) (never less than exact).
    """
    fx._open(ALICE, 75 * ETH // 10, 10_000 * USDC)
    fx._step(1)
    price: uint256 = 123_456_789_012
    fx._set_price(convert(price, int256))
    for k: uint256 in range(1, 10_001):
        coll_before: uint256 = staticcall fx.engine.collateral(ALICE)
        fees_before: uint256 = staticcall fx.engine.protocol_fees()
        out: uint256 = fx._liquidate(KEEPER, ALICE, k)
        seized: uint256 = coll_before - staticcall fx.engine.collateral(ALICE)
        fee: uint256 = staticcall fx.engine.protocol_fees() - fees_before
        assert out == seized - fee
        # seized <= exact k * bonus * scale / (price * BPS) < seized + 1
        assert seized * price * BPS <= k * BONUS * SCALE
        assert (seized + 1) * price * BPS > k * BONUS * SCALE
        bonus_part: uint256 = 0
        if seized * price > k * SCALE:
            bonus_part = seized * price - k * SCALE
        # fee >= exact bonus_part * FEE / (price * BPS) > fee - 1
        assert fee * price * BPS >= bonus_part * FEE
        if fee != 0:
            assert (fee - 1) * price * BPS < bonus_part * FEE


@external
def test_liquidation_pays_bonus_minus_fee_exactly():
    """
    @notice 500 USDC repaid at $1,000 and bonus 5%: 0.525 ETH seized, fee 10% of 0.025 ETH = 0.0025 ETH, the
            keeper gets 0.5225 ETH, and the Liquidated event carries those numbers.
    """
    self._open_then_drop(ALICE, 1_000 * USDC, 1_200 * USDC)
    extcall VM.expectEmit(True, True, True, True, fx.engine.address)
    log Liquidated(
        borrower=ALICE, liquidator=KEEPER, debt_repaid=500 * USDC, collateral_seized=525 * 10**15, fee=25 * 10**14, bad_debt=0
    )
    out: uint256 = fx._liquidate(KEEPER, ALICE, 500 * USDC)
    assert out == 5_225 * 10**14
    assert staticcall fx.coll.balanceOf(KEEPER) == out
    assert staticcall fx.engine.protocol_fees() == 25 * 10**14
    fees: uint256 = extcall fx.engine.collect_fees(BOB)
    assert fees == 25 * 10**14 and staticcall fx.coll.balanceOf(BOB) == fees


@external
def test_slippage_bound_reverts():
    """
    @notice min_collateral_out one wei above what the keeper would get: "margin_engine: slippage".
    """
    self._open_then_drop(ALICE, 1_000 * USDC, 1_200 * USDC)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"margin_engine: slippage")
    extcall fx.engine.liquidate(ALICE, 500 * USDC, 5_225 * 10**14 + 1)
    extcall VM.prank(KEEPER)
    assert extcall fx.engine.liquidate(ALICE, 500 * USDC, 5_225 * 10**14) == 5_225 * 10**14


@external
def test_liquidation_reverts_zero_and_no_debt():
    """
    @notice debt_to_cover 0: "margin_engine: zero amount"; a borrower without debt: "margin_engine: no debt".
    """
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"margin_engine: zero amount")
    extcall fx.engine.liquidate(ALICE, 0, 0)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"margin_engine: no debt")
    extcall fx.engine.liquidate(ALICE, 1, 0)


# --- bad debt -----------------------------------------------------------------------------------------------------


@external
def test_bad_debt_seizes_all_and_records_deficit():
    """
    @notice Collateral worth 800 USDC against 1,000 owed: all of it is seized for ceil(800 / 1.05) = 761,904,762
            repaid, the remaining 238,095,238 is written off (DeficitRecorded), the account owes nothing, and the
            lenders' assets drop by exactly that deficit.
    """
    self._open_then_drop(ALICE, 1_000 * USDC, 800 * USDC)
    assets_before: uint256 = staticcall fx.engine.total_assets()
    extcall VM.expectEmit(True, True, True, True, fx.engine.address)
    log DeficitRecorded(borrower=ALICE, amount=238_095_238, total_deficit=238_095_238)
    fx._liquidate(KEEPER, ALICE, 1_000 * USDC)
    assert staticcall fx.engine.collateral(ALICE) == 0
    assert staticcall fx.engine.debt_of(ALICE) == 0
    assert staticcall fx.engine.deficit() == 238_095_238
    assert staticcall fx.engine.total_assets() == assets_before - 238_095_238
    # The deficit is at most the true shortfall 1000 - 800 / 1.05 = 238.095238095... USDC.
    assert 238_095_238 * BONUS <= 1_000 * USDC * BONUS - 800 * USDC * BPS


# --- caps ---------------------------------------------------------------------------------------------------------


@internal
def _capped_market(cap_block: uint256, cap_window: uint256) -> uint256:
    """
    @notice A market with the given caps (window one hour, so buckets of 900 s) and ALICE at HF 0.9 with a debt of
            10,000 USDC (every liquidation below may close all it is allowed to: HF stays under 0.95).
    @param cap_block The per-block cap.
    @param cap_window The per-window cap.
    @return The current bucket id (timestamp // 900).
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.cap_per_block = cap_block
    cfg.cap_per_window = cap_window
    self._market(cfg)
    self._open_then_drop(ALICE, 10_000 * USDC, 11_250 * USDC)
    assert staticcall fx.engine.BUCKET_SECONDS() == BUCKET
    return block.timestamp // BUCKET


@internal
def _at(timestamp: uint256):
    """
    @notice Moves to `timestamp` in a new block, and the feed publishes LOW_PRICE again (so it is never stale).
    @param timestamp The new block's time.
    """
    extcall VM.warp(timestamp)
    extcall VM.roll(block.number + 1)
    extcall fx.feed.set_answer(LOW_PRICE)


@internal
@view
def _expect_buckets(expected: uint256[5]):
    """
    @notice Asserts the engine's `window_buckets()` (current bucket first) equal `expected`.
    @param expected The debt per bucket expected.
    """
    got: uint256[5] = staticcall fx.engine.window_buckets()
    for i: uint256 in range(5):
        assert got[i] == expected[i]


@internal
def _liquidate_exactly(amount: uint256):
    """
    @notice KEEPER liquidates ALICE for `amount` and checks that exactly `amount` was repaid.
    @param amount The debt to repay.
    """
    debt_before: uint256 = staticcall fx.engine.debt_of(ALICE)
    fx._liquidate(KEEPER, ALICE, amount)
    assert staticcall fx.engine.debt_of(ALICE) == debt_before - amount


@external
def test_cap_cuts_and_waits_for_next_block_and_window():
    """
    @notice Caps of 300 USDC per block and 500 per window: the first liquidation is cut to 300 (LiquidationCapped),
            a second one in the same block reverts "margin_engine: liquidation cap reached", the next block gets the
            window's 200 left, then nothing: not at the next full hour (a tumbling window would have refilled
            there, allowing 1,000 within a few seconds), not one window length later, only once the bucket of
            both liquidations has left the look-back.
    """
    h0: uint256 = self._capped_market(300 * USDC, 500 * USDC)
    t0: uint256 = block.timestamp
    extcall VM.expectEmit(True, True, True, True, fx.engine.address)
    log LiquidationCapped(borrower=ALICE, requested=10_000 * USDC, allowed=300 * USDC)
    fx._liquidate(KEEPER, ALICE, 10_000 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 9_700 * USDC
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"margin_engine: liquidation cap reached")
    extcall fx.engine.liquidate(ALICE, 1, 0)
    extcall VM.roll(block.number + 1)
    assert staticcall fx.engine.liquidation_room() == 200 * USDC
    extcall VM.expectEmit(True, True, True, True, fx.engine.address)
    log LiquidationCapped(borrower=ALICE, requested=9_700 * USDC, allowed=200 * USDC)
    fx._liquidate(KEEPER, ALICE, 10_000 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 9_500 * USDC
    self._at(block.timestamp + 12)
    assert staticcall fx.engine.liquidation_room() == 0
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"margin_engine: liquidation cap reached")
    extcall fx.engine.liquidate(ALICE, 1, 0)
    # The next full hour: still nothing (the window rolls, it does not reset).
    self._at((t0 // 3_600 + 1) * 3_600)
    assert staticcall fx.engine.liquidation_room() == 0
    # Exactly one window after the liquidations: still nothing (the look-back is longer, by up to one bucket).
    self._at(t0 + 3_600)
    assert staticcall fx.engine.liquidation_room() == 0
    # Bucket h0 leaves the look-back when bucket h0 + 5 starts.
    self._at((h0 + 5) * BUCKET)
    assert staticcall fx.engine.liquidation_room() == 300 * USDC
    self._liquidate_exactly(300 * USDC)


@external
def test_window_room_zero_until_oldest_bucket_drops_out():
    """
    @notice Named boundary: caps of 500 per block and per window; 300 liquidated in bucket h0, 200 in bucket h0 + 1.
            One second before bucket h0 + 5 starts the room is still 0; exactly at its start bucket h0's 300 drop out
            (room 300); one second before bucket h0 + 6 it is still 300; exactly at its start the 200 drop out too.
            Each amount drops out at least WINDOW seconds after it was liquidated.
    """
    h0: uint256 = self._capped_market(500 * USDC, 500 * USDC)
    t0: uint256 = block.timestamp
    self._liquidate_exactly(300 * USDC)
    self._at((h0 + 1) * BUCKET)
    t1: uint256 = block.timestamp
    self._liquidate_exactly(200 * USDC)
    assert staticcall fx.engine.window_used() == 500 * USDC
    self._at((h0 + 5) * BUCKET - 1)
    assert staticcall fx.engine.liquidation_room() == 0
    self._expect_buckets([0, 0, 0, 200 * USDC, 300 * USDC])
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"margin_engine: liquidation cap reached")
    extcall fx.engine.liquidate(ALICE, 1, 0)
    self._at((h0 + 5) * BUCKET)
    assert block.timestamp >= t0 + 3_600
    self._expect_buckets([0, 0, 0, 0, 200 * USDC])
    assert staticcall fx.engine.liquidation_room() == 300 * USDC
    self._at((h0 + 6) * BUCKET - 1)
    assert staticcall fx.engine.liquidation_room() == 300 * USDC
    self._at((h0 + 6) * BUCKET)
    assert block.timestamp >= t1 + 3_600
    assert staticcall fx.engine.liquidation_room() == 500 * USDC
    # Nothing was stored in between, so the first liquidation now sees an empty window and fills it.
    self._liquidate_exactly(500 * USDC)
    self._expect_buckets([500 * USDC, 0, 0, 0, 0])
    assert staticcall fx.engine.liquidation_room() == 0


@external
def test_liquidations_straddling_a_bucket_edge():
    """
    @notice Named boundary: 250 liquidated at the last second of bucket h and 250 at the first second of bucket
            h + 1 (two blocks, one second apart) land in different buckets and leave the look-back one bucket apart:
            the first exactly when bucket h + 5 starts (WINDOW + 1 s after it, the shortest look-back), the second
            when bucket h + 6 starts (WINDOW + BUCKET s after it, the longest). At no time in between is there room
            beyond what the true rolling window would give.
    """
    h0: uint256 = self._capped_market(500 * USDC, 500 * USDC)
    h: uint256 = h0 + 1
    self._at((h + 1) * BUCKET - 1)
    self._liquidate_exactly(250 * USDC)
    self._at((h + 1) * BUCKET)
    self._liquidate_exactly(250 * USDC)
    self._expect_buckets([250 * USDC, 250 * USDC, 0, 0, 0])
    assert staticcall fx.engine.liquidation_room() == 0
    # One window after the first liquidation (the true rolling window would free its 250 now): not yet.
    self._at((h + 1) * BUCKET - 1 + 3_600)
    assert staticcall fx.engine.liquidation_room() == 0
    self._at((h + 5) * BUCKET)
    assert staticcall fx.engine.liquidation_room() == 250 * USDC
    self._expect_buckets([0, 0, 0, 0, 250 * USDC])
    self._at((h + 6) * BUCKET - 1)
    assert staticcall fx.engine.liquidation_room() == 250 * USDC
    self._at((h + 6) * BUCKET)
    assert staticcall fx.engine.liquidation_room() == 500 * USDC


@external
def test_block_cap_resets_with_the_block_not_the_time():
    """
    @notice Caps of 300 per block and 10,000 per window: a new block at the same timestamp gets a fresh block cap
            (the block cap is per block number), and both blocks' liquidations count in the same bucket.
    """
    self._capped_market(300 * USDC, 10_000 * USDC)
    self._liquidate_exactly(300 * USDC)
    assert staticcall fx.engine.liquidation_room() == 0
    extcall VM.roll(block.number + 1)
    assert staticcall fx.engine.liquidation_room() == 300 * USDC
    self._liquidate_exactly(300 * USDC)
    self._expect_buckets([600 * USDC, 0, 0, 0, 0])
    assert staticcall fx.engine.window_used() == 600 * USDC


@external
def test_cap_cut_never_leaves_dust():
    """
    @notice A block cap of 995 USDC on a 1,000 USDC debt would leave 5 (< MIN_DEBT): the cut leaves exactly
            MIN_DEBT instead.
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.cap_per_block = 995 * USDC
    self._market(cfg)
    self._open_then_drop(ALICE, 1_000 * USDC, 1_125 * USDC)
    fx._liquidate(KEEPER, ALICE, 1_000 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 10 * USDC


# --- self-liquidation ---------------------------------------------------------------------------------------------


@external
def test_self_liquidation_reverts():
    """
    @notice A borrower liquidating its own position: "margin_engine: self liquidation".
    """
    self._open_then_drop(ALICE, 1_000 * USDC, 1_125 * USDC)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"margin_engine: self liquidation")
    extcall fx.engine.liquidate(ALICE, 100 * USDC, 0)


@external
def test_self_liquidation_through_second_contract_is_a_loss():
    """
    @notice Named: a contract ALICE controls is another address, so it can liquidate her. It gains her nothing:
            she repays k and her debt falls by k, her collateral (engine + wallet) falls by exactly the protocol
            fee. A plain repayment would have cost her nothing.
    """
    self._open_then_drop(ALICE, 1_000 * USDC, 1_125 * USDC)
    proxy: MarginSelfLiquidator.__interface__ = MarginSelfLiquidator.__interface__(
        fx._deploy("MarginSelfLiquidator.vy", abi_encode(ALICE, fx.engine.address, fx.debt.address, fx.coll.address))
    )
    extcall fx.debt.mint(ALICE, 500 * USDC)
    debt_before: uint256 = staticcall fx.engine.debt_of(ALICE)
    wealth_before: uint256 = staticcall fx.engine.collateral(ALICE) + staticcall fx.coll.balanceOf(ALICE)
    cash_before: uint256 = staticcall fx.debt.balanceOf(ALICE)
    extcall VM.prank(ALICE)
    extcall fx.debt.approve(proxy.address, 500 * USDC)
    extcall VM.prank(ALICE)
    extcall proxy.run(ALICE, 500 * USDC)
    fee: uint256 = staticcall fx.engine.protocol_fees()
    assert fee > 0
    assert staticcall fx.engine.collateral(ALICE) + staticcall fx.coll.balanceOf(ALICE) == wealth_before - fee
    assert cash_before - staticcall fx.debt.balanceOf(ALICE) == debt_before - staticcall fx.engine.debt_of(ALICE)
