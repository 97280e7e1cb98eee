"""Planted bugs (mutants) of the real contracts, and copies of the project with one of them applied.

Each :class:`Mutant` is one small, realistic bug: an exact snippet of one source file and its replacement. The
snippet must occur exactly once in the file, so a mutant either applies where it was meant to or fails loudly
(the contracts change; a stale mutant must never silently mutate something else). :func:`apply_mutant` copies
the parts of a project a forge build and the fuzz engines need (``contracts/``, the forge test folder,
``foundry.toml``) to a new folder and applies the mutant there; the original project is never written to.

The bug-finding benchmark (``bench/mutants.py``) runs both fuzz engines against every mutant and records which
kills it and how fast. ``forge_tests`` names the forge test files expected to kill each mutant (a targeted,
cheap check; the benchmark runs the whole suites). The list and what kills each one: docs/fuzzing.md, "Mutants".
"""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from settlekit.exceptions import SettlekitError

__all__ = [
    "MUTANTS",
    "Mutant",
    "MutantError",
    "apply_mutant",
    "check_mutant",
    "copy_project",
    "get_mutant",
    "mutated_source",
]

SETTLEMENT = "contracts/modules/settlement_series.vy"
MARGIN = "contracts/MarginEngine.vy"
EIP712 = "contracts/modules/eip712.vy"
SAFE_ERC20_FILE = "contracts/modules/safe_token.vy"
NONCES = "contracts/modules/nonces.vy"
OWNABLE = "contracts/modules/ownable.vy"
BREAKER = "contracts/modules/circuit_breaker.vy"
PRICE_GUARD = "contracts/modules/price_guard.vy"

# What a forge build of a copy needs, relative to the project root. Never node_modules, .venv, out or cache.
COPIED_DIRS = ("contracts",)
COPIED_FILES = ("foundry.toml",)
FORGE_TEST_DIR = "tests/forge"
# Support folders of the forge tests, always copied along with the chosen test files.
FORGE_SUPPORT = ("interfaces", "helpers")


class MutantError(SettlekitError):
    """A mutant that does not apply to the current sources, or a copy that cannot be made."""


@dataclass(frozen=True)
class Mutant:
    """One planted bug: replace ``original`` (exactly once in ``file``) with ``replacement``."""

    id: str
    title: str
    file: str
    original: str
    replacement: str
    forge_tests: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "file": self.file,
            "original": self.original,
            "replacement": self.replacement,
            "forge_tests": list(self.forge_tests),
        }


