"""The bug-finding benchmark: every mutant against the forge engine and the differential engine, same budget.

For each mutant: copy the project with the mutant applied (seeded with a baseline build so forge recompiles only
what the mutant touches), build it once (timed apart, never counted), then run the forge engine (fail fast, one
fixed seed) and the differential engine (one fixed seed, one worker) with the same time budget. A mutant is
killed by an engine when that engine reports a failure; the time to kill is the engine's wall time to its first
failure (forge: the test phase, from the start of the first suite; differential: fuzzing time, shrinking
excluded).

Every copy is made from one snapshot of the project (the baseline, copied at the start) and the Python models are
loaded at that moment, so that work going on in the project during a long run cannot make the engines disagree
with sources they were not meant to see. A control run (both engines on the baseline itself) checks that.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from settlekit.build import build
from settlekit.exceptions import SettlekitError
from settlekit.fuzz.mutants import MUTANTS, Mutant, apply_mutant, check_mutant, copy_project
from settlekit.project import Project
from settlekit.toolchain import find_tool

__all__ = ["CONTROL", "EngineResult", "MutantResult", "MutantRun", "run_mutants", "summarize"]

DEFAULT_BUDGET = 60.0
DEFAULT_SEED = 0x5E771E
# The control row: both engines on the unmutated baseline, same budget and seed. A "kill" there is a false alarm
# (say, the Python models and the contracts out of step while someone edits one of them) and makes every kill of
# the run suspect.
CONTROL = Mutant("control", "no mutant: the unmutated project", "", "", "", ())


@dataclass(frozen=True)
class EngineResult:
    """One engine on one mutant."""

    engine: str
    killed: bool
    time_to_kill: float | None
    elapsed: float
    detail: str = ""
    # the budget ran out before the engine reached every part it runs (forge: suites not run): a survivor then
    # means "not reached", not "survived"
    not_reached: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "killed": self.killed,
            "not_reached": self.not_reached,
            "time_to_kill": None if self.time_to_kill is None else round(self.time_to_kill, 3),
            "elapsed": round(self.elapsed, 3),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    build_seconds: float
    forge: EngineResult
    diff: EngineResult

    @property
    def killed(self) -> bool:
        return self.forge.killed or self.diff.killed

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.mutant.id,
            "title": self.mutant.title,
            "file": self.mutant.file,
            "build_seconds": round(self.build_seconds, 3),
            "forge": self.forge.to_json(),
            "diff": self.diff.to_json(),
            "killed": self.killed,
        }


@dataclass
class MutantRun:
    """The settings and results of one benchmark run."""

    budget: float
    seed: int
    profile: str
    results: list[MutantResult] = field(default_factory=list)
    control: MutantResult | None = None  # both engines on the unmutated baseline (None: not run)

    @property
    def false_alarm(self) -> bool:
        """True if an engine failed on the unmutated baseline (the kills of this run are then suspect)."""
        return self.control is not None and self.control.killed

    def to_json(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "seed": hex(self.seed),
            "profile": self.profile,
            "control": None if self.control is None else self.control.to_json(),
            "false_alarm": self.false_alarm,
            "mutants": [result.to_json() for result in self.results],
            "summary": summarize(self.results),
        }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(results: Sequence[MutantResult]) -> dict[str, Any]:
    """Kill counts and rates, and each engine's median time to kill (over the mutants it killed)."""
    total = len(results)
    forge_times = [r.forge.time_to_kill for r in results if r.forge.killed and r.forge.time_to_kill is not None]
    diff_times = [r.diff.time_to_kill for r in results if r.diff.killed and r.diff.time_to_kill is not None]
    killed = sum(1 for r in results if r.killed)
    return {
        "mutants": total,
        "killed": killed,
        "kill_rate": killed / total if total else 0.0,
        "forge_killed": sum(1 for r in results if r.forge.killed),
        "diff_killed": sum(1 for r in results if r.diff.killed),
        "forge_median_time_to_kill": _median(forge_times),
        "diff_median_time_to_kill": _median(diff_times),
        "survivors": [r.mutant.id for r in results if not r.killed],
    }


EngineRunner = Callable[[Path, float, int, str], EngineResult]


