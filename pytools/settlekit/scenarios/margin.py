"""The margin engine on a real chain, driven side by side with its exact model (settlekit.model.margin).

:class:`MarginMarket` deploys a debt token (6 decimals), a collateral token (18), a feed (8) and a MarginEngine on
Anvil, and runs each action on the chain and in the model at the same block time, then compares every stored
number to the wei. :func:`run_margin_scenario` is the demo's story: a price drop, a keeper liquidating within the
cap over several blocks, one position ending in bad debt, and the accounting check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3.contract import Contract

from settlekit import contracts
from settlekit.amounts import in_units
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, RpcError
from settlekit.errors import ContractRevert, EmptyRevert, ReasonRevert, decode_revert, revert_from_exception
from settlekit.model.margin import Feed, MarginModel, MarginRevert, MarketConfig, price_scale_for

USDC = 10**6
ETH = 10**18
START_PRICE = 2_000 * 10**8
TX_GAS = 3_000_000


class Divergence(AssertionError):
    """The chain and the model disagree."""


@dataclass
class MarginMarket:
    """A deployed market and its model, kept in step: each action runs in the block the model is told about."""

    anvil: Anvil
    engine: Contract
    debt: Contract
    coll: Contract
    feed: Contract
    model: MarginModel
    accounts: list[ChecksumAddress]
    log: list[str] = field(default_factory=list)
    # The revert reasons compared exactly between chain and model (failed first transactions of a block), in order.
    reasons_checked: list[str] = field(default_factory=list)

    @classmethod
    def deploy(cls, anvil: Anvil, store: ArtifactStore, cfg: MarketConfig, price: int = START_PRICE) -> MarginMarket:
        """Deploy tokens, feed (answer ``price``) and engine; accounts[0] deploys and owns, accounts[1] guards."""
        w3 = anvil.w3
        accounts = list(w3.eth.accounts)
        owner = accounts[0]
        debt = contracts.deploy(w3, store.get("MockERC20"), "USD Coin", "USDC", 6, sender=owner)
        coll = contracts.deploy(w3, store.get("MockERC20"), "Wrapped Ether", "WETH", 18, sender=owner)
        feed = contracts.deploy(w3, store.get("MockAggregator"), 8, "ETH / USD", sender=owner)
        contracts.transact(feed.functions.set_answer(price), sender=owner)
        updated = int(w3.eth.get_block("latest")["timestamp"])
        engine = contracts.deploy(
            w3,
            store.get("MarginEngine"),
            debt.address,
            coll.address,
            feed.address,
            accounts[1],
            cfg.as_tuple(),
            sender=owner,
        )
        block = w3.eth.get_block("latest")
        model = MarginModel.create(
            cfg, price_scale_for(18, 6, 8), Feed(price, updated), int(block["timestamp"]), int(block["number"])
        )
        market = cls(anvil, engine, debt, coll, feed, model, accounts)
        for account in accounts[2:]:
            for token in (debt, coll):
                contracts.transact(token.functions.approve(engine.address, 2**256 - 1), sender=account)
        market.sync_clock()
        return market

    # --- time -----------------------------------------------------------------------------------------------------

    def sync_clock(self) -> None:
        block = self.anvil.w3.eth.get_block("latest")
        self.model.now = int(block["timestamp"])
        self.model.block = int(block["number"])

    def _next_block(self, seconds: int) -> int:
        """Fix the next block's timestamp ``seconds`` after the latest block (at least 1: Anvil needs it to grow)."""
        timestamp = self.model.now + max(seconds, 1)
        self.anvil.set_next_block_timestamp(timestamp)
        return timestamp

    # --- actions --------------------------------------------------------------------------------------------------

    def mint(self, token: Contract, to: ChecksumAddress, amount: int) -> None:
        contracts.transact(token.functions.mint(to, amount), sender=self.accounts[0])
        self.sync_clock()

    def set_price(self, answer: int, seconds: int = 1) -> None:
        """A new feed round with ``answer`` in a block ``seconds`` later."""
        timestamp = self._next_block(seconds)
        contracts.transact(self.feed.functions.set_answer(answer), sender=self.accounts[0])
        self.sync_clock()
        self.model.feed = Feed(answer, timestamp)

    def act(self, sender: ChecksumAddress, name: str, *args: Any, seconds: int = 1) -> Any:
        """Run ``name(*args)`` from ``sender`` in a block ``seconds`` later on both sides. Returns the model's result,
        or the MarginRevert both sides agreed on."""
        return self.batch([(sender, name, args)], seconds)[0]

    def batch(self, calls: list[tuple[ChecksumAddress, str, tuple[Any, ...]]], seconds: int = 1) -> list[Any]:
        """Several calls in ONE block (automine off): the caps per block see them together."""
        timestamp = self._next_block(seconds)
        self.model.now = timestamp
        self.model.block += 1
        results: list[Any] = []
        hashes: list[Any] = []
        self.anvil.set_automine(False)
        try:
            for sender, name, args in calls:
                try:
                    results.append(self._model_call(sender, name, args))
                except MarginRevert as revert:
                    results.append(revert)
                fn = getattr(self.engine.functions, name)(*args)
                hashes.append(fn.transact({"from": sender, "gas": TX_GAS}))
            self.anvil.mine()
        finally:
            self.anvil.set_automine(True)
        w3 = self.anvil.w3
        for position, ((sender, name, args), tx_hash, result) in enumerate(zip(calls, hashes, results, strict=True)):
            receipt = w3.eth.get_transaction_receipt(tx_hash)
            expected_ok = not isinstance(result, MarginRevert)
            if bool(receipt["status"]) != expected_ok:
                raise Divergence(f"{name}{args} from {sender}: chain status {receipt['status']}, model {result!r}")
            if not expected_ok and position == 0 and receipt["transactionIndex"] == 0:
                self._check_reason(receipt, result)  # the first of its block: the replay is exact
            self.log.append(f"{name}{args}: {result!r}")
        block = w3.eth.get_block("latest")
        if int(block["timestamp"]) != timestamp:
            raise Divergence(f"block time {block['timestamp']} != {timestamp}")
        self.model.block = int(block["number"])
        self.compare()
        return results

    def _check_reason(self, receipt: Any, expected: MarginRevert) -> None:
        """A failed transaction that is the first of its block (a lone one, or the first of a batch): replaying it on
        the parent state, with the block's own timestamp and number (eth_call block overrides), gives its exact
        revert, time-dependent ones included (stale price, grace period, jump confirmation, caps): compare the
        reason to the model's. Later transactions of a batch are compared by status only (their state is not the
        parent's)."""
        decoded = self.replay_in_block(receipt)
        if isinstance(decoded, ReasonRevert) and decoded.text == expected.reason:
            self.reasons_checked.append(expected.reason)
            return
        raise Divergence(f"revert {decoded!r} != model {expected.reason!r}")

    def replay_in_block(self, receipt: Any) -> ContractRevert:
        """The revert of a mined failed transaction, replayed with eth_call on its parent block's state under its own
        block's timestamp and number; exact for the first transaction of a block."""
        w3 = self.anvil.w3
        tx = w3.eth.get_transaction(receipt["transactionHash"])
        block = w3.eth.get_block(receipt["blockNumber"])
        call = {"from": tx["from"], "to": tx["to"], "data": HexBytes(tx["input"]).to_0x_hex(), "gas": hex(tx["gas"])}
        overrides = {"time": hex(int(block["timestamp"])), "number": hex(int(block["number"]))}
        try:
            self.anvil.rpc.call("eth_call", call, hex(int(block["number"]) - 1), {}, overrides)
        except RpcError as error:
            return decode_revert(error.data if isinstance(error.data, str) else None)
        return EmptyRevert()

    def _model_call(self, sender: ChecksumAddress, name: str, args: tuple[Any, ...]) -> Any:
        m = self.model
        if name == "supply":
            return m.supply(sender, *args)
        if name == "withdraw":
            return m.withdraw(sender, *args)
        if name == "deposit":
            return m.deposit(sender, *args)
        if name == "withdraw_collateral":
            return m.withdraw_collateral(sender, *args)
        if name == "transfer_collateral":
            return m.transfer_collateral(sender, *args)
        if name == "borrow":
            return m.borrow(sender, *args)
        if name == "repay":
            return m.repay(args[0], args[1])
        if name == "liquidate":
            return m.liquidate(sender, args[0], args[1], args[2])
        if name == "poke_price":
            return m.poke_price()
        raise ValueError(f"no model for {name}")

    # --- comparison -----------------------------------------------------------------------------------------------

    def chain_state(self) -> dict[str, Any]:
        e = self.engine.functions
        state: dict[str, Any] = {
            name: getattr(e, name)().call()
            for name in (
                "cash",
                "total_shares",
                "total_scaled_debt",
                "borrow_index",
                "last_accrual",
                "deficit",
                "protocol_fees",
                "block_usage",
                "window_used",
                "liquidation_room",
                "last_good_price",
                "last_good_updated_at",
                "pending_since",
            )
        }
        state["window_buckets"] = list(e.window_buckets().call())
        state["cap_slots"] = list(e.cap_slots().call())
        for account in self.accounts[2:]:
            state[f"shares[{account}]"] = e.shares(account).call()
            state[f"collateral[{account}]"] = e.collateral(account).call()
            state[f"scaled_debt[{account}]"] = e.scaled_debt(account).call()
        return state

    def model_state(self) -> dict[str, Any]:
        m = self.model
        g = m.guard
        state: dict[str, Any] = {
            "cash": m.cash,
            "total_shares": m.total_shares,
            "total_scaled_debt": m.total_scaled_debt,
            "borrow_index": m.borrow_index,
            "last_accrual": m.last_accrual,
            "deficit": m.deficit,
            "protocol_fees": m.protocol_fees,
            "block_usage": m.block_usage,
            "window_used": m.window_used,
            "liquidation_room": m.liquidation_room(),
            "window_buckets": m.window_buckets(),
            "cap_slots": list(m.cap_slots),
            "last_good_price": g.last_good_price,
            "last_good_updated_at": g.last_good_updated_at,
            "pending_since": g.pending_since,
        }
        for account in self.accounts[2:]:
            state[f"shares[{account}]"] = m.shares.get(account, 0)
            state[f"collateral[{account}]"] = m.collateral.get(account, 0)
            state[f"scaled_debt[{account}]"] = m.scaled_debt.get(account, 0)
        return state

    def compare(self) -> None:
        chain, model = self.chain_state(), self.model_state()
        diff = {k: (chain[k], model[k]) for k in chain if chain[k] != model[k]}
        if diff:
            raise Divergence(f"chain != model after {self.log[-3:]}: {diff}")

    def accounting(self) -> dict[str, int]:
        """cash + total debt - (lenders' worth): the dust the lenders' rounding leaves in the pool."""
        e = self.engine.functions
        cash, total_debt, total_assets = e.cash().call(), e.total_debt().call(), e.total_assets().call()
        lenders = sum(e.convert_to_assets(e.shares(a).call()).call() for a in self.accounts)
        return {
            "cash": cash,
            "total_debt": total_debt,
            "deficit": e.deficit().call(),
            "total_assets": total_assets,
            "lenders_worth": lenders,
            "dust": total_assets - lenders,
        }


