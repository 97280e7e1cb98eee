# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title MarginEngine
@license Apache-2.0
@notice One isolated margin market per deployment: lenders supply the debt asset for shares, borrowers deposit
        the collateral asset and borrow up to a loan-to-value limit, and anyone may liquidate a position whose
        health factor is below one, within a close factor and per-block and per-window caps on liquidated debt.
        Collateral left short of the debt is seized in full and the rest of the debt is written off into an
        explicit deficit that lenders absorb through the share price.
@dev Design, formulas, rounding rules and the price policy: docs/liquidation.md. The Python model
     `settlekit.model.margin` repeats every integer operation below; keep the two in step.
     Units: debt amounts in the debt token's units, collateral in the collateral token's units, prices in the
     feed's units; value(c) = c * price / PRICE_SCALE with PRICE_SCALE = 10**(collateral + feed - debt decimals).
     Rounding is always against the caller: debt up, shares minted down and redeemed assets down, seized
     collateral down, the protocol fee up, health values down.
     The engine counts its own cash and collateral (`cash`, `collateral`); tokens sent to it directly (donations)
     change no price and no balance of anyone.
"""

from ethereum.ercs import IERC20Detailed

from .modules import math
from .modules import safe_token
from .modules import ownable
from .modules import circuit_breaker
from .modules import price_guard

initializes: ownable
initializes: circuit_breaker[ownable := ownable]
initializes: price_guard

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
    price_guard.AGGREGATOR,
    price_guard.HEARTBEAT,
    price_guard.MAX_DEVIATION_BPS,
    price_guard.GRACE_PERIOD,
    price_guard.CONFIRMATION_WINDOW,
    price_guard.last_good_price,
    price_guard.last_good_updated_at,
    price_guard.pending_since,
    price_guard.pending_price,
)

# @notice One hundred percent in basis points.
BPS: constant(uint256) = 10_000
# @notice One in WAD fixed point (health factors and the interest index).
WAD: constant(uint256) = 10**18
# @notice At most this share of the debt (basis points) per liquidation while the health factor is above
#         FULL_CLOSE_HF.
CLOSE_FACTOR_BPS: constant(uint256) = 5_000
# @notice At or below this health factor (WAD) the whole debt may be liquidated at once.
FULL_CLOSE_HF: constant(uint256) = 95 * 10**16
# @notice Virtual shares and assets added to the share price: the first-depositor inflation attack would have
#         to donate VIRTUAL_SHARES times the victim's deposit, and donations do not even count (internal cash).
VIRTUAL_SHARES: constant(uint256) = 10**6
VIRTUAL_ASSETS: constant(uint256) = 1
# @notice The largest interest rate per second (WAD): about 78.8% a year. At this rate the index stays below
#         MAX_INDEX for more than 100 years whatever the accrual pattern (docs/liquidation.md, "Interest bound").
MAX_RATE_PER_SECOND: constant(uint256) = 25 * 10**9
# @notice The index is stored in 192 bits; accrual saturates here instead of reverting (never reached within
#         100 years at MAX_RATE_PER_SECOND).
MAX_INDEX: constant(uint256) = 2**192 - 1
# @notice Low 64 bits: the timestamp part of the packed accrual slot.
MASK_64: constant(uint256) = 2**64 - 1
# @notice Largest decimal exponent of PRICE_SCALE.
MAX_SCALE_EXPONENT: constant(uint256) = 60
# @notice Low 128 bits: the collateral part of a packed position (the scaled debt is the high 128 bits).
MASK_128: constant(uint256) = 2**128 - 1
# @notice Low 96 bits: one amount in the packed cap slots.
MASK_96: constant(uint256) = 2**96 - 1
# @notice The rolling window is split into this many buckets; the cap check sums the current bucket and the
#         WINDOW_BUCKETS before it (they cover every span of WINDOW_SECONDS that ends now).
WINDOW_BUCKETS: constant(uint256) = 4


struct MarketConfig:
    ltv_bps: uint256
    threshold_bps: uint256
    bonus_bps: uint256
    fee_bps: uint256
    rate_per_second: uint256
    min_debt: uint256
    small_position: uint256
    cap_per_block: uint256
    cap_per_window: uint256
    window_seconds: uint256
    heartbeat: uint256
    max_deviation_bps: uint256
    grace_period: uint256
    confirmation_window: uint256


event Supplied:
    lender: indexed(address)
    assets: uint256
    shares: uint256


event Withdrawn:
    lender: indexed(address)
    assets: uint256
    shares: uint256


event Deposited:
    account: indexed(address)
    amount: uint256


event CollateralWithdrawn:
    account: indexed(address)
    amount: uint256


event CollateralTransferred:
    sender: indexed(address)
    receiver: indexed(address)
    amount: uint256


event Borrowed:
    account: indexed(address)
    amount: uint256
    debt: uint256


event Repaid:
    payer: indexed(address)
    account: indexed(address)
    amount: uint256
    debt: uint256


event Liquidated:
    borrower: indexed(address)
    liquidator: indexed(address)
    debt_repaid: uint256
    collateral_seized: uint256
    fee: uint256
    bad_debt: uint256


event DeficitRecorded:
    borrower: indexed(address)
    amount: uint256
    total_deficit: uint256


event LiquidationCapped:
    borrower: indexed(address)
    requested: uint256
    allowed: uint256


event FeesCollected:
    receiver: indexed(address)
    amount: uint256


# @notice The debt asset (lent and borrowed).
DEBT_TOKEN: public(immutable(address))
# @notice The collateral asset.
COLLATERAL_TOKEN: public(immutable(address))
# @notice value(c) = c * price / PRICE_SCALE, in debt units.
PRICE_SCALE: public(immutable(uint256))
LTV_BPS: public(immutable(uint256))
THRESHOLD_BPS: public(immutable(uint256))
BONUS_BPS: public(immutable(uint256))
FEE_BPS: public(immutable(uint256))
RATE_PER_SECOND: public(immutable(uint256))
MIN_DEBT: public(immutable(uint256))
SMALL_POSITION: public(immutable(uint256))
CAP_PER_BLOCK: public(immutable(uint256))
CAP_PER_WINDOW: public(immutable(uint256))
WINDOW_SECONDS: public(immutable(uint256))
# @notice ceil(WINDOW_SECONDS / WINDOW_BUCKETS): the length of one bucket of the rolling window.
BUCKET_SECONDS: public(immutable(uint256))

# @notice Debt tokens held for lenders (supplied + repaid - lent - withdrawn), counted, not read from balanceOf.
cash: public(uint256)
# @notice Lender shares.
shares: public(HashMap[address, uint256])
total_shares: public(uint256)
# @notice Per account, one slot: scaled debt (high 128 bits; debt = ceil(scaled * index / WAD)) and collateral (low
#         128 bits). One slot because borrows, liquidations and health checks read both, and because a first
#         borrow then writes a slot the deposit already made nonzero (views: `collateral`, `scaled_debt`).
_position: HashMap[address, uint256]
total_scaled_debt: public(uint256)
# @notice The interest index (WAD, high 192 bits) and the timestamp it was brought up to date at (low 64 bits), in
#         one slot because every accrual reads and writes both (views: `borrow_index`, `last_accrual`).
_accrual: uint256
# @notice Debt written off, in total (lenders absorbed it through the share price).
deficit: public(uint256)
# @notice Collateral taken as protocol fee, not yet collected.
protocol_fees: public(uint256)
# @notice The caps' usage, in three slots (docs/liquidation.md, "Caps"); bucket[i] is the debt liquidated in
#         bucket `head - i` (bucket id = timestamp // BUCKET_SECONDS), amounts below 2**96:
#         _cap_0 = block number << 192 | debt liquidated in that block << 96 | bucket[0]
#         _cap_1 = head << 192 | bucket[1] << 96 | bucket[2]
#         _cap_2 = head << 192 | bucket[3] << 96 | bucket[4]
#         (head is repeated in _cap_2 so that the slot never returns to zero: a zero-to-nonzero write costs 20,000).
_cap_0: uint256
_cap_1: uint256
_cap_2: uint256


@deploy
def __init__(debt_token: address, collateral_token: address, aggregator: address, guardian: address, cfg: MarketConfig):
    """
    @notice Creates the market: the deployer becomes the owner, `guardian` the circuit breaker's guardian.
    @dev Reverts with `validate_config`'s reasons, "margin_engine: invalid decimals" and the price guard's.
    @param debt_token The debt asset.
    @param collateral_token The collateral asset.
    @param aggregator The Chainlink-style feed of the collateral priced in the debt asset.
    @param guardian The circuit breaker's guardian.
    @param cfg The market parameters.
    """
    self._validate(cfg)
    assert debt_token != empty(address) and collateral_token != empty(address), "margin_engine: invalid config"
    ownable.__init__()
    circuit_breaker.__init__(guardian)
    price_guard.__init__(aggregator, cfg.heartbeat, cfg.max_deviation_bps, cfg.grace_period, cfg.confirmation_window)
    DEBT_TOKEN = debt_token
    COLLATERAL_TOKEN = collateral_token
    PRICE_SCALE = self._price_scale(
        convert(staticcall IERC20Detailed(collateral_token).decimals(), uint256),
        convert(staticcall IERC20Detailed(debt_token).decimals(), uint256),
        convert(staticcall IERC20Detailed(aggregator).decimals(), uint256),
    )
    LTV_BPS = cfg.ltv_bps
    THRESHOLD_BPS = cfg.threshold_bps
    BONUS_BPS = cfg.bonus_bps
    FEE_BPS = cfg.fee_bps
    RATE_PER_SECOND = cfg.rate_per_second
    MIN_DEBT = cfg.min_debt
    SMALL_POSITION = cfg.small_position
    CAP_PER_BLOCK = cfg.cap_per_block
    CAP_PER_WINDOW = cfg.cap_per_window
    WINDOW_SECONDS = cfg.window_seconds
    BUCKET_SECONDS = math._ceil_div(cfg.window_seconds, WINDOW_BUCKETS)  # rounds up: a longer look-back, safe side
    self._accrual = (WAD << 64) | block.timestamp


# ------------------------------------------------------------------------------------------------------------------
# Configuration checks (pure, callable so that each rejection can be tested without a failing deployment)
# ------------------------------------------------------------------------------------------------------------------


@external
@pure
def validate_config(cfg: MarketConfig) -> bool:
    """
    @notice Reverts unless `cfg` is a valid market configuration (the constructor runs the same check).
    @param cfg The parameters.
    @return True.
    """
    self._validate(cfg)
    return True


@external
@pure
def price_scale_for(collateral_decimals: uint256, debt_decimals: uint256, feed_decimals: uint256) -> uint256:
    """
    @notice PRICE_SCALE for the given decimals; reverts "margin_engine: invalid decimals" if the exponent is
            negative or above 60.
    @param collateral_decimals The collateral token's decimals.
    @param debt_decimals The debt token's decimals.
    @param feed_decimals The feed's decimals.
    @return 10 ** (collateral + feed - debt decimals).
    """
    return self._price_scale(collateral_decimals, debt_decimals, feed_decimals)


@internal
@pure
def _validate(cfg: MarketConfig):
    """
    @notice The configuration rules: bonus > 100%, threshold x bonus <= 100%, 0 < ltv <= threshold, fee <= 100%,
            min_debt > 0, small_position >= 2 * min_debt (so that a 50% close never leaves less than min_debt),
            0 < cap_per_block <= cap_per_window < 2**96 (the packed cap slots), window > 0, rate <=
            MAX_RATE_PER_SECOND (2.5e10 per second, about 78.8% a year: the index cannot reach 2**192 within 100
            years), and the price guard's parameters
            ("price_guard: invalid config").
    @param cfg The parameters.
    """
    price_guard._check_config(cfg.heartbeat, cfg.max_deviation_bps, cfg.confirmation_window)
    assert cfg.bonus_bps > BPS, "margin_engine: bonus not above one"
    assert cfg.threshold_bps * cfg.bonus_bps <= BPS * BPS, "margin_engine: threshold times bonus above one"
    assert (
        cfg.ltv_bps != 0
        and cfg.ltv_bps <= cfg.threshold_bps
        and cfg.fee_bps <= BPS
        and cfg.min_debt != 0
        and cfg.small_position >= 2 * cfg.min_debt
        and cfg.cap_per_block != 0
        and cfg.cap_per_block <= cfg.cap_per_window
        and cfg.cap_per_window < 2**96
        and cfg.window_seconds != 0
        and cfg.rate_per_second <= MAX_RATE_PER_SECOND
    ), "margin_engine: invalid config"


@internal
@pure
def _price_scale(collateral_decimals: uint256, debt_decimals: uint256, feed_decimals: uint256) -> uint256:
    """
    @notice 10 ** (collateral + feed - debt decimals), checked.
    @param collateral_decimals The collateral token's decimals.
    @param debt_decimals The debt token's decimals.
    @param feed_decimals The feed's decimals.
    @return PRICE_SCALE.
    """
    up: uint256 = collateral_decimals + feed_decimals
    assert up >= debt_decimals and up - debt_decimals <= MAX_SCALE_EXPONENT, "margin_engine: invalid decimals"
    return 10 ** (up - debt_decimals)


# ------------------------------------------------------------------------------------------------------------------
# Lenders
# ------------------------------------------------------------------------------------------------------------------


@external
def supply(assets: uint256) -> uint256:
    """
    @notice Supplies `assets` of the debt token for shares, rounded down.
    @dev Ordinary operation (allowed below HALTED): it adds liquidity, not risk. Reverts "margin_engine: zero
         amount", "margin_engine: zero shares".
    @param assets The amount supplied.
    @return The shares minted.
    """
    circuit_breaker._check_not_halted()
    assert assets != 0, "margin_engine: zero amount"
    total_assets: uint256 = self._total_assets(self._accrue())
    minted: uint256 = math._mul_div(assets, self.total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS, False)
    assert minted != 0, "margin_engine: zero shares"
    self.shares[msg.sender] += minted
    self.total_shares += minted
    self.cash += assets
    safe_token._safe_transfer_from_exact(DEBT_TOKEN, msg.sender, self, assets)
    log Supplied(lender=msg.sender, assets=assets, shares=minted)
    return minted


@external
def withdraw(share_amount: uint256) -> uint256:
    """
    @notice Redeems `share_amount` shares for debt tokens, rounded down.
    @dev An exit: never blocked by the circuit breaker. Reverts "margin_engine: zero amount",
         "margin_engine: insufficient shares", "margin_engine: insufficient cash" (the cash is lent out).
    @param share_amount The shares burned.
    @return The assets paid.
    """
    assert share_amount != 0, "margin_engine: zero amount"
    held: uint256 = self.shares[msg.sender]
    assert held >= share_amount, "margin_engine: insufficient shares"
    total_assets: uint256 = self._total_assets(self._accrue())
    total: uint256 = self.total_shares
    assets: uint256 = math._mul_div(share_amount, total_assets + VIRTUAL_ASSETS, total + VIRTUAL_SHARES, False)
    available: uint256 = self.cash
    assert assets <= available, "margin_engine: insufficient cash"
    self.shares[msg.sender] = unsafe_sub(held, share_amount)  # cannot underflow: held >= share_amount asserted
    self.total_shares = total - share_amount  # checked: the total is the sum of the holdings
    self.cash = unsafe_sub(available, assets)  # cannot underflow: assets <= available asserted
    safe_token._safe_transfer(DEBT_TOKEN, msg.sender, assets)
    log Withdrawn(lender=msg.sender, assets=assets, shares=share_amount)
    return assets


# ------------------------------------------------------------------------------------------------------------------
# Borrowers
# ------------------------------------------------------------------------------------------------------------------


@external
def deposit(amount: uint256):
    """
    @notice Deposits `amount` of collateral for the caller.
    @dev Ordinary operation (allowed below HALTED): collateral only lowers risk. Reverts "margin_engine: zero
         amount". Fee-on-transfer collateral is refused by the exact transfer.
    @param amount The collateral deposited.
    """
    circuit_breaker._check_not_halted()
    assert amount != 0, "margin_engine: zero amount"
    position: uint256 = self._position[msg.sender]
    self._store(msg.sender, position >> 128, (position & MASK_128) + amount)
    safe_token._safe_transfer_from_exact(COLLATERAL_TOKEN, msg.sender, self, amount)
    log Deposited(account=msg.sender, amount=amount)


@external
def withdraw_collateral(amount: uint256):
    """
    @notice Withdraws `amount` of the caller's collateral; with debt, only if the health factor stays >= 1.
    @dev An exit: never blocked by the circuit breaker. With debt it needs a strict price, which at level
         NO_LIQUIDATION and above is validated but not stored (prices do not move there). Reverts
         "margin_engine: zero amount", "margin_engine: insufficient collateral",
         "margin_engine: health factor below one".
    @param amount The collateral withdrawn.
    """
    assert amount != 0, "margin_engine: zero amount"
    position: uint256 = self._position[msg.sender]
    held: uint256 = position & MASK_128
    assert held >= amount, "margin_engine: insufficient collateral"
    remaining: uint256 = unsafe_sub(held, amount)  # cannot underflow: held >= amount asserted
    self._store(msg.sender, position >> 128, remaining)
    self._check_healthy(msg.sender, remaining)
    safe_token._safe_transfer(COLLATERAL_TOKEN, msg.sender, amount)
    log CollateralWithdrawn(account=msg.sender, amount=amount)


@external
def transfer_collateral(receiver: address, amount: uint256):
    """
    @notice Moves `amount` of the caller's collateral to `receiver`'s account; the caller must stay healthy.
    @dev Ordinary operation (allowed below HALTED). Reverts "margin_engine: zero amount",
         "margin_engine: zero address", "margin_engine: insufficient collateral",
         "margin_engine: health factor below one".
    @param receiver The account credited.
    @param amount The collateral moved.
    """
    circuit_breaker._check_not_halted()
    assert amount != 0, "margin_engine: zero amount"
    assert receiver != empty(address), "margin_engine: zero address"
    position: uint256 = self._position[msg.sender]
    held: uint256 = position & MASK_128
    assert held >= amount, "margin_engine: insufficient collateral"
    remaining: uint256 = unsafe_sub(held, amount)  # cannot underflow: held >= amount asserted
    self._store(msg.sender, position >> 128, remaining)
    other: uint256 = self._position[receiver]  # read after the write: the receiver may be the sender
    self._store(receiver, other >> 128, (other & MASK_128) + amount)
    self._check_healthy(msg.sender, remaining)
    log CollateralTransferred(sender=msg.sender, receiver=receiver, amount=amount)


@external
def borrow(amount: uint256):
    """
    @notice Borrows `amount` of the debt token; the debt after must be at most value x LTV and at least MIN_DEBT.
    @dev New risk: LIVE only. Needs a strict price. Debt is added as scaled debt rounded up. Reverts
         "margin_engine: zero amount", "margin_engine: insufficient cash", "margin_engine: debt below minimum",
         "margin_engine: exceeds ltv".
    @param amount The amount borrowed.
    """
    circuit_breaker._check_new_risk_allowed()
    assert amount != 0, "margin_engine: zero amount"
    available: uint256 = self.cash
    assert amount <= available, "margin_engine: insufficient cash"
    index: uint256 = self._accrue()
    added: uint256 = math._mul_div(amount, WAD, index, True)
    position: uint256 = self._position[msg.sender]
    scaled: uint256 = (position >> 128) + added
    coll: uint256 = position & MASK_128
    self._store(msg.sender, scaled, coll)
    self.total_scaled_debt += added
    self.cash = unsafe_sub(available, amount)  # cannot underflow: amount <= available asserted
    debt: uint256 = math._mul_div(scaled, index, WAD, True)
    assert debt >= MIN_DEBT, "margin_engine: debt below minimum"
    price: uint256 = price_guard._price(True, True)
    value: uint256 = math._mul_div(coll, price, PRICE_SCALE, False)
    assert debt * BPS <= value * LTV_BPS, "margin_engine: exceeds ltv"
    safe_token._safe_transfer(DEBT_TOKEN, msg.sender, amount)
    log Borrowed(account=msg.sender, amount=amount, debt=debt)


@external
def repay(account: address, amount: uint256) -> uint256:
    """
    @notice Repays up to `amount` of `account`'s debt (anyone may repay for anyone); more than the debt is cut
            to the debt.
    @dev An exit: never blocked. A repayment of the whole debt clears the scaled debt; a partial one removes
         floor(amount * WAD / index) scaled units, so the debt never drops by more than was paid. A partial
         repayment must leave at least MIN_DEBT (as a liquidation must): no position too small to liquidate is
         ever left. Reverts "margin_engine: zero amount", "margin_engine: no debt",
         "margin_engine: leftover debt below minimum".
    @param account The borrower.
    @param amount The most to repay.
    @return The amount repaid.
    """
    assert amount != 0, "margin_engine: zero amount"
    index: uint256 = self._accrue()
    position: uint256 = self._position[account]
    scaled: uint256 = position >> 128
    assert scaled != 0, "margin_engine: no debt"
    debt: uint256 = math._mul_div(scaled, index, WAD, True)
    paid: uint256 = math._min(amount, debt)
    removed: uint256 = scaled
    if paid < debt:
        # cannot underflow: paid < debt
        assert unsafe_sub(debt, paid) >= MIN_DEBT, "margin_engine: leftover debt below minimum"
        removed = math._mul_div(paid, WAD, index, False)
    self._store(account, scaled - removed, position & MASK_128)  # checked: removed <= scaled (floor of less)
    self.total_scaled_debt -= removed  # checked: the total is the sum of the accounts' scaled debts
    self.cash += paid
    safe_token._safe_transfer_from_exact(DEBT_TOKEN, msg.sender, self, paid)
    remaining: uint256 = math._mul_div(scaled - removed, index, WAD, True)
    log Repaid(payer=msg.sender, account=account, amount=paid, debt=remaining)
    return paid


# ------------------------------------------------------------------------------------------------------------------
# Liquidation
# ------------------------------------------------------------------------------------------------------------------


@external
def liquidate(borrower: address, debt_to_cover: uint256, min_collateral_out: uint256) -> uint256:
    """
    @notice Repays up to `debt_to_cover` of an unhealthy `borrower`'s debt and takes collateral worth the repaid
            amount plus the bonus, minus the protocol fee (taken from the bonus).
    @dev Liquidation start: allowed at LIVE and NO_NEW_RISK. Uses the lenient price (docs/liquidation.md).
         Order: close factor, then the per-block / per-rolling-window caps (cut with `LiquidationCapped`, never
         below MIN_DEBT left; the window check sums the current bucket and the WINDOW_BUCKETS before it, so every
         span of WINDOW_SECONDS holds at most CAP_PER_WINDOW), then the seizure; if it would take all the collateral, all of it is taken for the
         repayment it is worth (rounded up) and the rest of the debt is written off (`DeficitRecorded`).
         Reverts "margin_engine: zero amount", "margin_engine: self liquidation", "margin_engine: no debt",
         "margin_engine: position healthy", "margin_engine: liquidation cap reached",
         "margin_engine: leftover debt below minimum", "margin_engine: slippage".
    @param borrower The account liquidated.
    @param debt_to_cover The most debt the liquidator repays.
    @param min_collateral_out The least collateral the liquidator accepts (after the fee).
    @return The collateral sent to the liquidator.
    """
    circuit_breaker._check_liquidation_allowed()
    assert debt_to_cover != 0, "margin_engine: zero amount"
    assert borrower != msg.sender, "margin_engine: self liquidation"
    index: uint256 = self._accrue()
    position: uint256 = self._position[borrower]
    scaled: uint256 = position >> 128
    assert scaled != 0, "margin_engine: no debt"
    debt: uint256 = math._mul_div(scaled, index, WAD, True)
    coll: uint256 = position & MASK_128
    price: uint256 = price_guard._price(False, True)
    value: uint256 = math._mul_div(coll, price, PRICE_SCALE, False)
    assert value * THRESHOLD_BPS < debt * BPS, "margin_engine: position healthy"

    # Close factor: half the debt, or all of it at HF <= 0.95 or for a small position.
    max_close: uint256 = debt
    if debt >= SMALL_POSITION and math._mul_div(value * THRESHOLD_BPS, WAD, debt * BPS, False) > FULL_CLOSE_HF:
        max_close = math._bps_of(debt, CLOSE_FACTOR_BPS, False)
    repay: uint256 = math._min(debt_to_cover, max_close)

    # Caps on liquidated debt per block and per rolling window (the current bucket and the WINDOW_BUCKETS before).
    block_used: uint256 = 0
    buckets: uint256[WINDOW_BUCKETS + 1] = empty(uint256[WINDOW_BUCKETS + 1])
    block_used, buckets = self._cap_usage()
    window_used: uint256 = self._window_sum(buckets)
    # cannot underflow: the usage never exceeds its cap (every liquidation is cut to the room left)
    room: uint256 = math._min(unsafe_sub(CAP_PER_BLOCK, block_used), unsafe_sub(CAP_PER_WINDOW, window_used))
    assert room != 0, "margin_engine: liquidation cap reached"
    if repay > room:
        requested: uint256 = repay
        repay = room
        if debt - repay < MIN_DEBT:
            # The cut would leave dust: leave exactly MIN_DEBT instead, or wait if even that does not fit.
            assert debt > MIN_DEBT, "margin_engine: liquidation cap reached"
            repay = unsafe_sub(debt, MIN_DEBT)  # cannot underflow: debt > MIN_DEBT asserted
        log LiquidationCapped(borrower=borrower, requested=requested, allowed=repay)

    # Seizure: repay x bonus in collateral, rounded down.
    seized: uint256 = math._mul_div(repay * BONUS_BPS, PRICE_SCALE, price * BPS, False)
    bad_debt: uint256 = 0
    new_scaled: uint256 = 0
    if seized >= coll:
        # Collateral runs out: take all of it for what it is worth at the bonus (rounded up), write off the rest.
        seized = coll
        repay = math._mul_div(coll * price, BPS, BONUS_BPS * PRICE_SCALE, True)
        bad_debt = debt - repay  # checked: repay <= the repay that asked for at least coll, <= debt
    else:
        assert repay == debt or debt - repay >= MIN_DEBT, "margin_engine: leftover debt below minimum"
        if repay != debt:
            new_scaled = scaled - math._mul_div(repay, WAD, index, False)  # checked: floor(repay/index) <= scaled
    # Fee: fee_bps of the bonus part (seized - repay / price), rounded up.
    fee: uint256 = 0
    paid_value: uint256 = repay * PRICE_SCALE
    seized_value: uint256 = seized * price
    if seized_value > paid_value:
        # cannot underflow: seized_value > paid_value
        fee = math._mul_div(unsafe_sub(seized_value, paid_value), FEE_BPS, price * BPS, True)
    out: uint256 = seized - fee  # checked: fee <= bonus part <= seized
    assert out >= min_collateral_out, "margin_engine: slippage"

    self._store(borrower, new_scaled, coll - seized)  # checked: seized <= coll
    self.total_scaled_debt -= scaled - new_scaled  # checked: the total includes this account's scaled debt
    self.cash += repay
    if fee != 0:
        self.protocol_fees += fee
    if repay != 0:
        self._use_cap(block_used + repay, buckets, repay)
    safe_token._safe_transfer_from_exact(DEBT_TOKEN, msg.sender, self, repay)
    safe_token._safe_transfer(COLLATERAL_TOKEN, msg.sender, out)
    if bad_debt != 0:
        total_deficit: uint256 = self.deficit + bad_debt
        self.deficit = total_deficit
        log DeficitRecorded(borrower=borrower, amount=bad_debt, total_deficit=total_deficit)
    log Liquidated(
        borrower=borrower, liquidator=msg.sender, debt_repaid=repay, collateral_seized=seized, fee=fee, bad_debt=bad_debt
    )
    return out


@external
def poke_price() -> uint256:
    """
    @notice Reads the feed through the lenient policy so that a jump's confirmation window starts when it is
            first seen (keepers call this; liquidations do it too).
    @dev Price-moving step: allowed at LIVE and NO_NEW_RISK.
    @return The price in use.
    """
    circuit_breaker._check_price_move_allowed()
    return price_guard._price(False, True)


@external
def collect_fees(receiver: address) -> uint256:
    """
    @notice Sends the collected protocol fees (collateral) to `receiver`. Owner only.
    @dev An exit of protocol funds: not blocked by the breaker. Reverts "margin_engine: zero address".
    @param receiver The receiver.
    @return The amount sent.
    """
    ownable._check_owner()
    assert receiver != empty(address), "margin_engine: zero address"
    amount: uint256 = self.protocol_fees
    self.protocol_fees = 0
    safe_token._safe_transfer(COLLATERAL_TOKEN, receiver, amount)
    log FeesCollected(receiver=receiver, amount=amount)
    return amount


# ------------------------------------------------------------------------------------------------------------------
# Views
# ------------------------------------------------------------------------------------------------------------------


@external
@view
def borrow_index() -> uint256:
    """
    @notice The stored interest index (WAD), as of `last_accrual`.
    @return The index.
    """
    return self._accrual >> 64


@external
@view
def last_accrual() -> uint256:
    """
    @notice When the index was last brought up to date.
    @return The timestamp.
    """
    return self._accrual & MASK_64


@external
@view
def current_index() -> uint256:
    """
    @notice The interest index as it would be after accrual now.
    @return The index (WAD).
    """
    return self._index_now()


@external
@view
def debt_of(account: address) -> uint256:
    """
    @notice `account`'s debt now, rounded up.
    @param account The borrower.
    @return The debt.
    """
    return math._mul_div(self._position[account] >> 128, self._index_now(), WAD, True)


@external
@view
def total_debt() -> uint256:
    """
    @notice The total debt now: ceil(total scaled debt x index). At most the sum of the accounts' rounded-up
            debts and at least that sum minus the number of borrowers.
    @return The total debt.
    """
    return math._mul_div(self.total_scaled_debt, self._index_now(), WAD, True)


@external
@view
def total_assets() -> uint256:
    """
    @notice What all lenders' shares are worth: cash + total debt (the deficit is already out of the debt).
    @return The lenders' assets.
    """
    return self._total_assets(self._index_now())


@external
@view
def convert_to_assets(share_amount: uint256) -> uint256:
    """
    @notice The assets `share_amount` shares redeem for now, rounded down.
    @param share_amount The shares.
    @return The assets.
    """
    return math._mul_div(
        share_amount, self._total_assets(self._index_now()) + VIRTUAL_ASSETS, self.total_shares + VIRTUAL_SHARES, False
    )


@external
@view
def health_factor(account: address) -> uint256:
    """
    @notice value x threshold / debt in WAD, rounded down, at the price a liquidation would use now;
            max_value(uint256) without debt, 0 if no usable price.
    @param account The borrower.
    @return The health factor.
    """
    position: uint256 = self._position[account]
    debt: uint256 = math._mul_div(position >> 128, self._index_now(), WAD, True)
    if debt == 0:
        return max_value(uint256)
    value: uint256 = math._mul_div(position & MASK_128, price_guard._peek(), PRICE_SCALE, False)
    return math._mul_div(value * THRESHOLD_BPS, WAD, debt * BPS, False)


@external
@view
def liquidation_room() -> uint256:
    """
    @notice The debt that may still be liquidated in this block and rolling window.
    @return min(block cap - used in this block, window cap - used in the current bucket and the 4 before).
    """
    block_used: uint256 = 0
    buckets: uint256[WINDOW_BUCKETS + 1] = empty(uint256[WINDOW_BUCKETS + 1])
    block_used, buckets = self._cap_usage()
    # cannot underflow: usage never exceeds its cap
    return math._min(unsafe_sub(CAP_PER_BLOCK, block_used), unsafe_sub(CAP_PER_WINDOW, self._window_sum(buckets)))


@external
@view
def block_usage() -> uint256:
    """
    @notice The stored per-block usage: block number << 128 | debt liquidated in that block (the number of the
            block of the last liquidation; a later block starts from zero).
    @return The packed usage.
    """
    slot: uint256 = self._cap_0
    return ((slot >> 192) << 128) | ((slot >> 96) & MASK_96)


@external
@view
def window_used() -> uint256:
    """
    @notice The debt liquidated in the current bucket and the WINDOW_BUCKETS before it: what the window cap is
            checked against now.
    @return The rolling usage.
    """
    block_used: uint256 = 0
    buckets: uint256[WINDOW_BUCKETS + 1] = empty(uint256[WINDOW_BUCKETS + 1])
    block_used, buckets = self._cap_usage()
    return self._window_sum(buckets)


@external
@view
def window_buckets() -> uint256[WINDOW_BUCKETS + 1]:
    """
    @notice The debt liquidated per bucket as of now: [current bucket, the one before, ...].
    @return The buckets.
    """
    block_used: uint256 = 0
    buckets: uint256[WINDOW_BUCKETS + 1] = empty(uint256[WINDOW_BUCKETS + 1])
    block_used, buckets = self._cap_usage()
    return buckets


@external
@view
def cap_slots() -> (uint256, uint256, uint256):
    """
    @notice The three raw cap slots (layout at their declaration), for differential tests.
    @return _cap_0, _cap_1, _cap_2.
    """
    return self._cap_0, self._cap_1, self._cap_2


@external
@view
def collateral(account: address) -> uint256:
    """
    @notice `account`'s collateral.
    @param account The account.
    @return The collateral.
    """
    return self._position[account] & MASK_128


@external
@view
def scaled_debt(account: address) -> uint256:
    """
    @notice `account`'s scaled debt: debt = ceil(scaled * index / WAD).
    @param account The account.
    @return The scaled debt.
    """
    return self._position[account] >> 128


# ------------------------------------------------------------------------------------------------------------------
# Internals
# ------------------------------------------------------------------------------------------------------------------


@internal
@view
def _index_now() -> uint256:
    """
    @notice The index after accrual at the current timestamp: min(index + ceil(index x rate x dt / WAD),
            MAX_INDEX) (saturating, so that accrual never reverts: exits never fail on it).
    @return The index.
    """
    slot: uint256 = self._accrual
    index: uint256 = slot >> 64
    last: uint256 = slot & MASK_64
    if block.timestamp == last:
        return index
    # cannot underflow: last is a past block.timestamp
    elapsed: uint256 = unsafe_sub(block.timestamp, last)
    # No overflow: index <= MAX_INDEX < 2**192 and rate x elapsed < 2.5e10 x 2**64, so the product over WAD is
    # below 2**192 x 4.7e29 / 1e18 < 2**236, and the sum below 2**237.
    grown: uint256 = index + math._mul_div(index, RATE_PER_SECOND * elapsed, WAD, True)
    return math._min(grown, MAX_INDEX)


@internal
def _accrue() -> uint256:
    """
    @notice Brings the index up to date (debt grows, rounded up) and returns it.
    @dev The index is at most MAX_INDEX (saturating), so it fits in 192 bits; block.timestamp fits in 64 bits for
         the next 500 billion years.
    @return The current index.
    """
    index: uint256 = self._index_now()
    if block.timestamp != self._accrual & MASK_64:
        self._accrual = (index << 64) | block.timestamp  # index <= MAX_INDEX < 2**192: fits its 192 bits
    return index


@internal
@view
def _total_assets(index: uint256) -> uint256:
    """
    @notice cash + ceil(total scaled debt x index).
    @param index The index to value the debt at.
    @return The lenders' assets.
    """
    return self.cash + math._mul_div(self.total_scaled_debt, index, WAD, True)


@internal
def _check_healthy(account: address, coll: uint256):
    """
    @notice Reverts "margin_engine: health factor below one" if `account` has debt and value(coll) x threshold <
            debt (the exact form of HF < 1). Without debt, no price is needed. The strict price is stored only
            below NO_LIQUIDATION (the level table: prices do not move at levels 2 and 3).
    @param account The account.
    @param coll Its collateral after the change.
    """
    scaled: uint256 = self._position[account] >> 128
    if scaled == 0:
        return
    debt: uint256 = math._mul_div(scaled, self._accrue(), WAD, True)
    # At NO_LIQUIDATION and above prices do not move: the strict price is validated without being stored.
    store: bool = circuit_breaker.level < circuit_breaker.NO_LIQUIDATION
    value: uint256 = math._mul_div(coll, price_guard._price(True, store), PRICE_SCALE, False)
    assert value * THRESHOLD_BPS >= debt * BPS, "margin_engine: health factor below one"


@internal
def _store(account: address, scaled: uint256, coll: uint256):
    """
    @notice Writes `account`'s packed position; reverts (conversion) if either part reaches 2**128.
    @param account The account.
    @param scaled Its scaled debt.
    @param coll Its collateral.
    """
    self._position[account] = (convert(convert(scaled, uint128), uint256) << 128) | convert(
        convert(coll, uint128), uint256
    )


@internal
@view
def _cap_usage() -> (uint256, uint256[WINDOW_BUCKETS + 1]):
    """
    @notice The debt liquidated so far in this block (0 in a new block) and per bucket as of now, the stored
            buckets shifted by the buckets that have passed since the last liquidation (older ones drop out).
    @return block_used, [current bucket, the one before, ...].
    """
    slot0: uint256 = self._cap_0
    slot1: uint256 = self._cap_1
    slot2: uint256 = self._cap_2
    block_used: uint256 = 0
    if slot0 >> 192 == block.number:
        block_used = (slot0 >> 96) & MASK_96
    stored: uint256[WINDOW_BUCKETS + 1] = [
        slot0 & MASK_96, (slot1 >> 96) & MASK_96, slot1 & MASK_96, (slot2 >> 96) & MASK_96, slot2 & MASK_96
    ]
    # cannot underflow: the head is the bucket of an earlier block.timestamp; rounds down: the bucket id
    passed: uint256 = unsafe_sub(block.timestamp // BUCKET_SECONDS, slot1 >> 192)
    if passed == 0:
        return block_used, stored
    buckets: uint256[WINDOW_BUCKETS + 1] = empty(uint256[WINDOW_BUCKETS + 1])
    if passed > WINDOW_BUCKETS:
        return block_used, buckets
    # cannot underflow: passed <= WINDOW_BUCKETS here
    for i: uint256 in range(unsafe_sub(WINDOW_BUCKETS + 1, passed), bound=WINDOW_BUCKETS + 1):
        buckets[unsafe_add(i, passed)] = stored[i]  # cannot overflow: i + passed <= WINDOW_BUCKETS
    return block_used, buckets


@internal
@pure
def _window_sum(buckets: uint256[WINDOW_BUCKETS + 1]) -> uint256:
    """
    @notice The sum of the buckets (each at most the window cap, below 2**96: no overflow).
    @param buckets The buckets as of now.
    @return Their sum.
    """
    return buckets[0] + buckets[1] + buckets[2] + buckets[3] + buckets[4]


@internal
def _use_cap(block_used: uint256, buckets: uint256[WINDOW_BUCKETS + 1], amount: uint256):
    """
    @notice Stores the usage after a liquidation of `amount`: this block's, and the buckets with `amount` added to
            the current one, which becomes the head (all below 2**96: at most the caps). An unchanged slot is
            rewritten with its own value (100 gas, no second branch).
    @param block_used The block's usage after this liquidation.
    @param buckets The buckets as of now, before this liquidation.
    @param amount The debt repaid by this liquidation.
    """
    head: uint256 = block.timestamp // BUCKET_SECONDS  # rounds down: the bucket id
    self._cap_0 = (block.number << 192) | (block_used << 96) | (buckets[0] + amount)
    self._cap_1 = (head << 192) | (buckets[1] << 96) | buckets[2]
    self._cap_2 = (head << 192) | (buckets[3] << 96) | buckets[4]
