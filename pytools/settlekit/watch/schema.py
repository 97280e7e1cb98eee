"""The watcher's tables (SQLAlchemy Core, so SQLite and PostgreSQL share one schema) and their migrations."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

blocks = Table(
    "blocks",
    metadata,
    Column("hash", String(66), primary_key=True),
    Column("number", BigInteger, nullable=False, index=True),
    Column("parent_hash", String(66), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("canonical", Integer, nullable=False),  # 1 canonical, 0 orphaned by a reorg
)

events = Table(
    "events",
    metadata,
    Column("block_hash", String(66), primary_key=True),
    Column("log_index", Integer, primary_key=True),
    Column("block_number", BigInteger, nullable=False, index=True),
    Column("tx_hash", String(66), nullable=False),
    Column("address", String(42), nullable=False),
    Column("contract", String(64), nullable=False),
    Column("event", String(64), nullable=False, index=True),
    Column("args", Text, nullable=False),  # JSON
    # seen -> confirmed -> finalized; retracted when its block is orphaned (kept for forensics)
    Column("status", String(16), nullable=False, index=True),
)

reorgs = Table(
    "reorgs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("detected_at", BigInteger, nullable=False),
    Column("depth", Integer, nullable=False),
    Column("common_ancestor", BigInteger, nullable=False),
    Column("old_tip", String(66), nullable=False),
    Column("new_tip", String(66), nullable=False),
    Column("retracted_events", Integer, nullable=False),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(64), nullable=False),
    Column("key", String(200), nullable=False, index=True),  # the condition: one open incident per key
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # opened, acknowledged, resolved
    Column("opened_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("summary", Text, nullable=False),
    Column("details", Text, nullable=False),  # JSON
)

checkpoint = Table(
    "checkpoint",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", String(66), nullable=False),
)

# Contracts the store follows besides what the manifests name at each start: every manifest contract once its history
# is in the store (a contract added to a manifest later is backfilled from its deployment block first), and every
# child a watched contract announced (active while its announcing event is canonical).
watched = Table(
    "watched",
    metadata,
    Column("address", String(42), primary_key=True),  # lower case
    Column("label", String(64), nullable=False),
    Column("artifact", String(64), nullable=False),
    Column("kind", String(8), nullable=False),  # manifest, child
    Column("from_block", BigInteger, nullable=False),
    Column("parent", String(64)),  # children: the announcing contract's label
    Column("announced_block_hash", String(66)),  # children: the block and log of the announcement
    Column("announced_log_index", Integer),
    Column("active", Integer, nullable=False),  # 0: the announcement was reorged out
)

# Incidents waiting to be delivered (one row per incident and sink), written in the incident's own transaction and
# sent by the delivery worker: a slow or failing receiver never stalls ingestion and never loses an incident.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, nullable=False),
    Column("sink", String(200), nullable=False),
    Column("idempotency_key", String(120), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("state", String(16), nullable=False, index=True),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),  # unix milliseconds
    Column("last_error", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger),
    UniqueConstraint("idempotency_key", "sink"),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
)


def _create_v1(connection: Connection) -> None:
    metadata.create_all(connection)


def _add_watched_and_outbox_v2(connection: Connection) -> None:
    watched.create(connection, checkfirst=True)
    outbox.create(connection, checkfirst=True)


# Each migration moves the schema from version i to i + 1; never edit one that has shipped, add the next.
MIGRATIONS: list[Callable[[Connection], None]] = [_create_v1, _add_watched_and_outbox_v2]


def migrate(connection: Connection) -> int:
    """Bring the schema up to date; returns the version now in force."""
    schema_version.create(connection, checkfirst=True)
    current = connection.execute(select(schema_version.c.version)).scalar() or 0
    for version in range(current, len(MIGRATIONS)):
        MIGRATIONS[version](connection)
        connection.execute(schema_version.delete())
        connection.execute(schema_version.insert().values(version=version + 1))
    return len(MIGRATIONS)
