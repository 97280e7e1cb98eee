# pragma version ~=0.4.3
"""
@title SettlementCloneTest
@notice The clone shape audited: SettlementSeriesClone behind EIP-1167 proxies that carry their terms in their
        code. Nobody can initialise the implementation or use it as a series ("settlement_series: not a clone");
        a registered clone cannot be initialised again ("settlement_series: already initialized"); a clone made by
        hand is not registered, takes no collateral before it is initialised and checks its terms when it is;
        each clone reads the terms from its own code (EXTCODECOPY of the executing address), has its own
        EIP-712 domain (verifying contract = the clone, rebuilt when the chain id changes) and its own
        reentrancy lock (transient storage of the proxy).
@dev This contract doubles as a collateral token (`balanceOf`, `transfer`, `transferFrom`) so that it can call
     back into the series from inside `mint` and observe the reentrancy locks.
"""

from .interfaces import IVm
from . import SettlementFixture as fx
from ...contracts import SettlementSeries
from ...contracts import SettlementSeriesClone
from ...contracts import SeriesFactory
from ...contracts.mocks import MockERC20
from ...contracts.mocks import MockAggregator

initializes: fx

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
W1: constant(address) = 0x00000000000000000000000000000000000000A1
H1: constant(address) = 0x00000000000000000000000000000000000000B1
STRANGER: constant(address) = 0x000000000000000000000000000000000000bad1
GUARDIAN: constant(address) = 0x00000000000000000000000000000000000006A4
# @notice Where hand-made clones are etched.
HAND_MADE: constant(address) = 0x000000000000000000000000000000000000C10e
M6: constant(uint256) = 500 * 10**6
DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
OTHER_CHAIN_ID: constant(uint256) = 31_337_000
# @notice EIP-1167 runtime around the implementation address.
PROXY_HEAD: constant(bytes10) = 0x363d3d373d3d3d363d73
PROXY_TAIL: constant(bytes15) = 0x5af43d82803e903d91602b57fd5bf3

factory: SeriesFactory.__interface__
token: MockERC20.__interface__
oracle: MockAggregator.__interface__
series: SettlementSeries.__interface__
implementation: address

# this contract as a collateral token: balances, and what the callback observed
ledger: HashMap[address, uint256]
reenter_same: address
reenter_other: address
same_view_ok: bool
same_call_ok: bool
other_view_ok: bool
other_call_ok: bool
callbacks: uint256


@external
def setUp():
    """
    @notice A factory, a 6-decimal token, a feed and one clone series (the test contract is its owner).
    """
    extcall VM.warp(fx.START)
    self.factory = fx._factory()
    self.token = fx._token(6)
    self.oracle = fx._oracle()
    self.series = fx._create(self.factory, self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, GUARDIAN)
    self.implementation = staticcall self.factory.IMPLEMENTATION()


# ---------------------------------------------------------------------------------------------
# This contract as a collateral token that calls back into series
# ---------------------------------------------------------------------------------------------


@external
@view
def balanceOf(account: address) -> uint256:
    """
    @notice The callback token's balance of `account`.
    @param account The account.
    @return The balance.
    """
    return self.ledger[account]


@external
def transfer(receiver: address, amount: uint256) -> bool:
    """
    @notice Moves the callback token from the caller.
    @param receiver The receiver.
    @param amount The amount.
    @return True.
    """
    self.ledger[msg.sender] -= amount
    self.ledger[receiver] += amount
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    """
    @notice Moves the callback token (no allowance) and, when armed, calls back into two series from inside the
            transfer: records whether a view and a state-changing call succeed on the series being entered and on
            another one.
    @param sender The payer.
    @param receiver The receiver.
    @param amount The amount.
    @return True.
    """
    self.ledger[sender] -= amount
    self.ledger[receiver] += amount
    if self.reenter_same != empty(address):
        self.callbacks += 1
        ok: bool = False
        out: Bytes[32] = b""
        ok, out = raw_call(self.reenter_same, method_id("collateral_held()"), max_outsize=32, revert_on_failure=False)
        self.same_view_ok = ok
        ok, out = raw_call(
            self.reenter_same,
            abi_encode(H1, empty(uint256), method_id=method_id("transfer(address,uint256)")),
            max_outsize=32,
            revert_on_failure=False,
        )
        self.same_call_ok = ok
        ok, out = raw_call(self.reenter_other, method_id("collateral_held()"), max_outsize=32, revert_on_failure=False)
        self.other_view_ok = ok
        ok, out = raw_call(
            self.reenter_other,
            abi_encode(H1, empty(uint256), method_id=method_id("transfer(address,uint256)")),
            max_outsize=32,
            revert_on_failure=False,
        )
        self.other_call_ok = ok
    return True


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


