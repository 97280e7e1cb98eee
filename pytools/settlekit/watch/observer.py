"""What the follower reports as it works, for whoever wants to watch it (the Prometheus metrics do).

The follower calls these hooks; it knows nothing of who listens. :class:`NullObserver` is the default and does
nothing. A hook must never raise into the follower: implementations catch their own errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from settlekit.watch.follower import StepReport
    from settlekit.watch.store import BlockRow


class WatchObserver(Protocol):
    def on_step(self, report: StepReport, tip: BlockRow | None) -> None:
        """One step ended: ``report`` says what it ingested and retracted, ``tip`` is the store's checkpoint."""

    def on_rpc_error(self, message: str, down_seconds: float) -> None:
        """A step failed on the node (connection, RPC error, inconsistent answer); the node has been failing for
        ``down_seconds``."""

    def on_recovered(self, outage_seconds: float) -> None:
        """A step succeeded after ``outage_seconds`` of failures."""


class NullObserver:
    """Listens to nothing."""

    def on_step(self, report: StepReport, tip: BlockRow | None) -> None:
        return None

    def on_rpc_error(self, message: str, down_seconds: float) -> None:
        return None

    def on_recovered(self, outage_seconds: float) -> None:
        return None
