# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title SettlementSeries
@license Apache-2.0
@notice One cash-settled, fully collateralised capped-call series (a call spread) on a guarded price feed.
        Writers lock `MAX_PAYOUT_PER_UNIT` collateral wei per unit and mint transferable long units. After
        `EXPIRY` the settlement price is fixed exactly once, from the first usable oracle round at or after
        expiry or from a report signed by `REPORTER`; that price fixes the payout rate
        n / CAP with n = clamp(price - STRIKE, 0, CAP). Holders then claim
        floor(units * MAX_PAYOUT_PER_UNIT * n / CAP), writers reclaim
        floor(written * MAX_PAYOUT_PER_UNIT * (CAP - n) / CAP), and the leftover (rounding dust, or after
        `SWEEP_DEADLINE` everything unclaimed) goes to `TREASURY`.
@dev Deployed by SeriesFactory with `create_from_blueprint`; every parameter is an immutable. Accounting:
     collateral_held() == total_deposited - total_paid - total_reclaimed - total_swept at every step, and
     the token balance of this contract is at least that (donations are never counted). Every payout rounds
     down, so the sum of payouts never exceeds the collateral and the dust is below the number of payouts.
     Circuit breaker: mint is new risk, settlement is a price move, transfer and sweep are ordinary, and every
     claim and reclaim is an exit (never guarded). See docs/settlement.md.
