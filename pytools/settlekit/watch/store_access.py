"""Opening the watch store from a URL, with one clear error for each way that fails.

``settlekit watch`` creates its store (in a folder that must exist); the read commands (``events``,
``incidents``) open only a store that exists and has settlekit's tables, so a mistyped ``--store`` is an error
instead of a new empty store that answers "0 events".
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError, SQLAlchemyError

from settlekit.exceptions import StoreError
from settlekit.extras import require
from settlekit.project import Project
from settlekit.watch.store import Store

STORE_TABLE = "schema_version"  # every settlekit store has it from its first migration
DEFAULT_STORE = ".settlekit/watch.db"


def default_store_url(project: Project, *, create: bool) -> str:
    """``sqlite:///<project>/.settlekit/watch.db``; the folder is made only when the store may be created."""
    path = project.root / DEFAULT_STORE
    if create:
        path.parent.mkdir(exist_ok=True)
    return f"sqlite:///{path}"


def shown(url: str) -> str:
    """The URL with any password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url.rsplit("@", maxsplit=1)[-1] if "@" in url else url


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreError(f"the store URL {shown(url)!r} is not a database URL") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"the store URL {shown(url)!r} is neither SQLite nor PostgreSQL")
    return parsed


def _sqlite_file(parsed: URL, *, create: bool) -> None:
    database = parsed.database or ""
    if database in ("", ":memory:"):
        if not create:
            raise StoreError("an in-memory SQLite store holds no events", hint="pass the --store that watch wrote")
        return
    path = Path(database)
    if create:
        if not path.parent.is_dir():
            raise StoreError(
                f"the store folder {path.parent} does not exist",
                hint=f"create it (mkdir -p {path.parent}) or pass another --store",
            )
    elif not path.is_file():
        raise StoreError(
            f"no watch store at {path}",
            hint="run settlekit watch first (it creates the store), or pass the --store it writes to",
        )


def _failure(url: str, error: SQLAlchemyError) -> StoreError:
    """The store error for a failed connection or query, from the driver's first line."""
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0] if str(error).strip() else ""
    where = shown(url)
    if "does not exist" in detail and "database" in detail:
        name = make_url(url).database
        return StoreError(f"{detail} (store {where})", hint=f"create the database (createdb {name}) or fix --store")
    if "not a database" in detail:
        return StoreError(f"{where} is not a SQLite database", hint="pass the path of the store settlekit watch wrote")
    if isinstance(error, OperationalError) and make_url(url).get_backend_name() == "postgresql":
        return StoreError(
            f"PostgreSQL at {where} is not reachable: {detail}",
            hint="start PostgreSQL, or correct the host, port, user and database in --store",
        )
    return StoreError(f"the store {where} cannot be opened: {detail}")


def _has_schema(url: str) -> bool:
    engine = create_engine(url)
    try:
        return inspect(engine).has_table(STORE_TABLE)
    finally:
        engine.dispose()


def open_store(url: str, *, create: bool) -> Store:
    """The store at ``url``. ``create``: make it (and its tables) if missing; otherwise it must exist."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_file(parsed, create=create)
    else:
        require("psycopg", "a PostgreSQL watch store")  # before any engine: a missing extra names its extra
    try:
        if not create and not _has_schema(url):
            raise StoreError(
                f"{shown(url)} is not a settlekit watch store (it has no {STORE_TABLE} table)",
                hint="pass the --store that settlekit watch writes to",
            )
        return Store(url)
    except NoSuchModuleError:
        raise StoreError(f"no database driver for the store URL {shown(url)!r}") from None
    except (OperationalError, DatabaseError) as error:
        raise _failure(url, error) from None