def _revert_text(error: Exception) -> str:
    decoded = revert_from_exception(error)
    return decoded.text if isinstance(decoded, ReasonRevert) else repr(error)


def run_margin_scenario(anvil: Anvil, store: ArtifactStore, say: Callable[[str], None]) -> dict[str, Any]:
    """The demo: lenders supply, five borrowers borrow, the price drops 40% (confirmed after the jump window), a
    keeper liquidates within a cap of 2,000 USDC per block over several blocks, one position ends in bad debt.
    Every step runs in the model too and must agree to the wei. Returns a JSON-ready summary."""
    cfg = MarketConfig(cap_per_block=2_000 * USDC, cap_per_window=20_000 * USDC, window_seconds=3_600)
    market = MarginMarket.deploy(anvil, store, cfg)
    a = market.accounts
    lenders, borrowers, keeper = a[2:4], a[4:9], a[9]
    for lender, amount in zip(lenders, (60_000 * USDC, 40_000 * USDC), strict=True):
        market.mint(market.debt, lender, amount)
        market.act(lender, "supply", amount)
    say("lenders supplied 100,000 USDC")
    # Collateral per borrower; each borrows 2,800 USDC at $2,000 (75% LTV needs at least 1.87 ETH). At $1,200 the
    # first (2 ETH = $2,400) is short of 2,800 x 1.05 and ends in bad debt; the others are liquidatable, the last
    # (HF 0.96) only by half.
    collaterals = [2 * ETH, 25 * ETH // 10, 26 * ETH // 10, 27 * ETH // 10, 28 * ETH // 10]
    for borrower, collateral in zip(borrowers, collaterals, strict=True):
        market.mint(market.coll, borrower, collateral)
        market.act(borrower, "deposit", collateral)
        market.act(borrower, "borrow", 2_800 * USDC)
    say("5 borrowers borrowed 2,800 USDC each against 2 to 2.8 ETH")
    market.set_price(1_200 * 10**8)
    market.act(keeper, "poke_price")
    say("feed: $2,000 -> $1,200 (a 40% drop, inside the 50% jump bound): accepted")
    market.mint(market.debt, keeper, 50_000 * USDC)
    blocks = 0
    liquidations: list[dict[str, Any]] = []
    wave: list[dict[str, int]] = []  # per block: debt repaid in it, and the rolling window's usage after it
    while True:
        targets = [b for b in borrowers if market.model.debt_of(b) and market.model.health_factor(b) < 10**18]
        if not targets:
            break
        calls = [(keeper, "liquidate", (b, market.model.debt_of(b), 0)) for b in targets[:3]]
        results = market.batch(calls, seconds=12)
        blocks += 1
        for (_, _, args), result in zip(calls, results, strict=True):
            if isinstance(result, MarginRevert):
                continue
            liquidations.append(
                {
                    "block": market.model.block,
                    "time": market.model.now,
                    "borrower": args[0],
                    "repaid": result.repaid,
                    "seized": result.seized,
                    "fee": result.fee,
                    "bad_debt": result.bad_debt,
                    "capped": result.capped,
                }
            )
            say(
                f"block {market.model.block}: liquidated {args[0]}: repaid {in_units(result.repaid, 6, 'USDC')}, "
                f"seized {in_units(result.seized, 18, 'WETH')}, fee {in_units(result.fee, 18, 'WETH')}"
                + (f", bad debt {in_units(result.bad_debt, 6, 'USDC')}" if result.bad_debt else "")
                + (" (cut by the cap)" if result.capped else "")
            )
        wave.append(
            {
                "block": market.model.block,
                "repaid": sum(x["repaid"] for x in liquidations if x["block"] == market.model.block),
                "window_used": market.model.window_used,
            }
        )
        if blocks > 50:
            raise Divergence("the keeper did not finish in 50 blocks")
    # The heaviest span of one window on the record: (t - WINDOW_SECONDS, t] for every liquidation time t.
    heaviest_window = max(
        (
            sum(x["repaid"] for x in liquidations if t - cfg.window_seconds < x["time"] <= t)
            for t in {x["time"] for x in liquidations}
        ),
        default=0,
    )
    say(
        f"caps: at most {cfg.cap_per_block / USDC:,.0f} USDC per block and {cfg.cap_per_window / USDC:,.0f} USDC over "
        f"any {cfg.window_seconds:,} s (rolling, buckets of {market.model.bucket_seconds:,} s); heaviest one-window "
        f"span liquidated: {heaviest_window / USDC:,.2f} USDC"
    )
    check = market.accounting()
    say(
        f"accounting: cash {in_units(check['cash'], 6, 'USDC')} + total debt {in_units(check['total_debt'], 6, 'USDC')}"
        f" = lenders' assets {in_units(check['total_assets'], 6, 'USDC')}; deficit written off "
        f"{in_units(check['deficit'], 6, 'USDC')}; lenders' shares worth {in_units(check['lenders_worth'], 6, 'USDC')} "
        f"(dust {check['dust']} of the smallest unit)"
    )
    return {
        "liquidations": liquidations,
        "heaviest_window": heaviest_window,
        "window_buckets": market.model.window_buckets(),
        "wave": wave,
        "caps": {
            "per_block": cfg.cap_per_block,
            "per_window": cfg.cap_per_window,
            "window_seconds": cfg.window_seconds,
            "decimals": 6,
            "symbol": "USDC",
        },
        "blocks": blocks,
        "bad_debt_positions": sum(1 for x in liquidations if x["bad_debt"]),
        "capped_liquidations": sum(1 for x in liquidations if x["capped"]),
        "accounting": check,
        "accounting_ok": check["cash"] + check["total_debt"] == check["total_assets"] and 0 <= check["dust"] <= 2,
        "model_agrees": True,
    }
