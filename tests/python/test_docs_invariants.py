"""docs/invariants.md names only tests that exist, so the list of invariants cannot drift from the suites."""

from __future__ import annotations

import re

from support import REPO


def _defined_tests(suffixes: tuple[str, ...] = ("*.vy", "*.py")) -> set[str]:
    names: set[str] = set()
    for suffix in suffixes:
        for path in (REPO / "tests").rglob(suffix):
            names.update(re.findall(r"^def ((?:test|invariant)\w*)\(", path.read_text(), flags=re.MULTILINE))
    return names


def test_every_test_named_in_the_invariants_doc_exists() -> None:
    text = (REPO / "docs" / "invariants.md").read_text()
    named = set(re.findall(r"`((?:test|testFuzz|invariant)_\w+)`", text))
    assert len(named) > 20, "the invariants doc names fewer tests than expected: is the parser broken?"
    missing = sorted(named - _defined_tests())
    assert missing == [], f"docs/invariants.md names tests that do not exist: {missing}"


def test_every_invariant_function_is_listed_in_the_invariants_doc() -> None:
    text = (REPO / "docs" / "invariants.md").read_text()
    # The project's invariants are its forge suites' (Vyper); a .py file may embed Vyper sources of a throw-away
    # project (the forge engine's tests plant failing invariants there), which are no invariants of this one.
    invariants = {name for name in _defined_tests(("*.vy",)) if name.startswith("invariant_")}
    unlisted = sorted(name for name in invariants if f"`{name}`" not in text)
    assert unlisted == [], f"invariant tests not written down in docs/invariants.md: {unlisted}"


def test_every_test_named_in_the_guarantees_doc_exists() -> None:
    text = (REPO / "docs" / "guarantees.md").read_text()
    named = set(re.findall(r"`(?:[\w.]+(?:\.py::|\.))?((?:test|testFuzz|invariant)_\w+)`", text))
    assert len(named) > 15, "the guarantees doc names fewer tests than expected: is the parser broken?"
    missing = sorted(named - _defined_tests())
    assert missing == [], f"docs/guarantees.md names tests that do not exist: {missing}"