MUTANTS: tuple[Mutant, ...] = (
    # ----------------------------------------------------------------------------------------- settlement
    Mutant(
        id="payout-rounded-up",
        title="a holder's payout is rounded up instead of down",
        file=SETTLEMENT,
        original="payout: uint256 = math._mul_div(unsafe_mul(units, t.max_payout_per_unit), numerator, t.cap, False)",
        replacement="payout: uint256 = math._mul_div(unsafe_mul(units, t.max_payout_per_unit), numerator, t.cap, True)",
        forge_tests=("SettlementAdversarialTest.vy", "SettlementInvariantTest.vy"),
    ),
    Mutant(
        id="rate-per-claim",
        title="the payout rate is read from the feed's latest round at each claim instead of fixed once",
        file=SETTLEMENT,
        original='    assert not self.swept, "settlement_series: swept"\n    return self._rate(t, price)\n',
        replacement=(
            '    assert not self.swept, "settlement_series: swept"\n'
            "    latest: Bytes[ROUND_DATA_SIZE] = raw_call(\n"
            '        t.oracle, method_id("latestRoundData()"), max_outsize=ROUND_DATA_SIZE, is_static_call=True\n'
            "    )\n"
            "    _rid: uint80 = 0\n"
            "    answer: int256 = 0\n"
            "    _started: uint256 = 0\n"
            "    _updated: uint256 = 0\n"
            "    _answered: uint80 = 0\n"
            "    _rid, answer, _started, _updated, _answered = abi_decode(\n"
            "        latest, (uint80, int256, uint256, uint256, uint80)\n"
            "    )\n"
            "    if answer <= 0:\n"
            "        return self._rate(t, price)\n"
            "    return self._rate(t, convert(answer, uint256))\n"
        ),
        forge_tests=("SettlementAdversarialTest.vy",),
    ),
    Mutant(
        id="dust-not-tracked",
        title="a writer's reclaim is booked at its rounded-up share, so the rounding dust drops off the books",
        file=SETTLEMENT,
        original="    self.held = unsafe_sub(self.held, amount)\n",
        replacement=(
            "    self.held = unsafe_sub(\n"
            "        self.held,\n"
            "        math._mul_div(\n"
            "            unsafe_mul(units, t.max_payout_per_unit), unsafe_sub(t.cap, numerator), t.cap, True\n"
            "        ),\n"
            "    )\n"
        ),
        forge_tests=("SettlementAdversarialTest.vy", "SettlementInvariantTest.vy"),
    ),
    Mutant(
        id="nonce-not-consumed",
        title="a relayed claim checks the holder's unordered nonce but never marks it used",
        file=SETTLEMENT,
        original="    nonce_book._use_unordered_nonce(holder, nonce)\n",
        replacement=(
            "    word_index: uint256 = 0\n"
            "    bit: uint256 = 0\n"
            "    word_index, bit = nonce_book._bitmap_position(nonce)\n"
            '    assert nonce_book.nonce_bitmap[holder][word_index] & bit == 0, "nonces: nonce already used"\n'
        ),
        forge_tests=("SettlementSignedTest.vy",),
    ),
    Mutant(
        id="breaker-missing-on-mint",
        title="mint does not check the circuit breaker (new risk allowed at NO_NEW_RISK and above)",
        file=SETTLEMENT,
        original="    circuit_breaker._check_new_risk_allowed()\n    # a series always has an owner once",
        replacement="    # a series always has an owner once",
        forge_tests=("SettlementCircuitBreakerTest.vy",),
    ),
    Mutant(
        id="reclaim-not-cleared",
        title="reclaim does not clear the writer's written units, so a writer can reclaim twice",
        file=SETTLEMENT,
        original='    assert units != 0, "settlement_series: nothing to reclaim"\n    self.written[msg.sender] = 0\n',
        replacement='    assert units != 0, "settlement_series: nothing to reclaim"\n',
        forge_tests=("SettlementTest.vy", "SettlementInvariantTest.vy"),
    ),
    Mutant(
        id="claim-for-skip-drops-units",
        title="claim_for skips a holder the token refuses (a blacklist) but does not give it its units back",
        file=SETTLEMENT,
        original="            self.balanceOf[holder] = units\n",
        replacement="",
        forge_tests=("SettlementLivenessTest.vy",),
    ),
    Mutant(
        id="settle-not-first-round",
        title="settle accepts any usable round at or after expiry, not only the first one",
        file=SETTLEMENT,
        original="    self._check_first_usable(t, round_id)\n",
        replacement="",
        forge_tests=("SettlementTest.vy",),
    ),
    # liveness (issue 14, findings 1-4): each one reintroduces a way to trap or redirect collateral
    Mutant(
        id="claim-period-from-deadline",
        title="the late sweep opens at SWEEP_DEADLINE even if the series settled just now (no claim period)",
        file=SETTLEMENT,
        original="after_deadline: bool = block.timestamp >= self._late_sweep_at(t)",
        replacement="after_deadline: bool = block.timestamp >= t.sweep_deadline",
        forge_tests=("SettlementLivenessTest.vy",),
    ),
    Mutant(
        id="breaker-holds-settle-forever",
        title="settle stays paused at level 2 and 3 forever (the MAX_SETTLEMENT_DELAY lapse is gone)",
        file=SETTLEMENT,
        original=(
            "    if block.timestamp < self._breaker_lapses_at(t):\n"
            "        circuit_breaker._check_price_move_allowed()\n"
            "    self._check_settleable(t)\n    answer"
        ),
        replacement="    circuit_breaker._check_price_move_allowed()\n    self._check_settleable(t)\n    answer",
        forge_tests=("SettlementLivenessTest.vy",),
    ),
    Mutant(
        id="fallback-never-opens",
        title="settle_fallback never opens, so a series without a usable round or report never settles",
        file=SETTLEMENT,
        original='assert block.timestamp >= opens, "settlement_series: fallback not open"',
        replacement='assert block.timestamp >= opens and False, "settlement_series: fallback not open"',
        forge_tests=("SettlementLivenessTest.vy",),
    ),
    Mutant(
        id="transfer-to-series-allowed",
        title="units can be transferred to the series itself, where nobody can ever claim them",
        file=SETTLEMENT,
        original=(
            '    assert receiver != self, "settlement_series: receiver is the series"\n'
            "    balance: uint256 = self.balanceOf[msg.sender]\n"
        ),
        replacement="    balance: uint256 = self.balanceOf[msg.sender]\n",
        forge_tests=("SettlementLivenessTest.vy",),
    ),
    # ----------------------------------------------------------------------------------------- signatures
    Mutant(
        id="domain-separator-stale",
        title="the EIP-712 domain separator is not rebuilt after a chain id change",
        file=EIP712,
        original="if chain.id == _CACHED_CHAIN_ID and self == _CACHED_SELF:",
        replacement="if self == _CACHED_SELF:",
        forge_tests=("Eip712Test.vy",),
    ),
    Mutant(
        id="high-s-accepted",
        title="signatures with a high s (the malleable twin) are accepted",
        file=EIP712,
        original='    assert convert(s, uint256) <= MAX_S, "eip712: invalid signature s"\n',
        replacement='    assert convert(s, uint256) != 0, "eip712: invalid signature s"\n',
        forge_tests=("Eip712Test.vy",),
    ),
    # ----------------------------------------------------------------------------------------- tokens
    Mutant(
        id="no-return-token-rejected",
        title="a token call that succeeds with no return data (USDT style) is treated as a failure",
        file=SAFE_ERC20_FILE,
        original="    if len(data) == 0:\n        return\n    assert len(data) == 32, malformed_reason\n",
        replacement="    assert len(data) == 32, malformed_reason\n",
        forge_tests=("SafeTokenTest.vy",),
    ),
    # ----------------------------------------------------------------------------------------- margin
    Mutant(
        id="withdraw-no-health-check",
        title="withdraw_collateral does not check the health factor",
        file=MARGIN,
        original=(
            "    self._check_healthy(msg.sender, remaining)\n"
            "    safe_token._safe_transfer(COLLATERAL_TOKEN, msg.sender, amount)\n"
        ),
        replacement="    safe_token._safe_transfer(COLLATERAL_TOKEN, msg.sender, amount)\n",
        forge_tests=("MarginEngineTest.vy",),
    ),
    Mutant(
        id="borrow-ltv-uses-threshold",
        title="borrow checks the liquidation threshold instead of the LTV",
        file=MARGIN,
        original='    assert debt * BPS <= value * LTV_BPS, "margin_engine: exceeds ltv"\n',
        replacement='    assert debt * BPS <= value * THRESHOLD_BPS, "margin_engine: exceeds ltv"\n',
        forge_tests=("MarginEngineTest.vy",),
    ),
    Mutant(
        id="breaker-missing-on-borrow",
        title="borrow does not check the circuit breaker (new risk allowed at NO_NEW_RISK and above)",
        file=MARGIN,
        original=(
            "    circuit_breaker._check_new_risk_allowed()\n"
            '    assert amount != 0, "margin_engine: zero amount"\n'
            "    available: uint256 = self.cash\n"
        ),
        replacement='    assert amount != 0, "margin_engine: zero amount"\n    available: uint256 = self.cash\n',
        forge_tests=("MarginCircuitBreakerTest.vy",),
    ),
    Mutant(
        id="close-factor-off-by-one",
        title="the close-factor boundary is off by one: at a health factor of exactly 0.95 only half may be closed",
        file=MARGIN,
        original="math._mul_div(value * THRESHOLD_BPS, WAD, debt * BPS, False) > FULL_CLOSE_HF:",
        replacement="math._mul_div(value * THRESHOLD_BPS, WAD, debt * BPS, False) >= FULL_CLOSE_HF:",
        forge_tests=("MarginLiquidationTest.vy",),
    ),
    Mutant(
        id="fee-rounded-down",
        title="the protocol fee is rounded down (in the liquidator's favour)",
        file=MARGIN,
        original="fee = math._mul_div(unsafe_sub(seized_value, paid_value), FEE_BPS, price * BPS, True)",
        replacement="fee = math._mul_div(unsafe_sub(seized_value, paid_value), FEE_BPS, price * BPS, False)",
        forge_tests=("MarginLiquidationTest.vy",),
    ),
    Mutant(
        id="bonus-applied-twice",
        title="the liquidation bonus is applied twice to the seized collateral",
        file=MARGIN,
        original="seized: uint256 = math._mul_div(repay * BONUS_BPS, PRICE_SCALE, price * BPS, False)",
        replacement=(
            "seized: uint256 = math._mul_div(repay * BONUS_BPS * BONUS_BPS // BPS, PRICE_SCALE, price * BPS, False)"
        ),
        forge_tests=("MarginLiquidationTest.vy",),
    ),
    Mutant(
        id="liquidation-cap-not-enforced",
        title="the liquidation cap ignores what was already liquidated in the block and window",
        file=MARGIN,
        original=(
            "room: uint256 = math._min(unsafe_sub(CAP_PER_BLOCK, block_used), unsafe_sub(CAP_PER_WINDOW, window_used))"
        ),
        replacement="room: uint256 = math._min(CAP_PER_BLOCK, CAP_PER_WINDOW)",
        forge_tests=("MarginLiquidationTest.vy",),
    ),
    Mutant(
        id="bad-debt-left",
        title="collateral runs out but the unpaid debt stays on the empty account (no deficit recorded)",
        file=MARGIN,
        original="bad_debt = debt - repay",
        replacement="new_scaled = scaled - math._mul_div(repay, WAD, index, False)",
        forge_tests=("MarginLiquidationTest.vy",),
    ),
    Mutant(
        id="self-liquidation-allowed",
        title="a borrower may liquidate its own position",
        file=MARGIN,
        original='    assert borrower != msg.sender, "margin_engine: self liquidation"\n',
        replacement="",
        forge_tests=("MarginLiquidationTest.vy",),
    ),
    # ------------------------------------------------------------- blind spots of ISSUE-13 and the views / admin paths
    Mutant(
        id="collect-fees-not-zeroed",
        title="collect_fees sends the fees but does not zero them, so the owner can collect them again",
        file=MARGIN,
        original="    amount: uint256 = self.protocol_fees\n    self.protocol_fees = 0\n",
        replacement="    amount: uint256 = self.protocol_fees\n",
        forge_tests=("MarginLiquidationTest.vy",),
    ),
    Mutant(
        id="claimable-rounded-up",
        title="the claimable() view rounds the holder's payout up (claim pays less than it shows)",
        file=SETTLEMENT,
        original="unsafe_mul(self.balanceOf[holder], t.max_payout_per_unit), self._rate(t, price), t.cap, False)",
        replacement="unsafe_mul(self.balanceOf[holder], t.max_payout_per_unit), self._rate(t, price), t.cap, True)",
        forge_tests=("SettlementTest.vy",),
    ),
    Mutant(
        id="reclaimable-rounded-up",
        title="the reclaimable() view rounds the writer's share up",
        file=SETTLEMENT,
        original="unsafe_sub(t.cap, self._rate(t, price)), t.cap, False",
        replacement="unsafe_sub(t.cap, self._rate(t, price)), t.cap, True",
        forge_tests=("SettlementTest.vy",),
    ),
    Mutant(
        id="payout-rate-unclamped",
        title="payout_rate() reports price - strike without the cap clamp",
        file=SETTLEMENT,
        original="    return self._rate(t, price), t.cap\n",
        replacement="    return (price - t.strike if price > t.strike else 0), t.cap\n",
        forge_tests=("SettlementTest.vy",),
    ),
    Mutant(
        id="nonce-word-bit-swapped",
        title="the unordered-nonce bitmap position swaps word and bit",
        file=NONCES,
        original="    return nonce >> 8, 1 << (nonce & 255)\n",
        replacement="    return nonce & 255, 1 << (nonce >> 8)\n",
        forge_tests=("NoncesTest.vy", "NoncesInvariantTest.vy"),
    ),
    Mutant(
        id="nonce-jump-unbounded",
        title="invalidate_nonces does not bound the jump (a nonce can be pushed out of reach)",
        file=NONCES,
        original='    assert unsafe_sub(new_nonce, old_nonce) <= MAX_NONCE_JUMP, "nonces: excessive invalidation"\n',
        replacement="",
        forge_tests=("NoncesTest.vy",),
    ),
    Mutant(
        id="close-factor-on-collateral-value",
        title="the close factor is applied to the collateral value instead of the debt",
        file=MARGIN,
        original="max_close = math._bps_of(debt, CLOSE_FACTOR_BPS, False)",
        replacement="max_close = math._bps_of(value, CLOSE_FACTOR_BPS, False)",
        forge_tests=("MarginLiquidationTest.vy", "MarginInvariantTest.vy"),
    ),
    # liveness (issue 14, finding 5): a jump's confirmation no longer tied to the value that started it
    Mutant(
        id="price-jump-confirmed-by-another-value",
        title="a pending jump is confirmed by any out-of-bound answer after the window, not only by its own value",
        file=PRICE_GUARD,
        original=(
            "        if since == 0 or self._beyond(price, self.pending_price, CONFIRMATION_BAND_BPS):\n"
            "            # A jump seen for the first time"
        ),
        replacement="        if since == 0:\n            # A jump seen for the first time",
        forge_tests=("MarginLivenessTest.vy",),
    ),
    Mutant(
        id="health-factor-view-rounded-up",
        title="the health_factor() view rounds up (an account at the boundary looks healthy)",
        file=MARGIN,
        original="    return math._mul_div(value * THRESHOLD_BPS, WAD, debt * BPS, False)\n",
        replacement="    return math._mul_div(value * THRESHOLD_BPS, WAD, debt * BPS, True)\n",
        forge_tests=("MarginEngineTest.vy",),
    ),
    Mutant(
        id="guardian-cannot-raise",
        title="only the owner may raise the circuit-breaker level (the guardian is locked out)",
        file=BREAKER,
        original="assert msg.sender == self.guardian or msg.sender == ownable.owner,",
        replacement="assert msg.sender == ownable.owner,",
        forge_tests=("CircuitBreakerTest.vy",),
    ),
    Mutant(
        id="set-guardian-unguarded",
        title="anyone may set the guardian",
        file=BREAKER,
        original="    ownable._check_owner()\n    self._set_guardian(new_guardian)\n",
        replacement="    self._set_guardian(new_guardian)\n",
        forge_tests=("CircuitBreakerTest.vy",),
    ),
    Mutant(
        id="pending-owner-not-cleared",
        title="accepting ownership leaves the pending owner set",
        file=OWNABLE,
        original="    self.pending_owner = empty(address)\n",
        replacement="",
        forge_tests=("OwnableTest.vy",),
    ),
    Mutant(
        id="fee-on-transfer-accepted",
        title="an exact transfer accepts a short delivery (a fee-on-transfer collateral passes the factory's probe)",
        file=SAFE_ERC20_FILE,
        original='    assert unsafe_sub(after, before) == amount, "safe_token: received amount mismatch"\n',
        replacement="",
        forge_tests=("SafeTokenTest.vy",),
    ),
)


