# pragma version ~=0.4.3
"""
@title CircuitBreakerInvariantTest
@notice Invariants of the circuit_breaker module, driven through CircuitBreakerHandler: the level
        only goes down by the owner, only goes up by the guardian or the owner, never leaves
        0..3, and always equals the model.
"""


from .interfaces import IVm
from ...contracts.mocks import SafetyHarness
from ...contracts.mocks import CircuitBreakerHandler


VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
OWNER: constant(address) = 0x00000000000000000000000000000000000000A1
GUARDIAN: constant(address) = 0x00000000000000000000000000000000000000A2
STRANGER: constant(address) = 0x00000000000000000000000000000000000000A3
HALTED: constant(uint256) = 3


harness: SafetyHarness.__interface__
handler: CircuitBreakerHandler.__interface__


@external
def setUp():
    """
    @notice Deploys a harness with GUARDIAN (the handler's ACTORS[1]) as guardian, hands ownership
            to OWNER (ACTORS[0]) and deploys the handler.
    """
    self.harness = SafetyHarness.__interface__(self._deploy("SafetyHarness.vy", abi_encode(GUARDIAN)))
    self.handler = CircuitBreakerHandler.__interface__(
        self._deploy("CircuitBreakerHandler.vy", abi_encode(self.harness.address))
    )
    extcall self.harness.transfer_ownership(OWNER)
    extcall VM.prank(OWNER)
    extcall self.harness.accept_ownership()
    assert staticcall self.handler.ACTORS(0) == OWNER
    assert staticcall self.handler.ACTORS(1) == GUARDIAN


@external
@view
def targetContracts() -> DynArray[address, 1]:
    """
    @notice The fuzzer calls the handler only.
    @return The handler.
    """
    return [self.handler.address]


@external
@view
def invariant_level_only_lowered_by_owner():
    """
    @notice Every drop of the level happened in a call by the owner of the moment.
    """
    assert staticcall self.handler.lowered_by_non_owner() == 0, "lowered by non-owner"


@external
@view
def invariant_level_only_raised_by_guardian_or_owner():
    """
    @notice Every rise of the level happened in a call by the guardian or the owner of the moment.
    """
    assert staticcall self.handler.raised_by_unauthorised() == 0, "raised by unauthorised caller"


@external
@view
def invariant_level_only_changed_by_level_calls():
    """
    @notice Guardian and ownership changes never moved the level.
    """
    assert staticcall self.handler.changed_by_other_call() == 0, "level moved by another call"


@external
@view
def invariant_level_matches_model():
    """
    @notice The level equals the model and every call succeeded or failed as the rules say.
    """
    assert staticcall self.harness.level() == staticcall self.handler.model_level(), "level off model"
    assert staticcall self.handler.model_mismatches() == 0, "outcome off model"


@external
@view
def invariant_level_at_most_halted():
    """
    @notice The level never leaves 0..3.
    """
    assert staticcall self.harness.level() <= HALTED, "level above halted"


@external
def test_handler_exercises_every_path():
    """
    @notice A fixed sequence through the handler reaches the branches the invariants rely on
            (raise by guardian, rejected raise by a stranger, rejected lower by the guardian,
            lower by the owner, ownership and guardian changes) and records no departure.
    """
    extcall self.handler.raise_level(1, 3, keccak256("guardian halts"))
    assert staticcall self.harness.level() == HALTED
    extcall self.handler.raise_level(2, 3, keccak256("stranger"))
    extcall self.handler.lower_level(1, 0, keccak256("guardian tries"))
    assert staticcall self.handler.rejected_lowers() == 1
    extcall self.handler.lower_level(0, 1, keccak256("owner lowers"))
    assert staticcall self.harness.level() == 1
    assert staticcall self.handler.last_changed_by() == OWNER
    extcall self.handler.transfer_ownership(0, 2)
    extcall self.handler.accept_ownership(2)
    assert staticcall self.harness.owner() == STRANGER
    extcall self.handler.lower_level(0, 0, keccak256("old owner tries"))
    extcall self.handler.lower_level(2, 0, keccak256("new owner lowers"))
    extcall self.handler.set_guardian(2, 4)
    assert staticcall self.harness.guardian() == empty(address)
    extcall self.handler.raise_level(1, 2, keccak256("old guardian tries"))
    assert staticcall self.harness.level() == 0
    assert staticcall self.handler.raises() == 1
    assert staticcall self.handler.lowers() == 2
    assert staticcall self.handler.lowered_by_non_owner() == 0
    assert staticcall self.handler.raised_by_unauthorised() == 0
    assert staticcall self.handler.changed_by_other_call() == 0
    assert staticcall self.handler.model_mismatches() == 0


@internal
def _deploy(artifact: String[64], arguments: Bytes[64]) -> address:
    """
    @notice Deploys an artifact with constructor arguments through deployCode(string,bytes).
    @param artifact The artifact path.
    @param arguments The ABI-encoded constructor arguments.
    @return The new contract's address.
    """
    response: Bytes[32] = raw_call(
        VM.address,
        abi_encode(artifact, arguments, method_id=method_id("deployCode(string,bytes)")),
        max_outsize=32,
    )
    return abi_decode(response, address)
