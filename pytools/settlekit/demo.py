"""The quick-start demo: a real Anvil, a real build, real contracts, one guarded failure decoded.

Each stage of the product adds a chapter here (settlement, liquidation, the watcher seeing a reorg); the demo
must stay real at every stage: no step is simulated. The `safety` and `settlement` plans of settlekit.toml are
deployed through the journal; the series is created through the deployed factory, as an operator would. The
watcher (the library Follower, in a thread) follows both deployment manifests with their children (the series the
factory announces) from the deployment on, beside the other chapters, into a SQLite store in the demo's scratch
folder (or at ``store_path``, kept for ``settlekit events --series``).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from settlekit import contracts
from settlekit.build import ArtifactStore, build
from settlekit.chain import Anvil, AnvilConfig, RpcClient
from settlekit.deploy.executor import Deployer
from settlekit.deploy.keys import dev_signer
from settlekit.deploy.manifest import read_manifest
from settlekit.deploy.plan import DEFAULT_PLAN_FILE, load_plan
from settlekit.deploy.verify import verify_deployment
from settlekit.errors import ContractRevert, ReasonRevert
from settlekit.exceptions import SettlekitError
from settlekit.project import Project
from settlekit.scenarios.margin import run_margin_scenario
from settlekit.scenarios.settlement import kit_from_manifest, run_settlement_scenario
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import Follower, FollowerConfig
from settlekit.watch.incidents import IncidentLog
from settlekit.watch.series import record_token, series_events, summarize
from settlekit.watch.store import EventRow, Store
from settlekit.watch.targets import Targets, from_manifests

Progress = Callable[[str], None]
DEMO_DECIMALS = 6
ONE_TOKEN = 10**DEMO_DECIMALS
REORG_DEPTH = 3
WATCH_POLL = 0.2  # seconds between the watcher's polls (it shares the GIL with the scenario)
DEPLOYMENTS = ("safety", "settlement")  # the plans of settlekit.toml the demo deploys


class DemoFailedError(SettlekitError):
    """A demo check did not hold: the product does not behave as promised."""


@dataclass
class DemoReport:
    """What the demo did and saw, in order."""

    chain: dict[str, Any] = field(default_factory=dict)
    build: dict[str, Any] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    token: dict[str, Any] = field(default_factory=dict)
    guarded_failure: dict[str, Any] = field(default_factory=dict)
    settlement: dict[str, Any] = field(default_factory=dict)
    liquidation: dict[str, Any] = field(default_factory=dict)
    watcher: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def check(self, name: str, expected: Any, actual: Any) -> None:
        self.checks.append({"name": name, "expected": expected, "actual": actual, "ok": expected == actual})
        if expected != actual:
            raise DemoFailedError(
                f"demo check failed: {name}: expected {expected!r}, got {actual!r}",
                hint="this is a bug in settlekit; please report it with this output",
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_demo(project: Project, progress: Progress | None = None, store_path: Path | None = None) -> DemoReport:
    """Run the demo on an embedded Anvil that is stopped again at the end, whatever happens.

    ``store_path``: where the watcher's SQLite store is written and kept (by default, in a scratch folder that is
    removed at the end)."""
    say = progress or (lambda _message: None)
    report = DemoReport()
    started = time.monotonic()
    say("compiling contracts with forge and vyper 0.4.3")
    build_report = build(project)
    report.build = {"compiled": len(build_report.compiled), "cached": build_report.cached}
    store = ArtifactStore(project.out_dir)
    say("starting an embedded Anvil on a free port")
    with Anvil(AnvilConfig(), project) as node, tempfile.TemporaryDirectory(prefix="settlekit-demo-") as scratch:
        report.chain = {"url": node.url, "chain_id": node.chain_id(), "anvil_pid": node.pid}
        manifests = _deploy_chapter(project, node, store, report, say, Path(scratch))
        targets = from_manifests([(name, manifest) for name, manifest in manifests.items()])
        path = store_path or Path(scratch) / "watch.db"
        say(f"starting the watcher on both manifests and their factory's children (SQLite store {path})")
        token_address = manifests["safety"]["contracts"]["collateral"]["address"]
        with _Watcher(node, targets, store, path) as watcher:
            _token_chapter(node, token_address, store, report, say)
            _guarded_failure_chapter(node, store, report, say)
            _settlement_chapter(node, store, manifests["settlement"], watcher, report, say)
            _liquidation_chapter(node, store, report, say)
            _reorg_chapter(node, token_address, store, watcher, report, say)
        say("stopping Anvil")
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _deploy_chapter(
    project: Project, node: Anvil, store: ArtifactStore, report: DemoReport, say: Progress, root: Path
) -> dict[str, dict[str, Any]]:
    """Deploy the `safety` and `settlement` plans of settlekit.toml through the journal, then verify them on
    chain; return their manifests by deployment name."""
    plan = load_plan(project.root / DEFAULT_PLAN_FILE)
    manifests: dict[str, dict[str, Any]] = {}
    for name in DEPLOYMENTS:
        say(f"deploying the `{name}` plan of {DEFAULT_PLAN_FILE} through the write-ahead journal")
        deployer = Deployer(node.w3, dev_signer(0), plan.deployment(name), plan.network("local"), store, root=root)
        result = deployer.run()
        manifest = read_manifest(result.manifest)
        say(f"verifying the `{name}` deployment against the compiled code")
        verification = verify_deployment(node.w3, manifest, store)
        report.deployments[name] = {
            "plan": DEFAULT_PLAN_FILE,
            "deployment": name,
            "transactions": result.sent,
            "gas_used": result.gas_used,
            "journal_records": len(result.journal.read_text().splitlines()),
            "manifest": {
                step: {
                    **{key: entry[key] for key in ("artifact", "address", "tx_hash", "block_number", "runtime_hash")},
                    **({"children": entry["children"]} if entry.get("children") else {}),
                }
                for step, entry in manifest["contracts"].items()
            },
            "verified": {check.step: check.code for check in verification.contracts},
            "roles": {
                check.step: {role: r["ok"] for role, r in check.roles.items()} for check in verification.contracts
            },
        }
        report.check(f"`{name}` deployment verified (code, immutables and roles)", True, verification.ok)
        manifests[name] = manifest
    return manifests


def _token_chapter(node: Anvil, token_address: str, store: ArtifactStore, report: DemoReport, say: Progress) -> None:
    w3 = node.w3
    accounts = list(w3.eth.accounts)
    deployer, holder = accounts[0], accounts[1]
    token = w3.eth.contract(address=w3.to_checksum_address(token_address), abi=store.get("MockERC20").abi)
    say("minting 1,000 dUSD and transferring 250 dUSD")
    mint = contracts.transact(token.functions.mint(deployer, 1_000 * ONE_TOKEN), sender=deployer)
    transfer = contracts.transact(token.functions.transfer(holder, 250 * ONE_TOKEN), sender=deployer)
    deployer_balance = contracts.call(token.functions.balanceOf(deployer))
    holder_balance = contracts.call(token.functions.balanceOf(holder))
    supply = contracts.call(token.functions.totalSupply())
    report.token = {
        "address": token.address,
        "symbol": contracts.call(token.functions.symbol()),
        "decimals": contracts.call(token.functions.decimals()),
        "runtime_bytes": len(w3.eth.get_code(token.address)),
        "mint_gas": mint["gasUsed"],
        "transfer_gas": transfer["gasUsed"],
        "balances": {deployer: deployer_balance, holder: holder_balance},
    }
    report.check("deployer balance after transfer", 750 * ONE_TOKEN, deployer_balance)
    report.check("holder balance after transfer", 250 * ONE_TOKEN, holder_balance)
    report.check("supply equals the sum of balances", supply, deployer_balance + holder_balance)


def _settlement_chapter(
    node: Anvil, store: ArtifactStore, manifest: dict[str, Any], watcher: _Watcher, report: DemoReport, say: Progress
) -> None:
    """An expiring series, created through the deployed factory: minted in lots, settled at expiry, paid in a batch
    and by a relayed signed claim, dust swept; checked against the exact model to the wei. The watcher follows the
    series from the factory's SeriesCreated; its summary from the store must equal the chain's totals."""
    kit = kit_from_manifest(node.w3, store, manifest, node.w3.eth.accounts[0])
    report.settlement = run_settlement_scenario(node.w3, store, say, kit=kit)
    for name, ok in report.settlement["checks"].items():
        report.check(f"settlement: {name}", True, ok)
    watcher.wait_for_head(node)
    series = report.settlement["series"]
    summary = summarize(watcher.store, series).as_dict()
    events: dict[str, int] = {}
    for event in series_events(watcher.store, series):
        events[event.event] = events.get(event.event, 0) + 1
    report.settlement["watched"] = {**summary, "events": events}
    say(
        f"the watcher followed series {series} from the factory's SeriesCreated: "
        + ", ".join(f"{count} {name}" for name, count in events.items())
    )
    report.check(
        "watcher: the series' summary from the store equals the chain's totals",
        {key: report.settlement[key] for key in ("deposited", "paid", "reclaimed", "swept", "held")},
        {key: int(summary[key]) for key in ("deposited", "paid", "reclaimed", "swept", "held")},
    )
    report.check(
        "watcher: the series' settlement events are in the store",
        True,
        {"SeriesCreated", "Minted", "Settled", "Claimed", "Reclaimed", "DustSwept"} <= set(events),
    )


def _liquidation_chapter(node: Anvil, store: ArtifactStore, report: DemoReport, say: Progress) -> None:
    """A price drop makes positions liquidatable; a keeper liquidates them within the per-block cap over several
    blocks; one ends in bad debt; the accounting identity and the exact model are checked."""
    report.liquidation = run_margin_scenario(node, store, say)
    report.check("liquidation: accounting identity within the stated dust", True, report.liquidation["accounting_ok"])
    report.check("liquidation: chain and exact model agree to the wei", True, report.liquidation["model_agrees"])
    report.check("liquidation: one position ended in bad debt", 1, report.liquidation["bad_debt_positions"])


def _guarded_failure_chapter(node: Anvil, store: ArtifactStore, report: DemoReport, say: Progress) -> None:
    w3 = node.w3
    accounts = list(w3.eth.accounts)
    deployer, receiver = accounts[0], accounts[2]
    say("sending a token that returns false through safe_token (must revert, not pass silently)")
    bad_token = contracts.deploy(w3, store.get("FalseReturnToken"), sender=deployer)
    harness = contracts.deploy(w3, store.get("SafeTokenHarness"), sender=deployer)
    contracts.transact(bad_token.functions.mint(harness.address, 100), sender=deployer)
    contracts.transact(bad_token.functions.set_always_false(True), sender=deployer)
    try:
        contracts.transact(harness.functions.safe_transfer(bad_token.address, receiver, 100), sender=deployer)
    except ContractRevert as revert:
        report.guarded_failure = {
            "call": "SafeTokenHarness.safe_transfer(FalseReturnToken, receiver, 100)",
            "kind": type(revert).__name__,
            "module": revert.module if isinstance(revert, ReasonRevert) else None,
            "reason": revert.reason if isinstance(revert, ReasonRevert) else None,
            "message": revert.message,
            "raw": "0x" + revert.data.hex(),
        }
    report.check(
        "false-returning transfer reverted with",
        "safe_token: transfer returned false",
        f"{report.guarded_failure.get('module')}: {report.guarded_failure.get('reason')}",
    )
    report.check("receiver got nothing", 0, contracts.call(bad_token.functions.balanceOf(receiver)))


class _Watcher:
    """The watcher following the demo's chain in a thread: the library Follower that `settlekit watch` runs."""

    def __init__(self, node: Anvil, targets: Targets, artifacts: ArtifactStore, path: Path) -> None:
        self.store = Store.sqlite(str(path))
        rpc = RpcClient(node.url, timeout=10)
        for target in targets.contracts:  # symbols and decimals, for amounts in token units (as `watch` does)
            record_token(self.store, rpc.call, target.address)
        self.follower = Follower(
            rpc,
            self.store,
            EventDecoder({t.label: (t.address, t.artifact) for t in targets.contracts}, artifacts),
            FollowerConfig(confirmations=2, expected_chain_id=targets.chain_id),
            targets=targets.contracts,
            children=targets.children,
        )
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="settlekit-demo-watcher", daemon=True)

    def _run(self) -> None:
        try:
            self.follower.run(WATCH_POLL, stop=self.stop)
        except BaseException as error:  # reported by wait_for_head, never lost in the thread
            self.errors.append(error)

    def __enter__(self) -> _Watcher:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        self.store.close()

    def wait_for_head(self, node: Anvil, timeout: float = 30.0) -> str:
        """Block until the store's tip is the node's head; return its hash."""
        deadline = time.monotonic() + timeout
        while True:
            head = node.rpc.call("eth_getBlockByNumber", "latest", False)["hash"]
            tip = self.store.tip()
            if tip is not None and tip.hash == head:
                return str(head)
            if self.errors or time.monotonic() > deadline:
                raise DemoFailedError(
                    f"the watcher did not reach the head {head} within {timeout:g}s"
                    + (f": {self.errors[0]}" if self.errors else ""),
                    hint="this is a bug in settlekit; please report it with this output",
                )
            time.sleep(WATCH_POLL / 2)


