"""The event store: blocks, decoded events, reorgs, incidents and the checkpoint, in SQLite (default, WAL mode) or
PostgreSQL. Writes are idempotent (events keyed by block hash and log index), so re-ingesting after a crash
duplicates nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from eth_utils.address import to_checksum_address
from sqlalchemy import Engine, create_engine, event, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url

from settlekit.chain.rpc import redact_url
from settlekit.exceptions import SettlekitError
from settlekit.extras import require
from settlekit.watch import schema


# slots: a backfill step holds tens of thousands of these at once (StepReport.events); no per-row __dict__
@dataclass(frozen=True, slots=True)
class BlockRow:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    canonical: bool


@dataclass(frozen=True, slots=True)
class EventRow:
    block_hash: str
    log_index: int
    block_number: int
    tx_hash: str
    address: str
    contract: str
    event: str
    args: dict[str, Any]
    status: str


@dataclass(frozen=True, slots=True)
class WatchedRow:
    """A contract the store follows beyond the manifests' own list (see schema.watched)."""

    address: str  # lower case
    label: str
    artifact: str
    kind: str  # manifest, child
    from_block: int
    parent: str | None = None
    announced_block_hash: str | None = None
    announced_log_index: int | None = None
    active: bool = True


# The events insert of the write path, per driver parameter style (sqlite3: qmark; psycopg: format).
_INSERT_EVENTS_QMARK = (
    "INSERT INTO events (block_hash, log_index, block_number, tx_hash, address, contract, event, args, status) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (block_hash, log_index) DO NOTHING"
)
_INSERT_EVENTS_FORMAT = _INSERT_EVENTS_QMARK.replace("?", "%s")
# One encoder for every row: json.dumps(..., sort_keys=True) builds a new JSONEncoder on each call.
_args_json = json.JSONEncoder(sort_keys=True).encode
# The arguments' keys in the order the decoder inserts them -> (key, its JSON prefix) sorted by key. Bounded: the
# number of distinct event layouts watched, and anything past the bound is encoded by json itself.
_KEY_ORDERS: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}
_MAX_KEY_ORDERS = 1_024


def _key_order(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...] | None:
    order = _KEY_ORDERS.get(keys)
    if order is None:
        if len(_KEY_ORDERS) >= _MAX_KEY_ORDERS or not all(_plain(key) for key in keys):
            return None
        order = _KEY_ORDERS[keys] = tuple((key, f'"{key}": ') for key in sorted(keys))
    return order


def _plain(text: str) -> bool:
    """Text that JSON writes as is between quotes (no escapes): what the decoder's names and hex values are."""
    return text.isascii() and text.replace("_", "a").isalnum()


def _encode_args(args: dict[str, Any]) -> str:
    """Exactly ``_args_json(args)`` (sorted keys, ", " and ": "), built directly for what the decoder produces (a
    flat dict of ints and hex or checksummed strings): about twice as fast as the encoder on a backfill's rows.
    Any other value (bool, float, None, list, a string needing escapes) goes to the encoder."""
    order = _key_order(tuple(args))
    if order is None:
        return _args_json(args)
    parts = []
    for key, prefix in order:
        value = args[key]
        kind = type(value)
        if kind is int:
            parts.append(f"{prefix}{value}")
        elif kind is str and value.isascii() and value.isalnum():  # hex, checksummed: no escapes
            parts.append(f'{prefix}"{value}"')
        else:
            return _args_json(args)
    return "{" + ", ".join(parts) + "}"


class WriterLockError(SettlekitError):
    """Another watcher holds the store's writer lock."""


# The key of the watcher's PostgreSQL advisory lock (advisory locks are per database: one writer per store).
_ADVISORY_KEY = int.from_bytes(b"skwatch1", "big") & 0x7FFF_FFFF_FFFF_FFFF


