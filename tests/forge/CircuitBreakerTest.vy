# pragma version ~=0.4.3
"""
@title CircuitBreakerTest
@notice Unit tests of the circuit_breaker module through SafetyHarness: every cell of the
        (entry point x level) table of docs/circuit-breaker.md, who may raise and lower, every
        revert reason and the events.
"""


from .interfaces import IVm
from ...contracts.mocks import SafetyHarness


VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
STRANGER: constant(address) = 0x0000000000000000000000000000000000000B0b
GUARDIAN: constant(address) = 0x0000000000000000000000000000000006a4D1a4
NEW_GUARDIAN: constant(address) = 0x00000000000000000000000000000000057a4cE4
REASON: constant(bytes32) = keccak256("oracle deviation")

LIVE: constant(uint256) = 0
NO_NEW_RISK: constant(uint256) = 1
NO_LIQUIDATION: constant(uint256) = 2
HALTED: constant(uint256) = 3


event CircuitBreakerLevelChanged:
    old_level: uint256
    new_level: uint256
    caller: indexed(address)
    reason: bytes32


event GuardianSet:
    previous_guardian: indexed(address)
    new_guardian: indexed(address)


harness: SafetyHarness.__interface__


@external
def setUp():
    """
    @notice Deploys a fresh harness owned by this test contract, with GUARDIAN as guardian, and
            opens one position for ALICE so that exits have something to close.
    """
    self.harness = SafetyHarness.__interface__(self._deploy_harness(GUARDIAN))
    extcall VM.prank(ALICE)
    extcall self.harness.open_position()


# ---------------------------------------------------------------------------------------------
# The table: open_position (new risk)
# ---------------------------------------------------------------------------------------------


@external
def test_table_open_position_level_0_allowed():
    """
    @notice open_position at LIVE: allowed.
    """
    extcall VM.prank(ALICE)
    extcall self.harness.open_position()
    assert staticcall self.harness.positions(ALICE) == 2


@external
def test_table_open_position_level_1_paused():
    """
    @notice open_position at NO_NEW_RISK: reverts "circuit_breaker: new risk paused".
    """
    self._raise_to(NO_NEW_RISK)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"circuit_breaker: new risk paused")
    extcall self.harness.open_position()


@external
def test_table_open_position_level_2_paused():
    """
    @notice open_position at NO_LIQUIDATION: reverts "circuit_breaker: new risk paused".
    """
    self._raise_to(NO_LIQUIDATION)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"circuit_breaker: new risk paused")
    extcall self.harness.open_position()


@external
def test_table_open_position_level_3_paused():
    """
    @notice open_position at HALTED: reverts "circuit_breaker: new risk paused".
    """
    self._raise_to(HALTED)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"circuit_breaker: new risk paused")
    extcall self.harness.open_position()


# ---------------------------------------------------------------------------------------------
# The table: start_liquidation (liquidation start)
# ---------------------------------------------------------------------------------------------


@external
def test_table_start_liquidation_level_0_allowed():
    """
    @notice start_liquidation at LIVE: allowed.
    """
    extcall self.harness.start_liquidation()
    assert staticcall self.harness.liquidations_started() == 1


@external
def test_table_start_liquidation_level_1_allowed():
    """
    @notice start_liquidation at NO_NEW_RISK: allowed.
    """
    self._raise_to(NO_NEW_RISK)
    extcall self.harness.start_liquidation()
    assert staticcall self.harness.liquidations_started() == 1


@external
def test_table_start_liquidation_level_2_paused():
    """
    @notice start_liquidation at NO_LIQUIDATION: reverts "circuit_breaker: liquidations paused".
    """
    self._raise_to(NO_LIQUIDATION)
    extcall VM.expectRevert(b"circuit_breaker: liquidations paused")
    extcall self.harness.start_liquidation()


@external
def test_table_start_liquidation_level_3_paused():
    """
    @notice start_liquidation at HALTED: reverts "circuit_breaker: liquidations paused".
    """
    self._raise_to(HALTED)
    extcall VM.expectRevert(b"circuit_breaker: liquidations paused")
    extcall self.harness.start_liquidation()


# ---------------------------------------------------------------------------------------------
# The table: move_price (price-moving settlement step)
# ---------------------------------------------------------------------------------------------


@external
def test_table_move_price_level_0_allowed():
    """
    @notice move_price at LIVE: allowed.
    """
    extcall self.harness.move_price(1_000)
    assert staticcall self.harness.price() == 1_000


