# pragma version ~=0.4.3
"""
@title MarginCircuitBreakerTest
@notice The "Circuit-breaker rows" of docs/liquidation.md: every MarginEngine entry point at every level 0-3, one test
        per cell. Categories: borrow is new risk (level 0 only); liquidate and poke_price are liquidation / price
        steps (levels 0-1); supply, deposit and transfer_collateral are ordinary operations (levels 0-2); withdraw,
        withdraw_collateral (health-checked), repay and collect_fees are exits (every level).
"""

from .interfaces import IVm
from . import MarginFixture as fx

initializes: fx

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
GUARDIAN: constant(address) = 0x0000000000000000000000000000000006a4D1a4
LENDER: constant(address) = 0x000000000000000000000000000000000000d0D0
ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
BOB: constant(address) = 0x0000000000000000000000000000000000000B0b
CAROL: constant(address) = 0x0000000000000000000000000000000000000c4C
KEEPER: constant(address) = 0x000000000000000000000000000000000000cEE9
USDC: constant(uint256) = 10**6
ETH: constant(uint256) = 10**18
REASON: constant(bytes32) = keccak256("incident")

lender_shares: uint256


@external
def setUp():
    """
    @notice ALICE healthy (10 ETH, 1,000 USDC owed), BOB liquidatable after the price falls to $1,500 (1 ETH, 1,400
            owed), a funded keeper, the new price already published, and 1 wei of protocol fees to collect.
    """
    fx._deploy_market(fx._config())
    self.lender_shares = fx._supply(LENDER, 100_000 * USDC)
    fx._fund_liquidator(KEEPER, 100_000 * USDC)
    extcall fx.debt.mint(LENDER, 10 * USDC)
    fx._open(ALICE, 10 * ETH, 1_000 * USDC)
    fx._open(BOB, ETH, 1_400 * USDC)
    extcall fx.coll.mint(ALICE, ETH)
    extcall VM.prank(ALICE)
    extcall fx.debt.approve(fx.engine.address, max_value(uint256))
    fx._step(1)
    fx._set_price(1_500 * 10**8)


@internal
def _raise(level: uint256):
    """
    @notice The guardian raises the breaker to `level` (no-op at 0).
    @param level The level.
    """
    if level != 0:
        extcall VM.prank(GUARDIAN)
        extcall fx.engine.raise_level(level, REASON)


@external
def test_row_supply_level_0_allowed():
    """
    @notice supply at level 0: allowed.
    """
    self._raise(0)
    extcall VM.prank(LENDER)
    extcall fx.engine.supply(USDC)
    assert staticcall fx.engine.cash() > 0

@external
def test_row_supply_level_1_allowed():
    """
    @notice supply at level 1: allowed.
    """
    self._raise(1)
    extcall VM.prank(LENDER)
    extcall fx.engine.supply(USDC)
    assert staticcall fx.engine.cash() > 0

@external
def test_row_supply_level_2_allowed():
    """
    @notice supply at level 2: allowed.
    """
    self._raise(2)
    extcall VM.prank(LENDER)
    extcall fx.engine.supply(USDC)
    assert staticcall fx.engine.cash() > 0

@external
def test_row_supply_level_3_blocked():
    """
    @notice supply at level 3: "circuit_breaker: halted".
    """
    self._raise(3)
    extcall VM.prank(LENDER)
    extcall VM.expectRevert(b"circuit_breaker: halted")
    extcall fx.engine.supply(USDC)

@external
def test_row_withdraw_level_0_allowed():
    """
    @notice withdraw at level 0: allowed.
    """
    self._raise(0)
    extcall VM.prank(LENDER)
    extcall fx.engine.withdraw(10**12)
    assert staticcall fx.engine.shares(LENDER) == self.lender_shares - 10**12

@external
def test_row_withdraw_level_1_allowed():
    """
    @notice withdraw at level 1: allowed.
    """
    self._raise(1)
    extcall VM.prank(LENDER)
    extcall fx.engine.withdraw(10**12)
    assert staticcall fx.engine.shares(LENDER) == self.lender_shares - 10**12

@external
def test_row_withdraw_level_2_allowed():
    """
    @notice withdraw at level 2: allowed.
    """
    self._raise(2)
    extcall VM.prank(LENDER)
    extcall fx.engine.withdraw(10**12)
    assert staticcall fx.engine.shares(LENDER) == self.lender_shares - 10**12

@external
def test_row_withdraw_level_3_allowed():
    """
    @notice withdraw at level 3: allowed.
    """
    self._raise(3)
    extcall VM.prank(LENDER)
    extcall fx.engine.withdraw(10**12)
    assert staticcall fx.engine.shares(LENDER) == self.lender_shares - 10**12

