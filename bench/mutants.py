"""Bug-finding benchmark: every planted bug (settlekit.fuzz.mutants) against both fuzz engines, same budget.

For each mutant the project is copied with the bug applied and built once (not timed), then the forge engine
(all forge fuzz / invariant / unit suites, fail fast, one fixed seed) and the differential engine (one fixed seed,
one worker) each get the same time budget. The table records, side by side, whether each engine killed the mutant
and its wall time to the first failure. Targets (issue #8): the combined suite kills 100%; the differential
engine's median time to kill is lower than forge's.

Run: .venv/bin/python bench/mutants.py [--budget 60] [--only ID ...]
(the same as `settlekit fuzz --mutants --budget 60`). A full run builds each mutant (minutes each on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from settlekit.exceptions import SettlekitError
from settlekit.fuzz.mutant_bench import DEFAULT_BUDGET, DEFAULT_SEED, MutantResult, markdown, run_mutants
from settlekit.fuzz.mutants import MUTANTS, get_mutant

from report import ROOT, write_section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="seconds per engine per mutant")
    parser.add_argument("--seed", type=lambda text: int(text, 0), default=DEFAULT_SEED)
    parser.add_argument("--profile", default="default", help="forge profile (foundry.toml)")
    parser.add_argument("--only", nargs="*", default=None, help="mutant ids (default: all)")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep the copies here (default: a temp dir)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch docs/benchmarks.md")
    parser.add_argument("--json-out", type=Path, default=None, help="also save the whole run (details) as JSON")
    args = parser.parse_args(argv)
    mutants = MUTANTS if not args.only else tuple(get_mutant(name) for name in args.only)
    # SETTLEKIT_PROJECT may point at another checkout to mutate; the section is always written under ROOT.
    project_root = Path(os.environ.get("SETTLEKIT_PROJECT", ROOT))

    def show(result: MutantResult) -> None:
        def cell(killed: bool, seconds: float | None, not_reached: bool = False) -> str:
            if not killed:
                return "not reached" if not_reached else "survived"
            return f"killed {seconds:.1f}s" if seconds is not None else "killed"

        forge_cell = cell(result.forge.killed, result.forge.time_to_kill, result.forge.not_reached)
        print(
            f"{result.mutant.id:32} forge: {forge_cell:16} "
            f"diff: {cell(result.diff.killed, result.diff.time_to_kill):16} build {result.build_seconds:.0f}s",
            flush=True,
        )
        for engine in (result.forge, result.diff):
            if engine.detail:
                print(f"    {engine.engine}: {' '.join(engine.detail.split())[:200]}", flush=True)

    run = run_mutants(
        project_root,
        mutants=mutants,
        budget=args.budget,
        seed=args.seed,
        profile=args.profile,
        work_dir=args.work_dir,
        on_result=show,
        on_stage=lambda text: print(f"... {text}", file=sys.stderr, flush=True),
    )
    body = markdown(run)
    print(body)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(run.to_json(), indent=1) + "\n")
    if not args.no_write and not args.only:
        command = f".venv/bin/python bench/mutants.py --budget {args.budget:g}"
        write_section("mutants", "Mutants: bug-finding benchmark", command, body)
    summary = run.to_json()["summary"]
    return 1 if summary["survivors"] or run.false_alarm else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except SettlekitError as error:
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"fix: {error.hint}", file=sys.stderr)
        raise SystemExit(1) from None
