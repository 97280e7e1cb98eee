"""What every product world offers the runner, and the pieces the worlds share (actors, mismatches, events)."""

from __future__ import annotations

import random
from collections import Counter
from functools import cache
from typing import Any, Protocol

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from .abi import Abi
from .evm import CallResult, Chain

Step = dict[str, Any]
ExpectedEvent = tuple[str, str, tuple[Any, ...]]  # (contract label, event name, args in ABI order)
ZERO = "0x" + "00" * 20
MAX_UINT = 2**256 - 1


class _Any:
    """Matches any value in an expected event's arguments (for an argument the model does not compute)."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _Any()
# a plan's events when the model does not list them (a call whose events another part checks, or none does):
# only the outcome and the return value are compared
ANY_EVENTS: Any = [ANY]


class Mismatch(Exception):
    """The contract and the model disagreed (or an invariant broke); the message says where and how."""


class Expected(Exception):
    """Raised by a spec when the call must revert with ``reason`` (the model's revert, in one type)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@cache
def actor(index: int) -> LocalAccount:
    """A deterministic keyed account, so that actors can sign and replays see the same addresses."""
    account: LocalAccount = Account.from_key(keccak(text=f"settlekit fuzz actor {index}"))
    return account


def address(index: int) -> str:
    return str(actor(index).address).lower()


class World(Protocol):
    """One product deployed in one chain, with its model beside it."""

    product: str

    def generate(self, rng: random.Random) -> Step:
        """A random next step (concrete arguments), biased to the edges of the current state."""
        ...

    def execute(self, step: Step) -> None:
        """Run ``step`` on the contract and in the model; raise Mismatch if they disagree."""
        ...

    def check_invariants(self, full: bool = False) -> None:
        """Check both sides' invariants and that the contract's state equals the model's (every account if
        ``full``, else the accounts touched since the last check); raise Mismatch."""
        ...


def outcome(action: str, result: CallResult) -> str:
    """A coverage label: ``"claim: ok"`` or ``"claim: settlement_series: not settled"`` (the revert reason)."""
    return f"{action}: ok" if result.ok else f"{action}: {result.reason or 'reverted without a reason'}"


def coverage_of(world: object) -> Counter[str]:
    """What a world counted (its ``coverage`` attribute: outcomes per action and its own labels), if it counts."""
    counted = getattr(world, "coverage", None)
    return counted if isinstance(counted, Counter) else Counter()


def compare_call(
    where: str,
    result: CallResult,
    expected_revert: str | None,
    expected_return: tuple[Any, ...] | None,
    returned: tuple[Any, ...] | None,
    expected_events: list[ExpectedEvent],
    labels: dict[str, tuple[str, Abi]],
) -> None:
    """Raise Mismatch unless the call's outcome, return value and events are those the model expects."""
    if expected_revert is not None:
        if result.ok:
            raise Mismatch(f"{where}: model reverts {expected_revert!r}, contract succeeded")
        if result.reason != expected_revert:
            raise Mismatch(f"{where}: model reverts {expected_revert!r}, contract reverts {result.reason!r}")
        return
    if not result.ok:
        raise Mismatch(f"{where}: model succeeds, contract reverts {result.reason!r}")
    if expected_return is not None and returned != expected_return:
        raise Mismatch(f"{where}: return value: model {expected_return}, contract {returned}")
    if expected_events is ANY_EVENTS:
        return
    actual = decode_events(result, labels)
    if not _events_match(expected_events, actual):
        raise Mismatch(f"{where}: events: model {expected_events}, contract {actual}")


def _events_match(expected: list[ExpectedEvent], actual: list[ExpectedEvent]) -> bool:
    if len(expected) != len(actual):
        return False
    for (label, name, args), (got_label, got_name, got_args) in zip(expected, actual, strict=True):
        if label != got_label or name != got_name or len(args) != len(got_args):
            return False
        if any(want is not ANY and want != got for want, got in zip(args, got_args, strict=True)):
            return False
    return True


def decode_events(result: CallResult, labels: dict[str, tuple[str, Abi]]) -> list[ExpectedEvent]:
    events: list[ExpectedEvent] = []
    for log in result.logs:
        label, abi = labels.get(log.address, ("?", None)) if log.address in labels else (log.address, None)
        decoded = abi.decode_log(log) if abi is not None else None
        if decoded is None:
            events.append((label, "?", (log.topics, log.data)))
        else:
            events.append((label, decoded[0], decoded[1]))
    return events


def pick(rng: random.Random, edges: list[int], low: int, high: int, p_edge: float = 0.6) -> int:
    """An edge value with probability ``p_edge``, else uniform in [low, high]."""
    if edges and rng.random() < p_edge:
        return rng.choice(edges)
    return rng.randint(low, high)


__all__ = [
    "Chain", "Expected", "Mismatch", "Step", "World", "actor", "address", "compare_call", "coverage_of", "outcome",
    "pick",
]  # fmt: skip
