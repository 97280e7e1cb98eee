"""Exact integer model of contracts/MarginEngine.vy and contracts/modules/price_guard.vy.

Every operation repeats the contract's integer arithmetic in the same order with the same rounding, so a
differential test can compare every balance to the wei. A call the contract would revert raises
:class:`MarginRevert` with the contract's exact reason string, and leaves the model unchanged (each operation
works on local values and commits at the end, as a reverted transaction does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

BPS = 10_000
WAD = 10**18
CLOSE_FACTOR_BPS = 5_000
FULL_CLOSE_HF = 95 * 10**16
VIRTUAL_SHARES = 10**6
VIRTUAL_ASSETS = 1
MAX_UINT = 2**256 - 1
REJECT_NON_POSITIVE = 1
REJECT_STALE = 2
REJECT_DEVIATION = 3
REJECT_FEED_FAILED = 4
REJECT_OUT_OF_RANGE = 5
MAX_ANSWER = 2**128 - 1
CONFIRMATION_BAND_BPS = 100
MAX_RATE_PER_SECOND = 25 * 10**9
MAX_INDEX = 2**192 - 1
NO_LIQUIDATION = 2
WINDOW_BUCKETS = 4
MASK_96 = 2**96 - 1

T = TypeVar("T")


class MarginRevert(Exception):
    """The model's version of a contract revert; ``reason`` is the contract's exact string."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise MarginRevert(reason)


def mul_div(x: int, y: int, d: int, round_up: bool) -> int:
    """math._mul_div: x * y / d rounded down or up."""
    _require(d != 0, "math: division by zero")
    q, r = divmod(x * y, d)
    result = q + (1 if round_up and r else 0)
    _require(result <= MAX_UINT, "math: mul_div overflow")
    return result


@dataclass(frozen=True)
class MarketConfig:
    """The constructor's MarketConfig, field for field."""

    ltv_bps: int = 7_500
    threshold_bps: int = 8_000
    bonus_bps: int = 10_500
    fee_bps: int = 1_000
    rate_per_second: int = 0
    min_debt: int = 10 * 10**6
    small_position: int = 100 * 10**6
    cap_per_block: int = 10**28
    cap_per_window: int = 10**28
    window_seconds: int = 3_600
    heartbeat: int = 3_600
    max_deviation_bps: int = 5_000
    grace_period: int = 7_200
    confirmation_window: int = 600

    def as_tuple(self) -> tuple[int, ...]:
        """The ABI tuple, in the struct's field order."""
        return (
            self.ltv_bps,
            self.threshold_bps,
            self.bonus_bps,
            self.fee_bps,
            self.rate_per_second,
            self.min_debt,
            self.small_position,
            self.cap_per_block,
            self.cap_per_window,
            self.window_seconds,
            self.heartbeat,
            self.max_deviation_bps,
            self.grace_period,
            self.confirmation_window,
        )


def validate_config(cfg: MarketConfig) -> None:
    """MarginEngine._validate (the price guard's rules first, as in the contract)."""
    _require(
        cfg.heartbeat != 0 and cfg.confirmation_window != 0 and 0 < cfg.max_deviation_bps <= BPS,
        "price_guard: invalid config",
    )
    _require(cfg.bonus_bps > BPS, "margin_engine: bonus not above one")
    _require(cfg.threshold_bps * cfg.bonus_bps <= BPS * BPS, "margin_engine: threshold times bonus above one")
    _require(
        cfg.ltv_bps != 0
        and cfg.ltv_bps <= cfg.threshold_bps
        and cfg.fee_bps <= BPS
        and cfg.min_debt != 0
        and cfg.small_position >= 2 * cfg.min_debt
        and cfg.cap_per_block != 0
        and cfg.cap_per_block <= cfg.cap_per_window
        and cfg.cap_per_window < 2**96
        and cfg.window_seconds != 0
        and cfg.rate_per_second <= MAX_RATE_PER_SECOND,
        "margin_engine: invalid config",
    )


def price_scale_for(collateral_decimals: int, debt_decimals: int, feed_decimals: int) -> int:
    """MarginEngine._price_scale."""
    up = collateral_decimals + feed_decimals
    _require(up >= debt_decimals and up - debt_decimals <= 60, "margin_engine: invalid decimals")
    return int(10 ** (up - debt_decimals))


@dataclass
class Feed:
    """The aggregator's latest round as the guard sees it; ``failed`` when the call reverts (or returns too little)."""

    answer: int
    updated_at: int
    failed: bool = False


