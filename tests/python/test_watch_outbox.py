"""The durable outbox and its delivery worker against a real local HTTP receiver: slow, answering 500, asking to
retry later, down then up; signed webhooks, Slack and Discord bodies; metrics; a worker killed and restarted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from receiver import Received, Receiver

from settlekit.watch.incidents import IncidentLog
from settlekit.watch.metrics import WatchMetrics, serve
from settlekit.watch.outbox import DeliveryWorker, HttpSink, counts, verify_signature
from settlekit.watch.store import Store

from support import wait_until


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


def _log(store: Store, *sinks: HttpSink, worker: DeliveryWorker | None = None) -> IncidentLog:
    log = IncidentLog(store)
    log.deliver_to([sink.name for sink in sinks], worker.wake if worker else None)
    return log


def _raise(log: IncidentLog, n: int) -> list[int]:
    return [log.raise_("deficit", f"deficit:{i}", "critical", f"deficit {i}", {"i": i}).id for i in range(n)]


def _worker(store: Store, *sinks: HttpSink, **options: Any) -> DeliveryWorker:
    return DeliveryWorker(store, sinks, base_delay=0.05, max_delay=0.5, poll_interval=0.05, **options)


def test_a_receiver_answering_500_gets_every_incident_once_accepted(store: Store) -> None:
    receiver = Receiver(lambda n, _r: (500, {}, 0.0) if n <= 4 else (200, {}, 0.0)).start()
    sink = HttpSink("webhook", receiver.url)
    worker = _worker(store, sink)
    ids = _raise(_log(store, sink, worker=worker), 3)
    worker.start()
    try:
        assert wait_until(lambda: counts(store)["delivered"] == 3, timeout=20)
    finally:
        worker.stop()
        receiver.stop()
    accepted = receiver.accepted()
    assert sorted(accepted.values()) == [1, 1, 1]  # exactly once accepted per incident
    assert {r.json["id"] for r in receiver.received if r.status == 200} == set(ids)
    assert all(r.json["idempotency_key"] == r.key for r in receiver.received)
    assert len(receiver.received) == 7  # 4 refusals, retried


def test_retry_after_is_honoured(store: Store) -> None:
    receiver = Receiver(lambda n, _r: (429, {"Retry-After": "2"}, 0.0) if n == 1 else (200, {}, 0.0)).start()
    sink = HttpSink("webhook", receiver.url)
    worker = _worker(store, sink)
    _raise(_log(store, sink), 1)
    worker.start()
    try:
        assert wait_until(lambda: counts(store)["delivered"] == 1, timeout=20)
    finally:
        worker.stop()
        receiver.stop()
    first, second = receiver.received
    assert second.at - first.at >= 1.9  # the backoff alone would have retried within 0.05 s
    assert first.key == second.key


def test_a_receiver_down_then_up_loses_nothing_and_metrics_count_pending(store: Store) -> None:
    receiver = Receiver()  # a port nobody listens on yet
    sink = HttpSink("webhook", receiver.url, timeout=1.0)
    worker = _worker(store, sink)
    _raise(_log(store, sink), 2)
    metrics = WatchMetrics(store)
    server = serve(metrics.registry, 0)
    worker.start()
    try:
        time.sleep(1.0)
        assert counts(store) == {"pending": 2, "delivered": 0, "failed": 0}
        page = requests.get(server.url, timeout=5).text
        assert 'settlekit_watch_outbox{state="pending"} 2.0' in page
        receiver.start()
        assert wait_until(lambda: counts(store)["delivered"] == 2, timeout=20)
        page = requests.get(server.url, timeout=5).text
        assert 'settlekit_watch_outbox{state="pending"} 0.0' in page
        assert 'settlekit_watch_outbox{state="delivered"} 2.0' in page
    finally:
        worker.stop()
        receiver.stop()
        server.close()
    assert sorted(receiver.accepted().values()) == [1, 1]


def test_a_slow_receiver_never_stalls_the_incident_log_and_a_restarted_worker_finishes(store: Store) -> None:
    receiver = Receiver(lambda _n, _r: (200, {}, 1.5)).start()
    sink = HttpSink("webhook", receiver.url)
    worker = _worker(store, sink)
    log = _log(store, sink, worker=worker)
    worker.start()
    try:
        began = time.monotonic()
        _raise(log, 4)  # what the follower does while ingesting
        assert time.monotonic() - began < 1.0  # 4 slow deliveries would take 6 s in the follower's thread
        assert wait_until(lambda: counts(store)["delivered"] >= 1, timeout=10)
        worker.stop()  # killed mid-way: the rest stays pending in the store
        assert counts(store)["pending"] >= 1
        again = _worker(store, HttpSink("webhook", receiver.url)).start()  # a new process, the same sink
        assert wait_until(lambda: counts(store)["delivered"] == 4, timeout=20)
        again.stop()
    finally:
        receiver.stop()
    assert sorted(receiver.accepted().values()) == [1, 1, 1, 1]


def test_a_4xx_fails_at_once_and_is_counted(store: Store) -> None:
    receiver = Receiver(lambda _n, _r: (404, {}, 0.0)).start()
    sink = HttpSink("webhook", receiver.url)
    _raise(_log(store, sink), 1)
    worker = _worker(store, sink)
    worker.run_once()
    receiver.stop()
    assert counts(store) == {"pending": 0, "delivered": 0, "failed": 1}
    assert len(receiver.received) == 1


def test_signed_webhooks_and_slack_and_discord_bodies(store: Store) -> None:
    receiver = Receiver().start()
    secret = b"s3cret-for-tests"
    sinks = [
        HttpSink("webhook", receiver.url, secret=secret),
        HttpSink("slack", receiver.url + "/slack"),
        HttpSink("discord", receiver.url + "/discord"),
    ]
    (incident_id,) = _raise(_log(store, *sinks), 1)
    _worker(store, *sinks).run_once()
    receiver.stop()
    by_kind: dict[str, Received] = {}
    for request in receiver.received:
        body = request.json
        kind = "webhook" if "id" in body else "slack" if "text" in body else "discord"
        by_kind[kind] = request
    webhook = by_kind["webhook"]
    assert verify_signature(
        secret, webhook.headers["X-Settlekit-Timestamp"], webhook.body, webhook.headers["X-Settlekit-Signature"]
    )
    assert not verify_signature(b"other", webhook.headers["X-Settlekit-Timestamp"], webhook.body, "sha256=00")
    assert webhook.json["id"] == incident_id
    assert f"CRITICAL #{incident_id} deficit: deficit 0" in by_kind["slack"].json["text"]
    assert f"#{incident_id} deficit" in by_kind["discord"].json["content"]
    assert {r.key for r in receiver.received} == {webhook.key}  # one key per incident, whatever the sink
    assert "s3cret" not in str(counts(store))
    assert all("s3cret" not in s.name for s in sinks)


def test_an_updated_incident_is_not_delivered_again(store: Store) -> None:
    receiver = Receiver().start()
    sink = HttpSink("webhook", receiver.url)
    log = _log(store, sink)
    for _ in range(3):
        log.raise_("deficit", "deficit:same", "critical", "deficit", {})
    _worker(store, sink).run_once()
    receiver.stop()
    assert len(receiver.received) == 1


def test_settlekit_watch_delivers_a_reorg_incident_signed_and_prints_it_as_a_line(
    anvil: Any, artifacts: Any, tmp_path: Any
) -> None:
    from settlekit import contracts
    from settlekit.deploy.executor import Deployer
    from settlekit.deploy.keys import dev_signer
    from settlekit.deploy.plan import load_plan

    from support import REPO, cli_env, run_cli

    plan = load_plan(REPO / "settlekit.toml")
    result = Deployer(
        anvil.w3, dev_signer(0), plan.deployment("safety"), plan.network("local"), artifacts, root=tmp_path / "d"
    ).run()
    token = anvil.w3.eth.contract(address=result.addresses["collateral"], abi=artifacts.get("MockERC20").abi)
    accounts = list(anvil.w3.eth.accounts)
    for amount in (5, 6):
        contracts.transact(token.functions.mint(accounts[1], amount), sender=accounts[0])
    receiver = Receiver().start()
    store_url = f"sqlite:///{tmp_path / 'watch.db'}"
    watch = ["watch", "--manifest", str(result.manifest), "--rpc-url", anvil.url, "--store", store_url, "--once"]
    watch += ["--sink", f"webhook:{receiver.url}", "--webhook-secret-env", "HOOK_KEY"]
    env = cli_env(HOOK_KEY="k3y-for-tests")
    try:
        assert run_cli(*watch, env=env).returncode == 0
        anvil.reorg(2)
        second = run_cli(*watch, env=env)
    finally:
        receiver.stop()
    assert second.returncode == 0, second.stderr
    reorgs = [r for r in receiver.received if r.json.get("rule") == "reorg"]
    assert len(reorgs) == 1
    (hook,) = reorgs
    assert verify_signature(
        b"k3y-for-tests", hook.headers["X-Settlekit-Timestamp"], hook.body, hook.headers["X-Settlekit-Signature"]
    )
    assert f"WARNING  #{hook.json['id']} reorg: reorg of depth 2" in second.stderr
    assert "k3y-for-tests" not in second.stderr + second.stdout
    assert counts(Store(store_url))["pending"] == 0