@external
def test_table_move_price_level_1_allowed():
    """
    @notice move_price at NO_NEW_RISK: allowed.
    """
    self._raise_to(NO_NEW_RISK)
    extcall self.harness.move_price(1_000)
    assert staticcall self.harness.price() == 1_000


@external
def test_table_move_price_level_2_paused():
    """
    @notice move_price at NO_LIQUIDATION: reverts "circuit_breaker: price moves paused".
    """
    self._raise_to(NO_LIQUIDATION)
    extcall VM.expectRevert(b"circuit_breaker: price moves paused")
    extcall self.harness.move_price(1_000)


@external
def test_table_move_price_level_3_paused():
    """
    @notice move_price at HALTED: reverts "circuit_breaker: price moves paused".
    """
    self._raise_to(HALTED)
    extcall VM.expectRevert(b"circuit_breaker: price moves paused")
    extcall self.harness.move_price(1_000)


# ---------------------------------------------------------------------------------------------
# The table: exit_position (exit: claim or healthy withdrawal; never blocked)
# ---------------------------------------------------------------------------------------------


@external
def test_table_exit_position_level_0_allowed():
    """
    @notice exit_position at LIVE: allowed.
    """
    extcall VM.prank(ALICE)
    extcall self.harness.exit_position()
    assert staticcall self.harness.positions(ALICE) == 0


@external
def test_table_exit_position_level_1_allowed():
    """
    @notice exit_position at NO_NEW_RISK: allowed.
    """
    self._raise_to(NO_NEW_RISK)
    extcall VM.prank(ALICE)
    extcall self.harness.exit_position()
    assert staticcall self.harness.positions(ALICE) == 0


@external
def test_table_exit_position_level_2_allowed():
    """
    @notice exit_position at NO_LIQUIDATION: allowed.
    """
    self._raise_to(NO_LIQUIDATION)
    extcall VM.prank(ALICE)
    extcall self.harness.exit_position()
    assert staticcall self.harness.positions(ALICE) == 0


@external
def test_table_exit_position_level_3_allowed():
    """
    @notice exit_position at HALTED: still allowed; exits are never blocked.
    """
    self._raise_to(HALTED)
    extcall VM.prank(ALICE)
    extcall self.harness.exit_position()
    assert staticcall self.harness.positions(ALICE) == 0


# ---------------------------------------------------------------------------------------------
# The table: move_position (ordinary operation: neither new risk nor an exit)
# ---------------------------------------------------------------------------------------------


@external
def test_table_move_position_level_0_allowed():
    """
    @notice move_position at LIVE: allowed.
    """
    extcall VM.prank(ALICE)
    extcall self.harness.move_position(STRANGER)
    assert staticcall self.harness.positions(STRANGER) == 1


@external
def test_table_move_position_level_1_allowed():
    """
    @notice move_position at NO_NEW_RISK: allowed.
    """
    self._raise_to(NO_NEW_RISK)
    extcall VM.prank(ALICE)
    extcall self.harness.move_position(STRANGER)
    assert staticcall self.harness.positions(STRANGER) == 1


@external
def test_table_move_position_level_2_allowed():
    """
    @notice move_position at NO_LIQUIDATION: allowed.
    """
    self._raise_to(NO_LIQUIDATION)
    extcall VM.prank(ALICE)
    extcall self.harness.move_position(STRANGER)
    assert staticcall self.harness.positions(STRANGER) == 1


@external
def test_table_move_position_level_3_halted():
    """
    @notice move_position at HALTED: reverts "circuit_breaker: halted".
    """
    self._raise_to(HALTED)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"circuit_breaker: halted")
    extcall self.harness.move_position(STRANGER)


@external
def test_move_position_without_position_reverts():
    """
    @notice The example ordinary operation needs an open position: "safety_harness: no position".
    """
    extcall VM.prank(STRANGER)
    extcall VM.expectRevert(b"safety_harness: no position")
    extcall self.harness.move_position(ALICE)


@external
def test_exit_position_without_position_reverts():
    """
    @notice The example exit needs an open position: "safety_harness: no position".
    """
    extcall VM.prank(STRANGER)
    extcall VM.expectRevert(b"safety_harness: no position")
    extcall self.harness.exit_position()


# ---------------------------------------------------------------------------------------------
# The table: views
# ---------------------------------------------------------------------------------------------


