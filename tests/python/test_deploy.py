"""`settlekit deploy` / `settlekit verify` against real Anvil processes, run as the CLI runs them."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from filelock import FileLock
from web3 import Web3
from web3.logs import DISCARD

from settlekit.chain import Anvil, AnvilConfig
from settlekit.toolchain import find_tool

from support import cli_env, run_cli

GUARDIAN = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
SECRET_KEY = "0x" + "7a" * 32


def write_plan(path: Path, url: str, *, chain_id: int = 31337, local: bool = True, symbol: str = "dUSD") -> Path:
    path.write_text(f"""
[networks.target]
rpc_url = "{url}"
chain_id = {chain_id}
local = {str(local).lower()}
confirmations = {0 if local else 2}
roles = {{ guardian = "{GUARDIAN}" }}

[[deployments.safety.steps]]
id = "collateral"
artifact = "MockERC20"
args = ["Demo USD", "{symbol}", 6]
{"mock = true" if local else ""}

[[deployments.safety.steps]]
id = "probe"
artifact = "RevertProbe"

[[deployments.safety.steps]]
id = "harness"
artifact = "SafetyHarness"
args = ["$guardian"]
roles = ["owner", "guardian"]
""")
    return path


@pytest.fixture
def chain(settlekit_project, artifacts) -> Iterator[Anvil]:  # artifacts: build once before any CLI runs
    with Anvil(AnvilConfig(), settlekit_project) as node:
        yield node


def deploy_cli(plan: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> Any:
    return run_cli(
        "deploy",
        "safety",
        "--network",
        "target",
        "--plan",
        str(plan),
        "--deployments-dir",
        str(out),
        "--json",
        *extra,
        env=env or cli_env(),
    )


def contract_creations(w3: Web3, deployer: str) -> list[str]:
    created = []
    for number in range(1, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"] == deployer and tx["to"] is None:
                created.append(w3.eth.get_transaction_receipt(tx["hash"])["contractAddress"])
    return created


def test_deploy_writes_a_manifest_from_the_journal_and_verifies(chain: Anvil, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "settlekit.toml", chain.url)
    result = deploy_cli(plan, tmp_path / "deployments")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["sent"] == 3
    manifest = json.loads((tmp_path / "deployments" / "31337" / "safety.json").read_text())
    journal = [json.loads(line) for line in (tmp_path / "deployments" / "31337" / "safety.journal.jsonl").open()]
    receipts = {r["step"]: r for r in journal if r["kind"] == "receipt"}
    for step in ("collateral", "probe", "harness"):
        entry = manifest["contracts"][step]
        assert entry["address"] == receipts[step]["contract_address"] == data["addresses"][step]
        assert entry["tx_hash"] == receipts[step]["tx_hash"]
        assert chain.w3.eth.get_code(entry["address"])
    assert manifest["contracts"]["harness"]["constructor_args"] == [GUARDIAN]
    assert [r["kind"] for r in journal][-1] == "complete"
    verified = run_cli(
        "verify",
        "safety",
        "--network",
        "target",
        "--plan",
        str(plan),
        "--deployments-dir",
        str(tmp_path / "deployments"),
        "--json",
    )
    report = json.loads(verified.stdout)
    assert verified.returncode == 0, verified.stdout
    codes = {c["step"]: c["code"] for c in report["contracts"]}
    assert codes["harness"] == "runtime and immutables match"
    harness = next(c for c in report["contracts"] if c["step"] == "harness")
    assert harness["immutables_bytes"] > 0
    assert harness["roles"]["guardian"]["ok"] is True


def test_verify_catches_wrong_code_and_wrong_roles(chain: Anvil, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "settlekit.toml", chain.url)
    assert deploy_cli(plan, tmp_path / "deployments").returncode == 0
    manifest_file = tmp_path / "deployments" / "31337" / "safety.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["contracts"]["probe"]["address"] = manifest["contracts"]["collateral"]["address"]
    manifest["roles"]["guardian"] = "0x0000000000000000000000000000000000000bad"
    manifest_file.write_text(json.dumps(manifest))
    verified = run_cli(
        "verify",
        "safety",
        "--network",
        "target",
        "--plan",
        str(plan),
        "--deployments-dir",
        str(tmp_path / "deployments"),
        "--json",
    )
    assert verified.returncode == 1
    report = json.loads(verified.stdout)
    problems = [p for c in report["contracts"] for p in c["problems"]]
    assert any("is not the compiled RevertProbe runtime" in p for p in problems)
    assert any("guardian() is" in p for p in problems)


@pytest.mark.parametrize("boundary", ["before-send", "after-send", "after-receipt"])
@pytest.mark.parametrize("step", ["collateral", "harness"])
def test_kill_9_at_every_journal_boundary_then_resume(chain: Anvil, tmp_path: Path, step: str, boundary: str) -> None:
    plan = write_plan(tmp_path / "settlekit.toml", chain.url)
    out = tmp_path / "deployments"
    crashed = deploy_cli(plan, out, env=cli_env(SETTLEKIT_DEPLOY_CRASH_AT=f"{step}:{boundary}"))
    assert crashed.returncode == -signal.SIGKILL
    refused = deploy_cli(plan, out)
    assert refused.returncode == 1
    assert "--resume" in json.loads(refused.stdout)["hint"]
    resumed = deploy_cli(plan, out, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    deployer = chain.w3.eth.accounts[0]
    manifest = json.loads((out / "31337" / "safety.json").read_text())
    created = contract_creations(chain.w3, deployer)
    assert sorted(created) == sorted(c["address"] for c in manifest["contracts"].values())  # each exactly once
    nonces = sorted(c["nonce"] for c in manifest["contracts"].values())
    assert nonces == [0, 1, 2]  # none skipped, none used twice
    assert chain.w3.eth.get_transaction_count(deployer) == 3
    journal = [json.loads(line) for line in (out / "31337" / "safety.journal.jsonl").open()]
    signed = [r for r in journal if r["kind"] == "signed"]
    assert len(signed) == 3  # the crashed step was never re-signed
    assert {c["tx_hash"] for c in manifest["contracts"].values()} == {r["tx_hash"] for r in signed}


def test_resume_refused_after_the_chain_id_changed(chain: Anvil, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "settlekit.toml", chain.url)
    out = tmp_path / "deployments"
    deploy_cli(plan, out, env=cli_env(SETTLEKIT_DEPLOY_CRASH_AT="probe:after-receipt"))
    chain.rpc.call("anvil_setChainId", 31338)
    plan_other_id = write_plan(tmp_path / "other.toml", chain.url, chain_id=31338)
    # The journal lives under the chain id, so the new id finds none; moving it there must still be refused.
    (out / "31338").mkdir()
    (out / "31337" / "safety.journal.jsonl").rename(out / "31338" / "safety.journal.jsonl")
    refused = deploy_cli(plan_other_id, out, "--resume", "--dev-account", "0")
    assert refused.returncode == 1
    assert "the journal is for chain id 31337, the node reports 31338" in json.loads(refused.stdout)["message"]


def test_resume_refused_after_the_plan_changed(chain: Anvil, tmp_path: Path) -> None:
    out = tmp_path / "deployments"
    deploy_cli(
        write_plan(tmp_path / "a.toml", chain.url), out, env=cli_env(SETTLEKIT_DEPLOY_CRASH_AT="probe:before-send")
    )
    refused = deploy_cli(write_plan(tmp_path / "b.toml", chain.url, symbol="dUSX"), out, "--resume")
    assert refused.returncode == 1
    assert "the plan changed" in json.loads(refused.stdout)["message"]


def test_deploy_refused_while_the_journal_is_locked(chain: Anvil, tmp_path: Path) -> None:
    out = tmp_path / "deployments"
    plan = write_plan(tmp_path / "settlekit.toml", chain.url)
    (out / "31337").mkdir(parents=True)
    with FileLock(str(out / "31337" / "safety.journal.jsonl") + ".lock", timeout=0):
        refused = deploy_cli(plan, out)
    assert refused.returncode == 1
    assert "is locked: another deploy of this plan is running" in json.loads(refused.stdout)["message"]
    assert deploy_cli(plan, out).returncode == 0


def test_testnet_like_chain_refuses_dev_keys_and_mocks_and_never_leaks_the_key(
    settlekit_project, artifacts, tmp_path: Path
) -> None:
    with Anvil(AnvilConfig(chain_id=11155111), settlekit_project) as sepolia:
        plan = write_plan(tmp_path / "settlekit.toml", sepolia.url, chain_id=11155111, local=False)
        out = tmp_path / "deployments"
        dev = deploy_cli(plan, out, "--dev-account", "0")
        assert dev.returncode == 1
        assert "public development keys" in json.loads(dev.stdout)["message"]
        env = cli_env(DEPLOY_KEY=SECRET_KEY)
        deployer = Account.from_key(SECRET_KEY).address
        sepolia.set_balance(deployer, 10**19)
        # Confirmations (2) need blocks after the last deployment; an interval miner provides them.
        sepolia.set_interval_mining(1)
        result = deploy_cli(plan, out, "--private-key-env", "DEPLOY_KEY", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        texts = [result.stdout, result.stderr]
        texts += [p.read_text() for p in out.rglob("*") if p.is_file()]
        for text in texts:
            assert SECRET_KEY[2:] not in text.lower()
            assert SECRET_KEY[2:].upper() not in text
        journal = [json.loads(line) for line in (out / "11155111" / "safety.journal.jsonl").open()]
        finals = [r for r in journal if r["kind"] == "final"]
        assert len(finals) == 3
        assert all(r["confirmations"] >= 2 for r in finals)


def test_dry_run_forks_the_network_and_sends_nothing(settlekit_project, artifacts, tmp_path: Path) -> None:
    with Anvil(AnvilConfig(chain_id=11155111), settlekit_project) as sepolia:
        # confirmations = 2, as on a testnet: the fork automines, so the dry run must not wait for them
        plan = write_plan(tmp_path / "settlekit.toml", sepolia.url, chain_id=11155111, local=False)
        assert "confirmations = 2" in plan.read_text()
        env = cli_env(DEPLOY_KEY=SECRET_KEY)
        result = deploy_cli(plan, tmp_path / "deployments", "--dry-run", "--private-key-env", "DEPLOY_KEY", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["dry_run"] is True
        assert report["gas_used"] > 1_000_000
        assert report["cost_wei"] > 0
        assert report["enough_funds"] is False  # the key holds nothing on the real network
        assert sepolia.block_number() == 0  # nothing reached the network itself
        assert not (tmp_path / "deployments").exists()
        assert SECRET_KEY[2:] not in result.stdout + result.stderr


def test_unknown_network_and_missing_plan_are_clear_errors(tmp_path: Path) -> None:
    missing = run_cli("deploy", "safety", "--plan", str(tmp_path / "nope.toml"), "--json")
    assert missing.returncode == 1
    assert "no plan file" in json.loads(missing.stdout)["message"]
    plan = write_plan(tmp_path / "settlekit.toml", "http://127.0.0.1:1")
    wrong = run_cli("deploy", "safety", "--network", "mainnet", "--plan", str(plan), "--json")
    assert json.loads(wrong.stdout)["hint"] == "networks in the plan: target"


def test_reorg_before_finality_redeploys_with_the_same_bytes(chain: Anvil, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "settlekit.toml", chain.url)
    out = tmp_path / "deployments"
    crashed = deploy_cli(plan, out, env=cli_env(SETTLEKIT_DEPLOY_CRASH_AT="harness:after-receipt"))
    assert crashed.returncode == -signal.SIGKILL
    journal_file = out / "31337" / "safety.journal.jsonl"
    before = {r["step"]: r for r in map(json.loads, journal_file.open()) if r["kind"] == "receipt"}
    # Replace all three deployment blocks with empty ones: the receipts in the journal are now orphaned.
    chain.reorg(3)
    assert chain.w3.eth.get_code(before["harness"]["contract_address"]) == b""
    resumed = deploy_cli(plan, out, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    manifest = json.loads((out / "31337" / "safety.json").read_text())
    for step, old in before.items():
        entry = manifest["contracts"][step]
        assert entry["address"] == old["contract_address"]  # same nonce, same bytes, same address
        assert entry["tx_hash"] == old["tx_hash"]
        assert entry["block_hash"] != old["block_hash"]
        assert chain.w3.eth.get_block(entry["block_number"])["hash"].to_0x_hex() == entry["block_hash"]
        assert chain.w3.eth.get_code(entry["address"])
    assert sorted(contract_creations(chain.w3, chain.w3.eth.accounts[0])) == sorted(
        c["address"] for c in manifest["contracts"].values()
    )


def test_keystore_account_deploys_on_a_testnet_like_chain_without_leaking(
    settlekit_project, artifacts, tmp_path: Path
) -> None:
    keystores, password = tmp_path / "keystores", "hunter2-but-longer"
    cast = find_tool("cast", settlekit_project).path
    subprocess.run(
        [
            str(cast),
            "wallet",
            "import",
            "ops",
            "--private-key",
            SECRET_KEY,
            "--unsafe-password",
            password,
            "--keystore-dir",
            str(keystores),
        ],
        check=True,
        capture_output=True,
    )
    (tmp_path / "password").write_text(password)
    with Anvil(AnvilConfig(chain_id=11155111), settlekit_project) as sepolia:
        sepolia.set_balance(Account.from_key(SECRET_KEY).address, 10**19)
        sepolia.set_interval_mining(1)
        plan = write_plan(tmp_path / "settlekit.toml", sepolia.url, chain_id=11155111, local=False)
        out = tmp_path / "deployments"
        result = deploy_cli(
            plan,
            out,
            "--account",
            "ops",
            "--password-file",
            str(tmp_path / "password"),
            env=cli_env(SETTLEKIT_KEYSTORE_DIR=str(keystores)),
        )
        assert result.returncode == 0, result.stdout + result.stderr
        texts = [result.stdout, result.stderr, *(p.read_text() for p in out.rglob("*") if p.is_file())]
        for text in texts:
            assert SECRET_KEY[2:] not in text.lower()
            assert password not in text
        manifest = json.loads((out / "11155111" / "safety.json").read_text())
        assert manifest["deployer"] == Account.from_key(SECRET_KEY).address


def test_blueprint_steps_deploy_and_verify(chain: Anvil, settlekit_project, tmp_path: Path) -> None:
    plan = tmp_path / "settlekit.toml"
    plan.write_text((settlekit_project.root / "settlekit.toml").read_text().replace("http://127.0.0.1:8545", chain.url))
    out = tmp_path / "deployments"
    result = run_cli("deploy", "settlement", "--plan", str(plan), "--deployments-dir", str(out), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    addresses = json.loads(result.stdout)["addresses"]
    blueprint = bytes(chain.w3.eth.get_code(addresses["series_blueprint"]))
    assert blueprint.startswith(bytes.fromhex("fe7100"))
    factory = chain.w3.eth.contract(
        address=addresses["series_factory"],
        abi=[
            {
                "type": "function",
                "name": "BLUEPRINT",
                "inputs": [],
                "outputs": [{"type": "address", "name": ""}],
                "stateMutability": "view",
            }
        ],
    )
    assert factory.functions.BLUEPRINT().call() == addresses["series_blueprint"]
    verified = run_cli("verify", "settlement", "--plan", str(plan), "--deployments-dir", str(out), "--json")
    codes = {c["step"]: c["code"] for c in json.loads(verified.stdout)["contracts"]}
    assert verified.returncode == 0
    assert codes["series_blueprint"] == "blueprint matches"
    args = ("verify", "settlement", "--plan", str(plan), "--deployments-dir", str(out))
    text = run_cli(*args, env=cli_env(COLUMNS="80")).stdout  # as text at 80 columns: every address whole
    assert all(f"{address}  " in text for address in addresses.values()), text
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    bad = tmp_path / "bad.toml"
    bad.write_text(
        plan.read_text().replace(
            'artifact = "SettlementSeries"\nblueprint = true',
            'artifact = "SettlementSeries"\nblueprint = true\nargs = [1]',
        )
    )
    refused = run_cli("deploy", "settlement", "--plan", str(bad), "--deployments-dir", str(tmp_path / "d2"), "--json")
    assert refused.returncode == 1
    assert "is a blueprint and cannot take constructor arguments" in json.loads(refused.stdout)["message"]


def test_settlement_plan_factory_creates_clones_and_blueprint_series(
    chain: Anvil, settlekit_project, artifacts, tmp_path: Path
) -> None:
    # the project's own settlement plan, deployed and verified by the CLI, gives a factory wired to the deployed
    # blueprint and clone implementation; both creation paths work on it and the clone is the 365-byte proxy
    plan = tmp_path / "settlekit.toml"
    plan.write_text((settlekit_project.root / "settlekit.toml").read_text().replace("http://127.0.0.1:8545", chain.url))
    out = tmp_path / "deployments"
    result = run_cli("deploy", "settlement", "--plan", str(plan), "--deployments-dir", str(out), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    addresses = json.loads(result.stdout)["addresses"]
    verified = run_cli("verify", "settlement", "--plan", str(plan), "--deployments-dir", str(out), "--json")
    assert verified.returncode == 0, verified.stdout
    codes = {c["step"]: c["code"] for c in json.loads(verified.stdout)["contracts"]}
    assert codes["series_implementation"] == "runtime and immutables match"
    assert codes["series_factory"] == "runtime and immutables match"
    w3 = chain.w3
    creator = w3.eth.accounts[0]
    factory = w3.eth.contract(address=addresses["series_factory"], abi=artifacts.get("SeriesFactory").abi)
    token = w3.eth.contract(address=addresses["collateral"], abi=artifacts.get("MockERC20").abi)
    assert factory.functions.IMPLEMENTATION().call() == addresses["series_implementation"]
    assert factory.functions.BLUEPRINT().call() == addresses["series_blueprint"]
    expiry = int(w3.eth.get_block("latest")["timestamp"]) + 86_400
    created = []
    for create in (factory.functions.create_series, factory.functions.create_series_from_blueprint):
        w3.eth.wait_for_transaction_receipt(token.functions.mint(creator, 10_000).transact({"from": creator}))
        w3.eth.wait_for_transaction_receipt(
            token.functions.approve(factory.address, 10_000).transact({"from": creator})
        )
        call = create(
            addresses["collateral"],
            addresses["oracle"],
            2_000,
            500,
            10**6,
            expiry,
            3_600,
            expiry + 3_600 + 7 * 86_400,  # the sweep deadline leaves MIN_CLAIM_PERIOD after the window
            creator,
            creator,
            GUARDIAN,
        )
        receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": creator}))
        assert receipt["status"] == 1
        created.append(factory.events.SeriesCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]["series"])
    clone, full = created
    implementation = bytes.fromhex(addresses["series_implementation"][2:])
    clone_code = bytes(w3.eth.get_code(clone))
    assert len(clone_code) == 365
    assert clone_code[:45] == bytes.fromhex("363d3d373d3d3d363d73") + implementation + bytes.fromhex(
        "5af43d82803e903d91602b57fd5bf3"
    )
    assert len(bytes(w3.eth.get_code(full))) > 10_000
    series_abi = artifacts.get("SettlementSeries").abi
    for address in created:
        series = w3.eth.contract(address=address, abi=series_abi)
        assert series.functions.owner().call() == creator
        assert series.functions.guardian().call() == GUARDIAN
        assert series.functions.CAP().call() == 500
        assert series.functions.EXPIRY().call() == expiry
    assert factory.functions.series_count().call() == 2


def test_struct_constructor_arguments_encode_like_web3(artifacts) -> None:
    from settlekit.deploy.executor import constructor_types, init_code
    from settlekit.model.margin import MarketConfig

    engine = artifacts.get("MarginEngine")
    assert constructor_types(engine)[-1] == "(" + ",".join(["uint256"] * 14) + ")"
    addresses = ["0x" + f"{i:040x}" for i in range(1, 5)]
    args = [*addresses, list(MarketConfig().as_tuple())]
    reference = (
        Web3()
        .eth.contract(abi=engine.abi, bytecode=engine.bytecode)
        .constructor(*[Web3.to_checksum_address(a) for a in addresses], MarketConfig().as_tuple())
        .data_in_transaction
    )
    assert "0x" + init_code(engine, args).hex() == reference
