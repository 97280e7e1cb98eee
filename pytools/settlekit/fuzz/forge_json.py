"""Reading forge 1.7.1's ``test --json`` and ``test --list --json`` output.

``forge test --json`` prints one JSON object on stdout: ``{"<path>:<Contract>": {"duration", "test_results":
{"<signature>": {"status", "reason", "counterexample", "kind": {"Unit"|"Fuzz"|"Invariant": {...}}, "duration",
...}}}}``. It also prints one-line JSON events (``{"event": "failure", ...}``) and plain text on stderr; the
parser picks the object whose values all carry ``test_results``. Durations are text like ``"2s 1ms 511µs 627ns"``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from settlekit.fuzz.report import FAIL, PASS, SKIP, TestResult

_DURATION_PART = re.compile(r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ns|µs|us|ms|s|m|h)\b")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}
_STATUS = {"Success": PASS, "Failure": FAIL, "Skipped": SKIP}


@dataclass(frozen=True)
class ListedSuite:
    """One test contract found by ``forge test --list``: its file, contract name and test function names."""

    path: str
    contract: str
    tests: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.path}:{self.contract}"


def parse_duration(text: str | None) -> float:
    """Seconds in a forge duration such as ``"2s 1ms 511µs 627ns"`` (0.0 when absent or unreadable)."""
    if not text:
        return 0.0
    return sum(float(m.group("value")) * _UNIT_SECONDS[m.group("unit")] for m in _DURATION_PART.finditer(text))


def find_results_object(output: str) -> dict[str, Any] | None:
    """The suite-results object among the JSON lines of forge's output, or None when there is none."""
    for raw_line in output.splitlines():
        line = raw_line.strip()
        if not line.startswith("{"):
            continue
        try:
            payload = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(payload, dict)
            and payload
            and all(isinstance(v, dict) and "test_results" in v for v in payload.values())
        ):
            return payload
    return None


def _counters(kind_name: str, data: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    """(runs, calls, reverts) of one test's ``kind`` entry."""
    if kind_name == "fuzz":
        runs = data.get("runs")
        return runs, runs, None
    if kind_name == "invariant":
        return data.get("runs"), data.get("calls"), data.get("reverts")
    return None, None, None


def parse_test(suite_key: str, signature: str, raw: dict[str, Any]) -> TestResult:
    """One entry of a suite's ``test_results``."""
    path, _, contract = suite_key.rpartition(":")
    kind_entry = raw.get("kind") or {}
    kind_label = next(iter(kind_entry), "Unit") if isinstance(kind_entry, dict) else "Unit"
    kind = str(kind_label).lower()
    data = kind_entry.get(kind_label) if isinstance(kind_entry, dict) else None
    runs, calls, reverts = _counters(kind, data if isinstance(data, dict) else {})
    status = _STATUS.get(str(raw.get("status", "")), str(raw.get("status", "")).lower() or FAIL)
    if status == FAIL and not runs:
        runs = calls = None  # forge reports 0 runs for a failed campaign, not how many ran before the failure
    reason = raw.get("reason")
    counterexample = raw.get("counterexample")
    return TestResult(
        suite=suite_key,
        path=path,
        contract=contract,
        test=signature,
        kind=kind,
        status=status,
        runs=runs,
        calls=calls,
        reverts=reverts,
        reason=None if reason is None else str(reason),
        counterexample=counterexample if isinstance(counterexample, dict) else None,
        duration=parse_duration(raw.get("duration")),
    )


def parse_results(payload: dict[str, Any]) -> list[TestResult]:
    """Every test of every suite in a ``forge test --json`` object, in suite then test order."""
    results: list[TestResult] = []
    for suite_key in sorted(payload):
        tests = payload[suite_key].get("test_results") or {}
        results.extend(parse_test(suite_key, signature, tests[signature]) for signature in sorted(tests))
    return results


def parse_listing(payload: dict[str, Any]) -> list[ListedSuite]:
    """The suites of ``forge test --list --json``: ``{"<path>": {"<Contract>": ["test", ...]}}``."""
    suites: list[ListedSuite] = []
    for path in sorted(payload):
        contracts = payload[path]
        if not isinstance(contracts, dict):
            continue
        for contract in sorted(contracts):
            tests = contracts[contract]
            if isinstance(tests, list) and tests:
                suites.append(ListedSuite(path, contract, tuple(str(t) for t in tests)))
    return suites


def counterexample_calls(counterexample: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The calls of a counterexample as a flat list: one for a fuzz case, the sequence for an invariant."""
    if not counterexample:
        return []
    if "Single" in counterexample and isinstance(counterexample["Single"], dict):
        return [counterexample["Single"]]
    sequence = counterexample.get("Sequence")
    if isinstance(sequence, list):
        calls = sequence[1] if len(sequence) == 2 and isinstance(sequence[1], list) else sequence
        return [call for call in calls if isinstance(call, dict)]
    return []
