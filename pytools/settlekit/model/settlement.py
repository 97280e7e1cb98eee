"""Exact integer model of contracts/SettlementSeries.vy (one capped-call series).

Every operation repeats the contract's integer arithmetic with the same rounding (every payout rounds down), so
a differential test can compare every balance and every payout to the wei. A call the contract would revert
raises :class:`SettlementRevert` with the contract's exact reason string and leaves the model unchanged: each
operation checks everything first and only then commits, as a reverted transaction does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

MAX_UINT = 2**256 - 1


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
    payouts: int = 0
    # every (kind, account, units, amount) paid out, in order: lets tests check order independence and bounds
    ledger: list[tuple[str, str, int, int]] = field(default_factory=list)

    # -- views ---------------------------------------------------------------------------------------------

    @property
    def held(self) -> int:
        """Collateral held: deposited - paid - reclaimed - swept (the conservation identity)."""
        return self.deposited - self.paid - self.reclaimed - self.swept_amount

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

    def mint(self, writer: str, receiver: str, units: int) -> int:
        """Lock units * M from ``writer`` and credit ``units`` to ``receiver``; returns the collateral locked."""
        _require(not self.expired, "settlement_series: expired")
        _require(units != 0, "settlement_series: zero units")
        _require(receiver != "", "settlement_series: zero address")
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
        _require(receiver != "", "settlement_series: zero address")
        balance = self.balances.get(sender, 0)
        _require(balance >= units, "settlement_series: insufficient balance")
        self.balances[sender] = balance - units  # an empty account may send 0 units, as on chain
        self.balances[receiver] = self.balances.get(receiver, 0) + units

    def expire(self) -> None:
        """Time passes EXPIRY: minting closes."""
        self.expired = True

    def settle(self, price: int) -> int:
        """Fix the price (and with it the rate) once; returns the payout numerator."""
        _require(self.expired, "settlement_series: not expired")
        _require(self.price == 0, "settlement_series: already settled")
        _require(price > 0, "settlement_series: non-positive price")
        self.price = price
        return self.numerator

    def _check_claimable(self) -> int:
        _require(self.price != 0, "settlement_series: not settled")
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

    def claim_for(self, holders: Iterable[str]) -> int:
        """Pay each listed holder with units (duplicates and empty holders skipped); returns the total."""
        numerator = self._check_claimable()
        total_units = total = 0
        for holder in holders:
            units = self.balances.get(holder, 0)
            if units == 0:
                continue
            total_units += units
            total += self._pay(holder, units, numerator)
        self.open_units -= total_units
        self.paid += total
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

    def sweep(self, after_deadline: bool) -> int:
        self._check_claimable()
        _require(
            after_deadline or (self.open_units == 0 and self.open_written == 0),
            "settlement_series: claims outstanding",
        )
        amount = self.held
        self.swept = True
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
        if self.price == 0:
            assert self.paid == self.reclaimed == self.swept_amount == 0, "paid before settlement"
        loss = Fraction(0)
        for kind, _account, units, amount in self.ledger:
            exact = self.exact_holder_entitlement(units) if kind == "claim" else self.exact_writer_entitlement(units)
            assert amount <= exact, "payout above its exact entitlement"
            loss += exact - amount
        assert loss < max(self.payouts, 1), "rounding loss not below the number of payouts"
        if not self.swept and self.open_units == 0 and self.open_written == 0 and self.price:
            # everything owed is paid: what is left is exactly the rounding loss
            assert self.held == loss
        if self.swept:
            assert self.held == 0