"""

from ethereum.ercs import IERC20
from .modules import ownable
from .modules import circuit_breaker
from .modules import nonces as nonce_book
from .modules import eip712
from .modules import math
from .modules import safe_token

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
# @notice How many rounds before the hinted one `settle` inspects to prove it is the first usable one.
MAX_ROUND_SCAN: public(constant(uint256)) = 16
# @notice The most holders `claim_for` pays in one call.
MAX_BATCH: public(constant(uint256)) = 256
# @notice getRoundData returns five words.
ROUND_DATA_SIZE: constant(uint256) = 160

# @notice The collateral token (no fee on transfer; the factory probes it at creation).
COLLATERAL: public(immutable(address))
# @notice The Chainlink-style feed the settlement price is read from.
ORACLE: public(immutable(address))
# @notice Strike price, in the feed's units.
STRIKE: public(immutable(uint256))
# @notice Width of the call spread in the feed's units: the payout is full from STRIKE + CAP upwards.
CAP: public(immutable(uint256))
# @notice Collateral wei locked per unit and paid per unit at most.
MAX_PAYOUT_PER_UNIT: public(immutable(uint256))
# @notice The expiry timestamp: mint is open strictly before it, settlement at or after it.
EXPIRY: public(immutable(uint256))
# @notice An oracle round updated later than EXPIRY + SETTLEMENT_WINDOW is stale for this settlement.
SETTLEMENT_WINDOW: public(immutable(uint256))
# @notice From this timestamp on, the treasury may sweep everything left even if claims are outstanding.
SWEEP_DEADLINE: public(immutable(uint256))
# @notice Receives the dust (and, after SWEEP_DEADLINE, whatever is unclaimed).
TREASURY: public(immutable(address))
# @notice The only signer of settlement price reports (the zero address disables reports).
REPORTER: public(immutable(address))

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
# @notice The settlement price, 0 until settled (a settlement price is always > 0).
settlement_price: public(uint256)
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


event DustSwept:
    treasury: indexed(address)
    amount: uint256
    after_deadline: bool


@deploy
def __init__(
    collateral: address,
    oracle: address,
    strike: uint256,
    cap: uint256,
    max_payout_per_unit: uint256,
    expiry: uint256,
    settlement_window: uint256,
    sweep_deadline: uint256,
    treasury: address,
    reporter: address,
    admin: address,
    guardian: address,
):
    """
    @notice Fixes the series' terms. `admin` becomes the owner (of the circuit breaker), `guardian` its guardian.
    @param collateral The collateral token (must have code).
    @param oracle The price feed (must have code).
    @param strike The strike, in feed units.
    @param cap The spread width, in feed units; nonzero.
    @param max_payout_per_unit Collateral wei locked and paid at most per unit; nonzero.
    @param expiry The expiry timestamp; not in the past.
    @param settlement_window How long after expiry an oracle round still counts as fresh.
    @param sweep_deadline When unclaimed collateral may be swept; at or after expiry.
    @param treasury The receiver of the dust; nonzero.
    @param reporter The signer of settlement reports (zero: oracle only).
    @param admin The owner; nonzero.
    @param guardian The circuit-breaker guardian (zero for none).
    """
    assert treasury != empty(address) and admin != empty(address), "settlement_series: zero address"
    assert collateral.is_contract and oracle.is_contract, "settlement_series: no code"
    assert cap != 0, "settlement_series: zero cap"
    assert max_payout_per_unit != 0, "settlement_series: zero max payout"
    assert expiry >= block.timestamp, "settlement_series: expiry in the past"
    assert sweep_deadline >= expiry, "settlement_series: sweep before expiry"
    ownable.__init__()
    ownable._transfer_ownership(admin)
    circuit_breaker.__init__(guardian)
    eip712.__init__(DOMAIN_NAME, DOMAIN_VERSION)
    COLLATERAL = collateral
    ORACLE = oracle
    STRIKE = strike
    CAP = cap
    MAX_PAYOUT_PER_UNIT = max_payout_per_unit
    EXPIRY = expiry
    SETTLEMENT_WINDOW = settlement_window
    SWEEP_DEADLINE = sweep_deadline
    TREASURY = treasury
    REPORTER = reporter


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
    @param units The number of units to mint; nonzero.
    @param receiver Who receives the long units; nonzero.
    @return The collateral wei locked.
    """
    circuit_breaker._check_new_risk_allowed()
    assert block.timestamp < EXPIRY, "settlement_series: expired"
    assert units != 0, "settlement_series: zero units"
    assert receiver != empty(address), "settlement_series: zero address"
    deposited: uint256 = self.total_deposited
    # rounds nowhere: both bounds are exact integer divisions used only as overflow guards (floor is conservative)
    assert units <= (max_value(uint256) - deposited) // MAX_PAYOUT_PER_UNIT, "settlement_series: mint too large"
    # cannot overflow: units <= (2**256 - 1 - deposited) / MAX_PAYOUT_PER_UNIT was asserted above
    amount: uint256 = unsafe_mul(units, MAX_PAYOUT_PER_UNIT)
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
    safe_token._safe_transfer_from_exact(COLLATERAL, msg.sender, self, amount)
    log Minted(writer=msg.sender, receiver=receiver, units=units, collateral=amount)
    log Transfer(sender=empty(address), receiver=receiver, value=units)
    return amount


