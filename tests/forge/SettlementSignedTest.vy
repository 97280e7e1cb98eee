# pragma version ~=0.4.3
"""
@title SettlementSignedTest
@notice Signed entry points of SettlementSeries: settlement from an EIP-712 report by the reporter (sequential
        nonce, deadline, chain- and series-bound) and holders' claims relayed by anyone (unordered nonce). Named
        adversarial cases: a report replayed, cancelled, signed for another chain id, for another series, by a
        non-reporter, or expired; a relayed claim replayed; many relayed claims in flight at once. Also the events
        the watcher reads: SeriesCreated, Minted, Settled, Claimed, Reclaimed, DustSwept.
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
RELAYER: constant(address) = 0x000000000000000000000000000000000000057a
RECIPIENT: constant(address) = 0x00000000000000000000000000000000000000b3
GUARDIAN: constant(address) = 0x00000000000000000000000000000000000006A4
HOLDER_KEY: constant(uint256) = 659_918
HOLDER2_KEY: constant(uint256) = 2_827
STRANGER_KEY: constant(uint256) = 48_879
M6: constant(uint256) = 500 * 10**6
PRICE: constant(uint256) = 212_345_678_901
OTHER_CHAIN_ID: constant(uint256) = 31_337_000
DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
REPORT_TYPEHASH: constant(bytes32) = keccak256(
    "SettlementReport(uint256 price,uint256 expiry,uint256 nonce,uint256 deadline)"
)
CLAIM_TYPEHASH: constant(bytes32) = keccak256("Claim(address holder,address recipient,uint256 nonce,uint256 deadline)")


event Settled:
    price: uint256
    payout_numerator: uint256
    payout_denominator: uint256
    source: uint256
    reference: uint256


event SeriesCreated:
    series: indexed(address)
    creator: indexed(address)
    collateral: indexed(address)
    oracle: address
    strike: uint256
    cap: uint256
    max_payout_per_unit: uint256
    expiry: uint256
    index: uint256


event Minted:
    writer: indexed(address)
    receiver: indexed(address)
    units: uint256
    collateral: uint256


event Claimed:
    holder: indexed(address)
    recipient: indexed(address)
    units: uint256
    payout: uint256


event Reclaimed:
    writer: indexed(address)
    units: uint256
    amount: uint256


event DustSwept:
    treasury: indexed(address)
    amount: uint256
    after_deadline: bool


factory: SeriesFactory.__interface__
token: MockERC20.__interface__
oracle: MockAggregator.__interface__
series: SettlementSeries.__interface__
holder: address
holder2: address


@external
def setUp():
    """
    @notice Default series; the two signing holders hold 4 and 6 units; time is just past expiry.
    """
    extcall VM.warp(fx.START)
    self.factory = fx._factory()
    self.token = fx._token(6)
    self.oracle = fx._oracle()
    self.series = fx._create(self.factory, self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, GUARDIAN)
    self.holder = extcall VM.addr(HOLDER_KEY)
    self.holder2 = extcall VM.addr(HOLDER2_KEY)
    fx._mint(self.series, self.token.address, W1, 4, self.holder)
    fx._mint(self.series, self.token.address, W1, 6, self.holder2)
    extcall VM.warp(fx.EXPIRY + 10)


@internal
@view
def _digest(series: address, struct_hash: bytes32, chain_id: uint256) -> bytes32:
    """
    @notice The EIP-712 digest in the series' domain for `chain_id`, built by hand from the spec.
    """
    separator: bytes32 = keccak256(
        abi_encode(DOMAIN_TYPEHASH, keccak256("settlekit settlement"), keccak256("1"), chain_id, series)
    )
    return keccak256(concat(x"1901", separator, struct_hash))


@internal
def _report(key: uint256, series: address, price: uint256, nonce: uint256, deadline: uint256, chain_id: uint256) -> (uint8, bytes32, bytes32):
    """
    @notice Signs a SettlementReport with `key`.
    """
    struct_hash: bytes32 = keccak256(abi_encode(REPORT_TYPEHASH, price, fx.EXPIRY, nonce, deadline))
    return extcall VM.sign(key, self._digest(series, struct_hash, chain_id))


@internal
def _claim_sig(key: uint256, recipient: address, nonce: uint256, deadline: uint256) -> (uint8, bytes32, bytes32):
    """
    @notice Signs a Claim of the holder with `key` in the default series' domain.
    """
    holder: address = extcall VM.addr(key)
    struct_hash: bytes32 = keccak256(abi_encode(CLAIM_TYPEHASH, holder, recipient, nonce, deadline))
    return extcall VM.sign(key, self._digest(self.series.address, struct_hash, chain.id))


@internal
def _settle_by_report():
    """
    @notice Settles the default series at PRICE with the reporter's nonce-0 report.
    """
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._report(fx.REPORTER_KEY, self.series.address, PRICE, 0, fx.EXPIRY + 100, chain.id)
    extcall self.series.settle_with_report(PRICE, 0, fx.EXPIRY + 100, v, r, s)


@external
def test_domain_matches_spec():
    """
    @notice DOMAIN_SEPARATOR is the EIP-712 hash of the series' name, version, chain id and address.
    """
    separator: bytes32 = keccak256(
        abi_encode(DOMAIN_TYPEHASH, keccak256("settlekit settlement"), keccak256("1"), chain.id, self.series.address)
    )
    assert staticcall self.series.DOMAIN_SEPARATOR() == separator


@external
def test_settle_with_report_fixes_price_and_uses_nonce():
    """
    @notice A valid report settles, logs Settled with source 2 and the nonce, and uses the reporter's nonce.
    """
    reporter: address = extcall VM.addr(fx.REPORTER_KEY)
    extcall VM.expectEmit(False, False, False, True, self.series.address)
    log Settled(price=PRICE, payout_numerator=12_345_678_901, payout_denominator=fx.CAP, source=2, reference=0)
    self._settle_by_report()
    assert staticcall self.series.settlement_price() == PRICE
    assert staticcall self.series.nonces(reporter) == 1


@external
def test_report_replayed_reverts():
    """
    @notice The same report again: the price is already fixed.
    """
    self._settle_by_report()
    extcall VM.expectRevert(b"settlement_series: already settled")
    self._settle_by_report()


@external
def test_report_replayed_on_another_series_reverts():
    """
    @notice A report for one series does not verify on another with the same reporter, expiry and nonce.
    """
    extcall VM.warp(fx.START)
    other: SettlementSeries.__interface__ = fx._create(
        self.factory, self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, GUARDIAN
    )
    extcall VM.warp(fx.EXPIRY + 10)
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._report(fx.REPORTER_KEY, self.series.address, PRICE, 0, fx.EXPIRY + 100, chain.id)
    extcall VM.expectRevert(b"eip712: wrong signer")
    extcall other.settle_with_report(PRICE, 0, fx.EXPIRY + 100, v, r, s)


@external
def test_report_cancelled_nonce_reverts():
    """
    @notice A report whose nonce the reporter has moved past (cancelled or out of order) is refused.
    """
    reporter: address = extcall VM.addr(fx.REPORTER_KEY)
    extcall VM.prank(reporter)
    extcall self.series.invalidate_nonces(1)
    extcall VM.expectRevert(b"nonces: invalid nonce")
    self._settle_by_report()


@external
def test_report_signed_for_other_chain_reverts():
    """
    @notice A report signed for another chain id does not verify here; after a fork (chain id change) a report
            signed before it does not verify either.
    """
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._report(fx.REPORTER_KEY, self.series.address, PRICE, 0, fx.EXPIRY + 100, OTHER_CHAIN_ID)
    extcall VM.expectRevert(b"eip712: wrong signer")
    extcall self.series.settle_with_report(PRICE, 0, fx.EXPIRY + 100, v, r, s)
    v, r, s = self._report(fx.REPORTER_KEY, self.series.address, PRICE, 0, fx.EXPIRY + 100, chain.id)
    extcall VM.chainId(OTHER_CHAIN_ID)
    extcall VM.expectRevert(b"eip712: wrong signer")
    extcall self.series.settle_with_report(PRICE, 0, fx.EXPIRY + 100, v, r, s)


@external
def test_report_by_non_reporter_reverts():
    """
    @notice A report signed by anyone but REPORTER is refused.
    """
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._report(STRANGER_KEY, self.series.address, PRICE, 0, fx.EXPIRY + 100, chain.id)
    extcall VM.expectRevert(b"eip712: wrong signer")
    extcall self.series.settle_with_report(PRICE, 0, fx.EXPIRY + 100, v, r, s)


@external
def test_report_expired_reverts():
    """
    @notice A report past its deadline is refused; at the deadline itself it is still valid.
    """
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._report(fx.REPORTER_KEY, self.series.address, PRICE, 0, fx.EXPIRY + 100, chain.id)
    extcall VM.warp(fx.EXPIRY + 101)
    extcall VM.expectRevert(b"eip712: expired deadline")
    extcall self.series.settle_with_report(PRICE, 0, fx.EXPIRY + 100, v, r, s)
    extcall VM.warp(fx.EXPIRY + 100)
    extcall self.series.settle_with_report(PRICE, 0, fx.EXPIRY + 100, v, r, s)


@external
def test_report_zero_price_reverts():
    """
    @notice A signed price of zero is refused like a non-positive oracle answer.
    """
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._report(fx.REPORTER_KEY, self.series.address, 0, 0, fx.EXPIRY + 100, chain.id)
    extcall VM.expectRevert(b"settlement_series: non-positive price")
    extcall self.series.settle_with_report(0, 0, fx.EXPIRY + 100, v, r, s)


@external
def test_report_before_expiry_reverts():
    """
    @notice Even the reporter cannot settle before expiry.
    """
    extcall VM.warp(fx.EXPIRY - 1)
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._report(fx.REPORTER_KEY, self.series.address, PRICE, 0, fx.EXPIRY + 100, chain.id)
    extcall VM.expectRevert(b"settlement_series: not expired")
    extcall self.series.settle_with_report(PRICE, 0, fx.EXPIRY + 100, v, r, s)


@external
def test_relayed_claim_pays_recipient():
    """
    @notice A relayer submits the holder's signed claim; the payout goes to the signed recipient.
    """
    self._settle_by_report()
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._claim_sig(HOLDER_KEY, RECIPIENT, 42, fx.EXPIRY + 1_000)
    extcall VM.prank(RELAYER)
    # 4 units * 12,345,678,901 / 100 = 493,827,156.04
    assert extcall self.series.claim_by_sig(self.holder, RECIPIENT, 42, fx.EXPIRY + 1_000, v, r, s) == 493_827_156
    assert staticcall self.token.balanceOf(RECIPIENT) == 493_827_156
    assert staticcall self.token.balanceOf(RELAYER) == 0
    assert staticcall self.series.balanceOf(self.holder) == 0
    assert staticcall self.series.is_nonce_used(self.holder, 42)


@external
def test_relayed_claim_replayed_reverts():
    """
    @notice The same relayed claim twice: its unordered nonce is spent.
    """
    self._settle_by_report()
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._claim_sig(HOLDER_KEY, RECIPIENT, 42, fx.EXPIRY + 1_000)
    extcall self.series.claim_by_sig(self.holder, RECIPIENT, 42, fx.EXPIRY + 1_000, v, r, s)
    extcall VM.expectRevert(b"nonces: nonce already used")
    extcall self.series.claim_by_sig(self.holder, RECIPIENT, 42, fx.EXPIRY + 1_000, v, r, s)


@external
def test_relayed_claims_in_flight_in_any_order():
    """
    @notice Claims of two holders signed with arbitrary nonces execute in either order; a holder's second
            signed claim (another nonce) finds nothing left to claim.
    """
    self._settle_by_report()
    v1: uint8 = 0
    r1: bytes32 = empty(bytes32)
    s1: bytes32 = empty(bytes32)
    v2: uint8 = 0
    r2: bytes32 = empty(bytes32)
    s2: bytes32 = empty(bytes32)
    v3: uint8 = 0
    r3: bytes32 = empty(bytes32)
    s3: bytes32 = empty(bytes32)
    v1, r1, s1 = self._claim_sig(HOLDER_KEY, RECIPIENT, 900, fx.EXPIRY + 1_000)
    v2, r2, s2 = self._claim_sig(HOLDER2_KEY, self.holder2, 3, fx.EXPIRY + 1_000)
    v3, r3, s3 = self._claim_sig(HOLDER_KEY, self.holder, 1, fx.EXPIRY + 1_000)
    # 6 units * 12,345,678,901 / 100 = 740,740,734.06
    assert extcall self.series.claim_by_sig(self.holder2, self.holder2, 3, fx.EXPIRY + 1_000, v2, r2, s2) == 740_740_734
    assert extcall self.series.claim_by_sig(self.holder, RECIPIENT, 900, fx.EXPIRY + 1_000, v1, r1, s1) == 493_827_156
    extcall VM.expectRevert(b"settlement_series: nothing to claim")
    extcall self.series.claim_by_sig(self.holder, self.holder, 1, fx.EXPIRY + 1_000, v3, r3, s3)


@external
def test_relayed_claim_wrong_signer_reverts():
    """
    @notice A claim for the holder signed by someone else (for example the relayer) is refused.
    """
    self._settle_by_report()
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._claim_sig(STRANGER_KEY, RECIPIENT, 1, fx.EXPIRY + 1_000)
    extcall VM.expectRevert(b"eip712: wrong signer")
    extcall self.series.claim_by_sig(self.holder, RECIPIENT, 1, fx.EXPIRY + 1_000, v, r, s)


@external
def test_relayed_claim_expired_reverts():
    """
    @notice A relayed claim past its deadline is refused.
    """
    self._settle_by_report()
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._claim_sig(HOLDER_KEY, RECIPIENT, 1, fx.EXPIRY + 50)
    extcall VM.warp(fx.EXPIRY + 51)
    extcall VM.expectRevert(b"eip712: expired deadline")
    extcall self.series.claim_by_sig(self.holder, RECIPIENT, 1, fx.EXPIRY + 50, v, r, s)


@external
def test_relayed_claim_zero_recipient_reverts():
    """
    @notice A relayed claim to the zero address is refused.
    """
    self._settle_by_report()
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._claim_sig(HOLDER_KEY, empty(address), 1, fx.EXPIRY + 1_000)
    extcall VM.expectRevert(b"settlement_series: zero address")
    extcall self.series.claim_by_sig(self.holder, empty(address), 1, fx.EXPIRY + 1_000, v, r, s)


@external
def test_relayed_claim_before_settle_reverts():
    """
    @notice No relayed claim is paid before settlement.
    """
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = self._claim_sig(HOLDER_KEY, RECIPIENT, 1, fx.EXPIRY + 1_000)
    extcall VM.expectRevert(b"settlement_series: not settled")
    extcall self.series.claim_by_sig(self.holder, RECIPIENT, 1, fx.EXPIRY + 1_000, v, r, s)


@external
def test_events_for_the_watcher():
    """
    @notice SeriesCreated, Minted, Claimed (direct and relayed), Reclaimed and DustSwept carry exact values.
    """
    extcall VM.warp(fx.START)
    extcall self.token.mint(self, 10_000)
    extcall self.token.approve(self.factory.address, 10_000)
    reporter: address = extcall VM.addr(fx.REPORTER_KEY)
    extcall VM.expectEmit(False, True, True, True, self.factory.address)
    log SeriesCreated(
        series=empty(address), creator=self, collateral=self.token.address, oracle=self.oracle.address,
        strike=fx.STRIKE, cap=fx.CAP, max_payout_per_unit=M6, expiry=fx.EXPIRY, index=1
    )
    other: SettlementSeries.__interface__ = SettlementSeries.__interface__(
        extcall self.factory.create_series(
            self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, fx.EXPIRY, fx.WINDOW,
            fx.SWEEP_DEADLINE, fx.TREASURY, reporter, GUARDIAN
        )
    )
    assert staticcall self.factory.series(1) == other.address
    extcall self.token.mint(W1, 2 * M6)
    extcall VM.startPrank(W1)
    extcall self.token.approve(other.address, 2 * M6)
    extcall VM.expectEmit(True, True, False, True, other.address)
    log Minted(writer=W1, receiver=self.holder, units=2, collateral=2 * M6)
    extcall other.mint(2, self.holder)
    extcall VM.stopPrank()
    fx._settle_at(other, self.oracle, convert(PRICE, int256))
    extcall VM.expectEmit(True, True, False, True, other.address)
    log Claimed(holder=self.holder, recipient=self.holder, units=2, payout=246_913_578)
    extcall other.claim_for([self.holder])
    extcall VM.expectEmit(True, False, False, True, other.address)
    # 2 * 37,654,321,099 / 100 = 753,086,421.98
    log Reclaimed(writer=W1, units=2, amount=753_086_421)
    extcall VM.prank(W1)
    extcall other.reclaim()
    extcall VM.expectEmit(True, False, False, True, other.address)
    log DustSwept(treasury=fx.TREASURY, amount=1, after_deadline=False)
    extcall other.sweep()
