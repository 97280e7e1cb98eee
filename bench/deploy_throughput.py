"""Deploy and send throughput on Anvil.

1. Full-suite deploy time: every deployment in the project's settlekit.toml (safety, settlement with the blueprint
   and the clone implementation, the margin market with its call step), through the journal, each then verified.
2. Concurrent sends through the nonce manager versus plain web3.py sending one transaction at a time and waiting
   for each receipt, both with a block time of 1 s, in the same run. Target (issue 6): >= 20x the baseline.

Run: .venv/bin/python bench/deploy_throughput.py
"""

from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from settlekit.build import ArtifactStore, build
from settlekit.chain import Anvil, AnvilConfig
from settlekit.deploy.executor import Deployer
from settlekit.deploy.keys import dev_signer
from settlekit.deploy.plan import load_plan
from settlekit.deploy.verify import verify_deployment
from settlekit.project import Project
from settlekit.tx import TransactionSender

from report import ROOT, write_section

RECEIVER = "0x000000000000000000000000000000000000dEaD"
BASELINE_TXS = 10
CONCURRENT_TXS = 400
TARGET_SPEEDUP = 20


@dataclass
class PlanRun:
    name: str
    contracts: int
    calls: int
    gas: int
    seconds: float
    verified: bool


def deploy_time(project: Project, store: ArtifactStore) -> tuple[float, list[PlanRun]]:
    """Deploy every deployment of the project's settlekit.toml, one after the other, through the journal, then
    verify each (on-chain code against the compiled code, roles against the plan's); verification is not timed."""
    plan = load_plan(project.root / "settlekit.toml")
    runs: list[PlanRun] = []
    total = 0.0
    with Anvil(AnvilConfig(), project) as node, tempfile.TemporaryDirectory() as scratch:
        for name in plan.deployments:
            deployer = Deployer(
                node.w3, dev_signer(0), plan.deployment(name), plan.network("local"), store, root=Path(scratch)
            )
            started = time.perf_counter()
            result = deployer.run()
            seconds = time.perf_counter() - started
            total += seconds
            manifest = json.loads(result.manifest.read_text())
            report = verify_deployment(node.w3, manifest, store)
            runs.append(
                PlanRun(
                    name, len(result.addresses), len(manifest.get("calls", {})), result.gas_used, seconds, report.ok
                )
            )
    missing = set(plan.deployments) - {run.name for run in runs}
    assert not missing, f"plans not deployed: {sorted(missing)}"
    return total, runs


def baseline(node: Anvil) -> float:
    """Plain web3.py: send, wait for the receipt, send the next."""
    w3 = node.w3
    sender = w3.eth.accounts[1]
    started = time.perf_counter()
    for value in range(BASELINE_TXS):
        tx_hash = w3.eth.send_transaction({"from": sender, "to": RECEIVER, "value": value + 1, "gas": 21_000})
        w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.05)
    return BASELINE_TXS / (time.perf_counter() - started)


def concurrent(node: Anvil) -> float:
    sender = TransactionSender(node.w3, dev_signer(2), poll_interval=0.1)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=64) as pool:
        receipts = list(
            pool.map(
                lambda v: sender.send_and_wait({"to": RECEIVER, "value": v + 1, "gas": 21_000}), range(CONCURRENT_TXS)
            )
        )
    elapsed = time.perf_counter() - started
    assert all(r["status"] == 1 for r in receipts)
    return CONCURRENT_TXS / elapsed


def main() -> None:
    project = Project(ROOT)
    build(project)
    store = ArtifactStore(project.out_dir)
    seconds, runs = deploy_time(project, store)
    with Anvil(AnvilConfig(block_time=1), project) as node:
        base = baseline(node)
        fast = concurrent(node)
    speedup = fast / base
    contracts = sum(run.contracts for run in runs)
    calls = sum(run.calls for run in runs)
    gas = sum(run.gas for run in runs)
    body = (
        f"| measurement | result |\n|---|---|\n"
        f"| full deploy of every plan in settlekit.toml ({len(runs)} plans: {contracts} contracts and {calls} call "
        f"step(s), {gas:,} gas) through the journal, automine | {seconds:.2f} s |\n"
        f"| plain web3.py, one transfer at a time, wait for each receipt (1 s blocks, {BASELINE_TXS} txs) | "
        f"{base:.2f} tx/s |\n"
        f"| settlekit.tx nonce manager, 64 threads ({CONCURRENT_TXS} transfers, 1 s blocks) | {fast:.1f} tx/s |\n"
        f"| speed-up | **{speedup:.0f}x** (target >= {TARGET_SPEEDUP}x: "
        f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'}) |\n\n"
        "Per plan (deploy time through the journal; then `verify`: on-chain code and roles against the plan):\n\n"
        "| plan | contracts | call steps | gas | deploy time | verify |\n|---|---|---|---|---|---|\n"
        + "".join(
            f"| {run.name} | {run.contracts} | {run.calls} | {run.gas:,} | {run.seconds:.2f} s | "
            f"{'ok' if run.verified else 'FAILED'} |\n"
            for run in runs
        )
    )
    write_section(
        "deploy", "Deploy time and send throughput (Anvil)", ".venv/bin/python bench/deploy_throughput.py", body
    )
    print(body)


if __name__ == "__main__":
    main()
