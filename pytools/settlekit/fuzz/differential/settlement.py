"""The settlement product: one SettlementSeries on a MockERC20 collateral and a MockAggregator feed, against
:class:`settlekit.model.settlement.SettlementModel` plus the parts the model leaves to its callers (the circuit
breaker, the oracle round rules, EIP-712 signatures, sequential and unordered nonces, token balances).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import encode

from settlekit.build import ArtifactStore
from settlekit.build.blueprint import blueprint_deployer
from settlekit.model.settlement import (
    MIN_CLAIM_PERIOD,
    SOURCE_FALLBACK,
    SeriesTerms,
    SeriesTimes,
    SettlementModel,
    SettlementRevert,
    holder_payout,
    writer_reclaim,
)

from .abi import Abi, abi_of
from .admin import GOVERNANCE_WEIGHTS, Governance, compare_views
from .evm import Chain
from .layout import mapping_slot
from .registry import WorldContext
from .signer import domain_separator, sign
from .world import (
    ANY,
    ANY_EVENTS,
    MAX_UINT,
    ZERO,
    Expected,
    ExpectedEvent,
    Mismatch,
    Step,
    address,
    compare_call,
    outcome,
    pick,
)

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
CLAIM_TYPE = "Claim(address holder,address recipient,uint256 nonce,uint256 deadline)"
REPORT_TYPE = "SettlementReport(uint256 price,uint256 expiry,uint256 nonce,uint256 deadline)"
ADMIN, REPORTER, TREASURY, KEEPER = 100, 101, 102, 103  # actor indexes
PEOPLE = 6  # actors 0..5 hold units; 0..2 are also funded writers
WRITERS = 3
WRITER_FUNDS = 2**200
START = 1_700_000_000
EXPIRY_IN = 1_000
WINDOW = 600
SWEEP_AFTER = WINDOW + MIN_CLAIM_PERIOD + 5_000  # the sweep deadline must leave MIN_CLAIM_PERIOD after the window
MAX_ROUND_SCAN = 16
# (decimals, strike, cap, max payout per unit): a 6- and an 18-decimal collateral, odd payouts so rounding bites
TERMS = [
    (6, 2_000 * 10**8, 500 * 10**8, 500 * 10**6 + 1),
    (18, 2_000 * 10**8, 500 * 10**8, 10**18 + 7),
    (6, 1_000, 3, 7),
    (18, 10**8, 10**8 - 1, 3 * 10**17 + 1),
]
LABEL_SERIES, LABEL_TOKEN, LABEL_ORACLE = "series", "token", "oracle"
# action weights: the money paths most, the rare administrative changes least
_WEIGHTS = [
    ("mint", 20), ("transfer", 8), ("warp", 7), ("set_round", 6), ("settle", 6), ("settle_report", 3), ("claim", 8),
    ("claim_for", 5), ("claim_sig", 5), ("cancel_nonces", 2), ("reclaim", 6), ("sweep", 3), ("breaker", 2),
]  # fmt: skip
# beyond the money paths: sequential-nonce invalidation, the factory after creation (clone variants: new series
# on odd collaterals), and the owner / guardian actions of admin.py
_WEIGHTS += [("invalidate_nonces", 2), ("create_series", 2), *GOVERNANCE_WEIGHTS]
MAX_NONCE_JUMP = 65_535
# what a variant's collateral and chain are (variant // 8 % 4): a plain ERC-20; a token whose transfers return
# nothing (USDT style); a plain token with the series deployed before a chain-id change (a fork), so that its
# cached EIP-712 domain separator is stale and must be rebuilt; a blacklisting token (USDC style) whose issuer
# blocks and unblocks holders, writers and the treasury at any time (the "block" action)
MODES = ("plain", "no_return", "forked", "blacklist")
FORKED_FROM_CHAIN = 5
# create_series on the factory with each odd collateral: the error a correct factory gives, None if accepted
ODD_TOKENS: dict[str, str | None] = {
    "plain": None,
    "no_return": None,
    "fee": "safe_token: received amount mismatch",
    "false": "safe_token: transfer_from returned false",
}
_WEIGHTS += [("block", 3)]  # the token issuer blocks or unblocks an account (blacklist variants; redrawn elsewhere)
_WEIGHTS += [("settle_fallback", 3)]  # the void settlement of a series nobody settled (FALLBACK_DELAY after the window)
SERIES_ITSELF = -2  # a receiver index meaning the series' own address (the contract refuses it)
OPS = [op for op, _ in _WEIGHTS]
OP_WEIGHTS = list(itertools.accumulate(w for _, w in _WEIGHTS))


@dataclass
class Round:
    answer: int
    updated_at: int


@dataclass
class SettlementSpec:
    """The model plus what the contract checks around it; token balances as the token should hold them."""

    model: SettlementModel
    expiry: int
    sweep_deadline: int
    now: int = START
    level: int = 0
    reporter_nonce: int = 0
    used_nonces: dict[str, set[int]] = field(default_factory=dict)
    cancelled_words: dict[tuple[str, int], int] = field(default_factory=dict)
    rounds: dict[int, Round] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    sequential: dict[str, int] = field(default_factory=dict)  # nonces() of accounts other than the reporter
    series_count: int = 0  # the factory's registry (clone variants)
    blocked: set[str] = field(default_factory=set)  # accounts the blacklisting token refuses (blacklist variants)

    def __post_init__(self) -> None:  # the model applies the timing rules itself: give it the times and the clock
        self.model.times = SeriesTimes(self.expiry, WINDOW, self.sweep_deadline)
        self.model.warp(self.now)

    def nonce_used(self, account: str, nonce: int) -> bool:
        word = self.cancelled_words.get((account, nonce >> 8), 0)
        return nonce in self.used_nonces.get(account, set()) or bool(word >> (nonce & 255) & 1)

    def move(self, sender: str, receiver: str, amount: int) -> None:
        """A token transfer as the token makes it: a blacklisting token refuses a blocked sender or receiver (the
        series passes the token's reason on); no transfer is made for 0."""
        if amount and (sender in self.blocked or receiver in self.blocked):
            raise Expected("blacklist_token: blocked")
        self.tokens[sender] = self.tokens.get(sender, 0) - amount
        self.tokens[receiver] = self.tokens.get(receiver, 0) + amount

    def usable(self, round_id: int) -> bool:
        r = self.rounds[round_id]
        return r.answer > 0 and self.fresh(r.updated_at)

    def fresh(self, updated_at: int) -> bool:
        return updated_at <= self.now and updated_at - self.expiry <= WINDOW  # round ids answer in themselves

    def check_settleable(self) -> None:
        if self.level >= 2 and self.model.breaker_holds:  # the breaker holds settlement MAX_SETTLEMENT_DELAY at most
            raise Expected("circuit_breaker: price moves paused")
        _model(self.model._check_settleable)

    def check_first_usable(self, round_id: int) -> None:
        current = round_id
        for _ in range(MAX_ROUND_SCAN):
            if current <= 1:
                return
            current -= 1
            r = self.rounds.get(current)
            if r is None:  # a gap in the round ids is walked over, never taken as the start of the feed
                continue
            if r.updated_at < self.expiry:
                return
            if self.usable(current):
                raise Expected("settlement_series: not the first usable round")
        raise Expected("settlement_series: round scan too long")


def _token_artifact(mode: str) -> str:
    """The collateral's artifact in ``mode`` (NoReturnToken shares MockERC20's storage layout and events)."""
    return "BlacklistToken" if mode == "blacklist" else "MockERC20"


def _model(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except SettlementRevert as revert:
        raise Expected(revert.reason) from None


class SettlementWorld:
    """A fresh series per sequence; ``execute`` runs one step on both sides and compares."""

    product = "settlement"

    variants = 32  # TERMS x (constructor, clone) x MODES

    def __init__(self, context: WorldContext, variant: int) -> None:
        store = context.store
        self.chain = Chain(timestamp=START)
        # variants 0-3 deploy a SettlementSeries (constructor), 4-7 a clone the factory creates (EIP-1167 proxy of
        # SettlementSeriesClone with the terms in its code, initialised in the same transaction)
        self.clone = (variant // len(TERMS)) % 2 == 1
        self.mode = MODES[(variant // (2 * len(TERMS))) % len(MODES)]
        self.store = store
        series_name = "SettlementSeriesClone" if self.clone else "SettlementSeries"
        self.slots, self.token_slots = context.layout(series_name), context.layout(_token_artifact(self.mode))
        self.series_abi = abi_of(store, series_name)
        self.token_abi = abi_of(store, _token_artifact(self.mode))
        self.oracle_abi = abi_of(store, "MockAggregator")
        decimals, strike, cap, m = TERMS[variant % len(TERMS)]
        self.terms = SeriesTerms(strike, cap, m)
        self.people = [address(i) for i in range(PEOPLE)]
        self.admin, self.reporter, self.treasury, self.keeper = (
            address(i) for i in (ADMIN, REPORTER, TREASURY, KEEPER)
        )
        for who in [*self.people, self.admin, self.reporter, self.treasury, self.keeper]:
            self.chain.fund(who)
        if self.mode == "no_return":  # same storage layout and events as MockERC20, transfers return nothing
            token_init = store.get("NoReturnToken").bytecode
        else:
            token_init = store.get(_token_artifact(self.mode)).bytecode + encode(
                ["string", "string", "uint8"], ["Fuzz", "FZ", decimals]
            )
        self.token = self.chain.deploy(self.admin, token_init)
        oracle_init = store.get("MockAggregator").bytecode + encode(["uint8", "string"], [8, "FUZZ / USD"])
        self.oracle = self.chain.deploy(self.admin, oracle_init)
        expiry = START + EXPIRY_IN
        args = [self.token, self.oracle, strike, cap, m, expiry, WINDOW, expiry + SWEEP_AFTER, self.treasury]
        args += [self.reporter, self.admin, self.admin]
        kinds = ["address", "address", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256", "address"]
        kinds += ["address", "address", "address"]
        if self.clone:
            self.series = self._create_clone(store, args)
        else:
            series_init = store.get("SettlementSeries").bytecode + encode(kinds, args)
            self.series = self.chain.deploy(self.admin, series_init)
            if self.mode == "forked":
                self._fork(token_init, oracle_init, series_init)
        self.spec = SettlementSpec(SettlementModel(self.terms), expiry, expiry + SWEEP_AFTER)
        if self.clone:
            self.spec.tokens[self.admin] = WRITER_FUNDS  # minted for the factory's probe, which sends it back
            self.spec.series_count = 1
        for writer in self.people[:WRITERS]:
            self._setup(writer, self.token, self.token_abi.calldata("mint", writer, WRITER_FUNDS))
            self._setup(writer, self.token, self.token_abi.calldata("approve", self.series, MAX_UINT))
            self.spec.tokens[writer] = WRITER_FUNDS
        self.spec.model.series = self.series  # the receiver the contract refuses
        self.labels = {
            self.series: (LABEL_SERIES, self.series_abi),
            self.token: (LABEL_TOKEN, self.token_abi),
            self.oracle: (LABEL_ORACLE, self.oracle_abi),
        }
        if self.clone:
            self.labels[self.factory] = ("factory", self.factory_abi)
        # coverage: outcomes per action, rounded payouts, skipped holders (the campaign adds them up)
        self.step_no, self.coverage = 0, Counter[str]()
        self.dirty: set[str] = set()
        self.governance = Governance(
            LABEL_SERIES, self.series_abi, self.series, [self.admin, *self.people, self.keeper], self.admin, self.admin
        )
        self.touched_nonces: set[tuple[str, int]] = set()  # (account, nonce) pairs whose is_nonce_used is compared
        self.separator = domain_separator("settlekit settlement", "1", self.chain.chain_id, self.series)

    def _fork(self, token_init: bytes, oracle_init: bytes, series_init: bytes) -> None:
        """Give the series the code it would have had if deployed on another chain (same address, same
        constructor): its immutables cache that chain's id and domain separator, as after a fork."""
        other = Chain(timestamp=START, chain_id=FORKED_FROM_CHAIN)
        other.fund(self.admin)
        other.deploy(self.admin, token_init)
        other.deploy(self.admin, oracle_init)
        if other.deploy(self.admin, series_init) != self.series:
            raise Mismatch("setup: the forked deployment landed at another address")
        self.chain.replace_code(self.series, other.evm.get_code(self.series))

    def _create_clone(self, store: ArtifactStore, args: list[Any]) -> str:
        """Blueprint, clone implementation and factory, then ``create_series`` by the admin (owner of the clone)."""
        blueprint = self.chain.deploy(self.admin, blueprint_deployer(store.get("SettlementSeries").bytecode))
        implementation = self.chain.deploy(self.admin, store.get("SettlementSeriesClone").bytecode)
        factory_init = store.get("SeriesFactory").bytecode + encode(["address", "address"], [blueprint, implementation])
        factory = self.chain.deploy(self.admin, factory_init)
        factory_abi = abi_of(store, "SeriesFactory")
        self.factory, self.factory_abi, self.series_args = factory, factory_abi, args
        self.odd_tokens = self._odd_tokens(store, factory)
        # the factory probes the collateral for a transfer fee with the caller's tokens (and sends them back)
        self._setup(self.admin, self.token, self.token_abi.calldata("mint", self.admin, WRITER_FUNDS))
        self._setup(self.admin, self.token, self.token_abi.calldata("approve", factory, MAX_UINT))
        created = self.chain.call(self.admin, factory, factory_abi.calldata("create_series", *args[:-1]))
        if not created.ok:
            raise Mismatch(f"setup: create_series failed: {created.reason}")
        return "0x" + created.output[12:32].hex()

    def _odd_tokens(self, store: ArtifactStore, factory: str) -> dict[str, str]:
        """One collateral of each odd kind, funded and approved for the factory's probe by the admin."""
        plain = store.get("MockERC20").bytecode + encode(["string", "string", "uint8"], ["Odd", "ODD", 18])
        inits = {
            "plain": plain,
            "no_return": store.get("NoReturnToken").bytecode,
            "fee": store.get("FeeOnTransferToken").bytecode + encode(["uint256"], [100]),
            "false": store.get("FalseReturnToken").bytecode,
        }
        tokens: dict[str, str] = {}
        for kind, init in inits.items():
            token = self.chain.deploy(self.admin, init)
            self._setup(self.admin, token, self.token_abi.calldata("mint", self.admin, WRITER_FUNDS))
            self.chain.call(self.admin, token, self.token_abi.calldata("approve", factory, MAX_UINT))
            tokens[kind] = token
        false_abi = abi_of(store, "FalseReturnToken")
        self._setup(self.admin, tokens["false"], false_abi.calldata("set_always_false", True))
        return tokens

    def _setup(self, sender: str, to: str, calldata: bytes) -> None:
        if not self.chain.call(sender, to, calldata).ok:
            raise Mismatch(f"setup call failed on {to}")

    # -- generation ------------------------------------------------------------------------------------------

    def _person(self, rng: random.Random, zero_chance: float = 0.0) -> int:
        if zero_chance and rng.random() < zero_chance:
            return rng.choice([-1, SERIES_ITSELF])
        return rng.randrange(PEOPLE)

    def generate(self, rng: random.Random) -> Step:
        spec, model = self.spec, self.spec.model
        op = rng.choices(OPS, cum_weights=OP_WEIGHTS)[0]
        while op == "block" and self.mode != "blacklist":  # only a blacklisting token has an issuer that blocks
            op = rng.choices(OPS, cum_weights=OP_WEIGHTS)[0]
        if op == "block":  # the holders, writers and the treasury; blocking more often than lifting
            return {"op": op, "account": rng.randrange(PEOPLE + 1), "blocked": rng.random() < 0.7}
        if op in _EXTRA_GENERATORS:
            return _EXTRA_GENERATORS[op](self, rng, op)
        if op == "mint":
            units = pick(
                rng, [0, 1, 2, 3, 7, 10**18 + 7, MAX_UINT, MAX_UINT // self.terms.max_payout_per_unit + 1], 1, 10**6
            )
            return {"op": op, "writer": rng.randrange(WRITERS), "receiver": self._person(rng, 0.03), "units": units}
        if op == "transfer":
            sender = self._person(rng)
            balance = model.balances.get(self.people[sender], 0)
            units = pick(rng, [0, balance, balance + 1, 1], 0, max(balance, 1))
            return {"op": op, "sender": sender, "receiver": self._person(rng, 0.03), "units": units}
        if op == "warp":
            targets = [spec.expiry - 1, spec.expiry, spec.expiry + 1, spec.expiry + WINDOW, spec.expiry + WINDOW + 1]
            targets += [spec.sweep_deadline - 1, spec.sweep_deadline]
            times = model.times or SeriesTimes(spec.expiry, WINDOW, spec.sweep_deadline)
            for edge in (times.guard_lapses_at, times.fallback_opens_at, model.late_sweep_at or spec.sweep_deadline):
                targets += [edge - 1, edge]  # the breaker bound, the fallback and the claim period after settlement
            later = [t - spec.now for t in targets if t > spec.now]
            return {"op": op, "seconds": pick(rng, [*later, 1, 60], 1, 900)}
        if op == "set_round":
            strike, cap = self.terms.strike, self.terms.cap
            answer = pick(
                rng, [0, -1, strike, strike - 1, strike + 1, strike + cap, strike + cap + 1, 1], 1, 2 * (strike + cap)
            )
            updated = pick(
                rng,
                [spec.now, spec.now - 1, spec.now + 1, spec.expiry, spec.expiry - 1, spec.expiry + WINDOW],
                spec.expiry - 10,
                spec.expiry + 2 * WINDOW,
            )
            return {
                "op": op,
                "round": pick(rng, [0, 1, 2, 3, 20], 1, 8, 0.2),
                "answer": answer,
                "updated_at": max(updated, 0),
            }
        if op == "settle":
            usable = sorted(r for r in spec.rounds if spec.usable(r))
            if len(usable) > 1 and rng.random() < 0.5:  # a later usable round while an earlier one exists
                return {"op": op, "round": rng.choice(usable[1:])}
            return {"op": op, "round": pick(rng, [*spec.rounds, 0, 99], 1, 8, 0.8)}
        if op == "settle_report":
            strike = self.terms.strike
            return {
                "op": op, "price": pick(rng, [0, strike, strike + 1, strike + self.terms.cap], 1, 10**12),
                "nonce": max(spec.reporter_nonce + rng.choice([0, 0, 0, 1, -1]), 0),
                "deadline": spec.now + rng.choice([0, 3_600, -1, 1]),
                "signer": rng.choice(["reporter"] * 6 + ["other", "wrong_chain", "high_s"]),
            }  # fmt: skip
        if op == "claim":
            return {"op": op, "holder": self._person(rng)}
        if op == "claim_for":
            return {"op": op, "holders": [self._person(rng) for _ in range(rng.randrange(0, 6))]}
        if op == "claim_sig":
            holder = self._person(rng)
            return {
                "op": op, "holder": holder, "recipient": self._person(rng, 0.05),
                "nonce": pick(rng, [0, 1, 2, 255, 256, MAX_UINT, *self._cancelled_nonces(holder)], 0, 600),
                "deadline": spec.now + rng.choice([0, 3_600, -1]),
                "signer": rng.choice(["holder"] * 6 + ["other", "wrong_chain", "high_s"]),
            }  # fmt: skip
        if op == "cancel_nonces":
            return {
                "op": op,
                "holder": self._person(rng),
                "word": pick(rng, [0, 0, 1, 2, 255, 256, 2**248 - 1], 0, 2**248 - 1, 0.8),
                "mask": pick(rng, [0, 1, 2, 7, 1 << 255, MAX_UINT], 1, 2**256 - 1),
            }
        if op == "reclaim":
            return {"op": op, "writer": self._person(rng)}
        if op in ("sweep", "settle_fallback"):
            return {"op": op}
        if (spec.level and rng.random() < 0.8) or (not spec.level and rng.random() < 0.3):
            return {
                "op": op,
                "raise": False,
                "level": rng.randrange(0, max(spec.level, 1)),
                "by_admin": rng.random() < 0.9,
            }
        return {
            "op": op,
            "raise": True,
            "level": rng.randrange(1, 5),
            "by_admin": rng.random() < 0.9,
            "by_guardian": rng.random() < 0.2,
        }

    def _cancelled_nonces(self, holder: int) -> list[int]:
        """Nonces in the words the holder invalidated (a bit set, the bit beside it), so relayed claims meet them."""
        account = self.people[holder]
        found: list[int] = []
        for (who, word), mask in self.spec.cancelled_words.items():
            if who == account:
                bit = (mask & -mask).bit_length() - 1
                found += [word << 8 | bit, word << 8 | (bit + 1) % 256]
        return found[:6]

    def _gen_invalidate_nonces(self, rng: random.Random, op: str) -> Step:
        """The reporter (whose nonces settle_with_report uses) or a holder moves its sequential nonce up."""
        who = -1 if rng.random() < 0.6 else self._person(rng)
        current = self._sequential(self._nonce_owner(who))
        jump = pick(rng, [0, 1, 2, MAX_NONCE_JUMP, MAX_NONCE_JUMP + 1], 1, 2 * MAX_NONCE_JUMP)
        return {"op": op, "who": who, "new_nonce": current + jump}

    def _gen_create_series(self, rng: random.Random, op: str) -> Step:
        if not self.clone:  # no factory in this world
            return {"op": "sweep"}
        return {"op": op, "token": rng.choice(list(ODD_TOKENS))}

    def _gen_governance(self, rng: random.Random, op: str) -> Step:
        return self.governance.generate(rng, op)

    # -- execution -------------------------------------------------------------------------------------------

    def _who(self, index: int) -> str:
        if index == SERIES_ITSELF:
            return self.series
        return ZERO if index < 0 else self.people[index]

    def execute(self, step: Step) -> None:
        self.step_no += 1
        op = step["op"]
        if op == "warp":
            self.spec.now += int(step["seconds"])
            self.chain.set_block(self.spec.now, self.chain.number + 1)
            self.spec.model.warp(self.spec.now)
            return
        sender, to, calldata, plan = getattr(self, f"_plan_{op}")(step)
        self.dirty.add(sender)
        for key in ("writer", "receiver", "sender", "holder", "recipient"):
            if key in step:
                self.dirty.add(self._who(int(step[key])))
        self.dirty.update(self.people[i] for i in step.get("holders", ()))
        if op == "claim_sig":
            self.touched_nonces.add((self.people[int(step["holder"])], int(step["nonce"])))
        elif op == "cancel_nonces":
            holder, word, mask = self.people[int(step["holder"])], int(step["word"]), int(step["mask"])
            low, high = (mask & -mask).bit_length() - 1, mask.bit_length() - 1
            self.touched_nonces.update((holder, word << 8 | bit) for bit in {max(low, 0), max(high, 0)})
        if op == "sweep":
            self.dirty.add(self.treasury)
        snapshot = self._save()
        try:
            expected_return, events = plan()
            expected_revert = None
        except Expected as expected:
            self._restore(snapshot)
            expected_return, events, expected_revert = None, [], expected.reason
        result = self.chain.call(sender, to, calldata)
        returned = None
        if result.ok and expected_return is not None:
            returned = self._abi_for(to).functions[self._function(op)].result(result.output)
        compare_call(
            f"step {self.step_no} {step}", result, expected_revert, expected_return, returned, events, self.labels
        )
        self.coverage[outcome(op, result)] += 1

    def _abi_for(self, to: str) -> Abi:
        return self.labels[to][1]

    @staticmethod
    def _function(op: str) -> str:
        return {
            "mint": "mint", "transfer": "transfer", "set_round": "set_round", "settle": "settle",
            "settle_report": "settle_with_report", "claim": "claim", "claim_for": "claim_for",
            "claim_sig": "claim_by_sig",
            "cancel_nonces": "invalidate_unordered_nonces", "reclaim": "reclaim", "sweep": "sweep",
            "invalidate_nonces": "invalidate_nonces", "create_series": "create_series",
            "transfer_ownership": "transfer_ownership", "accept_ownership": "accept_ownership",
            "set_guardian": "set_guardian",
            "settle_fallback": "settle_fallback", "block": "set_blocked",
        }.get(op, "raise_level")  # fmt: skip

    def _save(self) -> tuple[Any, ...]:
        spec, model = self.spec, self.spec.model
        return (
            dict(model.balances), dict(model.written), model.total_supply, model.open_units, model.open_written,
            model.deposited, model.paid, model.reclaimed, model.swept_amount, model.price, model.swept,
            model.expired, model.payouts, len(model.ledger), spec.level, spec.reporter_nonce,
            {k: set(v) for k, v in spec.used_nonces.items()}, dict(spec.cancelled_words),
            dict(spec.rounds), dict(spec.tokens), (model.settled, model.settled_at, model.source, model.swept_late),
        )  # fmt: skip

    def _restore(self, s: tuple[Any, ...]) -> None:
        spec, model = self.spec, self.spec.model
        (model.balances, model.written, model.total_supply, model.open_units, model.open_written, model.deposited,
         model.paid, model.reclaimed, model.swept_amount, model.price, model.swept, model.expired, model.payouts,
         ledger_len, spec.level, spec.reporter_nonce, spec.used_nonces, spec.cancelled_words, spec.rounds,
         spec.tokens, (model.settled, model.settled_at, model.source, model.swept_late)) = s  # fmt: skip
        del model.ledger[ledger_len:]

    # Each _plan_<op> returns (sender, contract, calldata, plan); plan() updates the spec and returns the expected
    # return value and events, or raises Expected(reason).

    def _plan_mint(self, step: Step) -> tuple[str, str, bytes, Any]:
        writer, receiver, units = self.people[step["writer"]], self._who(step["receiver"]), int(step["units"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if self.spec.level >= 1:
                raise Expected("circuit_breaker: new risk paused")
            amount = _model(self.spec.model.mint, writer, "" if receiver == ZERO else receiver, units)
            self.spec.move(writer, self.series, amount)
            return (amount,), [
                (LABEL_TOKEN, "Transfer", (writer, self.series, amount)),
                (LABEL_SERIES, "Minted", (writer, receiver, units, amount)),
                (LABEL_SERIES, "Transfer", (ZERO, receiver, units)),
            ]

        return writer, self.series, self.series_abi.calldata("mint", units, receiver), plan

    def _plan_transfer(self, step: Step) -> tuple[str, str, bytes, Any]:
        sender, receiver, units = self.people[step["sender"]], self._who(step["receiver"]), int(step["units"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if self.spec.level >= 3:
                raise Expected("circuit_breaker: halted")
            _model(self.spec.model.transfer, sender, "" if receiver == ZERO else receiver, units)
            return (True,), [(LABEL_SERIES, "Transfer", (sender, receiver, units))]

        return sender, self.series, self.series_abi.calldata("transfer", receiver, units), plan

    def _plan_set_round(self, step: Step) -> tuple[str, str, bytes, Any]:
        rid, answer, updated = int(step["round"]), int(step["answer"]), int(step["updated_at"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if rid == 0:
                raise Expected("mock_aggregator: round id zero")
            self.spec.rounds[rid] = Round(answer, updated)
            return (), [(LABEL_ORACLE, "AnswerUpdated", (answer, rid, updated))]

        return self.keeper, self.oracle, self.oracle_abi.calldata("set_round", rid, answer, updated), plan

    def _settled(self, price: int, source: int, reference: int) -> ExpectedEvent:
        numerator = _model(self.spec.model.settle, price, source)
        return (LABEL_SERIES, "Settled", (price, numerator, self.terms.cap, source, reference))

    def _plan_settle_fallback(self, step: Step) -> tuple[str, str, bytes, Any]:
        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            price = _model(self.spec.model.settle_fallback)  # no breaker, no oracle, no signature
            return (price,), [(LABEL_SERIES, "Settled", (price, 0, self.terms.cap, SOURCE_FALLBACK, 0))]

        return self.keeper, self.series, self.series_abi.calldata("settle_fallback"), plan

    def _plan_settle(self, step: Step) -> tuple[str, str, bytes, Any]:
        rid = int(step["round"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            spec = self.spec
            spec.check_settleable()
            r = spec.rounds.get(rid)
            if r is None:
                raise Expected("mock_aggregator: no such round")
            if r.updated_at < spec.expiry:
                raise Expected("settlement_series: round before expiry")
            if r.answer <= 0:
                raise Expected("settlement_series: non-positive price")
            if not spec.fresh(r.updated_at):
                raise Expected("settlement_series: stale round")
            spec.check_first_usable(rid)
            return (r.answer,), [self._settled(r.answer, 1, rid)]

        return self.keeper, self.series, self.series_abi.calldata("settle", rid), plan

    def _sign(
        self, kind: str, signer_index: int, type_string: str, values: tuple[int | str, ...]
    ) -> tuple[int, bytes, bytes]:
        chain_id = self.chain.chain_id + (1 if kind == "wrong_chain" else 0)
        separator = domain_separator("settlekit settlement", "1", chain_id, self.series)
        v, r, s = sign(KEEPER if kind == "other" else signer_index, separator, type_string, values)
        if kind == "high_s":
            s = (SECP256K1_N - int.from_bytes(s, "big")).to_bytes(32, "big")
            v = 55 - v
        return v, r, s

    def _plan_settle_report(self, step: Step) -> tuple[str, str, bytes, Any]:
        price, nonce, deadline, kind = (
            int(step["price"]),
            int(step["nonce"]),
            int(step["deadline"]),
            str(step["signer"]),
        )
        v, r, s = self._sign(kind, REPORTER, REPORT_TYPE, (price, self.spec.expiry, nonce, max(deadline, 0)))
        calldata = self.series_abi.calldata("settle_with_report", price, nonce, max(deadline, 0), v, r, s)

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            spec = self.spec
            spec.check_settleable()
            if price == 0:
                raise Expected("settlement_series: non-positive price")
            if spec.now > max(deadline, 0):
                raise Expected("eip712: expired deadline")
            if nonce != spec.reporter_nonce:
                raise Expected("nonces: invalid nonce")
            self._check_signature(kind)
            spec.reporter_nonce += 1
            return (price,), [(LABEL_SERIES, "NonceUsed", (self.reporter, nonce)), self._settled(price, 2, nonce)]

        return self.keeper, self.series, calldata, plan

    @staticmethod
    def _check_signature(kind: str) -> None:
        if kind == "high_s":
            raise Expected("eip712: invalid signature s")
        if kind in ("other", "wrong_chain"):
            raise Expected("eip712: wrong signer")

    def _claimed(self, holder: str, recipient: str, units: int, payout: int) -> list[ExpectedEvent]:
        self.spec.move(self.series, recipient, payout)
        model, terms = self.spec.model, self.terms
        if units * terms.max_payout_per_unit * model.numerator % terms.cap:  # the floor took something: rounding
            self.coverage["claim paid a rounded-down payout"] += 1
        events: list[ExpectedEvent] = [(LABEL_TOKEN, "Transfer", (self.series, recipient, payout))] if payout else []
        return [*events, (LABEL_SERIES, "Claimed", (holder, recipient, units, payout))]

    def _plan_claim(self, step: Step) -> tuple[str, str, bytes, Any]:
        holder = self.people[step["holder"]]

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            units = self.spec.model.balances.get(holder, 0)
            payout = _model(self.spec.model.claim, holder)
            return (payout,), self._claimed(holder, holder, units, payout)

        return holder, self.series, self.series_abi.calldata("claim"), plan

    def _plan_claim_for(self, step: Step) -> tuple[str, str, bytes, Any]:
        holders = [self.people[i] for i in step["holders"]]

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            model = self.spec.model
            # a holder the token refuses is skipped (the batch pays through a call that tolerates a refusal)
            total = _model(model.claim_for, holders, self.spec.blocked)
            events: list[ExpectedEvent] = []
            for kind, holder, units, payout in model.last_batch:
                if kind == "skip":
                    events.append((LABEL_SERIES, "ClaimSkipped", (holder, units, payout)))
                    self.coverage["claim_for skipped a refused holder"] += 1
                else:
                    events += self._claimed(holder, holder, units, payout)
            return (total,), events

        return self.keeper, self.series, self.series_abi.calldata("claim_for", holders), plan

    def _plan_block(self, step: Step) -> tuple[str, str, bytes, Any]:
        index = int(step["account"])
        account = self.treasury if index == PEOPLE else self.people[index]
        blocked = bool(step["blocked"])

        def plan() -> tuple[None, list[ExpectedEvent]]:
            (self.spec.blocked.add if blocked else self.spec.blocked.discard)(account)
            return None, []

        return self.admin, self.token, self.token_abi.calldata("set_blocked", account, blocked), plan

    def _plan_claim_sig(self, step: Step) -> tuple[str, str, bytes, Any]:
        holder_i = int(step["holder"])
        holder, recipient = self.people[holder_i], self._who(step["recipient"])
        nonce, deadline, kind = int(step["nonce"]), max(int(step["deadline"]), 0), str(step["signer"])
        v, r, s = self._sign(kind, holder_i, CLAIM_TYPE, (holder, recipient, nonce, deadline))
        calldata = self.series_abi.calldata("claim_by_sig", holder, recipient, nonce, deadline, v, r, s)

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            spec, model = self.spec, self.spec.model
            _model(model._check_claimable)
            _model(model.check_receiver, "" if recipient == ZERO else recipient)
            if spec.now > deadline:
                raise Expected("eip712: expired deadline")
            if spec.nonce_used(holder, nonce):
                raise Expected("nonces: nonce already used")
            self._check_signature(kind)
            units = model.balances.get(holder, 0)
            payout = _model(model.claim, holder)
            spec.used_nonces.setdefault(holder, set()).add(nonce)
            return (payout,), [
                (LABEL_SERIES, "UnorderedNonceUsed", (holder, nonce)),
                *self._claimed(holder, recipient, units, payout),
            ]

        return self.keeper, self.series, calldata, plan

    def _plan_cancel_nonces(self, step: Step) -> tuple[str, str, bytes, Any]:
        holder, word, mask = self.people[step["holder"]], int(step["word"]), int(step["mask"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if mask == 0:
                raise Expected("nonces: empty mask")
            key = (holder, word)
            self.spec.cancelled_words[key] = self.spec.cancelled_words.get(key, 0) | mask
            return (), [(LABEL_SERIES, "UnorderedNoncesInvalidated", (holder, word, mask))]

        return holder, self.series, self.series_abi.calldata("invalidate_unordered_nonces", word, mask), plan

    def _plan_reclaim(self, step: Step) -> tuple[str, str, bytes, Any]:
        writer = self.people[step["writer"]]

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            units = self.spec.model.written.get(writer, 0)
            amount = _model(self.spec.model.reclaim, writer)
            self.spec.move(self.series, writer, amount)
            events: list[ExpectedEvent] = [(LABEL_TOKEN, "Transfer", (self.series, writer, amount))] if amount else []
            return (amount,), [*events, (LABEL_SERIES, "Reclaimed", (writer, units, amount))]

        return writer, self.series, self.series_abi.calldata("reclaim"), plan

    def _plan_sweep(self, step: Step) -> tuple[str, str, bytes, Any]:
        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            if self.spec.level >= 3 and self.spec.model.breaker_holds:  # the halt holds the sweep for a bounded time
                raise Expected("circuit_breaker: halted")
            amount = _model(self.spec.model.sweep)
            after = self.spec.model.swept_late  # from max(SWEEP_DEADLINE, settled_at + MIN_CLAIM_PERIOD) on
            self.spec.move(self.series, self.treasury, amount)
            events: list[ExpectedEvent] = (
                [(LABEL_TOKEN, "Transfer", (self.series, self.treasury, amount))] if amount else []
            )
            return (amount,), [*events, (LABEL_SERIES, "DustSwept", (self.treasury, amount, after))]

        return self.keeper, self.series, self.series_abi.calldata("sweep"), plan

    def _plan_breaker(self, step: Step) -> tuple[str, str, bytes, Any]:
        level, raising = int(step["level"]), bool(step["raise"])
        caller = self.governance.breaker_caller(step, self.admin, self.keeper)
        reason = b"fuzz".ljust(32, b"\0")
        name = "raise_level" if raising else "lower_level"

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            spec = self.spec
            self.governance.check_breaker(caller, raising)
            if raising:
                if level > 3:
                    raise Expected("circuit_breaker: invalid level")
                if level <= spec.level:
                    raise Expected("circuit_breaker: level not higher")
            elif level >= spec.level:
                raise Expected("circuit_breaker: level not lower")
            old, spec.level = spec.level, level
            return (), [(LABEL_SERIES, "CircuitBreakerLevelChanged", (old, level, caller, reason))]

        return caller, self.series, self.series_abi.calldata(name, level, reason), plan

    def _nonce_owner(self, who: int) -> str:
        return self.reporter if who < 0 else self.people[who]

    def _sequential(self, account: str) -> int:
        if account == self.reporter:
            return self.spec.reporter_nonce
        return self.spec.sequential.get(account, 0)

    def _plan_invalidate_nonces(self, step: Step) -> tuple[str, str, bytes, Any]:
        account, new_nonce = self._nonce_owner(int(step["who"])), int(step["new_nonce"])

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            old = self._sequential(account)
            if new_nonce <= old:
                raise Expected("nonces: can only increase")
            if new_nonce - old > MAX_NONCE_JUMP:
                raise Expected("nonces: excessive invalidation")
            if account == self.reporter:
                self.spec.reporter_nonce = new_nonce
            else:
                self.spec.sequential[account] = new_nonce
            return (), [(LABEL_SERIES, "NoncesInvalidated", (account, old, new_nonce))]

        return account, self.series, self.series_abi.calldata("invalidate_nonces", new_nonce), plan

    def _plan_create_series(self, step: Step) -> tuple[str, str, bytes, Any]:
        """A new series from the factory after the first, on an odd collateral (clone variants only: the admin
        holds each odd token and approved the factory's probe)."""
        kind = str(step["token"])
        args = [self.odd_tokens[kind], *self.series_args[1:-1]]
        calldata = self.factory_abi.calldata("create_series", *args)

        def plan() -> tuple[tuple[Any, ...], list[ExpectedEvent]]:
            refusal = ODD_TOKENS[kind]
            if refusal is not None:
                raise Expected(refusal)
            if self.spec.now > self.spec.expiry:  # the new clone checks its terms after the probe
                raise Expected("settlement_series: expiry in the past")
            self.spec.series_count += 1
            return (ANY,), ANY_EVENTS

        return self.admin, self.factory, calldata, plan

    def _plan_transfer_ownership(self, step: Step) -> tuple[str, str, bytes, Any]:
        return self.governance.plan(step)

    _plan_accept_ownership = _plan_set_guardian = _plan_transfer_ownership

    # -- invariants ------------------------------------------------------------------------------------------

    def _view(self, to: str, abi: Abi, name: str, *args: Any) -> Any:
        values = abi.functions[name].result(self.chain.view(to, abi.view_calldata(name, *args)))
        return values[0] if len(values) == 1 else values

    def _drain_after_the_maximum_delays(self) -> None:
        """Liveness, at the end of a sequence: from whatever state it left (any level, an owner that never lowers,
        no usable round), wait out the documented delays and take every wei out through the exits, each step run
        and compared like any other; every entitled exit must succeed and the series must end empty."""
        spec, model = self.spec, self.spec.model
        times = model.times or SeriesTimes(spec.expiry, WINDOW, spec.sweep_deadline)

        def run(step: Step, done: Any, what: str) -> None:
            self.execute(step)
            self.check_invariants()
            if not done():
                raise Mismatch(f"step {self.step_no}: liveness: {what} refused after the maximum delays: {step}")

        # a blacklisting token's blocks are its issuer's, not the series': the promise is that once they are
        # lifted every wei comes out (and that a blocked holder never holds the others up: claim_for skips it)
        blocked = sorted(spec.blocked)
        for account in blocked:
            index = PEOPLE if account == self.treasury else self.people.index(account)
            self.execute({"op": "block", "account": index, "blocked": False})
        if spec.now < times.fallback_opens_at:
            self.execute({"op": "warp", "seconds": times.fallback_opens_at - spec.now})
        if not model.settled:
            run({"op": "settle_fallback"}, lambda: model.settled, "settle_fallback")
        if model.swept:
            return
        for i, person in enumerate(self.people):
            if model.balances.get(person, 0):
                run({"op": "claim", "holder": i}, lambda p=person: not model.balances.get(p, 0), "claim")
            if model.written.get(person, 0):
                run({"op": "reclaim", "writer": i}, lambda p=person: not model.written.get(p, 0), "reclaim")
        if spec.now < model.late_sweep_at:
            self.execute({"op": "warp", "seconds": model.late_sweep_at - spec.now})

        def emptied() -> bool:
            return model.swept and model.held == 0 == spec.tokens.get(self.series, 0)

        run({"op": "sweep"}, emptied, "sweep")

    def check_invariants(self, full: bool = False) -> None:
        spec, model = self.spec, self.spec.model
        if full:  # the end of a sequence: the liveness drain first, then the full comparison of the drained state
            self._drain_after_the_maximum_delays()
        try:
            model.check_invariants()
        except AssertionError as error:
            raise Mismatch(f"step {self.step_no}: model invariant broken: {error}") from None
        chain_state = self._chain_state_by_views() if full else self._chain_state_by_storage()
        model_state = {
            "collateral_held": model.held, "total_deposited": model.deposited, "total_paid": model.paid,
            "total_reclaimed": model.reclaimed, "total_swept": model.swept_amount, "totalSupply": model.total_supply,
            "open_units": model.open_units, "open_written": model.open_written, "settlement_price": model.price,
            "settled_at": model.settled_at,
            "swept": model.swept, "level": spec.level, "token_balance": spec.tokens.get(self.series, 0),
        }  # fmt: skip
        if chain_state != model_state:
            diff = {k: (model_state[k], chain_state[k]) for k in chain_state if chain_state[k] != model_state[k]}
            raise Mismatch(f"step {self.step_no}: state (model, contract): {diff}")
        held = chain_state["collateral_held"]
        if chain_state["token_balance"] < held:
            raise Mismatch(f"step {self.step_no}: series holds {chain_state['token_balance']} < accounted {held}")
        paid = chain_state["total_paid"] + chain_state["total_reclaimed"] + chain_state["total_swept"]
        if chain_state["total_deposited"] != held + paid:
            raise Mismatch(f"step {self.step_no}: conservation broken on chain")
        accounts = [*self.people, self.treasury, self.keeper] if full else sorted(self.dirty - {ZERO})
        self._check_views([who for who in accounts if who in self.people])
        self.dirty.clear()
        for who in accounts:
            got = self._account_by_views(who) if full else self._account_by_storage(who)
            want = (model.balances.get(who, 0), model.written.get(who, 0), spec.tokens.get(who, 0))
            if got != want:
                raise Mismatch(
                    f"step {self.step_no}: account {who} (units, written, tokens): model {want}, contract {got}"
                )

    def _expected_views(self, people: list[str]) -> dict[tuple[str, tuple[Any, ...]], Any]:
        """Every view of the series the model answers (docs/fuzzing.md, "Views"): payouts as ``claim`` and
        ``reclaim`` would pay them now, the rate, nonces, the domain separator, owner and guardian."""
        spec, model, terms = self.spec, self.spec.model, self.terms
        live = model.settled and not model.swept  # a fallback settlement has price 0 and pays writers
        numerator = model.numerator
        views: dict[tuple[str, tuple[Any, ...]], Any] = {
            ("payout_rate", ()): (numerator, terms.cap),
            ("DOMAIN_SEPARATOR", ()): self.separator,
            ("nonces", (self.reporter,)): spec.reporter_nonce,
            **self.governance.expected_views(),
        }
        for who in people:  # the accounts the step touched (all of them in a full check): the costly views
            units, written = model.balances.get(who, 0), model.written.get(who, 0)
            views[("claimable", (who,))] = holder_payout(terms, units, numerator) if live else 0
            views[("reclaimable", (who,))] = writer_reclaim(terms, written, numerator) if live else 0
        for who, value in spec.sequential.items():
            views[("nonces", (who,))] = value
        for who, nonce in self.touched_nonces:
            views[("is_nonce_used", (who, nonce))] = spec.nonce_used(who, nonce)
            word = nonce >> 8
            used = sum(1 << (n & 255) for n in spec.used_nonces.get(who, set()) if n >> 8 == word)
            views[("nonce_bitmap", (who, word))] = spec.cancelled_words.get((who, word), 0) | used
        return views

    def _check_views(self, people: list[str]) -> None:
        where = f"step {self.step_no}"
        compare_views(where, self._view_args, self.series, self.series_abi, self._expected_views(people))
        if self.clone:
            expected = {("series_count", ()): self.spec.series_count}
            compare_views(where, self._view_args, self.factory, self.factory_abi, expected)

    def _view_args(self, to: str, name: str, abi: Abi, args: tuple[Any, ...]) -> Any:
        return self._view(to, abi, name, *args)

    def _chain_state_by_views(self) -> dict[str, Any]:
        s, a = self.series, self.series_abi
        names = ["collateral_held", "total_deposited", "total_paid", "total_reclaimed", "total_swept", "totalSupply"]
        names += ["open_units", "open_written", "settlement_price", "settled_at", "swept", "level"]
        state = {name: self._view(s, a, name) for name in names}
        state["token_balance"] = self._view(self.token, self.token_abi, "balanceOf", s)
        return state

    def _chain_state_by_storage(self) -> dict[str, Any]:
        read, s, slots = self.chain.evm.storage, self.series, self.slots
        state: dict[str, Any] = {
            "collateral_held": read(s, slots["held"]),
            "total_deposited": read(s, slots["total_deposited"]),
            "total_reclaimed": read(s, slots["total_reclaimed"]),
            "total_swept": read(s, slots["total_swept"]),
            "totalSupply": read(s, slots["totalSupply"]),
            "open_units": read(s, slots["open_units"]),
            "open_written": read(s, slots["open_written"]),
            "settlement_price": read(s, slots["settlement_price"]),
            "settled_at": read(s, slots["settled_at"]),
            "swept": read(s, slots["swept"]) != 0,
            "level": read(s, slots["level"]),
            "token_balance": read(self.token, mapping_slot(self.token_slots["balanceOf"], s)),
        }
        paid = state["total_deposited"] - state["collateral_held"] - state["total_reclaimed"] - state["total_swept"]
        state["total_paid"] = paid
        return state

    def _account_by_views(self, who: str) -> tuple[int, int, int]:
        s, a = self.series, self.series_abi
        return (
            self._view(s, a, "balanceOf", who),
            self._view(s, a, "written", who),
            self._view(self.token, self.token_abi, "balanceOf", who),
        )

    def _account_by_storage(self, who: str) -> tuple[int, int, int]:
        read = self.chain.evm.storage
        return (
            read(self.series, mapping_slot(self.slots["balanceOf"], who)),
            read(self.series, mapping_slot(self.slots["written"], who)),
            read(self.token, mapping_slot(self.token_slots["balanceOf"], who)),
        )


_Generator = Callable[[SettlementWorld, random.Random, str], Step]
_EXTRA_GENERATORS: dict[str, _Generator] = {
    "invalidate_nonces": SettlementWorld._gen_invalidate_nonces,
    "create_series": SettlementWorld._gen_create_series,
    "transfer_ownership": SettlementWorld._gen_governance,
    "accept_ownership": SettlementWorld._gen_governance,
    "set_guardian": SettlementWorld._gen_governance,
}
