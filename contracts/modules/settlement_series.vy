# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title settlement_series
@license Apache-2.0
@notice The logic of one cash-settled, fully collateralised capped-call series (a call spread) on a guarded price
        feed, shared by the two deployables: SettlementSeries (a full contract, created from an ERC-5202 blueprint,
        terms in immutables) and SettlementSeriesClone (one implementation behind many minimal proxies, terms in
        each proxy's code). Writers lock `MAX_PAYOUT_PER_UNIT` collateral wei per unit and mint transferable long
        units. After `EXPIRY` the settlement price is fixed exactly once, from the first usable oracle round at or
        after expiry or from a report signed by `REPORTER`; that price fixes the payout rate
        n / CAP with n = clamp(price - STRIKE, 0, CAP). Holders then claim
        floor(units * MAX_PAYOUT_PER_UNIT * n / CAP), writers reclaim
        floor(written * MAX_PAYOUT_PER_UNIT * (CAP - n) / CAP), and the leftover (rounding dust, or after
        max(`SWEEP_DEADLINE`, settlement + `MIN_CLAIM_PERIOD`) everything unclaimed) goes to `TREASURY`.
        Liveness: the circuit breaker can hold settlement and the sweep back for at most `MAX_SETTLEMENT_DELAY`
        after the settlement window; a series nobody settled by EXPIRY + SETTLEMENT_WINDOW + FALLBACK_DELAY can be
        settled by anyone with `settle_fallback` (void: every writer gets its collateral back); exits are never
        guarded. So every deposited wei can always end up with someone entitled to it (docs/settlement.md).
@dev Terms are read once per call by `_terms()` and passed to the internals as a `Terms` struct:
     - terms in immutables (`_TERMS_IN_CODE` false): the full contract; `_terms()` returns the immutable `_TERMS`.
     - terms in code (`_TERMS_IN_CODE` true): the implementation of the clones. Each clone is an EIP-1167 proxy
       (TERMS_OFFSET = 45 bytes) followed by abi_encode(Terms) (TERMS_SIZE = 320 bytes); `_terms()` reads those
       bytes with EXTCODECOPY of the executing address. The executing address is copied to a variable first
       because Vyper compiles `self.code` to CODECOPY, which under DELEGATECALL would copy the implementation's
       own code. Called directly (not through a proxy), the implementation reverts "settlement_series: not a
       clone" on every entry point that changes series state or reads terms.
     Accounting: collateral_held() == total_deposited - total_paid - total_reclaimed - total_swept at every step,
     and the token balance of the series is at least that (donations are never counted). Every payout rounds
     down, so the sum of payouts never exceeds the collateral and the dust is below the number of payouts.
     Circuit breaker: mint is new risk, settlement is a price move, transfer and sweep are ordinary, and every
     claim and reclaim is an exit (never guarded). The settlement and sweep guards lapse at
     EXPIRY + SETTLEMENT_WINDOW + MAX_SETTLEMENT_DELAY, whatever the level. Under DELEGATECALL every storage variable, the reentrancy lock,
     `self` (so the EIP-712 verifying contract) and every event belong to the proxy. See docs/settlement.md.
"""

from ethereum.ercs import IERC20
from . import ownable
from . import circuit_breaker
from . import nonces as nonce_book
from . import eip712
from . import math
from . import safe_token

initializes: ownable
initializes: circuit_breaker[ownable := ownable]
initializes: nonce_book
initializes: eip712

exports: (
    ownable.owner,
    ownable.pending_owner,
    ownable.transfer_ownership,
    ownable.accept_ownership,
    circuit_breaker.level,
    circuit_breaker.guardian,
    circuit_breaker.set_guardian,
    circuit_breaker.raise_level,
    circuit_breaker.lower_level,
    nonce_book.nonces,
    nonce_book.nonce_bitmap,
    nonce_book.is_nonce_used,
    nonce_book.invalidate_nonces,
    nonce_book.invalidate_unordered_nonces,
    eip712.eip712Domain,
    eip712.DOMAIN_SEPARATOR,
)


interface IAggregator:
    def getRoundData(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80): view


# @notice The terms of a series, in the order they are ABI-encoded after a clone's proxy code.
struct Terms:
    collateral: address
    oracle: address
    strike: uint256
    cap: uint256
    max_payout_per_unit: uint256
    expiry: uint256
    settlement_window: uint256
    sweep_deadline: uint256
    treasury: address
    reporter: address


# @notice The EIP-712 type of a settlement price report, signed by REPORTER for its next sequential nonce.
SETTLEMENT_REPORT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "SettlementReport(uint256 price,uint256 expiry,uint256 nonce,uint256 deadline)"
)
# @notice The EIP-712 type of a holder's claim, relayed by anyone, spent with an unordered nonce.
CLAIM_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Claim(address holder,address recipient,uint256 nonce,uint256 deadline)"
)
# @notice The EIP-712 domain name.
DOMAIN_NAME: public(constant(String[50])) = "settlekit settlement"
# @notice The EIP-712 domain version.
DOMAIN_VERSION: public(constant(String[20])) = "1"
# @notice `Settled.source` for a price taken from the oracle.
SOURCE_ORACLE: public(constant(uint256)) = 1
# @notice `Settled.source` for a price taken from a signed report.
SOURCE_REPORT: public(constant(uint256)) = 2
# @notice `Settled.source` for the fallback settlement (void: price 0, rate 0, every writer gets its collateral back).
SOURCE_FALLBACK: public(constant(uint256)) = 3
# @notice The shortest time holders get to claim after settlement before unclaimed units may be swept: the late
#         sweep opens at max(SWEEP_DEADLINE, settled_at + MIN_CLAIM_PERIOD). Seven days.
MIN_CLAIM_PERIOD: public(constant(uint256)) = 7 * 86_400
# @notice The longest the circuit breaker can hold settlement and the sweep back: from
#         EXPIRY + SETTLEMENT_WINDOW + MAX_SETTLEMENT_DELAY on, settle, settle_with_report and sweep ignore the
#         level (exits never look at it). Seven days.
MAX_SETTLEMENT_DELAY: public(constant(uint256)) = 7 * 86_400
# @notice How long after the settlement window a series nobody settled waits before anyone may settle it with
#         `settle_fallback`. Longer than MAX_SETTLEMENT_DELAY, so that for seven days before the fallback opens the
#         ordinary settlement paths work at every breaker level. Fourteen days.
FALLBACK_DELAY: public(constant(uint256)) = 14 * 86_400
# @notice Upper bound on EXPIRY and SETTLEMENT_WINDOW (2**64 - 1 seconds), so every deadline sum fits easily.
MAX_TIME: public(constant(uint256)) = 2**64 - 1
# @notice How many rounds before the hinted one `settle` inspects to prove it is the first usable one.
MAX_ROUND_SCAN: public(constant(uint256)) = 16
# @notice The most holders `claim_for` pays in one call.
MAX_BATCH: public(constant(uint256)) = 256
# @notice getRoundData returns five words.
ROUND_DATA_SIZE: constant(uint256) = 160
# @notice Where a clone's terms start in its code: after the 45-byte EIP-1167 proxy.
TERMS_OFFSET: public(constant(uint256)) = 45
# @notice Length of abi_encode(Terms): ten static words.
TERMS_SIZE: public(constant(uint256)) = 320

# @notice True in the clones' implementation (terms read from the proxy's code), false in a full series.
_TERMS_IN_CODE: immutable(bool)
# @notice The address this code was deployed at; in the implementation, the one address it refuses to serve.
_DEPLOYED_AT: immutable(address)
# @notice A full series' terms (all zero in the implementation).
_TERMS: immutable(Terms)

# @notice Long units held per account (transferable; cleared when claimed).
balanceOf: public(HashMap[address, uint256])
# @notice Units written per writer whose collateral has not been reclaimed yet.
written: public(HashMap[address, uint256])
# @notice Units ever minted.
totalSupply: public(uint256)
# @notice Minted units whose holder has not claimed yet.
open_units: public(uint256)
# @notice Written units whose writer has not reclaimed yet.
open_written: public(uint256)
# @notice Collateral wei ever deposited (== totalSupply * MAX_PAYOUT_PER_UNIT).
total_deposited: public(uint256)
# @notice Collateral wei held on the books: deposited - paid - reclaimed - swept. Kept in storage (rather than
#         total_paid) because it is nonzero from the first mint on, so no claim ever pays for a zero-to-nonzero
#         write; total_paid() is derived from it.
held: uint256
# @notice Collateral wei reclaimed by writers.
total_reclaimed: public(uint256)
# @notice Collateral wei swept to the treasury.
total_swept: public(uint256)
# @notice The settlement price: 0 until settled, and 0 after the fallback settlement (void); an oracle or reported
#         settlement price is always > 0. Whether the series is settled is `settled_at != 0`.
settlement_price: public(uint256)
# @notice When the series was settled (any path); 0 while unsettled.
settled_at: public(uint256)
# @notice True once the treasury sweep has run; nothing can be claimed afterwards.
swept: public(bool)


event Minted:
    writer: indexed(address)
    receiver: indexed(address)
    units: uint256
    collateral: uint256


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Settled:
    price: uint256
    payout_numerator: uint256
    payout_denominator: uint256
    source: uint256
    reference: uint256


event Claimed:
    holder: indexed(address)
    recipient: indexed(address)
    units: uint256
    payout: uint256


event Reclaimed:
    writer: indexed(address)
    units: uint256
    amount: uint256


event ClaimSkipped:
    holder: indexed(address)
    units: uint256
    payout: uint256


event DustSwept:
    treasury: indexed(address)
    amount: uint256
    after_deadline: bool


@deploy
def __init__(terms: Terms, terms_in_code: bool, admin: address, guardian: address):
    """
    @notice Sets up the modules and fixes where the terms come from. For a full series (`terms_in_code` false)
            `terms` must have passed `_check_terms` and `admin` becomes the owner; the implementation of the
            clones (`terms_in_code` true) is deployed with empty terms, no owner and no guardian, and each clone
            gets its own through `_initialize`.
    @param terms The series' terms (empty for the implementation).
    @param terms_in_code Whether terms are read from the executing proxy's code (the implementation).
    @param admin The owner (the zero address for the implementation).
    @param guardian The circuit-breaker guardian (zero for none).
    """
    ownable.__init__()
    ownable._transfer_ownership(admin)
    circuit_breaker.__init__(guardian)
    eip712.__init__(DOMAIN_NAME, DOMAIN_VERSION)
    _TERMS_IN_CODE = terms_in_code
    _DEPLOYED_AT = self
    _TERMS = terms


# ---------------------------------------------------------------------------------------------
# Terms
# ---------------------------------------------------------------------------------------------


@external
@view
def COLLATERAL() -> address:
    """
    @notice The collateral token (no fee on transfer; the factory probes it at creation).
    @return The token.
    """
    return self._terms().collateral


@external
@view
def ORACLE() -> address:
    """
    @notice The Chainlink-style feed the settlement price is read from.
    @return The feed.
    """
    return self._terms().oracle


@external
@view
def STRIKE() -> uint256:
    """
    @notice Strike price, in the feed's units.
    @return The strike.
    """
    return self._terms().strike


@external
@view
def CAP() -> uint256:
    """
    @notice Width of the call spread in the feed's units: the payout is full from STRIKE + CAP upwards.
    @return The spread width.
    """
    return self._terms().cap


@external
@view
def MAX_PAYOUT_PER_UNIT() -> uint256:
    """
    @notice Collateral wei locked per unit and paid per unit at most.
    @return The collateral wei per unit.
    """
    return self._terms().max_payout_per_unit


@external
@view
def EXPIRY() -> uint256:
    """
    @notice The expiry timestamp: mint is open strictly before it, settlement at or after it.
    @return The expiry.
    """
    return self._terms().expiry


@external
@view
def SETTLEMENT_WINDOW() -> uint256:
    """
    @notice An oracle round updated later than EXPIRY + SETTLEMENT_WINDOW is stale for this settlement.
    @return The window, in seconds.
    """
    return self._terms().settlement_window


@external
@view
def SWEEP_DEADLINE() -> uint256:
    """
    @notice From this timestamp on, the treasury may sweep everything left even if claims are outstanding.
    @return The sweep deadline.
    """
    return self._terms().sweep_deadline


@external
@view
def TREASURY() -> address:
    """
    @notice Receives the dust (and, after SWEEP_DEADLINE, whatever is unclaimed).
    @return The treasury.
    """
    return self._terms().treasury


@external
@view
def REPORTER() -> address:
    """
    @notice The only signer of settlement price reports (the zero address disables reports).
    @return The reporter.
    """
    return self._terms().reporter


# ---------------------------------------------------------------------------------------------
# Before expiry
# ---------------------------------------------------------------------------------------------


@external
def mint(units: uint256, receiver: address) -> uint256:
    """
    @notice Locks units * MAX_PAYOUT_PER_UNIT collateral from the caller and mints `units` long units to
            `receiver`; the caller is recorded as the writer of those units. Writers may mint any number of
            lots before expiry. New risk: LIVE only.
    @dev The collateral is pulled with an exact-amount check, so a token that starts charging a fee is refused.
         Reverts "settlement_series: not initialized" on a clone that never went through `initialize` (its terms
         were never checked); every series the factory creates is initialised in its creation transaction.
    @param units The number of units to mint; nonzero.
    @param receiver Who receives the long units; nonzero and not the series itself.
    @return The collateral wei locked.
    """
    t: Terms = self._terms()
    circuit_breaker._check_new_risk_allowed()
    # a series always has an owner once its terms are checked (constructor or `_initialize`); a proxy someone made
    # by hand and never initialised has unchecked terms, so it takes no collateral
    assert ownable.owner != empty(address), "settlement_series: not initialized"
    assert block.timestamp < t.expiry, "settlement_series: expired"
    assert units != 0, "settlement_series: zero units"
    assert receiver != empty(address), "settlement_series: zero address"
    assert receiver != self, "settlement_series: receiver is the series"
    deposited: uint256 = self.total_deposited
    # rounds nowhere: both bounds are exact integer divisions used only as overflow guards (floor is conservative)
    assert units <= (max_value(uint256) - deposited) // t.max_payout_per_unit, "settlement_series: mint too large"
    # cannot overflow: units <= (2**256 - 1 - deposited) / MAX_PAYOUT_PER_UNIT was asserted above
    amount: uint256 = unsafe_mul(units, t.max_payout_per_unit)
    # cannot overflow: amount <= 2**256 - 1 - deposited by the same assertion
    self.total_deposited = unsafe_add(deposited, amount)
    # cannot overflow: held <= total_deposited, which fits (line above)
    self.held = unsafe_add(self.held, amount)
    # cannot overflow: totalSupply * MAX_PAYOUT_PER_UNIT == total_deposited, which fits, and MAX_PAYOUT_PER_UNIT >= 1
    self.totalSupply = unsafe_add(self.totalSupply, units)
    # cannot overflow: open_units <= totalSupply, which fits (line above)
    self.open_units = unsafe_add(self.open_units, units)
    # cannot overflow: open_written <= totalSupply
    self.open_written = unsafe_add(self.open_written, units)
    # cannot overflow: written[w] <= totalSupply
    self.written[msg.sender] = unsafe_add(self.written[msg.sender], units)
    # cannot overflow: balanceOf[r] <= totalSupply
    self.balanceOf[receiver] = unsafe_add(self.balanceOf[receiver], units)
    safe_token._safe_transfer_from_exact(t.collateral, msg.sender, self, amount)
    log Minted(writer=msg.sender, receiver=receiver, units=units, collateral=amount)
    log Transfer(sender=empty(address), receiver=receiver, value=units)
    return amount


@external
def transfer(receiver: address, units: uint256) -> bool:
    """
    @notice Moves `units` long units from the caller to `receiver`. Ordinary operation: blocked only at HALTED.
    @param receiver The receiver; nonzero and not the series itself (units there could never be claimed).
    @param units The number of units.
    @return True.
    """
    circuit_breaker._check_not_halted()
    self._check_not_implementation()
    assert receiver != empty(address), "settlement_series: zero address"
    assert receiver != self, "settlement_series: receiver is the series"
    balance: uint256 = self.balanceOf[msg.sender]
    assert balance >= units, "settlement_series: insufficient balance"
    # cannot underflow: balance >= units asserted above
    self.balanceOf[msg.sender] = unsafe_sub(balance, units)
    # cannot overflow: the sum of all balances never exceeds totalSupply
    self.balanceOf[receiver] = unsafe_add(self.balanceOf[receiver], units)
    log Transfer(sender=msg.sender, receiver=receiver, value=units)
    return True


# ---------------------------------------------------------------------------------------------
# Settlement
# ---------------------------------------------------------------------------------------------


@external
def settle(round_id: uint80) -> uint256:
    """
    @notice Fixes the settlement price from oracle round `round_id`, which must be the first usable round at
            or after EXPIRY. Usable: answer > 0, updated in [EXPIRY, min(now, EXPIRY + SETTLEMENT_WINDOW)],
            answered in its own round. The rounds before it are inspected (at most MAX_ROUND_SCAN, missing
            rounds included: a gap is walked over, not taken as the start of the feed) until one updated before
            EXPIRY, or round 1, is reached; none of them may be usable. Price-moving step: allowed at LIVE and
            NO_NEW_RISK until EXPIRY + SETTLEMENT_WINDOW + MAX_SETTLEMENT_DELAY, at every level from then on.
    @param round_id The hinted round (found off-chain).
    @return The settlement price.
    """
    t: Terms = self._terms()
    if block.timestamp < self._breaker_lapses_at(t):
        circuit_breaker._check_price_move_allowed()
    self._check_settleable(t)
    answer: int256 = 0
    updated_at: uint256 = 0
    answered_in: uint80 = 0
    _rid: uint80 = 0
    _started: uint256 = 0
    _rid, answer, _started, updated_at, answered_in = staticcall IAggregator(t.oracle).getRoundData(round_id)
    assert updated_at >= t.expiry, "settlement_series: round before expiry"
    assert answer > 0, "settlement_series: non-positive price"
    assert self._fresh(t, updated_at, answered_in, round_id), "settlement_series: stale round"
    self._check_first_usable(t, round_id)
    price: uint256 = convert(answer, uint256)
    self._fix(t, price, SOURCE_ORACLE, convert(round_id, uint256))
    return price


@external
def settle_with_report(price: uint256, nonce: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32) -> uint256:
    """
    @notice Fixes the settlement price from a report signed by REPORTER (EIP-712 SettlementReport for this
            series' EXPIRY and the reporter's next sequential nonce, valid up to `deadline`). The domain binds
            the chain id and this contract, so a report for another chain or series never verifies.
            Price-moving step: allowed at LIVE and NO_NEW_RISK until EXPIRY + SETTLEMENT_WINDOW +
            MAX_SETTLEMENT_DELAY, at every level from then on.
    @param price The reported settlement price, in feed units; nonzero.
    @param nonce The reporter's sequential nonce the report was signed for.
    @param deadline The last timestamp at which the report may be used.
    @param v The signature's recovery id.
    @param r The signature's r.
    @param s The signature's s.
    @return The settlement price.
    """
    t: Terms = self._terms()
    if block.timestamp < self._breaker_lapses_at(t):
        circuit_breaker._check_price_move_allowed()
    self._check_settleable(t)
    assert price != 0, "settlement_series: non-positive price"
    eip712._check_deadline(deadline)
    nonce_book._use_checked_nonce(t.reporter, nonce)
    struct_hash: bytes32 = keccak256(abi_encode(SETTLEMENT_REPORT_TYPEHASH, price, t.expiry, nonce, deadline))
    eip712._check_signer(t.reporter, eip712._hash_typed_data(struct_hash), v, r, s)
    self._fix(t, price, SOURCE_REPORT, nonce)
    return price


@external
def settle_fallback() -> uint256:
    """
    @notice Settles a series nobody settled: callable by anyone from EXPIRY + SETTLEMENT_WINDOW + FALLBACK_DELAY
            on, at every breaker level. The fallback voids the series: the rate is 0, so holders are owed nothing
            and every writer reclaims exactly the collateral it locked (no rounding: floor(w * M * CAP / CAP)).
            It reads no oracle, no signature and no caller input, so no oracle, reporter, guardian or owner can
            make it fail, and the caller chooses nothing. Logs `Settled(0, 0, CAP, SOURCE_FALLBACK, 0)`.
    @dev Why void rather than a price: every oracle-based rule can be blocked (a feed that reverts) or chosen
         from (the feed moves while the caller waits); see docs/settlement.md, "Fallback settlement".
    @return The settlement price, 0.
    """
    t: Terms = self._terms()
    self._check_settleable(t)
    # cannot overflow: EXPIRY and SETTLEMENT_WINDOW are at most MAX_TIME (2**64 - 1), checked at creation
    opens: uint256 = unsafe_add(unsafe_add(t.expiry, t.settlement_window), FALLBACK_DELAY)
    assert block.timestamp >= opens, "settlement_series: fallback not open"
    self.settled_at = block.timestamp
    log Settled(price=0, payout_numerator=0, payout_denominator=t.cap, source=SOURCE_FALLBACK, reference=0)
    return 0


# ---------------------------------------------------------------------------------------------
# Exits (never guarded by the circuit breaker)
# ---------------------------------------------------------------------------------------------


@external
def claim() -> uint256:
    """
    @notice Pays the caller's units at the settlement rate, rounded down, and clears them. An exit.
    @return The collateral wei paid.
    """
    t: Terms = self._terms()
    numerator: uint256 = self._check_claimable(t)
    units: uint256 = self.balanceOf[msg.sender]
    assert units != 0, "settlement_series: nothing to claim"
    payout: uint256 = self._pay(t, msg.sender, msg.sender, units, numerator)
    self._book_claims(units, payout)
    return payout


@external
def claim_for(holders: DynArray[address, MAX_BATCH]) -> uint256:
    """
    @notice Pays each listed holder its own units at the settlement rate (to the holder itself). Holders with
            no units (or listed twice) are skipped, so one stale entry never blocks a batch. A holder the
            collateral token refuses to pay (its transfer reverts, e.g. a blacklisted address) is skipped too:
            its units stay, `ClaimSkipped` is logged, and it can still claim later (`claim_by_sig` lets it name
            another recipient). A token that returns false or malformed data still reverts the batch. An exit.
    @param holders The holders to pay.
    @return The total collateral wei paid.
    """
    t: Terms = self._terms()
    numerator: uint256 = self._check_claimable(t)
    total_units: uint256 = 0
    total_payout: uint256 = 0
    for holder: address in holders:
        units: uint256 = self.balanceOf[holder]
        if units == 0:
            continue
        self.balanceOf[holder] = 0
        payout: uint256 = self._holder_payout(t, units, numerator)
        if not safe_token._try_transfer(t.collateral, holder, payout):
            # the token reverted, so nothing moved: the holder keeps its units for a later claim
            self.balanceOf[holder] = units
            log ClaimSkipped(holder=holder, units=units, payout=payout)
            continue
        log Claimed(holder=holder, recipient=holder, units=units, payout=payout)
        # cannot overflow: the units of distinct holders sum to at most totalSupply
        total_units = unsafe_add(total_units, units)
        # cannot overflow: the payouts sum to at most total_deposited
        total_payout = unsafe_add(total_payout, payout)
    self._book_claims(total_units, total_payout)
    return total_payout


@external
def claim_by_sig(
    holder: address, recipient: address, nonce: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32
) -> uint256:
    """
    @notice Pays `holder`'s units to `recipient` from the holder's EIP-712 Claim signature, relayed by anyone.
            The nonce is unordered, so many relayed claims can be in flight at once. An exit.
    @param holder The holder who signed.
    @param recipient Who receives the payout; nonzero and not the series itself.
    @param nonce The holder's unordered nonce for this claim.
    @param deadline The last timestamp at which the claim may be relayed.
    @param v The signature's recovery id.
    @param r The signature's r.
    @param s The signature's s.
    @return The collateral wei paid.
    """
    t: Terms = self._terms()
    numerator: uint256 = self._check_claimable(t)
    assert recipient != empty(address), "settlement_series: zero address"
    assert recipient != self, "settlement_series: receiver is the series"
    eip712._check_deadline(deadline)
    nonce_book._use_unordered_nonce(holder, nonce)
    struct_hash: bytes32 = keccak256(abi_encode(CLAIM_TYPEHASH, holder, recipient, nonce, deadline))
    eip712._check_signer(holder, eip712._hash_typed_data(struct_hash), v, r, s)
    units: uint256 = self.balanceOf[holder]
    assert units != 0, "settlement_series: nothing to claim"
    payout: uint256 = self._pay(t, holder, recipient, units, numerator)
    self._book_claims(units, payout)
    return payout


@external
def reclaim() -> uint256:
    """
    @notice Pays the caller, as a writer, the collateral its written units do not owe:
            floor(written * MAX_PAYOUT_PER_UNIT * (CAP - n) / CAP). Independent of any long units the caller
            holds. An exit.
    @return The collateral wei returned.
    """
    t: Terms = self._terms()
    numerator: uint256 = self._check_claimable(t)
    units: uint256 = self.written[msg.sender]
    assert units != 0, "settlement_series: nothing to reclaim"
    self.written[msg.sender] = 0
    # cannot overflow: units * MAX_PAYOUT_PER_UNIT <= total_deposited; rounds down (against the writer);
    # cannot underflow: numerator <= CAP by construction in _rate
    amount: uint256 = math._mul_div(unsafe_mul(units, t.max_payout_per_unit), unsafe_sub(t.cap, numerator), t.cap, False)
    # cannot underflow: units <= open_written (every written unit is counted once in open_written)
    self.open_written = unsafe_sub(self.open_written, units)
    # cannot underflow: amount is the floor of this writer's share, and the floors of all shares sum to at most
    # what was deposited less what was already paid out (see _book_claims)
    self.held = unsafe_sub(self.held, amount)
    # cannot overflow: reclaims sum to at most total_deposited
    self.total_reclaimed = unsafe_add(self.total_reclaimed, amount)
    safe_token._safe_transfer(t.collateral, msg.sender, amount)
    log Reclaimed(writer=msg.sender, units=units, amount=amount)
    return amount


@external
def sweep() -> uint256:
    """
    @notice Sends everything the series still holds to TREASURY, once: after every unit is claimed and every
            written unit reclaimed this is exactly the rounding dust; from max(SWEEP_DEADLINE,
            settled_at + MIN_CLAIM_PERIOD) on it also takes what is unclaimed, so holders always get at least
            MIN_CLAIM_PERIOD after settlement to claim. Ordinary operation: blocked at HALTED until
            EXPIRY + SETTLEMENT_WINDOW + MAX_SETTLEMENT_DELAY, allowed at every level from then on.
    @return The collateral wei swept.
    """
    t: Terms = self._terms()
    if block.timestamp < self._breaker_lapses_at(t):
        circuit_breaker._check_not_halted()
    self._check_claimable(t)
    after_deadline: bool = block.timestamp >= self._late_sweep_at(t)
    assert after_deadline or (self.open_units == 0 and self.open_written == 0), "settlement_series: claims outstanding"
    amount: uint256 = self.held
    self.held = 0
    self.swept = True
    self.total_swept = amount
    safe_token._safe_transfer(t.collateral, t.treasury, amount)
    log DustSwept(treasury=t.treasury, amount=amount, after_deadline=after_deadline)
    return amount


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------


@external
@view
def collateral_held() -> uint256:
    """
    @notice Collateral the series accounts for: deposited - paid - reclaimed - swept.
    @return The collateral wei held.
    """
    return self.held


@external
@view
def total_paid() -> uint256:
    """
    @notice Collateral wei paid to holders: deposited - held - reclaimed - swept.
    @return The collateral wei paid.
    """
    # cannot underflow: held, reclaimed and swept are disjoint parts of what was deposited (held starts equal to
    # the deposits, and every reclaim, sweep and payout moves wei out of held)
    return unsafe_sub(unsafe_sub(unsafe_sub(self.total_deposited, self.held), self.total_reclaimed), self.total_swept)


@external
@view
def late_sweep_at() -> uint256:
    """
    @notice When the sweep may take unclaimed collateral: max(SWEEP_DEADLINE, settled_at + MIN_CLAIM_PERIOD);
            0 while the series is unsettled (the claim period has not started).
    @return The timestamp.
    """
    if self.settled_at == 0:
        return 0
    return self._late_sweep_at(self._terms())


@external
@view
def settlement_guard_lapses_at() -> uint256:
    """
    @notice From this timestamp on the circuit breaker no longer holds back settle, settle_with_report or sweep:
            EXPIRY + SETTLEMENT_WINDOW + MAX_SETTLEMENT_DELAY.
    @return The timestamp.
    """
    return self._breaker_lapses_at(self._terms())


@external
@view
def fallback_opens_at() -> uint256:
    """
    @notice From this timestamp on anyone may call `settle_fallback` on an unsettled series:
            EXPIRY + SETTLEMENT_WINDOW + FALLBACK_DELAY.
    @return The timestamp.
    """
    t: Terms = self._terms()
    # cannot overflow: EXPIRY and SETTLEMENT_WINDOW are at most MAX_TIME, checked at creation
    return unsafe_add(unsafe_add(t.expiry, t.settlement_window), FALLBACK_DELAY)


@external
@view
def payout_rate() -> (uint256, uint256):
    """
    @notice The payout rate as a fraction of MAX_PAYOUT_PER_UNIT: (n, CAP); (0, CAP) before settlement and after
            the fallback settlement.
    @return The numerator n = clamp(price - STRIKE, 0, CAP) and the denominator CAP.
    """
    t: Terms = self._terms()
    price: uint256 = self.settlement_price
    if price == 0:
        return 0, t.cap
    return self._rate(t, price), t.cap


@external
@view
def claimable(holder: address) -> uint256:
    """
    @notice What `holder` would be paid now by `claim` (0 before settlement, after the fallback settlement or
            after the sweep).
    @param holder The holder.
    @return The collateral wei.
    """
    t: Terms = self._terms()
    price: uint256 = self.settlement_price
    if self.settled_at == 0 or self.swept:
        return 0
    # cannot overflow: balance * MAX_PAYOUT_PER_UNIT <= total_deposited; rounds down (against the holder)
    return math._mul_div(unsafe_mul(self.balanceOf[holder], t.max_payout_per_unit), self._rate(t, price), t.cap, False)


@external
@view
def reclaimable(writer: address) -> uint256:
    """
    @notice What `writer` would get now by `reclaim` (0 before settlement or after the sweep).
    @param writer The writer.
    @return The collateral wei.
    """
    t: Terms = self._terms()
    price: uint256 = self.settlement_price
    if self.settled_at == 0 or self.swept:
        return 0
    # cannot overflow: written * MAX_PAYOUT_PER_UNIT <= total_deposited; cannot underflow: _rate <= CAP;
    # rounds down (against the writer)
    return math._mul_div(
        unsafe_mul(self.written[writer], t.max_payout_per_unit), unsafe_sub(t.cap, self._rate(t, price)), t.cap, False
    )


# ---------------------------------------------------------------------------------------------
# Internals
# ---------------------------------------------------------------------------------------------


@internal
@view
def _rate(t: Terms, price: uint256) -> uint256:
    """
    @notice The payout numerator for `price`: clamp(price - STRIKE, 0, CAP).
    @param price The settlement price.
    @return A value in [0, CAP].
    """
    if price <= t.strike:
        return 0
    # cannot underflow: price > STRIKE checked above
    return math._min(unsafe_sub(price, t.strike), t.cap)


@internal
@view
def _check_settleable(t: Terms):
    """
    @notice Reverts unless EXPIRY has been reached and the series is not settled yet.
    """
    assert block.timestamp >= t.expiry, "settlement_series: not expired"
    assert self.settled_at == 0, "settlement_series: already settled"


@internal
@view
def _check_claimable(t: Terms) -> uint256:
    """
    @notice Reverts unless the series is settled and not swept.
    @dev A nonzero price proves settlement without a second storage read; a zero price is either unsettled or the
         fallback settlement (rate 0), told apart by `settled_at`.
    @return The payout numerator.
    """
    price: uint256 = self.settlement_price
    if price == 0:
        assert self.settled_at != 0, "settlement_series: not settled"
    assert not self.swept, "settlement_series: swept"
    return self._rate(t, price)


@internal
@view
def _fresh(t: Terms, updated_at: uint256, answered_in: uint80, round_id: uint80) -> bool:
    """
    @notice Whether a round updated at or after EXPIRY is fresh: not in the future, within the settlement
            window, and answered in its own round (not carried over).
    @param updated_at The round's update time (>= EXPIRY).
    @param answered_in The round's answeredInRound.
    @param round_id The round id.
    @return True if fresh.
    """
    # cannot underflow: every caller has checked updated_at >= EXPIRY first
    return updated_at <= block.timestamp and unsafe_sub(updated_at, t.expiry) <= t.settlement_window and answered_in >= round_id


@internal
@view
def _check_first_usable(t: Terms, round_id: uint80):
    """
    @notice Walks back from `round_id - 1` until a round updated before EXPIRY, or round 1, is met; reverts if
            one of the rounds walked over is usable (the hint was not the first) or if more than MAX_ROUND_SCAN
            rounds would have to be inspected. A missing round (the feed reverts or answers short) is walked
            over like any other: it does not end the walk, so a gap in the round ids never lets the caller
            choose a later usable round over an earlier one.
    @param round_id The hinted round.
    """
    current: uint80 = round_id
    for _: uint256 in range(MAX_ROUND_SCAN):
        if current <= 1:
            return
        # cannot underflow: current >= 2 checked above
        current = unsafe_sub(current, 1)
        ok: bool = False
        data: Bytes[ROUND_DATA_SIZE] = b""
        ok, data = raw_call(
            t.oracle,
            abi_encode(current, method_id=method_id("getRoundData(uint80)")),
            max_outsize=ROUND_DATA_SIZE,
            is_static_call=True,
            revert_on_failure=False,
        )
        if not ok or len(data) != ROUND_DATA_SIZE:
            continue
        answer: int256 = 0
        updated_at: uint256 = 0
        answered_in: uint80 = 0
        _rid: uint80 = 0
        _started: uint256 = 0
        _rid, answer, _started, updated_at, answered_in = abi_decode(data, (uint80, int256, uint256, uint256, uint80))
        if updated_at < t.expiry:
            return
        assert not (answer > 0 and self._fresh(t, updated_at, answered_in, current)), "settlement_series: not the first usable round"
    raise "settlement_series: round scan too long"


@internal
def _fix(t: Terms, price: uint256, source: uint256, reference: uint256):
    """
    @notice Records the settlement price (which fixes the payout rate) and logs it.
    @param price The settlement price (> 0).
    @param source SOURCE_ORACLE or SOURCE_REPORT.
    @param reference The round id or the reporter nonce.
    """
    self.settlement_price = price
    self.settled_at = block.timestamp
    log Settled(price=price, payout_numerator=self._rate(t, price), payout_denominator=t.cap, source=source, reference=reference)


@internal
@pure
def _holder_payout(t: Terms, units: uint256, numerator: uint256) -> uint256:
    """
    @notice What `units` are paid at payout numerator `numerator`: floor(units * MAX_PAYOUT_PER_UNIT * n / CAP).
            The one place a holder's payout is computed (`claim`, `claim_for`, `claim_by_sig`).
    @param t The terms.
    @param units The holder's units.
    @param numerator The payout numerator.
    @return The payout.
    """
    # cannot overflow: units * MAX_PAYOUT_PER_UNIT <= total_deposited; rounds down (against the holder)
    payout: uint256 = math._mul_div(unsafe_mul(units, t.max_payout_per_unit), numerator, t.cap, False)
    return payout


@internal
def _pay(t: Terms, holder: address, recipient: address, units: uint256, numerator: uint256) -> uint256:
    """
    @notice Clears `holder`'s units and sends their payout, rounded down, to `recipient`.
    @param holder The holder.
    @param recipient The receiver of the payout.
    @param units The holder's units (nonzero).
    @param numerator The payout numerator.
    @return The payout.
    """
    self.balanceOf[holder] = 0
    payout: uint256 = self._holder_payout(t, units, numerator)
    safe_token._safe_transfer(t.collateral, recipient, payout)
    log Claimed(holder=holder, recipient=recipient, units=units, payout=payout)
    return payout


@internal
def _book_claims(units: uint256, payout: uint256):
    """
    @notice Books claimed units and their payouts in the series totals (once per call, not per holder).
    @param units The units claimed.
    @param payout The collateral paid for them.
    """
    if units == 0:
        return
    # cannot underflow: every claimed unit was counted once in open_units when minted
    self.open_units = unsafe_sub(self.open_units, units)
    # cannot underflow: payouts are floors of holder shares; all floored shares (holders' and writers') sum to at
    # most the deposits, so what is paid never exceeds what is held
    self.held = unsafe_sub(self.held, payout)


@internal
@view
def _check_terms(t: Terms, admin: address):
    """
    @notice Reverts unless `t` and `admin` are valid terms for a new series.
    @param t The terms: treasury nonzero and not the series, collateral and oracle with code, cap and max payout
           nonzero, expiry not in the past, expiry and window at most MAX_TIME, and a sweep deadline that leaves
           at least MIN_CLAIM_PERIOD after the settlement window.
    @param admin The owner; nonzero.
    """
    assert t.treasury != empty(address) and admin != empty(address), "settlement_series: zero address"
    assert t.treasury != self, "settlement_series: receiver is the series"
    assert t.collateral.is_contract and t.oracle.is_contract, "settlement_series: no code"
    assert t.cap != 0, "settlement_series: zero cap"
    assert t.max_payout_per_unit != 0, "settlement_series: zero max payout"
    assert t.expiry >= block.timestamp, "settlement_series: expiry in the past"
    assert t.expiry <= MAX_TIME and t.settlement_window <= MAX_TIME, "settlement_series: time out of range"
    # cannot overflow: both terms are at most 2**64 - 1 (line above)
    claims_from: uint256 = unsafe_add(unsafe_add(t.expiry, t.settlement_window), MIN_CLAIM_PERIOD)
    assert t.sweep_deadline >= claims_from, "settlement_series: claim period too short"


@internal
@view
def _breaker_lapses_at(t: Terms) -> uint256:
    """
    @notice When the circuit breaker stops holding back settlement and the sweep:
            EXPIRY + SETTLEMENT_WINDOW + MAX_SETTLEMENT_DELAY.
    @param t The terms.
    @return The timestamp.
    """
    # cannot overflow: EXPIRY and SETTLEMENT_WINDOW are at most MAX_TIME (2**64 - 1), checked at creation
    return unsafe_add(unsafe_add(t.expiry, t.settlement_window), MAX_SETTLEMENT_DELAY)


@internal
@view
def _late_sweep_at(t: Terms) -> uint256:
    """
    @notice When the sweep may take unclaimed collateral: max(SWEEP_DEADLINE, settled_at + MIN_CLAIM_PERIOD).
    @param t The terms.
    @return The timestamp.
    """
    # cannot overflow: settled_at is a block timestamp
    return max(t.sweep_deadline, unsafe_add(self.settled_at, MIN_CLAIM_PERIOD))


@internal
def _initialize(admin: address, guardian: address):
    """
    @notice Gives a clone its owner and guardian, once, after checking its terms. The factory calls it in the
            transaction that creates the clone, so no one can initialise a registered clone first.
    @param admin The owner; nonzero.
    @param guardian The circuit-breaker guardian (zero for none).
    """
    t: Terms = self._terms()
    assert ownable.owner == empty(address), "settlement_series: already initialized"
    self._check_terms(t, admin)
    ownable._transfer_ownership(admin)
    circuit_breaker._set_guardian(guardian)


@internal
@view
def _check_not_implementation():
    """
    @notice Reverts when the clones' implementation is called directly rather than through a proxy.
    """
    assert not _TERMS_IN_CODE or self != _DEPLOYED_AT, "settlement_series: not a clone"


@internal
@view
def _terms() -> Terms:
    """
    @notice The series' terms: the immutables of a full series, or the 320 bytes after the proxy code of the
            executing clone.
    @return The terms.
    """
    if not _TERMS_IN_CODE:
        return _TERMS
    self._check_not_implementation()
    # `self.code` compiles to CODECOPY (the implementation's code under DELEGATECALL); an address variable makes
    # Vyper read the executing proxy's code with EXTCODECOPY.
    proxy: address = self
    return abi_decode(slice(proxy.code, TERMS_OFFSET, TERMS_SIZE), Terms)
