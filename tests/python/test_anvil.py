"""settlekit.chain.Anvil against real anvil processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest
from web3 import Web3

from settlekit.chain import Anvil, AnvilConfig, AnvilStartError, RpcError
from settlekit.chain.process import pid_alive
from settlekit.exceptions import SettlekitError, ToolNotFoundError

from support import REPO, wait_until


def test_starts_on_a_free_port_and_stops(settlekit_project) -> None:
    with Anvil(AnvilConfig(chain_id=4242), settlekit_project) as node:
        pid = node.pid
        assert node.chain_id() == 4242
        assert Web3(Web3.HTTPProvider(node.url)).eth.chain_id == 4242
        assert node.block_number() == 0
    assert not pid_alive(pid)


def test_two_nodes_get_different_ports(settlekit_project) -> None:
    with Anvil(project=settlekit_project) as first, Anvil(project=settlekit_project) as second:
        assert first.port != second.port
        first.mine(3)
        assert first.block_number() == 3
        assert second.block_number() == 0


def test_snapshot_revert_mine_and_time(anvil: Anvil) -> None:
    start = anvil.block_number()
    snapshot = anvil.snapshot()
    anvil.mine(5, interval=12)
    assert anvil.block_number() == start + 5
    first = anvil.w3.eth.get_block(start + 1)["timestamp"]
    assert anvil.w3.eth.get_block(start + 5)["timestamp"] - first == 4 * 12
    anvil.revert(snapshot)
    assert anvil.block_number() == start
    target = anvil.w3.eth.get_block("latest")["timestamp"] + 1000
    anvil.set_next_block_timestamp(target)
    anvil.mine()
    assert anvil.w3.eth.get_block("latest")["timestamp"] == target


def test_snapshot_ids_are_single_use(anvil: Anvil) -> None:
    snapshot = anvil.snapshot()
    anvil.revert(snapshot)
    with pytest.raises(SettlekitError, match="already used"):
        anvil.revert(snapshot)


def test_isolation_part_one_mines_blocks(anvil: Anvil) -> None:
    anvil.mine(7)
    assert anvil.block_number() >= 7


def test_isolation_part_two_sees_a_clean_chain(anvil: Anvil, anvil_session: Anvil) -> None:
    # Runs after part one in file order; the fixture must have reverted its blocks.
    assert anvil.block_number() == 0


def test_reorg_replaces_blocks_and_includes_new_transactions(anvil: Anvil) -> None:
    anvil.mine(5)
    old_head = anvil.w3.eth.get_block("latest")
    sender, receiver = anvil.w3.eth.accounts[0], anvil.w3.eth.accounts[1]
    before = anvil.w3.eth.get_balance(receiver)
    tx = {"from": sender, "to": receiver, "value": 12345}
    anvil.reorg(3, [(tx, 1)])
    new_head = anvil.w3.eth.get_block("latest")
    assert new_head["number"] == old_head["number"]
    assert new_head["hash"] != old_head["hash"]
    assert (
        anvil.w3.eth.get_block(old_head["number"] - 3)["hash"]
        == anvil.w3.eth.get_block(old_head["number"] - 3, False)["hash"]
    )
    assert len(anvil.w3.eth.get_block(old_head["number"] - 1)["transactions"]) == 1
    assert anvil.w3.eth.get_balance(receiver) == before + 12345


def test_reorg_rejects_bad_arguments(anvil: Anvil) -> None:
    with pytest.raises(SettlekitError, match="depth must be >= 1"):
        anvil.reorg(0)
    with pytest.raises(SettlekitError, match=r"offset 2 outside 0\.\.1"):
        anvil.reorg(2, [({"from": anvil.w3.eth.accounts[0], "to": anvil.w3.eth.accounts[0]}, 2)])


def test_rollback_drops_blocks(anvil: Anvil) -> None:
    anvil.mine(4)
    head = anvil.block_number()
    anvil.rollback(2)
    assert anvil.block_number() == head - 2


def test_rpc_errors_are_typed(anvil: Anvil) -> None:
    with pytest.raises(RpcError) as raised:
        anvil.rpc.call("no_such_method")
    assert raised.value.code == -32601


def test_port_in_use_is_reported(settlekit_project) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(AnvilStartError, match=f"port {port} on 127.0.0.1 is already in use"):
            Anvil(AnvilConfig(port=port), settlekit_project).start()


def test_port_taken_after_probe_reports_anvils_own_error(settlekit_project, monkeypatch) -> None:
    # Something binds the port without listening, so our probe sees it free but anvil's bind fails.
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        port = blocker.getsockname()[1]
        monkeypatch.setattr("settlekit.chain.anvil.port_in_use", lambda *_: False)
        with pytest.raises(AnvilStartError) as raised:
            Anvil(AnvilConfig(port=port), settlekit_project).start()
    assert "Address already in use" in raised.value.message
    assert raised.value.hint == "pick another --port"


def test_anvil_exiting_at_start_reports_its_output(settlekit_project) -> None:
    with pytest.raises(AnvilStartError) as raised:
        Anvil(AnvilConfig(extra_args=("--no-such-flag",)), settlekit_project).start()
    assert "exited with code" in raised.value.message
    assert "--no-such-flag" in raised.value.message


def test_missing_anvil_binary_is_reported(settlekit_project, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SETTLEKIT_ANVIL", str(tmp_path / "anvil"))
    with pytest.raises(ToolNotFoundError) as raised:
        Anvil(project=settlekit_project).start()
    assert "SETTLEKIT_ANVIL" in raised.value.message
    assert raised.value.hint


def test_kill_9_of_the_parent_takes_anvil_down(tmp_path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from settlekit.chain import Anvil
        node = Anvil().start()
        print(node.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert parent.stdout is not None
    anvil_pid = int(parent.stdout.readline())
    assert pid_alive(anvil_pid)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert wait_until(lambda: not pid_alive(anvil_pid), timeout=10), "anvil outlived its killed parent"


def test_slots_in_an_epoch_sets_safe_and_finalized_distance(settlekit_project) -> None:
    with Anvil(AnvilConfig(slots_in_an_epoch=2), settlekit_project) as node:
        node.mine(10)
        assert node.w3.eth.get_block("safe")["number"] == 10 - 2
        assert node.w3.eth.get_block("finalized")["number"] == 10 - 4


def test_no_mining_keeps_transactions_pending_until_mined(settlekit_project) -> None:
    with Anvil(AnvilConfig(mining=False), settlekit_project) as node:
        accounts = list(node.w3.eth.accounts)
        tx_hash = node.w3.eth.send_transaction({"from": accounts[0], "to": accounts[1], "value": 1})
        assert node.block_number() == 0
        assert node.rpc.call("eth_getTransactionReceipt", tx_hash.to_0x_hex()) is None
        node.mine()
        assert node.w3.eth.get_transaction_receipt(tx_hash)["blockNumber"] == 1


def test_block_time_mines_on_a_clock(settlekit_project) -> None:
    with Anvil(AnvilConfig(block_time=0.5), settlekit_project) as node:
        assert wait_until(lambda: node.block_number() >= 3, timeout=10)
