# pragma version ~=0.4.3
"""
@title SettlementAdversarialTest
@notice Named adversarial cases of SettlementSeries, each checked to the wei: 1 wei pool over 1,000 holders;
        10**18 + 7 over three equal holders; one holder with 1 unit out of 10**30; the price exactly at the strike
        and one wei on each side; a collateral token that returns no value; a fee-on-transfer collateral (rejected
        at series creation, and at mint if the fee is switched on later).
"""

from .interfaces import IVm
from . import SettlementFixture as fx
from ...contracts import SettlementSeries
from ...contracts import SeriesFactory
from ...contracts.mocks import MockERC20
from ...contracts.mocks import MockAggregator

initializes: fx


interface INoReturnToken:
    def mint(to: address, amount: uint256): nonpayable
    def approve(spender: address, amount: uint256): nonpayable
    def balanceOf(account: address) -> uint256: view


interface IFeeToken:
    def mint(to: address, amount: uint256): nonpayable
    def approve(spender: address, amount: uint256) -> bool: nonpayable
    def set_fee_bps(fee_bps_: uint256): nonpayable


VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
W1: constant(address) = 0x00000000000000000000000000000000000000A1
H1: constant(address) = 0x00000000000000000000000000000000000000B1
H2: constant(address) = 0x00000000000000000000000000000000000000b2
H3: constant(address) = 0x00000000000000000000000000000000000000b3
GUARDIAN: constant(address) = 0x00000000000000000000000000000000000006A4
HOLDER_BASE: constant(uint256) = 65_536

factory: SeriesFactory.__interface__
token: MockERC20.__interface__
oracle: MockAggregator.__interface__


@external
def setUp():
    """
    @notice A factory, an 18-decimal token and a feed.
    """
    extcall VM.warp(fx.START)
    self.factory = fx._factory()
    self.token = fx._token(18)
    self.oracle = fx._oracle()


@external
def test_one_wei_pool_over_1000_holders():
    """
    @notice 1,000 holders of 1 unit, M = 1 wei, rate 1/1,000: the holders' pool is exactly 1 wei and every holder
            is owed 1/1,000 wei, so each is paid 0; the writer gets exactly 1,000 * 999 / 1,000 = 999; the 1 wei
            is dust swept to the treasury, never paid twice and never lost.
    """
    series: SettlementSeries.__interface__ = fx._create(self.factory, self.token.address, self.oracle.address, 100, 1_000, 1, GUARDIAN)
    fx._mint(series, self.token.address, W1, 1_000, W1)
    holders: DynArray[address, 256] = []
    extcall VM.startPrank(W1)
    for i: uint256 in range(1_000):
        extcall series.transfer(convert(HOLDER_BASE + i, address), 1)
    extcall VM.stopPrank()
    fx._settle_at(series, self.oracle, 101)
    for batch: uint256 in range(4):
        holders = []
        for i: uint256 in range(250):
            holders.append(convert(HOLDER_BASE + batch * 250 + i, address))
        assert extcall series.claim_for(holders) == 0
    assert staticcall series.open_units() == 0
    extcall VM.prank(W1)
    assert extcall series.reclaim() == 999
    assert extcall series.sweep() == 1
    assert staticcall self.token.balanceOf(fx.TREASURY) == 1
    assert staticcall self.token.balanceOf(series.address) == 0


@external
def test_10_pow_18_plus_7_over_three_equal_holders():
    """
    @notice M = 10**18 + 7 wei, cap 3, price strike + 1: each of three 1-unit holders is owed (10**18 + 7) / 3 =
            333,333,333,333,333,335.67 and is paid 333,333,333,333,333,335; the writer reclaims exactly 2M; 2 wei
            of dust (< 3 payouts).
    """
    m: uint256 = 10**18 + 7
    series: SettlementSeries.__interface__ = fx._create(self.factory, self.token.address, self.oracle.address, 100, 3, m, GUARDIAN)
    fx._mint(series, self.token.address, W1, 1, H1)
    fx._mint(series, self.token.address, W1, 1, H2)
    fx._mint(series, self.token.address, W1, 1, H3)
    fx._settle_at(series, self.oracle, 101)
    assert extcall series.claim_for([H1, H2, H3]) == 3 * 333_333_333_333_333_335
    assert staticcall self.token.balanceOf(H2) == 333_333_333_333_333_335
    extcall VM.prank(W1)
    assert extcall series.reclaim() == 2 * m
    assert extcall series.sweep() == 2
    assert staticcall self.token.balanceOf(series.address) == 0


