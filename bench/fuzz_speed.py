"""Speed of the differential fuzz engine on the real contracts (settlekit.fuzz.differential).

A step is one state-changing contract call in pyrevm plus the model's step and the comparison of the return
value, the revert reason and every emitted event (token transfers included); invariant checks (model invariants,
the series' totals and the touched accounts' balances read back by view calls) run every K steps. The figure is
fuzzing time only: forge build, process start-up and shrinking are not counted.

Run: .venv/bin/python bench/fuzz_speed.py   (about 2.5 minutes; FUZZ_SPEED_SECONDS sets the time per row)
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from pathlib import Path

from settlekit.fuzz.differential import DiffConfig, run_campaign

from report import ROOT, write_section

SECONDS = float(os.environ.get("FUZZ_SPEED_SECONDS", "10"))
TARGET = 5_000  # steps/s per core


def main() -> None:
    rows: list[str] = []
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as out:
        for product, workers, every in itertools.product(("settlement", "margin"), (1, 2), (1, 10)):
            config = DiffConfig(ROOT, 1, None, SECONDS, workers, Path(out), invariant_every=every, products=(product,))
            started, cpu_started = time.perf_counter(), time.process_time()
            report = run_campaign(config)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            if not report.ok:
                raise SystemExit(f"the campaign found a mismatch: {report.failures[0].message}")
            per_core = report.steps_per_second / workers
            # steps per CPU second of this process: independent of other load on the machine (1 worker only; the
            # pool's workers are other processes)
            per_cpu = f"{report.steps / cpu:,.0f}" if workers == 1 and cpu > 0 else "-"
            rows.append(
                f"| {product} | {workers} | every {every} step(s) | {report.steps:,} | {report.sequences:,} | "
                f"{report.steps_per_second:,.0f} | {per_core:,.0f} | {per_cpu} | {wall:.1f} s |"
            )
            print(rows[-1], flush=True)
    body = "\n".join(
        [
            f"Target: >= {TARGET:,} steps/s per core. Machine has {cores} core(s); each row runs {SECONDS:g} s of "
            "fuzzing per worker (sequences of 200 steps); wall includes build and start-up. A step is one "
            "state-changing contract call in pyrevm plus the model's step and the comparison of the return value, "
            "the revert reason and every event (token transfers included); invariants are checked every 1 or 10 "
            "steps and at the end of each sequence.",
            "",
            "| product | workers | invariants checked | steps | sequences | steps/s | steps/s per core "
            "| steps per CPU second | wall |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    write_section(
        "fuzz-speed", "Differential fuzz engine: steps per second", ".venv/bin/python bench/fuzz_speed.py", body
    )


if __name__ == "__main__":
    main()
