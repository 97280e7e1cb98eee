"""The margin product: one MarginEngine on two MockERC20s (debt 6 decimals, collateral 18) and a MockAggregator,
against :class:`settlekit.model.margin.MarginModel` plus what the model leaves to its callers (the circuit breaker,
token balances, the feed's rounds, and the events: the price guard's PriceAccepted / PriceRejected are derived
from the model's guard state, the engine's events from the model's results).

Blocks: a step runs in the current block; only ``warp`` starts a new one (with a later timestamp), so that runs of
liquidations between two warps share a block and meet the per-block cap as a wave does.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from typing import Any

from eth_abi.abi import encode

from settlekit.model.margin import FULL_CLOSE_HF, Feed, MarginModel, MarginRevert, MarketConfig, price_scale_for

from .abi import Abi, abi_of
from .admin import GOVERNANCE_WEIGHTS, Governance, compare_views
from .evm import Chain
from .layout import mapping_slot
from .registry import WorldContext
from .world import ANY, MAX_UINT, ZERO, Expected, ExpectedEvent, Mismatch, Step, address, compare_call, outcome, pick

OWNER, KEEPER = 200, 201
ACTORS = 6  # actors 0..5 lend, borrow and liquidate
FUNDS = 10**30  # of each token per actor: never the binding constraint
START = 1_700_000_000
START_PRICE = 2_000 * 10**8
LABEL_ENGINE, LABEL_DEBT, LABEL_COLL, LABEL_FEED = "engine", "debt", "collateral", "feed"
CONFIGS = [
    MarketConfig(rate_per_second=0),
    MarketConfig(
        rate_per_second=3 * 10**9, cap_per_block=300 * 10**6, cap_per_window=1_000 * 10**6, window_seconds=600
    ),
    MarketConfig(rate_per_second=10**9, cap_per_block=50 * 10**6, cap_per_window=50 * 10**6, window_seconds=60),
]
_WEIGHTS = [
    ("supply", 8), ("withdraw", 4), ("deposit", 10), ("withdraw_collateral", 5), ("transfer_collateral", 3),
    ("borrow", 14), ("repay", 5), ("price", 10), ("odd_round", 2), ("warp", 6), ("liquidate", 16),
    ("poke_price", 2), ("breaker", 2),
]  # fmt: skip
# beyond the money paths: the owner's fee collection and the owner / guardian actions of admin.py
_WEIGHTS += [("collect_fees", 2), *GOVERNANCE_WEIGHTS]
OPS = [op for op, _ in _WEIGHTS]
OP_WEIGHTS = list(itertools.accumulate(w for _, w in _WEIGHTS))
STATE_NAMES: tuple[str, ...] = ("cash", "total_shares", "total_scaled_debt", "deficit", "protocol_fees", "level")
STATE_NAMES += ("last_good_price", "last_good_updated_at", "pending_since")
STORAGE_NAMES = (*STATE_NAMES, "_position", "shares")  # _position: scaled debt << 128 | collateral
MASK_128 = 2**128 - 1
HF_FULL_CLOSE_BPS = 9_500  # at or below this health factor a liquidation may close the whole debt
FUNCTIONS = {"odd_round": "set_round", "price": "set_answer", "breaker": "raise_level"}
GOVERNANCE_OPS = {op for op, _ in GOVERNANCE_WEIGHTS}


def _model(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except MarginRevert as revert:
        raise Expected(revert.reason) from None


class MarginWorld:
    """A fresh market per sequence; ``execute`` runs one step on both sides and compares."""

    product = "margin"

    variants = len(CONFIGS)

    def __init__(self, context: WorldContext, variant: int) -> None:
        store = context.store
        layouts = context.layouts("MarginEngine", "MockERC20")
        self.chain = Chain(timestamp=START)
        engine_slots, token_slots = layouts.get("MarginEngine", {}), layouts.get("MockERC20", {})
        # storage reads for the frequent checks when the layout has every variable they need, else view calls
        self.slots = engine_slots if all(engine_slots.get(n, -1) >= 0 for n in STORAGE_NAMES) else None
        self.token_balance_slot = token_slots.get("balanceOf", -1)
        self.cfg = CONFIGS[variant % len(CONFIGS)]
        self.engine_abi = abi_of(store, "MarginEngine")
        self.token_abi = abi_of(store, "MockERC20")
        self.feed_abi = abi_of(store, "MockAggregator")
        self.people = [address(i) for i in range(ACTORS)]
        self.owner, self.keeper = address(OWNER), address(KEEPER)
        for who in [*self.people, self.owner, self.keeper]:
            self.chain.fund(who)
        token = store.get("MockERC20").bytecode
        self.debt = self.chain.deploy(self.owner, token + encode(["string", "string", "uint8"], ["Debt", "D", 6]))
        self.coll = self.chain.deploy(self.owner, token + encode(["string", "string", "uint8"], ["Coll", "C", 18]))
        feed_init = store.get("MockAggregator").bytecode + encode(["uint8", "string"], [8, "C / D"])
        self.feed = self.chain.deploy(self.owner, feed_init)
        self._setup(self.owner, self.feed, self.feed_abi.calldata("set_answer", START_PRICE))
        kinds = ["address", "address", "address", "address", "(" + ",".join(["uint256"] * 14) + ")"]
        args = [self.debt, self.coll, self.feed, self.owner, self.cfg.as_tuple()]
        self.engine = self.chain.deploy(self.owner, store.get("MarginEngine").bytecode + encode(kinds, args))
        self.model = MarginModel.create(self.cfg, price_scale_for(18, 6, 8), Feed(START_PRICE, START), START, 1)
        self.tokens: dict[tuple[str, str], int] = {}
        for who in self.people:
            for tok in (self.debt, self.coll):
                self._setup(who, tok, self.token_abi.calldata("mint", who, FUNDS))
                self._setup(who, tok, self.token_abi.calldata("approve", self.engine, MAX_UINT))
                self.tokens[(tok, who)] = FUNDS
        self.labels = {
            self.engine: (LABEL_ENGINE, self.engine_abi),
            self.debt: (LABEL_DEBT, self.token_abi),
            self.coll: (LABEL_COLL, self.token_abi),
            self.feed: (LABEL_FEED, self.feed_abi),
        }
        self.level = 0
        self.round = 1
        self.step_no = 0
        self.coverage: Counter[str] = Counter()  # outcomes per action, liquidations at the close-factor boundary
        self.dirty: set[str] = set()
        self.governance = Governance(
            LABEL_ENGINE, self.engine_abi, self.engine, [self.owner, *self.people, self.keeper], self.owner, self.owner
        )

    def _setup(self, sender: str, to: str, calldata: bytes) -> None:
        if not self.chain.call(sender, to, calldata).ok:
            raise Mismatch(f"setup call failed on {to}")

    def _move(self, token: str, sender: str, receiver: str, amount: int) -> list[ExpectedEvent]:
        if amount == 0:
            return []
        self.tokens[(token, sender)] = self.tokens.get((token, sender), 0) - amount
        self.tokens[(token, receiver)] = self.tokens.get((token, receiver), 0) + amount
        return [(LABEL_DEBT if token == self.debt else LABEL_COLL, "Transfer", (sender, receiver, amount))]

    # -- generation ------------------------------------------------------------------------------------------

    def generate(self, rng: random.Random) -> Step:
        m = self.model
        op = rng.choices(OPS, cum_weights=OP_WEIGHTS)[0]
        who = rng.randrange(ACTORS)
        account = self.people[who]
        if op in GOVERNANCE_OPS:
            return self.governance.generate(rng, op)
        if op == "collect_fees":  # by the owner mostly, to an actor or the zero address
            caller = self.governance.index_of(self.governance.owner) if rng.random() < 0.85 else who + 1
            return {"op": op, "caller": caller, "to": -1 if rng.random() < 0.1 else who}
        if op == "supply":
            return {"op": op, "who": who, "amount": pick(rng, [0, 1, 10**6, 10**12, 10**15], 1, 10**13)}
        if op == "withdraw":
            held = m.shares.get(account, 0)
            return {"op": op, "who": who, "amount": pick(rng, [0, 1, held, held + 1, held // 2], 1, max(held, 1))}
        if op == "deposit":
            return {"op": op, "who": who, "amount": pick(rng, [0, 1, 10**16, 10**18, 10**18 + 7], 1, 10**19)}
        if op in ("withdraw_collateral", "transfer_collateral"):
            held = m.collateral.get(account, 0)
            amount = pick(rng, [0, 1, held, held + 1, held // 2, held // 10], 1, max(held, 1))
            return {"op": op, "who": who, "to": rng.randrange(-1, ACTORS), "amount": amount}
        if op == "borrow":
            return {"op": op, "who": who, "amount": self._borrow_amount(rng, account)}
        if op == "repay":
            debt = m.debt_of(self.people[who])
            target = rng.randrange(ACTORS)
            debt = m.debt_of(self.people[target])
            edges = [0, 1, debt, debt + 1, max(debt - self.cfg.min_debt, 1), debt // 2]
            return {"op": op, "who": who, "account": target, "amount": pick(rng, edges, 1, max(debt, 1))}
        if op == "price":
            if rng.random() < 0.3:  # a borrower exactly at a health-factor boundary (1, or 0.95: the close factor)
                return {"op": op, "answer": self._price_for_hf(rng)}
            last = m.guard.last_good_price
            bound = self.cfg.max_deviation_bps
            edges = [last * (10_000 + bound) // 10_000, last * (10_000 + bound) // 10_000 + 1]
            edges += [last * (10_000 - bound) // 10_000, last * (10_000 - bound) // 10_000 - 1, 0, -1, last]
            edges += [last * 7 // 10, last * 9 // 10, last * 6 // 10]
            return {"op": op, "answer": pick(rng, edges, last * 6 // 10, last * 11 // 10, 0.7)}  # drops favoured
        if op == "odd_round":
            stale = m.now - self.cfg.heartbeat - 1
            updated = rng.choice([stale, stale + 1, m.now + 1, m.now, 0])
            answer = pick(rng, [0, -1, m.guard.last_good_price], 1, 4_000 * 10**8)
            return {"op": op, "answer": answer, "updated_at": max(updated, 0)}
        if op == "warp":
            edges = [1, 12, self.cfg.heartbeat, self.cfg.heartbeat + 1, self.cfg.confirmation_window]
            edges += [self.cfg.window_seconds, self.cfg.grace_period + 1]
            return {"op": op, "seconds": pick(rng, edges, 1, 3_600)}
        if op == "liquidate":
            borrowers = [i for i in range(ACTORS) if m.scaled_debt.get(self.people[i], 0)]
            health = {i: m.health_factor(self.people[i]) for i in borrowers}
            underwater = [i for i in borrowers if health[i] < 10**18]
            # a borrower exactly at the close-factor boundary (health factor 0.95) first: there the whole debt may go
            at_boundary = [i for i in underwater if health[i] == FULL_CLOSE_HF]
            borrower = rng.choice(at_boundary or underwater or borrowers or [who])
            if rng.random() < 0.1:
                borrower = rng.randrange(ACTORS)
            debt = m.debt_of(self.people[borrower])
            edges = [0, 1, debt, debt // 2, debt // 2 + 1, MAX_UINT, max(debt - self.cfg.min_debt, 1)]
            if borrower in at_boundary:
                edges += [debt, debt, MAX_UINT]
            if who == borrower and rng.random() < 0.9:
                who = (who + 1) % ACTORS
            return {
                "op": op, "who": who, "borrower": borrower, "amount": pick(rng, edges, 1, max(debt, 1)),
                "min_out": pick(rng, [0, 0, 0, MAX_UINT], 0, 10**18, 0.9),
            }  # fmt: skip
        if op == "poke_price":
            return {"op": op}
        if (self.level and rng.random() < 0.95) or (not self.level and rng.random() < 0.85):
            return {
                "op": op,
                "raise": False,
                "level": rng.randrange(0, max(self.level, 1)),
                "by_owner": rng.random() < 0.9,
            }
        return {
            "op": op,
            "raise": True,
            "level": rng.randrange(1, 5),
            "by_owner": rng.random() < 0.9,
            "by_guardian": rng.random() < 0.2,
        }

    def _borrow_amount(self, rng: random.Random, account: str) -> int:
        """Up to the LTV room exactly and one more, the minimum debt and one less, or a debt at which a health
        factor of exactly 0.95 (the close-factor boundary) exists at some price: value * threshold == debt * 0.95
        needs debt * 9,500 to be a multiple of the threshold in bps."""
        m = self.model
        debt = m.debt_of(account)
        room = m.value(m.collateral.get(account, 0), m.guard.last_good_price) * self.cfg.ltv_bps // 10_000 - debt
        room = max(room, 1)
        edges = [0, 1, room, room, room + 1, self.cfg.min_debt, self.cfg.min_debt - 1, max(room // 2, 1)]
        step = self.cfg.threshold_bps // math.gcd(HF_FULL_CLOSE_BPS, self.cfg.threshold_bps)
        aligned = (debt + room) // step * step - debt
        if aligned > 0:
            edges += [aligned, aligned]
        return pick(rng, edges, 1, 10**10, 0.8)

    def _price_for_hf(self, rng: random.Random) -> int:
        """A price putting a random borrower's health factor at exactly 1 or 0.95 (rounded up), if it has debt;
        borrowers for whom that price exists exactly and is within the guard's deviation bound (so it is accepted
        at once, not left pending) first."""
        m = self.model
        hf_bps = rng.choice([10_000, HF_FULL_CLOSE_BPS])
        last, bound = m.guard.last_good_price, self.cfg.max_deviation_bps

        def target(who: str) -> int:
            debt, coll = m.debt_of(who), m.collateral.get(who, 0)
            # value * threshold == debt * hf: value = coll * price / scale
            return -(-(debt * hf_bps * m.price_scale) // (coll * self.cfg.threshold_bps)) if debt and coll else 0

        borrowers = [who for who in self.people if m.scaled_debt.get(who, 0) and m.collateral.get(who, 0)]
        # where an exact health factor exists (debt * hf a multiple of the threshold), prefer those borrowers
        exact = [who for who in borrowers if m.debt_of(who) * hf_bps % self.cfg.threshold_bps == 0]
        accepted = [who for who in exact if abs(target(who) - last) * 10_000 <= last * bound]
        if not borrowers:
            return last
        return target(rng.choice(accepted or exact or borrowers)) + rng.choice([0, 0, 1, -1])

    # -- execution -------------------------------------------------------------------------------------------

    def execute(self, step: Step) -> None:
        self.step_no += 1
        m, op = self.model, step["op"]
        if op == "warp":
            m.now += int(step["seconds"])
            m.block += 1
            self.chain.set_block(m.now, m.block)
            return
        sender, to, calldata, plan = getattr(self, f"_plan_{op}")(step)
        self.dirty.add(sender)
        for key in ("who", "to", "account", "borrower"):
            if key in step and int(step[key]) >= 0:
                self.dirty.add(self.people[int(step[key])])
        saved = (self.level, self.round, m.feed, dict(self.tokens), m._snapshot(), len(m.rejections))
        try:
            expected_return, events = plan()
            expected_revert = None
        except Expected as expected:
            self.level, self.round, m.feed, self.tokens = saved[0], saved[1], saved[2], saved[3]
            m._restore(saved[4])
            del m.rejections[saved[5] :]
            expected_return, events, expected_revert = None, [], expected.reason
        result = self.chain.call(sender, to, calldata)
        returned = None
        if result.ok and expected_return is not None:
            returned = self.labels[to][1].functions[FUNCTIONS.get(str(op), str(op))].result(result.output)
        where = f"step {self.step_no} {step}"
        compare_call(where, result, expected_revert, expected_return, returned, events, self.labels)
        self.coverage[outcome(op, result)] += 1

    def _priced(self, call: Any) -> tuple[Any, list[ExpectedEvent]]:
        """Run a model call that may read the price once; return its result and the price guard's event."""
        guard = self.model.guard
        accepted_at, rejected = guard.last_good_updated_at, len(self.model.rejections)
        last = guard.last_good_price
        result = call()
        events: list[ExpectedEvent] = []
        if len(self.model.rejections) > rejected:
            reason = self.model.rejections[-1]
            events.append(
                (LABEL_ENGINE, "PriceRejected", (self.model.feed.answer, self.model.feed.updated_at, reason, last))
            )
        elif guard.last_good_updated_at != accepted_at:
            events.append((LABEL_ENGINE, "PriceAccepted", (guard.last_good_price, guard.last_good_updated_at)))
        return result, events

    def _plan_supply(self, step: Step) -> tuple[str, str, bytes, Any]:
        who, amount = self.people[step["who"]], int(step["amount"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if self.level >= 3:
                raise Expected("circuit_breaker: halted")
            minted = _model(self.model.supply, who, amount)
            return (minted,), [
                *self._move(self.debt, who, self.engine, amount),
                (LABEL_ENGINE, "Supplied", (who, amount, minted)),
            ]

        return who, self.engine, self.engine_abi.calldata("supply", amount), plan

    def _plan_withdraw(self, step: Step) -> tuple[str, str, bytes, Any]:
        who, amount = self.people[step["who"]], int(step["amount"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            assets = _model(self.model.withdraw, who, amount)
            return (assets,), [
                *self._move(self.debt, self.engine, who, assets),
                (LABEL_ENGINE, "Withdrawn", (who, assets, amount)),
            ]

        return who, self.engine, self.engine_abi.calldata("withdraw", amount), plan

    def _plan_deposit(self, step: Step) -> tuple[str, str, bytes, Any]:
        who, amount = self.people[step["who"]], int(step["amount"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if self.level >= 3:
                raise Expected("circuit_breaker: halted")
            _model(self.model.deposit, who, amount)
            return (), [*self._move(self.coll, who, self.engine, amount), (LABEL_ENGINE, "Deposited", (who, amount))]

        return who, self.engine, self.engine_abi.calldata("deposit", amount), plan

    def _plan_withdraw_collateral(self, step: Step) -> tuple[str, str, bytes, Any]:
        who, amount = self.people[step["who"]], int(step["amount"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            _, price_events = self._priced(lambda: _model(self.model.withdraw_collateral, who, amount))
            moved = self._move(self.coll, self.engine, who, amount)
            return (), [*price_events, *moved, (LABEL_ENGINE, "CollateralWithdrawn", (who, amount))]

        return who, self.engine, self.engine_abi.calldata("withdraw_collateral", amount), plan

    def _plan_transfer_collateral(self, step: Step) -> tuple[str, str, bytes, Any]:
        who, amount = self.people[step["who"]], int(step["amount"])
        to = ZERO if int(step["to"]) < 0 else self.people[int(step["to"])]

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if self.level >= 3:
                raise Expected("circuit_breaker: halted")
            if amount == 0:
                raise Expected("margin_engine: zero amount")
            if to == ZERO:
                raise Expected("margin_engine: zero address")
            _, price_events = self._priced(lambda: _model(self.model.transfer_collateral, who, to, amount))
            return (), [*price_events, (LABEL_ENGINE, "CollateralTransferred", (who, to, amount))]

        return who, self.engine, self.engine_abi.calldata("transfer_collateral", to, amount), plan

    def _plan_borrow(self, step: Step) -> tuple[str, str, bytes, Any]:
        who, amount = self.people[step["who"]], int(step["amount"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if self.level >= 1:
                raise Expected("circuit_breaker: new risk paused")
            _, price_events = self._priced(lambda: _model(self.model.borrow, who, amount))
            moved = self._move(self.debt, self.engine, who, amount)
            return (), [*price_events, *moved, (LABEL_ENGINE, "Borrowed", (who, amount, self.model.debt_of(who)))]

        return who, self.engine, self.engine_abi.calldata("borrow", amount), plan

    def _plan_repay(self, step: Step) -> tuple[str, str, bytes, Any]:
        who, account, amount = self.people[step["who"]], self.people[step["account"]], int(step["amount"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            paid = _model(self.model.repay, account, amount)
            moved = self._move(self.debt, who, self.engine, paid)
            return (paid,), [*moved, (LABEL_ENGINE, "Repaid", (who, account, paid, self.model.debt_of(account)))]

        return who, self.engine, self.engine_abi.calldata("repay", account, amount), plan

    def _plan_liquidate(self, step: Step) -> tuple[str, str, bytes, Any]:
        who, borrower = self.people[step["who"]], self.people[step["borrower"]]
        amount, min_out = int(step["amount"]), int(step["min_out"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if self.level >= 2:
                raise Expected("circuit_breaker: liquidations paused")
            # LiquidationCapped reports the cut as the cap made it, before the seizure: if the collateral then runs
            # out, the repayment shrinks to what the collateral is worth but the event keeps the cut
            room, debt = self.model.liquidation_room(), self.model.debt_of(borrower)
            done, events = self._priced(lambda: _model(self.model.liquidate, who, borrower, amount, min_out))
            if done.capped:
                allowed = room if debt - room >= self.cfg.min_debt else debt - self.cfg.min_debt
                events.append((LABEL_ENGINE, "LiquidationCapped", (borrower, ANY, allowed)))
            events += self._move(self.debt, who, self.engine, done.repaid)
            events += self._move(self.coll, self.engine, who, done.out)
            if done.bad_debt:
                events.append((LABEL_ENGINE, "DeficitRecorded", (borrower, done.bad_debt, self.model.deficit)))
            events.append(
                (LABEL_ENGINE, "Liquidated", (borrower, who, done.repaid, done.seized, done.fee, done.bad_debt))
            )
            return (done.out,), events

        return who, self.engine, self.engine_abi.calldata("liquidate", borrower, amount, min_out), plan

    def _plan_poke_price(self, step: Step) -> tuple[str, str, bytes, Any]:
        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if self.level >= 2:
                raise Expected("circuit_breaker: price moves paused")
            price, events = self._priced(lambda: _model(self.model.poke_price))
            return (price,), events

        return self.keeper, self.engine, self.engine_abi.calldata("poke_price"), plan

    def _plan_price(self, step: Step) -> tuple[str, str, bytes, Any]:
        answer = int(step["answer"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            self.round += 1
            self.model.feed = Feed(answer, self.model.now)
            return (), [(LABEL_FEED, "AnswerUpdated", (answer, self.round, self.model.now))]

        return self.owner, self.feed, self.feed_abi.calldata("set_answer", answer), plan

    def _plan_odd_round(self, step: Step) -> tuple[str, str, bytes, Any]:
        answer, updated = int(step["answer"]), int(step["updated_at"])
        rid = self.round + 1

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            self.round = rid
            self.model.feed = Feed(answer, updated)
            return (), [(LABEL_FEED, "AnswerUpdated", (answer, rid, updated))]

        return self.owner, self.feed, self.feed_abi.calldata("set_round", rid, answer, updated), plan

    def _plan_breaker(self, step: Step) -> tuple[str, str, bytes, Any]:
        level, raising = int(step["level"]), bool(step["raise"])
        caller = self.governance.breaker_caller({**step, "by_admin": step["by_owner"]}, self.owner, self.keeper)
        reason = b"fuzz".ljust(32, b"\0")

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            self.governance.check_breaker(caller, raising)
            if raising:
                if level > 3:
                    raise Expected("circuit_breaker: invalid level")
                if level <= self.level:
                    raise Expected("circuit_breaker: level not higher")
            elif level >= self.level:
                raise Expected("circuit_breaker: level not lower")
            old, self.level = self.level, level
            self.model.level = level  # the model stores no price at level >= 2 (health-checked exits)
            return (), [(LABEL_ENGINE, "CircuitBreakerLevelChanged", (old, level, caller, reason))]

        name = "raise_level" if raising else "lower_level"
        return caller, self.engine, self.engine_abi.calldata(name, level, reason), plan

    def _plan_collect_fees(self, step: Step) -> tuple[str, str, bytes, Any]:
        caller, receiver = self.governance.who(int(step["caller"])), self.governance.who(int(step["to"]))
        if int(step["to"]) >= 0:
            receiver = self.people[int(step["to"])]

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if caller != self.governance.owner:
                raise Expected("ownable: caller is not the owner")
            if receiver == ZERO:
                raise Expected("margin_engine: zero address")
            amount, self.model.protocol_fees = self.model.protocol_fees, 0
            moved = self._move(self.coll, self.engine, receiver, amount)
            return (amount,), [*moved, (LABEL_ENGINE, "FeesCollected", (receiver, amount))]

        return caller, self.engine, self.engine_abi.calldata("collect_fees", receiver), plan

    def _plan_transfer_ownership(self, step: Step) -> tuple[str, str, bytes, Any]:
        return self.governance.plan(step)

    _plan_accept_ownership = _plan_set_guardian = _plan_transfer_ownership

    # -- invariants ------------------------------------------------------------------------------------------

    def _view(self, to: str, abi: Abi, name: str, *args: Any) -> Any:
        values = abi.functions[name].result(self.chain.view(to, abi.view_calldata(name, *args)))
        return values[0] if len(values) == 1 else values

    def check_invariants(self, full: bool = False) -> None:
        m, e = self.model, self.engine
        fast = not full and self.slots is not None and self.token_balance_slot >= 0
        chain_state = self._state_by_storage() if fast else self._state_by_views()
        model_state = {
            "cash": m.cash, "total_shares": m.total_shares, "total_scaled_debt": m.total_scaled_debt,
            "deficit": m.deficit, "protocol_fees": m.protocol_fees, "level": self.level,
            "last_good_price": m.guard.last_good_price, "last_good_updated_at": m.guard.last_good_updated_at,
            "pending_since": m.guard.pending_since, "debt_balance": self.tokens.get((self.debt, e), 0),
            "coll_balance": self.tokens.get((self.coll, e), 0),
        }  # fmt: skip
        if chain_state != model_state:
            diff = {k: (model_state[k], chain_state[k]) for k in chain_state if chain_state[k] != model_state[k]}
            raise Mismatch(f"step {self.step_no}: state (model, contract): {diff}")
        # invariants of the model's state (docs/liquidation.md): tokens back the books, sums match, no debt
        # without collateral
        problems = []
        if model_state["debt_balance"] != m.cash:
            problems.append("debt token balance != cash")
        if model_state["coll_balance"] != sum(m.collateral.values()) + m.protocol_fees:
            problems.append("collateral token balance != collateral + fees")
        if m.total_scaled_debt != sum(m.scaled_debt.values()) or m.total_shares != sum(m.shares.values()):
            problems.append("totals != sums of accounts")
        if any(s and not m.collateral.get(acc, 0) for acc, s in m.scaled_debt.items()):
            problems.append("debt left on an account without collateral")
        block_used, window_used = m.cap_usage()
        if block_used > self.cfg.cap_per_block or window_used > self.cfg.cap_per_window:
            problems.append("liquidation caps exceeded")
        if problems:
            raise Mismatch(f"step {self.step_no}: invariant broken: {', '.join(problems)}")
        accounts = [*self.people] if full else sorted(self.dirty - {ZERO})
        self._check_views([who for who in accounts if who in self.people])
        self.dirty.clear()
        for who in accounts:
            got = self._account_by_storage(who) if fast else self._account_by_views(who)
            want = (
                m.collateral.get(who, 0),
                m.scaled_debt.get(who, 0),
                m.shares.get(who, 0),
                self.tokens.get((self.debt, who), 0),
                self.tokens.get((self.coll, who), 0),
            )
            if got != want:
                fields = "(collateral, scaled debt, shares, debt tokens, collateral tokens)"
                raise Mismatch(f"step {self.step_no}: account {who} {fields}: model {want}, contract {got}")

    def _check_views(self, people: list[str]) -> None:
        """The engine's views against the model (docs/fuzzing.md, "Views"): health factors of the accounts the
        step touched, debts, totals, the index, the liquidation room and cap usage, owner and guardian."""
        m = self.model
        views: dict[tuple[str, tuple[Any, ...]], Any] = {
            ("liquidation_room", ()): m.liquidation_room(),
            ("total_debt", ()): m.total_debt(),
            ("total_assets", ()): m.total_assets(),
            ("current_index", ()): m.index_now(),
            ("block_usage", ()): m.block_usage,
            ("window_used", ()): m.window_used,
            **self.governance.expected_views(),
        }
        for who in people:
            views[("health_factor", (who,))] = m.health_factor(who)
            views[("debt_of", (who,))] = m.debt_of(who)
        compare_views(f"step {self.step_no}", self._view_args, self.engine, self.engine_abi, views)

    def _view_args(self, to: str, name: str, abi: Abi, args: tuple[Any, ...]) -> Any:
        return self._view(to, abi, name, *args)

    def _state_by_views(self) -> dict[str, Any]:
        e, a = self.engine, self.engine_abi
        state = {name: self._view(e, a, name) for name in STATE_NAMES}
        state["debt_balance"] = self._view(self.debt, self.token_abi, "balanceOf", e)
        state["coll_balance"] = self._view(self.coll, self.token_abi, "balanceOf", e)
        return state

    def _state_by_storage(self) -> dict[str, Any]:
        read, e, slots = self.chain.evm.storage, self.engine, self.slots
        assert slots is not None
        state = {name: read(e, slots[name]) for name in STATE_NAMES}
        state["debt_balance"] = read(self.debt, mapping_slot(self.token_balance_slot, e))
        state["coll_balance"] = read(self.coll, mapping_slot(self.token_balance_slot, e))
        return state

    def _account_by_views(self, who: str) -> tuple[int, ...]:
        e, a = self.engine, self.engine_abi
        return (
            self._view(e, a, "collateral", who),
            self._view(e, a, "scaled_debt", who),
            self._view(e, a, "shares", who),
            self._view(self.debt, self.token_abi, "balanceOf", who),
            self._view(self.coll, self.token_abi, "balanceOf", who),
        )

    def _account_by_storage(self, who: str) -> tuple[int, ...]:
        read, e, slots = self.chain.evm.storage, self.engine, self.slots
        assert slots is not None
        position = read(e, mapping_slot(slots["_position"], who))
        return (
            position & MASK_128,
            position >> 128,
            read(e, mapping_slot(slots["shares"], who)),
            read(self.debt, mapping_slot(self.token_balance_slot, who)),
            read(self.coll, mapping_slot(self.token_balance_slot, who)),
        )