@external
def test_one_unit_out_of_10_pow_30():
    """
    @notice 10**30 units at M = 1, rate 3/7: the 1-unit holder is owed 3/7 wei and gets 0; the other holder gets
            floor((10**30 - 1) * 3 / 7); the writer floor(10**30 * 4 / 7); the dust is what is left (< 3).
    """
    total: uint256 = 10**30
    series: SettlementSeries.__interface__ = fx._create(self.factory, self.token.address, self.oracle.address, 100, 7, 1, GUARDIAN)
    fx._mint(series, self.token.address, W1, 1, H1)
    fx._mint(series, self.token.address, W1, total - 1, H2)
    fx._settle_at(series, self.oracle, 103)
    extcall VM.prank(H1)
    assert extcall series.claim() == 0
    big: uint256 = (total - 1) * 3 // 7
    extcall VM.prank(H2)
    assert extcall series.claim() == big
    extcall VM.prank(W1)
    assert extcall series.reclaim() == total * 4 // 7
    dust: uint256 = total - big - total * 4 // 7
    assert dust < 3
    assert extcall series.sweep() == dust
    assert staticcall self.token.balanceOf(series.address) == 0


@internal
def _at_price(price: uint256, holder_paid: uint256, writer_back: uint256):
    """
    @notice One series (strike 1,000, cap 10, M = 10**18 + 3), 5 units; settles at `price` and checks the exits.
    """
    m: uint256 = 10**18 + 3
    series: SettlementSeries.__interface__ = fx._create(self.factory, self.token.address, self.oracle.address, 1_000, 10, m, GUARDIAN)
    fx._mint(series, self.token.address, W1, 5, H1)
    fx._settle_at(series, self.oracle, convert(price, int256))
    extcall VM.prank(H1)
    assert extcall series.claim() == holder_paid
    extcall VM.prank(W1)
    assert extcall series.reclaim() == writer_back
    assert extcall series.sweep() == 5 * m - holder_paid - writer_back
    assert staticcall self.token.balanceOf(series.address) == 0


@external
def test_price_exactly_at_strike():
    """
    @notice At the strike the holders are owed nothing: the writer gets everything back, no dust.
    """
    self._at_price(1_000, 0, 5 * (10**18 + 3))


@external
def test_price_one_wei_below_strike():
    """
    @notice One wei below the strike: the same as at the strike.
    """
    self._at_price(999, 0, 5 * (10**18 + 3))


@external
def test_price_one_wei_above_strike():
    """
    @notice One wei above the strike: rate 1/10; the holder gets floor(5 * (10**18 + 3) / 10) =
            500,000,000,000,000,001 and the writer floor(5 * (10**18 + 3) * 9 / 10) = 4,500,000,000,000,000,013;
            1 wei of dust.
    """
    self._at_price(1_001, 500_000_000_000_000_001, 4_500_000_000_000_000_013)


