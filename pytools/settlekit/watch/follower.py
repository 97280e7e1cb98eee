"""Following the head of a chain, safely across reorgs.

The follower keeps every ingested block as (number, hash, parent hash). Each step walks forward from its tip; a block
whose parent is not the tip, or a node whose block at the tip's height has another hash (the chain got shorter or
was replaced at the same height), is a reorg: it walks back through ``eth_getBlockByHash`` to the common ancestor,
marks the orphaned blocks and retracts their events (kept, never counted as canonical), and ingests the new branch.
Logs are fetched by block hash, so they always belong to the block they are stored under. ``removed: true`` from the
node is never trusted; block hashes are.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from eth_utils.address import to_checksum_address

from settlekit.chain.rpc import RpcClient, RpcConnectionError, RpcError, RpcResponseTooLargeError
from settlekit.exceptions import SettlekitError
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.incidents import IncidentLog, Notifier
from settlekit.watch.observer import NullObserver, WatchObserver
from settlekit.watch.rules import Rule, RuleEngine
from settlekit.watch.store import BlockRow, EventRow, Store, WatchedRow
from settlekit.watch.targets import ChildSpec, Target

# Words in node errors that mean "ask for a smaller range" (geth, erigon, anvil and hosted providers differ).
_RANGE_TOO_BIG = ("too many", "more than", "limit", "range", "timeout", "timed out", "response size")


class ChainMismatchError(SettlekitError):
    """The node is on another chain (chain id or genesis block) than the store was filled from."""


class ReorgPastFinalityError(SettlekitError):
    """A reorg replaced a block the node had reported finalized: ingestion stops until an operator acts."""


class NodeAnswerError(SettlekitError):
    """The node returned something inconsistent (a missing block, logs of another block); retried next step."""


@dataclass(frozen=True)
class FollowerConfig:
    confirmations: int = 2
    start_block: int = 0
    max_blocks_per_step: int = 200
    backfill_range: int = 100  # first eth_getLogs range of a backfill (blocks); adapts as calls succeed or fail
    backfill_max_range: int = 50_000
    backfill_fast_seconds: float = 1.0  # a range call faster than this doubles the next range...
    backfill_max_logs: int = 10_000  # ...unless it returned over half this many logs; over this, the range shrinks
    backfill_step_events: int = 20_000  # a step stops backfilling after this many events (bounds the step's memory)
    # A range whose JSON answer is longer than backfill_max_logs * this is abandoned unread and cut (a log is about
    # 700-900 bytes of JSON, so this is about twice the log budget): bounds the memory of a range before it is read.
    backfill_log_bytes: int = 1_500
    backfill_prefetch: bool = True  # fetch the next range while the current one is decoded and stored
    reorg_warning_depth: int = 1  # a reorg at least this deep opens a warning incident
    reorg_critical_depth: int = 8  # ...and at least this deep, a critical one
    alert_on_backfill: bool = False  # rules fire on history too (events at or below the boundary of RuleEngine.start)
    # Nodes without a `finalized` block tag: blocks this deep under the head count as finalized (LogPoller's way).
    finality_depth: int = 64
    rpc_batch: int = 50  # blocks per JSON-RPC batch above finality (headers, then logs); 1: no batches
    expected_chain_id: int | None = None  # the manifests' chain: a node on another one is refused at start
    expected_genesis: str | None = None  # ...and their genesis block, when they name it


@dataclass
class StepReport:
    head: int
    ingested_blocks: int = 0
    ingested_events: int = 0
    backfilled_to: int | None = None
    backfill_pending: bool = False  # the step stopped at its event budget below the finalized block: step again now
    events: list[EventRow] = field(default_factory=list)
    reorgs: list[dict[str, Any]] = field(default_factory=list)
    retractions: list[tuple[int, int]] = field(default_factory=list)  # (len(events) at the reorg, common ancestor)


@dataclass
class _Range:
    """One backfill range as fetched: its logs (the node's JSON, parsed) and its last block's header."""

    first: int
    last: int
    logs: list[dict[str, Any]]
    header: BlockRow
    seconds: float  # how long the eth_getLogs call took


def _block_row(raw: dict[str, Any]) -> BlockRow:
    return BlockRow(int(raw["number"], 16), str(raw["hash"]), str(raw["parentHash"]), int(raw["timestamp"], 16), True)


class Follower:
    def __init__(
        self,
        rpc: RpcClient,
        store: Store,
        decoder: EventDecoder,
        config: FollowerConfig | None = None,
        sinks: Sequence[Notifier] = (),
        rules: Sequence[dict[str, Any]] = (),
        observer: WatchObserver | None = None,
        *,
        targets: Sequence[Target] = (),
        children: Sequence[ChildSpec] = (),
    ) -> None:
        self.observer: WatchObserver = observer or NullObserver()  # metrics hooks; never imports prometheus
        self.rpc = rpc
        self.store = store
        self.decoder = decoder
        self.config = config or FollowerConfig()
        self.incidents = IncidentLog(store, sinks)
        rule_list = [Rule.parse(raw) for raw in rules]
        self.rules = RuleEngine(rule_list, self.incidents, alert_on_backfill=self.config.alert_on_backfill)
        self.last_outage_seconds: float | None = None
        self.backfill_range = self.config.backfill_range
        self._backfilling = False  # a backfill stopped at a step's event budget: the next step carries it on
        self.backfill_calls: list[tuple[int, int, str]] = []  # (from, to, outcome), for tests and tuning
        self.targets = list(targets)  # manifest contracts: one not yet in the store is backfilled from its deployment
        self._targets_synced = not self.targets
        self._announcements = {(spec.parent, spec.event): spec for spec in children}
        self._children: set[str] = set()  # lower-case addresses of children recorded (active) in the store
        self.finalized_tag: bool | None = None  # does the node know the `finalized` tag (None: not asked yet)
        self._batches: bool | None = None  # False once the node refused a JSON-RPC batch
        self._load_children()

    # --- children (contracts announced by watched contracts) --------------------------------------------------

    def _load_children(self) -> None:
        """Decode the children the store holds as active; forget those it no longer does (reorged out)."""
        active = {row.address: row for row in self.store.watched(kind="child")}
        for address in self._children - set(active):
            self.decoder.unregister(address)
        for address, row in active.items():
            if address not in self._children:
                self.decoder.register(row.label, address, row.artifact)
        self._children = set(active)

    def _announced(self, rows: Sequence[EventRow], fresh: dict[str, WatchedRow]) -> list[WatchedRow]:
        """Children announced in ``rows`` that are not watched yet (in the store or in ``fresh``)."""
        found: list[WatchedRow] = []
        if not self._announcements:
            return found
        for row in rows:
            spec = self._announcements.get((row.contract, row.event))
            if spec is None:
                continue
            address = str(row.args.get(spec.argument, "")).lower()
            if len(address) != 42 or address in self._children or address in fresh:
                continue
            child = WatchedRow(
                address, spec.child_label(address), spec.artifact, "child", row.block_number, spec.parent,
                row.block_hash, row.log_index,
            )  # fmt: skip
            fresh[address] = child
            found.append(child)
        return found

    def _with_children(
        self, rows: list[EventRow], last: int, status: str, block_hash: str | None = None
    ) -> tuple[list[EventRow], list[WatchedRow]]:
        """``rows`` plus the events of the children they announce, from each child's creation block up to ``last``
        (by ``block_hash`` when the rows are one block's), repeated for children announced by children. The
        children are decoded from now on; the caller stores them with the rows (one transaction)."""
        fresh: dict[str, WatchedRow] = {}
        scan = rows
        while True:
            found = self._announced(scan, fresh)
            if not found:
                break
            for child in found:
                self.decoder.register(child.label, child.address, child.artifact)
            addresses = [str(to_checksum_address(child.address)) for child in found]
            first = min(child.from_block for child in found)
            logs = self._logs_for(addresses, first, last, block_hash)
            scan = [row for row in (self._event_row(log, status) for log in logs) if row is not None]
            rows = rows + scan
        if fresh:
            rows.sort(key=lambda row: (row.block_number, row.log_index))
        return rows, list(fresh.values())

    def _logs_for(self, addresses: list[str], first: int, last: int, block_hash: str | None) -> list[dict[str, Any]]:
        """Logs of ``addresses`` over [first, last] (or of one block by hash), halving a range the node refuses or
        that is over the byte limit."""
        if block_hash is not None:
            logs = list(self.rpc.call("eth_getLogs", {"blockHash": block_hash, "address": addresses}) or [])
            if any(log.get("blockHash") != block_hash for log in logs):
                raise NodeAnswerError(
                    f"logs asked for block {block_hash} came from another block",
                    hint="the node is inconsistent; the follower retries on its next step",
                )
            return logs
        try:
            return self._range_logs(first, last, addresses)
        except (RpcResponseTooLargeError, RpcError) as error:
            if first == last or (
                not isinstance(error, RpcResponseTooLargeError)
                and not any(word in error.message.lower() for word in _RANGE_TOO_BIG)
            ):
                raise
            middle = (first + last) // 2
            return self._logs_for(addresses, first, middle, None) + self._logs_for(addresses, middle + 1, last, None)

    def _sync_targets(self) -> None:
        """Manifest contracts the store has not followed yet: on the first start they are simply recorded; later
        (a contract added to a manifest) their history up to the store's tip is backfilled first, from their
        deployment block, with the children they announced."""
        known = {row.address for row in self.store.watched(kind="manifest", active_only=False)}
        new = [t for t in self.targets if t.address.lower() not in known]
        tip = self.store.tip()
        rows: list[EventRow] = []
        watched = [
            WatchedRow(t.address.lower(), t.label, t.artifact, "manifest", max(t.from_block, self.config.start_block))
            for t in new
        ]
        if new and tip is not None:
            first = min(row.from_block for row in watched)
            if first <= tip.number:
                finalized = int(self.store.get_meta("finalized_number") or -1)
                logs = self._logs_for([t.address for t in new], first, tip.number, None)
                rows = [row for row in (self._event_row(log) for log in logs) if row is not None]
                rows = [replace(row, status="finalized") if row.block_number <= finalized else row for row in rows]
                rows, children = self._with_children(rows, tip.number, "seen")
                watched.extend(children)
        if watched:
            self.store.ingest([], rows, watched)
            self._children |= {row.address for row in watched if row.kind == "child"}
        self._targets_synced = True

    # --- node access -----------------------------------------------------------------------------------------

    def _block_by_number(self, number: int) -> BlockRow | None:
        raw = self.rpc.call("eth_getBlockByNumber", hex(number), False)
        if raw is None:
            return None
        block = _block_row(raw)
        if block.number != number:
            raise NodeAnswerError(
                f"asked for block {number}, the node returned block {block.number}",
                hint="the node is inconsistent; the follower retries on its next step",
            )
        return block

    def _fetch_blocks(self, first: int, last: int) -> list[tuple[BlockRow, list[dict[str, Any]], int]]:
        """Blocks [first, last] with their logs (by block hash), as (block, logs, decoder generation) up to the
        first block the node does not have: two JSON-RPC batches (headers, then logs) instead of two round trips
        per block, which is what catching up above finality costs against a remote node."""
        generation = self.decoder.generation
        if self.config.rpc_batch <= 1 or not isinstance(self.rpc, RpcClient) or self._batches is False:
            found = []
            for number in range(first, last + 1):
                block = self._block_by_number(number)
                if block is None:
                    break
                found.append((block, self._raw_logs(block), generation))
            return found
        try:
            raws = self.rpc.batch([("eth_getBlockByNumber", (hex(n), False)) for n in range(first, last + 1)])
        except RpcError as error:
            if error.code != -32600:
                raise
            self._batches = False  # the node does not batch: single calls from now on
            return self._fetch_blocks(first, last)
        blocks: list[BlockRow] = []
        for number, raw in zip(range(first, last + 1), raws, strict=True):
            if raw is None:
                break
            block = _block_row(raw)
            if block.number != number:
                raise NodeAnswerError(
                    f"asked for block {number}, the node returned block {block.number}",
                    hint="the node is inconsistent; the follower retries on its next step",
                )
            blocks.append(block)
        addresses = self.decoder.addresses
        if not addresses:
            return [(block, [], generation) for block in blocks]
        logs = self.rpc.batch([("eth_getLogs", ({"blockHash": b.hash, "address": addresses},)) for b in blocks])
        return [(block, list(found or []), generation) for block, found in zip(blocks, logs, strict=True)]

    def _raw_logs(self, block: BlockRow) -> list[dict[str, Any]]:
        if not self.decoder.addresses:
            return []
        return list(self.rpc.call("eth_getLogs", {"blockHash": block.hash, "address": self.decoder.addresses}) or [])

    def _block_by_hash(self, block_hash: str) -> BlockRow | None:
        raw = self.rpc.call("eth_getBlockByHash", block_hash, False)
        return None if raw is None else _block_row(raw)

    def _events_of(self, block: BlockRow) -> list[EventRow]:
        if not self.decoder.addresses:
            return []
        logs = self.rpc.call("eth_getLogs", {"blockHash": block.hash, "address": self.decoder.addresses})
        return self._block_rows(block, logs)

    def _block_rows(self, block: BlockRow, logs: list[dict[str, Any]] | None) -> list[EventRow]:
        rows = []
        for log in logs or []:
            if log.get("blockHash") != block.hash:
                raise NodeAnswerError(
                    f"logs asked for block {block.hash} came from {log.get('blockHash')}",
                    hint="the node is inconsistent; the follower retries on its next step",
                )
            row = self._event_row(log)
            if row is not None:
                rows.append(row)
        return rows

    def _ingest_block(self, block: BlockRow, events: list[EventRow], report: StepReport) -> None:
        """Store one block with its events and the events of any child they announce, in one transaction."""
        events, children = self._with_children(events, block.number, "seen", block.hash)
        self.store.ingest([block], events, children)
        self._children |= {child.address for child in children}
        report.ingested_blocks += 1
        report.ingested_events += len(events)
        report.events.extend(events)

    def _event_row(self, log: dict[str, Any], status: str = "seen") -> EventRow | None:
        decoded = self.decoder.decode_parts(log["address"], log["topics"], log["data"])
        if decoded is None:
            return None
        contract, event, args = decoded
        return EventRow(
            log["blockHash"],
            int(log["logIndex"], 16),
            int(log["blockNumber"], 16),
            log["transactionHash"],
            log["address"],
            contract,
            event,
            args,
            status,
        )

    # --- identity --------------------------------------------------------------------------------------------

    def check_chain(self) -> None:
        """Refuse a node on another chain than the manifests' and the store's (checked at start, after every
        reconnect, and before a reorg is adopted)."""
        self.rules.start(self.store, lambda: int(self.rpc.call("eth_blockNumber"), 16))  # once: history boundary
        chain_id = str(int(self.rpc.call("eth_chainId"), 16))
        genesis = self._block_by_number(0)
        genesis_hash = genesis.hash if genesis else ""
        expected_id, expected_genesis = self.config.expected_chain_id, self.config.expected_genesis
        if (expected_id is not None and str(expected_id) != chain_id) or (
            expected_genesis and genesis_hash and expected_genesis != genesis_hash
        ):
            raise ChainMismatchError(
                f"the node is on chain {chain_id} (genesis {genesis_hash[:12]}...), the manifest on chain "
                f"{expected_id} (genesis {(expected_genesis or '?')[:12]}...)",
                hint="point --rpc-url at a node of the manifest's chain, or pass the manifest of this chain",
            )
        stored_id, stored_genesis = self.store.get_meta("chain_id"), self.store.get_meta("genesis_hash")
        if stored_id is None:
            self.store.set_meta("chain_id", chain_id)
            self.store.set_meta("genesis_hash", genesis_hash)
            return
        if stored_id != chain_id or stored_genesis != genesis_hash:
            self.incidents.raise_(
                "chain_mismatch",
                f"chain_mismatch:{chain_id}:{genesis_hash}",
                "critical",
                f"node is on chain {chain_id}, the store on chain {stored_id}",
                {
                    "node_chain_id": chain_id,
                    "node_genesis": genesis_hash,
                    "store_chain_id": stored_id,
                    "store_genesis": stored_genesis,
                },
            )
            raise ChainMismatchError(
                f"the node is on chain {chain_id} (genesis {genesis_hash[:12]}...), the store was filled from chain "
                f"{stored_id} (genesis {(stored_genesis or '')[:12]}...)",
                hint="point the watcher at the right node, or at a new store for this chain",
            )
        self._report_unreported_reorg()

    # --- one step --------------------------------------------------------------------------------------------

    def step(self) -> StepReport:
        if not self._targets_synced:
            self._sync_targets()
        head = int(self.rpc.call("eth_blockNumber"), 16)
        report = StepReport(head)
        tip = self.store.tip()
        if tip is not None and head <= tip.number:
            # The head did not advance: the chain may have been replaced at or below our tip.
            at_tip = self._block_by_number(head)
            if at_tip is not None:
                stored = self.store.block_by_hash(at_tip.hash)
                if stored is None or not stored.canonical or head < tip.number:
                    self._reorg(at_tip, report)
            self._promote(report.head, self._finalized(report.head))
            self._after_step(report, self.store.tip())
            return report
        finalized = self._finalized(head)
        start = self.config.start_block if tip is None else tip.number + 1
        last = min(head, start + self.config.max_blocks_per_step - 1)
        if finalized - start > self.config.max_blocks_per_step or (self._backfilling and finalized >= start):
            tip = self._backfill(start, finalized, report)
            start = tip.number + 1
            report.backfill_pending = self._backfilling = tip.number < finalized
            last = start - 1 if report.backfill_pending else min(head, start + self.config.max_blocks_per_step - 1)
        number = start
        while number <= last:
            batch = self._fetch_blocks(number, min(last, number + self.config.rpc_batch - 1))
            for block, logs, generation in batch:
                if tip is not None and block.parent_hash != tip.hash:
                    self._reorg(block, report)
                    number = last + 1
                    break  # the new branch is ingested up to `block`; continue on the next step
                # children announced earlier in this batch: the logs fetched with it lack theirs
                events = self._block_rows(block, logs) if generation == self.decoder.generation else None
                self._ingest_block(block, self._events_of(block) if events is None else events, report)
                tip = block
            else:
                if len(batch) < min(last, number + self.config.rpc_batch - 1) - number + 1:
                    break  # the node does not have the next block yet
                number += len(batch)
        self._promote(report.head, finalized)
        self._after_step(report, self.store.tip())
        return report

    def _after_step(self, report: StepReport, tip: BlockRow | None) -> None:
        finalized = self.store.get_meta("finalized_number")
        self.rules.after_step(report, tip, int(finalized) if finalized is not None else None)
        self.observer.on_step(report, tip)

    def _backfill(self, start: int, end: int, report: StepReport) -> BlockRow:
        """Ingest [start, end] (all at or below the node's finalized block) with range eth_getLogs calls whose size
        adapts: halved when the node refuses ("too many results") or times out, cut when the answer is over the byte
        limit, doubled when a call is fast. Only the last block's header is stored: below finality the parent-hash
        chain is not needed (a reorg there is a critical incident anyway), and the follower's linked list continues
        from that block.

        While one range is decoded and stored, the next one is fetched in a worker thread (``backfill_prefetch``):
        the node's work and the HTTP transfer overlap this process's. At most two ranges are in memory, and the
        worker is joined before this returns or raises, so nothing else ever uses the RPC client concurrently."""
        number = start
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="settlekit-backfill") as pool:
            ahead: Future[_Range] | None = None  # the fetch of [number, ...] already running, if any
            while number <= end and report.ingested_events < self.config.backfill_step_events:
                last = min(end, number + self.backfill_range - 1)
                try:
                    fetched = ahead.result() if ahead is not None else self._fetch_range(number, last)
                except RpcResponseTooLargeError as error:
                    self.backfill_calls.append((number, last, "too big"))
                    self._shrink_for(error, last - number + 1)
                    continue
                except (RpcError, RpcConnectionError) as error:
                    message = error.message.lower()
                    if self.backfill_range > 1 and any(word in message for word in _RANGE_TOO_BIG):
                        self.backfill_calls.append((number, last, "too big"))
                        self.backfill_range = max(1, self.backfill_range // 2)
                        continue
                    raise
                finally:
                    ahead = None
                assert (fetched.first, fetched.last) == (number, last)
                self.backfill_calls.append((number, last, "ok"))
                self._adapt_range(len(fetched.logs), fetched.seconds)
                following = last + 1
                if (
                    self.config.backfill_prefetch
                    and following <= end
                    and report.ingested_events + len(fetched.logs) < self.config.backfill_step_events
                ):
                    ahead = pool.submit(self._fetch_range, following, min(end, following + self.backfill_range - 1))
                generation = self.decoder.generation
                self._store_range(fetched, report)
                if ahead is not None and self.decoder.generation != generation:
                    # The range just stored announced children: the range fetched meanwhile lacks their logs.
                    wait([ahead])
                    ahead = None
                number = following
        tip = self.store.tip()
        assert tip is not None
        return tip

    def _fetch_range(self, first: int, last: int) -> _Range:
        """One range's logs and its last block's header (run in the prefetch worker: no bookkeeping here)."""
        began = time.monotonic()
        logs = self._range_logs(first, last)
        seconds = time.monotonic() - began
        header = self._block_by_number(last)
        if header is None:
            raise NodeAnswerError(
                f"the node has logs up to block {last} but not the block itself",
                hint="the follower retries on its next step",
            )
        return _Range(first, last, logs, header, seconds)

    def _range_logs(self, first: int, last: int, addresses: list[str] | None = None) -> list[dict[str, Any]]:
        addresses = self.decoder.addresses if addresses is None else addresses
        if not addresses:
            return []
        query = {"fromBlock": hex(first), "toBlock": hex(last), "address": addresses}
        if first == last or not isinstance(self.rpc, RpcClient):
            # One block cannot be split further (its logs are bounded by the block gas limit); a stand-in client
            # that only offers call() (a test double wrapping the node) is asked plainly.
            return list(self.rpc.call("eth_getLogs", query) or [])
        limit = self.config.backfill_max_logs * self.config.backfill_log_bytes
        return list(self.rpc.call_bounded("eth_getLogs", query, max_bytes=limit) or [])

    def _shrink_for(self, error: RpcResponseTooLargeError, width: int) -> None:
        """An answer over the byte limit: cut the range in proportion to the announced size (at least by half)."""
        target = width // 2
        if error.size:
            target = min(target, width * error.limit // error.size)
        self.backfill_range = max(1, target)

    def _adapt_range(self, count: int, seconds: float) -> None:
        most = self.config.backfill_max_logs
        if count > most:  # shrink in proportion, so the next range holds about `most` logs
            self.backfill_range = max(1, self.backfill_range * most // count)
        elif seconds < self.config.backfill_fast_seconds and count <= most // 2:
            self.backfill_range = min(self.config.backfill_max_range, self.backfill_range * 2)

    def _store_range(self, fetched: _Range, report: StepReport) -> None:
        # At or below the node's finalized block: stored as finalized at once (promoting them later would rewrite
        # every row a second time, as much work as inserting it).
        rows = [row for row in (self._event_row(log, "finalized") for log in fetched.logs) if row is not None]
        fetched.logs = []  # the parsed JSON is the biggest thing in memory: drop it before the insert
        rows, children = self._with_children(rows, fetched.last, "finalized")
        self.store.ingest([fetched.header], rows, children)
        self._children |= {child.address for child in children}
        report.ingested_blocks += fetched.last - fetched.first + 1
        report.ingested_events += len(rows)
        report.events.extend(rows)
        report.backfilled_to = fetched.last

    def _reorg(self, new_block: BlockRow, report: StepReport) -> None:
        # A node replaced by another chain (a fresh dev chain at the same addresses) looks like a deep reorg: the
        # identity is checked before any reorg is adopted, so two chains never mix in one store.
        self.check_chain()
        old_tip = self.store.tip()
        assert old_tip is not None
        known = self.store.block_by_hash(new_block.hash)
        branch = [] if known is not None and known.canonical else [new_block]
        cursor = new_block
        while branch:
            stored = self.store.block_by_hash(cursor.parent_hash)
            if stored is not None and stored.canonical:
                ancestor_number = stored.number
                break
            if cursor.number <= self.config.start_block:
                ancestor_number = self.config.start_block - 1  # the whole stored range was replaced
                break
            parent = self._block_by_hash(cursor.parent_hash)
            if parent is None:
                raise NodeAnswerError(
                    f"the node does not know block {cursor.parent_hash}, parent of {cursor.hash}",
                    hint="the follower retries on its next step",
                )
            branch.insert(0, parent)
            cursor = parent
        else:
            ancestor_number = new_block.number  # the chain got shorter: the new head is our own block
        finalized = int(self.store.get_meta("finalized_number") or -1)
        if ancestor_number < finalized:
            self.incidents.raise_(
                "reorg_past_finality",
                f"reorg_past_finality:{ancestor_number + 1}",
                "critical",
                f"reorg replaced blocks from {ancestor_number + 1}, at or below finalized block {finalized}",
                {"common_ancestor": ancestor_number, "finalized": finalized, "new_block": new_block.hash},
            )
            raise ReorgPastFinalityError(
                f"a reorg replaced blocks from {ancestor_number + 1}, at or below the finalized block {finalized}",
                hint="stop and investigate the node and the network; ingestion is halted until an operator acts",
            )
        depth = old_tip.number - ancestor_number
        confirmed = self.store.events_above(ancestor_number, ("confirmed", "finalized"))
        retracted = self.store.orphan_above(ancestor_number, depth=depth, old_tip=old_tip.hash, new_tip=new_block.hash)
        self._load_children()
        reorg = {
            "depth": depth,
            "common_ancestor": ancestor_number,
            "retracted_events": retracted,
            "new_blocks": len(branch),
            "old_tip": old_tip.hash,
            "new_tip": new_block.hash,
        }
        report.reorgs.append(reorg)
        report.retractions.append((len(report.events), ancestor_number))  # the rules take these events back
        # Raised before the new branch is fetched: once the old blocks are orphaned, a failure while ingesting the
        # branch (a node error, a kill) would otherwise lose the incident (the next step sees no reorg any more).
        self._reorg_incident(reorg)
        for event in confirmed:
            self._confirmed_retracted(event, reorg)
        for block in branch:
            self._ingest_block(block, self._events_of(block), report)

    def _reorg_incident(self, reorg: dict[str, Any]) -> None:
        """The reorg's incident (each reorg is its own condition, keyed by the replaced tip, so every one is in the
        log with its depth); then the store notes that this reorg was reported."""
        depth = int(reorg["depth"])
        if depth >= self.config.reorg_warning_depth:
            severity = "critical" if depth >= self.config.reorg_critical_depth else "warning"
            self.incidents.raise_(
                "reorg",
                f"reorg:{reorg['old_tip']}",
                severity,
                f"reorg of depth {depth} from block {int(reorg['common_ancestor']) + 1}",
                reorg,
            )
        self.store.set_meta("reorg_reported", str(reorg["old_tip"]))

    def _confirmed_retracted(self, event: EventRow, reorg: dict[str, Any]) -> None:
        """An event that had reached `confirmed` was taken back by a reorg: its own critical incident, naming it."""
        self.incidents.raise_(
            "confirmed_retracted",
            f"confirmed_retracted:{event.block_hash}:{event.log_index}",
            "critical",
            f"confirmed {event.event} of {event.contract} (block {event.block_number}, log {event.log_index}, "
            f"tx {event.tx_hash}) was retracted by a reorg of depth {reorg['depth']}",
            {
                "event": event.event,
                "contract": event.contract,
                "address": event.address,
                "block_number": event.block_number,
                "block_hash": event.block_hash,
                "log_index": event.log_index,
                "tx_hash": event.tx_hash,
                "args": event.args,
                "status": event.status,
                "reorg_depth": reorg["depth"],
                "old_tip": reorg["old_tip"],
            },
        )

    def _report_unreported_reorg(self) -> None:
        """A kill between recording a reorg (orphan_above) and raising its incident leaves the reorg in the store
        without its incident; only the last reorg can be in that state. Raise it now (an incident still open for it
        is updated, not paged again)."""
        last = self.store.last_reorg()
        if last is None or self.store.get_meta("reorg_reported") == last["old_tip"]:
            return
        keys = ("depth", "common_ancestor", "retracted_events", "old_tip", "new_tip")
        self._reorg_incident({**{key: last[key] for key in keys}, "recovered_after_restart": True})

    def _finalized(self, head: int) -> int:
        """The node's finalized block; on a node without the `finalized` tag (it refuses it, or answers nothing),
        the head minus ``finality_depth``, as LogPoller does."""
        if self.finalized_tag is not False:
            try:
                raw = self.rpc.call("eth_getBlockByNumber", "finalized", False)
            except RpcError as error:
                if "finalized" not in error.message.lower() and "tag" not in error.message.lower():
                    raise
                self.finalized_tag = False
                raw = None
            if raw is not None:
                self.finalized_tag = True
                return int(raw["number"], 16)
        return head - self.config.finality_depth

    def _promote(self, head: int, finalized: int) -> None:
        previous = int(self.store.get_meta("finalized_number") or -1)
        if finalized > previous:
            self.store.set_meta("finalized_number", str(finalized))
        self.store.promote(head - self.config.confirmations, max(finalized, previous))

    def run(
        self,
        poll_interval: float,
        *,
        stop: threading.Event | None = None,
        on_step: Callable[[StepReport], None] | None = None,
        outage_after: float = 30.0,
        base_backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        """Follow until ``stop`` is set. Connection errors and inconsistent node answers are retried with exponential
        backoff and full jitter; the chain identity is checked again after every reconnect; a failure lasting
        ``outage_after`` seconds opens a ``node_outage`` incident. A chain mismatch or a reorg past finality stops
        the loop (raised to the caller): those need an operator."""
        stop = stop or threading.Event()
        failures, down_since, outage_open = 0, None, False
        identity_checked = False
        while not stop.is_set():
            attempt_started = time.monotonic()
            try:
                if not identity_checked:
                    self.check_chain()
                    identity_checked = True
                report = self.step()
            except (RpcConnectionError, NodeAnswerError, RpcError) as error:
                failures += 1
                identity_checked = False
                now = time.monotonic()
                # The outage began when the first failing attempt was sent, not when it timed out: a node that
                # hangs is down for the whole timeout, and counting from the timeout's end under-reports it.
                down_since = down_since if down_since is not None else attempt_started
                self.observer.on_rpc_error(error.message, now - down_since)
                if now - down_since >= outage_after and not outage_open:
                    self.incidents.raise_(
                        "node_outage",
                        f"node_outage:{self.rpc.url_for_display}",
                        "critical",
                        f"node unreachable or inconsistent for {now - down_since:.0f}s",
                        {"error": error.message, "failures": failures},
                    )
                    outage_open = True
                stop.wait(random.uniform(0, min(max_backoff, base_backoff * 2 ** min(failures, 16))))  # noqa: S311
                continue
            if down_since is not None:
                self.last_outage_seconds = time.monotonic() - down_since
                self.observer.on_recovered(self.last_outage_seconds)
            failures, down_since, outage_open = 0, None, False
            if on_step is not None:
                on_step(report)
            stop.wait(0 if report.backfill_pending else poll_interval)
