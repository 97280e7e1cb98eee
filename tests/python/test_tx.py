"""settlekit.tx against real Anvil processes: concurrency, drops, underpricing, stale nonces, reverts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from hexbytes import HexBytes

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig
from settlekit.deploy.keys import dev_signer
from settlekit.errors import ReasonRevert
from settlekit.tx import Fees, TransactionSender, bump
from settlekit.tx.fees import FeeCapError
from settlekit.tx.sender import SendError

RECEIVER = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
def manual_chain(settlekit_project) -> Iterator[Anvil]:
    """A chain that mines only when told to (automine off)."""
    with Anvil(AnvilConfig(mining=False), settlekit_project) as node:
        yield node


def test_bump_raises_both_fields_by_ten_percent_plus_one_wei() -> None:
    old = Fees(max_fee=1_000, max_priority_fee=100)
    new = bump(old, Fees(max_fee=0, max_priority_fee=0))
    assert (new.max_fee, new.max_priority_fee) == (1_101, 111)
    assert bump(Fees(gas_price=999), Fees(gas_price=0)).gas_price == 1_100  # ceil(999 x 1.1) + 1
    assert bump(old, Fees(max_fee=5_000, max_priority_fee=7)).max_fee == 5_000
    with pytest.raises(FeeCapError, match="above the cap"):
        bump(old, Fees(max_fee=0, max_priority_fee=0), cap=1_100)


def test_one_hundred_concurrent_transfers_get_contiguous_nonces(settlekit_project) -> None:
    with Anvil(AnvilConfig(block_time=1), settlekit_project) as node:
        signer = dev_signer(5)
        start = node.w3.eth.get_transaction_count(signer.address)
        sender = TransactionSender(node.w3, signer, poll_interval=0.1)
        with ThreadPoolExecutor(max_workers=25) as pool:
            receipts = list(
                pool.map(
                    lambda i: sender.send_and_wait({"to": RECEIVER, "value": i + 1, "gas": 21_000}, timeout=60),
                    range(100),
                )
            )
        assert all(receipt["status"] == 1 for receipt in receipts)
        nonces = sorted(node.w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts)
        assert nonces == list(range(start, start + 100))
        assert node.w3.eth.get_balance(RECEIVER) == sum(range(1, 101))


def _mine_in_background(node: Anvil, stop: threading.Event, interval: float = 0.3) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(interval):
            node.mine()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def test_dropped_transaction_is_resent_with_the_same_bytes(manual_chain: Anvil) -> None:
    sender = TransactionSender(manual_chain.w3, dev_signer(0), poll_interval=0.05)
    sent = sender.send({"to": RECEIVER, "value": 7, "gas": 21_000})
    manual_chain.drop_transaction(HexBytes(sent.latest.hash).to_0x_hex())
    assert manual_chain.rpc.call("eth_getTransactionByHash", HexBytes(sent.latest.hash).to_0x_hex()) is None
    stop = threading.Event()
    _mine_in_background(manual_chain, stop)
    try:
        receipt = sender.wait(sent, timeout=20)
    finally:
        stop.set()
    assert receipt["transactionHash"] == sent.latest.hash
    assert len(sent.attempts) == 1  # same bytes, not re-signed


def test_underpriced_transaction_is_replaced_with_bumped_fees(manual_chain: Anvil) -> None:
    sender = TransactionSender(manual_chain.w3, dev_signer(0), bump_after=0.5, poll_interval=0.05)
    sent = sender.send({"to": RECEIVER, "value": 9, "gas": 21_000})
    first_fees = sent.fees
    # The next blocks charge a base fee far above what the transaction offers: it cannot be mined as it is.
    manual_chain.rpc.call("anvil_setNextBlockBaseFeePerGas", hex(first_fees.highest() * 10))
    stop = threading.Event()
    _mine_in_background(manual_chain, stop)
    try:
        receipt = sender.wait(sent, timeout=30)
    finally:
        stop.set()
    assert len(sent.attempts) >= 2
    assert receipt["transactionHash"] == sent.latest.hash
    assert sent.fees.max_fee is not None
    assert first_fees.max_fee is not None
    assert sent.fees.max_fee >= first_fees.max_fee * 11 // 10 + 1
    assert manual_chain.w3.eth.get_transaction(sent.latest.hash)["nonce"] == sent.nonce


def test_nonce_used_behind_the_managers_back_is_resynced(anvil: Anvil) -> None:
    signer = dev_signer(6)
    sender = TransactionSender(anvil.w3, signer)
    first = sender.send_and_wait({"to": RECEIVER, "value": 1, "gas": 21_000})
    # Another tool sends from the same account, so the manager's next nonce is now taken.
    nonce = anvil.w3.eth.get_transaction_count(signer.address)
    outside = signer.sign_transaction(
        {
            "to": RECEIVER,
            "value": 2,
            "gas": 21_000,
            "nonce": nonce,
            "chainId": 31337,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    anvil.w3.eth.wait_for_transaction_receipt(anvil.w3.eth.send_raw_transaction(outside.raw))
    second = sender.send_and_wait({"to": RECEIVER, "value": 3, "gas": 21_000})
    nonces = [anvil.w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in (first, second)]
    assert nonces == [nonce - 1, nonce + 1]


def test_a_refused_send_leaves_no_nonce_gap(anvil: Anvil) -> None:
    signer = dev_signer(7)
    sender = TransactionSender(anvil.w3, signer)
    start = anvil.w3.eth.get_transaction_count(signer.address)
    with pytest.raises(SendError, match=f"nonce {start}"):
        sender.send({"to": RECEIVER, "value": 1, "gas": 10**9})  # above the block gas limit
    receipt = sender.send_and_wait({"to": RECEIVER, "value": 1, "gas": 21_000})
    assert anvil.w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == start


def test_reverts_are_decoded_at_estimate_and_after_mining(anvil: Anvil, artifacts: ArtifactStore) -> None:
    accounts = list(anvil.w3.eth.accounts)
    probe = contracts.deploy(anvil.w3, artifacts.get("RevertProbe"), sender=accounts[0])
    sender = TransactionSender(anvil.w3, dev_signer(8))
    data = probe.functions.revert_with_reason()._encode_transaction_data()
    with pytest.raises(ReasonRevert) as at_estimate:
        sender.send_and_wait({"to": probe.address, "data": data})
    assert at_estimate.value.text == "revert_probe: always reverts"
    with pytest.raises(ReasonRevert) as mined:
        sender.send_and_wait({"to": probe.address, "data": data, "gas": 100_000})
    assert mined.value.text == "revert_probe: always reverts"


def test_cancel_clears_a_stuck_nonce_with_a_self_transfer(manual_chain: Anvil) -> None:
    signer = dev_signer(0)
    sender = TransactionSender(manual_chain.w3, signer, poll_interval=0.05)
    stuck = sender.send({"to": RECEIVER, "value": 5, "gas": 21_000})
    stop = threading.Event()
    _mine_in_background(manual_chain, stop)
    try:
        receipt = sender.cancel(stuck.nonce, timeout=20)
    finally:
        stop.set()
    mined = manual_chain.w3.eth.get_transaction(receipt["transactionHash"])
    assert (mined["nonce"], mined["to"], mined["value"]) == (stuck.nonce, signer.address, 0)
    assert manual_chain.w3.eth.get_balance(RECEIVER) == 0


def test_legacy_gas_price_on_a_chain_without_base_fee(settlekit_project) -> None:
    with Anvil(AnvilConfig(extra_args=("--hardfork", "berlin")), settlekit_project) as pre_london:
        sender = TransactionSender(pre_london.w3, dev_signer(0))
        assert sender.fees.legacy()
        receipt = sender.send_and_wait({"to": RECEIVER, "value": 3, "gas": 21_000})
        mined = pre_london.w3.eth.get_transaction(receipt["transactionHash"])
        assert mined["type"] == 0
        assert mined["gasPrice"] > 0
        assert "maxFeePerGas" not in mined