@external
def test_no_return_token_full_lifecycle():
    """
    @notice A collateral whose transfer, transferFrom and approve return nothing (USDT style) works end to end.
    """
    nrt: INoReturnToken = INoReturnToken(fx._deploy("NoReturnToken.vy", b""))
    extcall nrt.mint(self, 10_000)
    extcall nrt.approve(self.factory.address, 10_000)
    reporter: address = extcall VM.addr(fx.REPORTER_KEY)
    series: SettlementSeries.__interface__ = SettlementSeries.__interface__(
        extcall self.factory.create_series(
            nrt.address, self.oracle.address, 100, 7, 10**6, fx.EXPIRY, fx.WINDOW, fx.SWEEP_DEADLINE, fx.TREASURY, reporter, GUARDIAN
        )
    )
    extcall nrt.mint(W1, 3 * 10**6)
    extcall VM.startPrank(W1)
    extcall nrt.approve(series.address, 3 * 10**6)
    extcall series.mint(3, H1)
    extcall VM.stopPrank()
    fx._settle_at(series, self.oracle, 102)
    extcall VM.prank(H1)
    # 3 * 10**6 * 2 / 7 = 857,142.86
    assert extcall series.claim() == 857_142
    extcall VM.prank(W1)
    # 3 * 10**6 * 5 / 7 = 2,142,857.14
    assert extcall series.reclaim() == 2_142_857
    assert extcall series.sweep() == 1
    assert staticcall nrt.balanceOf(H1) == 857_142
    assert staticcall nrt.balanceOf(series.address) == 0


@external
def test_fee_on_transfer_token_rejected_at_creation():
    """
    @notice The factory's probe sees the 1% fee and refuses to create the series.
    """
    fee: IFeeToken = IFeeToken(fx._deploy("FeeOnTransferToken.vy", abi_encode(convert(100, uint256))))
    extcall fee.mint(self, 10_000)
    extcall fee.approve(self.factory.address, 10_000)
    extcall VM.expectRevert(b"safe_token: received amount mismatch")
    extcall self.factory.create_series(
        fee.address, self.oracle.address, 100, 7, 10**6, fx.EXPIRY, fx.WINDOW, fx.SWEEP_DEADLINE, fx.TREASURY, empty(address), GUARDIAN
    )
    assert staticcall self.factory.series_count() == 0


@external
def test_fee_switched_on_after_creation_rejected_at_mint():
    """
    @notice A token that passes the probe and starts charging later is refused at mint (exact-amount pull).
    """
    fee: IFeeToken = IFeeToken(fx._deploy("FeeOnTransferToken.vy", abi_encode(convert(0, uint256))))
    extcall fee.mint(self, 10_000)
    extcall fee.approve(self.factory.address, 10_000)
    series: SettlementSeries.__interface__ = SettlementSeries.__interface__(
        extcall self.factory.create_series(
            fee.address, self.oracle.address, 100, 7, 10**6, fx.EXPIRY, fx.WINDOW, fx.SWEEP_DEADLINE, fx.TREASURY, empty(address), GUARDIAN
        )
    )
    extcall fee.set_fee_bps(100)
    extcall fee.mint(W1, 10**6)
    extcall VM.startPrank(W1)
    extcall fee.approve(series.address, 10**6)
    extcall VM.expectRevert(b"safe_token: received amount mismatch")
    extcall series.mint(1, H1)
    extcall VM.stopPrank()


@external
def test_feed_moving_after_settlement_changes_no_payout():
    """
    @notice The payout rate is fixed once, at settlement: rounds the feed publishes afterwards change no claim or
            reclaim. Strike 100, cap 10, M = 1,000, settled at 104 (rate 4/10); then the feed moves to 109 and 90:
            holders still get 400 per unit, the writer 600 per unit, and nothing is left over.
    """
    series: SettlementSeries.__interface__ = fx._create(self.factory, self.token.address, self.oracle.address, 100, 10, 1_000, GUARDIAN)
    fx._mint(series, self.token.address, W1, 2, H1)
    fx._mint(series, self.token.address, W1, 1, H2)
    fx._settle_at(series, self.oracle, 104)
    extcall self.oracle.set_round(3, 109, fx.EXPIRY + 60)
    extcall VM.prank(H1)
    assert extcall series.claim() == 800
    extcall self.oracle.set_round(4, 90, fx.EXPIRY + 60)
    extcall VM.prank(H2)
    assert extcall series.claim() == 400
    extcall VM.prank(W1)
    assert extcall series.reclaim() == 1_800
    assert extcall series.sweep() == 0
