# pragma version ~=0.4.3
"""
@title SettlementLivenessTest
@notice No party can trap or redirect a series' collateral (issue 14, findings 1-4 and 9): the claim period starts
        at settlement, the circuit breaker holds settlement and the sweep back for at most MAX_SETTLEMENT_DELAY,
        `settle_fallback` settles a series nobody could settle, nothing can be sent to the series itself, a gap in
        the feed's rounds gives the settler no choice, and one holder the token refuses cannot block a batch.
"""

from .interfaces import IVm
from . import SettlementFixture as fx
from ...contracts import SettlementSeries
from ...contracts import SeriesFactory
from ...contracts.mocks import MockERC20
from ...contracts.mocks import MockAggregator

initializes: fx

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
GUARDIAN: constant(address) = 0x00000000000000000000000000000000000006A4
W1: constant(address) = 0x00000000000000000000000000000000000000A1
H1: constant(address) = 0x00000000000000000000000000000000000000B1
H2: constant(address) = 0x00000000000000000000000000000000000000b2
M6: constant(uint256) = 1_000_000_007
PRICE: constant(int256) = 212_345_678_901
REASON: constant(bytes32) = 0x686f7374696c6500000000000000000000000000000000000000000000000000
DAY: constant(uint256) = 86_400
LAPSE: constant(uint256) = fx.EXPIRY + fx.WINDOW + 7 * DAY
FALLBACK: constant(uint256) = fx.EXPIRY + fx.WINDOW + 14 * DAY


event ClaimSkipped:
    holder: indexed(address)
    units: uint256
    payout: uint256

factory: SeriesFactory.__interface__
token: MockERC20.__interface__
oracle: MockAggregator.__interface__


@external
def setUp():
    """
    @notice A factory, a 6-decimal collateral and a feed with one round before expiry.
    """
    extcall VM.warp(fx.START)
    self.factory = fx._factory()
    self.token = fx._token(6)
    self.oracle = fx._oracle()
    extcall self.oracle.set_round(1, 1, fx.EXPIRY - 1)


@internal
def _series() -> SettlementSeries.__interface__:
    """
    @notice A default series with one writer W1 who minted 3 units: 1 to H1 and 2 to H2.
    """
    s: SettlementSeries.__interface__ = fx._create(
        self.factory, self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, GUARDIAN
    )
    fx._mint(s, self.token.address, W1, 1, H1)
    fx._mint(s, self.token.address, W1, 2, H2)
    return s


@internal
def _hostile_guardian(s: SettlementSeries.__interface__, level: uint256):
    """
    @notice The guardian raises `level` (the owner, this contract, never lowers afterwards).
    """
    if level == 0:
        return
    extcall VM.prank(GUARDIAN)
    extcall s.raise_level(level, REASON)


@external
def test_constants_are_documented_values():
    """
    @notice MIN_CLAIM_PERIOD and MAX_SETTLEMENT_DELAY are seven days, FALLBACK_DELAY fourteen; the views agree.
    """
    s: SettlementSeries.__interface__ = self._series()
    assert staticcall s.MIN_CLAIM_PERIOD() == 7 * DAY
    assert staticcall s.MAX_SETTLEMENT_DELAY() == 7 * DAY
    assert staticcall s.FALLBACK_DELAY() == 14 * DAY
    assert staticcall s.settlement_guard_lapses_at() == LAPSE
    assert staticcall s.fallback_opens_at() == FALLBACK
    assert staticcall s.late_sweep_at() == 0


