"""Settlement of an expiring series, end to end on a real chain, checked against the exact model.

Deploys a 6-decimal collateral, a price feed, an ERC-5202 blueprint of SettlementSeries, the SettlementSeriesClone
implementation and a SeriesFactory on both; creates a series (a clone); writers mint in lots; at expiry the series
settles from the oracle; a keeper pays holders in a batch (`claim_for`), one holder's signed claim is relayed by
someone else, writers reclaim, the treasury sweeps the dust; and the summary checks conservation (deposited ==
paid + reclaimed + swept, held == 0) and that every amount equals the model's to the wei.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from settlekit import contracts
from settlekit.amounts import in_units, ratio
from settlekit.build import ArtifactStore
from settlekit.build.artifacts import Artifact
from settlekit.build.blueprint import blueprint_deployer
from settlekit.chain.dev_accounts import dev_account
from settlekit.model.settlement import SeriesTerms, SettlementModel
from settlekit.signing import Signature, contract_domain, sign_typed

# ERC-5202: a blueprint's code is 0xFE 0x71 0x00 (invalid opcode, magic, version 0) followed by the initcode.
# @notice Collateral the factory's fee-on-transfer probe moves (and returns): SeriesFactory.PROBE_AMOUNT.
PROBE_AMOUNT = 10_000
CLAIM_TYPE = [("holder", "address"), ("recipient", "address"), ("nonce", "uint256"), ("deadline", "uint256")]
REPORT_TYPE = [("price", "uint256"), ("expiry", "uint256"), ("nonce", "uint256"), ("deadline", "uint256")]
# Demo terms: a 2,000-2,500 call spread on an 8-decimal feed, 500 collateral-token units per series unit, an
# odd 1 wei more so that the payouts do not divide evenly and the dust is real.
STRIKE = 2_000 * 10**8
CAP = 500 * 10**8
MAX_PAYOUT_PER_UNIT = 500 * 10**6 + 1
SETTLEMENT_WINDOW = 3_600
SETTLEMENT_PRICE = 2_123_45678901

Say = Callable[[str], None]


def deploy_blueprint(w3: Web3, artifact: Artifact, *, sender: ChecksumAddress) -> ChecksumAddress:
    """Deploy ``artifact``'s initcode as an ERC-5202 blueprint; return its address."""
    tx_hash = w3.eth.send_transaction({"from": sender, "data": blueprint_deployer(artifact.bytecode)})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    address = receipt["contractAddress"]
    if receipt["status"] != 1 or address is None:
        raise RuntimeError("blueprint deployment failed")
    return address


def set_time(w3: Web3, timestamp: int) -> None:
    """Mine an empty block at ``timestamp`` (anvil RPC), so the next calls see that time or later."""
    w3.provider.make_request(cast(Any, "evm_setNextBlockTimestamp"), [timestamp])
    w3.provider.make_request(cast(Any, "evm_mine"), [])


def now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


@dataclass
class SettlementKit:
    """A token, a feed and a factory on its blueprint and clone implementation, ready to create series."""

    w3: Web3
    store: ArtifactStore
    admin: ChecksumAddress
    token: Contract
    oracle: Contract
    factory: Contract

    def create_series(
        self,
        *,
        strike: int,
        cap: int,
        max_payout_per_unit: int,
        expiry: int,
        sweep_deadline: int,
        treasury: str,
        reporter: str,
        guardian: str,
        window: int = SETTLEMENT_WINDOW,
        blueprint: bool = False,
    ) -> Contract:
        """Create a series from ``admin`` (who funds and approves the probe); return the bound contract.

        A clone (``create_series``) by default; a full series from the blueprint
        (``create_series_from_blueprint``) with ``blueprint=True``. Both answer the SettlementSeries ABI."""
        contracts.transact(self.token.functions.mint(self.admin, PROBE_AMOUNT), sender=self.admin)
        contracts.transact(self.token.functions.approve(self.factory.address, PROBE_AMOUNT), sender=self.admin)
        create = (
            self.factory.functions.create_series_from_blueprint if blueprint else self.factory.functions.create_series
        )
        call = create(
            self.token.address,
            self.oracle.address,
            strike,
            cap,
            max_payout_per_unit,
            expiry,
            window,
            sweep_deadline,
            treasury,
            reporter,
            guardian,
        )
        receipt = contracts.transact(call, sender=self.admin)
        (event,) = self.factory.events.SeriesCreated().process_receipt(receipt, errors=DISCARD)
        series: Contract = self.w3.eth.contract(
            address=event["args"]["series"], abi=self.store.get("SettlementSeries").abi
        )
        return series

    def mint(self, series: Contract, writer: ChecksumAddress, units: int, receiver: str) -> None:
        """Fund ``writer`` with exactly the collateral of ``units`` and mint them to ``receiver``."""
        amount = units * int(series.functions.MAX_PAYOUT_PER_UNIT().call())
        contracts.transact(self.token.functions.mint(writer, amount), sender=writer)
        contracts.transact(self.token.functions.approve(series.address, amount), sender=writer)
        contracts.transact(series.functions.mint(units, receiver), sender=writer)


