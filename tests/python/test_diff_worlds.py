"""The differential engine as an API: a user's world, declared in settlekit.toml, fuzzed like settlekit's own.

The project is the one `settlekit init` writes (the example Vault and its world, tests/worlds/vault_world.py); the
tests fuzz it, plant a bug in the user's contract and watch the engine find, shrink and replay it, break the world's
declaration in each way a user could and read the one-line errors, and check what ActionWorld compares.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from settlekit.exceptions import ConfigError, SettlekitError
from settlekit.fuzz.differential import (
    ActionWorld,
    DiffConfig,
    Mismatch,
    action,
    actors,
    declared_worlds,
    integers,
    replay_file,
    run_campaign,
    sampled,
    world_class,
)
from settlekit.fuzz.differential.runner import make_world, run_steps
from settlekit.fuzz.mutants import copy_project
from settlekit.scaffold import init_project

from support import run_cli

pytestmark = pytest.mark.slow
GOOD_CHECK = 'assert shares <= self.shares_of[msg.sender], "vault: insufficient shares"'
BAD_CHECK = 'assert shares <= self.total_shares, "vault: insufficient shares"'  # anyone may burn others' shares


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project from `settlekit init`, built and fuzzed once (1,000 steps) so that later tests start warm."""
    root = init_project(tmp_path_factory.mktemp("user") / "my-protocol").root
    report = run_campaign(DiffConfig(root, 1, 1_000, None, 1, root / "out-diff"))
    assert report.ok, report.failures[0].message
    assert report.worlds == ("vault",)
    assert report.steps == 1_000
    return root


def test_the_init_world_is_declared_and_agrees_with_its_contract(project: Path) -> None:
    assert declared_worlds(project) == {"vault": "tests/worlds/vault_world.py:VaultWorld"}
    report = run_campaign(DiffConfig(project, 7, 3_000, None, 1, project / "out-diff", products=("vault",)))
    assert report.ok, report.failures[0].message
    assert report.steps == 3_000
    assert report.sequences == 15
    # the world does real work: deposits succeed, shares move, and every op is drawn
    world = make_world(project, "vault", 0)
    rng, ops = random.Random(3), set()
    for _ in range(400):
        step = world.generate(rng)
        ops.add(step["op"])
        world.execute(step)
        world.check_invariants()
    assert ops == {"deposit", "withdraw", "breaker"}
    assert world.model.total_shares > 0  # type: ignore[attr-defined]
    coverage = report.to_json()["coverage"]["vault"]  # outcomes per call, counted by ActionWorld.call
    assert coverage["deposit: ok"] > 0
    assert coverage["withdraw: ok"] > 0
    assert coverage["deposit: vault: zero amount"] > 0
    assert coverage["deposit: example_token: insufficient balance"] > 0


def test_a_bug_in_the_users_contract_is_found_shrunk_saved_and_replayed(project: Path, tmp_path: Path) -> None:
    copy = copy_project(project, tmp_path / "mutant", seed_build_from=project)
    assert (copy / "settlekit.toml").is_file()
    assert (copy / "tests" / "worlds" / "vault_model.py").is_file()
    vault = copy / "contracts" / "Vault.vy"
    vault.write_text(vault.read_text().replace(GOOD_CHECK, BAD_CHECK))
    out = copy / ".settlekit" / "fuzz" / "diff"  # where `settlekit fuzz` saves, inside the project
    report = run_campaign(DiffConfig(copy, 1, None, 30.0, 1, out))
    assert not report.ok, "the planted bug survived 30 s of the vault world"
    failure = report.failures[0]
    assert failure.product == "vault"
    assert "model reverts 'vault: insufficient shares'" in failure.message, failure.message
    saved = json.loads(failure.replay_path.read_text()) if failure.replay_path else {}
    ops = [step["op"] for step in saved["steps"]]
    assert ops == ["deposit", "withdraw"], ops  # shrunk: one deposit, then another actor burns its shares
    assert saved["steps"][0]["who"] != saved["steps"][1]["who"]
    assert replay_file(copy, failure.replay_path).failures  # type: ignore[arg-type]
    regression = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(out)],
        cwd=copy,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert regression.returncode == 1, regression.stdout[-2000:]
    assert "1 failed" in regression.stdout
    vault.write_text(vault.read_text().replace(BAD_CHECK, GOOD_CHECK))  # the user fixes the contract
    fixed = run_cli("fuzz", "--replay", str(failure.replay_path), "--json", cwd=copy)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert json.loads(fixed.stdout)["replay"]["still_fails"] is False


