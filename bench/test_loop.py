"""The test loop: how long `make test` takes, phase by phase, and where pytest spends it.

Runs the phases of `make test` one after the other exactly as make does (`make lint`, `make typecheck`,
`make forge-test`, `make pytest`), timing each end to end, with pytest's own per-file times (a JUnit report) for the
slowest files. Caches are as they are when it starts: run it twice for the warm loop (forge's cache and the build
stamp filled); `--cold` removes out/, cache/ and .settlekit/ first (the test contracts then compile, ~2 min of one
core). The 1-minute load average is noted before and after each phase: the machine may be shared, and every figure
here is wall time.

Run: .venv/bin/python bench/test_loop.py [--cold] [--workers N]   (default: make's PYTEST_WORKERS, `auto`).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from report import ROOT, write_section

PHASES = ("lint", "typecheck", "forge-test", "pytest")


def _load() -> float:
    return os.getloadavg()[0]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_phase(phase: str, extra: list[str], env: dict[str, str]) -> tuple[float, float, list[float], int]:
    """(wall s, CPU s of make and everything it waited for, load averages sampled every 5 s, exit status)."""
    loads = [_load()]
    started, cpu = time.monotonic(), _cpu()
    process = subprocess.Popen(["make", "--no-print-directory", phase, *extra], cwd=ROOT, env=env)
    while True:
        try:
            code = process.wait(timeout=5.0)
            break
        except subprocess.TimeoutExpired:
            loads.append(_load())
    return time.monotonic() - started, _cpu() - cpu, loads, code


def _slowest_files(junit: Path, count: int = 8) -> list[tuple[str, float, int]]:
    seconds: dict[str, float] = defaultdict(float)
    tests: dict[str, int] = defaultdict(int)
    for case in ET.parse(junit).iter("testcase"):
        name = str(case.get("classname", "")).rsplit(".", 1)[-1]
        seconds[name] += float(case.get("time", 0.0))
        tests[name] += 1
    ranked = sorted(seconds.items(), key=lambda item: -item[1])[:count]
    return [(name, total, tests[name]) for name, total in ranked]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="remove out/, cache/ and .settlekit/ first")
    parser.add_argument("--workers", default=None, help="PYTEST_WORKERS for make (default: the Makefile's)")
    args = parser.parse_args(argv)
    if args.cold:
        for name in ("out", "cache", ".settlekit"):
            shutil.rmtree(ROOT / name, ignore_errors=True)
    rows: list[str] = []
    total = 0.0
    total_cpu = 0.0
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="settlekit-bench-") as scratch:
        junit = Path(scratch) / "pytest.xml"
        for phase in PHASES:
            extra: list[str] = []
            env = dict(os.environ)
            if phase == "pytest":
                env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} --junitxml={junit}".strip()
                if args.workers:
                    extra.append(f"PYTEST_WORKERS={args.workers}")
            seconds, cpu, loads, code = _run_phase(phase, extra, env)
            total += seconds
            total_cpu += cpu
            if code != 0:
                failed.append(phase)
            load = f"{loads[0]:.2f} / {sum(loads) / len(loads):.2f} / {max(loads):.2f}"
            rows.append(f"| `make {phase}` | {seconds:.1f} | {cpu:.1f} | {load} | {code} |")
            print(f"make {phase}: {seconds:.1f} s, {cpu:.1f} CPU s (load {load}, exit {code})", flush=True)
        slowest = _slowest_files(junit) if junit.exists() else []
    rows.append(
        f"| **`make test`** (sum of the phases) | **{total:.1f}** | {total_cpu:.1f} | | "
        f"{'fail: ' + ', '.join(failed) if failed else 0} |"
    )
    caches = "removed first" if args.cold else "as left by the run before"
    workers = args.workers or "auto (one per core)"
    body = "\n".join(
        [
            f"{'Cold' if args.cold else 'Warm'} run (caches {caches}), pytest workers: {workers}. CPU s: user + "
            "system time of make and every process it waited for (less sensitive than wall time to other work on "
            "the machine). Load: 1-minute load average at the start / mean / max, sampled every 5 s (2 cores: this "
            "run's own work accounts for about 2; more means other work was running).",
            "",
            "| phase | wall s | CPU s | load (start / mean / max) | exit |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "Slowest pytest files (sum of their tests' times, across workers):",
            "",
            "| file | s | tests |",
            "|---|---|---|",
            *[f"| {name} | {seconds:.1f} | {count} |" for name, seconds, count in slowest],
            "",
            "Target (issue 17): `make test` under 6 minutes wall on this 2-core machine on a quiet run.",
        ]
    )
    write_section("test-loop", "The test loop: make test", ".venv/bin/python bench/test_loop.py", body)


if __name__ == "__main__":
    main()
