"""Anvil's well-known development accounts (mnemonic "test test ... junk").

These keys are public: anyone can drain funds sent to them on a real network. settlekit uses them only on chains
marked local (chain id 31337 by default) and never prints them.
"""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

DEV_MNEMONIC = "test test test test test test test test test test test junk"
LOCAL_CHAIN_IDS = frozenset({31337})


def dev_account(index: int = 0) -> LocalAccount:
    """The ``index``-th account Anvil funds at start (derivation path m/44'/60'/0'/0/index)."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return account
