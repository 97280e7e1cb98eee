"""Issue 16: the journal is the source of truth and the node is cross-checked (reorgs, lagging replicas, foreign
transactions, lost answers), fee bumps, plan evolution, --check, --set and CREATE2, against real Anvil processes."""

from __future__ import annotations

import itertools
import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rpc_proxy import RpcProxy
from test_deploy import contract_creations, deploy_cli, write_plan

from settlekit.chain import Anvil, AnvilConfig
from settlekit.deploy.executor import Deployer
from settlekit.deploy.keys import dev_signer
from settlekit.deploy.plan import load_plan
from settlekit.tx import TransactionSender

from support import cli_env

RECEIVER = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
def chain(settlekit_project, artifacts) -> Iterator[Anvil]:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        yield node


def journal(out: Path, chain_id: int = 31337) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / str(chain_id) / "safety.journal.jsonl").open()]


def nonces_of(records: list[dict[str, Any]]) -> dict[str, int]:
    return {r["step"]: r["nonce"] for r in records if r["kind"] == "signed"}


def test_step_reorged_out_before_the_next_one_is_resent_with_its_bytes(chain: Anvil, tmp_path: Path) -> None:
    plan, out = write_plan(tmp_path / "settlekit.toml", chain.url), tmp_path / "deployments"
    crashed = deploy_cli(plan, out, env=cli_env(SETTLEKIT_DEPLOY_CRASH_AT="probe:after-receipt"))
    assert crashed.returncode == -signal.SIGKILL
    probe = next(r for r in journal(out) if r["kind"] == "receipt" and r["step"] == "probe")
    chain.reorg(1)  # probe's block is replaced by an empty one: its receipt vanished
    assert chain.w3.eth.get_code(probe["contract_address"]) == b""
    resumed = deploy_cli(plan, out, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    records = journal(out)
    assert nonces_of(records) == {"collateral": 0, "probe": 1, "harness": 2}  # harness never took probe's nonce
    assert any(r["kind"] == "sent" and r["step"] == "probe" and r.get("resent") for r in records)
    manifest = json.loads((out / "31337" / "safety.json").read_text())
    assert manifest["contracts"]["probe"]["address"] == probe["contract_address"]
    assert chain.w3.eth.get_code(probe["contract_address"])
    assert len(contract_creations(chain.w3, chain.w3.eth.accounts[0])) == 3


def test_resume_after_a_deep_reorg_of_a_complete_deployment_rechecks_final_steps(chain: Anvil, tmp_path: Path) -> None:
    plan, out = write_plan(tmp_path / "settlekit.toml", chain.url), tmp_path / "deployments"
    assert deploy_cli(plan, out).returncode == 0
    old = json.loads((out / "31337" / "safety.json").read_text())
    chain.reorg(3)
    resumed = deploy_cli(plan, out, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    manifest = json.loads((out / "31337" / "safety.json").read_text())
    for step, entry in manifest["contracts"].items():
        assert entry["address"] == old["contracts"][step]["address"]
        assert entry["block_hash"] != old["contracts"][step]["block_hash"]
        assert chain.w3.eth.get_block(entry["block_number"])["hash"].to_0x_hex() == entry["block_hash"]


def test_a_lagging_replica_does_not_make_a_step_reuse_a_nonce(chain: Anvil, tmp_path: Path) -> None:
    def stale(method: str, params: list[Any], answer: dict[str, Any]) -> dict[str, Any] | None:
        return {**answer, "result": "0x0"} if method == "eth_getTransactionCount" else None

    with RpcProxy(chain.url, stale) as replica:
        plan, out = write_plan(tmp_path / "settlekit.toml", replica.url), tmp_path / "deployments"
        result = deploy_cli(plan, out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert nonces_of(journal(out)) == {"collateral": 0, "probe": 1, "harness": 2}
    assert any("the node lags behind" in w for w in json.loads(result.stdout)["warnings"])
    assert chain.w3.eth.get_transaction_count(chain.w3.eth.accounts[0]) == 3


def test_lost_send_answers_are_checked_by_hash_not_reported_refused(chain: Anvil, tmp_path: Path) -> None:
    def lose(method: str, params: list[Any], answer: dict[str, Any]) -> str | None:
        return "502" if method == "eth_sendRawTransaction" else None

    with RpcProxy(chain.url, lose) as proxy:
        plan, out = write_plan(tmp_path / "settlekit.toml", proxy.url), tmp_path / "deployments"
        result = deploy_cli(plan, out)
        assert result.returncode == 0, result.stdout + result.stderr
        signer = dev_signer(3)
        from web3 import Web3

        sender = TransactionSender(Web3(Web3.HTTPProvider(proxy.url)), signer)
        receipts = [sender.send_and_wait({"to": RECEIVER, "value": i + 1, "gas": 21_000}) for i in range(3)]
    assert [chain.w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts] == [0, 1, 2]
    assert chain.w3.eth.get_transaction_count(signer.address) == 3  # each sent once, none reported refused
    assert len(contract_creations(chain.w3, chain.w3.eth.accounts[0])) == 3


def _foreign(chain: Anvil, nonce: int, value: int = 1) -> bytes:
    signer = dev_signer(0)
    fee = int(chain.w3.eth.get_block("latest")["baseFeePerGas"]) * 3 + 10**9
    tx = {"to": RECEIVER, "value": value, "gas": 21_000, "nonce": nonce, "chainId": 31337}
    signed = signer.sign_transaction({**tx, "maxFeePerGas": fee, "maxPriorityFeePerGas": 10**9})
    return bytes(chain.w3.eth.send_raw_transaction(signed.raw))


def test_foreign_transaction_mined_between_steps_is_warned_and_journaled(chain: Anvil, tmp_path: Path) -> None:
    plan, out = write_plan(tmp_path / "settlekit.toml", chain.url), tmp_path / "deployments"
    deploy_cli(plan, out, env=cli_env(SETTLEKIT_DEPLOY_CRASH_AT="probe:after-receipt"))
    _foreign(chain, 2)  # another tool uses the deployer's next nonce
    resumed = deploy_cli(plan, out, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert any("not in this deployment's journal" in w for w in json.loads(resumed.stdout)["warnings"])
    records = journal(out)
    assert [r["nonces"] for r in records if r["kind"] == "warning" and r["code"] == "foreign_tx"] == [[2]]
    assert nonces_of(records)["harness"] == 3


def test_foreign_pending_transaction_at_a_journaled_nonce_is_a_clear_error(chain: Anvil, tmp_path: Path) -> None:
    plan, out = write_plan(tmp_path / "settlekit.toml", chain.url), tmp_path / "deployments"
    deploy_cli(plan, out, env=cli_env(SETTLEKIT_DEPLOY_CRASH_AT="probe:before-send"))  # probe signed at 1, unsent
    chain.set_automine(False)
    _foreign(chain, 1)
    refused = deploy_cli(plan, out, "--resume")
    assert refused.returncode == 1
    error = json.loads(refused.stdout)
    assert "held by a pending transaction that is not in this deployment's journal" in error["message"]
    assert "--resume" in error["hint"]
    assert "Traceback" not in refused.stderr
    chain.set_automine(True)
    chain.mine()  # the foreign transaction is mined: probe is signed again at the next free nonce
    resumed = deploy_cli(plan, out, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    records = journal(out)
    assert any(r["kind"] == "abandoned" and r["step"] == "probe" for r in records)
    assert nonces_of(records) == {"collateral": 0, "probe": 2, "harness": 3}


def test_stuck_deploy_transaction_is_bumped_journaled_first_and_progress_shown(
    settlekit_project, artifacts, tmp_path: Path
) -> None:
    with Anvil(AnvilConfig(mining=False), settlekit_project) as node:
        plan = load_plan(write_plan(tmp_path / "settlekit.toml", node.url))
        deployment = plan.deployment("safety")
        network = plan.network("target")
        messages: list[str] = []
        spiked: list[bool] = []
        stop = threading.Event()

        def miner() -> None:
            while not stop.wait(0.4):
                node.mine()

        def progress(message: str) -> None:
            messages.append(message)
            if "waiting for inclusion" in message and not spiked:  # sent at the market's fees, then a fee spike
                spiked.append(True)
                node.rpc.call("anvil_setNextBlockBaseFeePerGas", hex(50 * 10**9))
                threading.Thread(target=miner, daemon=True).start()  # blocks only after the spike

        deployer = Deployer(
            node.w3,
            dev_signer(0),
            type(deployment)(deployment.name, deployment.steps[:1]),
            network,
            artifacts,
            root=tmp_path / "d",
            progress=progress,
            poll_interval=0.05,
            bump_after=0.5,
        )
        try:
            deployer.run()
        finally:
            stop.set()
    records = [json.loads(line) for line in (tmp_path / "d" / "31337" / "safety.journal.jsonl").open()]
    attempts = [r for r in records if r["kind"] == "signed"]
    assert len(attempts) >= 2
    for old, new in itertools.pairwise(attempts):
        assert new["replaces"] == old["tx_hash"]
        assert new["nonce"] == old["nonce"] == 0
        assert new["fees"]["maxFeePerGas"] >= old["fees"]["maxFeePerGas"] * 11 // 10 + 1
        # journaled before sent: the replacement's signed record precedes its sent record
        assert records.index(new) < next(
            i for i, r in enumerate(records) if r.get("tx_hash") == new["tx_hash"] and r["kind"] == "sent"
        )
    assert any("waiting for inclusion" in m for m in messages)
    assert any("replacing nonce 0" in m for m in messages)


def test_plan_grows_and_unsent_steps_change_but_a_sent_step_may_not(chain: Anvil, tmp_path: Path) -> None:
    out = tmp_path / "deployments"
    plan = write_plan(tmp_path / "settlekit.toml", chain.url)
    assert deploy_cli(plan, out).returncode == 0
    plan.write_text(plan.read_text() + '\n[[deployments.safety.steps]]\nid = "probe2"\nartifact = "RevertProbe"\n')
    grown = deploy_cli(plan, out, "--resume")
    assert grown.returncode == 0, grown.stdout + grown.stderr
    assert json.loads(grown.stdout)["sent"] == 1
    assert nonces_of(journal(out))["probe2"] == 3
    plan.write_text(plan.read_text().replace('"dUSD"', '"dUSX"'))
    refused = deploy_cli(plan, out, "--resume")
    assert refused.returncode == 1
    assert "the plan changed step 'collateral', which was already sent" in json.loads(refused.stdout)["message"]


def test_check_finds_a_role_typo_and_a_bad_uint8_before_anything_is_sent(chain: Anvil, tmp_path: Path) -> None:
    out = tmp_path / "deployments"
    typo = write_plan(tmp_path / "a.toml", chain.url)
    typo.write_text(typo.read_text().replace('"$guardian"', '"$guardain"'))
    for extra in (("--check",), ()):
        result = deploy_cli(typo, out, *extra)
        assert result.returncode == 1
        assert "unknown role $guardain (did you mean $guardian?)" in json.loads(result.stdout)["message"]
    wide = write_plan(tmp_path / "b.toml", chain.url)
    wide.write_text(wide.read_text().replace('"dUSD", 6]', '"dUSD", 300]'))
    result = deploy_cli(wide, out)
    assert json.loads(result.stdout)["message"] == "step 'collateral' argument 3 (uint8): 300 is not a valid uint8"
    reverting = write_plan(tmp_path / "c.toml", chain.url)
    reverting.write_text(
        reverting.read_text()
        + '\n[[deployments.safety.steps]]\nid = "boom"\ntarget = "@probe"\nfunction = "revert_with_reason"\n'
    )
    checked = deploy_cli(reverting, out, "--check")
    assert checked.returncode == 1
    assert "revert_probe: always reverts" in json.loads(checked.stdout)["message"]
    assert chain.block_number() == 0  # nothing reached the chain
    ok = deploy_cli(write_plan(tmp_path / "d.toml", chain.url), out, "--check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["check"] == "ok"
    assert chain.block_number() == 0


def test_set_overrides_an_existing_address_for_one_run(chain: Anvil, tmp_path: Path) -> None:
    first = tmp_path / "first"
    assert deploy_cli(write_plan(tmp_path / "a.toml", chain.url), first).returncode == 0
    token = json.loads((first / "31337" / "safety.json").read_text())["contracts"]["collateral"]["address"]
    out = tmp_path / "deployments"
    result = deploy_cli(write_plan(tmp_path / "b.toml", chain.url, symbol="dUSX"), out, "--set", f"collateral={token}")
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((out / "31337" / "safety.json").read_text())
    assert manifest["contracts"]["collateral"] == {"artifact": "MockERC20", "address": token, "existing": True}
    harness = manifest["contracts"]["harness"]
    assert harness["abi"]
    assert (
        harness["cost_wei"]
        == harness["gas_used"] * chain.w3.eth.get_transaction_receipt(harness["tx_hash"])["effectiveGasPrice"]
    )
    bad = deploy_cli(write_plan(tmp_path / "c.toml", chain.url), tmp_path / "x", "--set", "nope=0x01")
    assert "has no step 'nope'" in json.loads(bad.stdout)["message"]


def test_create2_mode_lands_at_the_same_addresses_on_two_chains(settlekit_project, artifacts, tmp_path: Path) -> None:
    plan = tmp_path / "settlekit.toml"
    results = []
    for chain_id, extra in ((31337, ("--disable-default-create2-deployer",)), (1337, ())):
        with Anvil(AnvilConfig(chain_id=chain_id, extra_args=extra), settlekit_project) as node:
            plan.write_text(f"""
[networks.target]
rpc_url = "{node.url}"
chain_id = {chain_id}
local = true

[deployments.safety]
create2 = true
salt = "trust-test"

[[deployments.safety.steps]]
id = "collateral"
artifact = "MockERC20"
args = ["Demo USD", "dUSD", 6]
mock = true

[[deployments.safety.steps]]
id = "probe"
artifact = "RevertProbe"
""")
            result = deploy_cli(plan, tmp_path / "deployments")
            assert result.returncode == 0, result.stdout + result.stderr
            addresses = json.loads(result.stdout)["addresses"]
            assert all(node.w3.eth.get_code(a) for a in addresses.values())
            results.append(addresses)
    assert results[0] == results[1]


def test_ctrl_c_prints_the_resume_command(settlekit_project, artifacts, tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from support import REPO

    with Anvil(AnvilConfig(mining=False), settlekit_project) as node:  # nothing is mined: the deploy waits
        plan, out = write_plan(tmp_path / "settlekit.toml", node.url), tmp_path / "deployments"
        args = ["deploy", "safety", "--network", "target", "--plan", str(plan), "--deployments-dir", str(out)]
        process = subprocess.Popen(
            [sys.executable, "-m", "settlekit", *args, "--no-check"]
            if False
            else [sys.executable, "-m", "settlekit", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=cli_env(),
        )
        deadline = time.monotonic() + 60
        while (
            not (out / "31337" / "safety.journal.jsonl").exists()
            or '"sent"' not in (out / "31337" / "safety.journal.jsonl").read_text()
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "interrupted" in err
    assert f"settlekit deploy safety --network target --plan {plan} --deployments-dir {out} --resume" in err
    assert "Traceback" not in err
