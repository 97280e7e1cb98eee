"""The chaos test of issue 7: the real `settlekit watch` process against a real Anvil under reorgs, kills and outages.

Settlement and liquidation traffic runs on one Anvil while the watcher (a subprocess, so it can be killed) follows it
into a SQLite store. During the traffic the test performs 50 random ``anvil_reorg`` calls (depth 1..8, each new
branch carrying different transactions that emit events of both products), 10 ``kill -9`` and restarts of the
watcher at random moments, a freeze of Anvil (SIGSTOP) longer than the watcher's RPC timeout, and, after the reorg
phase (anvil cannot reorg after ``--load-state``), a restart of Anvil on the same port from a state dump. At the end
the store must hold exactly the logs ``eth_getLogs`` returns for the watched contracts, all finalized, and every
reorg and both outages must be on record.

Reorg depth: ``anvil_reorg(d)`` replaces the last ``d`` blocks; the store records the depth as (its old tip's
number - the common ancestor's number). The two are equal when the watcher's tip was the node's head at the moment
of the reorg and the first replaced block really differs. The test makes both true: before each reorg it waits until
the store's tip is the node's head (hash), and every new branch carries a transaction in its first block. So each
performed reorg must appear exactly once, keyed by the replaced head's hash, with exactly its depth. (Reorgs done
faster than the watcher polls would be observed as one deeper reorg; the test does not do that.)

The seed is printed; ``SETTLEKIT_CHAOS_SEED=N pytest tests/python/test_watch_chaos.py -q`` reruns one.
"""

from __future__ import annotations

import gzip
import json
import os
import queue
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from eth_utils.crypto import keccak
from receiver import Receiver
from web3.contract import Contract

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig
from settlekit.chain.process import spawn_bound_to_parent
from settlekit.errors import ContractRevert
from settlekit.model.margin import MarketConfig
from settlekit.scenarios.margin import MarginMarket
from settlekit.scenarios.settlement import (
    CAP,
    MAX_PAYOUT_PER_UNIT,
    SETTLEMENT_PRICE,
    STRIKE,
    SettlementKit,
    deploy_kit,
    now,
    set_time,
)
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.incidents import IncidentLog
from settlekit.watch.outbox import counts, idempotency_key
from settlekit.watch.store import Store

from support import REPO, SETTLEKIT, cli_env

REORGS = 50
KILLS = 10
MAX_DEPTH = 8
FREEZE_AT = 30  # the reorg after which Anvil is frozen
RPC_TIMEOUT = 1.0
OUTAGE_AFTER = 1.5
POLL = 0.1
USDC = 10**6
ETH = 10**18
HIGH, LOW = 2_000 * 10**8, 1_700 * 10**8  # a 15% drop makes a 74% LTV position liquidatable (threshold 80%)
DEFAULT_SEED = 20_261_122
SERIES_AT = (12, 40)  # reorgs before which a series is created through the factory
RECEIVER_DOWN_AT, RECEIVER_UP_AT = 18, 34  # the webhook receiver is down between these reorgs
SERIES_CREATED = "SeriesCreated(address,address,address,address,uint256,uint256,uint256,uint256,uint256)"