@internal
@view
def _terms(collateral: address, strike: uint256, cap: uint256, m: uint256) -> Bytes[320]:
    """
    @notice abi_encode of a series' terms in settlement_series.Terms order, with the default expiry, window,
            sweep deadline and treasury and no reporter.
    @param collateral The collateral.
    @param strike The strike.
    @param cap The spread width.
    @param m Collateral wei per unit.
    @return The 320 bytes a clone carries after its proxy code.
    """
    return abi_encode(
        collateral,
        self.oracle.address,
        strike,
        cap,
        m,
        fx.EXPIRY,
        fx.WINDOW,
        fx.SWEEP_DEADLINE,
        fx.TREASURY,
        empty(address),
    )


@internal
def _hand_made(at: address, terms: Bytes[320]) -> SettlementSeriesClone.__interface__:
    """
    @notice Etches a clone by hand (not through the factory): EIP-1167 proxy of the implementation || terms.
    @param at Where.
    @param terms The bytes after the proxy.
    @return The clone.
    """
    extcall VM.etch(at, concat(PROXY_HEAD, convert(self.implementation, bytes20), PROXY_TAIL, terms))
    return SettlementSeriesClone.__interface__(at)


@internal
@view
def _separator(verifying_contract: address, chain_id: uint256) -> bytes32:
    """
    @notice The series' EIP-712 domain separator built by hand from the spec.
    @param verifying_contract The verifying contract.
    @param chain_id The chain id.
    @return The separator.
    """
    return keccak256(
        abi_encode(DOMAIN_TYPEHASH, keccak256("settlekit settlement"), keccak256("1"), chain_id, verifying_contract)
    )


# ---------------------------------------------------------------------------------------------
# Initialisation
# ---------------------------------------------------------------------------------------------


@external
def test_initialize_implementation_reverts():
    """
    @notice No one can initialise the implementation itself (it would otherwise get an owner and a guardian).
    """
    extcall VM.prank(STRANGER)
    extcall VM.expectRevert(b"settlement_series: not a clone")
    extcall SettlementSeriesClone.__interface__(self.implementation).initialize(STRANGER, STRANGER)
    assert staticcall SettlementSeriesClone.__interface__(self.implementation).owner() == empty(address)
    assert staticcall SettlementSeriesClone.__interface__(self.implementation).guardian() == empty(address)


@external
def test_implementation_refuses_every_series_entry_point():
    """
    @notice Called directly, the implementation serves no series: every entry point that touches series state or
            reads terms reverts "settlement_series: not a clone"; it has no owner and no guardian.
    """
    impl: SettlementSeries.__interface__ = SettlementSeries.__interface__(self.implementation)
    extcall VM.expectRevert(b"settlement_series: not a clone")
    extcall impl.mint(1, H1)
    extcall VM.expectRevert(b"settlement_series: not a clone")
    extcall impl.transfer(H1, 0)
    extcall VM.warp(fx.EXPIRY + 1)
    extcall VM.expectRevert(b"settlement_series: not a clone")
    extcall impl.settle(1)
    extcall VM.expectRevert(b"settlement_series: not a clone")
    extcall impl.settle_with_report(1, 0, fx.EXPIRY + 1, 27, empty(bytes32), empty(bytes32))
    extcall VM.expectRevert(b"settlement_series: not a clone")
    extcall impl.claim()
    extcall VM.expectRevert(b"settlement_series: not a clone")
    extcall impl.claim_for([H1])
    extcall VM.expectRevert(b"settlement_series: not a clone")
    extcall impl.claim_by_sig(H1, H1, 0, fx.EXPIRY + 1, 27, empty(bytes32), empty(bytes32))
    extcall VM.expectRevert(b"settlement_series: not a clone")
    extcall impl.reclaim()
    extcall VM.expectRevert(b"settlement_series: not a clone")
    extcall impl.sweep()
    extcall VM.expectRevert(b"settlement_series: not a clone")
    strike: uint256 = staticcall impl.STRIKE()
    assert staticcall impl.owner() == empty(address)
    assert staticcall impl.guardian() == empty(address)


@external
def test_registered_clone_cannot_be_initialized_again():
    """
    @notice The factory initialises a clone in the transaction that creates it; afterwards neither a stranger nor
            the owner nor the factory's creator can initialise it again, and the owner and guardian stay.
    """
    clone: SettlementSeriesClone.__interface__ = SettlementSeriesClone.__interface__(self.series.address)
    extcall VM.prank(STRANGER)
    extcall VM.expectRevert(b"settlement_series: already initialized")
    extcall clone.initialize(STRANGER, STRANGER)
    extcall VM.expectRevert(b"settlement_series: already initialized")
    extcall clone.initialize(self, empty(address))
    assert staticcall clone.owner() == self
    assert staticcall clone.guardian() == GUARDIAN


