# pragma version ~=0.4.3
"""
@title price_guard
@license Apache-2.0
@notice A guard over a Chainlink-style aggregator (`latestRoundData`). It rejects an answer <= 0, a round older
        than the heartbeat, and a jump beyond `MAX_DEVIATION_BPS` from the last good price, and it keeps the last
        good price for the fallbacks below.
@dev Rejected-price policy (docs/liquidation.md, "Price policy"):
     - Strict reads (`_price(True)`, for borrows and for withdrawals or transfers of collateral with debt)
       revert on every rejection: "price_guard: non-positive price", "price_guard: stale price",
       "price_guard: price deviation". No new risk is ever taken on a price the guard does not trust.
     - Lenient reads (`_price(False)`, for liquidations and `poke_price`) never revert on a jump: the jump is
       logged with `PriceRejected`, the time it was first seen is recorded in `pending_since`, and the last good
       price is used. Once `CONFIRMATION_WINDOW` seconds have passed since the first rejection and the feed
       still answers beyond the bound, the new price is accepted (strict reads accept it too). A price that
       comes back inside the bound is accepted at once and clears `pending_since`. So a jump can delay
       liquidations at the new price by at most CONFIRMATION_WINDOW seconds, never forever.
     - On a non-positive or stale answer, lenient reads fall back to the last good price while its round is at
       most `GRACE_PERIOD` seconds old, with `PriceRejected`; after that they revert
       "price_guard: no usable price". No price from the feed has been valid for that long, so any number used
       would be a guess; liquidations resume by themselves as soon as the feed answers again.
     The module only reads the feed; a deployable `initializes: price_guard` and calls `__init__` once the
     feed has a valid round (the first good price is taken from it).
"""

# @notice One hundred percent in basis points.
BPS: constant(uint256) = 10_000
# @notice Reason codes of `PriceRejected`.
REJECT_NON_POSITIVE: constant(uint256) = 1
REJECT_STALE: constant(uint256) = 2
REJECT_DEVIATION: constant(uint256) = 3


interface AggregatorV3:
    def latestRoundData() -> (uint80, int256, uint256, uint256, uint80): view


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
# @notice How long (seconds) lenient reads may use the last good price when the feed answers <= 0 or stale.
GRACE_PERIOD: public(immutable(uint256))
# @notice How long (seconds) a jump beyond the bound must persist before it is accepted.
CONFIRMATION_WINDOW: public(immutable(uint256))

