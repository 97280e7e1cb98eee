# pragma version ~=0.4.3
"""
@title SettlementInvariantTest
@notice Invariants of SettlementSeries under random sequences of mints in lots, transfers, time, settlement,
        claims, batch claims, reclaims, sweeps and circuit-breaker moves, driven through SettlementHandler.
        Odd terms (M = 1,000,003 wei per unit, cap 7) make every payout round.
"""

from .interfaces import IVm
from . import SettlementFixture as fx
from ...contracts import SettlementSeries
from ...contracts import SeriesFactory
from ...contracts.mocks import MockERC20
from ...contracts.mocks import MockAggregator
from ...contracts.mocks import SettlementHandler

initializes: fx

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
GUARDIAN: constant(address) = 0x00000000000000000000000000000000000006A4
M: constant(uint256) = 1_000_003
STRIKE: constant(uint256) = 100
CAP: constant(uint256) = 7

token: MockERC20.__interface__
series: SettlementSeries.__interface__
handler: SettlementHandler.__interface__
factory: SeriesFactory.__interface__
code_hash: bytes32


@external
def setUp():
    """
    @notice One series with odd terms, a first oracle round before expiry, and the handler as the series owner.
    """
    extcall VM.warp(fx.START)
    factory: SeriesFactory.__interface__ = fx._factory()
    self.token = fx._token(18)
    oracle: MockAggregator.__interface__ = fx._oracle()
    extcall oracle.set_answer(1)
    self.series = fx._create(factory, self.token.address, oracle.address, STRIKE, CAP, M, GUARDIAN)
    self.factory = factory
    self.code_hash = self.series.address.codehash
    self.handler = SettlementHandler.__interface__(
        fx._deploy("SettlementHandler.vy", abi_encode(self.series.address, self.token.address, oracle.address))
    )
    extcall self.series.transfer_ownership(self.handler.address)
    extcall self.handler.accept_series_ownership()


@external
@view
def targetContracts() -> DynArray[address, 1]:
    """
    @notice The fuzzer calls the handler only.
    @return The handler.
    """
    return [self.handler.address]


@external
@view
def invariant_conservation_to_the_wei():
    """
    @notice held == deposited - paid - reclaimed - swept, on the series' books, in the ghosts and in the token.
    """
    held: uint256 = staticcall self.token.balanceOf(self.series.address)
    assert staticcall self.series.total_deposited() == staticcall self.handler.ghost_deposited(), "deposited"
    assert staticcall self.series.total_paid() == staticcall self.handler.ghost_paid(), "paid"
    assert staticcall self.series.total_reclaimed() == staticcall self.handler.ghost_reclaimed(), "reclaimed"
    assert staticcall self.series.total_swept() == staticcall self.handler.ghost_swept(), "swept"
    expected: uint256 = (
        staticcall self.handler.ghost_deposited()
        - staticcall self.handler.ghost_paid()
        - staticcall self.handler.ghost_reclaimed()
        - staticcall self.handler.ghost_swept()
    )
    assert held == expected, "token balance"
    assert staticcall self.series.collateral_held() == expected, "collateral_held"
    assert staticcall self.series.total_deposited() == staticcall self.series.totalSupply() * M, "full collateral"


@external
@view
def invariant_payouts_floor_of_exact_entitlement():
    """
    @notice Every payout is the floor of its exact entitlement (never above it), whatever the claim order, and the
            total rounding loss is below the number of payouts.
    """
    assert staticcall self.handler.violations() == 0, "payout off its entitlement"
    payouts: uint256 = staticcall self.handler.payouts()
    assert staticcall self.handler.loss_scaled() < max(payouts, 1) * CAP, "loss not below payouts"


@external
@view
def invariant_nothing_paid_before_settlement():
    """
    @notice Before settlement nothing has been paid, reclaimed or swept.
    """
    assert staticcall self.handler.paid_before_settle() == 0, "paid before settle"
    if staticcall self.series.settlement_price() == 0:
        assert staticcall self.series.total_paid() == 0
        assert staticcall self.series.total_reclaimed() == 0
        assert staticcall self.series.total_swept() == 0


@external
@view
def invariant_settled_once():
    """
    @notice The settlement price never changes once fixed.
    """
    assert staticcall self.handler.settled_twice() == 0, "settled twice"
    assert staticcall self.series.settlement_price() == staticcall self.handler.first_price(), "price moved"


@external
@view
def invariant_no_mint_after_expiry():
    """
    @notice No mint ever succeeded at or after expiry.
    """
    assert staticcall self.handler.minted_after_expiry() == 0, "minted after expiry"


@external
@view
def invariant_exits_never_blocked():
    """
    @notice No claim, batch claim or reclaim was refused while settled, unswept and owed, at any breaker level.
    """
    assert staticcall self.handler.exits_blocked() == 0, "exit blocked"


@external
@view
def invariant_leftover_is_exact_dust():
    """
    @notice Once every unit is claimed and every written unit reclaimed, the series holds exactly the rounding
            loss; after the sweep it holds exactly zero.
    """
    held: uint256 = staticcall self.token.balanceOf(self.series.address)
    if staticcall self.series.swept():
        assert held == 0, "swept but not empty"
    elif (
        staticcall self.series.settlement_price() != 0
        and staticcall self.series.open_units() == 0
        and staticcall self.series.open_written() == 0
    ):
        assert held * CAP == staticcall self.handler.loss_scaled(), "leftover is not the dust"


