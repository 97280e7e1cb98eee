"""pytest fixtures for contracts and chains (registered through the ``pytest11`` entry point).

- ``settlekit_project``: the project around the tests.
- ``artifacts``: contracts compiled once per session (``forge build``), as an :class:`ArtifactStore`.
- ``anvil_session``: one Anvil per session (a free port, bound to die with pytest).
- ``anvil``: that Anvil with per-test isolation: a snapshot before the test, reverted after it.
- ``tester_w3``: an in-process eth-tester (py-evm) web3 for tests that need no Anvil; a fresh chain per test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import EthereumTesterProvider, Web3

from settlekit.build import ArtifactStore, build
from settlekit.chain import Anvil, AnvilConfig
from settlekit.extras import require
from settlekit.project import Project


@pytest.fixture(scope="session")
def settlekit_project() -> Project:
    return Project.discover()


@pytest.fixture(scope="session")
def artifacts(settlekit_project: Project) -> ArtifactStore:
    build(settlekit_project)
    return ArtifactStore(settlekit_project.out_dir)


@pytest.fixture(scope="session")
def anvil_session(settlekit_project: Project) -> Iterator[Anvil]:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        yield node


@pytest.fixture
def anvil(anvil_session: Anvil) -> Iterator[Anvil]:
    """The session's Anvil, returned to its state from before the test when the test ends."""
    snapshot = anvil_session.snapshot()
    automine = bool(anvil_session.rpc.call("anvil_getAutomine"))
    try:
        yield anvil_session
    finally:
        anvil_session.revert(snapshot)
        anvil_session.set_automine(automine)


@pytest.fixture
def tester_w3() -> Web3:
    """A fresh in-process chain (eth-tester with py-evm, extra ``settlekit[tester]``); accounts[0] is the default
    sender."""
    require("eth_tester", "the tester_w3 fixture (an in-process chain)")
    w3 = Web3(EthereumTesterProvider())
    w3.eth.default_account = w3.eth.accounts[0]
    return w3
