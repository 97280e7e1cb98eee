"""Call steps in deployment plans: a transaction to an earlier step's contract (e.g. a mock feed's first price)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from settlekit.chain import Anvil, AnvilConfig
from settlekit.deploy.plan import PlanError, check_plan, load_plan

from support import cli_env, run_cli

PRICE = 200_000_000_000
LATEST_ROUND_ABI = [
    {
        "type": "function",
        "name": "latestRoundData",
        "inputs": [],
        "outputs": [{"type": t} for t in ("uint80", "int256", "uint256", "uint256", "uint80")],
        "stateMutability": "view",
    }
]


@pytest.fixture
def chain(settlekit_project, artifacts) -> Iterator[Anvil]:  # artifacts: build once before any CLI runs
    with Anvil(AnvilConfig(), settlekit_project) as node:
        yield node


def project_plan(settlekit_project: Any, chain: Anvil, path: Path) -> Path:
    path.write_text((settlekit_project.root / "settlekit.toml").read_text().replace("http://127.0.0.1:8545", chain.url))
    return path


def deploy(plan: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> Any:
    return run_cli(
        "deploy", "margin", "--plan", str(plan), "--deployments-dir", str(out), "--json", *extra, env=env or cli_env()
    )


def latest_round(chain: Anvil, feed: str) -> tuple[int, int]:
    round_id, answer, *_ = chain.w3.eth.contract(address=feed, abi=LATEST_ROUND_ABI).functions.latestRoundData().call()
    return int(round_id), int(answer)


def test_margin_plan_sets_the_feed_price_then_deploys_the_engine_and_verifies(
    chain: Anvil, settlekit_project: Any, tmp_path: Path
) -> None:
    plan = project_plan(settlekit_project, chain, tmp_path / "settlekit.toml")
    out = tmp_path / "deployments"
    result = deploy(plan, out)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["sent"] == 5  # four contracts and one call
    manifest = json.loads((out / "31337" / "margin.json").read_text())
    assert set(manifest["contracts"]) == {"debt", "collateral", "feed", "engine"}
    call = manifest["calls"]["feed_price"]
    assert call["skipped"] is False
    assert call["call"] == "feed.set_answer"
    assert call["to"] == manifest["contracts"]["feed"]["address"]
    assert call["args"] == [PRICE]
    receipt = chain.w3.eth.get_transaction_receipt(call["tx_hash"])
    assert receipt["status"] == 1
    assert receipt["to"] == call["to"]
    assert latest_round(chain, call["to"]) == (1, PRICE)
    nonces = sorted([c["nonce"] for c in manifest["contracts"].values()] + [call["nonce"]])
    assert nonces == [0, 1, 2, 3, 4]
    verified = run_cli("verify", "margin", "--plan", str(plan), "--deployments-dir", str(out), "--json")
    assert verified.returncode == 0, verified.stdout
    engine = next(c for c in json.loads(verified.stdout)["contracts"] if c["step"] == "engine")
    assert engine["code"] == "runtime and immutables match"
    assert engine["roles"]["guardian"]["ok"] is True
    assert engine["roles"]["owner"]["ok"] is True


@pytest.mark.parametrize("boundary", ["before-send", "after-send", "after-receipt"])
def test_kill_9_around_a_call_step_then_resume_calls_exactly_once(
    chain: Anvil, settlekit_project: Any, tmp_path: Path, boundary: str
) -> None:
    plan = project_plan(settlekit_project, chain, tmp_path / "settlekit.toml")
    out = tmp_path / "deployments"
    crashed = deploy(plan, out, env=cli_env(SETTLEKIT_DEPLOY_CRASH_AT=f"feed_price:{boundary}"))
    assert crashed.returncode == -signal.SIGKILL
    resumed = deploy(plan, out, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    manifest = json.loads((out / "31337" / "margin.json").read_text())
    assert latest_round(chain, manifest["contracts"]["feed"]["address"]) == (1, PRICE)  # one round: called once
    journal = [json.loads(line) for line in (out / "31337" / "margin.journal.jsonl").open()]
    assert len([r for r in journal if r["kind"] == "signed" and r["step"] == "feed_price"]) == 1
    assert chain.w3.eth.get_transaction_count(chain.w3.eth.accounts[0]) == 5


def test_a_call_on_a_mock_is_skipped_where_the_network_uses_an_existing_contract(
    chain: Anvil, settlekit_project: Any, tmp_path: Path
) -> None:
    # A "real" feed already on this chain, with its own price: the plan must use it and must not touch it.
    feed_plan = project_plan(settlekit_project, chain, tmp_path / "feed.toml")
    first = run_cli(
        "deploy", "settlement", "--plan", str(feed_plan), "--deployments-dir", str(tmp_path / "d1"), "--json"
    )
    assert first.returncode == 0, first.stdout
    real_feed = json.loads(first.stdout)["addresses"]["oracle"]
    chain.w3.eth.contract(
        address=real_feed,
        abi=[{"type": "function", "name": "set_answer", "inputs": [{"type": "int256"}], "outputs": []}],
    ).functions.set_answer(1_950 * 10**8).transact({"from": chain.w3.eth.accounts[3]})
    text = feed_plan.read_text().replace(
        'existing = { sepolia = "0x694AA1769357215DE4FAC081bf1f309aDC325306" }\n\n[[deployments.margin.steps]]\nid = '
        '"feed_price"',
        f'existing = {{ local = "{real_feed}" }}\n\n[[deployments.margin.steps]]\nid = "feed_price"',
    )
    assert text != feed_plan.read_text()
    plan = tmp_path / "existing.toml"
    plan.write_text(text)
    result = deploy(plan, tmp_path / "d2")
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "d2" / "31337" / "margin.json").read_text())
    assert manifest["contracts"]["feed"] == {"artifact": "MockAggregator", "address": real_feed, "existing": True}
    assert manifest["calls"]["feed_price"] == {"skipped": True, "reason": "feed is existing"}
    assert latest_round(chain, real_feed) == (1, 1_950 * 10**8)  # untouched


BASE = """
[networks.local]
chain_id = 31337
local = true

