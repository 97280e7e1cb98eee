"""Deploying artifacts and sending contract transactions through web3, with reverts decoded.

Transactions are sent from accounts the node holds (Anvil's and eth-tester's unlocked development accounts).
Signing with keys from a keystore belongs to :mod:`settlekit.deploy` and :mod:`settlekit.tx`.
"""

from __future__ import annotations

from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxParams, TxReceipt, Wei

from settlekit.build import Artifact
from settlekit.errors import ContractRevert, EmptyRevert, revert_from_exception


def _sent(w3: Web3, send: Any, tx: TxParams) -> TxReceipt:
    try:
        tx_hash = send(tx)
    except Exception as error:
        decoded = revert_from_exception(error)
        if decoded is None:
            raise
        raise decoded from None
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    if receipt["status"] != 1:
        raise replay_failure(w3, receipt)
    return receipt


def replay_failure(w3: Web3, receipt: TxReceipt) -> ContractRevert:
    """Recover the revert of a mined, failed transaction by replaying it with eth_call on its block's parent
    state. Exact for the first transaction of a block; later ones see the parent state, not the state just
    before them, which is the usual approximation nodes without tracing allow."""
    tx = w3.eth.get_transaction(receipt["transactionHash"])
    call: TxParams = {"from": tx["from"], "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
    if tx.get("to"):
        call["to"] = tx["to"]
    try:
        w3.eth.call(call, block_identifier=receipt["blockNumber"] - 1)
    except Exception as error:
        decoded = revert_from_exception(error)
        if decoded is None:
            raise
        return decoded
    return EmptyRevert()


def deploy(w3: Web3, artifact: Artifact, *args: Any, sender: ChecksumAddress) -> Contract:
    """Deploy ``artifact`` with constructor ``args`` from ``sender``; return the bound contract."""
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = _sent(w3, factory.constructor(*args).transact, {"from": sender})
    address = receipt["contractAddress"]
    assert address is not None
    return w3.eth.contract(address=address, abi=artifact.abi)


def transact(function: ContractFunction, *, sender: ChecksumAddress, value: int = 0) -> TxReceipt:
    """Send ``function`` from ``sender`` and wait for it; a revert raises the decoded
    :class:`~settlekit.errors.ContractRevert`."""
    return _sent(function.w3, function.transact, {"from": sender, "value": Wei(value)})


def call(function: ContractFunction, *, sender: ChecksumAddress | None = None) -> Any:
    """Call ``function`` read-only; a revert raises the decoded :class:`~settlekit.errors.ContractRevert`."""
    try:
        return function.call({"from": sender} if sender else {})
    except Exception as error:
        decoded = revert_from_exception(error)
        if decoded is None:
            raise
        raise decoded from None
