"""`settlekit fuzz --mutants FILE`: users plant their own mutants from a TOML or JSON file (issue 13, section 2).

The bad-file cases run the real CLI and check its two-line answer (error: naming the entry and the key, fix:) and
the exit status; nothing is copied or built for them. The kill test runs the whole command, real forge included,
on a small copy of the project (the SafeToken suite and what it compiles) with a mutant written by the test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from settlekit.fuzz.mutant_file import MutantFileError, load_mutants
from settlekit.fuzz.mutants import FORGE_SUPPORT, FORGE_TEST_DIR, get_mutant
from settlekit.project import Project
from settlekit.toolchain import find_tool

from support import REPO, cli_env, run_cli

NO_RETURN = get_mutant("no-return-token-rejected")
SAFE_TOKEN = "contracts/modules/safe_token.vy"


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid TOML basic string


def _write_toml(path: Path, entries: list[dict[str, object]]) -> Path:
    lines: list[str] = []
    for entry in entries:
        lines.append("[[mutants]]")
        for key, value in entry.items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": "mine",
        "file": NO_RETURN.file,
        "original": NO_RETURN.original,
        "replacement": NO_RETURN.replacement,
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not None}


def test_a_good_file_loads_in_toml_and_json(tmp_path: Path) -> None:
    toml = _write_toml(tmp_path / "m.toml", [_entry(title="my bug", forge_tests=["SafeTokenTest.vy"])])
    (mutant,) = load_mutants(REPO, toml)
    assert (mutant.id, mutant.title, mutant.file, mutant.forge_tests) == (
        "mine",
        "my bug",
        SAFE_TOKEN,
        ("SafeTokenTest.vy",),
    )
    assert (mutant.original, mutant.replacement) == (NO_RETURN.original, NO_RETURN.replacement)
    as_json = tmp_path / "m.json"
    as_json.write_text(json.dumps({"mutants": [_entry()]}))
    (same,) = load_mutants(REPO, as_json)
    assert same.title == "mine"  # the id when no title is given
    assert same.original == mutant.original


DUPLICATED = "    return True\n"  # occurs more than once in safe_token.vy


@pytest.mark.parametrize(
    ("entries", "error", "fix"),
    [
        (
            [_entry(original=None)],
            "mutant #1 ('mine'): missing key 'original'",
            'fix: add original = "..." to that entry',
        ),
        (
            [_entry(), _entry(id="second", replacement=None)],
            "mutant #2 ('second'): missing key 'replacement'",
            "fix: add replacement",
        ),
        ([{"file": SAFE_TOKEN}], "mutant #1: missing key 'id'", "fix: add id"),
        (
            [_entry(original="    this line is not in the file\n")],
            "mutant #1 ('mine'): key 'original': the snippet is not found in contracts/modules/safe_token.vy",
            "fix: copy the line exactly",
        ),
        (
            [_entry(original=DUPLICATED)],
            "mutant #1 ('mine'): key 'original': the snippet is found",
            "add a neighbouring line",
        ),
        (
            [_entry(file="contracts/modules/no_such_module.vy")],
            "mutant #1 ('mine'): key 'file': no file contracts/modules/no_such_module.vy",
            "fix: give the path of an existing source",
        ),
        (
            [_entry(file="../outside.vy")],
            "mutant #1 ('mine'): key 'file': ../outside.vy is outside the project",
            "fix: give the path relative to the project root",
        ),
        (
            [_entry(file="pyproject.toml", original="[project]")],
            "key 'file': pyproject.toml is not a source the benchmark copies",
            "fix: plant mutants in files under contracts, tests/forge/",
        ),
        ([_entry(orignal="x")], "mutant #1 ('mine'): unknown key 'orignal'", "check the spelling"),
        ([_entry(), _entry()], "mutant #2 ('mine'): key 'id' repeats an earlier mutant", "fix: make every id unique"),
        (
            [_entry(replacement=NO_RETURN.original)],
            "key 'replacement' equals 'original'",
            "fix: write the buggy version",
        ),
        (
            [_entry(forge_tests=["NoSuchTest.vy"])],
            "key 'forge_tests': no forge test file NoSuchTest.vy",
            "fix: name files that exist",
        ),
        ([_entry(original=5)], "mutant #1 ('mine'): key 'original' is a int, not a string", "fix: make original"),
    ],
)
def test_a_bad_entry_is_named_with_its_key_in_one_error_and_one_fix_line(
    tmp_path: Path, entries: list[dict[str, object]], error: str, fix: str
) -> None:
    path = _write_toml(tmp_path / "mutants.toml", entries)
    completed = run_cli("fuzz", "--mutants", str(path), "--json", cwd=REPO)
    assert completed.returncode != 0
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 2, completed.stderr
    assert lines[0].startswith(f"error: {path}: "), lines
    assert error in lines[0], lines
    assert lines[1].startswith("fix: "), lines
    assert fix in lines[1], lines
    assert "Traceback" not in completed.stderr
    assert not (REPO / ".settlekit" / "mutants").exists()


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("broken.toml", "[[mutants]\nid = 1", "is not valid TOML"),
        ("broken.json", '{"mutants": [', "is not valid JSON"),
        ("empty.json", '{"mutants": []}', "has no list of mutants"),
        ("mutants.yaml", "mutants: []", "unknown mutants file type '.yaml'"),
        ("list.json", '["not a table"]', "mutant #1 is not a table of keys"),
    ],
)
def test_an_unreadable_file_is_refused(tmp_path: Path, name: str, text: str, error: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(MutantFileError, match=error.replace("[", r"\[").replace(".", r"\.")):
        load_mutants(REPO, path)


def test_a_missing_file_and_a_bad_engine_are_usage_errors(tmp_path: Path) -> None:
    completed = run_cli("fuzz", "--mutants", str(tmp_path / "nope.toml"), "--json", cwd=REPO)
    assert completed.returncode == 2
    assert completed.stderr.splitlines()[0] == f"error: --mutants {tmp_path / 'nope.toml'}: no such file"
    assert completed.stderr.splitlines()[1].startswith("fix: pass a TOML or JSON mutants file")
    good = _write_toml(tmp_path / "m.toml", [_entry()])
    completed = run_cli("fuzz", "--mutants", str(good), "--engines", "forge,fast", "--json", cwd=REPO)
    assert completed.returncode != 0
    assert completed.stderr.splitlines() == [
        "error: unknown engine(s): fast",
        "fix: choose among: readme, forge, diff (comma-separated)",
    ]


# What the SafeToken suite compiles: the copy keeps only these (and the modules), so each build is small.
SAFE_TOKEN_CONTRACTS = {"SafeTokenHarness.vy", "MockERC20.vy", "NoReturnToken.vy", "FalseReturnToken.vy"}
SAFE_TOKEN_CONTRACTS |= {"FeeOnTransferToken.vy"}


def _small_project(dest: Path) -> Path:
    """A copy of the project holding the SafeToken suite and the contracts it deploys."""
    (dest / "contracts" / "mocks").mkdir(parents=True)
    shutil.copytree(REPO / "contracts" / "modules", dest / "contracts" / "modules")
    for name in SAFE_TOKEN_CONTRACTS:
        shutil.copy2(REPO / "contracts" / "mocks" / name, dest / "contracts" / "mocks" / name)
    shutil.copy2(REPO / "foundry.toml", dest / "foundry.toml")
    tests = dest / FORGE_TEST_DIR
    tests.mkdir(parents=True)
    for name in FORGE_SUPPORT:
        if (REPO / FORGE_TEST_DIR / name).is_dir():
            shutil.copytree(REPO / FORGE_TEST_DIR / name, tests / name)
    shutil.copy2(REPO / FORGE_TEST_DIR / "SafeTokenTest.vy", tests / "SafeTokenTest.vy")
    return dest


@pytest.mark.slow
def test_a_user_mutant_file_kills_a_planted_bug_on_a_copy_of_the_project(tmp_path: Path) -> None:
    project = _small_project(tmp_path / "project")
    before = (project / SAFE_TOKEN).read_text()
    path = _write_toml(
        tmp_path / "mine.toml",
        [_entry(id="no-return-refused", title="a token that returns nothing is refused")],
    )
    # the copy has no node_modules of its own: the project's real forge binary (never npm's wrapper)
    forge = str(find_tool("forge", Project(REPO)).path)
    env = cli_env(SETTLEKIT_PROJECT=str(project), SETTLEKIT_FORGE=forge)
    completed = run_cli(
        "fuzz", "--mutants", str(path), "--engines", "readme", "--readme-cap", "600", "--json",
        env=env, cwd=tmp_path, timeout=900,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    data = json.loads(completed.stdout)
    assert data["engines"] == ["readme"]
    assert data["false_alarm"] is False
    assert data["control"]["readme"]["killed"] is False  # the unmutated copy passes the suite
    (row,) = data["mutants"]
    assert row["id"] == "no-return-refused"
    assert row["title"] == "a token that returns nothing is refused"
    assert row["readme"]["killed"] is True
    assert row["readme"]["detail"].startswith("SafeTokenTest.test_"), row["readme"]
    assert "no_return_token" in row["readme"]["detail"], row["readme"]
    assert row["forge"] is None  # not chosen
    assert row["diff"] is None
    assert data["summary"]["readme_killed"] == 1
    assert data["summary"]["survivors"] == []
    assert (project / SAFE_TOKEN).read_text() == before  # the project itself is only read
