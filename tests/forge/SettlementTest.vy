# pragma version ~=0.4.3
"""
@title SettlementTest
@notice Unit tests of SettlementSeries and SeriesFactory: a full lifecycle with a 6-decimal and an 18-decimal
        collateral (amounts checked to the wei against hand-computed values), and every "settlement_series: ..."
        and "series_factory: ..." revert reason of the unsigned entry points.
"""

from .interfaces import IVm
from . import SettlementFixture as fx

initializes: fx
from ...contracts import SettlementSeries
from ...contracts import SeriesFactory
from ...contracts.mocks import MockERC20
from ...contracts.mocks import MockAggregator

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
W1: constant(address) = 0x00000000000000000000000000000000000000A1
W2: constant(address) = 0x00000000000000000000000000000000000000A2
H1: constant(address) = 0x00000000000000000000000000000000000000B1
H2: constant(address) = 0x00000000000000000000000000000000000000b2
H3: constant(address) = 0x00000000000000000000000000000000000000b3
GUARDIAN: constant(address) = 0x00000000000000000000000000000000000006A4
# @notice 500 collateral units of a 6-decimal token per unit: the payout per unit is n / 100 wei.
M6: constant(uint256) = 500 * 10**6
# @notice A settlement price of 2,123.45678901: n = 12,345,678,901.
PRICE: constant(int256) = 212_345_678_901

factory: SeriesFactory.__interface__
token: MockERC20.__interface__
oracle: MockAggregator.__interface__
series: SettlementSeries.__interface__


@external
def setUp():
    """
    @notice Deploys a 6-decimal token, a feed, the blueprint and the factory, and creates the default series.
    """
    extcall VM.warp(fx.START)
    self.factory = fx._factory()
    self.token = fx._token(6)
    self.oracle = fx._oracle()
    self.series = fx._create(self.factory, self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, GUARDIAN)
    extcall self.token.mint(self, 10_000)
    extcall self.token.approve(self.factory.address, max_value(uint256))


@internal
def _standard_book():
    """
    @notice W1 mints 3 units to H1 and later 2 to H2; W2 mints 5 to H3; H3 passes 1 unit to H1.
    """
    fx._mint(self.series, self.token.address, W1, 3, H1)
    extcall VM.warp(fx.START + 86_400)
    fx._mint(self.series, self.token.address, W1, 2, H2)
    fx._mint(self.series, self.token.address, W2, 5, H3)
    extcall VM.prank(H3)
    extcall self.series.transfer(H1, 1)


@external
def test_factory_registers_series():
    """
    @notice The factory records the series, and the series carries the terms it was created with.
    """
    assert staticcall self.factory.series_count() == 1
    assert staticcall self.factory.series(0) == self.series.address
    assert staticcall self.factory.is_series(self.series.address)
    assert staticcall self.series.owner() == self
    assert staticcall self.series.guardian() == GUARDIAN
    assert staticcall self.series.STRIKE() == fx.STRIKE
    assert staticcall self.series.CAP() == fx.CAP
    assert staticcall self.series.MAX_PAYOUT_PER_UNIT() == M6
    assert staticcall self.series.EXPIRY() == fx.EXPIRY
    assert staticcall self.series.TREASURY() == fx.TREASURY
    other: SettlementSeries.__interface__ = fx._create(
        self.factory, self.token.address, self.oracle.address, 1, 1, 1, GUARDIAN
    )
    assert other.address != self.series.address
    assert staticcall self.factory.series_count() == 2
    assert staticcall other.totalSupply() == 0