def _world_project(tmp_path: Path, world_line: str, files: dict[str, str]) -> Path:
    """A project with no contracts built, a [fuzz.worlds.vault] entry and the given world files."""
    root = tmp_path / "p"
    (root / "contracts").mkdir(parents=True)
    (root / "foundry.toml").write_text('[profile.default]\nsrc = "contracts"\n')
    (root / "settlekit.toml").write_text(f"[fuzz.worlds.vault]\n{world_line}\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _fails_plainly(root: Path, *args: str) -> tuple[str, str]:
    done = run_cli("fuzz", "--engine", "diff", "--profile", "quick", *args, cwd=root)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error: "), done.stderr
    assert lines[-1].startswith("fix: "), done.stderr
    return lines[0], lines[-1]


@pytest.mark.parametrize(
    ("world_line", "files", "error", "fix"),
    [
        ('world = "tests/worlds/missing.py:VaultWorld"', {}, "no file", "create "),
        ('world = "w.py:VaultWorld"', {"w.py": "class Other:\n    pass\n"}, "w.py has no class VaultWorld", "[fuzz"),
        (
            'world = "w.py:VaultWorld"',
            {"w.py": "import math\n\nRATE = 1 / 0\n"},
            "importing it failed: ZeroDivisionError: division by zero (w.py line 3)",
            "[fuzz.worlds.vault]",
        ),
        (
            'world = "w.py:VaultWorld"',
            {"w.py": "class VaultWorld:\n    def generate(self, rng): ...\n"},
            "VaultWorld has no execute, check_invariants",
            "ActionWorld",
        ),
        ('world = "no_such_pkg.worlds:VaultWorld"', {}, "no module 'no_such_pkg'", "[fuzz.worlds.vault]"),
        ('world = "w.py"', {}, 'fuzz.worlds.vault.world: expected "path/to/file.py:ClassName"', "differential"),
    ],
)
def test_a_broken_world_declaration_is_one_error_and_one_fix(
    tmp_path: Path, world_line: str, files: dict[str, str], error: str, fix: str
) -> None:
    root = _world_project(tmp_path, world_line, files)
    first, last = _fails_plainly(root)
    assert error in first, first
    assert fix in last, last


def test_unknown_and_missing_worlds_are_refused_before_any_campaign(tmp_path: Path, project: Path) -> None:
    first, last = _fails_plainly(project, "--world", "lending")
    assert first == "error: no differential world 'lending' in settlekit.toml"
    assert last == "fix: declared worlds: vault"
    bare = tmp_path / "bare"
    (bare / "contracts").mkdir(parents=True)
    (bare / "foundry.toml").write_text('[profile.default]\nsrc = "contracts"\n')
    first, last = _fails_plainly(bare)
    assert first.endswith("settlekit.toml declares no differential worlds")
    assert "[fuzz.worlds.NAME]" in last
    assert "--engine forge" in last
    with pytest.raises(SettlekitError, match="declares no differential worlds"):
        run_campaign(DiffConfig(bare, 1, 10, None, 1, tmp_path / "o"))
    with pytest.raises(SettlekitError, match="no differential world 'lending'"):
        run_campaign(DiffConfig(project, 1, 10, None, 1, tmp_path / "o", products=("lending",)))
    (bare / "settlekit.toml").write_text('[fuzz.worlds."Bad Name"]\nworld = "w.py:W"\n')
    with pytest.raises(ConfigError, match="world name"):
        declared_worlds(bare)


def test_engine_all_on_a_project_without_worlds_runs_forge_alone(project: Path, tmp_path: Path) -> None:
    copy = copy_project(project, tmp_path / "noworlds", seed_build_from=project)
    config = copy / "settlekit.toml"
    config.write_text(config.read_text().split("# Differential fuzz worlds")[0])
    done = run_cli("fuzz", "--profile", "quick", "--json", cwd=copy)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert list(summary["engines"]) == ["forge"]
    assert summary["not_run"] == {"diff": "settlekit.toml declares no [fuzz.worlds] (docs/differential-worlds.md)"}
    text = run_cli("fuzz", "--profile", "quick", "--engine", "diff", cwd=project)
    assert text.returncode == 0, text.stderr[-2000:]
    assert "differential (vault): ok · 2,000 steps" in text.stdout
    assert "coverage (vault): " in text.stdout  # calls ok and reverted, distinct reasons, actions never ok


class _Counter:
    """A model of nothing much: a counter the world's one action adds to."""

    def __init__(self) -> None:
        self.value = 0


def _vault_world(project: Path) -> type[ActionWorld]:
    cls: type[ActionWorld] = world_class(project.resolve(), "vault")
    return cls


def test_action_world_compares_outcome_reason_return_events_and_state(project: Path) -> None:
    vault_world = _vault_world(project)
    world = make_world(project, "vault", 0)
    world.execute({"op": "deposit", "who": 0, "assets": 1_000})
    world.check_invariants(full=True)
    # the model expecting a different return value
    world.model.total_shares += 1_000  # type: ignore[attr-defined]
    returned = r"step 2: vault.deposit\(5\) from 0x[0-9a-f]{40}: return value: model \(10,\), contract \(5,\)"
    with pytest.raises(Mismatch, match=returned):
        world.execute({"op": "deposit", "who": 1, "assets": 5})

    class WrongReason(vault_world):  # type: ignore[misc, valid-type]
        def deposit(self, who: int, assets: int) -> None:
            self.call(
                self.vault, "deposit", assets, sender=self.account(who), model=lambda: self.model.withdraw("x", 0)
            )

    wrong = WrongReason(world.context, 0)  # type: ignore[attr-defined]
    message = "model reverts 'vault: zero amount', contract succeeded"
    with pytest.raises(Mismatch, match=message):
        wrong.execute({"op": "deposit", "who": 0, "assets": 10})

    class WrongEvents(vault_world):  # type: ignore[misc, valid-type]
        def deposit(self, who: int, assets: int) -> None:
            sender = self.account(who)
            self.call(
                self.vault,
                "deposit",
                assets,
                sender=sender,
                model=lambda: self.model.deposit(sender, assets),
                events=[("vault", "Deposited", (sender, assets, assets))],  # the token's Transfer left out
            )

    with pytest.raises(Mismatch, match=r"events: model \[\('vault', 'Deposited'"):
        WrongEvents(world.context, 0).execute({"op": "deposit", "who": 0, "assets": 10})  # type: ignore[attr-defined]

    fresh = make_world(project, "vault", 0)
    fresh.execute({"op": "deposit", "who": 0, "assets": 10})
    fresh.model.shares_of[fresh.account(0)] += 1  # type: ignore[attr-defined]
    with pytest.raises(Mismatch, match="after step 1: invariant: shares do not add up to total_shares"):
        fresh.check_invariants()
    fresh.model.shares_of[fresh.account(0)] -= 1  # type: ignore[attr-defined]
    fresh.model.level = 2  # type: ignore[attr-defined]
    with pytest.raises(Mismatch, match="after step 1: level: contract 0, model 2"):
        fresh.check_invariants()
    with pytest.raises(Mismatch, match="has no action 'borrow'"):
        fresh.execute({"op": "borrow", "who": 0})
    assert run_steps(project, "vault", 0, [{"op": "deposit", "who": 0, "assets": 0}]) is None


def test_strategies_and_declarations_refuse_what_cannot_work(project: Path) -> None:
    with pytest.raises(ValueError, match="low is above high"):
        integers(5, 4)
    with pytest.raises(ValueError, match="no values"):
        sampled([])
    with pytest.raises(ValueError, match="weight must be at least 1"):
        action(weight=0)

    class Empty(ActionWorld):
        def setup(self) -> None:
            pass

    with pytest.raises(TypeError, match="Empty declares no @action methods"):
        Empty(make_world(project, "vault", 0).context, 0)  # type: ignore[attr-defined]

    class Tiny(ActionWorld):
        actor_count = 2
        variants = 3

        def setup(self) -> None:
            self.counter = _Counter()

        @action(weight=3, who=actors(), amount=integers(0, 9, edges=lambda world: [world.counter.value + 100]))
        def add(self, who: int, amount: int) -> None:
            assert who in (0, 1)
            self.counter.value += amount

    tiny = Tiny(make_world(project, "vault", 0).context, 7)  # type: ignore[attr-defined]
    assert tiny.variant == 1
    assert len(tiny.accounts) == 2
    rng = random.Random(0)
    amounts = []
    for _ in range(200):
        step = tiny.generate(rng)
        amounts.append(step["amount"])
        tiny.execute(step)
    tiny.cover("a label of the world's own")
    assert tiny.coverage["a label of the world's own"] == 1
    assert any(a >= 100 for a in amounts)
    assert any(a < 10 for a in amounts)
    shutil.rmtree(project / "out-diff", ignore_errors=True)
