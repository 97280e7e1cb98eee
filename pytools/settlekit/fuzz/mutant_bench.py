"""The bug-finding benchmark: every mutant against the README's test command, the forge engine and the
differential engine.

For each mutant: copy the project with the mutant applied (seeded with a baseline build so forge recompiles only
what the mutant touches), build it once (timed apart, never counted), then run each chosen engine:

- ``readme``: what ``make test`` runs of forge, ``forge test`` (real binary, whole suite, default profile and its
  seed from foundry.toml), plus ``--fail-fast``; no time budget (the README's command has none), only a cap
  (``readme_cap``) after which the row says "not reached";
- ``forge``: the forge engine (fail fast, one fixed seed, the time budget);
- ``diff``: the differential engine (one fixed seed, one worker, the time budget).

A mutant is killed by an engine when that engine reports a failure; the time to kill is the engine's wall time to
its first failure (readme: the whole ``forge test`` process; forge: the test phase, from the start of the first
suite; differential: fuzzing time, shrinking excluded).

Every copy is made from one snapshot of the project (the baseline, copied at the start) and the Python models are
loaded at that moment, so that work going on in the project during a long run cannot make the engines disagree
with sources they were not meant to see. A control run (both engines on the baseline itself) checks that.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import statistics
import subprocess
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
from settlekit.toolchain import find_tool, tool_environment

__all__ = ["CONTROL", "ENGINES", "EngineResult", "MutantResult", "MutantRun", "run_mutants", "summarize"]

DEFAULT_BUDGET = 60.0
# The README's command has no budget; past this many seconds a run is stopped and its row says "not reached".
DEFAULT_README_CAP = 900.0
# The engines, in table order: the README's test command, the forge engine, the differential engine.
ENGINES = ("readme", "forge", "diff")
ENGINE_TITLES = {"readme": "README test command", "forge": "forge engine", "diff": "differential engine"}
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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineResult:
        return cls(
            str(data["engine"]),
            bool(data["killed"]),
            None if data["time_to_kill"] is None else float(data["time_to_kill"]),
            float(data["elapsed"]),
            str(data.get("detail", "")),
            bool(data.get("not_reached", False)),
        )

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
    """One mutant against the engines that ran (None: that engine was not chosen for the run)."""

    mutant: Mutant
    build_seconds: float
    forge: EngineResult | None
    diff: EngineResult | None
    readme: EngineResult | None = None

    def engine(self, name: str) -> EngineResult | None:
        result: EngineResult | None = getattr(self, name)
        return result

    @property
    def ran(self) -> list[EngineResult]:
        return [result for name in ENGINES if (result := self.engine(name)) is not None]

    @property
    def killed(self) -> bool:
        return any(result.killed for result in self.ran)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.mutant.id,
            "title": self.mutant.title,
            "file": self.mutant.file,
            "build_seconds": round(self.build_seconds, 3),
        }
        for name in ENGINES:
            result = self.engine(name)
            data[name] = None if result is None else result.to_json()
        data["killed"] = self.killed
        return data


@dataclass
class MutantRun:
    """The settings and results of one benchmark run."""

    budget: float
    seed: int
    profile: str
    results: list[MutantResult] = field(default_factory=list)
    control: MutantResult | None = None  # the engines on the unmutated baseline (None: not run)
    engines: tuple[str, ...] = ("forge", "diff")
    readme_cap: float = DEFAULT_README_CAP

    @property
    def false_alarm(self) -> bool:
        """True if an engine failed on the unmutated baseline (the kills of this run are then suspect)."""
        return self.control is not None and self.control.killed

    def to_json(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "seed": hex(self.seed),
            "profile": self.profile,
            "engines": list(self.engines),
            "readme_cap": self.readme_cap if "readme" in self.engines else None,
            "control": None if self.control is None else self.control.to_json(),
            "false_alarm": self.false_alarm,
            "mutants": [result.to_json() for result in self.results],
            "summary": summarize(self.results),
        }


def load_partial(path: Path, mutants: Sequence[Mutant] = MUTANTS, **settings: Any) -> MutantRun:
    """The run recorded in a ``results.jsonl`` (a run cut short, or any run): its mutants are looked up by id in
    ``mutants``; ``settings`` are :class:`MutantRun`'s (budget, seed, profile, engines, readme_cap)."""
    by_id = {mutant.id: mutant for mutant in mutants}
    run = MutantRun(**settings)
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        engines = {name: EngineResult.from_json(data[name]) for name in ENGINES if data.get(name) is not None}
        if data["id"] == CONTROL.id:
            mutant = CONTROL
        elif data["id"] in by_id:
            mutant = by_id[data["id"]]
        else:
            raise SettlekitError(f"{path}: unknown mutant {data['id']!r}", hint="pass the mutants the run used")
        result = MutantResult(
            mutant, float(data["build_seconds"]), engines.get("forge"), engines.get("diff"), engines.get("readme")
        )
        if mutant is CONTROL:
            run.control = result
        else:
            run.results.append(result)
    return run


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(results: Sequence[MutantResult]) -> dict[str, Any]:
    """Kill counts and rates, each engine's kills and median time to kill (over the mutants it killed), and each
    engine's survivors (``<engine>_survivors``: not killed by it, "not reached" included)."""
    total = len(results)
    killed = sum(1 for r in results if r.killed)
    summary: dict[str, Any] = {
        "mutants": total,
        "killed": killed,
        "kill_rate": killed / total if total else 0.0,
    }
    for name in ENGINES:
        ran = [result for r in results if (result := r.engine(name)) is not None]
        if name != "readme" or ran:  # forge and diff keep their keys even when not run (0 killed)
            times = [e.time_to_kill for e in ran if e.killed and e.time_to_kill is not None]
            summary[f"{name}_killed"] = sum(1 for e in ran if e.killed)
            summary[f"{name}_median_time_to_kill"] = _median(times)
            summary[f"{name}_survivors"] = [
                r.mutant.id for r in results if (e := r.engine(name)) is not None and not e.killed
            ]
    summary["survivors"] = [r.mutant.id for r in results if not r.killed]
    return summary


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


