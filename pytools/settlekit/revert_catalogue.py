"""The catalogue of every revert reason in the project's contracts, read from the sources.

Each ``assert cond, "module: reason"`` and ``raise "module: reason"`` in contracts/ is one entry. The catalogue is
generated, never written by hand: ``settlekit errors catalogue --write`` refreshes the copy shipped in the
package (settlekit/data/revert_reasons.json) and docs/errors.md, and a test fails when either drifts from the
sources.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from settlekit.exceptions import SettlekitError

_LOOKS_LIKE_REASON = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*: \S")
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


def _plain_string(token: tokenize.TokenInfo) -> str | None:
    """The value of a one-line, non-bytes string literal (docstrings are triple-quoted and skipped)."""
    text = token.string
    if text[:1] not in "\"'" or text.startswith(('"""', "'''")):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def _candidates(source: str) -> list[tuple[int, str, bool]]:
    """(line, text, is_revert_position) for every string that is or looks like a revert reason.

    Vyper shares Python's token grammar, so Python's tokenizer splits it reliably: comments and docstrings are
    never mistaken for code. A string is a reason when it follows ``raise``, ends an ``assert`` statement, or
    anywhere else looks like ``"module: reason"`` (reasons handed to a helper that reverts with them).
    """
    tokens = [
        t
        for t in tokenize.generate_tokens(io.StringIO(source).readline)
        if t.type not in (tokenize.NL, tokenize.COMMENT)
    ]
    found: list[tuple[int, str, bool]] = []
    statement_start = 0
    for index, token in enumerate(tokens):
        if token.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            statement_start = index + 1
            continue
        if token.type != tokenize.STRING:
            continue
        value = _plain_string(token)
        if value is None:
            continue
        previous = tokens[index - 1] if index else None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        after_raise = previous is not None and previous.string == "raise"
        ends_assert = (
            tokens[statement_start].string == "assert"
            and previous is not None
            and previous.string == ","
            and (following is None or following.type in (tokenize.NEWLINE, tokenize.ENDMARKER))
        )
        if after_raise or ends_assert or _LOOKS_LIKE_REASON.match(value):
            found.append((token.start[0], value, after_raise or ends_assert))
    return found


def scan_sources(contracts_dir: Path) -> list[RevertReason]:
    """Every revert reason under ``contracts_dir``, sorted by module, reason, file and line."""
    found: list[RevertReason] = []
    problems: list[str] = []
    for path in sorted(contracts_dir.rglob("*.vy")):
        relative = str(path.relative_to(contracts_dir.parent))
        for line, text, _ in _candidates(path.read_text()):
            if not _CONVENTION.match(text):
                problems.append(f"{relative}:{line}: {text!r}")
                continue
            module, _, reason = text.partition(": ")
            found.append(RevertReason(module, reason, relative, line))
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