@external
def test_breaker_delays_settlement_at_most_max_delay_at_every_level():
    """
    @notice Finding 2: at each level 0-3 raised by the guardian right after expiry and never lowered, settlement
            is refused (levels 2 and 3) only until EXPIRY + SETTLEMENT_WINDOW + MAX_SETTLEMENT_DELAY; from then
            on it works, and every claim, reclaim and the sweep work at that level too.
    """
    series: DynArray[SettlementSeries.__interface__, 4] = []
    for level: uint256 in range(4):
        series.append(self._series())
    extcall VM.warp(fx.EXPIRY + 60)
    extcall self.oracle.set_round(2, PRICE, fx.EXPIRY + 60)
    for level: uint256 in range(4):
        self._hostile_guardian(series[level], level)
    extcall VM.warp(LAPSE - 1)
    for level: uint256 in range(4):
        if level >= 2:
            extcall VM.expectRevert(b"circuit_breaker: price moves paused")
            extcall series[level].settle(2)
    extcall VM.warp(LAPSE)
    for level: uint256 in range(4):
        s: SettlementSeries.__interface__ = series[level]
        if level < 2:
            assert staticcall s.settlement_price() == 0
        assert extcall s.settle(2) == convert(PRICE, uint256)
        assert staticcall s.settled_at() == LAPSE
        assert staticcall s.level() == level
        extcall VM.prank(H1)
        paid1: uint256 = extcall s.claim()
        extcall VM.prank(W1)
        back: uint256 = extcall s.reclaim()
        paid2: uint256 = extcall s.claim_for([H2])
        # n = 12,345,678,901 of CAP = 50,000,000,000: floors of 1, 2 and 3 units' exact shares
        assert paid1 == 246_913_579
        assert paid2 == 493_827_159
        assert back == 2_259_259_281
        dust: uint256 = 3 * M6 - paid1 - paid2 - back
        assert extcall s.sweep() == dust
        assert staticcall self.token.balanceOf(s.address) == 0


@external
def test_claim_period_starts_at_settlement():
    """
    @notice Finding 1: the guardian holds level 2 past the sweep deadline and the owner never lowers. Settled at
            the deadline, the series still gives holders MIN_CLAIM_PERIOD: a sweep in the same block (or one
            second before the period ends) reverts "claims outstanding"; the holders claim; then the sweep takes
            only what is left.
    """
    s: SettlementSeries.__interface__ = self._series()
    extcall VM.warp(fx.EXPIRY + 60)
    extcall self.oracle.set_round(2, PRICE, fx.EXPIRY + 60)
    self._hostile_guardian(s, 2)
    extcall VM.warp(fx.SWEEP_DEADLINE)
    extcall s.settle(2)
    assert staticcall s.late_sweep_at() == fx.SWEEP_DEADLINE + 7 * DAY
    extcall VM.expectRevert(b"settlement_series: claims outstanding")
    extcall s.sweep()
    extcall VM.warp(fx.SWEEP_DEADLINE + 7 * DAY - 1)
    extcall VM.expectRevert(b"settlement_series: claims outstanding")
    extcall s.sweep()
    extcall VM.prank(H1)
    assert extcall s.claim() == 246_913_579
    extcall VM.warp(fx.SWEEP_DEADLINE + 7 * DAY)
    # H2 did not claim within the period: its share and W1's are swept to the treasury
    assert extcall s.sweep() == 3 * M6 - 246_913_579
    assert staticcall self.token.balanceOf(fx.TREASURY) == 3 * M6 - 246_913_579


@external
def test_fallback_settles_a_series_nobody_can_settle():
    """
    @notice Finding 3: the first round after expiry lands after the settlement window and the reporter never
            reports, so `settle` reverts "stale round" forever. `settle_fallback` reverts "fallback not open"
            until EXPIRY + SETTLEMENT_WINDOW + FALLBACK_DELAY, then works for anyone at HALTED with the feed
            reverting: the series is void, holders are owed 0, the writer gets back every wei it locked, and
            every later settlement reverts "already settled".
    """
    s: SettlementSeries.__interface__ = self._series()
    self._hostile_guardian(s, 3)
    extcall VM.warp(fx.EXPIRY + fx.WINDOW + 1)
    extcall self.oracle.set_round(2, PRICE, fx.EXPIRY + fx.WINDOW + 1)
    extcall VM.warp(FALLBACK - 1)
    extcall VM.expectRevert(b"settlement_series: stale round")
    extcall s.settle(2)
    extcall VM.expectRevert(b"settlement_series: fallback not open")
    extcall s.settle_fallback()
    extcall VM.prank(H1)
    extcall VM.expectRevert(b"settlement_series: not settled")
    extcall s.claim()
    extcall VM.warp(FALLBACK)
    extcall self.oracle.set_reverting(True)
    extcall VM.prank(H2)
    assert extcall s.settle_fallback() == 0
    assert staticcall s.settled_at() == FALLBACK
    assert staticcall s.settlement_price() == 0
    n: uint256 = 0
    d: uint256 = 0
    n, d = staticcall s.payout_rate()
    assert n == 0 and d == fx.CAP
    assert staticcall s.reclaimable(W1) == 3 * M6
    extcall VM.expectRevert(b"settlement_series: already settled")
    extcall s.settle_fallback()
    extcall VM.expectRevert(b"settlement_series: already settled")
    extcall s.settle(2)
    extcall VM.prank(H1)
    assert extcall s.claim() == 0
    assert extcall s.claim_for([H2]) == 0
    extcall VM.prank(W1)
    assert extcall s.reclaim() == 3 * M6
    # every exit done: the sweep takes exactly nothing, and every deposited wei went back to its writer
    assert extcall s.sweep() == 0
    assert staticcall self.token.balanceOf(s.address) == 0
    assert staticcall self.token.balanceOf(W1) == 3 * M6