def _first_failure(output: str) -> str:
    """The first failing test of ``forge test`` output: "Suite.test(): reason" (or "" if there is none)."""
    suite = ""
    for line in output.splitlines():
        if line.startswith("Ran ") and " for " in line:
            suite = line.rsplit(" for ", 1)[1].split(":")[-1]
        elif line.startswith("[FAIL"):
            reason, _, test = line.partition("] ")
            name = test.split(" (")[0]
            return f"{suite}.{name}: {reason.removeprefix('[FAIL').lstrip(':').strip()}".lstrip(".")
    return ""


def run_readme_engine(root: Path, cap: float, _seed: int, _profile: str) -> EngineResult:
    """What the README's test command (``make test``) runs of forge, on the copy at ``root``: the real ``forge
    test`` binary, whole suite, default profile and seed (foundry.toml), plus ``--fail-fast``. ``cap`` seconds at
    most: past it the run is stopped and the mutant was "not reached"."""
    forge = find_tool("forge", Project(root))
    env = tool_environment(Project(root))
    env.pop("FOUNDRY_PROFILE", None)  # make test runs the default profile
    argv = [str(forge.path), "test", "--fail-fast", "--root", str(root)]
    argv += ["--out", str(root / "out"), "--cache-path", str(root / "cache")]
    started = time.monotonic()
    try:
        completed = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=cap, check=False)
    except subprocess.TimeoutExpired:
        elapsed = time.monotonic() - started
        return EngineResult("readme", False, None, elapsed, f"stopped at the {cap:g} s cap", not_reached=True)
    elapsed = time.monotonic() - started
    output = completed.stdout + completed.stderr
    failure = _first_failure(completed.stdout)
    if completed.returncode == 0:
        return EngineResult("readme", False, None, elapsed)
    if not failure:  # not a test failure (a compile error, a crash): the command fails all the same
        failure = "forge test exited {}: {}".format(completed.returncode, " ".join(output.split())[-200:])
    return EngineResult("readme", True, elapsed, elapsed, failure)


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


