"""Running one sequence: generate (or replay) steps, execute each on both sides, check invariants every K steps."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from settlekit.build import ArtifactStore, build
from settlekit.exceptions import SettlekitError
from settlekit.project import Project

from .registry import WorldContext, world_class
from .world import Mismatch, Step, World, coverage_of

_BUILT: set[Path] = set()


def prepare(project_root: Path) -> None:
    """Build the contracts of the project at ``project_root`` (once per process; forge skips unchanged files)."""
    root = project_root.resolve()
    if root not in _BUILT:
        build(Project(root))
        _BUILT.add(root)


def mark_built(project_root: Path) -> None:
    """Tell this process that another one built ``project_root`` already (pool workers)."""
    _BUILT.add(project_root.resolve())


@cache
def _store(root: Path) -> ArtifactStore:
    return ArtifactStore(Project(root).out_dir)


def artifacts(project_root: Path) -> ArtifactStore:
    """The project's artifacts, built first if this process has not built them yet."""
    prepare(project_root)
    return _store(project_root.resolve())


@cache
def _context(root: Path) -> WorldContext:
    """One context per project and process: its artifacts and the storage layouts computed so far."""
    return WorldContext(root, _store(root))


def make_world(project_root: Path, product: str, variant: int) -> World:
    """A fresh world ``product`` (a name of the project's ``[fuzz.worlds]``) for ``variant``."""
    artifacts(project_root)
    root = project_root.resolve()
    world: World = world_class(root, product)(_context(root), variant)
    return world


def warm_up(project_root: Path, products: tuple[str, ...]) -> None:
    """Load the artifacts and storage layouts and deploy one world of each product, so that a worker's fuzzing
    clock starts after its one-off set-up (a deployment that fails is left for the campaign to report)."""
    for product in products:
        try:
            make_world(project_root, product, 0)
        except SettlekitError:
            raise
        except Exception:  # noqa: S110 - the first sequence reports it as a finding
            pass


@dataclass
class SequenceResult:
    """What one sequence did: the steps run (all of them, or up to and including the failing one)."""

    product: str
    variant: int
    steps: list[Step]
    failure: str | None
    coverage: Counter[str] = field(default_factory=Counter)  # what the world counted (outcomes per action, ...)


def _fresh_world(project_root: Path, product: str, variant: int) -> World:
    """A new world; a deployment the contracts refuse (a mutant's constructor, say) is a mismatch, not a crash."""
    artifacts(project_root)  # build errors propagate: they are not findings
    try:
        return make_world(project_root, product, variant)
    except RuntimeError as error:  # pyrevm: a reverted deployment
        raise Mismatch(f"setup: deployment failed: {str(error)[:300]}") from None


def _internal(error: Exception) -> str:
    """An exception the engine did not expect (a contract returning data the model cannot take, an engine bug):
    reported as a failure with its type, so that a campaign never dies on it."""
    return f"internal error: {type(error).__name__}: {str(error)[:300]}"


def run_steps(
    project_root: Path, product: str, variant: int, steps: list[Step], invariant_every: int = 1
) -> str | None:
    """Replay concrete ``steps`` on a fresh world; the first mismatch message, or None if all agree."""
    try:
        world = _fresh_world(project_root, product, variant)
        for index, step in enumerate(steps, 1):
            world.execute(step)
            if index % invariant_every == 0:
                world.check_invariants()
        world.check_invariants(full=True)
    except Mismatch as mismatch:
        return str(mismatch)
    except SettlekitError:
        raise
    except Exception as error:  # reported as a failure: a campaign never dies on one
        return _internal(error)
    return None


def run_random(
    project_root: Path, product: str, variant: int, rng: random.Random, length: int, invariant_every: int
) -> SequenceResult:
    """Generate and run ``length`` random steps, stopping at the first mismatch."""
    steps: list[Step] = []
    world: World | None = None
    try:
        world = _fresh_world(project_root, product, variant)
        for index in range(1, length + 1):
            step = world.generate(rng)
            steps.append(step)
            world.execute(step)
            if index % invariant_every == 0:
                world.check_invariants()
        world.check_invariants(full=True)
    except Mismatch as mismatch:
        return SequenceResult(product, variant, steps, str(mismatch), coverage_of(world))
    except SettlekitError:
        raise
    except Exception as error:  # reported as a failure: a campaign never dies on one
        return SequenceResult(product, variant, steps, _internal(error), coverage_of(world))
    return SequenceResult(product, variant, steps, None, coverage_of(world))
