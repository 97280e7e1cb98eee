"""The revert-reason catalogue cannot drift from the sources, and every reason has a test that triggers it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from settlekit.revert_catalogue import (
    CatalogueError,
    scan_sources,
    shipped_catalogue,
    to_json,
    to_markdown,
    unique_texts,
)

from support import REPO

FIX = "run `settlekit errors catalogue --write` and commit the result"


def test_shipped_catalogue_matches_the_sources() -> None:
    reasons = scan_sources(REPO / "contracts")
    assert (REPO / "pytools/settlekit/data/revert_reasons.json").read_text() == to_json(reasons), FIX
    assert shipped_catalogue() == reasons, FIX


def test_docs_catalogue_matches_the_sources() -> None:
    assert (REPO / "docs/errors.md").read_text() == to_markdown(scan_sources(REPO / "contracts")), FIX


def _expected_reverts_in_tests() -> set[str]:
    """Exact strings the tests expect: forge `expectRevert(b"...")` and pytest's `expect_revert("...")`."""
    found: set[str] = set()
    for path in (REPO / "tests").rglob("*"):
        if path.suffix not in (".vy", ".py") or not path.is_file():
            continue
        text = path.read_text()
        found.update(re.findall(r'expectRevert\(\s*b"([^"]+)"', text))
        found.update(re.findall(r'EXPECTED_REVERT\s*=\s*"([^"]+)"', text))
        found.update(re.findall(r'expect_revert\(\s*"([^"]+)"', text))
    return found


def test_every_revert_reason_is_triggered_by_a_test_matching_the_exact_string() -> None:
    reasons = unique_texts(scan_sources(REPO / "contracts"))
    assert reasons, "no revert reasons found: is the scanner broken?"
    untested = sorted(set(reasons) - _expected_reverts_in_tests())
    assert untested == [], f"revert reasons no test triggers with the exact string: {untested}"


def test_scanner_finds_asserts_raises_and_handed_over_reasons_but_not_comments_or_docstrings(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "A.vy").write_text(
        "@external\ndef f(x: uint256):\n"
        '    """\n    @notice Reverts "delta: in a docstring" when x is zero.\n    """\n'
        '    assert x > 0, "alpha: zero x"  # why: "beta: not a reason"\n'
        '    # assert x > 1, "gamma: commented out"\n'
        '    self._check(x, "alpha: handed to a helper")\n'
        '    log Note(text="Intent(address signer)")\n'
        '    raise "alpha: always"\n'
    )
    found = scan_sources(contracts)
    assert [(r.text, r.line) for r in found] == [
        ("alpha: always", 10),
        ("alpha: handed to a helper", 8),
        ("alpha: zero x", 6),
    ]


@pytest.mark.parametrize("bad", ["no module prefix", "Alpha: capital module", "alpha: Capital reason"])
def test_scanner_rejects_strings_that_break_the_convention(tmp_path: Path, bad: str) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "A.vy").write_text(f'@external\ndef f():\n    raise "{bad}"\n')
    with pytest.raises(CatalogueError, match="convention"):
        scan_sources(contracts)
