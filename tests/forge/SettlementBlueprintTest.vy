# pragma version ~=0.4.3
"""
@title SettlementBlueprintTest
@notice The blueprint shape end to end: SeriesFactory.create_series_from_blueprint deploys a full, independent
        SettlementSeries (terms in immutables) from the ERC-5202 blueprint. Create, mint in lots, settle from the
        oracle or from a signed report, claim, claim_for, claim_by_sig, reclaim and sweep, every amount to the wei,
        and the same payouts, call by call, as a clone of the same terms run through the same book.
"""

from .interfaces import IVm
from . import SettlementFixture as fx
from ...contracts import SettlementSeries
from ...contracts import SeriesFactory
from ...contracts.mocks import MockERC20
from ...contracts.mocks import MockAggregator

initializes: fx

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
W1: constant(address) = 0x00000000000000000000000000000000000000A1
W2: constant(address) = 0x00000000000000000000000000000000000000A2
# holders of the blueprint series
H1: constant(address) = 0x00000000000000000000000000000000000000B1
H2: constant(address) = 0x00000000000000000000000000000000000000b2
H3: constant(address) = 0x00000000000000000000000000000000000000b3
# holders of the clone series
C1: constant(address) = 0x00000000000000000000000000000000000000C1
C2: constant(address) = 0x00000000000000000000000000000000000000c2
C3: constant(address) = 0x00000000000000000000000000000000000000C3
GUARDIAN: constant(address) = 0x00000000000000000000000000000000000006A4
RELAYER: constant(address) = 0x000000000000000000000000000000000000057a
RECIPIENT: constant(address) = 0x00000000000000000000000000000000000000D1
HOLDER_KEY: constant(uint256) = 659_918
# @notice 500 collateral units of a 6-decimal token per unit.
M6: constant(uint256) = 500 * 10**6
# @notice A settlement price of 2,123.45678901: n = 12,345,678,901.
PRICE: constant(int256) = 212_345_678_901
OTHER_CHAIN_ID: constant(uint256) = 31_337_000
HALTED: constant(uint256) = 3
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
clone: SettlementSeries.__interface__


@external
def setUp():
    """
    @notice A factory, a 6-decimal token, a feed, a blueprint series and a clone series of the same terms.
    """
    extcall VM.warp(fx.START)
    self.factory = fx._factory()
    self.token = fx._token(6)
    self.oracle = fx._oracle()
    self.series = fx._create_blueprint(
        self.factory, self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, GUARDIAN
    )
    self.clone = fx._create(self.factory, self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, GUARDIAN)


@internal
def _book(series: SettlementSeries.__interface__, h1: address, h2: address, h3: address):
    """
    @notice W1 mints 3 units to h1 and a day later 2 to h2; W2 mints 5 to h3; h3 passes 1 unit to h1.
    @param series The series.
    @param h1 The first holder.
    @param h2 The second holder.
    @param h3 The third holder.
    """
    extcall VM.warp(fx.START)
    fx._mint(series, self.token.address, W1, 3, h1)
    extcall VM.warp(fx.START + 86_400)
    fx._mint(series, self.token.address, W1, 2, h2)
    fx._mint(series, self.token.address, W2, 5, h3)
    extcall VM.prank(h3)
    extcall series.transfer(h1, 1)


@internal
def _exits(series: SettlementSeries.__interface__, h1: address, h2: address, h3: address) -> DynArray[uint256, 5]:
    """
    @notice h1 claims, W1 reclaims, a keeper pays h2, h3 (and h1 again, skipped) in one batch, W2 reclaims, the
            dust is swept.
    @param series The series (settled).
    @param h1 The first holder.
    @param h2 The second holder.
    @param h3 The third holder.
    @return [claim of h1, reclaim of W1, claim_for total, reclaim of W2, swept].
    """
    paid: DynArray[uint256, 5] = []
    extcall VM.prank(h1)
    paid.append(extcall series.claim())
    extcall VM.prank(W1)
    paid.append(extcall series.reclaim())
    paid.append(extcall series.claim_for([h2, h3, h1]))
    extcall VM.prank(W2)
    paid.append(extcall series.reclaim())
    paid.append(extcall series.sweep())
    return paid


@internal
@view
def _digest(series: address, struct_hash: bytes32, chain_id: uint256) -> bytes32:
    """
    @notice The EIP-712 digest in `series`' domain for `chain_id`, built by hand from the spec.
    @param series The verifying contract.
    @param struct_hash The hashStruct of the message.
    @param chain_id The chain id.
    @return The digest.
    """
    separator: bytes32 = keccak256(
        abi_encode(DOMAIN_TYPEHASH, keccak256("settlekit settlement"), keccak256("1"), chain_id, series)
    )
    return keccak256(concat(x"1901", separator, struct_hash))


