"""The guardian action against a real Anvil: a critical incident raises the circuit breaker once, never lowers it;
the dry run sends nothing; a key that is not the guardian becomes a critical incident with the revert decoded."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig
from settlekit.chain.dev_accounts import dev_account
from settlekit.cli import watch_cmd
from settlekit.deploy.executor import Deployer
from settlekit.deploy.keys import KeyUseError, dev_signer, from_private_key_env
from settlekit.deploy.plan import load_plan
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import Follower, FollowerConfig
from settlekit.watch.guardian import (
    Guardian,
    GuardianConfig,
    GuardianConfigError,
    Target,
    guardian_signer,
    targets_from_manifest,
)
from settlekit.watch.incidents import IncidentLog
from settlekit.watch.store import Store

from support import REPO, SETTLEKIT, cli_env, wait_until

CRITICAL_MINT = {"name": "critical mint", "kind": "event", "event": "Transfer", "severity": "critical"}
GUARDIAN_KEY = "0x" + bytes(dev_account(1).key).hex()  # Anvil's account 1, the harness's guardian


class Chain:
    def __init__(self, node: Anvil, artifacts: ArtifactStore, tmp_path: Path) -> None:
        self.node = node
        self.w3 = node.w3
        self.accounts = list(node.w3.eth.accounts)
        owner = self.accounts[0]
        self.harness = contracts.deploy(node.w3, artifacts.get("SafetyHarness"), self.accounts[1], sender=owner)
        self.token = contracts.deploy(node.w3, artifacts.get("MockERC20"), "Demo", "DMO", 6, sender=owner)
        self.store = Store.sqlite(str(tmp_path / "w.db"))
        self.decoder = EventDecoder(
            {"harness": (self.harness.address, "SafetyHarness"), "token": (self.token.address, "MockERC20")},
            artifacts,
        )
        self.genesis = node.w3.eth.get_block(0)["hash"].to_0x_hex()
        self.said: list[str] = []

    def guardian(self, config: GuardianConfig, signer: Any, chain_id: int = 31337) -> tuple[Guardian, Follower]:
        guardian = Guardian(
            self.w3,
            [Target("harness", self.harness.address)],
            config,
            signer,
            chain_id=chain_id,
            genesis_hash=self.genesis,
            say=self.said.append,
        )
        follower = Follower(self.node.rpc, self.store, self.decoder, sinks=[guardian], rules=[CRITICAL_MINT])
        guardian.bind(follower.incidents)
        follower.check_chain()
        return guardian, follower

    def mint(self, amount: int) -> None:
        contracts.transact(self.token.functions.mint(self.accounts[0], amount), sender=self.accounts[0])

    def level(self) -> int:
        return int(self.harness.functions.level().call())

    def level_changes(self) -> list[Any]:
        return list(self.harness.events.CircuitBreakerLevelChanged.get_logs(from_block=0))

    def incidents(self, rule: str) -> list[Any]:
        return [i for i in IncidentLog(self.store).list() if i.rule == rule]


@pytest.fixture
def chain(settlekit_project, artifacts: ArtifactStore, tmp_path: Path) -> Any:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        yield Chain(node, artifacts, tmp_path)


def test_a_critical_incident_raises_the_level_once_and_never_again(
    chain: Chain, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SK_TEST_GUARDIAN_KEY", GUARDIAN_KEY)
    signer = from_private_key_env("SK_TEST_GUARDIAN_KEY")
    _, follower = chain.guardian(GuardianConfig(enabled=True, contracts=("harness",), level=2), signer)
    chain.mint(5)
    follower.step()  # the mint opens a critical incident: the guardian raises harness to 2
    assert chain.level() == 2
    [change] = chain.level_changes()
    assert (change["args"]["old_level"], change["args"]["new_level"]) == (0, 2)
    assert change["args"]["caller"] == chain.accounts[1]
    [action] = chain.incidents("guardian_action")
    assert action.details["outcome"] == "sent"
    assert action.details["tx_hash"] == change["transactionHash"].to_0x_hex()

    chain.mint(6)  # same condition, still open: updated, not a new incident, no action
    follower.step()  # also ingests the CircuitBreakerLevelChanged (a critical rule elsewhere; never a trigger)
    assert len(chain.incidents("guardian_action")) == 1
    [mint_incident] = chain.incidents("critical mint")
    IncidentLog(chain.store).resolve(mint_incident.id)
    chain.mint(7)  # a new incident: the level is already there, so nothing is sent
    follower.step()
    actions = chain.incidents("guardian_action")
    assert [a.details["outcome"] for a in actions] == ["sent", "skipped"]
    assert chain.level() == 2
    assert len(chain.level_changes()) == 1
    assert not chain.incidents("guardian_failed")

    # The key is in nothing the guardian wrote or printed.
    recorded = json.dumps([asdict(i) for i in IncidentLog(chain.store).list()]) + "\n".join(chain.said)
    captured = capsys.readouterr()
    for text in (recorded, captured.out, captured.err, repr(signer)):
        assert GUARDIAN_KEY[2:].lower() not in text.lower()


def test_the_dry_run_records_exactly_what_it_would_send_and_sends_nothing(chain: Chain) -> None:
    _, follower = chain.guardian(GuardianConfig(enabled=True, contracts=("harness",), dry_run=True), dev_signer(1))
    nonce = chain.w3.eth.get_transaction_count(chain.accounts[1])
    chain.mint(5)
    head = chain.w3.eth.block_number
    follower.step()
    assert chain.w3.eth.block_number == head  # no transaction mined
    assert chain.w3.eth.get_transaction_count(chain.accounts[1]) == nonce
    assert chain.level() == 0
    [dry] = chain.incidents("guardian_action")
    details = dry.details
    assert details["outcome"] == "dry_run"
    assert (details["to"], details["from"], details["function"]) == (
        chain.harness.address,
        chain.accounts[1],
        "raise_level(uint256,bytes32)",
    )
    assert details["args"][0] == 1
    assert details["data"] == chain.harness.encode_abi("raise_level", args=[1, bytes.fromhex(details["args"][1][2:])])
    assert details["gas"] > 21_000
    assert any("dry run" in line for line in chain.said)


def test_a_key_that_is_not_the_guardian_is_a_critical_incident_and_the_watcher_goes_on(chain: Chain) -> None:
    _, follower = chain.guardian(GuardianConfig(enabled=True, contracts=("harness",)), dev_signer(3))
    chain.mint(5)
    follower.step()
    assert chain.level() == 0
    [failed] = chain.incidents("guardian_failed")
    assert failed.severity == "critical"
    assert "circuit_breaker: caller is not the guardian or owner" in failed.details["error"]
    assert len(chain.incidents("guardian_failed")) == 1  # its own incident does not trigger it again
    chain.mint(6)
    follower.step()  # still ingesting
    assert chain.store.count_events(status=None) >= 2


def test_another_chain_is_refused_and_the_action_is_off_by_default(chain: Chain) -> None:
    _, follower = chain.guardian(GuardianConfig(enabled=True, contracts=("harness",)), dev_signer(1), chain_id=1)
    chain.mint(5)
    follower.step()
    [failed] = chain.incidents("guardian_failed")
    assert "the node is on chain 31337, the manifest's contracts on chain 1" in failed.details["error"]
    assert chain.level() == 0

    assert GuardianConfig.parse({}).enabled is False
    assert GuardianConfig.parse({"enabled": True, "contracts": ["harness"], "level": 3}).level == 3
    with pytest.raises(GuardianConfigError, match="not a level to raise to"):
        GuardianConfig.parse({"level": 0})
    with pytest.raises(GuardianConfigError, match="needs a guardian key"):
        Guardian(chain.w3, [], GuardianConfig(enabled=True), None)
    with pytest.raises(GuardianConfigError, match="no contract named 'vault'"):
        targets_from_manifest({"contracts": {"harness": {"address": chain.harness.address}}}, ["vault"])


NOT_STOPPED = "(test: the watcher did not stop within 20 s of SIGINT and was killed)"


def test_cli_watch_serves_metrics_and_the_guardian_raises_once(
    anvil: Anvil, artifacts: ArtifactStore, settlekit_project, tmp_path: Path
) -> None:
    plan = load_plan(settlekit_project.root / "settlekit.toml")
    deployed = Deployer(
        anvil.w3, dev_signer(0), plan.deployment("safety"), plan.network("local"), artifacts, root=tmp_path / "d"
    ).run()
    harness = anvil.w3.eth.contract(address=deployed.addresses["harness"], abi=artifacts.get("SafetyHarness").abi)
    store = f"sqlite:///{tmp_path / 'watch.db'}"
    watch = ["watch", "--manifest", str(deployed.manifest), "--rpc-url", anvil.url, "--store", store]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = ["--poll-interval", "0.2", "--metrics-port", str(port), "--guardian", "--guardian-contract", "harness"]
    options += ["--ws-url", anvil.url.replace("http://", "ws://")]  # new heads wake the poll too
    process = subprocess.Popen(
        [*SETTLEKIT, *watch, *options, "--guardian-key-env", "SK_TEST_GUARDIAN_KEY", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(SK_TEST_GUARDIAN_KEY=GUARDIAN_KEY),
        cwd=REPO,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        assert wait_until(lambda: _checkpoint(url) == anvil.w3.eth.block_number, timeout=30)
        anvil.mine(9)
        assert wait_until(lambda: _checkpoint(url) == anvil.w3.eth.block_number, timeout=15)
        # A transaction in the new branch's first block: anvil can rebuild empty blocks identical to the old ones
        # (same parent, number, time), and then nothing was reorganised (seen after the differential tests).
        sender = anvil.w3.eth.accounts[9]
        anvil.reorg(8, [({"from": sender, "to": sender, "value": 1}, 0)])
        assert wait_until(lambda: int(harness.functions.level().call()) == 1, timeout=20)
        assert wait_until(lambda: 'settlekit_watch_guardian_actions_total{outcome="sent"} 1.0' in _text(url), 10)
        assert wait_until(lambda: "settlekit_watch_reorg_depth_blocks_count 1.0" in _text(url), 10)  # step ends
        metrics = _text(url)
        assert 'settlekit_watch_reorg_depth_blocks_bucket{le="6.0"} 0.0' in metrics
        assert 'settlekit_watch_reorg_depth_blocks_bucket{le="8.0"} 1.0' in metrics
        heads = [line for line in metrics.splitlines() if line.startswith("settlekit_watch_ws_heads_total ")]
        assert float(heads[0].split()[1]) >= 9  # the nine mined blocks were announced over the WebSocket
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave a watcher behind a failed test
            out, err = process.communicate()
            err += f"\n{NOT_STOPPED}"
        print(f"watcher stderr:\n{err}")  # pytest shows it when the test fails
    assert NOT_STOPPED not in err
    assert GUARDIAN_KEY[2:].lower() not in (out + err).lower()
    assert "raised harness to level 1" in err
    incidents = [asdict(i) for i in IncidentLog(Store(store)).list()]
    assert [i["severity"] for i in incidents if i["rule"] == "reorg"] == ["critical"]
    actions = [i["details"] for i in incidents if i["rule"] == "guardian_action"]
    assert [a["outcome"] for a in actions] == ["sent"]
    changes = harness.events.CircuitBreakerLevelChanged.get_logs(from_block=0)
    assert [c["transactionHash"].to_0x_hex() for c in changes] == [actions[0]["tx_hash"]]
    assert GUARDIAN_KEY[2:].lower() not in json.dumps(incidents).lower()


def test_the_project_ships_the_guardian_and_metrics_off(settlekit_project) -> None:
    settings = watch_cmd._watch_config(settlekit_project)
    assert settings["guardian"]["enabled"] is False
    assert settings["metrics"]["enabled"] is False
    off = watch_cmd._GuardianOptions(None, None, None, None, None, None, None, dry_run=False)
    assert watch_cmd._metrics_and_guardian(settings, None, None, {}, off, None, None) == (None, [])


def _text(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def _checkpoint(url: str) -> int:
    for line in _text(url).splitlines():
        if line.startswith("settlekit_watch_checkpoint_block "):
            return int(float(line.split()[1]))
    return -1


def test_the_guardian_key_comes_from_a_foundry_keystore_or_an_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keystores = tmp_path / "keystores"
    keystores.mkdir()
    encrypted = Account.encrypt(dev_account(1).key, "s3cret", kdf="pbkdf2", iterations=1_000)
    (keystores / "guardian").write_text(json.dumps(encrypted))
    (tmp_path / "password").write_text("s3cret\n")
    monkeypatch.setenv("SETTLEKIT_KEYSTORE_DIR", str(keystores))
    monkeypatch.setenv("SK_TEST_GUARDIAN_PASSWORD", "s3cret")
    monkeypatch.setenv("SK_TEST_GUARDIAN_KEY", GUARDIAN_KEY)
    from_file = guardian_signer(
        account="guardian", password_file=tmp_path / "password", password_env=None, key_env=None
    )
    from_env = guardian_signer(
        account="guardian", password_file=None, password_env="SK_TEST_GUARDIAN_PASSWORD", key_env=None
    )
    from_key = guardian_signer(account=None, password_file=None, password_env=None, key_env="SK_TEST_GUARDIAN_KEY")
    assert from_file is not None
    assert from_env is not None
    assert from_key is not None
    assert from_file.address == from_env.address == from_key.address == dev_account(1).address
    assert guardian_signer(account=None, password_file=None, password_env=None, key_env=None) is None
    with pytest.raises(GuardianConfigError, match="both a guardian keystore and a guardian key variable"):
        guardian_signer(account="guardian", password_file=None, password_env=None, key_env="SK_TEST_GUARDIAN_KEY")
    with pytest.raises(KeyUseError, match="no password for keystore 'guardian'"):  # never prompts
        guardian_signer(account="guardian", password_file=None, password_env=None, key_env=None)


@pytest.mark.parametrize("alert_on_backfill", [False, True])
def test_history_backfilled_into_a_fresh_store_raises_nothing_unless_asked(
    chain: Chain, monkeypatch: pytest.MonkeyPatch, alert_on_backfill: bool
) -> None:
    """Issue 15, point 6: a critical event booked hundreds of blocks before the watcher starts is history. A fresh
    store backfills it without a critical incident or a guardian action, unless --alert-on-backfill."""
    monkeypatch.setenv("SK_TEST_GUARDIAN_KEY", GUARDIAN_KEY)
    chain.mint(5)  # the old event a critical rule matches (a stand-in for an old DeficitRecorded)
    chain.node.mine(300)
    guardian = Guardian(
        chain.w3,
        [Target("harness", chain.harness.address)],
        GuardianConfig(enabled=True, contracts=("harness",), level=2, on_history=alert_on_backfill),
        from_private_key_env("SK_TEST_GUARDIAN_KEY"),
        chain_id=31337,
        genesis_hash=chain.genesis,
    )
    follower = Follower(
        chain.node.rpc,
        chain.store,
        chain.decoder,
        FollowerConfig(max_blocks_per_step=50, alert_on_backfill=alert_on_backfill),
        sinks=[guardian],
        rules=[CRITICAL_MINT],
    )
    guardian.bind(follower.incidents)
    follower.check_chain()
    assert follower.step().backfilled_to is not None  # the history came through the range backfill
    while follower.step().ingested_blocks:
        pass
    if alert_on_backfill:
        [old] = chain.incidents("critical mint")
        assert old.details["history"] is True
        assert [a.details["outcome"] for a in chain.incidents("guardian_action")] == ["sent"]
        assert chain.level() == 2
        return
    assert chain.incidents("critical mint") == []
    assert chain.incidents("guardian_action") == []
    assert chain.level() == 0
    assert follower.rules.suppressed["critical mint"] >= 1
    chain.mint(6)  # after the start: news
    follower.step()
    [new] = chain.incidents("critical mint")
    assert "history" not in new.details
    assert [a.details["outcome"] for a in chain.incidents("guardian_action")] == ["sent"]
    assert chain.level() == 2