@external
def test_full_lifecycle_6_decimals():
    """
    @notice Mint in lots, transfer, settle at 2,123.45678901, claim, reclaim and sweep: every amount to the wei.
            n = 12,345,678,901; H1 and H3 hold 4 units (493,827,156 each), H2 2 units (246,913,578); each
            writer wrote 5 units and gets floor(5 * 37,654,321,099 / 100) = 1,882,716,054; the dust is 2.
    """
    self._standard_book()
    assert staticcall self.series.total_deposited() == 10 * M6
    assert staticcall self.token.balanceOf(self.series.address) == 10 * M6
    assert staticcall self.series.written(W1) == 5
    assert staticcall self.series.balanceOf(H1) == 4
    fx._settle_at(self.series, self.oracle, PRICE)
    assert staticcall self.series.settlement_price() == convert(PRICE, uint256)
    num: uint256 = 0
    den: uint256 = 0
    num, den = staticcall self.series.payout_rate()
    assert num == 12_345_678_901 and den == fx.CAP
    extcall VM.prank(H1)
    assert extcall self.series.claim() == 493_827_156
    extcall VM.prank(W1)
    assert extcall self.series.reclaim() == 1_882_716_054
    assert extcall self.series.claim_for([H2, H3, H1]) == 246_913_578 + 493_827_156
    extcall VM.prank(W2)
    assert extcall self.series.reclaim() == 1_882_716_054
    assert staticcall self.series.collateral_held() == 2
    assert extcall self.series.sweep() == 2
    assert staticcall self.token.balanceOf(fx.TREASURY) == 2
    assert staticcall self.token.balanceOf(self.series.address) == 0
    assert staticcall self.series.collateral_held() == 0
    assert staticcall self.token.balanceOf(H1) == 493_827_156
    assert staticcall self.token.balanceOf(H2) == 246_913_578
    assert staticcall self.token.balanceOf(H3) == 493_827_156
    assert staticcall self.series.total_paid() + staticcall self.series.total_reclaimed() + 2 == 10 * M6


@external
def test_full_lifecycle_18_decimals():
    """
    @notice Same book on an 18-decimal token with 1e18 + 1 wei per unit, settled in the money above the cap:
            holders get everything (units * (1e18 + 1)), writers nothing, no dust; payout_rate() is clamped
            to cap / cap.
    """
    token18: MockERC20.__interface__ = fx._token(18)
    m: uint256 = 10**18 + 1
    series: SettlementSeries.__interface__ = fx._create(
        self.factory, token18.address, self.oracle.address, fx.STRIKE, fx.CAP, m, GUARDIAN
    )
    fx._mint(series, token18.address, W1, 7, H1)
    fx._mint(series, token18.address, W2, 3, H2)
    fx._settle_at(series, self.oracle, convert(fx.STRIKE + fx.CAP + 1, int256))
    num: uint256 = 0
    den: uint256 = 0
    num, den = staticcall series.payout_rate()
    assert num == fx.CAP, "payout_rate not clamped to the cap"
    assert den == fx.CAP
    extcall VM.prank(H1)
    assert extcall series.claim() == 7 * m
    extcall VM.prank(H2)
    assert extcall series.claim() == 3 * m
    extcall VM.prank(W1)
    assert extcall series.reclaim() == 0
    extcall VM.prank(W2)
    assert extcall series.reclaim() == 0
    assert extcall series.sweep() == 0
    assert staticcall token18.balanceOf(series.address) == 0


@external
def test_writer_who_holds_keeps_both_accounts():
    """
    @notice A writer minting to itself claims as a holder and reclaims as a writer, separately and exactly.
    """
    fx._mint(self.series, self.token.address, W1, 3, W1)
    fx._settle_at(self.series, self.oracle, PRICE)
    extcall VM.startPrank(W1)
    # 3 * 12,345,678,901 / 100 = 370,370,367.03; 3 * 37,654,321,099 / 100 = 1,129,629,632.97
    assert extcall self.series.claim() == 370_370_367
    assert extcall self.series.reclaim() == 1_129_629_632
    extcall VM.stopPrank()
    assert extcall self.series.sweep() == 1


@external
def test_claim_for_skips_empty_and_repeated_holders():
    """
    @notice claim_for pays a holder once even if listed twice, and skips holders with nothing.
    """
    self._standard_book()
    fx._settle_at(self.series, self.oracle, PRICE)
    assert extcall self.series.claim_for([H2, H2, W1, H2]) == 246_913_578
    assert staticcall self.series.open_units() == 8
    assert extcall self.series.claim_for([]) == 0


# ---------------------------------------------------------------------------------------------
# Revert reasons: creation
# ---------------------------------------------------------------------------------------------


@internal
def _create_raw(token: address, oracle: address, cap: uint256, m: uint256, expiry: uint256, sweep: uint256, treasury: address):
    """
    @notice Calls create_series with chosen terms (setUp funded and approved the probe).
    @param token The collateral.
    @param oracle The feed.
    @param cap The spread width.
    @param m Collateral wei per unit.
    @param expiry The expiry.
    @param sweep The sweep deadline.
    @param treasury The treasury.
    """
    extcall self.factory.create_series(
        token, oracle, fx.STRIKE, cap, m, expiry, fx.WINDOW, sweep, treasury, empty(address), GUARDIAN
    )


