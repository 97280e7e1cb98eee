"""The clones' implementation cannot be destroyed or made to run foreign code (audit of the clone shape).

Every clone DELEGATECALLs one SettlementSeriesClone. If that implementation could SELFDESTRUCT (or DELEGATECALL /
CALLCODE into code someone else chooses, which could self-destruct in its context), every clone would turn into a
proxy of an empty account: calls would succeed, do nothing, and the collateral would be stuck for good. The
compiled runtime of the implementation (and, for completeness, of the full series and the factory) is checked
here for those operations in Vyper's IR, where, unlike in a disassembly of the bytecode, data bytes cannot pass
for opcodes. On Cancun and later (EIP-6780) SELFDESTRUCT only deletes a contract within its creation transaction
anyway; this check is what makes the guarantee hold on any chain.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO

FORBIDDEN = ("selfdestruct", "delegatecall", "callcode", "create", "create2")


def _vyper() -> str:
    candidate = Path(sys.executable).parent / "vyper"
    found = str(candidate) if candidate.exists() else shutil.which("vyper")
    assert found, "vyper is not installed next to this Python nor on PATH"
    return found


def _runtime_ir(contract: str) -> str:
    result = subprocess.run(
        [_vyper(), "-f", "ir_runtime", f"contracts/{contract}.vy"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def _operations(ir: str) -> set[str]:
    return set(re.findall(r"\[([a-z0-9_]+),", ir))


def test_ir_scan_sees_calls() -> None:
    # the scan is not vacuous: the implementation's token and oracle calls are found
    ops = _operations(_runtime_ir("SettlementSeriesClone"))
    assert {"call", "staticcall", "extcodecopy", "tload", "tstore"} <= ops


@pytest.mark.parametrize("contract", ["SettlementSeriesClone", "SettlementSeries"])
def test_series_runtime_has_no_selfdestruct_delegatecall_or_create(contract: str) -> None:
    ops = _operations(_runtime_ir(contract))
    assert ops.isdisjoint(FORBIDDEN), sorted(ops & set(FORBIDDEN))


def test_factory_creates_but_never_delegates_or_self_destructs() -> None:
    ops = _operations(_runtime_ir("SeriesFactory"))
    assert "create" in ops  # raw_create and create_from_blueprint
    assert ops.isdisjoint({"selfdestruct", "delegatecall", "callcode", "create2"})


def test_clone_reads_terms_from_the_executing_address_not_its_own_code() -> None:
    # `self.code` would compile to CODECOPY, which under DELEGATECALL copies the implementation's code; the terms
    # must be read with EXTCODECOPY of ADDRESS (the proxy), after checking the proxy is long enough
    ir = _runtime_ir("SettlementSeriesClone")
    read = re.search(r"\[extcodecopy, (\S+), \d+, 45 <45>, 320 <320>\]", ir)
    assert read, "no 320-byte EXTCODECOPY at offset 45"
    assert re.search(r"\[mstore, \d+ <proxy>, address <self>\]", ir)
    assert re.search(r"\[assert, \[iszero, \[le, \[extcodesize, _extcode_address\], 364\]\]\]", ir)