@external
def test_row_deposit_level_0_allowed():
    """
    @notice deposit at level 0: allowed.
    """
    self._raise(0)
    extcall VM.prank(ALICE)
    extcall fx.engine.deposit(ETH)
    assert staticcall fx.engine.collateral(ALICE) == 11 * ETH

@external
def test_row_deposit_level_1_allowed():
    """
    @notice deposit at level 1: allowed.
    """
    self._raise(1)
    extcall VM.prank(ALICE)
    extcall fx.engine.deposit(ETH)
    assert staticcall fx.engine.collateral(ALICE) == 11 * ETH

@external
def test_row_deposit_level_2_allowed():
    """
    @notice deposit at level 2: allowed.
    """
    self._raise(2)
    extcall VM.prank(ALICE)
    extcall fx.engine.deposit(ETH)
    assert staticcall fx.engine.collateral(ALICE) == 11 * ETH

@external
def test_row_deposit_level_3_blocked():
    """
    @notice deposit at level 3: "circuit_breaker: halted".
    """
    self._raise(3)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"circuit_breaker: halted")
    extcall fx.engine.deposit(ETH)

@external
def test_row_withdraw_collateral_level_0_allowed():
    """
    @notice withdraw_collateral at level 0: allowed.
    """
    self._raise(0)
    extcall VM.prank(ALICE)
    extcall fx.engine.withdraw_collateral(ETH)
    assert staticcall fx.engine.collateral(ALICE) == 9 * ETH

@external
def test_row_withdraw_collateral_level_1_allowed():
    """
    @notice withdraw_collateral at level 1: allowed.
    """
    self._raise(1)
    extcall VM.prank(ALICE)
    extcall fx.engine.withdraw_collateral(ETH)
    assert staticcall fx.engine.collateral(ALICE) == 9 * ETH

@external
def test_row_withdraw_collateral_level_2_allowed():
    """
    @notice withdraw_collateral at level 2: allowed.
    """
    self._raise(2)
    extcall VM.prank(ALICE)
    extcall fx.engine.withdraw_collateral(ETH)
    assert staticcall fx.engine.collateral(ALICE) == 9 * ETH

@external
def test_row_withdraw_collateral_level_3_allowed():
    """
    @notice withdraw_collateral at level 3: allowed.
    """
    self._raise(3)
    extcall VM.prank(ALICE)
    extcall fx.engine.withdraw_collateral(ETH)
    assert staticcall fx.engine.collateral(ALICE) == 9 * ETH

@external
def test_row_transfer_collateral_level_0_allowed():
    """
    @notice transfer_collateral at level 0: allowed.
    """
    self._raise(0)
    extcall VM.prank(ALICE)
    extcall fx.engine.transfer_collateral(CAROL, ETH)
    assert staticcall fx.engine.collateral(CAROL) == ETH

@external
def test_row_transfer_collateral_level_1_allowed():
    """
    @notice transfer_collateral at level 1: allowed.
    """
    self._raise(1)
    extcall VM.prank(ALICE)
    extcall fx.engine.transfer_collateral(CAROL, ETH)
    assert staticcall fx.engine.collateral(CAROL) == ETH

@external
def test_row_transfer_collateral_level_2_allowed():
    """
    @notice transfer_collateral at level 2: allowed.
    """
    self._raise(2)
    extcall VM.prank(ALICE)
    extcall fx.engine.transfer_collateral(CAROL, ETH)
    assert staticcall fx.engine.collateral(CAROL) == ETH

@external
def test_row_transfer_collateral_level_3_blocked():
    """
    @notice transfer_collateral at level 3: "circuit_breaker: halted".
    """
    self._raise(3)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"circuit_breaker: halted")
    extcall fx.engine.transfer_collateral(CAROL, ETH)

@external
def test_row_borrow_level_0_allowed():
    """
    @notice borrow at level 0: allowed.
    """
    self._raise(0)
    extcall VM.prank(ALICE)
    extcall fx.engine.borrow(100 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 1_100 * USDC

@external
def test_row_borrow_level_1_blocked():
    """
    @notice borrow at level 1: "circuit_breaker: new risk paused".
    """
    self._raise(1)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"circuit_breaker: new risk paused")
    extcall fx.engine.borrow(100 * USDC)

@external
def test_row_borrow_level_2_blocked():
    """
    @notice borrow at level 2: "circuit_breaker: new risk paused".
    """
    self._raise(2)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"circuit_breaker: new risk paused")
    extcall fx.engine.borrow(100 * USDC)

@external
def test_row_borrow_level_3_blocked():
    """
    @notice borrow at level 3: "circuit_breaker: new risk paused".
    """
    self._raise(3)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"circuit_breaker: new risk paused")
    extcall fx.engine.borrow(100 * USDC)

