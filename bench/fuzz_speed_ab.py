"""The differential engine's speed before and after a change: the same project fuzzed by two versions of settlekit.

The "before" package comes from a git revision (checked out into a temporary worktree and put first on PYTHONPATH);
the "after" is the working tree. Runs alternate (before, after, before, ...) so that the load of a shared machine
falls on both alike; each run fuzzes one world for SECONDS with one worker and invariants after every step, and
reports steps per CPU second of the fuzzing loop (the speed of an unshared core). The median per world and version,
and the after / before ratio, are printed as a Markdown table.

Run: .venv/bin/python bench/fuzz_speed_ab.py REV [ROUNDS] [SECONDS]   (e.g. 3f18372 4 6)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORLDS = ("settlement", "margin")
ONE_RUN = """
import json, os, sys, tempfile
from pathlib import Path
from settlekit.fuzz.differential import DiffConfig, run_campaign
world, seconds, root = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
with tempfile.TemporaryDirectory() as out:
    report = run_campaign(DiffConfig(root, 1, None, seconds, 1, Path(out), products=(world,)))
print(json.dumps({"ok": report.ok, "steps": report.steps, "per_cpu_s": report.steps_per_cpu_second,
                  "load": os.getloadavg()[0]}))
"""


def run(world: str, seconds: float, pythonpath: str | None) -> dict[str, float]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run(
        [sys.executable, "-c", ONE_RUN, world, str(seconds), str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise SystemExit(f"{world}: the campaign found a mismatch; a speed figure of a failing run means nothing")
    return result


def main() -> None:
    rev = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 6.0
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), rev], check=True)
        try:
            speeds: dict[tuple[str, str], list[float]] = {}
            loads: list[float] = []
            for _ in range(rounds):
                for world in WORLDS:
                    for version, path in (("before", str(before / "pytools")), ("after", None)):
                        result = run(world, seconds, path)
                        speeds.setdefault((world, version), []).append(result["per_cpu_s"])
                        loads.append(result["load"])
                        print(world, version, round(result["per_cpu_s"]), f"load {result['load']:.2f}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False)
    print(f"\n{rounds} rounds of {seconds:g} s per world and version; load {min(loads):.2f}-{max(loads):.2f}\n")
    print("| world | before (steps per CPU s, median) | after | after / before |")
    print("|---|---|---|---|")
    for world in WORLDS:
        old, new = statistics.median(speeds[(world, "before")]), statistics.median(speeds[(world, "after")])
        print(f"| {world} | {old:,.0f} | {new:,.0f} | {new / old:.2f} |")


if __name__ == "__main__":
    main()
