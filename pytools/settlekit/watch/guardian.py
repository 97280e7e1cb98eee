"""The guardian action: on a critical incident, raise the circuit breaker of the configured contracts.

A :class:`Guardian` is an incident sink (it is sent every newly opened incident). For a critical one it calls
``raise_level(level, reason)`` (contracts/modules/circuit_breaker.vy: the guardian may only raise, strictly, up to
HALTED) on each target contract, through :class:`~settlekit.tx.sender.TransactionSender`, and records what it did as
an incident of its own:

- ``guardian_action`` (info): sent (with the transaction hash), dry run (exactly what it would send), or skipped
  (the level is already at or above the target: the guardian never lowers and never raises twice);
- ``guardian_failed`` (critical): anything that stopped the send, with the revert decoded. The watcher keeps going.

Safety rules: it acts at most once per incident; it reads the level first and only ever raises; it refuses to act
when the node is not on the manifest's chain (chain id and genesis hash); Anvil's public development keys are refused
on chains that are not local; incidents about history (events older than the watcher's start, raised only with
``--alert-on-backfill``) trigger it only with ``on_history`` (which that option sets); its own incidents, the
node-outage incident and incidents about ``CircuitBreakerLevelChanged`` events never trigger it (so an owner lowering
the level is not fought). The key never leaves the :class:`~settlekit.deploy.keys.Signer`: nothing here logs or
records it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from settlekit.chain.dev_accounts import LOCAL_CHAIN_IDS
from settlekit.deploy.keys import Signer, check_allowed, from_keystore, from_private_key_env, password_from
from settlekit.errors import ContractRevert
from settlekit.exceptions import SettlekitError
from settlekit.tx.sender import TransactionSender
from settlekit.watch.incidents import Incident, IncidentLog

HALTED = 3
RAISE_SIGNATURE = "raise_level(uint256,bytes32)"
OWN_RULES = ("guardian_action", "guardian_failed")
DEFAULT_IGNORED_RULES = ("node_outage",)
IGNORED_EVENTS = ("CircuitBreakerLevelChanged",)

# The two functions of circuit_breaker.vy the guardian uses (every deployable exporting the module has them).
BREAKER_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "level",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "raise_level",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "new_level", "type": "uint256"}, {"name": "reason", "type": "bytes32"}],
        "outputs": [],
    },
]


class GuardianConfigError(SettlekitError):
    """The [watch.guardian] table (or the guardian options) cannot be used."""


@dataclass(frozen=True)
class GuardianConfig:
    """``[watch.guardian]`` in settlekit.toml (see docs/watch.md)."""

    enabled: bool = False
    contracts: tuple[str, ...] = ()  # manifest names (deployment step ids) of the contracts to raise
    level: int = 1  # the level to raise to: 1 NO_NEW_RISK, 2 NO_LIQUIDATION, 3 HALTED
    dry_run: bool = False
    ignore_rules: tuple[str, ...] = DEFAULT_IGNORED_RULES
    account: str | None = None  # Foundry keystore name
    key_env: str | None = None  # environment variable holding a private key
    timeout: float = 60.0  # seconds to wait for the receipt
    on_history: bool = False  # act on incidents about history (raised only with --alert-on-backfill)
    local_chain_ids: frozenset[int] = field(default=LOCAL_CHAIN_IDS)

    @classmethod
    def parse(cls, table: dict[str, Any]) -> GuardianConfig:
        known = {
            "enabled",
            "contracts",
            "level",
            "dry_run",
            "ignore_rules",
            "account",
            "key_env",
            "timeout",
            "on_history",
        }
        unknown = sorted(set(table) - known)
        if unknown:
            raise GuardianConfigError(
                f"[watch.guardian] has unknown keys: {', '.join(unknown)}",
                hint=f"known keys: {', '.join(sorted(known))}",
            )
        level = table.get("level", 1)
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= HALTED:
            raise GuardianConfigError(
                f"[watch.guardian] level = {level!r} is not a level to raise to",
                hint="use 1 (NO_NEW_RISK), 2 (NO_LIQUIDATION) or 3 (HALTED)",
            )
        contracts = table.get("contracts", [])
        if not isinstance(contracts, list) or not all(isinstance(c, str) for c in contracts):
            raise GuardianConfigError(
                "[watch.guardian] contracts must be a list of manifest names", hint='e.g. contracts = ["harness"]'
            )
        return cls(
            enabled=bool(table.get("enabled", False)),
            contracts=tuple(contracts),
            level=level,
            dry_run=bool(table.get("dry_run", False)),
            ignore_rules=tuple(str(r) for r in table.get("ignore_rules", DEFAULT_IGNORED_RULES)),
            account=table.get("account"),
            key_env=table.get("key_env"),
            timeout=float(table.get("timeout", 60.0)),
            on_history=bool(table.get("on_history", False)),
        )


@dataclass(frozen=True)
class Target:
    name: str
    address: str


def targets_from_manifest(manifest: dict[str, Any], names: Iterable[str]) -> list[Target]:
    """The manifest's addresses of ``names``."""
    contracts: dict[str, Any] = manifest.get("contracts", {})
    wanted = list(names)
    if not wanted:
        raise GuardianConfigError(
            "the guardian has no contract to act on",
            hint='set contracts = ["<manifest name>"] in [watch.guardian] or pass --guardian-contract NAME',
        )
    targets = []
    for name in wanted:
        if name not in contracts:
            raise GuardianConfigError(
                f"the manifest has no contract named {name!r}",
                hint="its contracts: " + ", ".join(sorted(contracts)),
            )
        targets.append(Target(name, to_checksum_address(contracts[name]["address"])))
    return targets