@external
def test_table_views_level_0_allowed():
    """
    @notice Every view answers at LIVE.
    """
    self._read_views(LIVE)


@external
def test_table_views_level_1_allowed():
    """
    @notice Every view answers at NO_NEW_RISK.
    """
    self._raise_to(NO_NEW_RISK)
    self._read_views(NO_NEW_RISK)


@external
def test_table_views_level_2_allowed():
    """
    @notice Every view answers at NO_LIQUIDATION.
    """
    self._raise_to(NO_LIQUIDATION)
    self._read_views(NO_LIQUIDATION)


@external
def test_table_views_level_3_allowed():
    """
    @notice Every view answers at HALTED.
    """
    self._raise_to(HALTED)
    self._read_views(HALTED)


@external
def test_table_cancellations_allowed_at_every_level():
    """
    @notice Nonce cancellations (invalidate_nonces, invalidate_unordered_nonces) only remove
            risk and work at every level, HALTED included.
    """
    for current: uint256 in range(4):
        if current != LIVE:
            self._raise_to(current)
        extcall VM.prank(ALICE)
        extcall self.harness.invalidate_nonces(current + 1)
        extcall VM.prank(ALICE)
        extcall self.harness.invalidate_unordered_nonces(current, 1)
        assert staticcall self.harness.nonces(ALICE) == current + 1
        assert staticcall self.harness.is_nonce_used(ALICE, current << 8)


@external
def test_table_admin_allowed_when_halted():
    """
    @notice Administration is never blocked: at HALTED the owner still sets the guardian and hands
            over ownership, and the new owner lowers the level.
    """
    self._raise_to(HALTED)
    extcall self.harness.set_guardian(NEW_GUARDIAN)
    extcall self.harness.transfer_ownership(ALICE)
    extcall VM.prank(ALICE)
    extcall self.harness.accept_ownership()
    extcall VM.prank(ALICE)
    extcall self.harness.lower_level(LIVE, REASON)
    assert staticcall self.harness.level() == LIVE
    assert staticcall self.harness.guardian() == NEW_GUARDIAN


# ---------------------------------------------------------------------------------------------
# Raising and lowering
# ---------------------------------------------------------------------------------------------


@external
def test_guardian_raises_at_once():
    """
    @notice The guardian raises straight from LIVE to HALTED, with the event's fields.
    """
    extcall VM.expectEmit(True, True, True, True, self.harness.address)
    log CircuitBreakerLevelChanged(old_level=LIVE, new_level=HALTED, caller=GUARDIAN, reason=REASON)
    extcall VM.prank(GUARDIAN)
    extcall self.harness.raise_level(HALTED, REASON)
    assert staticcall self.harness.level() == HALTED


@external
def test_guardian_raises_step_by_step():
    """
    @notice The guardian raises one level at a time up to HALTED.
    """
    for new_level: uint256 in range(1, 4):
        extcall VM.prank(GUARDIAN)
        extcall self.harness.raise_level(new_level, REASON)
        assert staticcall self.harness.level() == new_level


@external
def test_owner_may_raise():
    """
    @notice The owner may raise as well.
    """
    extcall VM.expectEmit(True, True, True, True, self.harness.address)
    log CircuitBreakerLevelChanged(old_level=LIVE, new_level=NO_LIQUIDATION, caller=self, reason=REASON)
    extcall self.harness.raise_level(NO_LIQUIDATION, REASON)
    assert staticcall self.harness.level() == NO_LIQUIDATION


@external
def test_owner_lowers():
    """
    @notice The owner lowers HALTED to NO_NEW_RISK and then to LIVE, with the event's fields.
    """
    self._raise_to(HALTED)
    lower_reason: bytes32 = keccak256("incident resolved")
    extcall VM.expectEmit(True, True, True, True, self.harness.address)
    log CircuitBreakerLevelChanged(old_level=HALTED, new_level=NO_NEW_RISK, caller=self, reason=lower_reason)
    extcall self.harness.lower_level(NO_NEW_RISK, lower_reason)
    assert staticcall self.harness.level() == NO_NEW_RISK
    extcall self.harness.lower_level(LIVE, lower_reason)
    assert staticcall self.harness.level() == LIVE
    extcall VM.prank(ALICE)
    extcall self.harness.open_position()


