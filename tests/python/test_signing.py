"""Wallet-style EIP-712 signatures (eth_account) against the contracts on a real Anvil: accepted once, refused
on replay, and refused after the chain id changes (fork safety) while a fresh signature for the new chain works."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil
from settlekit.chain.dev_accounts import dev_account
from settlekit.errors import Eip712Revert, NoncesRevert, revert_from_exception
from settlekit.signing import contract_domain, sign_typed, typed_data_hash

INTENT = [
    ("signer", "address"),
    ("recipient", "address"),
    ("amount", "uint256"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
]
SIGNER = Account.from_key(bytes.fromhex("a11ce" + "0" * 59))
RECIPIENT = "0x000000000000000000000000000000000000b0b0"


def _harness(anvil: Anvil, artifacts: ArtifactStore) -> Contract:
    accounts = list(anvil.w3.eth.accounts)
    return contracts.deploy(anvil.w3, artifacts.get("SafetyHarness"), accounts[1], sender=accounts[0])


def _execute(harness: Contract, nonce: int, domain: dict[str, Any], sender: Any) -> None:
    message = {"signer": SIGNER.address, "recipient": RECIPIENT, "amount": 5, "nonce": nonce, "deadline": 2**40}
    signature = sign_typed(SIGNER, domain, "Intent", INTENT, message)
    call = harness.functions.execute_signed(
        SIGNER.address, RECIPIENT, 5, nonce, 2**40, signature.v, signature.r, signature.s
    )
    if isinstance(sender, LocalAccount):
        _send_signed(call, sender)
    else:
        contracts.transact(call, sender=sender)


def _send_signed(call: Any, account: LocalAccount) -> None:
    # After anvil_setChainId, anvil still signs for its unlocked accounts with the old chain id, so the relayer
    # signs locally, as a real relayer would.
    w3 = call.w3
    try:
        tx = call.build_transaction(
            {
                "from": account.address,
                "nonce": w3.eth.get_transaction_count(account.address),
                "chainId": w3.eth.chain_id,
            }
        )
    except Exception as error:
        decoded = revert_from_exception(error)
        if decoded is None:
            raise
        raise decoded from None
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    )
    assert receipt["status"] == 1


def test_domain_read_through_eip5267_matches_the_contract(anvil: Anvil, artifacts: ArtifactStore) -> None:
    harness = _harness(anvil, artifacts)
    domain = contract_domain(harness)
    assert domain == {"name": "settlekit", "version": "1", "chainId": 31337, "verifyingContract": harness.address}
    message = {"signer": SIGNER.address, "recipient": RECIPIENT, "amount": 5, "nonce": 7, "deadline": 9}
    on_chain = harness.functions.hash_typed_data(_struct_hash(message)).call()
    assert on_chain == typed_data_hash(domain, "Intent", INTENT, message)


def _struct_hash(message: dict[str, Any]) -> bytes:
    from eth_abi.abi import encode
    from eth_utils.crypto import keccak

    typehash = keccak(text="Intent(" + ",".join(f"{kind} {name}" for name, kind in INTENT) + ")")
    return bytes(
        keccak(
            encode(["bytes32", "address", "address", "uint256", "uint256", "uint256"], [typehash, *message.values()])
        )
    )


def test_wallet_signature_is_accepted_once(anvil: Anvil, artifacts: ArtifactStore) -> None:
    harness = _harness(anvil, artifacts)
    relayer = anvil.w3.eth.accounts[3]
    domain = contract_domain(harness)
    _execute(harness, 1234, domain, relayer)
    assert harness.functions.is_nonce_used(SIGNER.address, 1234).call()
    with pytest.raises(NoncesRevert) as replay:
        _execute(harness, 1234, domain, relayer)
    assert replay.value.reason == "nonce already used"


def test_chain_id_change_invalidates_old_signatures_and_fresh_ones_work(anvil: Anvil, artifacts: ArtifactStore) -> None:
    harness = _harness(anvil, artifacts)
    relayer = dev_account(3)
    old_domain = contract_domain(harness)
    anvil.rpc.call("anvil_setChainId", 4242)
    try:
        with pytest.raises(Eip712Revert) as stale:
            _execute(harness, 1, old_domain, relayer)
        assert stale.value.text == "eip712: wrong signer"
        new_domain = contract_domain(harness)
        assert new_domain["chainId"] == 4242
        _execute(harness, 1, new_domain, relayer)
        assert harness.functions.is_nonce_used(SIGNER.address, 1).call()
    finally:
        anvil.rpc.call("anvil_setChainId", 31337)