@external
def test_create_zero_treasury_reverts():
    """
    @notice A zero treasury is refused.
    """
    extcall VM.expectRevert(b"settlement_series: zero address")
    self._create_raw(self.token.address, self.oracle.address, fx.CAP, M6, fx.EXPIRY, fx.SWEEP_DEADLINE, empty(address))


@external
def test_create_oracle_without_code_reverts():
    """
    @notice An oracle without code is refused.
    """
    extcall VM.expectRevert(b"settlement_series: no code")
    self._create_raw(self.token.address, W1, fx.CAP, M6, fx.EXPIRY, fx.SWEEP_DEADLINE, fx.TREASURY)


@external
def test_create_zero_cap_reverts():
    """
    @notice A zero spread width is refused.
    """
    extcall VM.expectRevert(b"settlement_series: zero cap")
    self._create_raw(self.token.address, self.oracle.address, 0, M6, fx.EXPIRY, fx.SWEEP_DEADLINE, fx.TREASURY)


@external
def test_create_zero_max_payout_reverts():
    """
    @notice A zero payout per unit is refused.
    """
    extcall VM.expectRevert(b"settlement_series: zero max payout")
    self._create_raw(self.token.address, self.oracle.address, fx.CAP, 0, fx.EXPIRY, fx.SWEEP_DEADLINE, fx.TREASURY)


@external
def test_create_expiry_in_past_reverts():
    """
    @notice An expiry before now is refused.
    """
    extcall VM.expectRevert(b"settlement_series: expiry in the past")
    self._create_raw(self.token.address, self.oracle.address, fx.CAP, M6, fx.START - 1, fx.SWEEP_DEADLINE, fx.TREASURY)


@external
def test_create_claim_period_too_short_reverts():
    """
    @notice A sweep deadline earlier than EXPIRY + SETTLEMENT_WINDOW + MIN_CLAIM_PERIOD is refused (so is one
            before expiry, or equal to it); exactly that sum is accepted.
    """
    shortest: uint256 = fx.EXPIRY + fx.WINDOW + 7 * 86_400
    extcall VM.expectRevert(b"settlement_series: claim period too short")
    self._create_raw(self.token.address, self.oracle.address, fx.CAP, M6, fx.EXPIRY, shortest - 1, fx.TREASURY)
    extcall VM.expectRevert(b"settlement_series: claim period too short")
    self._create_raw(self.token.address, self.oracle.address, fx.CAP, M6, fx.EXPIRY, fx.EXPIRY, fx.TREASURY)
    extcall VM.expectRevert(b"settlement_series: claim period too short")
    self._create_raw(self.token.address, self.oracle.address, fx.CAP, M6, fx.EXPIRY, fx.EXPIRY - 1, fx.TREASURY)
    self._create_raw(self.token.address, self.oracle.address, fx.CAP, M6, fx.EXPIRY, shortest, fx.TREASURY)


@external
def test_factory_blueprint_without_code_reverts():
    """
    @notice A factory on an address without code is refused.
    """
    implementation: address = staticcall self.factory.IMPLEMENTATION()
    extcall VM.expectRevert(b"series_factory: blueprint has no code")
    fx._deploy("SeriesFactory.vy", abi_encode(W1, implementation))


@external
def test_factory_implementation_without_code_reverts():
    """
    @notice A factory whose clone implementation has no code is refused.
    """
    extcall VM.expectRevert(b"series_factory: implementation has no code")
    fx._deploy("SeriesFactory.vy", abi_encode(fx.BLUEPRINT_AT, W1))


# ---------------------------------------------------------------------------------------------
# Revert reasons: mint and transfer
# ---------------------------------------------------------------------------------------------


@external
def test_mint_at_expiry_reverts():
    """
    @notice Nothing can be minted at or after expiry.
    """
    extcall VM.warp(fx.EXPIRY)
    extcall VM.expectRevert(b"settlement_series: expired")
    extcall self.series.mint(1, H1)


@external
def test_mint_zero_units_reverts():
    """
    @notice Minting zero units is refused.
    """
    extcall VM.expectRevert(b"settlement_series: zero units")
    extcall self.series.mint(0, H1)


@external
def test_mint_to_zero_reverts():
    """
    @notice Minting to the zero address is refused.
    """
    extcall VM.expectRevert(b"settlement_series: zero address")
    extcall self.series.mint(1, empty(address))


