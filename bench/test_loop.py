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


def _run_phase(phase: str, extra: list[str], env: dict[str, str]) -> tuple[float, float, float, int]:
    before = _load()
    started = time.monotonic()
    done = subprocess.run(["make", "--no-print-directory", phase, *extra], cwd=ROOT, env=env, check=False)
    return time.monotonic() - started, before, _load(), done.returncode


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
            seconds, before, after, code = _run_phase(phase, extra, env)
            total += seconds
            if code != 0:
                failed.append(phase)
            rows.append(f"| `make {phase}` | {seconds:.1f} | {before:.2f} -> {after:.2f} | {code} |")
            print(f"make {phase}: {seconds:.1f} s (load {before:.2f} -> {after:.2f}, exit {code})", flush=True)
        slowest = _slowest_files(junit) if junit.exists() else []
    rows.append(
        f"| **`make test`** (sum of the phases) | **{total:.1f}** | | {'fail: ' + ', '.join(failed) if failed else 0} |"
    )
    caches = "removed first" if args.cold else "as left by the run before"
    workers = args.workers or "auto (one per core)"
    body = "\n".join(
        [
            f"{'Cold' if args.cold else 'Warm'} run (caches {caches}), pytest workers: {workers}. Load: 1-minute "
            "average before -> after each phase (2 cores; above ~0.2 at the start means other work was running).",
            "",
            "| phase | wall s | load | exit |",
            "|---|---|---|---|",
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