def deploy_kit(w3: Web3, store: ArtifactStore, admin: ChecksumAddress, decimals: int = 6) -> SettlementKit:
    """Deploy a collateral token with ``decimals``, an 8-decimal feed, the blueprint, the clone implementation and
    the factory (whose ``create_series`` makes clones)."""
    token = contracts.deploy(w3, store.get("MockERC20"), "Demo Dollar", "DUSD", decimals, sender=admin)
    oracle = contracts.deploy(w3, store.get("MockAggregator"), 8, "ETH / USD", sender=admin)
    blueprint = deploy_blueprint(w3, store.get("SettlementSeries"), sender=admin)
    implementation = contracts.deploy(w3, store.get("SettlementSeriesClone"), sender=admin)
    factory = contracts.deploy(w3, store.get("SeriesFactory"), blueprint, implementation.address, sender=admin)
    return SettlementKit(w3, store, admin, token, oracle, factory)


def kit_from_manifest(
    w3: Web3, store: ArtifactStore, manifest: dict[str, Any], admin: ChecksumAddress
) -> SettlementKit:
    """The kit of a deployed `settlement` plan (settlekit.toml): its collateral, oracle and series factory, as the
    manifest names them; ``admin`` creates the series (and funds the factory's probe)."""
    deployed = manifest["contracts"]

    def bound(step: str) -> Contract:
        entry = deployed[step]
        return w3.eth.contract(address=w3.to_checksum_address(entry["address"]), abi=store.get(entry["artifact"]).abi)

    return SettlementKit(w3, store, admin, bound("collateral"), bound("oracle"), bound("series_factory"))


def sign_claim(holder: LocalAccount, series: Contract, recipient: str, nonce: int, deadline: int) -> Signature:
    """The holder's EIP-712 Claim, as a wallet signs it, for anyone to relay."""
    message = {"holder": holder.address, "recipient": recipient, "nonce": nonce, "deadline": deadline}
    return sign_typed(holder, contract_domain(series), "Claim", CLAIM_TYPE, message)


def sign_report(reporter: LocalAccount, series: Contract, price: int, nonce: int, deadline: int) -> Signature:
    """The reporter's EIP-712 SettlementReport for ``series``' expiry."""
    expiry = int(series.functions.EXPIRY().call())
    message = {"price": price, "expiry": expiry, "nonce": nonce, "deadline": deadline}
    return sign_typed(reporter, contract_domain(series), "SettlementReport", REPORT_TYPE, message)


def _mint_lots(kit: SettlementKit, series: Contract, model: SettlementModel, lots: list[Any], say: Say) -> None:
    """Writers mint their lots an hour apart (partial fills at different times), on chain and in the model."""
    start = now(kit.w3)
    for hour, (writer, units, receiver) in enumerate(lots):
        set_time(kit.w3, start + (hour + 1) * 3_600)
        kit.mint(series, writer, units, receiver)
        model.mint(writer, receiver, units)
        say(f"writer {writer} minted a lot of {units} units to {receiver}")


def _pay_everyone(
    kit: SettlementKit,
    series: Contract,
    model: SettlementModel,
    parties: dict[str, Any],
    say: Say,
) -> tuple[int, int, int]:
    """claim_for the holders, relay the signer's claim, reclaim for the writers, sweep; returns (batch, relayed,
    dust) as the model computes them."""
    keeper, signer, deadline = parties["keeper"], parties["signer"], parties["deadline"]
    amount: Callable[[int], str] = parties["amount"]
    contracts.transact(series.functions.claim_for(parties["holders"]), sender=keeper)
    batch = model.claim_for(parties["holders"])
    say(f"keeper paid {len(parties['holders'])} holders in one claim_for: {amount(batch)}")
    signature = sign_claim(signer, series, signer.address, nonce=7, deadline=deadline)
    relayed = series.functions.claim_by_sig(
        signer.address, signer.address, 7, deadline, signature.v, signature.r, signature.s
    )
    contracts.transact(relayed, sender=keeper)
    relayed_paid = model.claim(signer.address)
    say(f"keeper relayed the signed claim of {signer.address}: {amount(relayed_paid)}")
    for writer in parties["writers"]:
        contracts.transact(series.functions.reclaim(), sender=writer)
        say(f"writer {writer} reclaimed {amount(model.reclaim(writer))}")
    contracts.transact(series.functions.sweep(), sender=keeper)
    dust = model.sweep(after_deadline=False)
    say(f"treasury swept the dust: {amount(dust)} ({dust} wei)")
    return batch, relayed_paid, dust