@external
def test_mint_too_large_reverts():
    """
    @notice A mint whose collateral would not fit in 256 bits is refused before any transfer.
    """
    extcall VM.expectRevert(b"settlement_series: mint too large")
    extcall self.series.mint(max_value(uint256) // M6 + 1, H1)


@external
def test_transfer_insufficient_balance_reverts():
    """
    @notice Moving more units than held is refused.
    """
    fx._mint(self.series, self.token.address, W1, 2, H1)
    extcall VM.prank(H1)
    extcall VM.expectRevert(b"settlement_series: insufficient balance")
    extcall self.series.transfer(H2, 3)


@external
def test_transfer_to_zero_reverts():
    """
    @notice Moving units to the zero address is refused.
    """
    fx._mint(self.series, self.token.address, W1, 2, H1)
    extcall VM.prank(H1)
    extcall VM.expectRevert(b"settlement_series: zero address")
    extcall self.series.transfer(empty(address), 1)


# ---------------------------------------------------------------------------------------------
# Revert reasons: settlement from the oracle
# ---------------------------------------------------------------------------------------------


@external
def test_settle_before_expiry_reverts():
    """
    @notice settle one second before expiry is refused.
    """
    extcall VM.warp(fx.EXPIRY - 1)
    extcall self.oracle.set_round(1, PRICE, fx.EXPIRY - 1)
    extcall VM.expectRevert(b"settlement_series: not expired")
    extcall self.series.settle(1)


@external
def test_settle_twice_reverts():
    """
    @notice The price is fixed once: a second settle (even from a later round) is refused.
    """
    fx._settle_at(self.series, self.oracle, PRICE)
    extcall self.oracle.set_round(3, 1, fx.EXPIRY + 61)
    extcall VM.expectRevert(b"settlement_series: already settled")
    extcall self.series.settle(3)
    assert staticcall self.series.settlement_price() == convert(PRICE, uint256)


@external
def test_settle_round_before_expiry_reverts():
    """
    @notice A round updated one second before expiry cannot settle.
    """
    extcall VM.warp(fx.EXPIRY + 10)
    extcall self.oracle.set_round(1, PRICE, fx.EXPIRY - 1)
    extcall VM.expectRevert(b"settlement_series: round before expiry")
    extcall self.series.settle(1)


@external
def test_settle_non_positive_price_reverts():
    """
    @notice A zero or negative answer cannot settle.
    """
    extcall VM.warp(fx.EXPIRY + 10)
    extcall self.oracle.set_round(1, 0, fx.EXPIRY)
    extcall VM.expectRevert(b"settlement_series: non-positive price")
    extcall self.series.settle(1)
    extcall self.oracle.set_round(1, -5, fx.EXPIRY)
    extcall VM.expectRevert(b"settlement_series: non-positive price")
    extcall self.series.settle(1)


@external
def test_settle_stale_round_reverts():
    """
    @notice Rounds updated after the window, in the future, or carried over are stale.
    """
    extcall VM.warp(fx.EXPIRY + fx.WINDOW + 10)
    extcall self.oracle.set_round(1, PRICE, fx.EXPIRY + fx.WINDOW + 1)
    extcall VM.expectRevert(b"settlement_series: stale round")
    extcall self.series.settle(1)
    extcall self.oracle.set_round(1, PRICE, fx.EXPIRY + fx.WINDOW + 11)
    extcall VM.expectRevert(b"settlement_series: stale round")
    extcall self.series.settle(1)
    extcall self.oracle.set_round_data(2, PRICE, fx.EXPIRY, fx.EXPIRY, 1)
    extcall VM.expectRevert(b"settlement_series: stale round")
    extcall self.series.settle(2)
    # the edge of the window is still fresh
    extcall self.oracle.set_round(1, PRICE, fx.EXPIRY + fx.WINDOW)
    extcall self.series.settle(1)


@external
def test_settle_not_first_usable_round_reverts():
    """
    @notice A later round cannot be used while an earlier usable round at or after expiry exists; unusable
            rounds in between are skipped.
    """
    extcall VM.warp(fx.EXPIRY + 100)
    extcall self.oracle.set_round(1, PRICE, fx.EXPIRY - 5)
    extcall self.oracle.set_round(2, PRICE, fx.EXPIRY)
    extcall self.oracle.set_round(3, 0, fx.EXPIRY + 1)
    extcall self.oracle.set_round(4, PRICE + 1, fx.EXPIRY + 2)
    extcall VM.expectRevert(b"settlement_series: not the first usable round")
    extcall self.series.settle(4)
    # round 3 fails the guard; with round 2 unusable too, round 4 is the first usable round
    extcall self.oracle.set_round(2, -1, fx.EXPIRY)
    extcall self.series.settle(4)
    assert staticcall self.series.settlement_price() == convert(PRICE + 1, uint256)


@external
def test_settle_round_scan_too_long_reverts():
    """
    @notice More than MAX_ROUND_SCAN unusable rounds after expiry before the hint: the oracle path gives up.
    """
    extcall VM.warp(fx.EXPIRY + 100)
    for i: uint80 in range(1, 19):
        extcall self.oracle.set_round(i, 0, fx.EXPIRY + convert(i, uint256))
    extcall self.oracle.set_round(19, PRICE, fx.EXPIRY + 19)
    extcall VM.expectRevert(b"settlement_series: round scan too long")
    extcall self.series.settle(19)


# ---------------------------------------------------------------------------------------------
# Revert reasons: exits and sweep
# ---------------------------------------------------------------------------------------------


@external
def test_claim_before_settle_reverts():
    """
    @notice Nothing is paid before settlement, even after expiry.
    """
    fx._mint(self.series, self.token.address, W1, 2, H1)
    extcall VM.warp(fx.EXPIRY + 1)
    extcall VM.prank(H1)
    extcall VM.expectRevert(b"settlement_series: not settled")
    extcall self.series.claim()
    extcall VM.prank(W1)
    extcall VM.expectRevert(b"settlement_series: not settled")
    extcall self.series.reclaim()
    extcall VM.expectRevert(b"settlement_series: not settled")
    extcall self.series.claim_for([H1])
    extcall VM.expectRevert(b"settlement_series: not settled")
    extcall self.series.sweep()


@external
def test_claim_nothing_reverts():
    """
    @notice A holder with no units (or already paid) has nothing to claim.
    """
    fx._mint(self.series, self.token.address, W1, 2, H1)
    fx._settle_at(self.series, self.oracle, PRICE)
    extcall VM.startPrank(H1)
    extcall self.series.claim()
    extcall VM.expectRevert(b"settlement_series: nothing to claim")
    extcall self.series.claim()
    extcall VM.stopPrank()


@external
def test_reclaim_nothing_reverts():
    """
    @notice A non-writer, or a writer already repaid, has nothing to reclaim.
    """
    fx._mint(self.series, self.token.address, W1, 2, H1)
    fx._settle_at(self.series, self.oracle, PRICE)
    extcall VM.prank(H1)
    extcall VM.expectRevert(b"settlement_series: nothing to reclaim")
    extcall self.series.reclaim()
    extcall VM.startPrank(W1)
    extcall self.series.reclaim()
    extcall VM.expectRevert(b"settlement_series: nothing to reclaim")
    extcall self.series.reclaim()
    extcall VM.stopPrank()


@external
def test_sweep_with_claims_outstanding_reverts():
    """
    @notice Before the sweep deadline the dust may be swept only once every claim and reclaim is done.
    """
    self._standard_book()
    fx._settle_at(self.series, self.oracle, PRICE)
    extcall self.series.claim_for([H1, H2, H3])
    extcall VM.expectRevert(b"settlement_series: claims outstanding")
    extcall self.series.sweep()
    extcall VM.prank(W1)
    extcall self.series.reclaim()
    extcall VM.expectRevert(b"settlement_series: claims outstanding")
    extcall self.series.sweep()


@external
def test_sweep_after_deadline_takes_unclaimed_and_blocks_claims():
    """
    @notice From the sweep deadline the treasury takes everything left; later claims, reclaims and sweeps revert.
    """
    self._standard_book()
    fx._settle_at(self.series, self.oracle, PRICE)
    extcall VM.prank(H1)
    extcall self.series.claim()
    extcall VM.warp(fx.SWEEP_DEADLINE)
    assert extcall self.series.sweep() == 10 * M6 - 493_827_156
    assert staticcall self.token.balanceOf(self.series.address) == 0
    extcall VM.prank(H2)
    extcall VM.expectRevert(b"settlement_series: swept")
    extcall self.series.claim()
    extcall VM.prank(W1)
    extcall VM.expectRevert(b"settlement_series: swept")
    extcall self.series.reclaim()
    extcall VM.expectRevert(b"settlement_series: swept")
    extcall self.series.sweep()
