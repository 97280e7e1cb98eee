# pragma version ~=0.4.3
"""
@title MarginEngineTest
@notice Unit tests of contracts/MarginEngine.vy outside liquidation: lenders, borrowers, interest, the health
        check on every balance-changing path, donations, the inflation attack, the configuration checks, and every
        non-liquidation revert reason with its exact string.
"""

from .interfaces import IVm
from ...contracts import MarginEngine
from . import MarginFixture as fx

initializes: fx

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
LENDER: constant(address) = 0x000000000000000000000000000000000000d0D0
LENDER2: constant(address) = 0x000000000000000000000000000000000000D0d1
ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
BOB: constant(address) = 0x0000000000000000000000000000000000000B0b
USDC: constant(uint256) = 10**6
ETH: constant(uint256) = 10**18
WAD: constant(uint256) = 10**18


@external
def setUp():
    """
    @notice A default market with 100,000 USDC supplied by LENDER.
    """
    fx._deploy_market(fx._config())
    fx._supply(LENDER, 100_000 * USDC)


# --- lenders ----------------------------------------------------------------------------------------------------


@external
def test_supply_mints_with_virtual_offset():
    """
    @notice shares = assets * (S + 1e6) / (A + 1), rounded down; the second lender gets the same price.
    """
    assert staticcall fx.engine.shares(LENDER) == 100_000 * USDC * 10**6
    minted: uint256 = fx._supply(LENDER2, 3 * USDC)
    expected: uint256 = 3 * USDC * (100_000 * USDC * 10**6 + 10**6) // (100_000 * USDC + 1)
    assert minted == expected
    assert staticcall fx.engine.cash() == 100_003 * USDC
    assert staticcall fx.engine.total_assets() == 100_003 * USDC


