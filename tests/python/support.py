"""Helpers for settlekit's own Python tests: running the CLI as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SETTLEKIT = [sys.executable, "-m", "settlekit"]


def cli_env(state_dir: Path | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    if state_dir is not None:
        env["SETTLEKIT_STATE_DIR"] = str(state_dir)
    env.update(extra)
    return env


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SETTLEKIT, *args],
        capture_output=True,
        text=True,
        env=env or cli_env(),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


class ChainUp:
    """A `settlekit chain up --json` process running in the background."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [*SETTLEKIT, "chain", "up", "--json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"chain up failed: {self.process.stderr.read() if self.process.stderr else ''}")
        self.ready: dict[str, Any] = json.loads(line)

    def finish(self, timeout: float = 15) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_until(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())
