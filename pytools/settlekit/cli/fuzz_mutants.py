"""``settlekit fuzz --mutants``: the bug-finding benchmark (settlekit.fuzz.mutant_bench) as a command."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from settlekit.cli.output import emit, stderr
from settlekit.fuzz.mutant_bench import MutantResult, MutantRun, run_mutants, summarize, table_rows
from settlekit.fuzz.mutants import MUTANTS
from settlekit.project import Project


def _table(run: MutantRun) -> Table:
    table = Table(title=f"mutants · budget {run.budget:g}s per engine · seed {hex(run.seed)}")
    for column in ("mutant", "forge engine", "differential engine", "killed"):
        table.add_column(column, overflow="fold")  # wrapped over lines at 80 columns, never cut
    for mutant_id, forge, diff, killed in table_rows(run):
        style = "" if killed == "yes" else "bold red"
        table.add_row(mutant_id, forge, diff, killed, style=style)
    return table


def run_mutants_command(project: Project, *, budget: float, seed: int, profile: str, as_json: bool) -> bool:
    """Run the benchmark with a progress bar (unless ``as_json``), print the table; True if every mutant died."""
    if as_json:
        run = run_mutants(project.root, budget=budget, seed=seed, profile=profile)
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
            task = bar.add_task("mutants", total=len(MUTANTS) + 1, stage="starting")  # + the control run

            def stage(text: str) -> None:
                bar.update(task, stage=text)

            def done(_result: MutantResult) -> None:
                bar.advance(task)

            run = run_mutants(project.root, budget=budget, seed=seed, profile=profile, on_result=done, on_stage=stage)
    summary = summarize(run.results)

    def render(console: Console) -> None:
        console.print(_table(run))
        forge_median = summary["forge_median_time_to_kill"]
        diff_median = summary["diff_median_time_to_kill"]
        console.print(
            f"killed {summary['killed']}/{summary['mutants']} · median time to kill: forge "
            f"{'n/a' if forge_median is None else f'{forge_median:.1f}s'}, differential "
            f"{'n/a' if diff_median is None else f'{diff_median:.1f}s'}"
        )
        if run.false_alarm:
            console.print("[bold red]false alarm[/]: an engine failed on the unmutated project; the kills are suspect")

    emit(run.to_json(), as_json=as_json, render=render)
    return not summary["survivors"] and not run.false_alarm
