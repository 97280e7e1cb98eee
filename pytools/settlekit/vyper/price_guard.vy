# pragma version ~=0.4.3
"""
@title price_guard
@license Apache-2.0
@notice A guard over a Chainlink-style aggregator (`latestRoundData`). It rejects a feed call that fails, an answer
        <= 0 or above MAX_ANSWER, a round older than the heartbeat, and a jump beyond `MAX_DEVIATION_BPS` from the
        last good price, and it keeps the last good price for the fallbacks below.
@dev Rejected-price policy (docs/liquidation.md, "Price policy"):
     - The feed is read with `raw_call` (static, failure caught): a feed that reverts, or answers with fewer than
       the five words of `latestRoundData`, is a rejection like any other ("feed failed"), never a revert of the
       caller. Answers above MAX_ANSWER (2**128 - 1) are rejected ("out of range"), so every comparison below
       works on numbers below 2**128 and cannot overflow.
     - Strict reads (`_price(True, store)`, for borrows and for withdrawals or transfers of collateral with debt)
       revert on every rejection: "price_guard: feed failed", "price_guard: non-positive price",
       "price_guard: price out of range", "price_guard: stale price", "price_guard: price deviation". No new risk
       is ever taken on a price the guard does not trust. A strict read never starts or restarts a pending jump
       (it reverts), so it never accepts a jump value seen for the first time.
     - Lenient reads (`_price(False, True)`, for liquidations and `poke_price`) never revert on a jump. A jump is
       tied to its value: the first lenient sighting records `pending_price` and `pending_since`; a later answer
       more than CONFIRMATION_BAND_BPS (1%) away from `pending_price` is a different jump and restarts both. Only
       an answer within the band of `pending_price`, read at least CONFIRMATION_WINDOW seconds after the first
       sighting with every answer read in between inside the band too, is accepted. Until then the jump is
       logged with `PriceRejected` and the last good price is used. A price back inside the deviation bound is
       accepted at once and clears `pending_since`.
     - On a failed call or a non-positive, out-of-range or stale answer, lenient reads fall back to the last good
       price while its round is at most `GRACE_PERIOD` seconds old, with `PriceRejected`; after that they revert
       "price_guard: no usable price". Liquidations resume by themselves as soon as the feed answers again.
     - `store` False (the engine passes it at breaker level NO_LIQUIDATION and above) validates exactly the same
       way but writes nothing: a strict read there never moves `last_good_price`.
     The module only reads the feed; a deployable `initializes: price_guard` and calls `__init__` once the
     feed has a valid round (the first good price is taken from it).
"""

# @notice One hundred percent in basis points.
BPS: constant(uint256) = 10_000
# @notice Reason codes of `PriceRejected`.
REJECT_NON_POSITIVE: constant(uint256) = 1
REJECT_STALE: constant(uint256) = 2
REJECT_DEVIATION: constant(uint256) = 3
REJECT_FEED_FAILED: constant(uint256) = 4
REJECT_OUT_OF_RANGE: constant(uint256) = 5
# @notice The largest answer accepted (larger answers are rejected, reason 5): keeps every product below 2**256.
MAX_ANSWER: constant(uint256) = 2**128 - 1
# @notice A pending jump is confirmed only by answers within this many basis points of its first value.
CONFIRMATION_BAND_BPS: constant(uint256) = 100
# @notice The five 32-byte words of `latestRoundData`.
ROUND_DATA_SIZE: constant(uint256) = 160


event PriceRejected:
    answer: int256
    updated_at: uint256
    reason: uint256
    price_used: uint256


event PriceAccepted:
    price: uint256
    updated_at: uint256


# @notice The Chainlink-style feed.
AGGREGATOR: public(immutable(address))
# @notice A round older than this many seconds is stale.
HEARTBEAT: public(immutable(uint256))
# @notice The largest accepted move from the last good price, in basis points of it.
MAX_DEVIATION_BPS: public(immutable(uint256))
# @notice How long (seconds) lenient reads may use the last good price when the feed fails or answers badly.
GRACE_PERIOD: public(immutable(uint256))
# @notice How long (seconds) a jump must stay within the confirmation band before it is accepted.
CONFIRMATION_WINDOW: public(immutable(uint256))

