"""Bug-finding benchmark: every planted bug (settlekit.fuzz.mutants) against the README's test command and both
fuzz engines.

For each mutant the project is copied with the bug applied and built once (not timed), then: the README's test
command's forge part (`forge test --fail-fast`, whole suite, default profile, capped by --readme-cap), the forge
engine (all forge fuzz / invariant / unit suites, fail fast, one fixed seed) and the differential engine (one fixed
seed, one worker), the two engines with the same time budget. The table records, side by side, whether each killed
the mutant and its wall time to the first failure. Targets (issue 13): 100% in each column; the differential
engine's median time to kill below 1 s.

Run: .venv/bin/python bench/mutants.py [--budget 60] [--engines readme,forge,diff] [--only ID ...]
(the same as `settlekit fuzz --mutants --budget 60`). A full run builds each mutant (tens of seconds each on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from settlekit.exceptions import SettlekitError
from settlekit.fuzz.mutant_bench import (
    DEFAULT_BUDGET,
    DEFAULT_README_CAP,
    DEFAULT_SEED,
    EngineResult,
    MutantResult,
    load_partial,
    markdown,
    run_mutants,
)
from settlekit.fuzz.mutants import MUTANTS, get_mutant

from report import ROOT, write_section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET, help="seconds per engine per mutant")
    parser.add_argument("--seed", type=lambda text: int(text, 0), default=DEFAULT_SEED)
    parser.add_argument("--profile", default="default", help="forge profile (foundry.toml)")
    parser.add_argument(
        "--engines", default="readme,forge,diff", help="comma-separated, among readme, forge, diff (default: all)"
    )
    parser.add_argument(
        "--readme-cap", type=float, default=DEFAULT_README_CAP, help="seconds at most for the README command's run"
    )
    parser.add_argument("--only", nargs="*", default=None, help="mutant ids (default: all)")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep the copies here (default: a temp dir)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch docs/benchmarks.md")
    parser.add_argument(
        "--from-results",
        type=Path,
        default=None,
        help="run nothing: render the table of a results.jsonl (a run cut short keeps one in its --work-dir)",
    )
    parser.add_argument("--json-out", type=Path, default=None, help="also save the whole run (details) as JSON")
    args = parser.parse_args(argv)
    mutants = MUTANTS if not args.only else tuple(get_mutant(name) for name in args.only)
    # SETTLEKIT_PROJECT may point at another checkout to mutate; the section is always written under ROOT.
    project_root = Path(os.environ.get("SETTLEKIT_PROJECT", ROOT))

    def show(result: MutantResult) -> None:
        def cell(engine: EngineResult) -> str:
            if not engine.killed:
                return "not reached" if engine.not_reached else "survived"
            return f"killed {engine.time_to_kill:.1f}s" if engine.time_to_kill is not None else "killed"

        cells = " ".join(f"{engine.engine}: {cell(engine):16}" for engine in result.ran)
        print(f"{result.mutant.id:34} {cells} build {result.build_seconds:.0f}s", flush=True)
        for engine in result.ran:
            if engine.detail:
                print(f"    {engine.engine}: {' '.join(engine.detail.split())[:200]}", flush=True)

    if args.from_results is not None:
        engines = tuple(name.strip() for name in args.engines.split(",") if name.strip())
        run = load_partial(
            args.from_results,
            budget=args.budget,
            seed=args.seed,
            profile=args.profile,
            engines=engines,
            readme_cap=args.readme_cap,
        )
        print(markdown(run))
        return 0
    run = run_mutants(
        project_root,
        mutants=mutants,
        budget=args.budget,
        seed=args.seed,
        profile=args.profile,
        work_dir=args.work_dir,
        engine_names=[name.strip() for name in args.engines.split(",") if name.strip()],
        readme_cap=args.readme_cap,
        on_result=show,
        on_stage=lambda text: print(f"... {text}", file=sys.stderr, flush=True),
    )
    body = markdown(run)
    print(body)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(run.to_json(), indent=1) + "\n")
    if not args.no_write and not args.only:
        command = (
            f".venv/bin/python bench/mutants.py --budget {args.budget:g} --profile {args.profile} "
            f"--seed {hex(args.seed)} --engines {args.engines} --readme-cap {args.readme_cap:g}"
        )
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
