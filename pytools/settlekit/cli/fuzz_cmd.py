"""``settlekit fuzz``: forge fuzz/invariant campaigns and the differential engine, and replay of their failures."""

from __future__ import annotations

import importlib
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from settlekit.cli.options import JsonOption
from settlekit.cli.output import emit, stderr
from settlekit.exceptions import SettlekitError, UsageError
from settlekit.fuzz.forge_engine import PROFILES, ForgeConfig, replay_counterexample, resolve_seed
from settlekit.fuzz.forge_engine import run_forge as run_forge_engine
from settlekit.fuzz.replay_files import load_replay_file
from settlekit.fuzz.report import FAIL, PASS, STOPPED, ForgeProgress, ForgeReport
from settlekit.project import Project

# Differential steps per profile (the forge engine takes runs and depth from foundry.toml's profiles).
DIFF_STEPS = {"quick": 2_000, "default": 20_000, "ci": 100_000, "deep": 1_000_000}


class Engine(StrEnum):
    forge = "forge"
    diff = "diff"
    all = "all"


def _differential() -> Any:
    """The differential engine's module, imported on first use (it loads an EVM)."""
    try:
        return importlib.import_module("settlekit.fuzz.differential")
    except ImportError as error:
        raise SettlekitError(
            f"the differential engine is not available: {error}",
            hint="run `settlekit fuzz --engine forge`, or install settlekit with settlekit.fuzz.differential",
        ) from None


def _chosen_worlds(differential: Any, project: Project, named: tuple[str, ...], *, explicit: bool) -> tuple[str, ...]:
    """The differential worlds to run, checked and imported before any campaign starts: those named with
    --world, else every declared one (none, without --engine diff, when the project declares none)."""
    if differential is None:
        if named:
            raise UsageError("--world applies to the differential engine", hint="add --engine diff (or all)")
        return ()
    declared = (
        differential.required_worlds(project.root) if explicit or named else differential.declared_worlds(project.root)
    )
    unknown = [name for name in named if name not in declared]
    if unknown:
        raise UsageError(
            f"no differential world {', '.join(map(repr, unknown))} in settlekit.toml",
            hint=f"declared worlds: {', '.join(declared) or 'none'}",
        )
    chosen = tuple(dict.fromkeys(named)) or tuple(declared)
    for name in chosen:
        differential.world_class(project.root.resolve(), name)  # a broken world file fails now, not after forge
    return chosen


def _parse_seed(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text, 0)
    except ValueError:
        raise UsageError(f"--seed {text!r} is not an integer", hint="pass a decimal or 0x-prefixed seed") from None


class _ForgeBar:
    """A rich progress bar over the suites of a forge run (on stderr)."""

    def __init__(self, enabled: bool) -> None:
        self.progress: Progress | None = None
        self.task: Any = None
        if enabled:
            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("forge"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("suites · {task.fields[failures]} failing · {task.fields[running]}"),
                TimeElapsedColumn(),
                console=stderr,
                transient=True,
            )

    def __enter__(self) -> _ForgeBar:
        if self.progress is not None:
            self.progress.start()
            self.task = self.progress.add_task("forge", total=None, failures=0, running="building")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, state: ForgeProgress) -> None:
        if self.progress is not None:
            self.progress.update(
                self.task,
                total=state.suites_total or None,  # unknown (0) while one forge process runs them all
                completed=state.suites_done,
                failures=state.failures,
                running=", ".join(state.running) or "-",
            )


def _forge_table(report: ForgeReport) -> Table:
    """Fuzz and invariant tests, and every test that did not pass; passing unit tests are only counted."""
    table = Table(title=f"forge · profile {report.profile} · seed {report.seed:#x} · {report.elapsed:.1f}s")
    for column in ("suite", "test", "kind", "runs", "calls", "reverts", "result"):
        numeric = column in ("runs", "calls", "reverts")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold", no_wrap=numeric)
    styles = {PASS: "green", FAIL: "bold red", STOPPED: "yellow"}
    for result in report.results:
        if result.kind == "unit" and result.status == PASS:
            continue
        cells = ["-" if value is None else f"{value:,}" for value in (result.runs, result.calls, result.reverts)]
        style = styles.get(result.status, "")
        table.add_row(result.contract, result.name, result.kind, *cells, f"[{style}]{result.status}[/]")
    return table