def reject_reason(feed: Feed, now: int, heartbeat: int) -> int:
    """price_guard._reject_reason: why the round is not usable at all (0 if it is)."""
    if feed.failed:
        return REJECT_FEED_FAILED
    if feed.answer <= 0:
        return REJECT_NON_POSITIVE
    if feed.answer > MAX_ANSWER:
        return REJECT_OUT_OF_RANGE
    if feed.updated_at > now or now - feed.updated_at > heartbeat:
        return REJECT_STALE
    return 0


def check_strict(reason: int) -> None:
    """price_guard._check_strict: the strict read's revert for ``reason``."""
    _require(reason != REJECT_FEED_FAILED, "price_guard: feed failed")
    _require(reason != REJECT_NON_POSITIVE, "price_guard: non-positive price")
    _require(reason != REJECT_OUT_OF_RANGE, "price_guard: price out of range")
    _require(reason != REJECT_STALE, "price_guard: stale price")


def beyond(price: int, reference: int, bound_bps: int) -> bool:
    """price_guard._beyond: |price - reference| / reference > bound_bps / BPS, exactly."""
    return abs(price - reference) * BPS > bound_bps * reference


@dataclass
class PriceGuard:
    """price_guard.vy: the last good price and the pending jump."""

    heartbeat: int
    max_deviation_bps: int
    grace_period: int
    confirmation_window: int
    last_good_price: int = 0
    last_good_updated_at: int = 0
    pending_since: int = 0
    pending_price: int = 0

    def price(self, feed: Feed, now: int, strict: bool, store: bool = True) -> tuple[int, int | None]:
        """price_guard._price: the price used and the PriceRejected reason (None if not rejected). Mutates
        (only with ``store``, or a lenient read's pending jump)."""
        answer, updated_at = feed.answer, feed.updated_at
        reason = reject_reason(feed, now, self.heartbeat)
        if reason:
            if strict:
                check_strict(reason)
            _require(now - self.last_good_updated_at <= self.grace_period, "price_guard: no usable price")
            return self.last_good_price, reason
        last = self.last_good_price
        if updated_at <= self.last_good_updated_at:
            return last, None
        if beyond(answer, last, self.max_deviation_bps):
            since = self.pending_since
            if since == 0 or beyond(answer, self.pending_price, CONFIRMATION_BAND_BPS):
                _require(not strict, "price_guard: price deviation")
                self.pending_since = now
                self.pending_price = answer
                return last, REJECT_DEVIATION
            if now - since < self.confirmation_window:
                _require(not strict, "price_guard: price deviation")
                return last, REJECT_DEVIATION
        if store:
            self.last_good_price = answer
            self.last_good_updated_at = updated_at
            self.pending_since = 0
        return answer, None


@dataclass
class Liquidation:
    """What one liquidation did (the Liquidated event plus the cap cut)."""

    repaid: int
    seized: int
    fee: int
    bad_debt: int
    out: int
    capped: bool


