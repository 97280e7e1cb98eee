"""The catalogue of every revert reason in the project's contracts, read from the sources.

Each ``assert cond, "module: reason"`` and ``raise "module: reason"`` in contracts/ is one entry. The catalogue is
generated, never written by hand: ``settlekit errors catalogue --write`` refreshes the copy shipped in the
package (settlekit/data/revert_reasons.json) and docs/errors.md, and a test fails when either drifts from the
sources.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from settlekit.exceptions import SettlekitError

_REASON = re.compile(r"""(?:\bassert\b[^#\n]*?,\s*|\braise\s+)(?P<quote>["'])(?P<text>[^"'\n]+)(?P=quote)""")
_CONVENTION = re.compile(r"^[a-z][a-z0-9_]*: [a-z0-9][^A-Z]*$")


@dataclass(frozen=True, order=True)
class RevertReason:
    module: str
    reason: str
    file: str
    line: int

    @property
    def text(self) -> str:
        return f"{self.module}: {self.reason}"


class CatalogueError(SettlekitError):
    """A revert string breaks the ``"module: reason"`` convention."""


def _strip_comment(line: str) -> str:
    quote: str | None = None
    for index, char in enumerate(line):
        if quote is None and char == "#":
            return line[:index]
        if char in "\"'":
            quote = None if quote == char else (char if quote is None else quote)
    return line


def scan_sources(contracts_dir: Path) -> list[RevertReason]:
    """Every revert reason under ``contracts_dir``, sorted by module, reason, file and line."""
    found: list[RevertReason] = []
    problems: list[str] = []
    for path in sorted(contracts_dir.rglob("*.vy")):
        relative = str(path.relative_to(contracts_dir.parent))
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in _REASON.finditer(_strip_comment(line)):
                text = match.group("text")
                if not _CONVENTION.match(text):
                    problems.append(f"{relative}:{number}: {text!r}")
                    continue
                module, _, reason = text.partition(": ")
                found.append(RevertReason(module, reason, relative, number))
    if problems:
        raise CatalogueError(
            'revert strings that break the "module: reason" convention (lower case): ' + "; ".join(problems),
            hint='rename them to "<snake_case module>: <lower-case reason>"',
        )
    return sorted(found)


def unique_texts(reasons: list[RevertReason]) -> list[str]:
    return sorted({reason.text for reason in reasons})


def to_json(reasons: list[RevertReason]) -> str:
    return json.dumps([asdict(reason) for reason in reasons], indent=1) + "\n"


def to_markdown(reasons: list[RevertReason]) -> str:
    lines = [
        "# Revert reasons",
        "",
        "Generated from the contract sources by `settlekit errors catalogue --write`; a test fails when this",
        "file and the sources disagree. `settlekit.errors` decodes each of these into a typed exception",
        "carrying the module and the reason.",
        "",
        "| module | reason | where |",
        "|---|---|---|",
    ]
    lines += [f"| `{r.module}` | {r.reason} | {r.file}:{r.line} |" for r in reasons]
    return "\n".join(lines) + "\n"


def shipped_catalogue() -> list[RevertReason]:
    """The catalogue shipped inside the package (usable without the contract sources)."""
    text = resources.files("settlekit").joinpath("data/revert_reasons.json").read_text()
    return [RevertReason(**item) for item in json.loads(text)]