@external
def test_withdraw_redeems_rounded_down():
    """
    @notice Redeeming shares pays floor(shares * (A + 1) / (S + 1e6)) and burns the shares.
    """
    held: uint256 = staticcall fx.engine.shares(LENDER)
    before: uint256 = staticcall fx.debt.balanceOf(LENDER)
    extcall VM.prank(LENDER)
    paid: uint256 = extcall fx.engine.withdraw(held // 3)
    assert paid == (held // 3) * (100_000 * USDC + 1) // (held + 10**6)
    assert staticcall fx.debt.balanceOf(LENDER) == before + paid
    assert staticcall fx.engine.shares(LENDER) == held - held // 3


@external
def test_supply_zero_reverts():
    """
    @notice supply(0): "margin_engine: zero amount".
    """
    extcall VM.prank(LENDER)
    extcall VM.expectRevert(b"margin_engine: zero amount")
    extcall fx.engine.supply(0)


@external
def test_withdraw_more_shares_than_held_reverts():
    """
    @notice "margin_engine: insufficient shares".
    """
    held: uint256 = staticcall fx.engine.shares(LENDER)
    extcall VM.prank(LENDER)
    extcall VM.expectRevert(b"margin_engine: insufficient shares")
    extcall fx.engine.withdraw(held + 1)


@external
def test_withdraw_lent_out_cash_reverts():
    """
    @notice A lender cannot take cash that is lent out: "margin_engine: insufficient cash".
    """
    fx._open(ALICE, 100 * ETH, 90_000 * USDC)
    held: uint256 = staticcall fx.engine.shares(LENDER)
    extcall VM.prank(LENDER)
    extcall VM.expectRevert(b"margin_engine: insufficient cash")
    extcall fx.engine.withdraw(held)


@external
def test_supply_after_interest_rounding_to_zero_shares_reverts():
    """
    @notice When interest has made a share worth more than an asset unit times the offset, 1 wei mints 0 shares:
            "margin_engine: zero shares" (a deposit never silently donates).
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.rate_per_second = 25 * 10**9
    fx._deploy_market(cfg)
    fx._supply(LENDER, 100 * USDC)
    fx._open(ALICE, 1_000 * ETH, 50 * USDC)
    extcall VM.warp(block.timestamp + 10**14)
    extcall fx.debt.mint(LENDER2, 1)
    extcall VM.startPrank(LENDER2)
    extcall fx.debt.approve(fx.engine.address, 1)
    extcall VM.expectRevert(b"margin_engine: zero shares")
    extcall fx.engine.supply(1)
    extcall VM.stopPrank()


@external
def test_first_one_wei_deposit_then_huge_donation():
    """
    @notice Named: a 1-wei first deposit followed by a donation of 1,000,000 USDC straight to the engine. The
            donation is not counted (internal cash), so the next lender's shares are exactly proportional and far
            from zero.
    """
    fx._deploy_market(fx._config())
    first: uint256 = fx._supply(LENDER, 1)
    assert first == 10**6
    extcall fx.debt.mint(fx.engine.address, 1_000_000 * USDC)
    minted: uint256 = fx._supply(LENDER2, 1_000 * USDC)
    assert minted == 1_000 * USDC * (10**6 + 10**6) // (1 + 1)
    extcall VM.prank(LENDER2)
    assert extcall fx.engine.withdraw(minted) == 1_000 * USDC


@external
def test_donations_change_no_account():
    """
    @notice Named: tokens of both kinds sent directly to the engine change no price, share value, debt or
            health factor.
    """
    fx._open(ALICE, 1 * ETH, 1_000 * USDC)
    assets_before: uint256 = staticcall fx.engine.total_assets()
    hf_before: uint256 = staticcall fx.engine.health_factor(ALICE)
    worth_before: uint256 = staticcall fx.engine.convert_to_assets(10**12)
    extcall fx.debt.mint(fx.engine.address, 5_000_000 * USDC)
    extcall fx.coll.mint(fx.engine.address, 10_000 * ETH)
    assert staticcall fx.engine.total_assets() == assets_before
    assert staticcall fx.engine.health_factor(ALICE) == hf_before
    assert staticcall fx.engine.convert_to_assets(10**12) == worth_before
    assert staticcall fx.engine.collateral(ALICE) == 1 * ETH
    assert staticcall fx.engine.cash() == 99_000 * USDC


# --- borrowers --------------------------------------------------------------------------------------------------


@external
def test_borrow_up_to_ltv_exactly():
    """
    @notice 1 ETH at $2,000 with LTV 75% borrows exactly 1,500 USDC; one more wei reverts "margin_engine: exceeds
            ltv".
    """
    fx._deposit(ALICE, ETH)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"margin_engine: exceeds ltv")
    extcall fx.engine.borrow(1_500 * USDC + 1)
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(1_500 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 1_500 * USDC
    assert staticcall fx.debt.balanceOf(ALICE) == 1_500 * USDC


@external
def test_health_factor_is_rounded_down():
    """
    @notice 1 ETH at $2,000 (threshold 80%) against 1,500 USDC: HF = 2,000 x 0.8 / 1,500 = 1.0666... WAD, and the
            view answers the floor, 1_066_666_666_666_666_666 (rounded up it would end in 7: an account at the
            boundary would look healthier than it is).
    """
    fx._open(ALICE, ETH, 1_500 * USDC)
    assert staticcall fx.engine.health_factor(ALICE) == 1_066_666_666_666_666_666


@external
def test_borrow_below_min_debt_reverts():
    """
    @notice A debt under MIN_DEBT ($10): "margin_engine: debt below minimum".
    """
    fx._deposit(ALICE, ETH)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"margin_engine: debt below minimum")
    extcall fx.engine.borrow(10 * USDC - 1)


@external
def test_borrow_more_than_cash_reverts():
    """
    @notice "margin_engine: insufficient cash".
    """
    fx._deposit(ALICE, 1_000 * ETH)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"margin_engine: insufficient cash")
    extcall fx.engine.borrow(100_000 * USDC + 1)


@external
def test_zero_amounts_revert():
    """
    @notice deposit, borrow, repay, withdraw, withdraw_collateral and transfer_collateral of 0:
            "margin_engine: zero amount".
    """
    extcall VM.startPrank(ALICE)
    extcall VM.expectRevert(b"margin_engine: zero amount")
    extcall fx.engine.deposit(0)
    extcall VM.expectRevert(b"margin_engine: zero amount")
    extcall fx.engine.borrow(0)
    extcall VM.expectRevert(b"margin_engine: zero amount")
    extcall fx.engine.repay(ALICE, 0)
    extcall VM.expectRevert(b"margin_engine: zero amount")
    extcall fx.engine.withdraw(0)
    extcall VM.expectRevert(b"margin_engine: zero amount")
    extcall fx.engine.withdraw_collateral(0)
    extcall VM.expectRevert(b"margin_engine: zero amount")
    extcall fx.engine.transfer_collateral(BOB, 0)
    extcall VM.stopPrank()


@external
def test_repay_without_debt_reverts():
    """
    @notice "margin_engine: no debt".
    """
    extcall VM.prank(BOB)
    extcall VM.expectRevert(b"margin_engine: no debt")
    extcall fx.engine.repay(ALICE, 1)


@external
def test_repay_more_than_debt_is_cut_and_clears():
    """
    @notice Repaying more than the debt repays exactly the debt and clears the position.
    """
    fx._open(ALICE, ETH, 1_000 * USDC)
    extcall fx.debt.mint(ALICE, 10 * USDC)
    extcall VM.startPrank(ALICE)
    extcall fx.debt.approve(fx.engine.address, max_value(uint256))
    paid: uint256 = extcall fx.engine.repay(ALICE, 5_000 * USDC)
    extcall VM.stopPrank()
    assert paid == 1_000 * USDC
    assert staticcall fx.engine.debt_of(ALICE) == 0
    assert staticcall fx.engine.total_scaled_debt() == 0
    assert staticcall fx.debt.balanceOf(ALICE) == 10 * USDC


@external
def test_interest_rounds_debt_up_and_totals_never_underflow():
    """
    @notice With interest, each debt is ceil(scaled * index); two borrowers repaying in full (the sum of their
            rounded-up debts can exceed the rounded-up total) leave a total of exactly 0, with no underflow.
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.rate_per_second = 3_170_979_198  # about 10% a year, WAD per second
    fx._deploy_market(cfg)
    fx._supply(LENDER, 100_000 * USDC)
    fx._open(ALICE, 10 * ETH, 1_000 * USDC + 7)
    fx._open(BOB, 10 * ETH, 2_000 * USDC + 3)
    extcall VM.warp(block.timestamp + 86_400 * 37 + 11)
    index: uint256 = staticcall fx.engine.current_index()
    a: uint256 = staticcall fx.engine.debt_of(ALICE)
    b: uint256 = staticcall fx.engine.debt_of(BOB)
    scaled_a: uint256 = staticcall fx.engine.scaled_debt(ALICE)
    assert a == (scaled_a * index + WAD - 1) // WAD
    assert a > 1_000 * USDC + 7
    total: uint256 = staticcall fx.engine.total_debt()
    assert a + b >= total and a + b <= total + 2
    for who: address in [ALICE, BOB]:
        extcall fx.debt.mint(who, 1_000 * USDC)
        extcall VM.startPrank(who)
        extcall fx.debt.approve(fx.engine.address, max_value(uint256))
        extcall fx.engine.repay(who, max_value(uint256))
        extcall VM.stopPrank()
    assert staticcall fx.engine.total_scaled_debt() == 0
    assert staticcall fx.engine.total_debt() == 0


# --- the health check on every balance-changing path --------------------------------------------------------------


@external
def test_withdraw_collateral_keeps_health():
    """
    @notice With 1,000 USDC owed on 1 ETH ($2,000, threshold 80%), the most that can leave is 0.375 ETH
            (1,600 USDC of value at threshold needed: 0.625 ETH); a wei more reverts "margin_engine: health factor
            below one".
    """
    fx._open(ALICE, ETH, 1_000 * USDC)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"margin_engine: health factor below one")
    extcall fx.engine.withdraw_collateral(375 * 10**15 + 10**12)
    extcall VM.prank(ALICE)
    extcall fx.engine.withdraw_collateral(375 * 10**15)
    assert staticcall fx.engine.health_factor(ALICE) == WAD


@external
def test_transfer_collateral_keeps_health():
    """
    @notice transfer_collateral health-checks the sender: the same bound as a withdrawal.
    """
    fx._open(ALICE, ETH, 1_000 * USDC)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"margin_engine: health factor below one")
    extcall fx.engine.transfer_collateral(BOB, 375 * 10**15 + 10**12)
    extcall VM.prank(ALICE)
    extcall fx.engine.transfer_collateral(BOB, 375 * 10**15)
    assert staticcall fx.engine.collateral(BOB) == 375 * 10**15