# @notice The last accepted price, in the feed's decimals.
last_good_price: public(uint256)
# @notice The `updatedAt` of the round of the last accepted price.
last_good_updated_at: public(uint256)
# @notice When a jump beyond the bound was first seen by a lenient read (0: no jump pending).
pending_since: public(uint256)


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
    @param grace_period The stale/zero fallback window in seconds.
    @param confirmation The jump confirmation window in seconds (> 0).
    """
    assert aggregator != empty(address), "price_guard: invalid config"
    self._check_config(heartbeat, max_deviation_bps, confirmation)
    AGGREGATOR = aggregator
    HEARTBEAT = heartbeat
    MAX_DEVIATION_BPS = max_deviation_bps
    GRACE_PERIOD = grace_period
    CONFIRMATION_WINDOW = confirmation
    answer: int256 = 0
    updated_at: uint256 = 0
    answer, updated_at = self._read()
    assert answer > 0, "price_guard: non-positive price"
    assert updated_at <= block.timestamp and block.timestamp - updated_at <= heartbeat, "price_guard: stale price"
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
def _read() -> (int256, uint256):
    """
    @notice The latest answer and its `updatedAt`.
    @return answer, updated_at.
    """
    round_id: uint80 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in: uint80 = 0
    round_id, answer, started_at, updated_at, answered_in = staticcall AggregatorV3(AGGREGATOR).latestRoundData()
    return answer, updated_at


@internal
def _price(strict: bool) -> uint256:
    """
    @notice The price to use now under the policy in the module docstring.
    @dev Writes the accepted price when the feed has a newer valid round; a lenient read may write `pending_since`
         and log `PriceRejected`.
    @param strict True for borrows and health-checked withdrawals (revert on any rejection), False for
           liquidations (fall back to the last good price).
    @return The price, in the feed's decimals.
    """
    answer: int256 = 0
    updated_at: uint256 = 0
    answer, updated_at = self._read()
    reason: uint256 = 0
    if answer <= 0:
        reason = REJECT_NON_POSITIVE
    elif updated_at > block.timestamp or block.timestamp - updated_at > HEARTBEAT:
        reason = REJECT_STALE
    if reason != 0:
        assert not strict or reason != REJECT_NON_POSITIVE, "price_guard: non-positive price"
        assert not strict, "price_guard: stale price"
        last_at: uint256 = self.last_good_updated_at
        # cannot underflow: last_at is the updatedAt of a round accepted at or before now
        assert unsafe_sub(block.timestamp, last_at) <= GRACE_PERIOD, "price_guard: no usable price"
        last: uint256 = self.last_good_price
        log PriceRejected(answer=answer, updated_at=updated_at, reason=reason, price_used=last)
        return last
    last_price: uint256 = self.last_good_price
    if updated_at <= self.last_good_updated_at:
        # The round of the last good price (or an older one): nothing new to judge.
        return last_price
    price: uint256 = convert(answer, uint256)
    move: uint256 = 0
    if price > last_price:
        move = unsafe_sub(price, last_price)  # cannot underflow: price > last_price
    else:
        move = unsafe_sub(last_price, price)  # cannot underflow: last_price >= price
    # Exact comparison move / last <= bound / BPS, cross-multiplied (both sides fit: price < 2**255, bound <= BPS).
    if move * BPS > MAX_DEVIATION_BPS * last_price:
        since: uint256 = self.pending_since
        # cannot underflow: since was written with an earlier block.timestamp
        confirmed: bool = since != 0 and unsafe_sub(block.timestamp, since) >= CONFIRMATION_WINDOW
        if not confirmed:
            assert not strict, "price_guard: price deviation"
            if since == 0:
                self.pending_since = block.timestamp
            log PriceRejected(answer=answer, updated_at=updated_at, reason=REJECT_DEVIATION, price_used=last_price)
            return last_price
    self.last_good_price = price
    self.last_good_updated_at = updated_at
    if self.pending_since != 0:
        self.pending_since = 0
    log PriceAccepted(price=price, updated_at=updated_at)
    return price


@internal
@view
def _peek() -> uint256:
    """
    @notice The price a lenient read would use now, without writing anything; 0 if it would revert.
    @dev For views (health factors). Mirrors `_price(False)`.
    @return The price, or 0 when no usable price exists.
    """
    answer: int256 = 0
    updated_at: uint256 = 0
    answer, updated_at = self._read()
    last_price: uint256 = self.last_good_price
    if answer <= 0 or updated_at > block.timestamp or block.timestamp - updated_at > HEARTBEAT:
        # cannot underflow: last_good_updated_at is the updatedAt of a round accepted at or before now
        if unsafe_sub(block.timestamp, self.last_good_updated_at) <= GRACE_PERIOD:
            return last_price
        return 0
    if updated_at <= self.last_good_updated_at:
        return last_price
    price: uint256 = convert(answer, uint256)
    move: uint256 = 0
    if price > last_price:
        move = unsafe_sub(price, last_price)  # cannot underflow: price > last_price
    else:
        move = unsafe_sub(last_price, price)  # cannot underflow: last_price >= price
    if move * BPS > MAX_DEVIATION_BPS * last_price:
        since: uint256 = self.pending_since
        # cannot underflow: since was written with an earlier block.timestamp
        if not (since != 0 and unsafe_sub(block.timestamp, since) >= CONFIRMATION_WINDOW):
            return last_price
    return price