@external
def transfer(receiver: address, units: uint256) -> bool:
    """
    @notice Moves `units` long units from the caller to `receiver`. Ordinary operation: blocked only at HALTED.
    @param receiver The receiver; nonzero.
    @param units The number of units.
    @return True.
    """
    circuit_breaker._check_not_halted()
    assert receiver != empty(address), "settlement_series: zero address"
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
            answered in its own round. The rounds before it are inspected (at most MAX_ROUND_SCAN) until one
            updated before EXPIRY or a missing one is found; none of them may be usable. Price-moving step:
            allowed at LIVE and NO_NEW_RISK.
    @param round_id The hinted round (found off-chain).
    @return The settlement price.
    """
    circuit_breaker._check_price_move_allowed()
    self._check_settleable()
    answer: int256 = 0
    updated_at: uint256 = 0
    answered_in: uint80 = 0
    _rid: uint80 = 0
    _started: uint256 = 0
    _rid, answer, _started, updated_at, answered_in = staticcall IAggregator(ORACLE).getRoundData(round_id)
    assert updated_at >= EXPIRY, "settlement_series: round before expiry"
    assert answer > 0, "settlement_series: non-positive price"
    assert self._fresh(updated_at, answered_in, round_id), "settlement_series: stale round"
    self._check_first_usable(round_id)
    price: uint256 = convert(answer, uint256)
    self._fix(price, SOURCE_ORACLE, convert(round_id, uint256))
    return price


@external
def settle_with_report(price: uint256, nonce: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32) -> uint256:
    """
    @notice Fixes the settlement price from a report signed by REPORTER (EIP-712 SettlementReport for this
            series' EXPIRY and the reporter's next sequential nonce, valid up to `deadline`). The domain binds
            the chain id and this contract, so a report for another chain or series never verifies.
            Price-moving step: allowed at LIVE and NO_NEW_RISK.
    @param price The reported settlement price, in feed units; nonzero.
    @param nonce The reporter's sequential nonce the report was signed for.
    @param deadline The last timestamp at which the report may be used.
    @param v The signature's recovery id.
    @param r The signature's r.
    @param s The signature's s.
    @return The settlement price.
    """
    circuit_breaker._check_price_move_allowed()
    self._check_settleable()
    assert price != 0, "settlement_series: non-positive price"
    eip712._check_deadline(deadline)
    nonce_book._use_checked_nonce(REPORTER, nonce)
    struct_hash: bytes32 = keccak256(abi_encode(SETTLEMENT_REPORT_TYPEHASH, price, EXPIRY, nonce, deadline))
    eip712._check_signer(REPORTER, eip712._hash_typed_data(struct_hash), v, r, s)
    self._fix(price, SOURCE_REPORT, nonce)
    return price


# ---------------------------------------------------------------------------------------------
# Exits (never guarded by the circuit breaker)
# ---------------------------------------------------------------------------------------------


@external
def claim() -> uint256:
    """
    @notice Pays the caller's units at the settlement rate, rounded down, and clears them. An exit.
    @return The collateral wei paid.
    """
    numerator: uint256 = self._check_claimable()
    units: uint256 = self.balanceOf[msg.sender]
    assert units != 0, "settlement_series: nothing to claim"
    payout: uint256 = self._pay(msg.sender, msg.sender, units, numerator)
    self._book_claims(units, payout)
    return payout


@external
def claim_for(holders: DynArray[address, MAX_BATCH]) -> uint256:
    """
    @notice Pays each listed holder its own units at the settlement rate (to the holder itself). Holders with
            no units (or listed twice) are skipped, so one stale entry never blocks a batch. An exit.
    @param holders The holders to pay.
    @return The total collateral wei paid.
    """
    numerator: uint256 = self._check_claimable()
    total_units: uint256 = 0
    total_payout: uint256 = 0
    for holder: address in holders:
        units: uint256 = self.balanceOf[holder]
        if units == 0:
            continue
        # cannot overflow: the units of distinct holders sum to at most totalSupply
        total_units = unsafe_add(total_units, units)
        # cannot overflow: the payouts sum to at most total_deposited
        total_payout = unsafe_add(total_payout, self._pay(holder, holder, units, numerator))
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
    @param recipient Who receives the payout; nonzero.
    @param nonce The holder's unordered nonce for this claim.
    @param deadline The last timestamp at which the claim may be relayed.
    @param v The signature's recovery id.
    @param r The signature's r.
    @param s The signature's s.
    @return The collateral wei paid.
    """
    numerator: uint256 = self._check_claimable()
    assert recipient != empty(address), "settlement_series: zero address"
    eip712._check_deadline(deadline)
    nonce_book._use_unordered_nonce(holder, nonce)
    struct_hash: bytes32 = keccak256(abi_encode(CLAIM_TYPEHASH, holder, recipient, nonce, deadline))
    eip712._check_signer(holder, eip712._hash_typed_data(struct_hash), v, r, s)
    units: uint256 = self.balanceOf[holder]
    assert units != 0, "settlement_series: nothing to claim"
    payout: uint256 = self._pay(holder, recipient, units, numerator)
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
    numerator: uint256 = self._check_claimable()
    units: uint256 = self.written[msg.sender]
    assert units != 0, "settlement_series: nothing to reclaim"
    self.written[msg.sender] = 0
    # cannot overflow: units * MAX_PAYOUT_PER_UNIT <= total_deposited; rounds down (against the writer);
    # cannot underflow: numerator <= CAP by construction in _rate
    amount: uint256 = math._mul_div(unsafe_mul(units, MAX_PAYOUT_PER_UNIT), unsafe_sub(CAP, numerator), CAP, False)
    # cannot underflow: units <= open_written (every written unit is counted once in open_written)
    self.open_written = unsafe_sub(self.open_written, units)
    # cannot underflow: amount is the floor of this writer's share, and the floors of all shares sum to at most
    # what was deposited less what was already paid out (see _book_claims)
    self.held = unsafe_sub(self.held, amount)
    # cannot overflow: reclaims sum to at most total_deposited
    self.total_reclaimed = unsafe_add(self.total_reclaimed, amount)
    safe_token._safe_transfer(COLLATERAL, msg.sender, amount)
    log Reclaimed(writer=msg.sender, units=units, amount=amount)
    return amount