@external
def test_row_repay_level_0_allowed():
    """
    @notice repay at level 0: allowed.
    """
    self._raise(0)
    extcall VM.prank(ALICE)
    extcall fx.engine.repay(ALICE, 100 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 900 * USDC

@external
def test_row_repay_level_1_allowed():
    """
    @notice repay at level 1: allowed.
    """
    self._raise(1)
    extcall VM.prank(ALICE)
    extcall fx.engine.repay(ALICE, 100 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 900 * USDC

@external
def test_row_repay_level_2_allowed():
    """
    @notice repay at level 2: allowed.
    """
    self._raise(2)
    extcall VM.prank(ALICE)
    extcall fx.engine.repay(ALICE, 100 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 900 * USDC

@external
def test_row_repay_level_3_allowed():
    """
    @notice repay at level 3: allowed.
    """
    self._raise(3)
    extcall VM.prank(ALICE)
    extcall fx.engine.repay(ALICE, 100 * USDC)
    assert staticcall fx.engine.debt_of(ALICE) == 900 * USDC

@external
def test_row_liquidate_level_0_allowed():
    """
    @notice liquidate at level 0: allowed.
    """
    self._raise(0)
    extcall VM.prank(KEEPER)
    extcall fx.engine.liquidate(BOB, 100 * USDC, 0)
    assert staticcall fx.engine.debt_of(BOB) == 1_300 * USDC

@external
def test_row_liquidate_level_1_allowed():
    """
    @notice liquidate at level 1: allowed.
    """
    self._raise(1)
    extcall VM.prank(KEEPER)
    extcall fx.engine.liquidate(BOB, 100 * USDC, 0)
    assert staticcall fx.engine.debt_of(BOB) == 1_300 * USDC

@external
def test_row_liquidate_level_2_blocked():
    """
    @notice liquidate at level 2: "circuit_breaker: liquidations paused".
    """
    self._raise(2)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"circuit_breaker: liquidations paused")
    extcall fx.engine.liquidate(BOB, 100 * USDC, 0)

@external
def test_row_liquidate_level_3_blocked():
    """
    @notice liquidate at level 3: "circuit_breaker: liquidations paused".
    """
    self._raise(3)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"circuit_breaker: liquidations paused")
    extcall fx.engine.liquidate(BOB, 100 * USDC, 0)

@external
def test_row_poke_price_level_0_allowed():
    """
    @notice poke_price at level 0: allowed.
    """
    self._raise(0)
    extcall VM.prank(KEEPER)
    extcall fx.engine.poke_price()
    assert staticcall fx.engine.last_good_price() == 1_500 * 10**8

@external
def test_row_poke_price_level_1_allowed():
    """
    @notice poke_price at level 1: allowed.
    """
    self._raise(1)
    extcall VM.prank(KEEPER)
    extcall fx.engine.poke_price()
    assert staticcall fx.engine.last_good_price() == 1_500 * 10**8

@external
def test_row_poke_price_level_2_blocked():
    """
    @notice poke_price at level 2: "circuit_breaker: price moves paused".
    """
    self._raise(2)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"circuit_breaker: price moves paused")
    extcall fx.engine.poke_price()

@external
def test_row_poke_price_level_3_blocked():
    """
    @notice poke_price at level 3: "circuit_breaker: price moves paused".
    """
    self._raise(3)
    extcall VM.prank(KEEPER)
    extcall VM.expectRevert(b"circuit_breaker: price moves paused")
    extcall fx.engine.poke_price()

@external
def test_row_collect_fees_level_0_allowed():
    """
    @notice collect_fees at level 0: allowed.
    """
    fx._liquidate(KEEPER, BOB, 100 * USDC)
    self._raise(0)
    extcall fx.engine.collect_fees(CAROL)
    assert staticcall fx.engine.protocol_fees() == 0

@external
def test_row_collect_fees_level_1_allowed():
    """
    @notice collect_fees at level 1: allowed.
    """
    fx._liquidate(KEEPER, BOB, 100 * USDC)
    self._raise(1)
    extcall fx.engine.collect_fees(CAROL)
    assert staticcall fx.engine.protocol_fees() == 0

@external
def test_row_collect_fees_level_2_allowed():
    """
    @notice collect_fees at level 2: allowed.
    """
    fx._liquidate(KEEPER, BOB, 100 * USDC)
    self._raise(2)
    extcall fx.engine.collect_fees(CAROL)
    assert staticcall fx.engine.protocol_fees() == 0

@external
def test_row_collect_fees_level_3_allowed():
    """
    @notice collect_fees at level 3: allowed.
    """
    fx._liquidate(KEEPER, BOB, 100 * USDC)
    self._raise(3)
    extcall fx.engine.collect_fees(CAROL)
    assert staticcall fx.engine.protocol_fees() == 0
