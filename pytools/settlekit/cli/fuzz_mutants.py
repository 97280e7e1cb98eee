"""``settlekit fuzz --mutants builtin|FILE``: the bug-finding benchmark (settlekit.fuzz.mutant_bench) as a command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from settlekit.cli.output import emit, stderr
from settlekit.exceptions import UsageError
from settlekit.fuzz.mutant_bench import (
    ENGINE_TITLES,
    MutantResult,
    MutantRun,
    chosen_engines,
    run_mutants,
    summarize,
    table_rows,
)
from settlekit.fuzz.mutant_file import load_mutants
from settlekit.fuzz.mutants import MUTANTS, Mutant
from settlekit.project import Project

BUILTIN = "builtin"


@dataclass(frozen=True)
class MutantOptions:
    """The command line of ``settlekit fuzz --mutants``."""

    source: str  # "builtin" or the path of a TOML/JSON mutants file
    budget: float
    seed: int
    profile: str
    engines: str  # comma-separated
    readme_cap: float


def _mutants(project: Project, source: str) -> tuple[Mutant, ...]:
    if source == BUILTIN:
        return MUTANTS
    path = Path(source)
    if not path.exists():
        raise UsageError(
            f"--mutants {source}: no such file",
            hint=f"pass a TOML or JSON mutants file (docs/fuzzing.md, 'Your own mutants'), or `--mutants {BUILTIN}`",
        )
    return load_mutants(project.root, path)


def _table(run: MutantRun) -> Table:
    table = Table(title=f"mutants · budget {run.budget:g}s per fuzz engine · seed {hex(run.seed)}")
    for column in ("mutant", *(ENGINE_TITLES[name] for name in run.engines), "killed"):
        table.add_column(column, overflow="fold")  # wrapped over lines at 80 columns, never cut
    for row in table_rows(run):
        style = "" if row[-1] == "yes" else "bold red"
        table.add_row(*row, style=style)
    return table


def run_mutants_command(project: Project, options: MutantOptions, *, as_json: bool) -> bool:
    """Check the mutants and options, run the benchmark with a progress bar (unless ``as_json``), print the table;
    True if every mutant died and the control run passed."""
    if options.budget <= 0:
        raise UsageError(f"--budget {options.budget:g} is not positive", hint="pass a number of seconds > 0")
    if options.readme_cap <= 0:
        raise UsageError(f"--readme-cap {options.readme_cap:g} is not positive", hint="pass a number of seconds > 0")
    engines = chosen_engines([name.strip() for name in options.engines.split(",") if name.strip()])
    mutants = _mutants(project, options.source)

    def go(
        on_result: Callable[[MutantResult], None] | None = None, on_stage: Callable[[str], None] | None = None
    ) -> MutantRun:
        return run_mutants(
            project.root,
            mutants=mutants,
            budget=options.budget,
            seed=options.seed,
            profile=options.profile,
            engine_names=engines,
            readme_cap=options.readme_cap,
            on_result=on_result,
            on_stage=on_stage,
        )

    if as_json:
        run = go()
    else:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.fields[stage]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
        ) as bar:
            task = bar.add_task("mutants", total=len(mutants) + 1, stage="starting")  # + the control run

            def stage(text: str) -> None:
                bar.update(task, stage=text)

            def done(_result: MutantResult) -> None:
                bar.advance(task)

            run = go(done, stage)
    summary = summarize(run.results)

    def render(console: Console) -> None:
        console.print(_table(run))
        medians = []
        for name in run.engines:
            median = summary[f"{name}_median_time_to_kill"]
            medians.append(f"{ENGINE_TITLES[name]} {'n/a' if median is None else f'{median:.1f}s'}")
        console.print(f"killed {summary['killed']}/{summary['mutants']} · median time to kill: {', '.join(medians)}")
        if run.false_alarm:
            console.print("[bold red]false alarm[/]: an engine failed on the unmutated project; the kills are suspect")

    emit(run.to_json(), as_json=as_json, render=render)
    return not summary["survivors"] and not run.false_alarm
