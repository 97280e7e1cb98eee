"""Speed of the differential fuzz engine on the real contracts (settlekit.fuzz.differential).

A step is one state-changing contract call in pyrevm plus the model's step and the comparison of the return
value, the revert reason and every emitted event (token transfers included); invariant checks (model invariants,
the contract's state against the model's, read from storage slots, and the touched accounts) run every K steps
and at the end of each sequence. Steps/s is fuzzing time only (the longest worker's loop): the build check,
process start-up, per-process warm-up (artifacts, layouts, a first deployment) and shrinking are reported apart.

The machine may be shared: each row also gives the CPU seconds the fuzzing loops got (summed over the workers,
measured inside each worker), steps per CPU second (the per-core speed when the core is not shared), the CPU
share (CPU seconds / (fuzzing wall x workers): below 1 means the workers waited for a core, not for each other)
and the load average when the row started.

Run: .venv/bin/python bench/fuzz_speed.py   (about 2 minutes; FUZZ_SPEED_SECONDS sets the time per row)
"""

from __future__ import annotations

import itertools
import os
import tempfile
import timeit
from pathlib import Path

from settlekit.fuzz.differential import DiffConfig, run_campaign

from report import ROOT, write_section

SECONDS = float(os.environ.get("FUZZ_SPEED_SECONDS", "10"))
TARGET = 5_000  # steps/s per core


def python_speed() -> float:
    """Microseconds for sum(range(1000)), best of 5: how fast this machine runs Python right now."""
    return min(timeit.repeat("sum(range(1000))", number=2_000, repeat=5)) / 2_000 * 1e6


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def main() -> None:
    rows: list[str] = []
    cores = os.cpu_count() or 1
    speed_before, load_before = python_speed(), load()
    single: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as out:
        for product, every, workers in itertools.product(("settlement", "margin"), (1, 10), (1, 2)):
            config = DiffConfig(ROOT, 1, None, SECONDS, workers, Path(out), invariant_every=every, products=(product,))
            load_at = os.getloadavg()[0]
            report = run_campaign(config)
            if not report.ok:
                raise SystemExit(f"the campaign found a mismatch: {report.failures[0].message}")
            if workers == 1:
                single[(product, every)] = report.steps_per_second
            speedup = report.steps_per_second / single[(product, every)] if single.get((product, every)) else 0.0
            share = report.cpu_seconds / (report.elapsed * workers) if report.elapsed > 0 else 0.0
            rows.append(
                f"| {product} | every {every} | {workers} | {report.steps:,} | {report.steps_per_second:,.0f} | "
                f"{report.steps_per_second / workers:,.0f} | {report.cpu_seconds:.1f} | "
                f"{report.steps_per_cpu_second:,.0f} | {share:.2f} | {speedup:.2f}x | {report.startup:.1f} s | "
                f"{report.wall:.1f} s | {load_at:.2f} |"
            )
            print(rows[-1], flush=True)
    speed_after, load_after = python_speed(), load()
    body = "\n".join(
        [
            f"Target: >= {TARGET:,} steps/s per core. Machine: {cores} core(s), shared with other work while this ran "
            f"(load average 1 / 5 / 15 min: {load_before} before, {load_after} after; `sum(range(1000))` took "
            f"{speed_before:.1f} µs before and {speed_after:.1f} µs after, best of 5). Each row fuzzes {SECONDS:g} s "
            "per worker (sequences of 200 steps). A step is one state-changing contract call in pyrevm plus the "
            "model's step and the comparison of the return value, the revert reason and every event (token "
            "transfers included); invariants are checked every 1 or 10 steps and at the end of each sequence.",
            "",
            "steps/s: steps over fuzzing wall time (the longest worker's loop). CPU s: CPU time of the fuzzing loops, "
            "summed over the workers. steps per CPU s: the speed of one core that is not shared. CPU share: CPU s / "
            "(fuzzing wall x workers), below 1 when the workers waited for a core. speed-up: steps/s over the same "
            "row with one worker. start-up: from the call to the last worker's first step (build check, process "
            "spawn, imports, warm-up); wall: the whole call. load: 1-minute load average when the row started.",
            "",
            "| product | invariants | workers | steps | steps/s | steps/s per worker | CPU s | steps per CPU s "
            "| CPU share | speed-up | start-up | wall | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    write_section(
        "fuzz-speed", "Differential fuzz engine: steps per second", ".venv/bin/python bench/fuzz_speed.py", body
    )


if __name__ == "__main__":
    main()
