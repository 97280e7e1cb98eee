"""Exact integer model of contracts/SettlementSeries.vy (one capped-call series).

Every operation repeats the contract's integer arithmetic with the same rounding (every payout rounds down), so
a differential test can compare every balance and every payout to the wei. A call the contract would revert
raises :class:`SettlementRevert` with the contract's exact reason string and leaves the model unchanged: each
operation checks everything first and only then commits, as a reverted transaction does.

Time is optional. A model built with :class:`SeriesTimes` (or by :func:`new_series`, which also repeats the
creation checks) follows the clock set by :meth:`SettlementModel.warp` and applies every timing rule itself:
expiry, the claim period that starts at settlement (``MIN_CLAIM_PERIOD``), the bound on how long the circuit
breaker can hold settlement and the sweep (``MAX_SETTLEMENT_DELAY``) and the fallback settlement
(``FALLBACK_DELAY``). A model without times is driven by :meth:`SettlementModel.expire` and an explicit
``after_deadline`` on :meth:`SettlementModel.sweep`, as before. The circuit-breaker level itself is left to the
caller, which asks :attr:`SettlementModel.breaker_holds` whether the level still applies to settlement and sweep.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from fractions import Fraction

MAX_UINT = 2**256 - 1
DAY = 86_400
# the shortest claim period after settlement before unclaimed units may be swept (contract MIN_CLAIM_PERIOD)
MIN_CLAIM_PERIOD = 7 * DAY
# how long after the settlement window the breaker may still hold settlement and the sweep (MAX_SETTLEMENT_DELAY)
MAX_SETTLEMENT_DELAY = 7 * DAY
# how long after the settlement window an unsettled series waits for settle_fallback (FALLBACK_DELAY)
FALLBACK_DELAY = 14 * DAY
# upper bound on EXPIRY and SETTLEMENT_WINDOW (MAX_TIME)
MAX_TIME = 2**64 - 1
# Settled.source of each settlement path
SOURCE_ORACLE, SOURCE_REPORT, SOURCE_FALLBACK = 1, 2, 3
# the model's name for the series' own address (a receiver the contract refuses); override per model
SERIES = "series"


class SettlementRevert(Exception):
    """The model's version of a contract revert; ``reason`` is the contract's exact string."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise SettlementRevert(reason)


@dataclass(frozen=True)
class SeriesTerms:
    """The immutables that drive the money math (feed units for strike and cap, collateral wei per unit)."""

    strike: int
    cap: int
    max_payout_per_unit: int

    def __post_init__(self) -> None:
        _require(self.cap != 0, "settlement_series: zero cap")
        _require(self.max_payout_per_unit != 0, "settlement_series: zero max payout")


@dataclass(frozen=True)
class SeriesTimes:
    """The timing immutables: EXPIRY, SETTLEMENT_WINDOW and SWEEP_DEADLINE, checked as the contract checks them."""

    expiry: int
    settlement_window: int
    sweep_deadline: int

    def __post_init__(self) -> None:
        _require(self.expiry <= MAX_TIME and self.settlement_window <= MAX_TIME, "settlement_series: time out of range")
        _require(self.sweep_deadline >= self.claims_from, "settlement_series: claim period too short")

    @property
    def window_end(self) -> int:
        """EXPIRY + SETTLEMENT_WINDOW: the last moment an oracle round is fresh."""
        return self.expiry + self.settlement_window

    @property
    def claims_from(self) -> int:
        """The earliest sweep deadline creation accepts: EXPIRY + SETTLEMENT_WINDOW + MIN_CLAIM_PERIOD."""
        return self.window_end + MIN_CLAIM_PERIOD

    @property
    def guard_lapses_at(self) -> int:
        """``settlement_guard_lapses_at()``: from then on the breaker holds neither settlement nor the sweep."""
        return self.window_end + MAX_SETTLEMENT_DELAY

    @property
    def fallback_opens_at(self) -> int:
        """``fallback_opens_at()``: from then on anyone may call ``settle_fallback`` on an unsettled series."""
        return self.window_end + FALLBACK_DELAY


