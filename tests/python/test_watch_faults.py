"""The follow loop under node faults: a frozen node (SIGSTOP past the RPC timeout) and a node that goes away."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from web3 import Web3

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig, RpcClient
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import Follower, FollowerConfig, StepReport
from settlekit.watch.incidents import IncidentLog
from settlekit.watch.store import Store


def test_frozen_node_is_an_outage_incident_and_nothing_is_lost(
    settlekit_project, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        accounts = list(node.w3.eth.accounts)
        token = contracts.deploy(node.w3, artifacts.get("MockERC20"), "Demo", "DMO", 6, sender=accounts[0])
        store = Store.sqlite(str(tmp_path / "w.db"))
        follower = Follower(
            RpcClient(node.url, timeout=0.5),
            store,
            EventDecoder({"token": (token.address, "MockERC20")}, artifacts),
            FollowerConfig(confirmations=0),
        )
        stop = threading.Event()
        steps: list[StepReport] = []
        loop = threading.Thread(
            target=follower.run,
            args=(0.1,),
            daemon=True,
            kwargs={
                "stop": stop,
                "on_step": steps.append,
                "outage_after": 1.0,
                "base_backoff": 0.1,
                "max_backoff": 0.5,
            },
        )
        loop.start()
        try:
            contracts.transact(token.functions.mint(accounts[1], 1), sender=accounts[0])
            os.kill(node.pid, signal.SIGSTOP)  # frozen for longer than the RPC timeout and the outage threshold
            time.sleep(2.5)
            os.kill(node.pid, signal.SIGCONT)
            for amount in (2, 3):
                contracts.transact(token.functions.mint(accounts[1], amount), sender=accounts[0])
            deadline = time.monotonic() + 15
            expected = _node_logs(node.w3, token.address)
            while time.monotonic() < deadline and _stored(store) != expected:
                time.sleep(0.1)
        finally:
            stop.set()
            os.kill(node.pid, signal.SIGCONT)
            loop.join(timeout=10)
        assert _stored(store) == expected
        assert [e.args["value"] for e in store.events(event_name="Transfer")] == ["1", "2", "3"]
        outages = [i for i in IncidentLog(store).list() if i.rule == "node_outage"]
        assert len(outages) == 1
        assert outages[0].severity == "critical"
        assert follower.last_outage_seconds is not None
        # Counted from the first failing attempt's start: the whole freeze (2.5 s) less at most one poll interval
        # (0.1 s) before that attempt, not the freeze less the 0.5 s the first attempt spent timing out.
        assert follower.last_outage_seconds >= 2.5 - 0.1 - 0.1


def _node_logs(w3: Web3, address: str) -> list[tuple[str, int]]:
    logs = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": Web3.to_checksum_address(address)})
    return sorted((log["blockHash"].to_0x_hex(), int(log["logIndex"])) for log in logs)


def _stored(store: Store) -> list[tuple[str, int]]:
    return sorted((e.block_hash, e.log_index) for e in store.events())