class WriterLock:
    """One writer per store: a PostgreSQL session-level advisory lock, or an exclusive ``flock`` on
    ``<database file>.lock`` for SQLite. Held until :meth:`release` or the process ends (a ``kill -9`` releases
    both: the kernel drops the flock, PostgreSQL ends the session)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._connection: Connection | None = None
        self._file: IO[str] | None = None

    def acquire(self) -> WriterLock:
        display = redact_url(self.store.url) if self.store.url.startswith("postgres") else self.store.url
        if self.store.engine.dialect.name == "postgresql":
            connection = self.store.engine.connect()
            got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _ADVISORY_KEY}).scalar()
            connection.commit()
            if not got:
                connection.close()
                raise WriterLockError(
                    f"another watcher is writing to {display} (its PostgreSQL advisory lock is held)",
                    hint="stop the other `settlekit watch` on this store, or give this one another --store",
                )
            self._connection = connection
            return self
        database = self.store.engine.url.database
        if not database or database == ":memory:":
            return self
        path = Path(database).with_name(Path(database).name + ".lock")
        handle = path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise WriterLockError(
                f"another watcher (pid {holder}) is writing to {display} (lock file {path})",
                hint="stop the other `settlekit watch` on this store, or give this one another --store",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._connection is not None:
            # the connection goes back to the pool, session and all: unlock explicitly
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_KEY})
            self._connection.commit()
            self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Store:
    """One store; every public method is one transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        if make_url(url).get_backend_name() == "postgresql":
            require("psycopg", "a PostgreSQL watch store")
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        with self.engine.begin() as connection:
            self.version = schema.migrate(connection)

    @classmethod
    def sqlite(cls, path: str) -> Store:
        return cls(f"sqlite:///{path}")

    def close(self) -> None:
        self.engine.dispose()

    def writer_lock(self) -> WriterLock:
        """Take the store's writer lock (:class:`WriterLockError` if another watcher holds it)."""
        return WriterLock(self).acquire()

    # --- helpers ---------------------------------------------------------------------------------------------

    def _insert_ignore(
        self, connection: Connection, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str]
    ) -> None:
        if not rows:
            return
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys))
        connection.execute(statement, list(rows))

    def _insert_events(self, connection: Connection, events: Iterable[EventRow]) -> None:
        """Insert events, skipping those already stored, as one executemany of plain tuples on the driver: the
        hot path of a backfill, where building a dict per row and SQLAlchemy's per-row parameter processing cost
        more than SQLite's work. ON CONFLICT DO NOTHING is the same SQL on SQLite and PostgreSQL."""
        rows = [
            (
                e.block_hash,
                e.log_index,
                e.block_number,
                e.tx_hash,
                e.address,
                e.contract,
                e.event,
                _encode_args(e.args),
                e.status,
            )
            for e in events
        ]
        if rows:
            qmark = self.engine.dialect.paramstyle == "qmark"
            connection.exec_driver_sql(_INSERT_EVENTS_QMARK if qmark else _INSERT_EVENTS_FORMAT, rows)

    # --- meta ------------------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self.engine.begin() as connection:
            value = connection.execute(select(schema.meta.c.value).where(schema.meta.c.key == key)).scalar()
            return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(schema.meta.delete().where(schema.meta.c.key == key))
            connection.execute(schema.meta.insert().values(key=key, value=value))

    # --- blocks and events -----------------------------------------------------------------------------------

    def tip(self) -> BlockRow | None:
        """The highest canonical block."""
        with self.engine.begin() as connection:
            row = connection.execute(
                select(schema.blocks)
                .where(schema.blocks.c.canonical == 1)
                .order_by(schema.blocks.c.number.desc())
                .limit(1)
            ).first()
        return (
            None if row is None else BlockRow(row.number, row.hash, row.parent_hash, row.timestamp, bool(row.canonical))
        )

    def canonical_block(self, number: int) -> BlockRow | None:
        with self.engine.begin() as connection:
            row = connection.execute(
                select(schema.blocks).where(schema.blocks.c.number == number, schema.blocks.c.canonical == 1)
            ).first()
        return None if row is None else BlockRow(row.number, row.hash, row.parent_hash, row.timestamp, True)

    def block_by_hash(self, block_hash: str) -> BlockRow | None:
        with self.engine.begin() as connection:
            row = connection.execute(select(schema.blocks).where(schema.blocks.c.hash == block_hash)).first()
        return (
            None if row is None else BlockRow(row.number, row.hash, row.parent_hash, row.timestamp, bool(row.canonical))
        )

    def ingest(
        self, blocks: Iterable[BlockRow], events: Iterable[EventRow], watched: Iterable[WatchedRow] = ()
    ) -> None:
        """Store blocks and their events and move the checkpoint to the last block, in one transaction; with
        ``watched``, also record the contracts those events announced (or whose history they complete), so a kill
        can never keep an announcing event without its child."""
        block_list = list(blocks)
        block_rows = [
            {"hash": b.hash, "number": b.number, "parent_hash": b.parent_hash, "timestamp": b.timestamp, "canonical": 1}
            for b in block_list
        ]
        with self.engine.begin() as connection:
            self._insert_ignore(connection, schema.blocks, block_rows, ["hash"])
            # A block seen before as orphaned can become canonical again (a reorg back to it).
            if block_rows:
                hashes = [row["hash"] for row in block_rows]
                connection.execute(update(schema.blocks).where(schema.blocks.c.hash.in_(hashes)).values(canonical=1))
                connection.execute(
                    update(schema.events)
                    .where(schema.events.c.block_hash.in_(hashes), schema.events.c.status == "retracted")
                    .values(status="seen")
                )
            self._insert_events(connection, events)
            self._upsert_watched(connection, list(watched))
            if block_list:
                last = max(block_list, key=lambda block: block.number)
                connection.execute(schema.checkpoint.delete())
                connection.execute(
                    schema.checkpoint.insert().values(id=1, block_number=last.number, block_hash=last.hash)
                )

    def _upsert_watched(self, connection: Connection, rows: list[WatchedRow]) -> None:
        if not rows:
            return
        addresses = [row.address.lower() for row in rows]
        connection.execute(schema.watched.delete().where(schema.watched.c.address.in_(addresses)))
        connection.execute(
            schema.watched.insert(),
            [
                {
                    "address": row.address.lower(),
                    "label": row.label,
                    "artifact": row.artifact,
                    "kind": row.kind,
                    "from_block": row.from_block,
                    "parent": row.parent,
                    "announced_block_hash": row.announced_block_hash,
                    "announced_log_index": row.announced_log_index,
                    "active": 1 if row.active else 0,
                }
                for row in rows
            ],
        )

    def watched(self, *, kind: str | None = None, active_only: bool = True) -> list[WatchedRow]:
        query = select(schema.watched).order_by(schema.watched.c.from_block, schema.watched.c.address)
        if kind is not None:
            query = query.where(schema.watched.c.kind == kind)
        if active_only:
            query = query.where(schema.watched.c.active == 1)
        with self.engine.begin() as connection:
            return [
                WatchedRow(
                    r.address,
                    r.label,
                    r.artifact,
                    r.kind,
                    r.from_block,
                    r.parent,
                    r.announced_block_hash,
                    r.announced_log_index,
                    bool(r.active),
                )
                for r in connection.execute(query)
            ]

    def orphan_above(self, ancestor_number: int, *, depth: int, old_tip: str, new_tip: str) -> int:
        """Mark canonical blocks above ``ancestor_number`` orphaned and retract their events; record the reorg.
        Returns the number of events retracted."""
        with self.engine.begin() as connection:
            orphaned = [
                row.hash
                for row in connection.execute(
                    select(schema.blocks.c.hash).where(
                        schema.blocks.c.number > ancestor_number, schema.blocks.c.canonical == 1
                    )
                )
            ]
            retracted = 0
            if orphaned:
                connection.execute(update(schema.blocks).where(schema.blocks.c.hash.in_(orphaned)).values(canonical=0))
                result = connection.execute(
                    update(schema.events).where(schema.events.c.block_hash.in_(orphaned)).values(status="retracted")
                )
                retracted = int(result.rowcount or 0)
                # Children announced in the orphaned blocks go with their announcement, and all they emitted.
                gone = [
                    row.address
                    for row in connection.execute(
                        select(schema.watched.c.address).where(
                            schema.watched.c.kind == "child",
                            schema.watched.c.active == 1,
                            schema.watched.c.announced_block_hash.in_(orphaned),
                        )
                    )
                ]
                if gone:
                    connection.execute(
                        update(schema.watched).where(schema.watched.c.address.in_(gone)).values(active=0)
                    )
                    spellings = [*gone, *(to_checksum_address(address) for address in gone)]
                    result = connection.execute(
                        update(schema.events)
                        .where(schema.events.c.address.in_(spellings), schema.events.c.status != "retracted")
                        .values(status="retracted")
                    )
                    retracted += int(result.rowcount or 0)
            connection.execute(
                schema.reorgs.insert().values(
                    detected_at=int(time.time()),
                    depth=depth,
                    common_ancestor=ancestor_number,
                    old_tip=old_tip,
                    new_tip=new_tip,
                    retracted_events=retracted,
                )
            )
            return retracted

    def promote(self, confirmed_at_or_below: int, finalized_at_or_below: int) -> None:
        """seen -> confirmed, and seen/confirmed -> finalized, for canonical events at those heights."""
        with self.engine.begin() as connection:
            connection.execute(
                update(schema.events)
                .where(
                    schema.events.c.status.in_(["seen", "confirmed"]),
                    schema.events.c.block_number <= finalized_at_or_below,
                )
                .values(status="finalized")
            )
            connection.execute(
                update(schema.events)
                .where(schema.events.c.status == "seen", schema.events.c.block_number <= confirmed_at_or_below)
                .values(status="confirmed")
            )

    def events(
        self,
        *,
        canonical_only: bool = True,
        contract: str | None = None,
        event_name: str | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
    ) -> list[EventRow]:
        query = select(schema.events).order_by(schema.events.c.block_number, schema.events.c.log_index)
        if canonical_only:
            query = query.where(schema.events.c.status != "retracted")
        if contract is not None:
            query = query.where(schema.events.c.contract == contract)
        if event_name is not None:
            query = query.where(schema.events.c.event == event_name)
        if from_block is not None:
            query = query.where(schema.events.c.block_number >= from_block)
        if to_block is not None:
            query = query.where(schema.events.c.block_number <= to_block)
        with self.engine.begin() as connection:
            return [
                EventRow(
                    r.block_hash,
                    r.log_index,
                    r.block_number,
                    r.tx_hash,
                    r.address,
                    r.contract,
                    r.event,
                    json.loads(r.args),
                    r.status,
                )
                for r in connection.execute(query)
            ]

    def events_above(self, number: int, statuses: Sequence[str]) -> list[EventRow]:
        """Events above block ``number`` in one of ``statuses`` (what a reorg down to ``number`` would retract)."""
        query = (
            select(schema.events)
            .where(schema.events.c.block_number > number, schema.events.c.status.in_(list(statuses)))
            .order_by(schema.events.c.block_number, schema.events.c.log_index)
        )
        with self.engine.begin() as connection:
            return [
                EventRow(
                    r.block_hash,
                    r.log_index,
                    r.block_number,
                    r.tx_hash,
                    r.address,
                    r.contract,
                    r.event,
                    json.loads(r.args),
                    r.status,
                )
                for r in connection.execute(query)
            ]

    def last_reorg(self) -> dict[str, Any] | None:
        """The most recently recorded reorg, or None."""
        with self.engine.begin() as connection:
            row = connection.execute(select(schema.reorgs).order_by(schema.reorgs.c.id.desc()).limit(1)).first()
        return None if row is None else dict(row._mapping)

    def reorg_log(self) -> list[dict[str, Any]]:
        with self.engine.begin() as connection:
            return [
                dict(row._mapping) for row in connection.execute(select(schema.reorgs).order_by(schema.reorgs.c.id))
            ]

    def count_events(self, status: str | None = None) -> int:
        query = select(func.count()).select_from(schema.events)
        if status is not None:
            query = query.where(schema.events.c.status == status)
        with self.engine.begin() as connection:
            return int(connection.execute(query).scalar() or 0)
