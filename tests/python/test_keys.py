"""Keys: Foundry keystores written by the real `cast wallet import`, env keys, and the dev-key guard."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from eth_account import Account

from settlekit.chain import Anvil, AnvilConfig
from settlekit.deploy.keys import (
    KeyUseError,
    check_allowed,
    dev_signer,
    from_keystore,
    from_private_key_env,
    password_from,
)
from settlekit.toolchain import find_tool
from settlekit.tx import TransactionSender

KEY = "0x" + "5e" * 32
PASSWORD = "correct horse battery staple"


@pytest.fixture
def keystore(tmp_path: Path, settlekit_project) -> Path:
    folder = tmp_path / "keystores"
    cast = find_tool("cast", settlekit_project).path
    subprocess.run(
        [
            str(cast),
            "wallet",
            "import",
            "deployer",
            "--private-key",
            KEY,
            "--unsafe-password",
            PASSWORD,
            "--keystore-dir",
            str(folder),
        ],
        check=True,
        capture_output=True,
    )
    return folder


def test_keystore_from_cast_decrypts_with_file_or_env_password(keystore: Path, tmp_path: Path, monkeypatch) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    signer = from_keystore("deployer", password_from(file=password_file), keystore)
    assert signer.address == Account.from_key(KEY).address
    monkeypatch.setenv("DEPLOY_PASSWORD", PASSWORD)
    assert from_keystore("deployer", password_from(env="DEPLOY_PASSWORD"), keystore).address == signer.address
    assert KEY[2:] not in repr(signer)
    assert "keystore deployer" in repr(signer)


def test_keystore_errors_are_clear_and_never_show_secrets(keystore: Path, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not it")
    with pytest.raises(KeyUseError, match="wrong password for keystore 'deployer'") as bad_password:
        from_keystore("deployer", password_from(file=wrong), keystore)
    assert "not it" not in str(bad_password.value)
    with pytest.raises(KeyUseError, match="no keystore named 'other'") as missing:
        from_keystore("other", password_from(file=wrong), keystore)
    assert missing.value.hint == "available: deployer"
    with pytest.raises(KeyUseError, match="no password"):
        from_keystore("deployer", password_from(prompt=False), keystore)


def test_private_key_from_env(monkeypatch) -> None:
    monkeypatch.setenv("CI_DEPLOY_KEY", KEY)
    signer = from_private_key_env("CI_DEPLOY_KEY")
    assert signer.address == Account.from_key(KEY).address
    assert signer.source == "$CI_DEPLOY_KEY"
    monkeypatch.setenv("CI_DEPLOY_KEY", "0x1234" + "zz")
    with pytest.raises(KeyUseError, match="does not hold a valid private key") as bad:
        from_private_key_env("CI_DEPLOY_KEY")
    assert "1234" not in str(bad.value)
    with pytest.raises(KeyUseError, match="is not set"):
        from_private_key_env("UNSET_VARIABLE_FOR_TEST")


def test_dev_keys_are_refused_on_a_testnet_and_keystores_work_there(
    keystore: Path, tmp_path: Path, settlekit_project
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD)
    with Anvil(AnvilConfig(chain_id=11155111), settlekit_project) as sepolia_like:
        chain_id = sepolia_like.chain_id()
        with pytest.raises(KeyUseError, match="public development keys") as refused:
            check_allowed(dev_signer(0), chain_id)
        assert "11155111" in refused.value.message
        check_allowed(dev_signer(0), chain_id, local_chain_ids={31337, 11155111})  # marked local by the user
        signer = from_keystore("deployer", password_from(file=password_file), keystore)
        check_allowed(signer, chain_id)
        sepolia_like.set_balance(signer.address, 10**18)
        receipt = TransactionSender(sepolia_like.w3, signer).send_and_wait(
            {"to": "0x000000000000000000000000000000000000dEaD", "value": 1, "gas": 21_000}
        )
        assert receipt["status"] == 1
        assert sepolia_like.w3.eth.get_transaction(receipt["transactionHash"])["chainId"] == 11155111
    check_allowed(dev_signer(0), 31337)