@external
def test_fallback_before_expiry_reverts():
    """
    @notice The fallback is a settlement: before expiry it reverts "not expired".
    """
    s: SettlementSeries.__interface__ = self._series()
    extcall VM.expectRevert(b"settlement_series: not expired")
    extcall s.settle_fallback()


@external
def test_nothing_can_be_sent_to_the_series_itself():
    """
    @notice Finding 4: a mint or transfer to the series' own address reverts "receiver is the series" (units
            there could never be claimed and their payout would be stranded).
    """
    s: SettlementSeries.__interface__ = self._series()
    extcall MockERC20.__interface__(self.token.address).mint(W1, M6)
    extcall VM.startPrank(W1)
    extcall self.token.approve(s.address, M6)
    extcall VM.expectRevert(b"settlement_series: receiver is the series")
    extcall s.mint(1, s.address)
    extcall VM.stopPrank()
    extcall VM.prank(H2)
    extcall VM.expectRevert(b"settlement_series: receiver is the series")
    extcall s.transfer(s.address, 1)


@external
def test_times_out_of_range_reverts():
    """
    @notice An expiry (or window) above 2**64 - 1 is refused, so no deadline sum can overflow.
    """
    extcall self.token.mint(self, 10_000)
    extcall self.token.approve(self.factory.address, 10_000)
    extcall VM.expectRevert(b"settlement_series: time out of range")
    extcall self.factory.create_series(
        self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, 2**64, fx.WINDOW, 2**65, fx.TREASURY,
        empty(address), GUARDIAN,
    )


@external
def test_round_gap_gives_the_settler_no_choice():
    """
    @notice Finding 9: rounds 2 and 4 are usable and round 3 is missing. Hinting round 4 reverts "not the first
            usable round" (the walk steps over the gap); only round 2 settles.
    """
    s: SettlementSeries.__interface__ = self._series()
    extcall VM.warp(fx.EXPIRY + 120)
    extcall self.oracle.set_round(2, PRICE, fx.EXPIRY + 60)
    extcall self.oracle.set_round(4, PRICE + 10**10, fx.EXPIRY + 120)
    extcall VM.expectRevert(b"settlement_series: not the first usable round")
    extcall s.settle(4)
    assert extcall s.settle(2) == convert(PRICE, uint256)


@external
def test_claim_for_skips_a_holder_the_token_refuses():
    """
    @notice Finding 9: with a blacklisting collateral, one blocked holder no longer reverts a `claim_for` batch:
            it is skipped (its units stay, ClaimSkipped is logged), the others are paid, and once unblocked it
            claims its exact share.
    """
    token: MockERC20.__interface__ = MockERC20.__interface__(
        fx._deploy("BlacklistToken.vy", abi_encode("Black", "BLK", convert(6, uint8)))
    )
    s: SettlementSeries.__interface__ = fx._create(self.factory, token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, GUARDIAN)
    fx._mint(s, token.address, W1, 1, H1)
    fx._mint(s, token.address, W1, 2, H2)
    extcall VM.warp(fx.EXPIRY + 60)
    extcall self.oracle.set_round(2, PRICE, fx.EXPIRY + 60)
    extcall s.settle(2)
    raw_call(token.address, abi_encode(H1, True, method_id=method_id("set_blocked(address,bool)")))
    extcall VM.expectEmit(True, False, False, True, s.address)
    log ClaimSkipped(holder=H1, units=1, payout=246_913_579)
    assert extcall s.claim_for([H1, H2]) == 493_827_159
    assert staticcall s.balanceOf(H1) == 1
    assert staticcall s.balanceOf(H2) == 0
    assert staticcall s.open_units() == 1
    assert staticcall token.balanceOf(H2) == 493_827_159
    raw_call(token.address, abi_encode(H1, False, method_id=method_id("set_blocked(address,bool)")))
    assert extcall s.claim_for([H1]) == 246_913_579
    assert staticcall token.balanceOf(H1) == 246_913_579