@external
def test_guardian_cannot_lower():
    """
    @notice Lowering is the owner's alone: "ownable: caller is not the owner" for the guardian.
    """
    self._raise_to(HALTED)
    extcall VM.prank(GUARDIAN)
    extcall VM.expectRevert(b"ownable: caller is not the owner")
    extcall self.harness.lower_level(LIVE, REASON)


@external
def test_stranger_cannot_lower():
    """
    @notice A stranger cannot lower either.
    """
    self._raise_to(NO_NEW_RISK)
    extcall VM.prank(STRANGER)
    extcall VM.expectRevert(b"ownable: caller is not the owner")
    extcall self.harness.lower_level(LIVE, REASON)


@external
def test_non_guardian_cannot_raise():
    """
    @notice A caller that is neither guardian nor owner cannot raise.
    """
    extcall VM.prank(STRANGER)
    extcall VM.expectRevert(b"circuit_breaker: caller is not the guardian or owner")
    extcall self.harness.raise_level(NO_NEW_RISK, REASON)


@external
def test_raise_above_halted_rejected():
    """
    @notice Level 4 does not exist: "circuit_breaker: invalid level", for guardian and owner.
    """
    extcall VM.prank(GUARDIAN)
    extcall VM.expectRevert(b"circuit_breaker: invalid level")
    extcall self.harness.raise_level(HALTED + 1, REASON)
    extcall VM.expectRevert(b"circuit_breaker: invalid level")
    extcall self.harness.raise_level(max_value(uint256), REASON)


@external
def testFuzz_raise_above_halted_rejected(new_level: uint256):
    """
    @notice Any level above HALTED is rejected.
    @param new_level A level above HALTED.
    """
    extcall VM.assume(new_level > HALTED)
    extcall VM.prank(GUARDIAN)
    extcall VM.expectRevert(b"circuit_breaker: invalid level")
    extcall self.harness.raise_level(new_level, REASON)


@external
def test_raise_to_same_or_lower_level_rejected():
    """
    @notice Raising must go strictly higher: "circuit_breaker: level not higher".
    """
    extcall VM.prank(GUARDIAN)
    extcall VM.expectRevert(b"circuit_breaker: level not higher")
    extcall self.harness.raise_level(LIVE, REASON)
    self._raise_to(NO_LIQUIDATION)
    extcall VM.prank(GUARDIAN)
    extcall VM.expectRevert(b"circuit_breaker: level not higher")
    extcall self.harness.raise_level(NO_LIQUIDATION, REASON)
    extcall VM.expectRevert(b"circuit_breaker: level not higher")
    extcall self.harness.raise_level(NO_NEW_RISK, REASON)


@external
def test_lower_to_same_or_higher_level_rejected():
    """
    @notice Lowering must go strictly lower: "circuit_breaker: level not lower".
    """
    extcall VM.expectRevert(b"circuit_breaker: level not lower")
    extcall self.harness.lower_level(LIVE, REASON)
    self._raise_to(NO_NEW_RISK)
    extcall VM.expectRevert(b"circuit_breaker: level not lower")
    extcall self.harness.lower_level(NO_NEW_RISK, REASON)
    extcall VM.expectRevert(b"circuit_breaker: level not lower")
    extcall self.harness.lower_level(HALTED, REASON)
    extcall VM.expectRevert(b"circuit_breaker: level not lower")
    extcall self.harness.lower_level(max_value(uint256), REASON)


@external
def testFuzz_raise_then_lower(up: uint256, down: uint256):
    """
    @notice For any valid pair of levels the guardian raises and the owner lowers back.
    @param up The level raised to (reduced to 1..3).
    @param down The level lowered to (reduced below `up`).
    """
    high: uint256 = up % HALTED + 1
    low: uint256 = down % high
    extcall VM.prank(GUARDIAN)
    extcall self.harness.raise_level(high, REASON)
    extcall self.harness.lower_level(low, REASON)
    assert staticcall self.harness.level() == low


# ---------------------------------------------------------------------------------------------
# Guardian management
# ---------------------------------------------------------------------------------------------


@external
def test_constructor_sets_guardian():
    """
    @notice The guardian given to the constructor is in place and the level starts LIVE.
    """
    assert staticcall self.harness.guardian() == GUARDIAN
    assert staticcall self.harness.level() == LIVE


