"""Amounts as people read them: token units with all their decimals, and ratios as decimals (exact when the
denominator divides a power of ten, as the demo's does)."""

from __future__ import annotations

from decimal import Context, Decimal

_EXACT = Context(prec=80)  # more digits than a uint256 has: a ratio of two uint256 values is shown exactly or to 80


def in_units(raw: int, decimals: int, symbol: str = "") -> str:
    """``3000000003`` with 6 decimals -> ``3,000.000003`` (and the symbol after it, when given)."""
    text = f"{Decimal(raw).scaleb(-decimals):,.{decimals}f}"
    return f"{text} {symbol}" if symbol else text


def ratio(numerator: int, denominator: int) -> str:
    """``12345678901 / 50000000000`` -> ``0.24691357802``: a decimal without trailing zeros or an exponent."""
    value = _EXACT.divide(Decimal(numerator), Decimal(denominator))
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