def run_forge_engine(root: Path, budget: float, seed: int, profile: str) -> EngineResult:
    """The forge engine on the copy at ``root``: all suites, fail fast."""
    from settlekit.fuzz.forge_engine import ForgeConfig, run_forge

    report = run_forge(ForgeConfig(project_root=root, profile=profile, seed=seed, time_budget=budget, fail_fast=True))
    failures = report.failures
    detail = f"{failures[0].contract}.{failures[0].name}: {failures[0].reason}" if failures else ""
    not_reached = not failures and (report.budget_exhausted or bool(report.not_run))
    if not_reached:
        detail = f"budget ran out; not run: {', '.join(report.not_run)[:200]}"
    return EngineResult("forge", bool(failures), report.time_to_first_failure, report.elapsed, detail, not_reached)


def run_diff_engine(root: Path, budget: float, seed: int, _profile: str) -> EngineResult:
    """The differential engine on the copy at ``root``: one worker, stop at the first failing sequence."""
    from settlekit.fuzz.differential import DiffConfig, run_campaign

    report = run_campaign(
        DiffConfig(
            project_root=root,
            seed=seed,
            steps=None,
            time_budget=budget,
            workers=1,
            out_dir=root / ".settlekit" / "diff",
        )
    )
    failures = report.failures
    detail = failures[0].message.splitlines()[0][:120] if failures else f"{report.steps} steps"
    # With one worker and max_failures=1 the campaign stops at its first failure: its elapsed fuzzing time (shrinking
    # excluded) is the time to kill.
    return EngineResult("diff", bool(failures), report.elapsed if failures else None, report.elapsed, detail)


@contextmanager
def _tools_of(project_root: Path) -> Iterator[None]:
    """Point settlekit at the original project's forge and vyper while working on copies (which have no
    node_modules or venv of their own): ``$SETTLEKIT_FORGE`` / ``$SETTLEKIT_VYPER``, unless already set."""
    saved: dict[str, str | None] = {}
    for name in ("forge", "vyper"):
        variable = f"SETTLEKIT_{name.upper()}"
        saved[variable] = os.environ.get(variable)
        if saved[variable] is None:
            os.environ[variable] = str(find_tool(name, Project(project_root)).path)
    try:
        yield
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)


def _load_models() -> None:
    """Import the differential engine's worlds and models (if installed) so that they are the ones of now."""
    with contextlib.suppress(ImportError):
        importlib.import_module("settlekit.fuzz.differential.runner")


def _baseline(project_root: Path, base: Path, on_stage: Callable[[str], None] | None) -> Path:
    """The unmutated snapshot every copy is made from, built once (kept across runs in a work dir)."""
    baseline = base / "baseline"
    if not (baseline / "out").is_dir():
        if baseline.exists():
            shutil.rmtree(baseline)
        copy_project(project_root, baseline)
        if on_stage is not None:
            on_stage("building the unmutated baseline (once)")
        build(Project(baseline), tests=True, timeout=3600.0)
    return baseline


def _save_partial(base: Path, result: MutantResult) -> None:
    """Append one mutant's result to ``base/results.jsonl``: a run cut short keeps what it measured."""
    with (base / "results.jsonl").open("a") as partial:
        partial.write(json.dumps(result.to_json()) + "\n")


