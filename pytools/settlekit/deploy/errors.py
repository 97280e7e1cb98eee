"""The typed errors of a deployment: each says what happened and the command (or edit) that continues."""

from __future__ import annotations

from settlekit.exceptions import SettlekitError


class ResumeRefusedError(SettlekitError):
    """A journal exists but cannot be continued safely (other chain, other plan, other deployer, or no --resume)."""


class PlanChangedError(ResumeRefusedError):
    """A step that was already sent (or used) changed in the plan, or was removed from it."""


class NonceConflictError(SettlekitError):
    """A journaled transaction's nonce was used by another transaction and the step cannot be re-signed safely."""


class StepReorgedOutError(SettlekitError):
    """A step's receipt vanished (a reorg, or another chain behind the same URL) and its bytes could not be
    re-sent now."""


class ForeignTransactionError(SettlekitError):
    """A transaction that is not in the journal holds the deployer's next nonce."""


class OutcomeUnknownError(SettlekitError):
    """A transaction was handed to the node but the answer was lost: it may or may not be on its way."""


class DeployTimeoutError(SettlekitError):
    """A step's transaction got no receipt (or no confirmations) in time; the journal holds its bytes."""


class DeployInterruptedError(SettlekitError):
    """The deploy was interrupted (Ctrl-C); the journal is consistent and the run can be resumed."""

    exit_code = 130
