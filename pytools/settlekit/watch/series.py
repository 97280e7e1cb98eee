"""Reading the store as an operator: a settlement series' events and its summary (deposited, paid, reclaimed,
swept, claims outstanding), and amounts in token units next to the raw integers.

Token metadata (symbol, decimals) is recorded by the watcher in the store's ``meta`` (``token:<address>``) for the
manifest contracts that answer ``decimals()`` and ``symbol()``; a series' amounts are in its collateral token
(the ``collateral`` of its ``SeriesCreated``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from settlekit.watch.store import EventRow, Store

_DECIMALS = "0x313ce567"  # decimals()
_SYMBOL = "0x95d89b41"  # symbol()


def record_token(store: Store, call: Any, address: str) -> None:
    """Ask a contract for decimals() and symbol() and keep them (nothing for a contract that is not a token)."""
    try:
        decimals = int(call("eth_call", {"to": address, "data": _DECIMALS}, "latest"), 16)
        raw = bytes.fromhex(str(call("eth_call", {"to": address, "data": _SYMBOL}, "latest"))[2:])
        length = int.from_bytes(raw[32:64], "big")
        symbol = raw[64 : 64 + length].decode("utf-8", "replace")
    except Exception:  # not a token (or not an ERC-20 string symbol): amounts stay raw
        return
    if 0 <= decimals <= 77:
        store.set_meta(f"token:{address.lower()}", json.dumps({"symbol": symbol, "decimals": decimals}))


def token(store: Store, address: str) -> dict[str, Any] | None:
    raw = store.get_meta(f"token:{address.lower()}")
    return None if raw is None else dict(json.loads(raw))


def units(raw: int | str, meta: dict[str, Any] | None) -> str:
    """``1.5 dUSD (1500000)``, or the raw integer when the token is unknown."""
    value = int(raw)
    if meta is None:
        return str(value)
    amount = Decimal(value).scaleb(-int(meta["decimals"]))
    return f"{amount:,f} {meta['symbol']} ({value})"


# the collateral amounts of each series event (in the collateral token); Transfer/Minted units are not amounts
SERIES_AMOUNTS = {"Minted": "collateral", "Claimed": "payout", "Reclaimed": "amount", "DustSwept": "amount"}


@dataclass(frozen=True)
class SeriesSummary:
    series: str
    collateral: str | None
    symbol: str | None
    decimals: int | None
    deposited: str
    paid: str
    reclaimed: str
    swept: str
    held: str  # deposited - paid - reclaimed - swept: what the series still holds
    units_minted: str
    units_claimed: str
    units_reclaimed: str
    # units minted whose holder has not claimed yet (a writer's reclaim is the other side of the same units: it
    # pays the writer what the units do not owe the holders, and leaves the holders' claims open)
    claims_outstanding: str
    settled: bool
    dust_events: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def series_events(store: Store, address: str) -> list[EventRow]:
    """A series' canonical events and the SeriesCreated that announced it."""
    wanted = address.lower()
    return [
        e
        for e in store.events()
        if e.address.lower() == wanted
        or (e.event == "SeriesCreated" and str(e.args.get("series", "")).lower() == wanted)
    ]


def summarize(store: Store, address: str) -> SeriesSummary:
    rows = series_events(store, address)
    created = next((e for e in rows if e.event == "SeriesCreated"), None)
    collateral = str(created.args["collateral"]) if created is not None else None
    meta = token(store, collateral) if collateral else None
    own = [e for e in rows if e.address.lower() == address.lower()]

    def total(event: str, field: str) -> int:
        return sum(int(e.args.get(field, 0)) for e in own if e.event == event)

    deposited, paid = total("Minted", "collateral"), total("Claimed", "payout")
    reclaimed, swept = total("Reclaimed", "amount"), total("DustSwept", "amount")
    minted_units, claimed_units, reclaimed_units = (
        total("Minted", "units"),
        total("Claimed", "units"),
        total("Reclaimed", "units"),
    )
    return SeriesSummary(
        series=address,
        collateral=collateral,
        symbol=meta["symbol"] if meta else None,
        decimals=int(meta["decimals"]) if meta else None,
        deposited=str(deposited),
        paid=str(paid),
        reclaimed=str(reclaimed),
        swept=str(swept),
        held=str(deposited - paid - reclaimed - swept),
        units_minted=str(minted_units),
        units_claimed=str(claimed_units),
        units_reclaimed=str(reclaimed_units),
        claims_outstanding=str(minted_units - claimed_units),
        settled=any(e.event == "Settled" for e in own),
        dust_events=sum(1 for e in own if e.event == "DustSwept"),
    )


def all_series(store: Store) -> list[str]:
    return [str(e.args["series"]) for e in store.events(event_name="SeriesCreated")]