def get_mutant(mutant_id: str) -> Mutant:
    """The mutant with this id."""
    for mutant in MUTANTS:
        if mutant.id == mutant_id:
            return mutant
    known = ", ".join(m.id for m in MUTANTS)
    raise MutantError(f"no mutant {mutant_id!r}", hint=f"use one of: {known}")


def mutated_source(source: str, mutant: Mutant) -> str:
    """``source`` with the mutant applied; raises MutantError unless the snippet occurs exactly once."""
    count = source.count(mutant.original)
    if count != 1:
        where = "does not occur" if count == 0 else f"occurs {count} times"
        raise MutantError(
            f"mutant {mutant.id}: its snippet {where} in {mutant.file} (it must occur exactly once)",
            hint="the contract changed since the mutant was written: update its snippet in settlekit.fuzz.mutants",
        )
    return source.replace(mutant.original, mutant.replacement)


def check_mutant(project_root: Path, mutant: Mutant) -> None:
    """Raise MutantError unless the mutant applies to the project's current sources and changes them."""
    path = project_root / mutant.file
    try:
        source = path.read_text()
    except OSError as exc:
        raise MutantError(
            f"mutant {mutant.id}: cannot read {mutant.file}: {exc.strerror}",
            hint="run from the settlekit project root, or update the mutant's file",
        ) from exc
    if mutated_source(source, mutant) == source:
        raise MutantError(f"mutant {mutant.id} does not change {mutant.file}", hint="fix the mutant's replacement")