@internal
def _exit_as(caller: address, data: Bytes[4]) -> uint256:
    """
    @notice Calls the series as `caller` and requires the call to succeed (an exit that must not be refused).
    @param caller The sender the call is pranked as.
    @param data The calldata.
    @return The returned uint256.
    """
    extcall VM.prank(caller)
    ok: bool = False
    out: Bytes[32] = b""
    ok, out = raw_call(self.series.address, data, max_outsize=32, revert_on_failure=False)
    assert ok, "an entitled exit was refused after the maximum delays"
    return abi_decode(out, uint256)


@external
def invariant_every_wei_exits_after_the_maximum_delays():
    """
    @notice Liveness, from whatever state the handler left (any breaker level, an owner that never lowers, a feed
            that may have no usable round): once `fallback_opens_at()` has passed the series can be settled by
            anyone (`settle_fallback` if nobody settled it), every holder and writer can take exactly what the
            views say it is owed, and once `late_sweep_at()` has passed the sweep sends the rest to the treasury,
            so every deposited wei has gone to someone entitled to it and the series holds nothing. Foundry runs
            invariants without committing their state changes, so the campaign goes on from the handler's state.
    """
    deposited: uint256 = staticcall self.series.total_deposited()
    if block.timestamp < staticcall self.series.fallback_opens_at():
        extcall VM.warp(staticcall self.series.fallback_opens_at())
    if staticcall self.series.settled_at() == 0:
        extcall self.series.settle_fallback()  # anyone; the invariant contract is nobody in particular
    if not staticcall self.series.swept():
        for kind: uint256 in range(2):
            for i: uint256 in range(4):
                actor: address = convert(196_608 + kind * 16 + i, address)
                owed: uint256 = staticcall self.series.claimable(actor)
                if staticcall self.series.balanceOf(actor) != 0:
                    assert self._exit_as(actor, method_id("claim()")) == owed, "claim paid other than claimable"
                owed = staticcall self.series.reclaimable(actor)
                if staticcall self.series.written(actor) != 0:
                    assert self._exit_as(actor, method_id("reclaim()")) == owed, "reclaim other than reclaimable"
        assert staticcall self.series.open_units() == 0 and staticcall self.series.open_written() == 0, "owed left"
        if block.timestamp < staticcall self.series.late_sweep_at():
            extcall VM.warp(staticcall self.series.late_sweep_at())
        extcall self.series.sweep()
    paid: uint256 = staticcall self.series.total_paid()
    reclaimed: uint256 = staticcall self.series.total_reclaimed()
    assert paid + reclaimed + staticcall self.series.total_swept() == deposited, "a deposited wei is unaccounted"
    assert staticcall self.token.balanceOf(self.series.address) == 0, "collateral left in the series"


@external
def test_handler_drives_a_full_lifecycle():
    """
    @notice The handler's actions, in a fixed order, mint, settle in the money, pay every kind of exit and sweep:
            proof that the invariant run exercises payouts (and that its ghosts and checks are wired correctly).
    """
    extcall self.handler.mint(0, 0, 10)
    extcall self.handler.mint(1, 1, 20)
    extcall self.handler.transfer(0, 3, 5)
    extcall self.handler.mint(0, 2, 30)
    # seed 9: 9 % 4 != 0 picks the rounding band, STRIKE + 1 + (9 // 4) % (CAP - 1) = STRIKE + 3
    extcall self.handler.settle(9)
    assert staticcall self.series.settlement_price() == STRIKE + 3
    extcall self.handler.set_level(3)
    extcall self.handler.claim(1)
    extcall self.handler.claim_for(255)
    extcall self.handler.reclaim(0)
    extcall self.handler.reclaim(1)
    extcall self.handler.set_level(0)
    extcall self.handler.sweep(False)
    assert staticcall self.series.swept()
    assert staticcall self.handler.payouts() >= 5
    assert staticcall self.handler.ghost_paid() > 0 and staticcall self.handler.ghost_reclaimed() > 0
    assert staticcall self.handler.violations() == 0
    assert staticcall self.handler.exits_blocked() == 0
    assert staticcall self.handler.rounding_payouts() > 0  # a rate of 3/7 on M = 1,000,003 rounds
    assert staticcall self.token.balanceOf(self.series.address) == 0
    # 11 + 21 + 31 = 63 units at M, n = 3 of 7: every wei is accounted for
    total: uint256 = 63 * M
    assert staticcall self.handler.ghost_paid() + staticcall self.handler.ghost_reclaimed() + staticcall self.handler.ghost_swept() == total


@external
@view
def invariant_clone_terms_and_owner_fixed():
    """
    @notice Whatever the handler does (including initialising the clone again as anyone), the clone stays the
            registered 365-byte proxy it was created as, with the same terms, and its owner stays the handler.
    """
    assert staticcall self.handler.reinitialized() == 0
    assert self.series.address.codehash == self.code_hash
    assert staticcall self.factory.is_series(self.series.address)
    assert staticcall self.series.owner() == self.handler.address
    assert staticcall self.series.STRIKE() == STRIKE
    assert staticcall self.series.CAP() == CAP
    assert staticcall self.series.MAX_PAYOUT_PER_UNIT() == M
    assert staticcall self.series.EXPIRY() == fx.EXPIRY