def _render_forge(report: ForgeReport, console: Console) -> None:
    console.print(_forge_table(report))
    units = sum(1 for r in report.results if r.kind == "unit" and r.status == PASS)
    console.print(
        f"{len(report.results)} tests ({units} passing unit tests not listed); build {report.build_elapsed:.1f}s"
    )
    for failure in report.failures:
        console.print(f"[bold red]FAIL[/] {failure.suite}::{failure.test}: {failure.reason}", soft_wrap=True)
    for path in report.counterexample_paths:
        console.print(f"counterexample saved: {path}  (replay: settlekit fuzz --replay {path})", soft_wrap=True)
    if report.not_run:
        console.print(f"[yellow]time budget spent[/]: not run or stopped: {', '.join(report.not_run)}", soft_wrap=True)


def coverage_line(world: str, counts: dict[str, int]) -> str:
    """One world's coverage in a line: calls that succeeded and reverted, distinct revert reasons, the actions that
    never succeeded (a sign the world's strategies miss), and the world's own labels (``cover``) with counts."""
    ok: dict[str, int] = {}
    reverted: dict[str, int] = {}
    own: dict[str, int] = {}
    for label, count in counts.items():
        action, colon, rest = label.partition(": ")
        if not colon:
            own[label] = count
        elif rest == "ok":
            ok[action] = ok.get(action, 0) + count
        else:
            reverted[label] = count
    actions = sorted(set(ok) | {label.partition(": ")[0] for label in reverted})
    never = [action for action in actions if not ok.get(action)]
    parts = [
        f"coverage ({world}): {sum(ok.values()):,} calls ok, {sum(reverted.values()):,} reverted "
        f"({len(reverted)} distinct reasons) over {len(actions)} actions"
    ]
    if never:
        parts.append(f"never ok: {', '.join(never)}")
    parts += [f"{label}: {count:,}" for label, count in sorted(own.items())]
    return " · ".join(parts)


def _render_diff(data: dict[str, Any], console: Console) -> None:
    status = "[green]ok[/]" if data.get("ok") else "[bold red]FAILED[/]"
    workers = int(data.get("workers", 1))
    cpu = float(data.get("cpu_seconds", 0.0))
    speed = f" · {data.get('steps_per_cpu_second', 0.0):,.0f} steps per CPU s" if cpu > 0 else ""
    worlds = ", ".join(data.get("worlds", []))
    named = f" ({escape(worlds)})" if worlds else ""
    console.print(
        f"differential{named}: {status} · {data.get('steps', 0):,} steps in {data.get('sequences', 0):,} sequences · "
        f"{data.get('elapsed', 0.0):.1f}s · {data.get('steps_per_second', 0.0):,.0f} steps/s"
        f"{f' · {workers} workers' if workers > 1 else ''}{speed} · invariants every "
        f"{data.get('invariant_every', 1)} step(s)",
        soft_wrap=True,
    )
    for world, counts in data.get("coverage", {}).items():
        console.print(f"  {escape(coverage_line(world, counts))}", soft_wrap=True)
    for failure in data.get("failures", []):
        console.print(f"[bold red]FAIL[/] seed {failure.get('seed')}: {escape(str(failure.get('message')))}")
        console.print(f"  replay: settlekit fuzz --replay {escape(str(failure.get('replay_path')))}", soft_wrap=True)
        if failure.get("regression_test_path"):
            console.print(f"  regression test: {escape(str(failure.get('regression_test_path')))}", soft_wrap=True)