# @notice The last accepted price, in the feed's decimals.
last_good_price: public(uint256)
# @notice The `updatedAt` of the round of the last accepted price.
last_good_updated_at: public(uint256)
# @notice When the pending jump was first seen by a lenient read (0: no jump pending).
pending_since: public(uint256)
# @notice The answer that started the pending jump (meaningful only while `pending_since` is nonzero).
pending_price: public(uint256)


@deploy
def __init__(
    aggregator: address, heartbeat: uint256, max_deviation_bps: uint256, grace_period: uint256, confirmation: uint256
):
    """
    @notice Stores the feed and the policy and takes the first good price from the feed's latest round.
    @dev Reverts "price_guard: invalid config" on a bad parameter and with the strict reasons if the latest round
         is not usable.
    @param aggregator The feed.
    @param heartbeat The staleness bound in seconds (> 0).
    @param max_deviation_bps The jump bound in basis points (1 to 10_000).
    @param grace_period The fallback window in seconds.
    @param confirmation The jump confirmation window in seconds (> 0).
    """
    assert aggregator != empty(address), "price_guard: invalid config"
    self._check_config(heartbeat, max_deviation_bps, confirmation)
    AGGREGATOR = aggregator
    HEARTBEAT = heartbeat
    MAX_DEVIATION_BPS = max_deviation_bps
    GRACE_PERIOD = grace_period
    CONFIRMATION_WINDOW = confirmation
    ok: bool = False
    answer: int256 = 0
    updated_at: uint256 = 0
    ok, answer, updated_at = self._read()
    self._check_strict(self._reject_reason(ok, answer, updated_at))
    self.last_good_price = convert(answer, uint256)
    self.last_good_updated_at = updated_at


@internal
@pure
def _check_config(heartbeat: uint256, max_deviation_bps: uint256, confirmation: uint256):
    """
    @notice Reverts "price_guard: invalid config" unless the heartbeat and confirmation window are nonzero and the
            deviation bound is 1 to 10_000 basis points.
    @param heartbeat The staleness bound.
    @param max_deviation_bps The jump bound.
    @param confirmation The confirmation window.
    """
    assert (
        heartbeat != 0
        and confirmation != 0
        and max_deviation_bps != 0
        and max_deviation_bps <= BPS
    ), "price_guard: invalid config"