def _conservation(
    kit: SettlementKit, series: Contract, model: SettlementModel, received: dict[str, int], treasury: str
) -> dict[str, Any]:
    """The on-chain totals and the checks: conservation, an empty series, and agreement with the model."""
    model.check_invariants()
    expected = dict.fromkeys(received, 0)
    for _kind, account, _units, amount in model.ledger:
        expected[account] += amount
    expected[treasury] += model.swept_amount
    totals = {
        name: int(getattr(series.functions, f"total_{name}")().call())
        for name in ("deposited", "paid", "reclaimed", "swept")
    }
    held = int(kit.token.functions.balanceOf(series.address).call())
    checks = {
        "deposited == paid + reclaimed + swept": totals["deposited"]
        == totals["paid"] + totals["reclaimed"] + totals["swept"],
        "series holds zero": held == 0 and int(series.functions.collateral_held().call()) == 0,
        "every payout equals the model's": received == expected,
        "totals equal the model's": totals
        == {
            "deposited": model.deposited,
            "paid": model.paid,
            "reclaimed": model.reclaimed,
            "swept": model.swept_amount,
        },
        "dust below the number of payouts": model.swept_amount < model.payouts,
    }
    return {**totals, "held": held, "checks": checks, "ok": all(checks.values())}


def run_settlement_scenario(
    w3: Web3, store: ArtifactStore, say: Say, kit: SettlementKit | None = None
) -> dict[str, Any]:
    """Run the settlement story on ``w3`` (an Anvil node) and return a JSON-ready summary with its checks.

    ``kit``: a deployed factory to create the series through (the demo passes the `settlement` plan's, see
    :func:`kit_from_manifest`); without it, a kit is deployed here."""
    accounts = [str(account) for account in w3.eth.accounts]
    admin, keeper, treasury = w3.eth.accounts[0], accounts[1], accounts[2]
    writers, holders = accounts[3:5], accounts[5:8]
    signer = dev_account(8)  # a holder whose claim is signed and relayed by the keeper
    reporter = dev_account(9)
    if kit is None:
        say("deploying collateral (6 decimals), price feed, series blueprint and factory")
        kit = deploy_kit(w3, store, admin, decimals=6)
    expiry = now(w3) + 7 * 86_400
    series = kit.create_series(
        strike=STRIKE,
        cap=CAP,
        max_payout_per_unit=MAX_PAYOUT_PER_UNIT,
        expiry=expiry,
        sweep_deadline=expiry + 30 * 86_400,
        treasury=treasury,
        reporter=reporter.address,
        guardian=admin,
    )
    say(f"factory {kit.factory.address} created series {series.address}: 2,000-2,500 call spread, expiry {expiry}")
    model = SettlementModel(SeriesTerms(STRIKE, CAP, MAX_PAYOUT_PER_UNIT))
    symbol, decimals = str(kit.token.functions.symbol().call()), int(kit.token.functions.decimals().call())

    def amount(raw: int) -> str:
        return in_units(raw, decimals, symbol)

    lots = [
        (writers[0], 3, holders[0]),
        (writers[1], 5, holders[1]),
        (writers[0], 2, holders[2]),
        (writers[1], 1, signer.address),
        (writers[0], 4, holders[0]),
    ]
    _mint_lots(kit, series, model, lots, say)
    set_time(w3, expiry + 30)
    model.expire()
    contracts.transact(kit.oracle.functions.set_round(1, SETTLEMENT_PRICE, expiry + 30), sender=admin)
    contracts.transact(series.functions.settle(1), sender=kit.w3.to_checksum_address(keeper))
    numerator = model.settle(SETTLEMENT_PRICE)
    say(
        f"settled at {in_units(SETTLEMENT_PRICE, 8)} from oracle round 1: payout rate {ratio(numerator, CAP)} "
        f"of the max payout per unit ({numerator}/{CAP})"
    )
    watched = [*accounts, signer.address]
    before = {account: int(kit.token.functions.balanceOf(account).call()) for account in watched}
    parties = {
        "keeper": keeper,
        "signer": signer,
        "holders": holders,
        "writers": writers,
        "deadline": expiry + 86_400,
        "amount": amount,
    }
    batch, relayed_paid, dust = _pay_everyone(kit, series, model, parties, say)
    received = {account: int(kit.token.functions.balanceOf(account).call()) - before[account] for account in watched}
    summary = _conservation(kit, series, model, received, treasury)
    say(
        f"conservation: deposited {amount(summary['deposited'])} == paid {amount(summary['paid'])} + reclaimed "
        f"{amount(summary['reclaimed'])} + swept {amount(summary['swept'])}; held {amount(summary['held'])}: "
        f"{'OK' if summary['ok'] else 'FAILED'}"
    )
    return {
        "series": series.address,
        "factory": kit.factory.address,
        "settlement_price": SETTLEMENT_PRICE,
        "payout_rate": [numerator, CAP],
        "payout_rate_decimal": ratio(numerator, CAP),
        "token": {"address": kit.token.address, "symbol": symbol, "decimals": decimals},
        "payouts": model.payouts,
        "claim_for_paid": batch,
        "relayed_claim_paid": relayed_paid,
        "dust": dust,
        **summary,
    }
