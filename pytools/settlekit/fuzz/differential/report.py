"""The engine's public value types: the campaign configuration, progress ticks and the merged report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DiffConfig:
    """One campaign. ``steps`` and ``time_budget`` bound it (whichever comes first; at least one must be set);
    ``workers`` independent seeds (seed, seed + 1, ...) run in parallel processes, each with its share of the
    steps and the whole time budget."""

    project_root: Path
    seed: int
    steps: int | None
    time_budget: float | None
    workers: int
    out_dir: Path
    invariant_every: int = 1
    products: tuple[str, ...] = ()  # names of the project's [fuzz.worlds]; empty: every declared world
    sequence_length: int = 200
    max_failures: int = 1  # stop a worker after this many distinct failing sequences
    shrink_budget: float = 30.0  # seconds spent shrinking one failure


@dataclass(frozen=True)
class DiffProgress:
    steps: int
    elapsed: float
    failures: int


@dataclass(frozen=True)
class DiffFailure:
    seed: int
    message: str
    replay_path: Path | None
    regression_test_path: Path | None
    product: str = ""
    steps: int = 0  # length of the (shrunk) failing sequence

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "product": self.product,
            "message": self.message,
            "steps": self.steps,
            "replay_path": str(self.replay_path) if self.replay_path else None,
            "regression_test_path": str(self.regression_test_path) if self.regression_test_path else None,
        }


@dataclass
class DiffReport:
    """A campaign's outcome. ``elapsed`` is fuzzing wall time (the longest worker's; shrinking excluded),
    ``cpu_seconds`` the CPU time the fuzzing loops used (summed over the workers; shrinking excluded), ``wall`` the
    whole ``run_campaign`` call (build check, process start-up, warm-up, shrinking, merging included) and
    ``startup`` the part of it before the first worker started fuzzing."""

    steps: int = 0
    sequences: int = 0
    elapsed: float = 0.0
    failures: list[DiffFailure] = field(default_factory=list)
    invariant_every: int = 1
    workers: int = 1
    cpu_seconds: float = 0.0
    wall: float = 0.0
    startup: float = 0.0
    per_worker: list[dict[str, float]] = field(default_factory=list)  # seed, steps (ints), elapsed, cpu_seconds
    worlds: tuple[str, ...] = ()  # the worlds fuzzed, in turn
    coverage: dict[str, dict[str, int]] = field(default_factory=dict)  # per world: label -> count (see runner)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def steps_per_cpu_second(self) -> float:
        """Steps per CPU second of fuzzing: what one core does when it is not shared (load on the machine
        lowers the wall figure, not this one, unless the CPU itself is throttled)."""
        return self.steps / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def merge(self, other: DiffReport) -> None:
        """Add ``other`` (a worker's report run at the same time): steps, CPU and failures add, time is the
        longest."""
        self.steps += other.steps
        self.sequences += other.sequences
        self.elapsed = max(self.elapsed, other.elapsed)
        self.cpu_seconds += other.cpu_seconds
        self.per_worker.extend(other.per_worker)
        self.failures.extend(other.failures)
        for world, counts in other.coverage.items():
            mine = self.coverage.setdefault(world, {})
            for label, count in counts.items():
                mine[label] = mine.get(label, 0) + count

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": "diff",
            "ok": self.ok,
            "worlds": list(self.worlds),
            "steps": self.steps,
            "sequences": self.sequences,
            "elapsed": round(self.elapsed, 3),
            "steps_per_second": round(self.steps_per_second, 1),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "steps_per_cpu_second": round(self.steps_per_cpu_second, 1),
            "wall": round(self.wall, 3),
            "startup": round(self.startup, 3),
            "invariant_every": self.invariant_every,
            "workers": self.workers,
            "failures": [f.to_json() for f in self.failures],
            "coverage": {world: dict(sorted(counts.items())) for world, counts in sorted(self.coverage.items())},
        }
