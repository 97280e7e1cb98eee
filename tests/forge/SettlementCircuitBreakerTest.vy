# pragma version ~=0.4.3
"""
@title SettlementCircuitBreakerTest
@notice Every cell of the SettlementSeries circuit-breaker table (entry point x level 0-3): mint is new risk
        (LIVE only), settle and settle_with_report move prices (LIVE and NO_NEW_RISK), transfer and sweep are
        ordinary (all but HALTED), and claim, claim_for, claim_by_sig and reclaim are exits (every level).
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
M6: constant(uint256) = 500 * 10**6
PRICE: constant(int256) = 212_345_678_901
REASON: constant(bytes32) = 0x7465737400000000000000000000000000000000000000000000000000000000
ACTOR_BASE: constant(uint256) = 131_072
KEY_BASE: constant(uint256) = 1_001
DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
REPORT_TYPEHASH: constant(bytes32) = keccak256(
    "SettlementReport(uint256 price,uint256 expiry,uint256 nonce,uint256 deadline)"
)
CLAIM_TYPEHASH: constant(bytes32) = keccak256("Claim(address holder,address recipient,uint256 nonce,uint256 deadline)")

factory: SeriesFactory.__interface__
token: MockERC20.__interface__
oracle: MockAggregator.__interface__
series: SettlementSeries.__interface__


@external
def setUp():
    """
    @notice Default series owned by this contract (so it can raise and lower the level).
    """
    extcall VM.warp(fx.START)
    self.factory = fx._factory()
    self.token = fx._token(6)
    self.oracle = fx._oracle()
    self.series = fx._create(self.factory, self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, GUARDIAN)


@internal
def _level(target: uint256):
    """
    @notice Moves the series' breaker to `target` (this contract is the owner).
    """
    current: uint256 = staticcall self.series.level()
    if target > current:
        extcall self.series.raise_level(target, REASON)
    elif target < current:
        extcall self.series.lower_level(target, REASON)
    assert staticcall self.series.level() == target


@internal
@view
def _digest(struct_hash: bytes32) -> bytes32:
    """
    @notice The EIP-712 digest in the series' domain.
    """
    return keccak256(concat(x"1901", staticcall self.series.DOMAIN_SEPARATOR(), struct_hash))


@internal
def _book_per_level():
    """
    @notice Before expiry: for each level L, a holder (ACTOR_BASE + L), a keeper-paid holder (+ 256), a signing
            holder (key KEY_BASE + L) and a writer (+ 512) each get their own units.
    """
    for i: uint256 in range(4):
        writer: address = convert(ACTOR_BASE + 512 + i, address)
        fx._mint(self.series, self.token.address, writer, 1, convert(ACTOR_BASE + i, address))
        fx._mint(self.series, self.token.address, writer, 2, convert(ACTOR_BASE + 256 + i, address))
        fx._mint(self.series, self.token.address, writer, 3, extcall VM.addr(KEY_BASE + i))


@external
def test_mint_by_level():
    """
    @notice mint: allowed at LIVE; "circuit_breaker: new risk paused" at NO_NEW_RISK, NO_LIQUIDATION and HALTED.
    """
    fx._mint(self.series, self.token.address, W1, 1, H1)
    for level: uint256 in range(1, 4):
        self._level(level)
        extcall VM.prank(W1)
        extcall VM.expectRevert(b"circuit_breaker: new risk paused")
        extcall self.series.mint(1, H1)
    self._level(0)
    fx._mint(self.series, self.token.address, W1, 1, H1)
    assert staticcall self.series.totalSupply() == 2


@external
def test_transfer_by_level():
    """
    @notice transfer: allowed at LIVE, NO_NEW_RISK and NO_LIQUIDATION; "circuit_breaker: halted" at HALTED.
    """
    fx._mint(self.series, self.token.address, W1, 5, H1)
    extcall VM.startPrank(H1)
    for level: uint256 in range(3):
        extcall VM.stopPrank()
        self._level(level)
        extcall VM.startPrank(H1)
        extcall self.series.transfer(W1, 1)
    extcall VM.stopPrank()
    assert staticcall self.series.balanceOf(W1) == 3
    self._level(3)
    extcall VM.prank(H1)
    extcall VM.expectRevert(b"circuit_breaker: halted")
    extcall self.series.transfer(W1, 1)


@external
def test_settle_by_level():
    """
    @notice settle (oracle): "circuit_breaker: price moves paused" at NO_LIQUIDATION and HALTED; allowed at
            NO_NEW_RISK (checked here) and LIVE (every other test).
    """
    extcall self.oracle.set_round(1, 1, fx.EXPIRY - 1)
    extcall VM.warp(fx.EXPIRY + 60)
    extcall self.oracle.set_round(2, PRICE, fx.EXPIRY + 60)
    for level: uint256 in [3, 2]:
        self._level(level)
        extcall VM.expectRevert(b"circuit_breaker: price moves paused")
        extcall self.series.settle(2)
    self._level(1)
    extcall self.series.settle(2)
    assert staticcall self.series.settlement_price() == convert(PRICE, uint256)


@external
def test_settle_with_report_by_level():
    """
    @notice settle_with_report: refused at NO_LIQUIDATION and HALTED, allowed at NO_NEW_RISK and LIVE.
    """
    extcall VM.warp(fx.EXPIRY + 60)
    struct_hash: bytes32 = keccak256(abi_encode(REPORT_TYPEHASH, convert(PRICE, uint256), fx.EXPIRY, empty(uint256), fx.EXPIRY + 100))
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = extcall VM.sign(fx.REPORTER_KEY, self._digest(struct_hash))
    for level: uint256 in [3, 2]:
        self._level(level)
        extcall VM.expectRevert(b"circuit_breaker: price moves paused")
        extcall self.series.settle_with_report(convert(PRICE, uint256), 0, fx.EXPIRY + 100, v, r, s)
    self._level(1)
    extcall self.series.settle_with_report(convert(PRICE, uint256), 0, fx.EXPIRY + 100, v, r, s)
    assert staticcall self.series.settlement_price() == convert(PRICE, uint256)


@external
def test_settle_with_report_at_live():
    """
    @notice settle_with_report at LIVE (the remaining cell).
    """
    extcall VM.warp(fx.EXPIRY + 60)
    struct_hash: bytes32 = keccak256(abi_encode(REPORT_TYPEHASH, convert(PRICE, uint256), fx.EXPIRY, empty(uint256), fx.EXPIRY + 100))
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = extcall VM.sign(fx.REPORTER_KEY, self._digest(struct_hash))
    extcall self.series.settle_with_report(convert(PRICE, uint256), 0, fx.EXPIRY + 100, v, r, s)
    assert staticcall self.series.settlement_price() == convert(PRICE, uint256)


@external
def test_exits_never_blocked():
    """
    @notice claim, claim_for, claim_by_sig and reclaim succeed at every level 0-3 and pay exactly
            (n = 12,345,678,901: 1 unit -> 123,456,789; 2 -> 246,913,578; 3 -> 370,370,367; a writer of 6 units
            gets floor(6 * 37,654,321,099 / 100) = 2,259,259,265).
    """
    self._book_per_level()
    fx._settle_at(self.series, self.oracle, PRICE)
    for level: uint256 in range(4):
        self._level(level)
        holder: address = convert(ACTOR_BASE + level, address)
        extcall VM.prank(holder)
        assert extcall self.series.claim() == 123_456_789
        assert extcall self.series.claim_for([convert(ACTOR_BASE + 256 + level, address)]) == 246_913_578
        signer: address = extcall VM.addr(KEY_BASE + level)
        struct_hash: bytes32 = keccak256(abi_encode(CLAIM_TYPEHASH, signer, signer, level, fx.EXPIRY + 1_000))
        v: uint8 = 0
        r: bytes32 = empty(bytes32)
        s: bytes32 = empty(bytes32)
        v, r, s = extcall VM.sign(KEY_BASE + level, self._digest(struct_hash))
        assert extcall self.series.claim_by_sig(signer, signer, level, fx.EXPIRY + 1_000, v, r, s) == 370_370_367
        extcall VM.prank(convert(ACTOR_BASE + 512 + level, address))
        assert extcall self.series.reclaim() == 2_259_259_265


@external
def test_sweep_by_level():
    """
    @notice sweep: allowed at LIVE, NO_NEW_RISK and NO_LIQUIDATION; "circuit_breaker: halted" at HALTED until
            EXPIRY + SETTLEMENT_WINDOW + MAX_SETTLEMENT_DELAY, allowed at HALTED from then on. Four series
            settled alike; series 3 has every exit done early (a dust sweep), the others are swept past the
            deadline at levels 0 to 2.
    """
    all_series: DynArray[SettlementSeries.__interface__, 4] = [self.series]
    for i: uint256 in range(3):
        all_series.append(fx._create(self.factory, self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, GUARDIAN))
    for series: SettlementSeries.__interface__ in all_series:
        fx._mint(series, self.token.address, W1, 1, H1)
    extcall self.oracle.set_round(1, 1, fx.EXPIRY - 1)
    extcall VM.warp(fx.EXPIRY + 60)
    extcall self.oracle.set_round(2, PRICE, fx.EXPIRY + 60)
    for series: SettlementSeries.__interface__ in all_series:
        extcall series.settle(2)
    self.series = all_series[3]
    extcall VM.prank(H1)
    extcall self.series.claim()
    extcall VM.prank(W1)
    extcall self.series.reclaim()
    self._level(3)
    extcall VM.expectRevert(b"circuit_breaker: halted")
    extcall self.series.sweep()
    lapses: uint256 = staticcall self.series.settlement_guard_lapses_at()
    assert lapses == fx.EXPIRY + fx.WINDOW + 7 * 86_400
    extcall VM.warp(lapses - 1)
    extcall VM.expectRevert(b"circuit_breaker: halted")
    extcall self.series.sweep()
    extcall VM.warp(lapses)
    extcall self.series.sweep()
    assert staticcall self.series.swept()
    assert staticcall self.token.balanceOf(self.series.address) == 0
    extcall VM.warp(fx.SWEEP_DEADLINE)
    for level: uint256 in range(3):
        self.series = all_series[level]
        self._level(level)
        assert extcall self.series.sweep() == M6
        assert staticcall self.series.swept()
