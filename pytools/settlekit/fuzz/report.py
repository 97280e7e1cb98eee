"""The results of a forge fuzz run: one :class:`TestResult` per test, gathered in a :class:`ForgeReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PASS = "pass"  # noqa: S105 - a test status, not a password
FAIL = "fail"
SKIP = "skip"
STOPPED = "stopped"  # the time budget ran out before the test finished


@dataclass(frozen=True)
class TestResult:
    """One forge test as it ran: kind (unit, fuzz or invariant), outcome and campaign counters.

    ``runs`` counts fuzz cases or invariant runs; ``calls`` the calls made (one per case for a fuzz test, the
    handler calls for an invariant test); ``reverts`` is known for invariant tests only. ``counterexample`` is
    forge's own object (``{"Single": {...}}`` or ``{"Sequence": [n, [...]]}``), kept as forge reports it.
    """

    __test__ = False  # not a pytest test class, despite the name

    suite: str
    path: str
    contract: str
    test: str
    kind: str
    status: str
    runs: int | None = None
    calls: int | None = None
    reverts: int | None = None
    reason: str | None = None
    counterexample: dict[str, Any] | None = None
    duration: float = 0.0

    @property
    def name(self) -> str:
        """The test function's name without its parameter list."""
        return self.test.split("(", 1)[0]

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "path": self.path,
            "contract": self.contract,
            "test": self.test,
            "kind": self.kind,
            "status": self.status,
            "runs": self.runs,
            "calls": self.calls,
            "reverts": self.reverts,
            "reason": self.reason,
            "counterexample": self.counterexample,
            "duration": round(self.duration, 6),
        }


@dataclass(frozen=True)
class ForgeProgress:
    """Where a run stands; passed to the progress callback whenever a suite starts or ends, and twice a second."""

    suites_total: int
    suites_done: int
    tests_total: int
    tests_done: int
    failures: int
    elapsed: float
    running: tuple[str, ...] = ()


@dataclass
class ForgeReport:
    """A forge run: every test result, the counterexample files written, and how the run was set up.

    ``elapsed`` is the wall time of the test phase only (the build runs first and is timed apart in
    ``build_elapsed``). ``not_run`` lists the suites the time budget did not reach or stopped.
    """

    profile: str
    seed: int
    forge_version: str
    results: list[TestResult] = field(default_factory=list)
    elapsed: float = 0.0
    build_elapsed: float = 0.0
    counterexample_paths: list[Path] = field(default_factory=list)
    time_budget: float | None = None
    budget_exhausted: bool = False
    not_run: list[str] = field(default_factory=list)
    time_to_first_failure: float | None = None
    replayed_from: Path | None = None

    @property
    def failures(self) -> list[TestResult]:
        return [result for result in self.results if result.failed]

    @property
    def ok(self) -> bool:
        """True when no test failed (tests the budget did not reach are listed in ``not_run``, not failures)."""
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for result in self.results:
            kinds[result.kind] = kinds.get(result.kind, 0) + 1
        return {
            "engine": "forge",
            "ok": self.ok,
            "profile": self.profile,
            "seed": hex(self.seed),
            "forge_version": self.forge_version,
            "elapsed": round(self.elapsed, 3),
            "build_elapsed": round(self.build_elapsed, 3),
            "time_budget": self.time_budget,
            "budget_exhausted": self.budget_exhausted,
            "time_to_first_failure": (
                None if self.time_to_first_failure is None else round(self.time_to_first_failure, 3)
            ),
            "tests": len(self.results),
            "kinds": kinds,
            "failures": [result.to_json() for result in self.failures],
            "results": [result.to_json() for result in self.results],
            "counterexamples": [str(path) for path in self.counterexample_paths],
            "not_run": list(self.not_run),
            "replayed_from": None if self.replayed_from is None else str(self.replayed_from),
        }