def copy_project(
    project_root: Path,
    dest: Path,
    *,
    forge_tests: Iterable[str] | None = None,
    seed_build_from: Path | None = None,
) -> Path:
    """Copy what a forge build and the fuzz engines need from ``project_root`` into ``dest`` (a new folder).

    ``forge_tests`` keeps only those files of the forge test folder (plus its support folders); None keeps all.
    ``seed_build_from`` is another copy whose ``out/`` and ``cache/`` are copied too, with their timestamps, so
    forge recompiles only what differs from it.
    """
    if dest.exists() and any(dest.iterdir()):
        raise MutantError(f"{dest} already exists and is not empty", hint="pass a new or empty destination folder")
    if not (project_root / "foundry.toml").is_file():
        raise MutantError(f"{project_root} has no foundry.toml", hint="pass the settlekit project root")
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED_DIRS:
        shutil.copytree(project_root / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in COPIED_FILES:
        shutil.copy2(project_root / name, dest / name)
    _copy_forge_tests(project_root / FORGE_TEST_DIR, dest / FORGE_TEST_DIR, forge_tests)
    _copy_worlds(project_root, dest)
    if seed_build_from is not None:
        for name in ("out", "cache"):
            if (seed_build_from / name).is_dir():
                shutil.copytree(seed_build_from / name, dest / name, symlinks=True)
    return dest


def _copy_worlds(project_root: Path, dest: Path) -> None:
    """settlekit.toml and the folders of the differential worlds it names by file (the world with the models
    beside it), so that the differential engine runs the copy's worlds."""
    config = project_root / "settlekit.toml"
    if not config.is_file():
        return
    shutil.copy2(config, dest / "settlekit.toml")
    try:
        worlds = tomllib.loads(config.read_text()).get("fuzz", {}).get("worlds", {})
    except (OSError, tomllib.TOMLDecodeError):
        return  # the engines report the broken file when they read it
    for entry in worlds.values():
        target = str(entry.get("world", "")) if isinstance(entry, dict) else ""
        location = target.rpartition(":")[0]
        if not location.endswith(".py"):
            continue
        folder = (project_root / location).parent
        copied = dest / folder.relative_to(project_root) if folder.is_relative_to(project_root) else None
        if folder.is_dir() and copied is not None and not copied.exists():
            shutil.copytree(folder, copied, ignore=shutil.ignore_patterns("__pycache__"))


def _copy_forge_tests(source: Path, dest: Path, keep: Iterable[str] | None) -> None:
    if keep is None:
        shutil.copytree(source, dest)
        return
    dest.mkdir(parents=True)
    for name in FORGE_SUPPORT:
        if (source / name).is_dir():
            shutil.copytree(source / name, dest / name)
    wanted = set(keep)
    # Fixtures imported by the chosen tests (`from . import XFixture as fx`) come along.
    for name in sorted(wanted):
        text = (source / name).read_text() if (source / name).is_file() else ""
        for line in text.splitlines():
            if line.startswith("from . import "):
                wanted.add(line.split()[3] + ".vy")
    for name in sorted(wanted):
        if not (source / name).is_file():
            raise MutantError(f"no forge test file {name} in {source}", hint="check the mutant's forge_tests")
        shutil.copy2(source / name, dest / name)


def apply_mutant(
    project_root: Path,
    mutant: Mutant,
    dest: Path,
    *,
    forge_tests: Sequence[str] | None = None,
    seed_build_from: Path | None = None,
) -> Path:
    """Copy the project to ``dest`` (see :func:`copy_project`) and apply ``mutant`` there; return ``dest``.

    The snippet is checked against the original sources first, so nothing is copied for a mutant that does not
    apply. The project itself is only read.
    """
    check_mutant(project_root, mutant)
    copy_project(project_root, dest, forge_tests=forge_tests, seed_build_from=seed_build_from)
    target = dest / mutant.file
    text = mutated_source(target.read_text(), mutant)
    # A fresh modification time, so forge's cache sees the change even if a seeded cache is newer.
    target.write_text(text)
    os.utime(target)
    return dest
