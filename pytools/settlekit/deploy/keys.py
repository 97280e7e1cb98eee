"""Signing keys: Foundry keystores, a private key from an environment variable, and the guard against Anvil's
public development keys on real networks.

A :class:`Signer` never shows its key: not in ``repr``, not in exceptions, not in anything it writes. Code that needs
to sign asks the signer to sign; nothing outside this module touches the key material.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from settlekit.chain.dev_accounts import DEV_MNEMONIC, LOCAL_CHAIN_IDS, dev_account
from settlekit.exceptions import SettlekitError

DEV_ACCOUNT_COUNT = 20


class KeyUseError(SettlekitError):
    """A key could not be loaded, or may not be used where it was asked for."""


@dataclass(frozen=True)
class SignedTransaction:
    raw: bytes
    hash: bytes


@dataclass(frozen=True, repr=False)
class Signer:
    """An account that can sign. ``source`` says where the key came from (never the key itself)."""

    address: ChecksumAddress
    source: str
    _account: LocalAccount = field(compare=False)

    def __repr__(self) -> str:
        return f"Signer({self.address}, from {self.source})"

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTransaction:
        signed = self._account.sign_transaction(tx)
        return SignedTransaction(bytes(signed.raw_transaction), bytes(signed.hash))

    @property
    def local_account(self) -> LocalAccount:
        """The underlying eth_account object, for signing typed data. Never log or serialise it."""
        return self._account


def _wrap(account: LocalAccount, source: str) -> Signer:
    return Signer(account.address, source, account)


def dev_signer(index: int = 0) -> Signer:
    """Anvil's ``index``-th development account."""
    return _wrap(dev_account(index), f"anvil development account {index}")


def _dev_addresses() -> frozenset[str]:
    return frozenset(dev_account(index).address for index in range(DEV_ACCOUNT_COUNT))


def from_private_key_env(variable: str) -> Signer:
    """The key in ``$variable`` (hex, with or without 0x)."""
    value = os.environ.get(variable)
    if not value:
        raise KeyUseError(
            f"environment variable {variable} is not set or empty",
            hint=f"export {variable}=<hex private key>, or use --account NAME",
        )
    try:
        account: LocalAccount = Account.from_key(value.strip())
    except Exception:  # the library's message may quote the input: never let it through
        raise KeyUseError(
            f"environment variable {variable} does not hold a valid private key",
            hint="it must be 32 bytes of hex, with or without 0x",
        ) from None
    return _wrap(account, f"${variable}")


PasswordSource = Callable[[str], str]


def password_from(*, file: Path | None = None, env: str | None = None, prompt: bool = True) -> PasswordSource:
    """Where the keystore password comes from: a file, an environment variable, or an interactive prompt."""

    def read(name: str) -> str:
        if file is not None:
            try:
                return file.read_text().rstrip("\r\n")
            except OSError as error:
                raise KeyUseError(
                    f"cannot read the password file {file}: {error.strerror}",
                    hint="check the path given to --password-file",
                ) from None
        if env is not None:
            value = os.environ.get(env)
            if value is None:
                raise KeyUseError(
                    f"environment variable {env} is not set",
                    hint=f"export {env}=<keystore password>, or pass --password-file",
                )
            return value
        if not prompt:
            raise KeyUseError(
                f"no password for keystore {name!r}",
                hint="pass --password-file or --password-env; no terminal to prompt on",
            )
        return getpass.getpass(f"password for keystore {name}: ")

    return read


def keystore_dir() -> Path:
    return Path(os.environ.get("SETTLEKIT_KEYSTORE_DIR") or Path.home() / ".foundry" / "keystores")


def from_keystore(name: str, password: PasswordSource, directory: Path | None = None) -> Signer:
    """Decrypt the Foundry keystore ``name`` (as ``cast wallet import`` writes it)."""
    folder = directory or keystore_dir()
    path = folder / name
    if not path.is_file():
        available = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        raise KeyUseError(
            f"no keystore named {name!r} in {folder}",
            hint=("available: " + ", ".join(available))
            if available
            else f"create one with `cast wallet import {name} --interactive`",
        )
    try:
        encrypted = json.loads(path.read_text())
    except (OSError, ValueError):
        raise KeyUseError(
            f"{path} is not a keystore file (not JSON)", hint="re-import it with cast wallet import"
        ) from None
    try:
        key = Account.decrypt(encrypted, password(name))
    except ValueError:
        raise KeyUseError(f"wrong password for keystore {name!r}", hint="check the password and try again") from None
    return _wrap(Account.from_key(key), f"keystore {name}")


def check_allowed(signer: Signer, chain_id: int, local_chain_ids: Iterable[int] = LOCAL_CHAIN_IDS) -> None:
    """Refuse Anvil's public development keys on any chain not marked local."""
    if chain_id in set(local_chain_ids):
        return
    if signer.address in _dev_addresses():
        raise KeyUseError(
            f"refusing to sign with {signer.address}: it is one of Anvil's public development keys (mnemonic "
            f"{DEV_MNEMONIC.split()[0]!r}...), and chain id {chain_id} is not a local chain",
            hint="use --account NAME (a Foundry keystore) or --private-key-env VAR; if this chain really is "
            "local, add its chain id to local_chain_ids in settlekit.toml",
        )