def run_mutants(
    project_root: Path,
    *,
    mutants: Sequence[Mutant] = MUTANTS,
    budget: float = DEFAULT_BUDGET,
    seed: int = DEFAULT_SEED,
    profile: str = "default",
    work_dir: Path | None = None,
    engines: dict[str, EngineRunner] | None = None,
    on_result: Callable[[MutantResult], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    control: bool = True,
) -> MutantRun:
    """Run every mutant against both engines; see the module docstring. Copies live under ``work_dir`` (a
    temporary folder by default, removed at the end) and each mutant's copy is removed once it is measured.
    With ``control`` both engines first run on the unmutated baseline with the same budget and seed
    (``MutantRun.control``; ``on_result`` sees it first): neither may fail there."""
    if budget <= 0:
        raise SettlekitError(f"budget {budget:g}s is not positive", hint="pass --budget with a number of seconds > 0")
    for mutant in mutants:  # fail before any build if a mutant no longer applies
        check_mutant(project_root, mutant)
    # The Python models load now, beside the snapshot of the sources taken below: a model or contract someone edits
    # in the project during the run reaches neither (modules load once per process; copies come from the snapshot).
    _load_models()
    runners = engines or {"forge": run_forge_engine, "diff": run_diff_engine}
    run = MutantRun(budget=budget, seed=seed, profile=profile)
    owned = work_dir is None
    base = Path(tempfile.mkdtemp(prefix="settlekit-mutants-")) if work_dir is None else work_dir
    base.mkdir(parents=True, exist_ok=True)
    completed = False
    with _tools_of(project_root):
        try:
            baseline = _baseline(project_root, base, on_stage)
            if control:
                outcome_control: dict[str, EngineResult] = {}
                for name in ("forge", "diff"):
                    if on_stage is not None:
                        on_stage(f"control (no mutant): {name} engine")
                    outcome_control[name] = runners[name](baseline, budget, seed, profile)
                run.control = MutantResult(CONTROL, 0.0, outcome_control["forge"], outcome_control["diff"])
                if on_result is not None:
                    on_result(run.control)
            for mutant in mutants:
                dest = base / mutant.id
                if dest.exists():
                    shutil.rmtree(dest)
                # from the baseline snapshot, not the live project: every copy of the run has the same sources
                apply_mutant(baseline, mutant, dest, seed_build_from=baseline)
                if on_stage is not None:
                    on_stage(f"{mutant.id}: building")
                started = time.monotonic()
                build(Project(dest), tests=True, timeout=3600.0)
                build_seconds = time.monotonic() - started
                outcome: dict[str, EngineResult] = {}
                for name in ("forge", "diff"):
                    if on_stage is not None:
                        on_stage(f"{mutant.id}: {name} engine")
                    outcome[name] = runners[name](dest, budget, seed, profile)
                result = MutantResult(mutant, build_seconds, outcome["forge"], outcome["diff"])
                run.results.append(result)
                _save_partial(base, result)
                if on_result is not None:
                    on_result(result)
                shutil.rmtree(dest, ignore_errors=True)
            completed = True
        finally:
            if owned and completed:  # a run cut short keeps its folder and results.jsonl
                shutil.rmtree(base, ignore_errors=True)
    return run


def _cell(result: EngineResult) -> str:
    if not result.killed:
        return "not reached" if result.not_reached else "survived"
    return "killed" if result.time_to_kill is None else f"killed {result.time_to_kill:.1f}s"


def table_rows(run: MutantRun) -> list[tuple[str, str, str, str]]:
    """(mutant, forge, diff, killed by either) per mutant, as text."""
    return [(r.mutant.id, _cell(r.forge), _cell(r.diff), "yes" if r.killed else "NO") for r in run.results]


def first_failures(result: MutantResult) -> str:
    """What each engine failed on (forge: the test; differential: the start of the mismatch), for checking that
    a kill is the planted bug and not something else."""

    def one(engine: EngineResult) -> str:
        text = " ".join(engine.detail.split())
        return text if len(text) <= 110 else text[:107] + "..."

    parts = [f"{e.engine}: {one(e)}" for e in (result.forge, result.diff) if e.killed and e.detail]
    return "; ".join(parts).replace("|", "\\|").replace("`", "'") or "-"


def markdown(run: MutantRun) -> str:
    """The side-by-side table and the totals, as Markdown."""
    lines = [
        "| mutant | forge engine | differential engine | killed by either | first failure |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| `{a}` | {b} | {c} | {d} | {first_failures(r)} |"
        for (a, b, c, d), r in zip(table_rows(run), run.results, strict=True)
    ]
    summary = summarize(run.results)

    def seconds(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f} s"

    lines += [
        "",
        f"Budget {run.budget:g} s per engine per mutant, seed {hex(run.seed)}, forge profile `{run.profile}`, "
        "differential engine with one worker. Time to kill: wall seconds to the first failure, build excluded.",
        "",
        f"- combined kill rate: {summary['killed']}/{summary['mutants']} ({100 * summary['kill_rate']:.0f}%)",
        f"- forge engine: {summary['forge_killed']} killed, median time to kill "
        f"{seconds(summary['forge_median_time_to_kill'])}",
        f"- differential engine: {summary['diff_killed']} killed, median time to kill "
        f"{seconds(summary['diff_median_time_to_kill'])}",
    ]
    if summary["survivors"]:
        lines.append(f"- survivors: {', '.join(summary['survivors'])}")
    if run.control is not None:
        verdict = "FALSE ALARM: the kills above are suspect" if run.false_alarm else "neither engine failed"
        lines.append(
            f"- control (both engines on the unmutated project, same budget and seed): forge "
            f"{_control_cell(run.control.forge)}, differential {_control_cell(run.control.diff)}: {verdict}"
        )
    return "\n".join(lines) + "\n"


def _control_cell(result: EngineResult) -> str:
    if result.killed:
        return f"failed ({' '.join(result.detail.split())[:110]})"
    passed = f"passed in {result.elapsed:.1f} s"
    return f"{passed} ({result.detail})" if result.detail else passed
