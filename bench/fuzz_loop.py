"""The inner fuzz loop: `settlekit fuzz --engine forge --profile quick` against one plain `forge test`.

Three commands, each timed end to end as a user runs it (process start to exit), alternating, `repeats` rounds,
after one warm-up run of each so every build is cached:

- `FOUNDRY_PROFILE=quick forge test` (one forge process, forge's own threads);
- `settlekit fuzz --engine forge --profile quick` (build check, listing, then one forge process for all suites);
- the same with `--time-budget 100000`, which takes the per-suite path (one forge process per test contract, as
  every run did before), to show what the single process saves.

Run: .venv/bin/python bench/fuzz_loop.py [repeats]   (default 3). The 1-minute load average is noted per round,
since the machine may be shared.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from settlekit.project import Project
from settlekit.toolchain import find_tool, tool_environment

from report import ROOT, write_section


def _commands() -> dict[str, tuple[list[str], dict[str, str]]]:
    project = Project(ROOT)
    env = tool_environment(project)
    forge_env = dict(env, FOUNDRY_PROFILE="quick")
    settlekit = [sys.executable, "-m", "settlekit", "fuzz", "--engine", "forge", "--profile", "quick", "--json"]
    return {
        "FOUNDRY_PROFILE=quick forge test": ([str(find_tool("forge", project).path), "test"], forge_env),
        "settlekit fuzz --engine forge --profile quick": (settlekit, env),
        "same, --time-budget 100000 (one process per suite)": ([*settlekit, "--time-budget", "100000"], env),
    }


def _time(argv: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    repeats = int(args[0]) if args else 3
    commands = _commands()
    for command, env in commands.values():  # warm-up: builds contracts and tests once
        _time(command, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    loads: list[float] = []
    for _ in range(repeats):
        loads.append(os.getloadavg()[0])
        for name, (command, env) in commands.items():
            times[name].append(_time(command, env))
            print(f"{name}: {times[name][-1]:.2f} s", flush=True)
    baseline = statistics.median(times["FOUNDRY_PROFILE=quick forge test"])
    rows = [
        f"| `{name}` | {' / '.join(f'{t:.1f}' for t in runs)} | {statistics.median(runs):.1f} | "
        f"{statistics.median(runs) / baseline:.2f}x |"
        for name, runs in times.items()
    ]
    body = "\n".join(
        [
            "Wall seconds of the whole command (process start to exit), builds cached (one warm-up run each "
            f"first), {repeats} alternating rounds. 1-minute load average at the start of each round: "
            f"{', '.join(f'{load:.2f}' for load in loads)} (2 cores; other work was running when it is above 0).",
            "",
            "| command | runs (s) | median (s) | vs forge test |",
            "|---|---|---|---|",
            *rows,
            "",
            "Target (issue 17): `settlekit fuzz --profile quick` within 1.5x of `FOUNDRY_PROFILE=quick forge test`. "
            "The settlekit run adds Python start-up and the build check (the build stamp: no forge process when "
            "nothing changed) to the one forge process.",
        ]
    )
    write_section(
        "fuzz-loop", "Quick fuzz loop: settlekit fuzz vs forge test", ".venv/bin/python bench/fuzz_loop.py", body
    )


if __name__ == "__main__":
    main()