@dataclass
class Watcher:
    """`settlekit watch` as a subprocess that can be killed with SIGKILL and started again on the same store."""

    argv: list[str]
    log: IO[bytes]
    process: Any = None
    starts: int = 0
    kills: int = 0

    def start(self) -> None:
        self.process = spawn_bound_to_parent(self.argv, log=self.log, cwd=REPO, env=cli_env())
        self.starts += 1

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Killer:
    """One long-lived thread that kills the watcher after a delay and starts it again at once, so the restart's
    start-up overlaps the traffic. Long-lived because a child bound to its parent (PR_SET_PDEATHSIG) is signalled
    when the *thread* that spawned it ends."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self.orders: queue.Queue[float | None] = queue.Queue()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while (delay := self.orders.get()) is not None:
            time.sleep(delay)
            self.watcher.kill()
            self.watcher.start()
            self.done.set()

    def kill_after(self, delay: float) -> None:
        self.done.clear()
        self.orders.put(delay)

    def wait(self) -> None:
        assert self.done.wait(timeout=30)

    def close(self) -> None:
        self.orders.put(None)
        self.thread.join(timeout=30)


@dataclass
class Chaos:
    """The chain, its contracts and what the test did to them."""

    node: Anvil
    rng: random.Random
    accounts: list[Any]
    kit: SettlementKit
    series: Contract
    market: MarginMarket
    reorgs: list[tuple[str, int]] = field(default_factory=list)  # (hash of the replaced head, depth)
    reorg_txs: int = 0
    failed: Counter[str] = field(default_factory=Counter)

    def attempt(self, function: Any, sender: Any) -> bool:
        """Send a transaction; a revert (the state a reorg left may not allow it) is fine, it is traffic."""
        try:
            contracts.transact(function, sender=sender)
        except ContractRevert as revert:
            self.failed[f"{function.fn_name}: {revert}"] += 1
            return False
        return True

    # --- traffic -------------------------------------------------------------------------------------------------

    def settlement_mint(self) -> None:
        """A writer mints a lot of the series (collateral Transfer and Approval, the series' own events)."""
        self.kit.mint(self.series, self.accounts[7], self.rng.randint(1, 3), self.accounts[8])

    def liquidation_round(self) -> None:
        """A borrower borrows at 74% LTV at $2,000, the price drops to $1,700, a keeper liquidates the position."""
        engine, borrower = self.market.engine, self.rng.choice(self.accounts[3:6])
        admin, keeper = self.accounts[0], self.accounts[6]
        self.node.increase_time(1)  # a feed round must be newer than the last accepted one to be read
        self.attempt(self.market.feed.functions.set_answer(HIGH), admin)
        if engine.functions.debt_of(borrower).call() == 0:
            self.attempt(self.market.coll.functions.mint(borrower, ETH), borrower)
            self.attempt(engine.functions.deposit(ETH), borrower)
            collateral = int(engine.functions.collateral(borrower).call())
            self.attempt(engine.functions.borrow(collateral * 1_480 // 10**12), borrower)  # 74% of $2,000 per ETH
        self.node.increase_time(1)
        self.attempt(self.market.feed.functions.set_answer(LOW), admin)
        debt = int(engine.functions.debt_of(borrower).call())
        if debt:
            self.attempt(engine.functions.liquidate(borrower, debt, 0), keeper)

    def burst(self) -> None:
        for _ in range(self.rng.randint(1, 2)):
            self.rng.choice([self.settlement_mint, self.liquidation_round])()

    # --- reorgs --------------------------------------------------------------------------------------------------

    def reorg(self, depth: int) -> None:
        """Replace the last ``depth`` (1..8) blocks with a branch whose first block (and maybe others) holds different
        transactions: mints from an account the traffic never uses, on a token of each product."""
        head = self.node.block_number()
        sender = self.accounts[9]
        nonce = int(self.node.rpc.call("eth_getTransactionCount", sender, hex(head - depth)), 16)
        offsets = sorted([0, *(self.rng.randrange(depth) for _ in range(self.rng.randint(0, 2)))])
        txs = []
        for i, offset in enumerate(offsets):
            token = self.rng.choice([self.kit.token, self.market.debt])
            tx = token.functions.mint(sender, self.rng.randint(1, 10**9)).build_transaction(
                {"from": sender, "gas": 100_000, "nonce": nonce + i}
            )
            txs.append((dict(tx), offset))
        replaced = self.node.rpc.call("eth_getBlockByNumber", hex(head), False)["hash"]
        self.node.reorg(depth, txs)
        self.reorgs.append((replaced, depth))
        self.reorg_txs += len(txs)


def _manifest(kit: SettlementKit, market: MarginMarket, path: Path, chain_id: int) -> Path:
    entries = {
        "settlement_collateral": (kit.token, "MockERC20"),
        "settlement_feed": (kit.oracle, "MockAggregator"),
        "series_factory": (kit.factory, "SeriesFactory"),  # its series are found from SeriesCreated, not listed
        "margin_debt": (market.debt, "MockERC20"),
        "margin_collateral": (market.coll, "MockERC20"),
        "margin_feed": (market.feed, "MockAggregator"),
        "margin_engine": (market.engine, "MarginEngine"),
    }
    manifest = {
        "deployment": "chaos",
        "chain_id": chain_id,
        "contracts": {label: {"address": c.address, "artifact": artifact} for label, (c, artifact) in entries.items()},
    }
    path.write_text(json.dumps(manifest, indent=2))
    return path


def _node_events(node: Anvil, decoder: EventDecoder) -> list[tuple[Any, ...]]:
    """Every log of the watched contracts over the whole chain, as the store keeps it."""
    logs = node.rpc.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "address": decoder.addresses})
    rows = []
    for log in logs:
        decoded = decoder.decode(
            log["address"], [bytes.fromhex(t[2:]) for t in log["topics"]], bytes.fromhex(log["data"][2:])
        )
        assert decoded is not None
        rows.append(
            (
                log["blockHash"],
                int(log["logIndex"], 16),
                int(log["blockNumber"], 16),
                log["transactionHash"],
                log["address"].lower(),
                decoded.contract,
                decoded.event,
                json.dumps(decoded.args, sort_keys=True),
            )
        )
    return sorted(rows)


def _stored_events(store: Store) -> list[tuple[Any, ...]]:
    return sorted(
        (
            e.block_hash,
            e.log_index,
            e.block_number,
            e.tx_hash,
            e.address.lower(),
            e.contract,
            e.event,
            json.dumps(e.args, sort_keys=True),
        )
        for e in store.events()
    )


def _wait(predicate: Any, timeout: float, what: str, watcher: Watcher, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if not watcher.alive():
            raise AssertionError(f"the watcher exited while waiting for {what}:\n{log_path.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.05)


@pytest.mark.slow
def test_watcher_survives_reorgs_kills_and_outages(
    settlekit_project: Any, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    seed = int(os.environ.get("SETTLEKIT_CHAOS_SEED", DEFAULT_SEED))
    print(f"chaos seed {seed} (rerun with SETTLEKIT_CHAOS_SEED={seed})")
    rng = random.Random(seed)
    began = time.monotonic()
    node = Anvil(AnvilConfig(), settlekit_project).start()
    log_path = tmp_path / "watch.log"
    with log_path.open("wb") as log:
        watcher: Watcher | None = None
        killer: Killer | None = None
        try:
            w3 = node.w3
            accounts = list(w3.eth.accounts)
            kit = deploy_kit(w3, artifacts, accounts[0])
            expiry = now(w3) + 7 * 86_400
            series = kit.create_series(
                strike=STRIKE,
                cap=CAP,
                max_payout_per_unit=MAX_PAYOUT_PER_UNIT,
                expiry=expiry,
                sweep_deadline=expiry + 30 * 86_400,
                treasury=accounts[2],
                reporter=accounts[1],
                guardian=accounts[0],
            )
            market = MarginMarket.deploy(node, artifacts, MarketConfig())
            market.mint(market.debt, accounts[2], 10**7 * USDC)
            contracts.transact(market.engine.functions.supply(10**7 * USDC), sender=accounts[2])
            market.mint(market.debt, accounts[6], 10**7 * USDC)
            node.mine(MAX_DEPTH + 2)  # no reorg reaches back into the setup (the lenders' cash, the series)
            chaos = Chaos(node, rng, accounts, kit, series, market)
            manifest = _manifest(kit, market, tmp_path / "chaos.json", int(node.rpc.call("eth_chainId"), 16))
            receiver = Receiver().start()  # the incidents' webhook: killed during the run, then back
            decoder = EventDecoder.from_manifest(json.loads(manifest.read_text()), artifacts)
            store_url = f"sqlite:///{tmp_path / 'watch.db'}"
            watcher = Watcher(
                [
                    *SETTLEKIT,
                    "watch",
                    "--manifest",
                    str(manifest),
                    "--rpc-url",
                    node.url,
                    "--store",
                    store_url,
                    "--json",
                    "--poll-interval",
                    str(POLL),
                    "--rpc-timeout",
                    str(RPC_TIMEOUT),
                    "--outage-after",
                    str(OUTAGE_AFTER),
                    "--max-backoff",
                    "1",
                    "--sink",
                    f"webhook:{receiver.url}",
                    "--delivery-max-backoff",
                    "1",
                ],
                log,
            )
            print(f"setup done at {time.monotonic() - began:.1f}s, block {node.block_number()}")
            watcher.start()
            store = Store(store_url)
            active = watcher

            def caught_up() -> bool:
                tip = store.tip()
                return tip is not None and tip.hash == node.rpc.call("eth_getBlockByNumber", "latest", False)["hash"]

            kill_at = set(rng.sample([i for i in range(1, REORGS) if i not in (FREEZE_AT, FREEZE_AT + 1)], KILLS))
            killer = Killer(active)
            depths = [*range(1, MAX_DEPTH + 1), *(rng.randint(1, MAX_DEPTH) for _ in range(REORGS - MAX_DEPTH))]
            rng.shuffle(depths)  # every depth occurs, in a random order
            for i in range(REORGS):
                kill = i in kill_at
                if kill:  # kill -9 at a random moment of the next burst and of the last reorg's handling
                    killer.kill_after(rng.uniform(0.0, 0.6))
                t0 = time.monotonic()
                chaos.burst()
                t1 = time.monotonic()
                if kill:
                    killer.wait()
                _wait(caught_up, 60, f"the watcher to reach the head before reorg {i}", active, log_path)
                if i in SERIES_AT:  # a series created through the deployed factory while the watcher runs
                    created = kit.create_series(
                        strike=STRIKE,
                        cap=CAP,
                        max_payout_per_unit=MAX_PAYOUT_PER_UNIT,
                        expiry=expiry,
                        sweep_deadline=expiry + 30 * 86_400,
                        treasury=accounts[2],
                        reporter=accounts[1],
                        guardian=accounts[0],
                    )
                    kit.mint(created, accounts[7], 1, accounts[8])
                    node.mine(MAX_DEPTH + 1)  # out of reach of the next reorg: it stays on the chain
                    _wait(caught_up, 60, f"the watcher to reach the head after series {i}", active, log_path)
                if i == RECEIVER_DOWN_AT:
                    receiver.stop()
                if i == RECEIVER_UP_AT:
                    receiver.start()
                t2 = time.monotonic()
                chaos.reorg(depths[i])
                print(f"{i}: burst {t1 - t0:.2f} wait {t2 - t1:.2f} kill {kill}")
                if i == FREEZE_AT:  # frozen past the RPC timeout and the outage threshold
                    os.kill(node.pid, signal.SIGSTOP)
                    try:
                        time.sleep(RPC_TIMEOUT + OUTAGE_AFTER + 1.0)
                    finally:
                        os.kill(node.pid, signal.SIGCONT)
            _wait(caught_up, 60, "the watcher to see the last reorg", active, log_path)
            print(chaos.failed)
            print(f"reorg phase done at {time.monotonic() - began:.1f}s, block {node.block_number()}")
            assert active.kills == KILLS

            # Restart Anvil from a state dump on the same port, down for longer than the outage threshold.
            state = tmp_path / "state.json"
            state.write_bytes(gzip.decompress(bytes.fromhex(node.rpc.call("anvil_dumpState")[2:])))
            port = node.port
            node.stop()
            time.sleep(OUTAGE_AFTER + 1.0)
            node = Anvil(AnvilConfig(port=port, extra_args=("--load-state", str(state))), settlekit_project).start()
            chaos.node = node
            _wait(caught_up, 60, "the watcher to follow the restarted node", active, log_path)

            # More traffic on the restarted node, then the series settles and pays out.
            chaos.liquidation_round()
            chaos.settlement_mint()
            set_time(w3, expiry + 30)
            keeper, writer, holder = accounts[1], accounts[7], accounts[8]
            assert chaos.attempt(kit.oracle.functions.set_round(1, SETTLEMENT_PRICE, expiry + 30), accounts[0])
            assert chaos.attempt(series.functions.settle(1), keeper)
            assert chaos.attempt(series.functions.claim_for([holder]), keeper)
            assert chaos.attempt(series.functions.reclaim(), writer)
            node.mine(70)  # everything ends up at or below the node's finalized block (head - 64)
            _wait(caught_up, 60, "the watcher to catch up at the end", active, log_path)
            _wait(
                lambda: all(e.status == "finalized" for e in store.events()),
                30,
                "every event to be finalized",
                active,
                log_path,
            )
            for entry in node.rpc.call(
                "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "address": kit.factory.address}
            ):
                if entry["topics"][0] == "0x" + keccak(text=SERIES_CREATED).hex():
                    child = "0x" + entry["topics"][1][-40:]
                    decoder.register(f"series:{child}", child, "SettlementSeries")
            expected = _node_events(node, decoder)
            _wait(lambda: counts(store)["pending"] == 0, 60, "every incident to be delivered", active, log_path)
            print(f"caught up and finalized at {time.monotonic() - began:.1f}s, {len(expected)} events")
        finally:
            if watcher is not None and watcher.alive():
                watcher.kill()
            if killer is not None:
                killer.close()
            node.stop()
            receiver.stop()

    context = f"(seed {seed}; watcher log {log_path})"
    # The store's canonical events are exactly the node's logs: none lost, none duplicated, same content.
    stored = _stored_events(store)
    assert len(stored) == len(set(stored)), context
    assert stored == expected, context
    assert {e.contract for e in store.events()} >= {"margin_engine", "settlement_collateral", "margin_debt"}
    series_labels = {e.contract for e in store.events() if e.contract.startswith("series:")}
    assert len(series_labels) == 1 + len(SERIES_AT), context  # the setup's and those created during the run
    assert {"Liquidated", "Minted", "Settled"} <= {e.event for e in store.events()}, context
    assert chaos.reorg_txs > REORGS

    # Retracted events exist, are kept, and none of them is canonical.
    retracted = [e for e in store.events(canonical_only=False) if e.status == "retracted"]
    assert retracted, context
    canonical_keys = {(row[0], row[1]) for row in expected}
    assert not {(e.block_hash, e.log_index) for e in retracted} & canonical_keys, context

    # Every reorg performed is in the reorg table and the incident log, once, with its depth.
    assert len(chaos.reorgs) == REORGS
    performed = Counter(chaos.reorgs)
    recorded = Counter((r["old_tip"], r["depth"]) for r in store.reorg_log())
    assert recorded == performed, context
    incidents = IncidentLog(store).list()
    reorg_incidents = Counter((i.details["old_tip"], i.details["depth"]) for i in incidents if i.rule == "reorg")
    assert set(reorg_incidents) == set(performed), context
    assert {depth for _, depth in performed} == set(range(1, MAX_DEPTH + 1)), context

    # Both outages (the freeze and the restart) were reported: one open node_outage incident, raised twice.
    outages = [i for i in incidents if i.rule == "node_outage"]
    assert [(i.severity, i.count) for i in outages] == [("critical", 2)], context
    assert watcher is not None
    assert watcher.starts == KILLS + 1

    # Every incident reached the receiver (killed and back meanwhile), each accepted under its own idempotency key:
    # a delivery interrupted by a kill -9 may be sent again, with the same key, which the receiver deduplicates.
    key = store.get_meta("store_id") or ""
    assert set(receiver.accepted()) == {idempotency_key(key, i.id) for i in incidents}, context
    assert counts(store)["failed"] == 0, context