@external
def test_withdraw_or_transfer_more_than_held_reverts():
    """
    @notice "margin_engine: insufficient collateral" on both paths.
    """
    fx._deposit(ALICE, ETH)
    extcall VM.startPrank(ALICE)
    extcall VM.expectRevert(b"margin_engine: insufficient collateral")
    extcall fx.engine.withdraw_collateral(ETH + 1)
    extcall VM.expectRevert(b"margin_engine: insufficient collateral")
    extcall fx.engine.transfer_collateral(BOB, ETH + 1)
    extcall VM.stopPrank()


@external
def test_zero_address_reverts():
    """
    @notice transfer_collateral and collect_fees to the zero address: "margin_engine: zero address".
    """
    fx._deposit(ALICE, ETH)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"margin_engine: zero address")
    extcall fx.engine.transfer_collateral(empty(address), 1)
    extcall VM.expectRevert(b"margin_engine: zero address")
    extcall fx.engine.collect_fees(empty(address))


@external
def test_withdraw_without_debt_needs_no_price():
    """
    @notice With no debt, collateral leaves even while the feed reverts (an exit needs no price).
    """
    fx._deposit(ALICE, ETH)
    extcall fx.feed.set_reverting(True)
    extcall VM.prank(ALICE)
    extcall fx.engine.withdraw_collateral(ETH)
    assert staticcall fx.coll.balanceOf(ALICE) == ETH


