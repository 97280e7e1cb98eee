"""The Prometheus endpoint of the watcher, scraped over real HTTP while a follower runs against a real Anvil."""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig, RpcClient
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import Follower, FollowerConfig
from settlekit.watch.incidents import IncidentLog
from settlekit.watch.metrics import MetricsServerError, WatchMetrics, endpoint, head_timestamp_reader, serve
from settlekit.watch.store import Store

from support import wait_until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def watched(settlekit_project, artifacts: ArtifactStore, tmp_path: Path) -> Any:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        accounts = list(node.w3.eth.accounts)
        token = contracts.deploy(node.w3, artifacts.get("MockERC20"), "Demo", "DMO", 6, sender=accounts[0])
        store = Store.sqlite(str(tmp_path / "w.db"))
        metrics = WatchMetrics(store, head_timestamp_reader(node.rpc.call))
        server = serve(metrics.registry, _free_port())
        follower = Follower(
            node.rpc,
            store,
            EventDecoder({"token": (token.address, "MockERC20")}, artifacts),
            FollowerConfig(confirmations=1, max_blocks_per_step=3),
            rules=[{"name": "mint seen", "kind": "event", "event": "Transfer", "severity": "info"}],
            observer=metrics,
        )
        follower.check_chain()
        try:
            yield node, token, store, follower, server
        finally:
            server.close()


def test_metrics_follow_ingestion_reorgs_lag_and_incidents(watched: Any) -> None:
    node, token, store, follower, server = watched
    owner = node.w3.eth.accounts[0]
    for amount in (1, 2, 3, 4):
        contracts.transact(token.functions.mint(owner, amount), sender=owner)
    node.mine(6, interval=12)  # ten blocks ahead of the store, twelve seconds apart

    follower.step()  # at most three blocks per step: the watcher is behind
    behind = _scrape(server.url)
    head = node.w3.eth.block_number
    tip = store.tip()
    assert tip is not None
    assert _value(behind, "settlekit_watch_head_block") == head
    assert _value(behind, "settlekit_watch_checkpoint_block") == tip.number
    assert _value(behind, "settlekit_watch_head_lag_blocks") == head - tip.number > 0
    head_time = node.w3.eth.get_block(head)["timestamp"]
    assert _value(behind, "settlekit_watch_head_lag_seconds") == head_time - tip.timestamp > 0

    stop = threading.Event()
    runner = threading.Thread(target=follower.run, args=(0.05,), kwargs={"stop": stop})
    runner.start()
    try:

        def caught_up() -> bool:
            samples = _scrape(server.url)
            return (
                _value(samples, "settlekit_watch_checkpoint_block") == node.w3.eth.block_number
                and _value(samples, "settlekit_watch_head_lag_blocks") == 0
            )

        assert wait_until(caught_up, timeout=15)
        # The last three (empty) blocks replaced; a self-transfer in the first new block makes sure they differ
        # (anvil may rebuild an empty block identical to the one it replaces).
        sender = node.w3.eth.accounts[9]
        node.reorg(3, [({"from": sender, "to": sender, "value": 1}, 0)])
        assert wait_until(
            lambda: _value(_scrape(server.url), "settlekit_watch_reorg_depth_blocks_count") == 1, timeout=15
        )
        assert wait_until(caught_up, timeout=15)
    finally:
        stop.set()
        runner.join(timeout=10)

    samples = _scrape(server.url)
    assert _value(samples, "settlekit_watch_head_lag_seconds") == 0
    # Counts equal the store's: every stored block and event row was ingested once by this watcher.
    with store.engine.begin() as connection:
        stored_blocks = connection.exec_driver_sql("SELECT count(*) FROM blocks").scalar_one()
    assert _value(samples, "settlekit_watch_blocks_ingested_total") == stored_blocks
    assert (
        _value(samples, "settlekit_watch_events_ingested_total", contract="token", event="Transfer")
        == store.count_events()
    )
    assert store.count_events() == 4
    # Depth 3: counted in the buckets from le=3 up, not in le=2.
    assert _value(samples, "settlekit_watch_reorg_depth_blocks_bucket", le="2.0") == 0
    assert _value(samples, "settlekit_watch_reorg_depth_blocks_bucket", le="3.0") == 1
    assert _value(samples, "settlekit_watch_reorg_depth_blocks_sum") == 3
    assert [r["depth"] for r in store.reorg_log()] == [3]

    log = IncidentLog(store)
    open_by_severity = Counter(i.severity for i in log.list(open_only=True))
    assert open_by_severity["warning"] == 1  # the reorg
    for severity in ("info", "warning", "critical"):
        assert _value(samples, "settlekit_watch_incidents_open", severity=severity) == open_by_severity[severity]
    reorg_incident = next(i for i in log.list() if i.rule == "reorg")
    log.resolve(reorg_incident.id)  # read at each scrape: a resolution by anyone shows at once
    assert _value(_scrape(server.url), "settlekit_watch_incidents_open", severity="warning") == 0


def test_node_failures_count_as_rpc_errors_and_outage_seconds(tmp_path: Path, artifacts: ArtifactStore) -> None:
    store = Store.sqlite(str(tmp_path / "w.db"))
    metrics = WatchMetrics(store)
    server = serve(metrics.registry, 0)  # any free port
    dead = RpcClient(f"http://127.0.0.1:{_free_port()}", timeout=0.2)  # nothing listens there
    follower = Follower(dead, store, EventDecoder({}, artifacts), observer=metrics)
    stop = threading.Event()
    runner = threading.Thread(
        target=follower.run, args=(0.05,), kwargs={"stop": stop, "base_backoff": 0.01, "max_backoff": 0.05}
    )
    runner.start()
    try:
        assert wait_until(lambda: _value(_scrape(server.url), "settlekit_watch_rpc_errors_total") >= 3, timeout=10)
        samples = _scrape(server.url)
        assert _value(samples, "settlekit_watch_outage_seconds") > 0
        assert _value(samples, "settlekit_watch_steps_total") == 0
    finally:
        stop.set()
        runner.join(timeout=10)
        server.close()


def test_metrics_are_off_by_default_and_the_toml_or_port_turns_them_on() -> None:
    assert endpoint({}) is None
    assert endpoint({"enabled": False, "port": 9464}) is None
    assert endpoint({"enabled": True, "port": 9464}) == ("127.0.0.1", 9464)
    assert endpoint({}, port=9100, host="0.0.0.0") == ("0.0.0.0", 9100)
    with pytest.raises(MetricsServerError, match="unknown keys: prot"):
        endpoint({"prot": 1})
    with pytest.raises(MetricsServerError, match="not a TCP port"):
        endpoint({"enabled": True})
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    try:
        with pytest.raises(MetricsServerError, match="cannot serve metrics"):
            serve(WatchMetrics().registry, held.getsockname()[1])
    finally:
        held.close()
