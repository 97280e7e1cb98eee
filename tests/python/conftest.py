"""Fixtures for settlekit's own Python tests (the generic ones come from the settlekit pytest plugin)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from postgres_server import postgres_server
from support import ChainUp, cli_env


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """A private registry folder, so tests never see chains from other tests or from the user's shell."""
    path = tmp_path / "state"
    path.mkdir()
    return path


@pytest.fixture
def chain_up(state_dir: Path) -> Iterator[Callable[..., ChainUp]]:
    """Start `settlekit chain up --json` processes; any still running are killed at the end of the test."""
    started: list[ChainUp] = []

    def start(*args: str, **env: str) -> ChainUp:
        chain = ChainUp(cli_env(state_dir, **env), *args)
        started.append(chain)
        return chain

    yield start
    for chain in started:
        chain.kill()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for the session (installed and started by the tests themselves)."""
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store: a SQLite file, or a new database on the session's real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'watch.db'}"
    import uuid

    import psycopg

    server_url: str = request.getfixturevalue("postgres_url")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    return server_url.rsplit("/", 1)[0] + "/" + name
