"""Speed of the forge engine of `settlekit fuzz` on the project's own forge suites.

For each profile and worker count: the test phase's wall time (the build runs first and is not counted), tests
by kind, fuzz cases and invariant handler calls, and invariant calls per second of campaign time (the sum of the
invariant tests' own durations, as forge reports them). For comparison, one plain `forge test` over the same
suites in a single process shows what running one process per suite costs.

Run: .venv/bin/python bench/fuzz_forge.py [profile ...]   (default: quick default)
The first run builds contracts and tests into $FUZZ_BENCH_OUT (default .settlekit/bench/forge, a few minutes
cold); later runs reuse that build.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from settlekit.fuzz.forge_engine import ForgeConfig, ForgeReport, run_forge
from settlekit.project import Project
from settlekit.toolchain import find_tool, tool_environment

from report import ROOT, write_section

WORKERS = (1, 2)


def _plain_forge_test(root: Path, out_dir: Path, profile: str) -> float:
    """Wall seconds of one `forge test` process over every suite (after the engine's build)."""
    project = Project(root)
    env = tool_environment(project)
    env["FOUNDRY_PROFILE"] = profile
    forge = find_tool("forge", project)
    argv = [str(forge.path), "test", "--json", "--root", str(root), "--out", str(out_dir / "out")]
    argv += ["--cache-path", str(out_dir / "cache")]
    started = time.monotonic()
    subprocess.run(argv, cwd=root, env=env, capture_output=True, check=False)
    return time.monotonic() - started


def _row(profile: str, workers: int, report: ForgeReport) -> str:
    kinds = {kind: sum(1 for r in report.results if r.kind == kind) for kind in ("unit", "fuzz", "invariant")}
    cases = sum(r.runs or 0 for r in report.results if r.kind == "fuzz")
    invariants = [r for r in report.results if r.kind == "invariant"]
    calls = sum(r.calls or 0 for r in invariants)
    campaign = sum(r.duration for r in invariants)
    rate = f"{calls / campaign:,.0f}" if campaign > 0 else "-"
    verdict = "pass" if report.ok else f"{len(report.failures)} failing"
    return (
        f"| {profile} | {workers} | {report.elapsed:.1f} | {kinds['unit']} / {kinds['fuzz']} / {kinds['invariant']} "
        f"| {cases:,} | {calls:,} | {rate} | {verdict} |"
    )


def main() -> None:
    profiles = sys.argv[1:] or ["quick", "default"]
    root = Path(os.environ.get("SETTLEKIT_PROJECT", ROOT)).resolve()
    out_dir = Path(os.environ.get("FUZZ_BENCH_OUT", root / ".settlekit" / "bench" / "forge")).resolve()
    rows: list[str] = []
    plain: list[str] = []
    build_seconds = 0.0
    for profile in profiles:
        for workers in WORKERS:
            # a budget keeps the per-suite path (one process per test contract) this table measures
            report = run_forge(ForgeConfig(root, profile=profile, out_dir=out_dir, workers=workers, time_budget=10**6))
            build_seconds = max(build_seconds, report.build_elapsed)
            rows.append(_row(profile, workers, report))
            print(rows[-1], flush=True)
        plain.append(f"| {profile} | {_plain_forge_test(root, out_dir, profile):.1f} |")
        print(plain[-1], flush=True)
    body = "\n".join(
        [
            "One `forge test --json` process per test contract, `workers` at a time. Wall time is the test phase "
            "(build excluded); calls/s is invariant handler calls per second of the invariant tests' own "
            "durations. Tests: unit / fuzz / invariant.",
            "",
            "| profile | workers | wall s | tests | fuzz cases | invariant calls | invariant calls/s | result |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "The same suites in one plain `forge test` process (forge's own scheduling across suites):",
            "",
            "| profile | wall s |",
            "|---|---|",
            *plain,
            "",
            f"Longest build of the runs above (cached after the first): {build_seconds:.1f} s.",
        ]
    )
    command = ".venv/bin/python bench/fuzz_forge.py " + " ".join(profiles)
    write_section("fuzz-forge", "Forge engine of `settlekit fuzz`", command, body)


if __name__ == "__main__":
    main()