def _load_models(project_root: Path) -> None:
    """Import the project's differential worlds and their models (if the engine is installed) so that they are the
    ones of now; a project that declares no world cannot run the differential engine."""
    try:
        differential = importlib.import_module("settlekit.fuzz.differential")
    except ImportError:
        return
    for name in differential.required_worlds(project_root, "or leave diff out of --engines (readme,forge)"):
        differential.world_class(project_root.resolve(), name)


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
    """Append one mutant's result (or the control's, id "control") to ``base/results.jsonl``: a run cut short keeps
    what it measured (:func:`load_partial` reads it back)."""
    with (base / "results.jsonl").open("a") as partial:
        partial.write(json.dumps(result.to_json()) + "\n")


def chosen_engines(names: Sequence[str]) -> tuple[str, ...]:
    """The engines named (in table order); raises SettlekitError for an unknown name or none."""
    chosen = tuple(name for name in ENGINES if name in names)
    unknown = sorted(set(names) - set(ENGINES))
    if unknown or not chosen:
        raise SettlekitError(
            f"unknown engine(s): {', '.join(unknown) or '(none chosen)'}",
            hint=f"choose among: {', '.join(ENGINES)} (comma-separated)",
        )
    return chosen


def _check_limits(budget: float, readme_cap: float) -> None:
    if budget <= 0:
        raise SettlekitError(f"budget {budget:g}s is not positive", hint="pass --budget with a number of seconds > 0")
    if readme_cap <= 0:
        raise SettlekitError(f"readme cap {readme_cap:g}s is not positive", hint="pass a number of seconds > 0")


