"""The differential fuzz engine: random action sequences run against the compiled contracts in pyrevm and against
the exact Python models at once; every return value, token transfer, event and revert reason must agree, and the
invariants of both sides hold. Failures are shrunk and saved as replayable JSON plus a pytest regression test.

Modules: :mod:`.evm` (pyrevm back end), :mod:`.abi` (calldata and logs), :mod:`.signer` (EIP-712),
:mod:`.api` (what a user writes a world with: :class:`ActionWorld`, :func:`action`, strategies),
:mod:`.registry` (the project's ``[fuzz.worlds]``), :mod:`.settlement` and :mod:`.margin` (settlekit's own two
worlds, declared in this repository's settlekit.toml like any user's), :mod:`.runner` (one sequence), :mod:`.shrink`
(delta debugging), :mod:`.replay` (files), :mod:`.campaign` (budget and worker pool), :mod:`.report` (types).
"""

from .api import (
    ANY,
    ActionWorld,
    Contract,
    Expected,
    Mismatch,
    WorldContext,
    action,
    actors,
    booleans,
    integers,
    sampled,
)
from .campaign import run_campaign
from .registry import declared_worlds, required_worlds, world_class
from .replay import replay_file
from .report import DiffConfig, DiffFailure, DiffProgress, DiffReport

__all__ = [
    "ANY",
    "ActionWorld",
    "Contract",
    "DiffConfig",
    "DiffFailure",
    "DiffProgress",
    "DiffReport",
    "Expected",
    "Mismatch",
    "WorldContext",
    "action",
    "actors",
    "booleans",
    "declared_worlds",
    "integers",
    "replay_file",
    "required_worlds",
    "run_campaign",
    "sampled",
    "world_class",
]
