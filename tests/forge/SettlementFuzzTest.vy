# pragma version ~=0.4.3
"""
@title SettlementFuzzTest
@notice Fuzzed terms, books, prices and claim orders: every payout equals floor(exact entitlement), claim order
        never changes what anyone is paid, the dust is below the number of payouts, and the series ends empty.
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
W2: constant(address) = 0x00000000000000000000000000000000000000A2
H1: constant(address) = 0x00000000000000000000000000000000000000B1
H2: constant(address) = 0x00000000000000000000000000000000000000b2
H3: constant(address) = 0x00000000000000000000000000000000000000b3

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


@internal
def _run(
    m: uint256, cap: uint256, units: uint256[3], price: uint256, order: uint256
) -> (uint256[3], uint256[2], uint256):
    """
    @notice Book: W1 writes units[0] (to H1) and units[1] (to H2), W2 writes units[2] (to H3); settles at price
            (strike 1,000) and pays the five parties in the order given by `order` (a rotation).
    @return The holders' payouts, the writers' reclaims and the dust.
    """
    extcall VM.warp(fx.START)
    series: SettlementSeries.__interface__ = fx._create(self.factory, self.token.address, self.oracle.address, 1_000, cap, m, GUARDIAN)
    fx._mint(series, self.token.address, W1, units[0], H1)
    fx._mint(series, self.token.address, W1, units[1], H2)
    fx._mint(series, self.token.address, W2, units[2], H3)
    extcall VM.warp(fx.EXPIRY + 60)
    extcall self.oracle.set_round(1, convert(price, int256), fx.EXPIRY + 60)
    extcall series.settle(1)
    paid: uint256[3] = empty(uint256[3])
    back: uint256[2] = empty(uint256[2])
    parties: address[5] = [H1, H2, H3, W1, W2]
    for k: uint256 in range(5):
        i: uint256 = (k + order) % 5
        extcall VM.prank(parties[i])
        if i < 3:
            paid[i] = extcall series.claim()
        else:
            back[i - 3] = extcall series.reclaim()
    dust: uint256 = extcall series.sweep()
    assert staticcall self.token.balanceOf(series.address) == 0
    return paid, back, dust


@external
def testFuzz_payouts_are_floors_and_order_free(
    m_seed: uint256, cap_seed: uint256, u0: uint256, u1: uint256, u2: uint256, price_seed: uint256, order: uint256
):
    """
    @notice For fuzzed terms and books, two different claim orders pay everyone the same, each payout is
            floor(units * M * n / cap) (checked by cross-multiplication), and deposits == paid + reclaimed + dust
            with dust < 5.
    """
    m: uint256 = 1 + m_seed % 10**24
    cap: uint256 = 1 + cap_seed % 10**12
    units: uint256[3] = [1 + u0 % 10**9, 1 + u1 % 10**9, 1 + u2 % 10**9]
    price: uint256 = 1 + price_seed % (1_000 + 2 * cap)
    n: uint256 = 0
    if price > 1_000:
        n = min(price - 1_000, cap)
    paid: uint256[3] = empty(uint256[3])
    back: uint256[2] = empty(uint256[2])
    dust: uint256 = 0
    paid, back, dust = self._run(m, cap, units, price, order % 5)
    paid2: uint256[3] = empty(uint256[3])
    back2: uint256[2] = empty(uint256[2])
    dust2: uint256 = 0
    paid2, back2, dust2 = self._run(m, cap, units, price, (order % 5 + 2) % 5)
    for i: uint256 in range(3):
        assert paid[i] == paid2[i], "claim order changed a holder payout"
    assert back[0] == back2[0] and back[1] == back2[1], "claim order changed a reclaim"
    assert dust == dust2, "claim order changed the dust"
    total: uint256 = 0
    for i: uint256 in range(3):
        owed: uint256 = units[i] * m * n
        assert paid[i] * cap <= owed and owed < (paid[i] + 1) * cap, "holder payout is not the floor"
        total += paid[i]
    w1_owed: uint256 = (units[0] + units[1]) * m * (cap - n)
    w2_owed: uint256 = units[2] * m * (cap - n)
    assert back[0] * cap <= w1_owed and w1_owed < (back[0] + 1) * cap, "writer reclaim is not the floor"
    assert back[1] * cap <= w2_owed and w2_owed < (back[1] + 1) * cap, "writer reclaim is not the floor"
    assert total + back[0] + back[1] + dust == (units[0] + units[1] + units[2]) * m, "not conserved"
    assert dust < 5, "dust not below the number of payouts"