@internal
def _report(series: address, price: uint256, nonce: uint256, deadline: uint256) -> (uint8, bytes32, bytes32):
    """
    @notice The reporter's signature of a SettlementReport for `series` on this chain.
    @param series The series.
    @param price The price.
    @param nonce The reporter nonce.
    @param deadline The deadline.
    @return v, r, s.
    """
    struct_hash: bytes32 = keccak256(abi_encode(REPORT_TYPEHASH, price, fx.EXPIRY, nonce, deadline))
    return extcall VM.sign(fx.REPORTER_KEY, self._digest(series, struct_hash, chain.id))


@external
def test_blueprint_series_is_a_full_registered_contract():
    """
    @notice create_series_from_blueprint registers an independent contract with the whole runtime (not a 365-byte
            proxy), the terms it was created with, the creator as owner and the guardian; it has no `initialize`.
            The blueprint itself is ERC-5202 (0xFE7100 preamble) and cannot be called.
    """
    assert staticcall self.factory.series_count() == 2
    assert staticcall self.factory.series(0) == self.series.address
    assert staticcall self.factory.series(1) == self.clone.address
    assert staticcall self.factory.is_series(self.series.address)
    assert self.series.address.codesize > 10_000
    assert self.clone.address.codesize == 365
    assert staticcall self.series.owner() == self
    assert staticcall self.series.guardian() == GUARDIAN
    assert staticcall self.series.COLLATERAL() == self.token.address
    assert staticcall self.series.ORACLE() == self.oracle.address
    assert staticcall self.series.STRIKE() == fx.STRIKE
    assert staticcall self.series.CAP() == fx.CAP
    assert staticcall self.series.MAX_PAYOUT_PER_UNIT() == M6
    assert staticcall self.series.EXPIRY() == fx.EXPIRY
    assert staticcall self.series.SETTLEMENT_WINDOW() == fx.WINDOW
    assert staticcall self.series.SWEEP_DEADLINE() == fx.SWEEP_DEADLINE
    assert staticcall self.series.TREASURY() == fx.TREASURY
    assert staticcall self.series.REPORTER() == extcall VM.addr(fx.REPORTER_KEY)
    ok: bool = False
    out: Bytes[32] = b""
    ok, out = raw_call(
        self.series.address,
        abi_encode(W1, W1, method_id=method_id("initialize(address,address)")),
        max_outsize=32,
        revert_on_failure=False,
    )
    assert not ok
    blueprint: address = staticcall self.factory.BLUEPRINT()
    assert slice(blueprint.code, 0, 3) == x"fe7100"
    # the preamble's 0xFE is INVALID, which burns all the gas it is given: give it little
    ok, out = raw_call(blueprint, method_id("STRIKE()"), max_outsize=32, gas=100_000, revert_on_failure=False)
    assert not ok


@external
def test_blueprint_creation_checks_terms():
    """
    @notice The series constructor checks the terms, and its reasons bubble up through the factory.
    """
    extcall self.token.mint(self, 10_000)
    extcall self.token.approve(self.factory.address, 10_000)
    extcall VM.expectRevert(b"settlement_series: zero cap")
    extcall self.factory.create_series_from_blueprint(
        self.token.address, self.oracle.address, fx.STRIKE, 0, M6, fx.EXPIRY, fx.WINDOW, fx.SWEEP_DEADLINE,
        fx.TREASURY, empty(address), GUARDIAN
    )
    extcall VM.expectRevert(b"settlement_series: zero address")
    extcall self.factory.create_series_from_blueprint(
        self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, fx.EXPIRY, fx.WINDOW, fx.SWEEP_DEADLINE,
        empty(address), empty(address), GUARDIAN
    )