def reason_for(incident: Incident) -> bytes:
    """The bytes32 ``reason`` logged on chain: the incident id and rule, cut to 32 bytes."""
    return f"settlekit #{incident.id} {incident.rule}".encode()[:32].ljust(32, b"\0")


class Guardian:
    """An incident sink that raises the circuit breaker of ``targets`` on critical incidents."""

    def __init__(
        self,
        w3: Web3,
        targets: list[Target],
        config: GuardianConfig,
        signer: Signer | None,
        *,
        chain_id: int | None = None,
        genesis_hash: str | None = None,
        say: Callable[[str], None] | None = None,
        on_outcome: Callable[[str], None] | None = None,
    ) -> None:
        """``chain_id``/``genesis_hash``: the manifest's chain; the guardian refuses to act on any other.
        ``signer`` may be None only for a dry run."""
        if signer is None and not config.dry_run:
            raise GuardianConfigError(
                "the guardian action needs a guardian key",
                hint="pass --guardian-account NAME (a Foundry keystore) or --guardian-key-env VAR, "
                "or --guardian-dry-run to only show what it would send",
            )
        self.w3 = w3
        self.targets = targets
        self.config = config
        self.signer = signer
        self.chain_id = chain_id
        self.genesis_hash = genesis_hash
        self.say = say or (lambda _message: None)
        self.on_outcome = on_outcome or (lambda _outcome: None)
        self.incidents: IncidentLog | None = None
        self.handled: set[int] = set()  # incident ids already acted on (at most once each)
        self._sender: TransactionSender | None = None

    def bind(self, incidents: IncidentLog) -> None:
        """The incident log the guardian records its actions and failures in (the follower's)."""
        self.incidents = incidents

    def triggers_on(self, incident: Incident) -> bool:
        return (
            incident.severity == "critical"
            and incident.rule not in OWN_RULES
            and incident.rule not in self.config.ignore_rules
            and incident.details.get("event") not in IGNORED_EVENTS
            and (self.config.on_history or not incident.details.get("history", False))
        )

    # --- the sink --------------------------------------------------------------------------------------------

    def send(self, incident: Incident) -> None:
        if not self.triggers_on(incident) or incident.id in self.handled:
            return
        self.handled.add(incident.id)
        try:
            chain_id = self._check_chain()
        except Exception as error:
            self._failed(incident, None, _describe(error))
            return
        for target in self.targets:
            try:
                self._act(incident, target, chain_id)
            except Exception as error:  # a failure is an incident, never a stop
                self._failed(incident, target, _describe(error))

    def _check_chain(self) -> int:
        chain_id = int(self.w3.eth.chain_id)
        if self.chain_id is not None and chain_id != self.chain_id:
            raise GuardianConfigError(
                f"the node is on chain {chain_id}, the manifest's contracts on chain {self.chain_id}: not sending",
                hint="point --rpc-url at the manifest's chain",
            )
        if self.genesis_hash:
            genesis = self.w3.eth.get_block(0)["hash"]
            if genesis is not None and genesis.to_0x_hex() != self.genesis_hash:
                raise GuardianConfigError(
                    "the node's genesis block is not the manifest's: not sending",
                    hint="the node was restarted or is another chain; check it before raising the breaker by hand",
                )
        if self.signer is not None:
            check_allowed(self.signer, chain_id, self.config.local_chain_ids)
        return chain_id

    def _act(self, incident: Incident, target: Target, chain_id: int) -> None:
        contract = self.w3.eth.contract(address=to_checksum_address(target.address), abi=BREAKER_ABI)
        current = int(contract.functions.level().call())
        base = {
            "incident": incident.id,
            "incident_rule": incident.rule,
            "contract": target.name,
            "to": target.address,
            "current_level": current,
            "level": self.config.level,
        }
        if current >= self.config.level:
            self._record(incident, target, "skipped", {**base, "why": "level already at or above the target"})
            return
        reason = reason_for(incident)
        data = contract.encode_abi("raise_level", args=[self.config.level, reason])
        params = {"to": target.address, "data": data, "value": 0}
        plan = {
            **base,
            "function": RAISE_SIGNATURE,
            "args": [self.config.level, "0x" + reason.hex()],
            "data": data,
            "from": self.signer.address if self.signer else None,
            "chain_id": chain_id,
        }
        if self.config.dry_run:
            if self.signer is not None:  # estimate as the guardian: shows the decoded revert it would meet
                try:
                    plan["gas"] = int(self._tx_sender().prepare(params)["gas"])
                except ContractRevert as revert:
                    plan["would_revert"] = str(revert)
            self._record(incident, target, "dry_run", plan)
            return
        receipt = self._tx_sender().send_and_wait(params, timeout=self.config.timeout)
        self._record(
            incident,
            target,
            "sent",
            {
                **plan,
                "tx_hash": receipt["transactionHash"].to_0x_hex(),
                "block_number": int(receipt["blockNumber"]),
                "gas_used": int(receipt["gasUsed"]),
            },
        )

    def _tx_sender(self) -> TransactionSender:
        assert self.signer is not None
        if self._sender is None:
            self._sender = TransactionSender(self.w3, self.signer)
        return self._sender

    # --- records ---------------------------------------------------------------------------------------------

    def _record(self, incident: Incident, target: Target, outcome: str, details: dict[str, Any]) -> None:
        verb = {"sent": "raised", "dry_run": "would raise (dry run)", "skipped": "left"}[outcome]
        summary = (
            f"guardian {verb} {target.name} to level {self.config.level} on incident #{incident.id} ({incident.rule})"
            if outcome != "skipped"
            else f"guardian left {target.name} at level {details['current_level']} (incident #{incident.id})"
        )
        self.say(summary + (f": tx {details['tx_hash']}" if outcome == "sent" else ""))
        self.on_outcome(outcome)
        if self.incidents is not None:
            self.incidents.raise_(
                "guardian_action",
                f"guardian_action:{incident.id}:{target.name}",
                "info",
                summary,
                {"outcome": outcome, **details},
            )

    def _failed(self, incident: Incident, target: Target | None, why: str) -> None:
        name = target.name if target else "*"
        summary = f"guardian could not raise {name} on incident #{incident.id} ({incident.rule}): {why}"
        self.say(summary)
        self.on_outcome("failed")
        if self.incidents is not None:
            self.incidents.raise_(
                "guardian_failed",
                f"guardian_failed:{incident.id}:{name}",
                "critical",
                summary,
                {
                    "incident": incident.id,
                    "contract": name,
                    "to": target.address if target else None,
                    "level": self.config.level,
                    "error": why,
                },
            )


