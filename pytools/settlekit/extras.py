"""Optional parts of settlekit, installed as extras: importing one that is missing raises an error naming it.

- ``settlekit[fuzz]``: pyrevm, the in-process EVM of the differential fuzzer;
- ``settlekit[postgres]``: psycopg, the PostgreSQL driver of the watch store;
- ``settlekit[tester]``: eth-tester (py-evm), the in-process chain of the pytest plugin's ``tester_w3`` fixture.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from settlekit.exceptions import SettlekitError

EXTRAS: dict[str, str] = {"pyrevm": "fuzz", "psycopg": "postgres", "eth_tester": "tester"}
"""Top-level module name -> the extra that installs it."""


class MissingExtraError(SettlekitError):
    """An optional dependency is not installed; the hint names the extra that installs it."""

    def __init__(self, module: str, needed_for: str) -> None:
        extra = EXTRAS[module]
        super().__init__(
            f"{needed_for} needs the optional package {module!r}, which is not installed",
            hint=f"pip install 'settlekit[{extra}]'",
        )
        self.module = module
        self.extra = extra


def require(module: str, needed_for: str) -> ModuleType:
    """Import ``module`` (a key of :data:`EXTRAS`), or raise :class:`MissingExtraError`."""
    try:
        return importlib.import_module(module)
    except ImportError as missing:
        if missing.name is not None and missing.name.split(".")[0] != module:
            raise
        raise MissingExtraError(module, needed_for) from None
