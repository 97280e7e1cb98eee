"""Foundation timings: how fast the tooling itself is (CLI start, Anvil start, cached build, snapshot/revert).

Run: .venv/bin/python bench/foundation.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from settlekit.build import build
from settlekit.chain import Anvil
from settlekit.project import Project

from report import ROOT, write_section


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def start_stop(project: Project) -> None:
    Anvil(project=project).start().stop()


def row(name: str, samples: list[float], unit: str = "ms") -> str:
    scale = 1000 if unit == "ms" else 1
    median = statistics.median(samples) * scale
    return (
        f"| {name} | {len(samples)} | {median:,.1f} {unit} | {min(samples) * scale:,.1f} {unit} | "
        f"{max(samples) * scale:,.1f} {unit} |"
    )


def main() -> None:
    project = Project(ROOT)
    build(project)
    rows = [
        row(
            "`settlekit chain status` (CLI start to exit)",
            timed(
                lambda: subprocess.run(
                    [sys.executable, "-m", "settlekit", "chain", "status"], capture_output=True, check=True
                ),
                5,
            ),
        ),
        row("Anvil start until eth_chainId answers, then stop", timed(lambda: start_stop(project), 10)),
        row("`forge build` with nothing changed", timed(lambda: build(project), 5)),
    ]
    with Anvil(project=project) as node:

        def snapshot_cycle() -> None:
            snapshot = node.snapshot()
            node.mine(1)
            node.revert(snapshot)

        rows.append(row("snapshot + mine 1 block + revert (per-test isolation cost)", timed(snapshot_cycle, 50)))
    body = "| what | runs | median | min | max |\n|---|---|---|---|---|\n" + "\n".join(rows)
    write_section("foundation", "Tooling start-up and isolation", ".venv/bin/python bench/foundation.py", body)
    print(body)


if __name__ == "__main__":
    main()