@external
def test_hand_made_clone_is_not_registered_and_initializes_once():
    """
    @notice Anyone can put a proxy of the implementation on chain with terms of their choosing; it is not in the
            factory's registry (the trust anchor), takes no collateral until initialised, and is initialised once.
    """
    clone: SettlementSeriesClone.__interface__ = self._hand_made(
        HAND_MADE, self._terms(self.token.address, fx.STRIKE, fx.CAP, M6)
    )
    assert not staticcall self.factory.is_series(clone.address)
    assert staticcall clone.STRIKE() == fx.STRIKE
    extcall VM.expectRevert(b"settlement_series: not initialized")
    extcall clone.mint(1, H1)
    extcall VM.prank(STRANGER)
    extcall clone.initialize(STRANGER, empty(address))
    assert staticcall clone.owner() == STRANGER
    extcall VM.expectRevert(b"settlement_series: already initialized")
    extcall clone.initialize(self, empty(address))
    fx._mint(SettlementSeries.__interface__(clone.address), self.token.address, W1, 2, H1)
    assert staticcall clone.totalSupply() == 2
    assert staticcall self.token.balanceOf(clone.address) == 2 * M6


@external
def test_hand_made_clone_with_bad_terms_cannot_be_initialized():
    """
    @notice `initialize` checks the terms the proxy carries: a zero cap, or a zero admin, is refused.
    """
    clone: SettlementSeriesClone.__interface__ = self._hand_made(HAND_MADE, self._terms(self.token.address, fx.STRIKE, 0, M6))
    extcall VM.expectRevert(b"settlement_series: zero cap")
    extcall clone.initialize(self, empty(address))
    good: SettlementSeriesClone.__interface__ = self._hand_made(
        HAND_MADE, self._terms(self.token.address, fx.STRIKE, fx.CAP, M6)
    )
    extcall VM.expectRevert(b"settlement_series: zero address")
    extcall good.initialize(empty(address), empty(address))


# ---------------------------------------------------------------------------------------------
# Terms under DELEGATECALL
# ---------------------------------------------------------------------------------------------


@external
def test_clone_code_is_proxy_and_terms():
    """
    @notice A factory clone's code is exactly the 45-byte EIP-1167 proxy of IMPLEMENTATION followed by the
            320-byte ABI encoding of its terms.
    """
    code: Bytes[365] = slice(self.series.address.code, 0, 365)
    assert self.series.address.codesize == 365
    reporter: address = extcall VM.addr(fx.REPORTER_KEY)
    expected_terms: Bytes[320] = abi_encode(
        self.token.address,
        self.oracle.address,
        fx.STRIKE,
        fx.CAP,
        M6,
        fx.EXPIRY,
        fx.WINDOW,
        fx.SWEEP_DEADLINE,
        fx.TREASURY,
        reporter,
    )
    assert code == concat(PROXY_HEAD, convert(self.implementation, bytes20), PROXY_TAIL, expected_terms)


@external
def test_each_clone_reads_its_own_terms():
    """
    @notice Two clones of one implementation with different terms each report and apply their own terms: the
            implementation reads the executing proxy's code, not its own (whose terms are all zero).
    """
    token18: MockERC20.__interface__ = fx._token(18)
    other: SettlementSeries.__interface__ = fx._create(
        self.factory, token18.address, self.oracle.address, 1_000 * 10**8, 7 * 10**8, 10**18 + 1, GUARDIAN
    )
    assert staticcall self.series.COLLATERAL() == self.token.address
    assert staticcall other.COLLATERAL() == token18.address
    assert staticcall self.series.STRIKE() == fx.STRIKE
    assert staticcall other.STRIKE() == 1_000 * 10**8
    assert staticcall self.series.CAP() == fx.CAP
    assert staticcall other.CAP() == 7 * 10**8
    assert staticcall self.series.MAX_PAYOUT_PER_UNIT() == M6
    assert staticcall other.MAX_PAYOUT_PER_UNIT() == 10**18 + 1
    assert staticcall other.ORACLE() == self.oracle.address
    assert staticcall other.EXPIRY() == fx.EXPIRY
    assert staticcall other.SETTLEMENT_WINDOW() == fx.WINDOW
    assert staticcall other.SWEEP_DEADLINE() == fx.SWEEP_DEADLINE
    assert staticcall other.TREASURY() == fx.TREASURY
    assert staticcall other.REPORTER() == extcall VM.addr(fx.REPORTER_KEY)
    fx._mint(self.series, self.token.address, W1, 3, H1)
    fx._mint(other, token18.address, W1, 3, H1)
    assert staticcall self.token.balanceOf(self.series.address) == 3 * M6
    assert staticcall token18.balanceOf(other.address) == 3 * (10**18 + 1)
    # one price, two payouts: 2,100 is 100/500 into the first spread and past the whole 7-wide second one
    fx._settle_at(self.series, self.oracle, 2_100 * 10**8)
    extcall other.settle(2)
    extcall VM.prank(H1)
    assert extcall self.series.claim() == 3 * M6 * 100 // 500
    extcall VM.prank(H1)
    assert extcall other.claim() == 3 * (10**18 + 1)


