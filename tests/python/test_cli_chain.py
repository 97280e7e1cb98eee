"""`settlekit chain up | down | status` as real processes."""

from __future__ import annotations

import json
import os
import signal
import socket

from web3 import Web3

from settlekit.chain.process import pid_alive

from support import cli_env, run_cli, wait_until


def test_two_parallel_chains_get_different_ports_and_down_stops_the_right_one(chain_up, state_dir) -> None:
    first, second = chain_up(), chain_up("--chain-id", "11155111")
    assert first.ready["port"] != second.ready["port"]
    assert Web3(Web3.HTTPProvider(second.ready["url"])).eth.chain_id == 11155111

    status = run_cli("chain", "status", "--json", env=cli_env(state_dir))
    assert status.returncode == 0
    assert sorted(c["port"] for c in json.loads(status.stdout)["running"]) == sorted(
        [first.ready["port"], second.ready["port"]]
    )

    ambiguous = run_cli("chain", "down", env=cli_env(state_dir))
    assert ambiguous.returncode == 2
    assert "2 chains are running" in ambiguous.stderr
    assert "--port" in ambiguous.stderr
    assert "Traceback" not in ambiguous.stderr

    down = run_cli("chain", "down", "--port", str(first.ready["port"]), "--json", env=cli_env(state_dir))
    assert down.returncode == 0, down.stderr
    assert [c["port"] for c in json.loads(down.stdout)["stopped"]] == [first.ready["port"]]
    code, out, _ = first.finish()
    assert code == 0
    assert json.loads(out.splitlines()[-1]) == {
        "event": "stopped",
        "port": first.ready["port"],
        "stopped_by": "SIGTERM",
        "anvil_exit_code": 0,
    }
    assert not pid_alive(first.ready["anvil_pid"])
    assert pid_alive(second.ready["anvil_pid"])
    assert second.process.poll() is None

    down_rest = run_cli("chain", "down", env=cli_env(state_dir))
    assert down_rest.returncode == 0
    assert f"stopped anvil on port {second.ready['port']}" in down_rest.stdout
    assert second.finish()[0] == 0


def test_down_with_no_chain_says_so_and_exits_zero(state_dir) -> None:
    result = run_cli("chain", "down", env=cli_env(state_dir))
    assert result.returncode == 0
    assert "no chain running" in result.stdout
    as_json = run_cli("chain", "down", "--json", env=cli_env(state_dir))
    assert json.loads(as_json.stdout) == {"stopped": []}


def test_sigint_stops_anvil_and_removes_the_record(chain_up, state_dir) -> None:
    chain = chain_up()
    record = state_dir / "chains" / f"{chain.ready['port']}.json"
    assert record.exists()
    chain.process.send_signal(signal.SIGINT)
    code, out, _ = chain.finish()
    assert code == 0
    assert json.loads(out.splitlines()[-1])["stopped_by"] == "SIGINT"
    assert not pid_alive(chain.ready["anvil_pid"])
    assert not record.exists()


def test_kill_9_of_chain_up_leaves_no_orphan_and_status_cleans_up(chain_up, state_dir) -> None:
    chain = chain_up()
    anvil_pid = chain.ready["anvil_pid"]
    os.kill(chain.process.pid, signal.SIGKILL)
    chain.process.wait()
    assert wait_until(lambda: not pid_alive(anvil_pid), timeout=10), "anvil outlived `chain up`"
    status = run_cli("chain", "status", "--json", env=cli_env(state_dir))
    data = json.loads(status.stdout)
    assert data["running"] == []
    assert [c["port"] for c in data["stale_removed"]] == [chain.ready["port"]]
    assert not (state_dir / "chains" / f"{chain.ready['port']}.json").exists()


def test_port_in_use_gives_one_clear_message(state_dir) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = run_cli("chain", "up", "--port", str(port), env=cli_env(state_dir))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "fix: pick another --port" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_anvil_gives_one_clear_message(state_dir, tmp_path) -> None:
    result = run_cli("chain", "up", "--json", env=cli_env(state_dir, SETTLEKIT_ANVIL=str(tmp_path / "none")))
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert error["error"] == "ToolNotFoundError"
    assert "make setup" in error["hint"] or "SETTLEKIT_ANVIL" in error["hint"]
    assert "Traceback" not in result.stderr


def test_fork_url_secrets_never_reach_the_state_file(chain_up, state_dir) -> None:
    # Fork from another local anvil through a URL carrying a fake API key in its path and query.
    upstream = chain_up()
    secret = "sk_live_do_not_print"
    forked = chain_up("--fork-url", f"{upstream.ready['url']}/?key={secret}")
    record_text = (state_dir / "chains" / f"{forked.ready['port']}.json").read_text()
    status = run_cli("chain", "status", "--json", env=cli_env(state_dir))
    assert secret not in record_text
    assert secret not in status.stdout
    assert secret not in json.dumps(forked.ready)
    assert json.loads(record_text)["settings"]["fork_url"] == f"{upstream.ready['url']}/***"


def test_a_failing_fork_reports_anvils_error_without_the_url_secret(chain_up, state_dir) -> None:
    upstream = chain_up()
    secret = "sk_live_do_not_print"
    result = run_cli(
        "chain", "up", "--json", "--fork-url", f"{upstream.ready['url']}/v3/{secret}", env=cli_env(state_dir)
    )
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert error["error"] == "AnvilStartError"
    assert "failed to get fork block number" in error["message"]
    assert secret not in result.stdout + result.stderr


def test_invalid_port_is_a_usage_error(state_dir) -> None:
    result = run_cli("chain", "up", "--port", "70000", env=cli_env(state_dir))
    assert result.returncode == 2
    assert "not a TCP port" in result.stderr