def payout_numerator(terms: SeriesTerms, price: int) -> int:
    """clamp(price - strike, 0, cap): the share of max_payout_per_unit each unit is owed, over ``cap``."""
    if price <= terms.strike:
        return 0
    return min(price - terms.strike, terms.cap)


def holder_payout(terms: SeriesTerms, units: int, numerator: int) -> int:
    """floor(units * M * n / cap): what a holder of ``units`` is paid (rounded down, against the holder)."""
    return units * terms.max_payout_per_unit * numerator // terms.cap


def writer_reclaim(terms: SeriesTerms, units: int, numerator: int) -> int:
    """floor(units * M * (cap - n) / cap): what a writer of ``units`` gets back (rounded down, against the writer)."""
    return units * terms.max_payout_per_unit * (terms.cap - numerator) // terms.cap


@dataclass
class SettlementModel:
    """State of one series; mirrors the contract's storage and totals."""

    terms: SeriesTerms
    times: SeriesTimes | None = None
    now: int = 0
    series: str = SERIES
    balances: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    total_supply: int = 0
    open_units: int = 0
    open_written: int = 0
    deposited: int = 0
    paid: int = 0
    reclaimed: int = 0
    swept_amount: int = 0
    price: int = 0
    swept: bool = False
    expired: bool = False
    # settled_at != 0 on chain; a separate flag here because a model without times has no clock
    settled: bool = False
    settled_at: int = 0
    source: int = 0
    # whether the sweep took unclaimed collateral (DustSwept.after_deadline)
    swept_late: bool = False
    payouts: int = 0
    # every (kind, account, units, amount) paid out, in order: lets tests check order independence and bounds
    ledger: list[tuple[str, str, int, int]] = field(default_factory=list)
    # the last claim_for in order: ("claim" | "skip", holder, units, payout), as its Claimed / ClaimSkipped events
    last_batch: list[tuple[str, str, int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.times is not None:
            self.expired = self.now >= self.times.expiry

    # -- views ---------------------------------------------------------------------------------------------

    @property
    def held(self) -> int:
        """Collateral held: deposited - paid - reclaimed - swept (the conservation identity)."""
        return self.deposited - self.paid - self.reclaimed - self.swept_amount

    @property
    def breaker_holds(self) -> bool:
        """Whether the circuit-breaker level still applies to settle, settle_with_report and sweep: before
        EXPIRY + SETTLEMENT_WINDOW + MAX_SETTLEMENT_DELAY (always, in a model without times)."""
        return self.times is None or self.now < self.times.guard_lapses_at

    @property
    def late_sweep_at(self) -> int:
        """``late_sweep_at()``: max(SWEEP_DEADLINE, settled_at + MIN_CLAIM_PERIOD); 0 while unsettled."""
        if not self.settled:
            return 0
        return max(self._times().sweep_deadline, self.settled_at + MIN_CLAIM_PERIOD)

    def _times(self) -> SeriesTimes:
        if self.times is None:
            raise ValueError("this rule needs a model built with SeriesTimes")
        return self.times

    @property
    def numerator(self) -> int:
        return payout_numerator(self.terms, self.price) if self.price else 0

    def exact_holder_entitlement(self, units: int) -> Fraction:
        """The rational amount ``units`` are owed, before rounding."""
        return Fraction(units * self.terms.max_payout_per_unit * self.numerator, self.terms.cap)

    def exact_writer_entitlement(self, units: int) -> Fraction:
        """The rational amount the writer of ``units`` is owed back, before rounding."""
        return Fraction(units * self.terms.max_payout_per_unit * (self.terms.cap - self.numerator), self.terms.cap)

    # -- operations ----------------------------------------------------------------------------------------

    def warp(self, now: int) -> None:
        """Set the clock (block.timestamp); minting closes and settlement opens at EXPIRY."""
        self.now = now
        if self.times is not None:
            self.expired = now >= self.times.expiry

    def check_receiver(self, receiver: str) -> None:
        """The receiver rule of mint, transfer and claim_by_sig: nonzero and not the series itself."""
        _require(receiver != "", "settlement_series: zero address")
        _require(receiver != self.series, "settlement_series: receiver is the series")

    def mint(self, writer: str, receiver: str, units: int) -> int:
        """Lock units * M from ``writer`` and credit ``units`` to ``receiver``; returns the collateral locked."""
        _require(not self.expired, "settlement_series: expired")
        _require(units != 0, "settlement_series: zero units")
        self.check_receiver(receiver)
        m = self.terms.max_payout_per_unit
        _require(units <= (MAX_UINT - self.deposited) // m, "settlement_series: mint too large")
        amount = units * m
        self.deposited += amount
        self.total_supply += units
        self.open_units += units
        self.open_written += units
        self.written[writer] = self.written.get(writer, 0) + units
        self.balances[receiver] = self.balances.get(receiver, 0) + units
        return amount

    def transfer(self, sender: str, receiver: str, units: int) -> None:
        self.check_receiver(receiver)
        balance = self.balances.get(sender, 0)
        _require(balance >= units, "settlement_series: insufficient balance")
        self.balances[sender] = balance - units  # an empty account may send 0 units, as on chain
        self.balances[receiver] = self.balances.get(receiver, 0) + units

    def expire(self) -> None:
        """Time passes EXPIRY: minting closes (a model with times moves its clock to EXPIRY if it is earlier)."""
        if self.times is not None:
            self.now = max(self.now, self.times.expiry)
        self.expired = True

    def _check_settleable(self) -> None:
        _require(self.expired, "settlement_series: not expired")
        _require(not self.settled, "settlement_series: already settled")

    def settle(self, price: int, source: int = SOURCE_ORACLE) -> int:
        """Fix the price (and with it the rate) once; returns the payout numerator. The claim period starts now."""
        self._check_settleable()
        _require(price > 0, "settlement_series: non-positive price")
        self.price = price
        self.settled, self.settled_at, self.source = True, self.now, source
        return self.numerator

    def settle_fallback(self) -> int:
        """``settle_fallback()``: from EXPIRY + SETTLEMENT_WINDOW + FALLBACK_DELAY an unsettled series is voided
        (price 0, rate 0: holders are owed nothing, every writer reclaims all it locked); returns the price, 0.
        Needs a model with times."""
        self._check_settleable()
        _require(self.now >= self._times().fallback_opens_at, "settlement_series: fallback not open")
        self.price = 0
        self.settled, self.settled_at, self.source = True, self.now, SOURCE_FALLBACK
        return 0

    def _check_claimable(self) -> int:
        _require(self.settled, "settlement_series: not settled")
        _require(not self.swept, "settlement_series: swept")
        return self.numerator

    def _pay(self, holder: str, units: int, numerator: int) -> int:
        payout = holder_payout(self.terms, units, numerator)
        self.balances[holder] = 0
        self.ledger.append(("claim", holder, units, payout))
        self.payouts += 1
        return payout

    def claim(self, holder: str) -> int:
        numerator = self._check_claimable()
        units = self.balances.get(holder, 0)
        _require(units != 0, "settlement_series: nothing to claim")
        payout = self._pay(holder, units, numerator)
        self.open_units -= units
        self.paid += payout
        return payout

    def claim_for(self, holders: Iterable[str], refused: Collection[str] = ()) -> int:
        """Pay each listed holder with units (duplicates and empty holders skipped); returns the total.

        ``refused`` are the holders the collateral token refuses to pay (its transfer reverts, a blacklist): each
        is skipped and keeps its units, unless its payout is 0 (the contract makes no transfer for 0, so it is
        paid like anyone else). Every listing of a refused holder is a skip. :attr:`last_batch` keeps the order.
        """
        numerator = self._check_claimable()
        total_units = total = 0
        batch: list[tuple[str, str, int, int]] = []
        for holder in holders:
            units = self.balances.get(holder, 0)
            if units == 0:
                continue
            payout = holder_payout(self.terms, units, numerator)
            if payout != 0 and holder in refused:
                batch.append(("skip", holder, units, payout))
                continue
            batch.append(("claim", holder, units, payout))
            total_units += units
            total += self._pay(holder, units, numerator)
        self.open_units -= total_units
        self.paid += total
        self.last_batch = batch
        return total

    def reclaim(self, writer: str) -> int:
        numerator = self._check_claimable()
        units = self.written.get(writer, 0)
        _require(units != 0, "settlement_series: nothing to reclaim")
        amount = writer_reclaim(self.terms, units, numerator)
        self.written[writer] = 0
        self.open_written -= units
        self.reclaimed += amount
        self.ledger.append(("reclaim", writer, units, amount))
        self.payouts += 1
        return amount

    def sweep(self, after_deadline: bool | None = None) -> int:
        """Send everything held to the treasury, once. ``after_deadline``: whether the late sweep is open (it may
        take unclaimed collateral); None in a model with times computes it: now >= :attr:`late_sweep_at`."""
        self._check_claimable()
        if after_deadline is None:
            after_deadline = self.now >= self.late_sweep_at
        _require(
            after_deadline or (self.open_units == 0 and self.open_written == 0),
            "settlement_series: claims outstanding",
        )
        amount = self.held
        self.swept = True
        self.swept_late = after_deadline
        self.swept_amount = amount
        return amount

    # -- invariants ----------------------------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Raise AssertionError unless every documented invariant holds in the current state."""
        assert self.held == self.deposited - self.paid - self.reclaimed - self.swept_amount
        assert self.held >= 0, "paid out more than deposited"
        assert self.deposited == self.total_supply * self.terms.max_payout_per_unit
        assert sum(self.balances.values()) <= self.total_supply
        assert self.open_units == sum(self.balances.values()), "open units drifted from balances"
        assert self.open_written == sum(self.written.values()), "open written drifted from writers"
        if not self.settled:
            assert self.paid == self.reclaimed == self.swept_amount == 0, "paid before settlement"
        elif self.price == 0:  # the fallback settlement: void
            assert self.paid == 0, "a holder paid after the fallback settlement"
            assert self.reclaimed == sum(a for kind, _w, _u, a in self.ledger if kind == "reclaim")
            assert all(a == u * self.terms.max_payout_per_unit for k, _w, u, a in self.ledger if k == "reclaim")
        loss = Fraction(0)
        for kind, _account, units, amount in self.ledger:
            exact = self.exact_holder_entitlement(units) if kind == "claim" else self.exact_writer_entitlement(units)
            assert amount <= exact, "payout above its exact entitlement"
            loss += exact - amount
        assert loss < max(self.payouts, 1), "rounding loss not below the number of payouts"
        if not self.swept and self.open_units == 0 and self.open_written == 0 and self.settled:
            # everything owed is paid: what is left is exactly the rounding loss
            assert self.held == loss
        if self.swept:
            assert self.held == 0


def new_series(
    terms: tuple[int, int, int],
    times: tuple[int, int, int],
    *,
    now: int,
    treasury: str,
    admin: str,
    series: str = SERIES,
) -> SettlementModel:
    """A model of a series created at ``now``, after the contract's creation checks in the contract's order
    (``_check_terms``; the "no code" check on the collateral and oracle is left to the caller).

    ``terms`` is (strike, cap, max_payout_per_unit), ``times`` is (expiry, settlement_window, sweep_deadline).
    """
    strike, cap, max_payout = terms
    expiry, window, sweep_deadline = times
    _require(treasury != "" and admin != "", "settlement_series: zero address")
    _require(treasury != series, "settlement_series: receiver is the series")
    series_terms = SeriesTerms(strike, cap, max_payout)  # zero cap, zero max payout
    _require(expiry >= now, "settlement_series: expiry in the past")
    series_times = SeriesTimes(expiry, window, sweep_deadline)  # time out of range, claim period too short
    return SettlementModel(series_terms, times=series_times, now=now, series=series)
