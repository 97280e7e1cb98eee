# pragma version ~=0.4.3
"""
@title MarginWaveTest
@notice The massive-imbalance case: 100 positions of 1,000 USDC go underwater together (the price halves); the caps
        allow 5 positions' worth per block and 15 positions' worth per one-hour window. A keeper liquidates as
        much as the caps allow, block after block, window after window. Checked: every block and window stays
        within its cap, every window but the last is filled exactly to the cap, no position is skipped (at the
        end each one is cleared or healthy), and the deficit is no larger than the sum of the true shortfalls.
"""

from .interfaces import IVm
from ...contracts import MarginEngine
from . import MarginFixture as fx

initializes: fx

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
LENDER: constant(address) = 0x000000000000000000000000000000000000d0D0
KEEPER: constant(address) = 0x000000000000000000000000000000000000cEE9
USDC: constant(uint256) = 10**6
WAD: constant(uint256) = 10**18
BPS: constant(uint256) = 10_000
BONUS: constant(uint256) = 10_500
POSITIONS: constant(uint256) = 100
DEBT: constant(uint256) = 1_000 * USDC
WINDOW: constant(uint256) = 3_600
CAP_BLOCK: constant(uint256) = 5 * DEBT
CAP_WINDOW: constant(uint256) = 15 * DEBT
LOW_PRICE: constant(int256) = 1_000 * 10**8
MAX_ROUNDS: constant(uint256) = 200


@external
def setUp():
    """
    @notice The market with the caps, 200,000 USDC supplied, 100 borrowers of 1,000 USDC each whose collateral is
            worth 800 + 4i USDC after the price halves (i = 0..99): the first 63 end in bad debt, the last three
            are above HF 0.95 and only half-closable, the others may end healthy after a cut liquidation.
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.cap_per_block = CAP_BLOCK
    cfg.cap_per_window = CAP_WINDOW
    cfg.window_seconds = WINDOW
    fx._deploy_market(cfg)
    fx._supply(LENDER, 200_000 * USDC)
    fx._fund_liquidator(KEEPER, 200_000 * USDC)
    for i: uint256 in range(POSITIONS):
        fx._open(self._borrower(i), (800 + 4 * i) * 10**15, DEBT)
    fx._step(1)
    fx._set_price(LOW_PRICE)


@internal
@pure
def _borrower(i: uint256) -> address:
    """
    @notice The i-th borrower's address.
    @param i The index.
    @return The address.
    """
    return convert(convert(1_048_576 + i, uint160), address)


@internal
@view
def _liquidatable(account: address) -> bool:
    """
    @notice True if `account` has debt and HF < 1.
    @param account The borrower.
    @return Whether a liquidation would pass the health check.
    """
    return staticcall fx.engine.debt_of(account) != 0 and staticcall fx.engine.health_factor(account) < WAD


@external
def test_wave_of_100_positions_against_cap_of_15():
    """
    @notice The wave, finished over several windows within the caps, with no position skipped and no deficit beyond
            the true shortfall.
    """
    # The true shortfall of each position, times BONUS: debt x bonus - value x BPS when positive.
    shortfall_x_bonus: uint256 = 0
    for i: uint256 in range(POSITIONS):
        value: uint256 = (800 + 4 * i) * USDC
        if value * BPS < DEBT * BONUS:
            shortfall_x_bonus += DEBT * BONUS - value * BPS
    windows: uint256 = 0
    window_total: uint256 = 0
    done: bool = False
    for _: uint256 in range(MAX_ROUNDS):
        if done:
            break
        block_total: uint256 = 0
        for i: uint256 in range(POSITIONS):
            who: address = self._borrower(i)
            if not self._liquidatable(who):
                continue
            room: uint256 = staticcall fx.engine.liquidation_room()
            if room == 0:
                break
            debt_before: uint256 = staticcall fx.engine.debt_of(who)
            assets_before: uint256 = staticcall fx.engine.cash()
            fx._liquidate(KEEPER, who, debt_before)
            repaid: uint256 = staticcall fx.engine.cash() - assets_before
            assert repaid <= room
            assert staticcall fx.engine.debt_of(who) < debt_before
            block_total += repaid
            window_total += repaid
        assert block_total <= CAP_BLOCK
        assert window_total <= CAP_WINDOW
        still: bool = False
        for i: uint256 in range(POSITIONS):
            if self._liquidatable(self._borrower(i)):
                still = True
                break
        if not still:
            done = True
            break
        # The keeper only stops while positions are left when a cap binds: exactly up to the cap.
        assert staticcall fx.engine.liquidation_room() == 0
        if window_total == CAP_WINDOW:
            # Window full: the rest waits for the next window (the feed keeps publishing).
            windows += 1
            window_total = 0
            extcall VM.warp((block.timestamp // WINDOW + 1) * WINDOW)
            extcall VM.roll(block.number + 1)
            fx._set_price(LOW_PRICE)
        else:
            assert block_total == CAP_BLOCK
            fx._step(12)
    assert done
    assert windows >= 5
    # No position skipped: every one is cleared or healthy.
    for i: uint256 in range(POSITIONS):
        who: address = self._borrower(i)
        assert not self._liquidatable(who)
        if (800 + 4 * i) * USDC * BPS < DEBT * BONUS:
            assert staticcall fx.engine.debt_of(who) == 0
            assert staticcall fx.engine.collateral(who) == 0
    deficit: uint256 = staticcall fx.engine.deficit()
    assert deficit > 0
    assert deficit * BONUS <= shortfall_x_bonus
    # The books: the total scaled debt is exactly the sum of what the accounts still owe.
    owed: uint256 = 0
    for i: uint256 in range(POSITIONS):
        owed += staticcall fx.engine.scaled_debt(self._borrower(i))
    assert staticcall fx.engine.total_scaled_debt() == owed