@external
def sweep() -> uint256:
    """
    @notice Sends everything the series still holds to TREASURY, once: after every unit is claimed and every
            written unit reclaimed this is exactly the rounding dust; from SWEEP_DEADLINE on it also takes what
            is unclaimed. Ordinary operation: blocked only at HALTED.
    @return The collateral wei swept.
    """
    circuit_breaker._check_not_halted()
    self._check_claimable()
    after_deadline: bool = block.timestamp >= SWEEP_DEADLINE
    assert after_deadline or (self.open_units == 0 and self.open_written == 0), "settlement_series: claims outstanding"
    amount: uint256 = self.held
    self.held = 0
    self.swept = True
    self.total_swept = amount
    safe_token._safe_transfer(COLLATERAL, TREASURY, amount)
    log DustSwept(treasury=TREASURY, amount=amount, after_deadline=after_deadline)
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
def payout_rate() -> (uint256, uint256):
    """
    @notice The payout rate as a fraction of MAX_PAYOUT_PER_UNIT: (n, CAP); (0, CAP) before settlement.
    @return The numerator n = clamp(price - STRIKE, 0, CAP) and the denominator CAP.
    """
    price: uint256 = self.settlement_price
    if price == 0:
        return 0, CAP
    return self._rate(price), CAP


@external
@view
def claimable(holder: address) -> uint256:
    """
    @notice What `holder` would be paid now by `claim` (0 before settlement or after the sweep).
    @param holder The holder.
    @return The collateral wei.
    """
    price: uint256 = self.settlement_price
    if price == 0 or self.swept:
        return 0
    # cannot overflow: balance * MAX_PAYOUT_PER_UNIT <= total_deposited; rounds down (against the holder)
    return math._mul_div(unsafe_mul(self.balanceOf[holder], MAX_PAYOUT_PER_UNIT), self._rate(price), CAP, False)


@external
@view
def reclaimable(writer: address) -> uint256:
    """
    @notice What `writer` would get now by `reclaim` (0 before settlement or after the sweep).
    @param writer The writer.
    @return The collateral wei.
    """
    price: uint256 = self.settlement_price
    if price == 0 or self.swept:
        return 0
    # cannot overflow: written * MAX_PAYOUT_PER_UNIT <= total_deposited; cannot underflow: _rate <= CAP;
    # rounds down (against the writer)
    return math._mul_div(
        unsafe_mul(self.written[writer], MAX_PAYOUT_PER_UNIT), unsafe_sub(CAP, self._rate(price)), CAP, False
    )


# ---------------------------------------------------------------------------------------------
# Internals
# ---------------------------------------------------------------------------------------------