@external
def test_owner_sets_guardian():
    """
    @notice The owner replaces the guardian: the new one can raise, the old one no longer can.
    """
    extcall VM.expectEmit(True, True, True, True, self.harness.address)
    log GuardianSet(previous_guardian=GUARDIAN, new_guardian=NEW_GUARDIAN)
    extcall self.harness.set_guardian(NEW_GUARDIAN)
    assert staticcall self.harness.guardian() == NEW_GUARDIAN
    extcall VM.prank(GUARDIAN)
    extcall VM.expectRevert(b"circuit_breaker: caller is not the guardian or owner")
    extcall self.harness.raise_level(NO_NEW_RISK, REASON)
    extcall VM.prank(NEW_GUARDIAN)
    extcall self.harness.raise_level(NO_NEW_RISK, REASON)
    assert staticcall self.harness.level() == NO_NEW_RISK


@external
def test_guardian_removed_with_zero_address():
    """
    @notice With the guardian set to zero only the owner can raise.
    """
    extcall self.harness.set_guardian(empty(address))
    extcall VM.prank(GUARDIAN)
    extcall VM.expectRevert(b"circuit_breaker: caller is not the guardian or owner")
    extcall self.harness.raise_level(NO_NEW_RISK, REASON)
    extcall self.harness.raise_level(NO_NEW_RISK, REASON)
    assert staticcall self.harness.level() == NO_NEW_RISK


@external
def test_set_guardian_reverts_for_non_owner():
    """
    @notice Neither the guardian nor a stranger may set the guardian.
    """
    extcall VM.prank(GUARDIAN)
    extcall VM.expectRevert(b"ownable: caller is not the owner")
    extcall self.harness.set_guardian(STRANGER)
    extcall VM.prank(STRANGER)
    extcall VM.expectRevert(b"ownable: caller is not the owner")
    extcall self.harness.set_guardian(STRANGER)


@external
def test_new_owner_lowers_old_owner_cannot():
    """
    @notice After a transfer of ownership only the new owner lowers.
    """
    self._raise_to(HALTED)
    extcall self.harness.transfer_ownership(ALICE)
    extcall VM.prank(ALICE)
    extcall self.harness.accept_ownership()
    extcall VM.expectRevert(b"ownable: caller is not the owner")
    extcall self.harness.lower_level(LIVE, REASON)
    extcall VM.prank(ALICE)
    extcall self.harness.lower_level(LIVE, REASON)
    assert staticcall self.harness.level() == LIVE


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


@internal
def _raise_to(new_level: uint256):
    """
    @notice Has the guardian raise the level to `new_level`.
    @param new_level The level wanted, above the current one.
    """
    extcall VM.prank(GUARDIAN)
    extcall self.harness.raise_level(new_level, REASON)
    assert staticcall self.harness.level() == new_level


@internal
def _read_views(expected_level: uint256):
    """
    @notice Calls every read-only view of the harness; none may revert at any level.
    @param expected_level The level the harness should report.
    """
    assert staticcall self.harness.level() == expected_level
    assert staticcall self.harness.guardian() == GUARDIAN
    assert staticcall self.harness.owner() == self
    assert staticcall self.harness.pending_owner() == empty(address)
    assert staticcall self.harness.positions(ALICE) == 1
    assert staticcall self.harness.liquidations_started() == 0
    assert staticcall self.harness.price() == 0
    assert staticcall self.harness.allowance(ALICE, STRANGER) == 0
    assert staticcall self.harness.nonces(ALICE) == 0
    assert staticcall self.harness.nonce_bitmap(ALICE, 0) == 0
    assert not staticcall self.harness.is_nonce_used(ALICE, 0)
    assert staticcall self.harness.DOMAIN_SEPARATOR() != empty(bytes32)
    fields: bytes1 = empty(bytes1)
    name: String[50] = ""
    version: String[20] = ""
    chain_id: uint256 = 0
    verifying_contract: address = empty(address)
    salt: bytes32 = empty(bytes32)
    extensions: DynArray[uint256, 32] = []
    fields, name, version, chain_id, verifying_contract, salt, extensions = staticcall self.harness.eip712Domain()
    assert verifying_contract == self.harness.address


@internal
def _deploy_harness(guardian: address) -> address:
    """
    @notice Deploys SafetyHarness with `guardian` through the deployCode(string,bytes) cheatcode.
    @param guardian The harness's first guardian.
    @return The harness address.
    """
    response: Bytes[32] = raw_call(
        VM.address,
        abi_encode("SafetyHarness.vy", abi_encode(guardian), method_id=method_id("deployCode(string,bytes)")),
        max_outsize=32,
    )
    return abi_decode(response, address)