def _event_view(event: EventRow) -> dict[str, Any]:
    return {
        "block": event.block_number,
        "block_hash": event.block_hash,
        "log_index": event.log_index,
        "contract": event.contract,
        "event": event.event,
        "args": event.args,
        "status": event.status,
    }


def _reorg_chapter(
    node: Anvil, token_address: str, store: ArtifactStore, watcher: _Watcher, report: DemoReport, say: Progress
) -> None:
    """Three transfers, seen by the watcher; then anvil_reorg replaces their blocks with a branch holding a
    different transfer. The watcher retracts the orphaned events (kept, never canonical), ingests the new branch,
    and records the reorg as an incident with its depth."""
    w3 = node.w3
    accounts = list(w3.eth.accounts)
    deployer = accounts[0]
    token = w3.eth.contract(address=w3.to_checksum_address(token_address), abi=store.get("MockERC20").abi)
    say(f"three dUSD transfers, then a reorg of depth {REORG_DEPTH} with a different transfer in the new branch")
    for amount in (1, 2, 3):
        contracts.transact(token.functions.transfer(accounts[1], amount * ONE_TOKEN), sender=deployer)
    old_head = watcher.wait_for_head(node)
    head = node.block_number()
    nonce = int(node.rpc.call("eth_getTransactionCount", deployer, hex(head - REORG_DEPTH)), 16)
    replacement = token.functions.transfer(accounts[4], 7 * ONE_TOKEN).build_transaction(
        cast(Any, {"from": deployer, "gas": 100_000, "nonce": nonce})
    )
    node.reorg(REORG_DEPTH, [(dict(replacement), 0)])
    new_head = watcher.wait_for_head(node)
    reader = watcher.store
    reorgs = [r for r in reader.reorg_log() if r["old_tip"] == old_head]
    incidents = [i for i in IncidentLog(reader).list() if i.rule == "reorg" and i.details["old_tip"] == old_head]
    ancestor = reorgs[0]["common_ancestor"] if reorgs else head - REORG_DEPTH
    everything = reader.events(canonical_only=False, from_block=ancestor + 1)
    retracted = [_event_view(e) for e in everything if e.status == "retracted"]
    reingested = [_event_view(e) for e in everything if e.status != "retracted"]
    logs = node.rpc.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "address": token.address})
    on_chain = sorted((log["blockHash"], int(log["logIndex"], 16)) for log in logs)
    stored = sorted((e.block_hash, e.log_index) for e in reader.events(contract="collateral"))
    report.watcher = {
        "store": "sqlite",
        "blocks_followed": node.block_number() + 1,
        "events_stored": reader.count_events(),
        "reorg": {
            "depth": reorgs[0]["depth"] if reorgs else None,
            "anvil_depth": REORG_DEPTH,
            "common_ancestor": ancestor,
            "old_tip": old_head,
            "new_tip": new_head,
        },
        "retracted": retracted,
        "reingested": reingested,
        "incident": {
            "id": incidents[0].id,
            "rule": incidents[0].rule,
            "severity": incidents[0].severity,
            "state": incidents[0].state,
            "summary": incidents[0].summary,
            "depth": incidents[0].details["depth"],
        }
        if incidents
        else None,
        "store_matches_node": stored == on_chain,
    }
    say(f"the watcher retracted {len(retracted)} events and ingested {len(reingested)} from the new branch")
    report.check(
        "watcher: the reorg is recorded once, with the depth anvil replaced",
        [REORG_DEPTH],
        [r["depth"] for r in reorgs],
    )
    report.check(
        "watcher: the reorg is an incident with its depth", REORG_DEPTH, (report.watcher["incident"] or {}).get("depth")
    )
    report.check(
        "watcher: the three orphaned transfers are retracted",
        [1, 2, 3],
        sorted(int(e["args"]["value"]) // ONE_TOKEN for e in retracted if e["event"] == "Transfer"),
    )
    report.check(
        "watcher: the new branch's transfer is canonical",
        [7],
        [int(e["args"]["value"]) // ONE_TOKEN for e in reingested if e["event"] == "Transfer"],
    )
    report.check("watcher: stored canonical events equal eth_getLogs", True, stored == on_chain)
