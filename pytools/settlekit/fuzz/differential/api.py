"""Writing a differential world: deploy contracts, declare actions with argument strategies, keep a Python model.

A world is a class the engine creates once per sequence, as ``World(context, variant)``. Subclass
:class:`ActionWorld`, deploy the contracts and build the model in :meth:`ActionWorld.setup`, and mark each action
with :func:`action`, giving a strategy per argument::

    class VaultWorld(ActionWorld):
        actor_count = 4

        def setup(self) -> None:
            self.token = self.deploy("ExampleToken", "Example", "EXT", 18, label="token")
            self.vault = self.deploy("Vault", self.token.address, self.account(0), label="vault")
            self.model = VaultModel()

        @action(weight=5, who=actors(), assets=integers(0, 10**24, edges=[0, 1]))
        def deposit(self, who: int, assets: int) -> None:
            sender = self.account(who)
            self.call(self.vault, "deposit", assets, sender=sender, model=lambda: self.model.deposit(sender, assets))

        def compare_state(self, full: bool) -> None:
            self.same("total_assets", self.vault.view("total_assets"), self.model.total_assets)

The engine draws steps (``{"op": "deposit", "who": 2, "assets": 0}``) from the actions' weights and strategies,
runs each on the contract (pyrevm, in process) and on the model, and compares the outcome (success or the exact
revert reason), the return value and, when given, the events; then :meth:`ActionWorld.invariants` and
:meth:`ActionWorld.compare_state`. A disagreement is shrunk and saved as a replay file and a pytest regression test.

Steps are JSON: strategies must produce JSON values (integers, strings, booleans, lists). An action named ``warp``
with one argument ``seconds`` is one the shrinker merges when two follow each other.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from eth_abi.abi import encode

from settlekit.build.artifacts import canonical_type

from .abi import Abi, abi_of
from .evm import CallResult, Chain
from .registry import WorldContext
from .world import ANY, ANY_EVENTS, Expected, ExpectedEvent, Mismatch, Step, address, compare_call, outcome

Strategy = Callable[[Any, random.Random], Any]  # (the world, its random source) -> a JSON value
Edges = Sequence[int] | Callable[[Any], Sequence[int]]  # a list, or a function of the world giving one
F = TypeVar("F", bound=Callable[..., None])
_ACTION = "__settlekit_action__"
DEPLOYER_INDEX = 10_000  # the deployer's actor index: far from the actors a world lets act


# -- strategies ---------------------------------------------------------------------------------------------------


def integers(low: int, high: int, edges: Edges = (), p_edge: float = 0.5) -> Strategy:
    """An integer in [low, high], or with probability ``p_edge`` one of ``edges`` (a list, or a function of the
    world for edges that depend on its state, such as an actor's balance and that balance + 1)."""
    if low > high:
        raise ValueError(f"integers({low}, {high}): low is above high")

    def draw(world: ActionWorld, rng: random.Random) -> int:
        chosen = edges(world) if callable(edges) else edges
        if chosen and rng.random() < p_edge:
            return int(rng.choice(list(chosen)))
        return rng.randint(low, high)

    return draw


def sampled(values: Sequence[Any]) -> Strategy:
    """One of ``values``, uniformly."""
    if not values:
        raise ValueError("sampled(): no values to choose from")
    options = list(values)

    def draw(_world: ActionWorld, rng: random.Random) -> Any:
        return rng.choice(options)

    return draw


def booleans(p_true: float = 0.5) -> Strategy:
    def draw(_world: ActionWorld, rng: random.Random) -> bool:
        return rng.random() < p_true

    return draw


def actors() -> Strategy:
    """The index of one of the world's actors (``world.account(index)`` is its address)."""

    def draw(world: ActionWorld, rng: random.Random) -> int:
        return rng.randrange(world.actor_count)

    return draw


# -- actions ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    """One action: its name (the method's), weight and a strategy per argument."""

    name: str
    weight: int
    strategies: tuple[tuple[str, Strategy], ...]


def action(weight: int = 1, **strategies: Strategy) -> Callable[[F], F]:
    """Mark a method of an :class:`ActionWorld` as an action, drawn with ``weight`` and its arguments from
    ``strategies`` (keyword per argument)."""
    if weight < 1:
        raise ValueError("an action's weight must be at least 1")

    def mark(method: F) -> F:
        setattr(method, _ACTION, ActionSpec(method.__name__, weight, tuple(strategies.items())))
        return method

    return mark


# -- contracts ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contract:
    """A deployed contract in a world's chain: its address (lower-case hex), label (in events) and ABI."""

    chain: Chain
    address: str
    label: str
    abi: Abi

    def transact(self, sender: str, function: str, *args: Any) -> CallResult:
        """Run ``function`` from ``sender`` and commit it; a revert leaves only its reason."""
        return self.chain.call(sender, self.address, self.abi.calldata(function, *args))

    def view(self, function: str, *args: Any) -> Any:
        """Read ``function``: its one return value, or a tuple for several; a revert is a Mismatch."""
        try:
            output = self.chain.view(self.address, self.abi.view_calldata(function, *args))
        except RuntimeError as error:
            raise Mismatch(f"{self.label}.{function}{args}: view reverted: {str(error)[:200]}") from None
        values = self.abi.functions[function].result(output)
        return values[0] if len(values) == 1 else values


Events = list[ExpectedEvent] | Callable[[Any], list[ExpectedEvent]] | None


class ActionWorld:
    """The base of a user's world: actions by decorator, a chain with funded actors, deployment and comparison.

    Class attributes: ``actor_count`` (how many keyed accounts act, each funded with ether), ``variants`` (the world
    receives ``self.variant`` in ``range(variants)``, to vary its set-up between sequences), ``start_timestamp``,
    ``chain_id`` and ``model_reverts`` (the exception types of the model that mean "the contract must revert"; the
    reason is the exception's ``reason`` attribute, else its text).
    """

    actor_count: ClassVar[int] = 4
    variants: ClassVar[int] = 1
    start_timestamp: ClassVar[int] = 1_700_000_000
    chain_id: ClassVar[int] = 31337
    model_reverts: ClassVar[tuple[type[BaseException], ...]] = (Expected,)
    product = "world"
    _specs: ClassVar[tuple[ActionSpec, ...]] = ()
    _cum_weights: ClassVar[list[int]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs: dict[str, ActionSpec] = {}
        for klass in reversed(cls.__mro__):
            for name, member in vars(klass).items():
                spec = getattr(member, _ACTION, None)
                if isinstance(spec, ActionSpec):
                    specs[name] = spec
        cls._specs = tuple(specs.values())
        cls._cum_weights = list(itertools.accumulate(spec.weight for spec in cls._specs))

    def __init__(self, context: WorldContext, variant: int) -> None:
        if not self._specs:
            raise TypeError(f"{type(self).__name__} declares no @action methods")
        self.context = context
        self.variant = variant % self.variants
        self.chain = Chain(timestamp=self.start_timestamp, chain_id=self.chain_id)
        self.accounts = [address(i) for i in range(self.actor_count)]
        self.deployer = address(DEPLOYER_INDEX)
        for who in (*self.accounts, self.deployer):
            self.chain.fund(who)
        self.labels: dict[str, tuple[str, Abi]] = {}
        self.step_no = 0
        self.coverage: Counter[str] = Counter()  # outcomes per call ("deposit: ok", "deposit: vault: zero amount")
        self.setup()

    # -- what a world writes --------------------------------------------------------------------------------------

    def setup(self) -> None:
        """Deploy the contracts (:meth:`deploy`) and create the model; runs once per sequence."""
        raise NotImplementedError

    def invariants(self) -> None:
        """Check the model's own invariants; raise :class:`Mismatch` (or use :meth:`same`) when one breaks."""

    def compare_state(self, full: bool) -> None:
        """Compare the contract's state with the model's (views or storage). ``full`` at the end of a sequence:
        compare everything there; otherwise what the last steps could have changed is enough."""

    # -- helpers --------------------------------------------------------------------------------------------------

    def account(self, index: int) -> str:
        """The address of actor ``index`` (lower-case hex; the same in every run and replay)."""
        return self.accounts[index]

    def deploy(self, artifact: str, *args: Any, label: str | None = None, sender: str | None = None) -> Contract:
        """Deploy the project's artifact ``artifact`` with constructor ``args`` (types from its ABI)."""
        built = self.context.store.get(artifact)
        constructor = next((item for item in built.abi if item.get("type") == "constructor"), None)
        kinds = [canonical_type(p) for p in (constructor or {}).get("inputs", [])]
        if len(kinds) != len(args):
            raise TypeError(f"{artifact}'s constructor takes {len(kinds)} argument(s), {len(args)} given")
        initcode = built.bytecode + (encode(kinds, list(args)) if kinds else b"")
        try:
            where = self.chain.deploy(sender or self.deployer, initcode)
        except RuntimeError as error:
            raise Mismatch(f"setup: deploying {artifact} failed: {str(error)[:200]}") from None
        contract = Contract(self.chain, where, label or artifact, abi_of(self.context.store, artifact))
        self.labels[where] = (contract.label, contract.abi)
        return contract

    def call(
        self,
        contract: Contract,
        function: str,
        *args: Any,
        sender: str,
        model: Callable[[], Any],
        events: Events = None,
    ) -> Any:
        """Run ``model()`` and ``function(*args)`` on ``contract`` from ``sender`` and compare them: the model
        raising one of ``model_reverts`` means the call must revert with that reason; otherwise it must succeed,
        return what the model returned (unless the model returned None) and emit ``events`` when given (a list of
        ``(label, event name, args)``, or a function of the model's return value giving that list; ``ANY`` matches
        any one argument). Returns the model's value."""
        shown = ", ".join(repr(arg) for arg in args)
        where = f"step {self.step_no}: {contract.label}.{function}({shown}) from {sender}"
        try:
            expected = model()
        except self.model_reverts as revert:
            reason = getattr(revert, "reason", None)
            result = contract.transact(sender, function, *args)
            compare_call(where, result, str(reason if reason is not None else revert), None, None, [], self.labels)
            self.coverage[outcome(function, result)] += 1
            return None
        result = contract.transact(sender, function, *args)
        expected_events = events(expected) if callable(events) else events
        returned = contract.abi.functions[function].result(result.output) if result.ok else None
        wanted = None
        if expected is not None:
            wanted = expected if isinstance(expected, tuple) else (expected,)
        compare_call(
            where,
            result,
            None,
            wanted,
            returned,
            ANY_EVENTS if expected_events is None else expected_events,
            self.labels,
        )
        self.coverage[outcome(function, result)] += 1
        return expected

    def cover(self, label: str) -> None:
        """Count ``label`` in the campaign's coverage (a state your world wants to see reached: a rounded payout,
        a full liquidation); the summary shows every label with its count, and a label never counted is absent."""
        self.coverage[label] += 1

    def same(self, what: str, contract_value: Any, model_value: Any) -> None:
        """Raise :class:`Mismatch` unless the contract's ``what`` equals the model's."""
        if contract_value != model_value:
            raise Mismatch(f"after step {self.step_no}: {what}: contract {contract_value!r}, model {model_value!r}")

    def warp(self, seconds: int) -> None:
        """Move the chain ``seconds`` on and into the next block (call it from a ``warp`` action)."""
        self.chain.set_block(self.chain.timestamp + seconds, self.chain.number + 1)

    @property
    def now(self) -> int:
        """The current block's timestamp."""
        return self.chain.timestamp

    # -- the engine's side (the World protocol) -------------------------------------------------------------------

    def generate(self, rng: random.Random) -> Step:
        spec = rng.choices(self._specs, cum_weights=self._cum_weights)[0]
        step: Step = {"op": spec.name}
        for name, strategy in spec.strategies:
            step[name] = strategy(self, rng)
        return step

    def execute(self, step: Step) -> None:
        self.step_no += 1
        op = step.get("op")
        if not any(spec.name == op for spec in self._specs):
            raise Mismatch(f"step {self.step_no}: {type(self).__name__} has no action {op!r}")
        arguments = {key: value for key, value in step.items() if key != "op"}
        getattr(self, str(op))(**arguments)

    def check_invariants(self, full: bool = False) -> None:
        try:
            self.invariants()
        except AssertionError as broken:  # a model's own `assert` is an invariant broken, not an engine crash
            raise Mismatch(f"after step {self.step_no}: invariant: {broken}") from None
        self.compare_state(full)


__all__ = [
    "ANY",
    "ActionSpec",
    "ActionWorld",
    "Contract",
    "Expected",
    "Mismatch",
    "WorldContext",
    "action",
    "actors",
    "booleans",
    "integers",
    "sampled",
]