@dataclass
class MarginModel:
    """MarginEngine's state and entry points. ``now`` and ``block`` are the timestamp and number of the block the
    next call runs in; set them before each call."""

    cfg: MarketConfig
    price_scale: int
    guard: PriceGuard
    feed: Feed
    now: int
    block: int = 0
    cash: int = 0
    shares: dict[str, int] = field(default_factory=dict)
    total_shares: int = 0
    collateral: dict[str, int] = field(default_factory=dict)
    scaled_debt: dict[str, int] = field(default_factory=dict)
    total_scaled_debt: int = 0
    borrow_index: int = WAD
    last_accrual: int = 0
    deficit: int = 0
    protocol_fees: int = 0
    cap_slots: tuple[int, int, int] = (0, 0, 0)
    rejections: list[int] = field(default_factory=list)
    level: int = 0

    @classmethod
    def create(cls, cfg: MarketConfig, price_scale: int, feed: Feed, now: int, block: int = 0) -> MarginModel:
        """The constructor: validates, takes the first good price (strictly)."""
        validate_config(cfg)
        guard = PriceGuard(cfg.heartbeat, cfg.max_deviation_bps, cfg.grace_period, cfg.confirmation_window)
        check_strict(reject_reason(feed, now, cfg.heartbeat))
        guard.last_good_price = feed.answer
        guard.last_good_updated_at = feed.updated_at
        return cls(
            cfg=cfg,
            price_scale=price_scale,
            guard=guard,
            feed=Feed(feed.answer, feed.updated_at, feed.failed),
            now=now,
            block=block,
            last_accrual=now,
        )

    # --- snapshots, so that a reverted call leaves nothing behind -------------------------------------------------

    def _snapshot(self) -> tuple[object, ...]:
        g = self.guard
        return (
            self.cash,
            dict(self.shares),
            self.total_shares,
            dict(self.collateral),
            dict(self.scaled_debt),
            self.total_scaled_debt,
            self.borrow_index,
            self.last_accrual,
            self.deficit,
            self.protocol_fees,
            self.cap_slots,
            g.last_good_price,
            g.last_good_updated_at,
            g.pending_since,
            g.pending_price,
            len(self.rejections),
        )

    def _restore(self, s: tuple[object, ...]) -> None:
        (
            self.cash,
            self.shares,
            self.total_shares,
            self.collateral,
            self.scaled_debt,
            self.total_scaled_debt,
            self.borrow_index,
            self.last_accrual,
            self.deficit,
            self.protocol_fees,
            self.cap_slots,
            self.guard.last_good_price,
            self.guard.last_good_updated_at,
            self.guard.pending_since,
            self.guard.pending_price,
            n,
        ) = s  # type: ignore[assignment]
        del self.rejections[int(n) :]  # type: ignore[call-overload]

    def _atomic(self, fn: Callable[[], T]) -> T:
        saved = self._snapshot()
        try:
            return fn()
        except MarginRevert:
            self._restore(saved)
            raise

    # --- views ------------------------------------------------------------------------------------------------

    def index_now(self) -> int:
        if self.now == self.last_accrual:
            return self.borrow_index
        elapsed = self.now - self.last_accrual
        grown = self.borrow_index + mul_div(self.borrow_index, self.cfg.rate_per_second * elapsed, WAD, True)
        return min(grown, MAX_INDEX)

    def debt_of(self, account: str) -> int:
        return mul_div(self.scaled_debt.get(account, 0), self.index_now(), WAD, True)

    def total_debt(self) -> int:
        return mul_div(self.total_scaled_debt, self.index_now(), WAD, True)

    def total_assets(self) -> int:
        return self.cash + self.total_debt()

    def convert_to_assets(self, share_amount: int) -> int:
        return mul_div(share_amount, self.total_assets() + VIRTUAL_ASSETS, self.total_shares + VIRTUAL_SHARES, False)

    def value(self, coll: int, price: int) -> int:
        return mul_div(coll, price, self.price_scale, False)

    @property
    def bucket_seconds(self) -> int:
        """BUCKET_SECONDS: ceil(window / WINDOW_BUCKETS)."""
        return -(-self.cfg.window_seconds // WINDOW_BUCKETS)

    @property
    def block_usage(self) -> int:
        """The contract's ``block_usage()`` view: block number << 128 | debt liquidated in that block."""
        slot0 = self.cap_slots[0]
        return ((slot0 >> 192) << 128) | ((slot0 >> 96) & MASK_96)

    @property
    def window_used(self) -> int:
        """The rolling window usage now (the contract's ``window_used()``)."""
        return sum(self.window_buckets())

    def _cap_state(self) -> tuple[int, list[int]]:
        """MarginEngine._cap_usage: this block's usage and the buckets as of now, [current, previous, ...]."""
        slot0, slot1, slot2 = self.cap_slots
        block_used = (slot0 >> 96) & MASK_96 if slot0 >> 192 == self.block else 0
        stored = [slot0 & MASK_96, (slot1 >> 96) & MASK_96, slot1 & MASK_96, (slot2 >> 96) & MASK_96, slot2 & MASK_96]
        passed = self.now // self.bucket_seconds - (slot1 >> 192)
        buckets = [0] * (WINDOW_BUCKETS + 1)
        if 0 <= passed <= WINDOW_BUCKETS:
            for i in range(WINDOW_BUCKETS + 1 - passed):
                buckets[i + passed] = stored[i]
        return block_used, buckets

    def window_buckets(self) -> list[int]:
        """The contract's ``window_buckets()``: debt liquidated per bucket as of now, the current bucket first."""
        return self._cap_state()[1]

    def cap_usage(self) -> tuple[int, int]:
        """This block's usage and the rolling window's (the current bucket and the WINDOW_BUCKETS before it)."""
        block_used, buckets = self._cap_state()
        return block_used, sum(buckets)

    def liquidation_room(self) -> int:
        block_used, window_used = self.cap_usage()
        return min(self.cfg.cap_per_block - block_used, self.cfg.cap_per_window - window_used)

    # --- internals --------------------------------------------------------------------------------------------

    def _accrue(self) -> None:
        if self.now != self.last_accrual:
            self.borrow_index = self.index_now()
            self.last_accrual = self.now

    def _price(self, strict: bool, store: bool = True) -> int:
        price, reason = self.guard.price(self.feed, self.now, strict, store)
        if reason is not None:
            self.rejections.append(reason)
        return price

    def _check_healthy(self, account: str, coll: int) -> None:
        scaled = self.scaled_debt.get(account, 0)
        if scaled == 0:
            return
        self._accrue()
        debt = mul_div(scaled, self.borrow_index, WAD, True)
        value = self.value(coll, self._price(True, self.level < NO_LIQUIDATION))
        _require(value * self.cfg.threshold_bps >= debt * BPS, "margin_engine: health factor below one")

    # --- entry points -----------------------------------------------------------------------------------------

    def supply(self, lender: str, assets: int) -> int:
        def run() -> int:
            _require(assets != 0, "margin_engine: zero amount")
            self._accrue()
            minted = mul_div(assets, self.total_shares + VIRTUAL_SHARES, self.total_assets() + VIRTUAL_ASSETS, False)
            _require(minted != 0, "margin_engine: zero shares")
            self.shares[lender] = self.shares.get(lender, 0) + minted
            self.total_shares += minted
            self.cash += assets
            return minted

        return self._atomic(run)

    def withdraw(self, lender: str, share_amount: int) -> int:
        def run() -> int:
            _require(share_amount != 0, "margin_engine: zero amount")
            held = self.shares.get(lender, 0)
            _require(held >= share_amount, "margin_engine: insufficient shares")
            self._accrue()
            assets = mul_div(
                share_amount, self.total_assets() + VIRTUAL_ASSETS, self.total_shares + VIRTUAL_SHARES, False
            )
            _require(assets <= self.cash, "margin_engine: insufficient cash")
            self.shares[lender] = held - share_amount
            self.total_shares -= share_amount
            self.cash -= assets
            return assets

        return self._atomic(run)

    def deposit(self, account: str, amount: int) -> None:
        _require(amount != 0, "margin_engine: zero amount")
        self.collateral[account] = self.collateral.get(account, 0) + amount

    def withdraw_collateral(self, account: str, amount: int) -> None:
        def run() -> None:
            _require(amount != 0, "margin_engine: zero amount")
            held = self.collateral.get(account, 0)
            _require(held >= amount, "margin_engine: insufficient collateral")
            self.collateral[account] = held - amount
            self._check_healthy(account, held - amount)

        self._atomic(run)

    def transfer_collateral(self, sender: str, receiver: str, amount: int) -> None:
        def run() -> None:
            _require(amount != 0, "margin_engine: zero amount")
            held = self.collateral.get(sender, 0)
            _require(held >= amount, "margin_engine: insufficient collateral")
            self.collateral[sender] = held - amount
            self.collateral[receiver] = self.collateral.get(receiver, 0) + amount
            self._check_healthy(sender, held - amount)

        self._atomic(run)

    def borrow(self, account: str, amount: int) -> None:
        def run() -> None:
            _require(amount != 0, "margin_engine: zero amount")
            _require(amount <= self.cash, "margin_engine: insufficient cash")
            self._accrue()
            index = self.borrow_index
            added = mul_div(amount, WAD, index, True)
            scaled = self.scaled_debt.get(account, 0) + added
            self.scaled_debt[account] = scaled
            self.total_scaled_debt += added
            self.cash -= amount
            debt = mul_div(scaled, index, WAD, True)
            _require(debt >= self.cfg.min_debt, "margin_engine: debt below minimum")
            value = self.value(self.collateral.get(account, 0), self._price(True))
            _require(debt * BPS <= value * self.cfg.ltv_bps, "margin_engine: exceeds ltv")

        self._atomic(run)

    def repay(self, account: str, amount: int) -> int:
        def run() -> int:
            _require(amount != 0, "margin_engine: zero amount")
            self._accrue()
            index = self.borrow_index
            scaled = self.scaled_debt.get(account, 0)
            _require(scaled != 0, "margin_engine: no debt")
            debt = mul_div(scaled, index, WAD, True)
            paid = min(amount, debt)
            if paid < debt:
                _require(debt - paid >= self.cfg.min_debt, "margin_engine: leftover debt below minimum")
            removed = scaled if paid >= debt else mul_div(paid, WAD, index, False)
            self.scaled_debt[account] = scaled - removed
            self.total_scaled_debt -= removed
            self.cash += paid
            return paid

        return self._atomic(run)

    def liquidate(self, liquidator: str, borrower: str, debt_to_cover: int, min_out: int = 0) -> Liquidation:
        return self._atomic(lambda: self._liquidate(liquidator, borrower, debt_to_cover, min_out))

    def _liquidation_size(self, debt: int, value: int, debt_to_cover: int) -> tuple[int, bool, int]:
        """The close factor, then the caps (cut, never leaving less than MIN_DEBT): repay, capped, block usage."""
        cfg = self.cfg
        max_close = debt
        if debt >= cfg.small_position and mul_div(value * cfg.threshold_bps, WAD, debt * BPS, False) > FULL_CLOSE_HF:
            max_close = mul_div(debt, CLOSE_FACTOR_BPS, BPS, False)
        repay = min(debt_to_cover, max_close)
        block_used, window_used = self.cap_usage()
        room = min(cfg.cap_per_block - block_used, cfg.cap_per_window - window_used)
        _require(room != 0, "margin_engine: liquidation cap reached")
        capped = False
        if repay > room:
            capped = True
            repay = room
            if debt - repay < cfg.min_debt:
                _require(debt > cfg.min_debt, "margin_engine: liquidation cap reached")
                repay = debt - cfg.min_debt
        return repay, capped, block_used

    def _liquidate(self, liquidator: str, borrower: str, debt_to_cover: int, min_out: int) -> Liquidation:
        cfg = self.cfg
        _require(debt_to_cover != 0, "margin_engine: zero amount")
        _require(borrower != liquidator, "margin_engine: self liquidation")
        self._accrue()
        index = self.borrow_index
        scaled = self.scaled_debt.get(borrower, 0)
        _require(scaled != 0, "margin_engine: no debt")
        debt = mul_div(scaled, index, WAD, True)
        coll = self.collateral.get(borrower, 0)
        price = self._price(False)
        value = self.value(coll, price)
        _require(value * cfg.threshold_bps < debt * BPS, "margin_engine: position healthy")
        repay, capped, block_used = self._liquidation_size(debt, value, debt_to_cover)
        seized = mul_div(repay * cfg.bonus_bps, self.price_scale, price * BPS, False)
        bad_debt = 0
        new_scaled = 0
        if seized >= coll:
            seized = coll
            repay = mul_div(coll * price, BPS, cfg.bonus_bps * self.price_scale, True)
            bad_debt = debt - repay
        else:
            _require(repay == debt or debt - repay >= cfg.min_debt, "margin_engine: leftover debt below minimum")
            if repay != debt:
                new_scaled = scaled - mul_div(repay, WAD, index, False)
        fee = 0
        paid_value = repay * self.price_scale
        seized_value = seized * price
        if seized_value > paid_value:
            fee = mul_div(seized_value - paid_value, cfg.fee_bps, price * BPS, True)
        out = seized - fee
        _require(out >= min_out, "margin_engine: slippage")
        self.scaled_debt[borrower] = new_scaled
        self.total_scaled_debt -= scaled - new_scaled
        self.collateral[borrower] = coll - seized
        self.cash += repay
        self.protocol_fees += fee
        if repay != 0:
            buckets = self.window_buckets()
            head = self.now // self.bucket_seconds
            self.cap_slots = (
                (self.block << 192) | ((block_used + repay) << 96) | (buckets[0] + repay),
                (head << 192) | (buckets[1] << 96) | buckets[2],
                (head << 192) | (buckets[3] << 96) | buckets[4],
            )
        self.deficit += bad_debt
        return Liquidation(repay, seized, fee, bad_debt, out, capped)

    def poke_price(self) -> int:
        return self._atomic(lambda: self._price(False))

    def health_factor(self, account: str) -> int:
        """The health_factor view at the lenient price (without writing; mirrors price_guard._peek)."""
        debt = self.debt_of(account)
        if debt == 0:
            return MAX_UINT
        probe = PriceGuard(
            **{
                k: getattr(self.guard, k)
                for k in (
                    "heartbeat",
                    "max_deviation_bps",
                    "grace_period",
                    "confirmation_window",
                    "last_good_price",
                    "last_good_updated_at",
                    "pending_since",
                    "pending_price",
                )
            }
        )
        try:
            price, _ = probe.price(self.feed, self.now, False)
        except MarginRevert:
            price = 0
        value = self.value(self.collateral.get(account, 0), price)
        return mul_div(value * self.cfg.threshold_bps, WAD, debt * BPS, False)