def _describe(error: Exception) -> str:
    """What went wrong, for the incident log: settlekit errors (decoded reverts included) by their message; anything
    else by its type and first line (web3 messages hold no key material: the key never leaves the Signer)."""
    if isinstance(error, SettlekitError):
        return error.message
    first_line = (str(error).splitlines() or [""])[0][:300]
    return f"{type(error).__name__}: {first_line}"


def guardian_signer(
    *, account: str | None, password_file: Path | None, password_env: str | None, key_env: str | None
) -> Signer | None:
    """The guardian's key: a Foundry keystore (password from a file or an environment variable, as deploy reads it)
    or a private key in an environment variable; None if neither is given."""
    if account is not None and key_env is not None:
        raise GuardianConfigError(
            "both a guardian keystore and a guardian key variable are given", hint="give one way to sign"
        )
    if account is not None:
        return from_keystore(account, password_from(file=password_file, env=password_env, prompt=False))
    if key_env is not None:
        return from_private_key_env(key_env)
    return None


def build_guardian(
    w3: Web3,
    manifest: dict[str, Any],
    config: GuardianConfig,
    *,
    password_file: Path | None = None,
    password_env: str | None = None,
    say: Callable[[str], None] | None = None,
    on_outcome: Callable[[str], None] | None = None,
) -> Guardian:
    """A guardian for the contracts of ``manifest`` named in ``config``, with the key ``config`` names."""
    signer = guardian_signer(
        account=config.account, password_file=password_file, password_env=password_env, key_env=config.key_env
    )
    chain_id = manifest.get("chain_id")
    return Guardian(
        w3,
        targets_from_manifest(manifest, config.contracts),
        config,
        signer,
        chain_id=int(chain_id) if chain_id is not None else None,
        genesis_hash=manifest.get("genesis_hash"),
        say=say,
        on_outcome=on_outcome,
    )