@internal
@view
def _read() -> (bool, int256, uint256):
    """
    @notice The latest answer and its `updatedAt`, read with a static `raw_call` that never reverts.
    @return ok (False if the call failed or returned fewer than five words), answer, updated_at.
    """
    ok: bool = False
    response: Bytes[ROUND_DATA_SIZE] = b""
    ok, response = raw_call(
        AGGREGATOR,
        method_id("latestRoundData()"),
        max_outsize=ROUND_DATA_SIZE,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not ok or len(response) < ROUND_DATA_SIZE:
        return False, 0, 0
    return True, extract32(response, 32, output_type=int256), extract32(response, 96, output_type=uint256)


@internal
@view
def _reject_reason(ok: bool, answer: int256, updated_at: uint256) -> uint256:
    """
    @notice Why the latest round is not usable at all (0 if it is): a failed call, an answer <= 0, an answer
            above MAX_ANSWER, a round in the future or older than the heartbeat, in that order.
    @param ok Whether the call succeeded.
    @param answer The answer.
    @param updated_at Its update time.
    @return The reason code, 0 for none.
    """
    if not ok:
        return REJECT_FEED_FAILED
    if answer <= 0:
        return REJECT_NON_POSITIVE
    if convert(answer, uint256) > MAX_ANSWER:
        return REJECT_OUT_OF_RANGE
    # cannot underflow: updated_at <= block.timestamp is checked first
    if updated_at > block.timestamp or unsafe_sub(block.timestamp, updated_at) > HEARTBEAT:
        return REJECT_STALE
    return 0


@internal
@pure
def _check_strict(reason: uint256):
    """
    @notice Reverts with the strict reason for `reason` (nothing for 0).
    @param reason The rejection reason.
    """
    assert reason != REJECT_FEED_FAILED, "price_guard: feed failed"
    assert reason != REJECT_NON_POSITIVE, "price_guard: non-positive price"
    assert reason != REJECT_OUT_OF_RANGE, "price_guard: price out of range"
    assert reason != REJECT_STALE, "price_guard: stale price"


@internal
@pure
def _beyond(price: uint256, reference: uint256, bound_bps: uint256) -> bool:
    """
    @notice Whether |price - reference| / reference > bound_bps / BPS, exactly (cross-multiplied).
    @dev Both prices are at most MAX_ANSWER (< 2**128) and bound_bps <= BPS, so neither product overflows.
    @param price The new answer.
    @param reference The price it is compared with.
    @param bound_bps The bound.
    @return True if the move is beyond the bound.
    """
    move: uint256 = 0
    if price > reference:
        move = unsafe_sub(price, reference)  # cannot underflow: price > reference
    else:
        move = unsafe_sub(reference, price)  # cannot underflow: reference >= price
    return move * BPS > bound_bps * reference


@internal
def _price(strict: bool, store: bool) -> uint256:
    """
    @notice The price to use now under the policy in the module docstring.
    @dev With `store`, writes the accepted price when the feed has a newer valid round, and a lenient read may
         write the pending jump and log `PriceRejected`. Without `store` nothing is written (strict reads only).
    @param strict True for borrows and health-checked withdrawals (revert on any rejection), False for
           liquidations (fall back to the last good price).
    @param store False to validate without writing anything.
    @return The price, in the feed's decimals.
    """
    ok: bool = False
    answer: int256 = 0
    updated_at: uint256 = 0
    ok, answer, updated_at = self._read()
    reason: uint256 = self._reject_reason(ok, answer, updated_at)
    if reason != 0:
        if strict:
            self._check_strict(reason)
        # cannot underflow: last_good_updated_at is the updatedAt of a round accepted at or before now
        assert unsafe_sub(block.timestamp, self.last_good_updated_at) <= GRACE_PERIOD, "price_guard: no usable price"
        last: uint256 = self.last_good_price
        log PriceRejected(answer=answer, updated_at=updated_at, reason=reason, price_used=last)
        return last
    last_price: uint256 = self.last_good_price
    if updated_at <= self.last_good_updated_at:
        # The round of the last good price (or an older one): nothing new to judge.
        return last_price
    price: uint256 = convert(answer, uint256)
    since: uint256 = 0
    if self._beyond(price, last_price, MAX_DEVIATION_BPS):
        since = self.pending_since
        if since == 0 or self._beyond(price, self.pending_price, CONFIRMATION_BAND_BPS):
            # A jump seen for the first time (or a different one): its confirmation starts now.
            assert not strict, "price_guard: price deviation"
            self.pending_since = block.timestamp
            self.pending_price = price
            log PriceRejected(answer=answer, updated_at=updated_at, reason=REJECT_DEVIATION, price_used=last_price)
            return last_price
        # cannot underflow: since was written with an earlier (or this) block.timestamp
        if unsafe_sub(block.timestamp, since) < CONFIRMATION_WINDOW:
            assert not strict, "price_guard: price deviation"
            log PriceRejected(answer=answer, updated_at=updated_at, reason=REJECT_DEVIATION, price_used=last_price)
            return last_price
    else:
        since = self.pending_since
    if store:
        self.last_good_price = price
        self.last_good_updated_at = updated_at
        if since != 0:
            self.pending_since = 0
        log PriceAccepted(price=price, updated_at=updated_at)
    return price


@internal
@view
def _peek() -> uint256:
    """
    @notice The price a lenient read would use now, without writing anything; 0 if it would revert.
    @dev For views (health factors). Mirrors `_price(False, True)`.
    @return The price, or 0 when no usable price exists.
    """
    ok: bool = False
    answer: int256 = 0
    updated_at: uint256 = 0
    ok, answer, updated_at = self._read()
    last_price: uint256 = self.last_good_price
    if self._reject_reason(ok, answer, updated_at) != 0:
        # cannot underflow: last_good_updated_at is the updatedAt of a round accepted at or before now
        if unsafe_sub(block.timestamp, self.last_good_updated_at) <= GRACE_PERIOD:
            return last_price
        return 0
    if updated_at <= self.last_good_updated_at:
        return last_price
    price: uint256 = convert(answer, uint256)
    if self._beyond(price, last_price, MAX_DEVIATION_BPS):
        since: uint256 = self.pending_since
        if since == 0 or self._beyond(price, self.pending_price, CONFIRMATION_BAND_BPS):
            return last_price
        # cannot underflow: since was written with an earlier block.timestamp
        if unsafe_sub(block.timestamp, since) < CONFIRMATION_WINDOW:
            return last_price
    return price