@internal
@view
def _rate(price: uint256) -> uint256:
    """
    @notice The payout numerator for `price`: clamp(price - STRIKE, 0, CAP).
    @param price The settlement price.
    @return A value in [0, CAP].
    """
    if price <= STRIKE:
        return 0
    # cannot underflow: price > STRIKE checked above
    return math._min(unsafe_sub(price, STRIKE), CAP)


@internal
@view
def _check_settleable():
    """
    @notice Reverts unless EXPIRY has been reached and the series is not settled yet.
    """
    assert block.timestamp >= EXPIRY, "settlement_series: not expired"
    assert self.settlement_price == 0, "settlement_series: already settled"


@internal
@view
def _check_claimable() -> uint256:
    """
    @notice Reverts unless the series is settled and not swept.
    @return The payout numerator.
    """
    price: uint256 = self.settlement_price
    assert price != 0, "settlement_series: not settled"
    assert not self.swept, "settlement_series: swept"
    return self._rate(price)


@internal
@view
def _fresh(updated_at: uint256, answered_in: uint80, round_id: uint80) -> bool:
    """
    @notice Whether a round updated at or after EXPIRY is fresh: not in the future, within the settlement
            window, and answered in its own round (not carried over).
    @param updated_at The round's update time (>= EXPIRY).
    @param answered_in The round's answeredInRound.
    @param round_id The round id.
    @return True if fresh.
    """
    # cannot underflow: every caller has checked updated_at >= EXPIRY first
    return updated_at <= block.timestamp and unsafe_sub(updated_at, EXPIRY) <= SETTLEMENT_WINDOW and answered_in >= round_id


@internal
@view
def _check_first_usable(round_id: uint80):
    """
    @notice Walks back from `round_id - 1` until a round updated before EXPIRY, or a missing round, is met;
            reverts if one of the rounds walked over is usable (the hint was not the first) or if more than
            MAX_ROUND_SCAN rounds would have to be inspected.
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
            ORACLE,
            abi_encode(current, method_id=method_id("getRoundData(uint80)")),
            max_outsize=ROUND_DATA_SIZE,
            is_static_call=True,
            revert_on_failure=False,
        )
        if not ok or len(data) != ROUND_DATA_SIZE:
            return
        answer: int256 = 0
        updated_at: uint256 = 0
        answered_in: uint80 = 0
        _rid: uint80 = 0
        _started: uint256 = 0
        _rid, answer, _started, updated_at, answered_in = abi_decode(data, (uint80, int256, uint256, uint256, uint80))
        if updated_at < EXPIRY:
            return
        assert not (answer > 0 and self._fresh(updated_at, answered_in, current)), "settlement_series: not the first usable round"
    raise "settlement_series: round scan too long"


@internal
def _fix(price: uint256, source: uint256, reference: uint256):
    """
    @notice Records the settlement price (which fixes the payout rate) and logs it.
    @param price The settlement price (> 0).
    @param source SOURCE_ORACLE or SOURCE_REPORT.
    @param reference The round id or the reporter nonce.
    """
    self.settlement_price = price
    log Settled(price=price, payout_numerator=self._rate(price), payout_denominator=CAP, source=source, reference=reference)


@internal
def _pay(holder: address, recipient: address, units: uint256, numerator: uint256) -> uint256:
    """
    @notice Clears `holder`'s units and sends their payout, rounded down, to `recipient`.
    @param holder The holder.
    @param recipient The receiver of the payout.
    @param units The holder's units (nonzero).
    @param numerator The payout numerator.
    @return The payout.
    """
    self.balanceOf[holder] = 0
    # cannot overflow: units * MAX_PAYOUT_PER_UNIT <= total_deposited; rounds down (against the holder)
    payout: uint256 = math._mul_div(unsafe_mul(units, MAX_PAYOUT_PER_UNIT), numerator, CAP, False)
    safe_token._safe_transfer(COLLATERAL, recipient, payout)
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
