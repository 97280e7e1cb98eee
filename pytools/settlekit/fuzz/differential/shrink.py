"""Delta debugging of a failing sequence: drop chunks of steps, then simplify the arguments that remain."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .world import Step

Fails = Callable[[list[Step]], str | None]


def _simpler(value: Any) -> list[Any]:
    """Candidates simpler than ``value``, simplest first."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [c for c in (0, 1, value // 2) if abs(c) < abs(value)] if value not in (0, 1) else []
    if isinstance(value, list):
        return [value[:i] + value[i + 1 :] for i in range(len(value))]
    return []


def shrink(steps: list[Step], fails: Fails, budget: float) -> tuple[list[Step], str]:
    """The smallest failing sequence found within ``budget`` seconds, and its mismatch message.

    ``fails(steps)`` runs a sequence from scratch and returns the mismatch message, or None if it passes;
    ``steps`` must fail.
    """
    deadline = time.monotonic() + budget
    message = fails(steps)
    if message is None:
        raise ValueError("shrink needs a failing sequence")
    current = list(steps)
    chunks = 2
    while len(current) >= 2 and time.monotonic() < deadline:
        size = max(len(current) // chunks, 1)
        removed = False
        for start in range(0, len(current), size):
            candidate = current[:start] + current[start + size :]
            result = fails(candidate) if candidate else None
            if result is not None:
                current, message, removed = candidate, result, True
                break
            if time.monotonic() >= deadline:
                break
        if removed:
            chunks = max(chunks - 1, 2)
        elif size == 1:
            break
        else:
            chunks = min(chunks * 2, len(current))
    for index in range(len(current)):
        for key in list(current[index]):
            if key == "op":
                continue
            for candidate_value in _simpler(current[index][key]):
                if time.monotonic() >= deadline:
                    return current, message
                candidate = [dict(s) for s in current]
                candidate[index][key] = candidate_value
                result = fails(candidate)
                if result is not None:
                    current, message = candidate, result
                    break
    return current, message