@external
def testFuzz_no_action_leaves_actor_unhealthy(collateral: uint256, borrowed: uint256, taken: uint256):
    """
    @notice Whatever amounts are tried, a borrow, withdrawal or transfer that succeeds leaves the actor with
            HF >= 1.
    """
    c: uint256 = collateral % (100 * ETH) + 1
    fx._deposit(ALICE, c)
    extcall VM.prank(ALICE)
    success: bool = raw_call(
        fx.engine.address, abi_encode(borrowed % (200_000 * USDC), method_id=method_id("borrow(uint256)")), revert_on_failure=False
    )
    extcall VM.prank(ALICE)
    success = raw_call(
        fx.engine.address, abi_encode(taken % c + 1, method_id=method_id("withdraw_collateral(uint256)")), revert_on_failure=False
    )
    extcall VM.prank(ALICE)
    success = raw_call(
        fx.engine.address,
        abi_encode(BOB, taken % (c // 2 + 1) + 1, method_id=method_id("transfer_collateral(address,uint256)")),
        revert_on_failure=False,
    )
    assert staticcall fx.engine.health_factor(ALICE) >= WAD


# --- configuration ------------------------------------------------------------------------------------------------


@external
def test_config_threshold_95_bonus_106_rejected():
    """
    @notice Named: threshold 95% with bonus 106% (0.95 x 1.06 = 1.007 > 1): "margin_engine: threshold times
            bonus above one"; 94% x 106% = 0.9964 passes.
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.threshold_bps = 9_500
    cfg.bonus_bps = 10_600
    extcall VM.expectRevert(b"margin_engine: threshold times bonus above one")
    success: bool = staticcall fx.engine.validate_config(cfg)
    cfg.threshold_bps = 9_400
    assert staticcall fx.engine.validate_config(cfg)


@external
def test_config_bonus_not_above_one_rejected():
    """
    @notice A bonus of exactly 100%: "margin_engine: bonus not above one".
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.bonus_bps = 10_000
    extcall VM.expectRevert(b"margin_engine: bonus not above one")
    success: bool = staticcall fx.engine.validate_config(cfg)


@external
def test_config_other_rules_rejected():
    """
    @notice LTV above threshold, a small-position bound under twice the minimum debt, a block cap above the window
            cap: each "margin_engine: invalid config".
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.ltv_bps = 8_001
    extcall VM.expectRevert(b"margin_engine: invalid config")
    success: bool = staticcall fx.engine.validate_config(cfg)
    cfg = fx._config()
    cfg.small_position = 2 * cfg.min_debt - 1
    extcall VM.expectRevert(b"margin_engine: invalid config")
    success = staticcall fx.engine.validate_config(cfg)
    cfg = fx._config()
    cfg.cap_per_block = cfg.cap_per_window + 1
    extcall VM.expectRevert(b"margin_engine: invalid config")
    success = staticcall fx.engine.validate_config(cfg)


@external
def test_price_scale_decimals():
    """
    @notice PRICE_SCALE = 10 ** (18 + 8 - 6) here; a negative exponent: "margin_engine: invalid decimals".
    """
    assert staticcall fx.engine.PRICE_SCALE() == 10**20
    assert staticcall fx.engine.price_scale_for(6, 6, 8) == 10**8
    extcall VM.expectRevert(b"margin_engine: invalid decimals")
    success: uint256 = staticcall fx.engine.price_scale_for(0, 18, 8)