def _run_diff(
    differential: Any,
    project: Project,
    *,
    seed: int,
    profile: str,
    time_budget: float | None,
    workers: int,
    corpus: Path | None,
    show_progress: bool,
    worlds: tuple[str, ...],
) -> dict[str, Any]:
    out_dir = (corpus / "diff") if corpus is not None else project.root / ".settlekit" / "fuzz" / "diff"
    config = differential.DiffConfig(
        project_root=project.root,
        seed=seed,
        steps=None if time_budget is not None else DIFF_STEPS[profile],
        time_budget=time_budget,
        workers=workers,
        out_dir=out_dir,
        products=worlds,
    )
    if not show_progress:
        report = differential.run_campaign(config)
    else:
        with Progress(
            SpinnerColumn(),
            TextColumn("differential · {task.fields[steps]:,} steps · {task.fields[rate]:,.0f}/s"),
            TextColumn("· {task.fields[failures]} failing"),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
        ) as bar:
            task = bar.add_task("diff", total=None, steps=0, rate=0.0, failures=0)

            def update(state: Any) -> None:
                rate = state.steps / state.elapsed if state.elapsed > 0 else 0.0
                bar.update(task, steps=state.steps, rate=rate, failures=state.failures)

            report = differential.run_campaign(config, progress=update)
    data: dict[str, Any] = {"engine": "diff", **report.to_json()}
    data["ok"] = bool(report.ok)
    return data


def _replay(path: Path, project: Project, as_json: bool) -> None:
    document = load_replay_file(path)
    if document["engine"] == "forge":
        with _ForgeBar(enabled=not as_json) as bar:
            report = replay_counterexample(project.root, path, progress=bar.update)
        data: dict[str, Any] = report.to_json()
    else:
        diff_report = _differential().replay_file(project.root, path)
        data = {"engine": "diff", **diff_report.to_json()}
        data["ok"] = bool(diff_report.ok)
    still_fails = not data["ok"]
    result = {"ok": data["ok"], "replay": {"file": str(path), "engine": document["engine"], "still_fails": still_fails}}
    result["engines"] = {document["engine"]: data}

    def render(console: Console) -> None:
        if document["engine"] == "forge":
            _render_forge(report, console)
        else:
            _render_diff(data, console)
        verdict = "[bold red]still fails[/]" if still_fails else "[green]no longer fails[/]"
        console.print(f"replay of {escape(str(path))}: {verdict}", soft_wrap=True)

    emit(result, as_json=as_json, render=render)
    if still_fails:
        raise typer.Exit(1)


