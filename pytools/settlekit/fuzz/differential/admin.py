"""What both products share around their money paths: the owner (two-step transfer), the guardian and the
circuit breaker's callers, as a small spec beside each world, plus the view table both worlds compare against
their models after every step.

A world keeps one :class:`Governance`; its ``ops`` join the world's action table and its ``plan`` builds the
step's call and expected outcome. Actors are named by index into ``candidates`` (the world's admin first, then
its people, then its keeper) so that steps stay small JSON; ``-1`` is the zero address.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .abi import Abi
from .world import ZERO, Expected, ExpectedEvent, Mismatch, Step

# action weights (the world's own actions weigh 2-20): rare, like the real administrative changes
GOVERNANCE_WEIGHTS = [("transfer_ownership", 1), ("accept_ownership", 1), ("set_guardian", 1)]
Plan = Callable[[], tuple[tuple[Any, ...], list[ExpectedEvent]]]


@dataclass
class Governance:
    """The owner, the pending owner and the guardian as the contract should hold them."""

    label: str  # the contract's event label
    abi: Abi
    contract: str
    candidates: list[str]
    owner: str
    guardian: str
    pending: str = ZERO
    history: list[str] = field(default_factory=list)

    def who(self, index: int) -> str:
        return ZERO if index < 0 else self.candidates[index % len(self.candidates)]

    def index_of(self, account: str) -> int:
        return self.candidates.index(account) if account in self.candidates else -1

    def generate(self, rng: random.Random, op: str) -> Step:
        """Mostly the right caller (the owner, the pending owner) so that changes happen, sometimes anyone."""
        anyone = rng.randrange(len(self.candidates))
        if op == "accept_ownership":
            right = self.index_of(self.pending)
            return {"op": op, "caller": right if right >= 0 and rng.random() < 0.8 else anyone}
        caller = self.index_of(self.owner) if rng.random() < 0.85 else anyone
        target = -1 if rng.random() < 0.1 else rng.randrange(len(self.candidates))
        return {"op": op, "caller": caller, "target": target}

    def plan(self, step: Step) -> tuple[str, str, bytes, Plan]:
        op, caller = str(step["op"]), self.who(int(step["caller"]))
        if op == "accept_ownership":

            def accept() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
                if caller != self.pending or self.pending == ZERO:
                    raise Expected("ownable: caller is not the pending owner")
                old, self.owner, self.pending = self.owner, caller, ZERO
                return (), [(self.label, "OwnershipTransferred", (old, caller))]

            return caller, self.contract, self.abi.calldata(op), accept
        target = self.who(int(step["target"]))

        def change() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if caller != self.owner:
                raise Expected("ownable: caller is not the owner")
            if op == "transfer_ownership":
                self.pending = target
                return (), [(self.label, "OwnershipTransferStarted", (self.owner, target))]
            old, self.guardian = self.guardian, target
            return (), [(self.label, "GuardianSet", (old, target))]

        return caller, self.contract, self.abi.calldata(op, target), change

    def breaker_caller(self, step: Step, admin: str, keeper: str) -> str:
        """The breaker step's caller: ``by_admin`` means the current owner (the admin until ownership moves),
        ``by_guardian`` the current guardian, else the keeper (never allowed unless it became owner or guardian)."""
        if step.get("by_guardian"):
            return self.guardian
        return self.owner if step["by_admin"] else keeper

    def check_breaker(self, caller: str, raising: bool) -> None:
        if raising:
            if caller not in (self.guardian, self.owner):
                raise Expected("circuit_breaker: caller is not the guardian or owner")
        elif caller != self.owner:
            raise Expected("ownable: caller is not the owner")

    def expected_views(self) -> dict[tuple[str, tuple[Any, ...]], Any]:
        return {("owner", ()): self.owner, ("pending_owner", ()): self.pending, ("guardian", ()): self.guardian}


def compare_views(
    where: str,
    view: Callable[[str, str, Abi, tuple[Any, ...]], Any],
    contract: str,
    abi: Abi,
    expected: dict[tuple[str, tuple[Any, ...]], Any],
) -> None:
    """Call each view ``name(*args)`` of ``contract`` and raise Mismatch on the first that differs from the model."""
    for (name, args), want in expected.items():
        try:
            got = view(contract, name, abi, args)
        except RuntimeError as error:
            raise Mismatch(f"{where}: view {name}{args} reverts ({str(error)[:120]}), model {want}") from None
        if got != want:
            raise Mismatch(f"{where}: view {name}{args}: model {_shown(want)}, contract {_shown(got)}")


def _shown(value: Any) -> Any:
    """A view's value as a mismatch message shows it: bytes (a domain separator) as 0x hex, not a bytes repr."""
    return "0x" + value.hex() if isinstance(value, bytes) else value