def run_mutants(
    project_root: Path,
    *,
    mutants: Sequence[Mutant] = MUTANTS,
    budget: float = DEFAULT_BUDGET,
    seed: int = DEFAULT_SEED,
    profile: str = "default",
    work_dir: Path | None = None,
    engines: dict[str, EngineRunner] | None = None,
    engine_names: Sequence[str] = ("forge", "diff"),
    readme_cap: float = DEFAULT_README_CAP,
    on_result: Callable[[MutantResult], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    control: bool = True,
) -> MutantRun:
    """Run every mutant against the chosen engines (``engine_names``, from :data:`ENGINES`); see the module
    docstring. Copies live under ``work_dir`` (a temporary folder by default, removed at the end) and each mutant's
    copy is removed once it is measured. With ``control`` the engines first run on the unmutated baseline with the
    same budget and seed (``MutantRun.control``; ``on_result`` sees it first): none may fail there. ``engines``
    replaces the runners (tests)."""
    _check_limits(budget, readme_cap)
    chosen = chosen_engines(engine_names)
    for mutant in mutants:  # fail before any build if a mutant no longer applies
        check_mutant(project_root, mutant)
    # The Python models load now, beside the snapshot of the sources taken below: a model or contract someone edits
    # in the project during the run reaches neither (modules load once per process; copies come from the snapshot).
    if "diff" in chosen:
        _load_models(project_root)
    runners: dict[str, EngineRunner] = {
        "readme": run_readme_engine,
        "forge": run_forge_engine,
        "diff": run_diff_engine,
        **(engines or {}),
    }
    run = MutantRun(budget=budget, seed=seed, profile=profile, engines=chosen, readme_cap=readme_cap)
    owned = work_dir is None
    base = Path(tempfile.mkdtemp(prefix="settlekit-mutants-")) if work_dir is None else work_dir
    base.mkdir(parents=True, exist_ok=True)
    completed = False

    def measure(label: str, root: Path) -> dict[str, EngineResult]:
        outcome: dict[str, EngineResult] = {}
        for name in chosen:
            if on_stage is not None:
                on_stage(f"{label}: {name} engine")
            limit = readme_cap if name == "readme" else budget
            outcome[name] = runners[name](root, limit, seed, profile)
        return outcome

    def record(result: MutantResult) -> None:
        _save_partial(base, result)
        if on_result is not None:
            on_result(result)

    with _tools_of(project_root):
        try:
            baseline = _baseline(project_root, base, on_stage)
            if control:
                found = measure("control (no mutant)", baseline)
                run.control = MutantResult(CONTROL, 0.0, found.get("forge"), found.get("diff"), found.get("readme"))
                record(run.control)
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
                found = measure(mutant.id, dest)
                result = MutantResult(mutant, build_seconds, found.get("forge"), found.get("diff"), found.get("readme"))
                run.results.append(result)
                record(result)
                shutil.rmtree(dest, ignore_errors=True)
            completed = True
        finally:
            if owned and completed:  # a run cut short keeps its folder and results.jsonl
                shutil.rmtree(base, ignore_errors=True)
    return run


def _cell(result: EngineResult | None) -> str:
    if result is None:
        return "-"
    if not result.killed:
        return "not reached" if result.not_reached else "survived"
    return "killed" if result.time_to_kill is None else f"killed {result.time_to_kill:.1f}s"


def table_rows(run: MutantRun) -> list[tuple[str, ...]]:
    """(mutant, one cell per engine of the run, killed by any) per mutant, as text."""
    return [
        (r.mutant.id, *(_cell(r.engine(name)) for name in run.engines), "yes" if r.killed else "NO")
        for r in run.results
    ]


def first_failures(result: MutantResult) -> str:
    """What each engine failed on (forge: the test; differential: the start of the mismatch), for checking that
    a kill is the planted bug and not something else."""

    def one(engine: EngineResult) -> str:
        text = " ".join(engine.detail.split())
        return text if len(text) <= 110 else text[:107] + "..."

    parts = [f"{e.engine}: {one(e)}" for e in result.ran if e.killed and e.detail]
    return "; ".join(parts).replace("|", "\\|").replace("`", "'") or "-"


def markdown(run: MutantRun) -> str:
    """The side-by-side table and the totals, as Markdown."""
    titles = [ENGINE_TITLES[name] for name in run.engines]
    lines = [
        f"| mutant | {' | '.join(titles)} | killed by any | first failure |",
        "|---" * (len(titles) + 3) + "|",
    ]
    lines += [
        f"| `{row[0]}` | {' | '.join(row[1:])} | {first_failures(r)} |"
        for row, r in zip(table_rows(run), run.results, strict=True)
    ]
    summary = summarize(run.results)
    total = summary["mutants"]

    def seconds(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f} s"

    readme = (
        f"README test command (`forge test --fail-fast`, whole suite, default profile) capped at {run.readme_cap:g} s; "
        if "readme" in run.engines
        else ""
    )
    lines += [
        "",
        f"{readme}budget {run.budget:g} s per fuzz engine per mutant, seed {hex(run.seed)}, forge profile "
        f"`{run.profile}`, differential engine with one worker. Time to kill: wall seconds to the first failure, "
        "build excluded.",
        "",
        f"- killed by any: {summary['killed']}/{total} ({100 * summary['kill_rate']:.0f}%)",
    ]
    for name in run.engines:
        killed = summary[f"{name}_killed"]
        rate = f" ({100 * killed / total:.0f}%)" if total else ""
        line = (
            f"- {ENGINE_TITLES[name]}: {killed}/{total} killed{rate}, median time to kill "
            f"{seconds(summary[f'{name}_median_time_to_kill'])}"
        )
        if summary[f"{name}_survivors"]:
            line += f"; not killed: {', '.join(summary[f'{name}_survivors'])}"
        lines.append(line)
    if summary["survivors"]:
        lines.append(f"- survivors: {', '.join(summary['survivors'])}")
    if run.control is not None:
        verdict = "FALSE ALARM: the kills above are suspect" if run.false_alarm else "no engine failed"
        cells = ", ".join(f"{ENGINE_TITLES[e.engine]} {_control_cell(e)}" for e in run.control.ran)
        lines.append(f"- control (the engines on the unmutated project, same budget and seed): {cells}: {verdict}")
    return "\n".join(lines) + "\n"


def _control_cell(result: EngineResult) -> str:
    if result.killed:
        return f"failed ({' '.join(result.detail.split())[:110]})"
    passed = f"passed in {result.elapsed:.1f} s"
    return f"{passed} ({result.detail})" if result.detail else passed
