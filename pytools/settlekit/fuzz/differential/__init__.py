"""The differential fuzz engine: random action sequences run against the compiled contracts in pyrevm and against
the exact Python models at once; every return value, token transfer, event and revert reason must agree, and the
invariants of both sides hold. Failures are shrunk and saved as replayable JSON plus a pytest regression test.

Modules: :mod:`.evm` (pyrevm back end), :mod:`.abi` (calldata and logs), :mod:`.signer` (EIP-712),
:mod:`.settlement` (the settlement world: actions and spec), :mod:`.runner` (one sequence), :mod:`.shrink`
(delta debugging), :mod:`.replay` (files), :mod:`.campaign` (budget and worker pool), :mod:`.report` (types).
"""

from .campaign import run_campaign
from .replay import replay_file
from .report import DiffConfig, DiffFailure, DiffProgress, DiffReport

__all__ = ["DiffConfig", "DiffFailure", "DiffProgress", "DiffReport", "replay_file", "run_campaign"]
