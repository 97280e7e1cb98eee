"""A campaign: random sequences until the step or time budget is spent; failures shrunk and saved; a pool of
independent seeds for ``workers > 1`` (spawned processes, each with its own EVMs), reports merged."""

from __future__ import annotations

import multiprocessing
import queue
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from settlekit.exceptions import SettlekitError

from .registry import required_worlds, world_class
from .replay import write_failure
from .report import DiffConfig, DiffProgress, DiffReport
from .runner import mark_built, prepare, run_random, run_steps, warm_up
from .shrink import shrink

Progress = Callable[[DiffProgress], None]
_PROGRESS_EVERY = 0.5  # seconds between progress ticks


def _check(config: DiffConfig) -> None:
    if config.steps is None and config.time_budget is None:
        raise SettlekitError(
            "a differential campaign needs a step count or a time budget", hint="pass --steps or --time"
        )
    if config.workers < 1 or config.invariant_every < 1:
        raise SettlekitError("workers and invariant_every must be at least 1", hint="pass --workers 1 or more")


def _worlds(config: DiffConfig) -> DiffConfig:
    """``config`` with its worlds named: every world the project declares when it names none; unknown names and a
    project without worlds are refused before anything is built."""
    declared = required_worlds(config.project_root)
    unknown = sorted(set(config.products) - set(declared))
    if unknown:
        raise SettlekitError(
            f"no differential world {', '.join(map(repr, unknown))} in {config.project_root / 'settlekit.toml'}",
            hint=f"declared worlds: {', '.join(sorted(declared))}",
        )
    return config if config.products else replace(config, products=tuple(declared))


def _run_one(config: DiffConfig, progress: Progress | None) -> DiffReport:
    """One seed's campaign in this process (set-up done: see ``warm_up``)."""
    rng = random.Random(config.seed)  # noqa: S311 - reproducible fuzzing, not cryptography
    report = DiffReport(invariant_every=config.invariant_every)
    started_at = time.time()  # wall clock, comparable across processes: the parent's start-up figure
    cpu_started = time.process_time()
    started = last_tick = time.perf_counter()
    index = 0
    # each world's set-ups (settlement: terms x constructor or clone x token mode; margin: market configurations)
    variants = {name: max(1, int(getattr(world_class(config.project_root.resolve(), name), "variants", 1)))
                for name in config.products}  # fmt: skip
    while True:
        elapsed = time.perf_counter() - started
        if config.steps is not None and report.steps >= config.steps:
            break
        if config.time_budget is not None and elapsed >= config.time_budget:
            break
        if len(report.failures) >= config.max_failures:
            break
        product = config.products[index % len(config.products)]
        seq_seed = rng.getrandbits(63)
        variant = seq_seed % variants[product]
        length = config.sequence_length
        if config.steps is not None:
            length = min(length, config.steps - report.steps)
        sequence_rng = random.Random(seq_seed)  # noqa: S311 - reproducible fuzzing, not cryptography
        result = run_random(config.project_root, product, variant, sequence_rng, length, config.invariant_every)
        index += 1
        counted = report.coverage.setdefault(product, {})
        for label, count in result.coverage.items():
            counted[label] = counted.get(label, 0) + count
        report.sequences += 1
        report.steps += len(result.steps)
        if result.failure is not None:
            report.elapsed = time.perf_counter() - started  # shrinking is not fuzzing time
            cpu_fuzzing = time.process_time() - cpu_started

            def fails(steps: list[Any], product: str = product, variant: int = variant) -> str | None:
                return run_steps(config.project_root, product, variant, steps, 1)

            if fails(result.steps) is None:  # fails only with a coarser invariant cadence: cannot happen, keep raw
                shrunk, message = result.steps, result.failure
            else:
                shrunk, message = shrink(result.steps, fails, config.shrink_budget)
            report.failures.append(
                write_failure(
                    config.out_dir,
                    config.project_root,
                    seed=seq_seed,
                    product=product,
                    variant=variant,
                    steps=shrunk,
                    message=message,
                )
            )
            started = time.perf_counter() - report.elapsed
            cpu_started = time.process_time() - cpu_fuzzing
        now = time.perf_counter()
        if progress is not None and now - last_tick >= _PROGRESS_EVERY:
            last_tick = now
            progress(DiffProgress(report.steps, now - started, len(report.failures)))
    report.elapsed = time.perf_counter() - started
    report.cpu_seconds = time.process_time() - cpu_started
    report.per_worker = [
        {
            "seed": config.seed,  # an int: a 64-bit seed does not fit a float
            "steps": report.steps,
            "elapsed": report.elapsed,
            "cpu_seconds": report.cpu_seconds,
            "started_at": started_at,
        }
    ]
    if progress is not None:
        progress(DiffProgress(report.steps, report.elapsed, len(report.failures)))
    return report


_WORKER: dict[str, Any] = {}  # the progress queue of this pool worker


def _init_worker(progress_queue: Any, project_root: Any, products: tuple[str, ...]) -> None:
    _WORKER["queue"] = progress_queue
    mark_built(project_root)
    warm_up(project_root, products)


def _worker(config: DiffConfig) -> DiffReport:
    def tick(p: DiffProgress) -> None:
        _WORKER["queue"].put((config.seed, p))

    return _run_one(config, tick)


def run_campaign(config: DiffConfig, progress: Progress | None = None) -> DiffReport:
    """Run the campaign ``config`` describes; failures are shrunk and saved under ``config.out_dir``."""
    _check(config)
    config = _worlds(config)
    wall_started, began = time.perf_counter(), time.time()
    prepare(config.project_root)
    if config.workers == 1:
        warm_up(config.project_root, config.products)
        report = _run_one(config, progress)
        report.workers = 1
        _finish(report, wall_started, began, config.products)
        return report
    warm_up(config.project_root, config.products)  # storage layouts computed and cached once, not per worker
    share = None if config.steps is None else -(-config.steps // config.workers)
    configs = [replace(config, seed=config.seed + i, steps=share, workers=1) for i in range(config.workers)]
    context = multiprocessing.get_context("spawn")
    progress_queue = context.Queue()
    latest: dict[int, DiffProgress] = {}
    merged = DiffReport(invariant_every=config.invariant_every, workers=config.workers)
    with context.Pool(config.workers, _init_worker, (progress_queue, config.project_root, config.products)) as pool:
        pending = pool.map_async(_worker, configs)
        while not pending.ready():
            try:
                seed, tick = progress_queue.get(timeout=0.2)
            except queue.Empty:
                continue
            latest[seed] = tick
            if progress is not None:
                progress(
                    DiffProgress(
                        sum(p.steps for p in latest.values()),
                        max(p.elapsed for p in latest.values()),
                        sum(p.failures for p in latest.values()),
                    )
                )
        for report in pending.get():
            merged.merge(report)
    if progress is not None:
        progress(DiffProgress(merged.steps, merged.elapsed, len(merged.failures)))
    _finish(merged, wall_started, began, config.products)
    return merged


def _finish(report: DiffReport, wall_started: float, began: float, worlds: tuple[str, ...]) -> None:
    """The whole call's wall time, and its start-up: until the last worker started fuzzing."""
    report.worlds = worlds
    report.wall = time.perf_counter() - wall_started
    starts = [worker["started_at"] for worker in report.per_worker]
    report.startup = max(0.0, max(starts) - began) if starts else 0.0