@external
def test_blueprint_lifecycle_pays_like_a_clone_of_the_same_terms():
    """
    @notice The same book on the blueprint series and on the clone: mint in lots, transfer, settle at
            2,123.45678901, claim, reclaim, claim_for, reclaim, sweep. The blueprint pays the hand-computed
            amounts (H1 and H3 hold 4 units: 493,827,156 each; H2 2 units: 246,913,578; each writer gets
            floor(5 * 37,654,321,099 / 100) = 1,882,716,054; dust 2) and the clone pays exactly the same, call by
            call; both end holding nothing.
    """
    self._book(self.series, H1, H2, H3)
    self._book(self.clone, C1, C2, C3)
    assert staticcall self.series.total_deposited() == 10 * M6
    assert staticcall self.series.written(W1) == 5
    assert staticcall self.series.balanceOf(H1) == 4
    assert staticcall self.token.balanceOf(self.series.address) == 10 * M6
    fx._settle_at(self.series, self.oracle, PRICE)
    extcall self.clone.settle(2)
    assert staticcall self.series.settlement_price() == convert(PRICE, uint256)
    num: uint256 = 0
    den: uint256 = 0
    clone_num: uint256 = 0
    clone_den: uint256 = 0
    num, den = staticcall self.series.payout_rate()
    clone_num, clone_den = staticcall self.clone.payout_rate()
    assert num == 12_345_678_901 and den == fx.CAP
    assert clone_num == num and clone_den == den
    assert staticcall self.series.claimable(H1) == 493_827_156
    assert staticcall self.series.reclaimable(W1) == 1_882_716_054
    blueprint_paid: DynArray[uint256, 5] = self._exits(self.series, H1, H2, H3)
    clone_paid: DynArray[uint256, 5] = self._exits(self.clone, C1, C2, C3)
    expected: DynArray[uint256, 5] = [493_827_156, 1_882_716_054, 246_913_578 + 493_827_156, 1_882_716_054, 2]
    assert len(blueprint_paid) == 5 and len(clone_paid) == 5
    for i: uint256 in range(5):
        assert blueprint_paid[i] == expected[i]
        assert clone_paid[i] == blueprint_paid[i]
    assert staticcall self.token.balanceOf(H1) == 493_827_156
    assert staticcall self.token.balanceOf(H2) == 246_913_578
    assert staticcall self.token.balanceOf(H3) == 493_827_156
    assert staticcall self.token.balanceOf(C1) == 493_827_156
    assert staticcall self.token.balanceOf(C2) == 246_913_578
    assert staticcall self.token.balanceOf(C3) == 493_827_156
    assert staticcall self.token.balanceOf(fx.TREASURY) == 4
    assert staticcall self.token.balanceOf(self.series.address) == 0
    assert staticcall self.token.balanceOf(self.clone.address) == 0
    assert staticcall self.series.collateral_held() == 0
    assert staticcall self.series.total_paid() == 2 * 493_827_156 + 246_913_578
    assert staticcall self.series.total_reclaimed() == 2 * 1_882_716_054
    assert staticcall self.series.total_swept() == 2
    assert staticcall self.series.swept()
    extcall VM.prank(H1)
    extcall VM.expectRevert(b"settlement_series: swept")
    extcall self.series.claim()


@external
def test_blueprint_signed_settlement_and_relayed_claim():
    """
    @notice On the blueprint series: a report signed for it settles it; the clone of the same terms refuses that
            report (another verifying contract); a holder's signed claim is relayed to its recipient; after a
            chain-id change the domain is rebuilt for the new chain id.
    """
    holder: address = extcall VM.addr(HOLDER_KEY)
    fx._mint(self.series, self.token.address, W1, 4, holder)
    extcall VM.warp(fx.EXPIRY + 10)
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._report(self.series.address, convert(PRICE, uint256), 0, fx.EXPIRY + 100)
    extcall VM.expectRevert(b"eip712: wrong signer")
    extcall self.clone.settle_with_report(convert(PRICE, uint256), 0, fx.EXPIRY + 100, v, r, s)
    assert extcall self.series.settle_with_report(convert(PRICE, uint256), 0, fx.EXPIRY + 100, v, r, s) == convert(
        PRICE, uint256
    )
    struct_hash: bytes32 = keccak256(abi_encode(CLAIM_TYPEHASH, holder, RECIPIENT, convert(7, uint256), fx.EXPIRY + 1_000))
    v, r, s = extcall VM.sign(HOLDER_KEY, self._digest(self.series.address, struct_hash, chain.id))
    extcall VM.prank(RELAYER)
    # 4 units * 12,345,678,901 / 100 = 493,827,156.04
    assert extcall self.series.claim_by_sig(holder, RECIPIENT, 7, fx.EXPIRY + 1_000, v, r, s) == 493_827_156
    assert staticcall self.token.balanceOf(RECIPIENT) == 493_827_156
    assert staticcall self.series.DOMAIN_SEPARATOR() == keccak256(
        abi_encode(DOMAIN_TYPEHASH, keccak256("settlekit settlement"), keccak256("1"), chain.id, self.series.address)
    )
    extcall VM.chainId(OTHER_CHAIN_ID)
    assert staticcall self.series.DOMAIN_SEPARATOR() == keccak256(
        abi_encode(DOMAIN_TYPEHASH, keccak256("settlekit settlement"), keccak256("1"), OTHER_CHAIN_ID, self.series.address)
    )


@external
def test_blueprint_exits_open_when_halted():
    """
    @notice At HALTED the blueprint series still pays claims, batch claims and reclaims, and refuses the sweep.
    """
    self._book(self.series, H1, H2, H3)
    fx._settle_at(self.series, self.oracle, PRICE)
    extcall self.series.raise_level(HALTED, empty(bytes32))
    extcall VM.prank(H1)
    assert extcall self.series.claim() == 493_827_156
    assert extcall self.series.claim_for([H2]) == 246_913_578
    extcall VM.prank(W1)
    assert extcall self.series.reclaim() == 1_882_716_054
    extcall VM.expectRevert(b"circuit_breaker: halted")
    extcall self.series.sweep()
