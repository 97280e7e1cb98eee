# pragma version ~=0.4.3
"""
@title MarginWaveTest
@notice The massive-imbalance case: 100 positions of 1,000 USDC go underwater together (the price halves); the caps
        allow 5 positions' worth per block and 15 positions' worth per rolling one-hour window. A keeper liquidates
        as much as the caps allow, block after block; when the window cap binds it waits for the start of the next
        bucket (the moment the engine's look-back can move). Every liquidation is recorded (timestamp, block,
        repaid), and the record, not the engine's own views, is checked: for every liquidation at time t the debt
        repaid over (t - WINDOW, t] is at most the window cap, per block at most the block cap; the keeper only
        stops while positions are left because a cap binds (exactly: the block's or the look-back's usage equals
        its cap); no position is skipped (at the end each one is cleared or healthy); the deficit is no larger than
        the sum of the true shortfalls.
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
# @notice The engine's bucket length, ceil(WINDOW / 4).
BUCKET: constant(uint256) = 900
# @notice Room for the record of liquidations (the wave makes about 120).
MAX_RECORDS: constant(uint256) = 400

# @notice The record of every liquidation of the wave, in order: timestamp, block number, debt repaid.
rec_time: HashMap[uint256, uint256]
rec_block: HashMap[uint256, uint256]
rec_repaid: HashMap[uint256, uint256]
rec_count: uint256


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


@internal
def _record(repaid: uint256):
    """
    @notice Appends a liquidation made now to the record.
    @param repaid The debt it repaid.
    """
    n: uint256 = self.rec_count
    assert n < MAX_RECORDS
    self.rec_time[n] = block.timestamp
    self.rec_block[n] = block.number
    self.rec_repaid[n] = repaid
    self.rec_count = n + 1


@internal
@view
def _check_record_against_caps():
    """
    @notice The true rolling property on the record: for every liquidation i at time t, the debt repaid by
            liquidations at times in (t - WINDOW, t] up to i is at most CAP_WINDOW, and in i's block at most
            CAP_BLOCK. The heaviest span (t - WINDOW, t] ends at some liquidation's time, and the record is in time
            order, so checking at every i (the last one of its timestamp included) covers every span.
    """
    n: uint256 = self.rec_count
    for i: uint256 in range(MAX_RECORDS):
        if i == n:
            break
        t: uint256 = self.rec_time[i]
        in_window: uint256 = 0
        in_block: uint256 = 0
        for back: uint256 in range(MAX_RECORDS):
            if back > i:
                break
            j: uint256 = i - back
            assert self.rec_time[j] <= t  # the record is in time order
            if self.rec_time[j] + WINDOW <= t:
                break
            in_window += self.rec_repaid[j]
            if self.rec_block[j] == self.rec_block[i]:
                in_block += self.rec_repaid[j]
        assert in_window <= CAP_WINDOW
        assert in_block <= CAP_BLOCK


@external
def test_wave_of_100_positions_against_cap_of_15():
    """
    @notice The wave, finished over several windows within the caps (checked on the record of liquidations), with
            the keeper stopping only on a binding cap, no position skipped and no deficit beyond the true shortfall.
    """
    # The true shortfall of each position, times BONUS: debt x bonus - value x BPS when positive.
    shortfall_x_bonus: uint256 = 0
    for i: uint256 in range(POSITIONS):
        value: uint256 = (800 + 4 * i) * USDC
        if value * BPS < DEBT * BONUS:
            shortfall_x_bonus += DEBT * BONUS - value * BPS
    window_waits: uint256 = 0
    block_waits: uint256 = 0
    total_repaid: uint256 = 0
    done: bool = False
    for _: uint256 in range(MAX_ROUNDS):
        block_total: uint256 = 0
        for i: uint256 in range(POSITIONS):
            who: address = self._borrower(i)
            if not self._liquidatable(who):
                continue
            room: uint256 = staticcall fx.engine.liquidation_room()
            if room == 0:
                break
            debt_before: uint256 = staticcall fx.engine.debt_of(who)
            cash_before: uint256 = staticcall fx.engine.cash()
            fx._liquidate(KEEPER, who, debt_before)
            repaid: uint256 = staticcall fx.engine.cash() - cash_before
            assert repaid != 0 and repaid <= room
            assert staticcall fx.engine.debt_of(who) < debt_before
            self._record(repaid)
            block_total += repaid
            total_repaid += repaid
        still: bool = False
        for i: uint256 in range(POSITIONS):
            if self._liquidatable(self._borrower(i)):
                still = True
                break
        if not still:
            done = True
            break
        # The keeper only stops while positions are left when a cap binds, and then exactly up to the cap.
        assert staticcall fx.engine.liquidation_room() == 0
        if block_total == CAP_BLOCK:
            # The block is full: the rest waits for the next block.
            block_waits += 1
            fx._step(12)
        else:
            # The look-back (current bucket and the 4 before) is full: wait for the next bucket to start.
            assert staticcall fx.engine.window_used() == CAP_WINDOW
            window_waits += 1
            extcall VM.warp((block.timestamp // BUCKET + 1) * BUCKET)
            extcall VM.roll(block.number + 1)
        fx._set_price(LOW_PRICE)  # the feed keeps publishing
    assert done
    # The wave took several windows: more than five windows' worth of debt was repaid, and the keeper waited.
    assert total_repaid > 5 * CAP_WINDOW
    assert window_waits >= 5 and block_waits >= 5
    self._check_record_against_caps()
    # The record spans enough time for its total: over (t_first - WINDOW, t_last] at most one window cap per started
    # WINDOW seconds (a consequence of the rolling cap, checked here on the totals).
    span: uint256 = self.rec_time[self.rec_count - 1] - self.rec_time[0]
    assert total_repaid <= (span // WINDOW + 1) * CAP_WINDOW
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