[[deployments.d.steps]]
id = "feed"
artifact = "MockAggregator"
args = [8, "ETH / USD"]
mock = true
"""


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            'id = "p"\ntarget = "@nowhere"\nfunction = "set_answer"\nargs = [1]\nmock = true',
            "target '@nowhere' is not an earlier deploy step",
        ),
        ('id = "p"\ntarget = "@feed"\nargs = [1]', "is a call step and needs an id, a target and a function"),
        (
            'id = "p"\ntarget = "@feed"\nfunction = "set_answer"\nartifact = "MockERC20"\nargs = [1]',
            "a call step takes only id, target, function, args and mock",
        ),
        ('id = "p"\ntarget = "@feed"\nfunction = "set_price"\nargs = [1]\nmock = true', "has no function 'set_price'"),
        (
            'id = "p"\ntarget = "@feed"\nfunction = "set_answer"\nargs = [1, 2]\nmock = true',
            "set_answer(int256) takes 1 argument(s), the plan gives 2",
        ),
        (
            'id = "p"\ntarget = "@feed"\nfunction = "set_answer"\nargs = [1]',
            "calls the mock 'feed' but is not marked mock = true",
        ),
        (
            'id = "p"\ntarget = "@feed"\nfunction = "set_answer"\nargs = [1]\nmock = true\n\n'
            '[[deployments.d.steps]]\nid = "token"\nartifact = "SafetyHarness"\nargs = ["@p"]',
            "a call step has no address",
        ),
    ],
)
def test_bad_call_steps_are_refused_before_anything_is_sent(
    artifacts: Any, tmp_path: Path, step: str, message: str
) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(BASE + "\n[[deployments.d.steps]]\n" + step + "\n")

    def load_and_check() -> None:
        plan = load_plan(path)
        check_plan(plan.deployment("d"), plan.network("local"), artifacts)

    with pytest.raises(PlanError) as caught:
        load_and_check()
    assert message in str(caught.value) + " " + (caught.value.hint or "")
