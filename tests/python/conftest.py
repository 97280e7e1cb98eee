"""Fixtures for settlekit's own Python tests (the generic ones come from the settlekit pytest plugin)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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
