"""Shrinking a failing sequence: drop chunks of steps, merge consecutive warps, minimise integer arguments bit by
bit; the passes repeat until a whole round changes nothing (or the time budget is spent).

Every candidate is run from scratch (``fails``) and kept only if it still fails, so the result always fails; its
message is the one the last kept candidate gave.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from .world import Step

Fails = Callable[[list[Step]], str | None]
WARP = "warp"  # the op that moves the clock; its only argument is "seconds"
MAX_SEARCH_PROBES = 64  # runs spent on the binary search for a smaller value of one argument


class _OutOfTime(Exception):
    """The budget is spent: the shrinker stops with what it has."""


class _Shrinker:
    def __init__(self, steps: list[Step], message: str, fails: Fails, deadline: float) -> None:
        self.current, self.message = list(steps), message
        self.fails, self.deadline = fails, deadline

    def attempt(self, candidate: list[Step]) -> bool:
        """Keep ``candidate`` if it still fails."""
        if time.monotonic() >= self.deadline:
            raise _OutOfTime
        if not candidate:
            return False
        result = self.fails(candidate)
        if result is None:
            return False
        self.current, self.message = candidate, result
        return True

    def run(self) -> None:
        while True:
            before = self.current
            self.drop_steps()
            self.merge_warps()
            self.minimise_arguments()
            if self.current == before:
                return

    def drop_steps(self) -> None:
        """Delta debugging: remove chunks of steps, halving the chunk size when no chunk can go."""
        chunks = 2
        while len(self.current) >= 2:
            size = max(len(self.current) // chunks, 1)
            removed = False
            for start in range(0, len(self.current), size):
                if self.attempt(self.current[:start] + self.current[start + size :]):
                    removed = True
                    break
            if removed:
                chunks = max(chunks - 1, 2)
            elif size == 1:
                return
            else:
                chunks = min(chunks * 2, len(self.current))

    def merge_warps(self) -> None:
        """Replace each run of consecutive warps by one warp of their total (or, if that passes, merge pairs)."""
        index = 0
        while index < len(self.current):
            end = index
            while end < len(self.current) and _is_warp(self.current[end]):
                end += 1
            if end - index < 2 or self.attempt(_merged(self.current, index, end)):
                index = max(end, index + 1) if end - index < 2 else index + 1
                continue
            merged_pair = False
            for pair in range(index, end - 1):
                if self.attempt(_merged(self.current, pair, pair + 2)):
                    merged_pair = True
                    break
            index = index if merged_pair else end  # a shorter run may merge further; else move past it

    def minimise_arguments(self) -> None:
        for index in range(len(self.current)):
            for key in list(self.current[index]):
                if key == "op":
                    continue
                value = self.current[index][key]
                if isinstance(value, int) and not isinstance(value, bool):
                    self._minimise_int(index, key)
                elif isinstance(value, list):
                    self._shorten_list(index, key)

    def _with(self, index: int, key: str, value: Any) -> list[Step]:
        candidate = list(self.current)
        candidate[index] = {**candidate[index], key: value}
        return candidate

    def _minimise_int(self, index: int, key: str) -> None:
        """Zero, one, then clear set bits (chunks of them, the high ones first), then smaller values."""
        value: int = self.current[index][key]
        sign = -1 if value < 0 else 1
        tried: set[int] = {abs(value)}

        def attempt(magnitude: int) -> bool:
            if magnitude in tried:
                return False
            tried.add(magnitude)
            return self.attempt(self._with(index, key, sign * magnitude))

        magnitude = abs(value)
        for simple in (0, 1):
            if simple < magnitude and attempt(simple):
                return
        bits = [bit for bit in reversed(range(magnitude.bit_length())) if magnitude >> bit & 1]
        size = max(len(bits) // 2, 1)
        while bits:
            cleared = False
            for start in range(0, len(bits), size):
                group = bits[start : start + size]
                smaller = magnitude & ~sum(1 << bit for bit in group)
                if attempt(smaller):
                    magnitude, bits, cleared = smaller, [b for b in bits if b not in group], True
                    break
            if cleared:
                size = max(min(size, len(bits) // 2), 1)
            elif size == 1:
                break
            else:
                size = max(size // 2, 1)
        # Then a smaller value: one just below first (a bit that matters, or a threshold already reached, makes
        # it pass: stop), else a binary search below for a threshold, ``low`` passing and ``high`` failing.
        if magnitude < 2 or not attempt(magnitude - 1):
            return
        low, high = 1, magnitude - 1
        for _ in range(MAX_SEARCH_PROBES):
            if high - low < 2:
                break
            middle = (low + high) // 2
            if attempt(middle):
                high = middle
            else:
                low = middle

    def _shorten_list(self, index: int, key: str) -> None:
        position = 0
        while position < len(self.current[index][key]):
            items = self.current[index][key]
            if not self.attempt(self._with(index, key, items[:position] + items[position + 1 :])):
                position += 1


def _is_warp(step: Step) -> bool:
    seconds = step.get("seconds")
    return step.get("op") == WARP and isinstance(seconds, int) and not isinstance(seconds, bool)


def _merged(steps: list[Step], start: int, end: int) -> list[Step]:
    total = sum(int(step["seconds"]) for step in steps[start:end])
    return [*steps[:start], {**steps[start], "seconds": total}, *steps[end:]]


def shrink(steps: list[Step], fails: Fails, budget: float) -> tuple[list[Step], str]:
    """The smallest failing sequence found within ``budget`` seconds, and its mismatch message.

    ``fails(steps)`` runs a sequence from scratch and returns the mismatch message, or None if it passes;
    ``steps`` must fail.
    """
    deadline = time.monotonic() + budget
    message = fails(steps)
    if message is None:
        raise ValueError("shrink needs a failing sequence")
    shrinker = _Shrinker(steps, message, fails, deadline)
    with contextlib.suppress(_OutOfTime):  # the budget is spent: keep what the passes reached
        shrinker.run()
    return shrinker.current, shrinker.message