def fuzz(
    as_json: JsonOption = False,
    engine: Annotated[Engine, typer.Option("--engine", help="forge, diff (differential) or all.")] = Engine.all,
    profile: Annotated[
        str, typer.Option("--profile", help=f"Campaign size: {', '.join(PROFILES)} (foundry.toml profiles).")
    ] = "default",
    seed: Annotated[
        str | None, typer.Option("--seed", help="Seed (decimal or 0x hex); default: the profile's, else random.")
    ] = None,
    time_budget: Annotated[
        float | None,
        typer.Option("--time-budget", help="Seconds for the campaigns (half each with --engine all; builds extra)."),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="Folder for the corpus, forge's failure records and counterexample files."),
    ] = None,
    match_test: Annotated[str | None, typer.Option("--match-test", help="forge: test name regex.")] = None,
    match_contract: Annotated[str | None, typer.Option("--match-contract", help="forge: contract regex.")] = None,
    match_path: Annotated[str | None, typer.Option("--match-path", help="forge: test file glob.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Parallel processes (suites / seeds).")] = 1,
    replay: Annotated[
        Path | None, typer.Option("--replay", help="Rerun a saved counterexample or differential replay file.")
    ] = None,
    mutants: Annotated[
        str | None,
        typer.Option(
            "--mutants",
            metavar="builtin|FILE",
            help="Bug-finding benchmark: the engines against every planted bug, the shipped ones (builtin) or your "
            "own from a TOML/JSON file (id, file, original, replacement[, title, forge_tests]).",
        ),
    ] = None,
    budget: Annotated[
        float, typer.Option("--budget", help="--mutants: seconds per fuzz engine per mutant (builds not counted).")
    ] = 60.0,
    mutant_engines: Annotated[
        str,
        typer.Option(
            "--engines",
            help="--mutants: comma-separated among readme (`forge test --fail-fast`, as make test), forge, diff.",
        ),
    ] = "readme,forge,diff",
    readme_cap: Annotated[
        float, typer.Option("--readme-cap", help="--mutants: seconds at most for the README command per mutant.")
    ] = 900.0,
    world: Annotated[
        list[str] | None,
        typer.Option("--world", help="diff: a world of settlekit.toml [fuzz.worlds] (repeatable; default: all)."),
    ] = None,
) -> None:
    """Run the fuzz campaigns (forge fuzz + invariant suites, differential engine); exit 1 on any failure."""
    project = Project.discover()
    if replay is not None:
        _replay(replay, project, as_json)
        return
    if mutants is not None:
        from settlekit.cli.fuzz_mutants import MutantOptions, run_mutants_command

        mutant_seed = resolve_seed(project.root, profile, _parse_seed(seed)) % 2**64
        options = MutantOptions(mutants, budget, mutant_seed, profile, mutant_engines, readme_cap)
        if not run_mutants_command(project, options, as_json=as_json):
            raise typer.Exit(1)
        return
    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile!r}", hint=f"use one of: {', '.join(PROFILES)}")
    if time_budget is not None and time_budget <= 0:
        raise UsageError(f"--time-budget {time_budget:g} is not positive", hint="pass a number of seconds > 0")
    engines = ["forge", "diff"] if engine is Engine.all else [engine.value]
    not_run: dict[str, str] = {}
    differential = _differential() if "diff" in engines else None  # fail before forge runs, not after
    worlds = _chosen_worlds(differential, project, tuple(world or ()), explicit=engine is Engine.diff)
    if differential is not None and not worlds:  # --engine all on a project without worlds: forge alone
        engines.remove("diff")
        not_run["diff"] = "settlekit.toml declares no [fuzz.worlds] (docs/differential-worlds.md)"
    share = None if time_budget is None else time_budget / len(engines)
    chosen = resolve_seed(project.root, profile, _parse_seed(seed))
    started = time.monotonic()
    results: dict[str, Any] = {}
    forge_report: ForgeReport | None = None
    if "forge" in engines:
        config = ForgeConfig(
            project_root=project.root,
            profile=profile,
            seed=chosen,
            time_budget=share,
            corpus_dir=corpus,
            match_test=match_test,
            match_contract=match_contract,
            match_path=match_path,
            workers=workers,
        )
        with _ForgeBar(enabled=not as_json) as bar:
            forge_report = run_forge_engine(config, progress=bar.update)
        results["forge"] = forge_report.to_json()
    if "diff" in engines:
        if time_budget is not None and share is not None:
            share = max(share, time_budget - (time.monotonic() - started))  # what forge left, at least half
        results["diff"] = _run_diff(
            differential,
            project,
            seed=chosen % 2**64,  # the differential engine's generators take 64-bit seeds
            profile=profile,
            time_budget=share,
            workers=workers,
            corpus=corpus,
            show_progress=not as_json,
            worlds=worlds,
        )
    ok = all(bool(data["ok"]) for data in results.values())
    summary = {"ok": ok, "seed": hex(chosen), "profile": profile, "engines": results}
    if not_run:
        summary["not_run"] = not_run

    def render(console: Console) -> None:
        if forge_report is not None:
            _render_forge(forge_report, console)
        if "diff" in results:
            _render_diff(results["diff"], console)
        for name, why in not_run.items():
            console.print(f"{'differential' if name == 'diff' else name}: not run: {escape(why)}", soft_wrap=True)
        console.print("[green]all campaigns passed[/]" if ok else "[bold red]failures found[/]")

    emit(summary, as_json=as_json, render=render)
    if not ok:
        raise typer.Exit(1)