@external
def test_truncated_clone_refuses_to_read_terms():
    """
    @notice A proxy carrying fewer than 320 bytes of terms cannot be read as a series: the code read checks that
            the executing code is at least 365 bytes long and reverts otherwise.
    """
    terms: Bytes[320] = self._terms(self.token.address, fx.STRIKE, fx.CAP, M6)
    clone: SettlementSeriesClone.__interface__ = self._hand_made(HAND_MADE, slice(terms, 0, 319))
    assert clone.address.codesize == 364
    ok: bool = False
    out: Bytes[32] = b""
    ok, out = raw_call(clone.address, method_id("STRIKE()"), max_outsize=32, revert_on_failure=False, is_static_call=True)
    assert not ok
    full: SettlementSeriesClone.__interface__ = self._hand_made(HAND_MADE, terms)
    assert staticcall full.STRIKE() == fx.STRIKE


# ---------------------------------------------------------------------------------------------
# EIP-712 domain and reentrancy lock, per clone
# ---------------------------------------------------------------------------------------------


@external
def test_domain_is_each_clone_and_follows_chain_id():
    """
    @notice Each clone's EIP-712 verifying contract is the clone (not the implementation), so two clones of the
            same terms have different separators; after a chain-id change each is rebuilt for the new chain id.
    """
    other: SettlementSeries.__interface__ = fx._create(
        self.factory, self.token.address, self.oracle.address, fx.STRIKE, fx.CAP, M6, GUARDIAN
    )
    verifying: address = empty(address)
    fields: bytes1 = empty(bytes1)
    name: String[50] = ""
    version: String[20] = ""
    chain_id: uint256 = 0
    salt: bytes32 = empty(bytes32)
    extensions: DynArray[uint256, 32] = []
    fields, name, version, chain_id, verifying, salt, extensions = staticcall self.series.eip712Domain()
    assert verifying == self.series.address
    assert chain_id == chain.id
    separator: bytes32 = staticcall self.series.DOMAIN_SEPARATOR()
    assert separator == self._separator(self.series.address, chain.id)
    assert staticcall other.DOMAIN_SEPARATOR() == self._separator(other.address, chain.id)
    assert staticcall other.DOMAIN_SEPARATOR() != separator
    assert separator != self._separator(self.implementation, chain.id)
    extcall VM.chainId(OTHER_CHAIN_ID)
    assert staticcall self.series.DOMAIN_SEPARATOR() == self._separator(self.series.address, OTHER_CHAIN_ID)
    assert staticcall other.DOMAIN_SEPARATOR() == self._separator(other.address, OTHER_CHAIN_ID)


@external
def test_reentrancy_lock_is_per_clone():
    """
    @notice While clone A is inside `mint` (pulling collateral from this contract, which calls back), A refuses
            both a view and a state-changing call (the lock lives in A's transient storage), while clone B of the
            same implementation, with its own lock, serves both.
    """
    self.ledger[self] = 10**30
    extcall self.factory.create_series(
        self, self.oracle.address, fx.STRIKE, fx.CAP, M6, fx.EXPIRY, fx.WINDOW, fx.SWEEP_DEADLINE, fx.TREASURY,
        empty(address), GUARDIAN
    )
    a: address = staticcall self.factory.series(1)
    extcall self.factory.create_series(
        self, self.oracle.address, fx.STRIKE, fx.CAP, M6, fx.EXPIRY, fx.WINDOW, fx.SWEEP_DEADLINE, fx.TREASURY,
        empty(address), GUARDIAN
    )
    b: address = staticcall self.factory.series(2)
    self.reenter_same = a
    self.reenter_other = b
    self.same_view_ok = True
    self.same_call_ok = True
    extcall SettlementSeries.__interface__(a).mint(2, H1)
    assert self.callbacks == 1
    assert not self.same_view_ok
    assert not self.same_call_ok
    assert self.other_view_ok
    assert self.other_call_ok
    assert self.ledger[a] == 2 * M6
    # outside the callback A is unlocked again
    assert staticcall SettlementSeries.__interface__(a).collateral_held() == 2 * M6
