# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title CircuitBreakerHandler
@notice Invariant-test handler for the circuit_breaker module (through SafetyHarness). Four actors
        raise and lower the level, set the guardian and pass ownership around, with random
        arguments; ghost variables record who changed the level and every departure from the rules
        (raise: guardian or owner, strictly higher, at most HALTED; lower: owner only, strictly
        lower). CircuitBreakerInvariantTest asserts that no departure was ever recorded.
@dev Test-only. The invariant test makes ACTORS[0] the owner and ACTORS[1] the guardian before the
     fuzzer starts. Actions never revert: calls into the harness go through raw_call with
     revert_on_failure=False so that each outcome can be judged against the model.
"""


from . import SafetyHarness


interface Vm:
    def prank(sender: address): nonpayable


VM: constant(Vm) = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)

# @notice The callers the handler acts as.
ACTORS: public(constant(address[4])) = [
    0x00000000000000000000000000000000000000A1,
    0x00000000000000000000000000000000000000A2,
    0x00000000000000000000000000000000000000A3,
    0x00000000000000000000000000000000000000a4,
]

# @notice The highest valid level.
HALTED: constant(uint256) = 3


# @notice The harness under test.
harness: public(SafetyHarness.__interface__)

# @notice Model: the level the rules say the harness must be at.
model_level: public(uint256)

# @notice Ghost: times the level went down in a call by someone who was not the owner.
lowered_by_non_owner: public(uint256)

# @notice Ghost: times the level went up in a call by someone who was neither guardian nor owner.
raised_by_unauthorised: public(uint256)

# @notice Ghost: times the level changed in a call that is not raise_level or lower_level.
changed_by_other_call: public(uint256)

# @notice Ghost: times a call succeeded or failed against the model, or left another level.
model_mismatches: public(uint256)

# @notice Ghost: the last caller that changed the level.
last_changed_by: public(address)

# @notice Coverage: successful raises.
raises: public(uint256)

# @notice Coverage: successful lowers (all by the owner).
lowers: public(uint256)

# @notice Coverage: rejected attempts to lower by a caller that was not the owner.
rejected_lowers: public(uint256)


@deploy
def __init__(harness: address):
    """
    @notice Binds the handler to a harness.
    @param harness The SafetyHarness under test.
    """
    self.harness = SafetyHarness.__interface__(harness)


@external
def raise_level(actor_seed: uint256, level_seed: uint256, reason: bytes32):
    """
    @notice An actor tries to raise the level to 0..5 (4 and 5 are invalid).
    @param actor_seed Picks the actor.
    @param level_seed Picks the new level.
    @param reason The logged reason.
    """
    actor: address = ACTORS[actor_seed % 4]
    new_level: uint256 = level_seed % 6
    owner: address = staticcall self.harness.owner()
    guardian: address = staticcall self.harness.guardian()
    before: uint256 = staticcall self.harness.level()
    extcall VM.prank(actor)
    success: bool = raw_call(
        self.harness.address,
        abi_encode(new_level, reason, method_id=method_id("raise_level(uint256,bytes32)")),
        revert_on_failure=False,
    )
    allowed: bool = (actor == owner or actor == guardian) and new_level <= HALTED and new_level > before
    if success != allowed:
        self.model_mismatches += 1
    if success:
        self.raises += 1
        self.model_level = new_level
    self._observe(actor, owner, guardian, before, True)


@external
def lower_level(actor_seed: uint256, level_seed: uint256, reason: bytes32):
    """
    @notice An actor tries to lower the level to 0..5.
    @param actor_seed Picks the actor.
    @param level_seed Picks the new level.
    @param reason The logged reason.
    """
    actor: address = ACTORS[actor_seed % 4]
    new_level: uint256 = level_seed % 6
    owner: address = staticcall self.harness.owner()
    guardian: address = staticcall self.harness.guardian()
    before: uint256 = staticcall self.harness.level()
    extcall VM.prank(actor)
    success: bool = raw_call(
        self.harness.address,
        abi_encode(new_level, reason, method_id=method_id("lower_level(uint256,bytes32)")),
        revert_on_failure=False,
    )
    if success != (actor == owner and new_level < before):
        self.model_mismatches += 1
    if success:
        self.lowers += 1
        self.model_level = new_level
    elif actor != owner and new_level < before:
        self.rejected_lowers += 1
    self._observe(actor, owner, guardian, before, True)


@external
def set_guardian(actor_seed: uint256, candidate_seed: uint256):
    """
    @notice An actor tries to make another actor (or nobody) the guardian.
    @param actor_seed Picks the caller.
    @param candidate_seed Picks the new guardian (one of ACTORS, or the zero address).
    """
    actor: address = ACTORS[actor_seed % 4]
    candidate: address = empty(address)
    if candidate_seed % 5 != 4:
        candidate = ACTORS[candidate_seed % 5]
    owner: address = staticcall self.harness.owner()
    guardian: address = staticcall self.harness.guardian()
    before: uint256 = staticcall self.harness.level()
    extcall VM.prank(actor)
    success: bool = raw_call(
        self.harness.address,
        abi_encode(candidate, method_id=method_id("set_guardian(address)")),
        revert_on_failure=False,
    )
    if success != (actor == owner):
        self.model_mismatches += 1
    self._observe(actor, owner, guardian, before, False)


@external
def transfer_ownership(actor_seed: uint256, candidate_seed: uint256):
    """
    @notice An actor tries to start a transfer of ownership to another actor.
    @param actor_seed Picks the caller.
    @param candidate_seed Picks the pending owner.
    """
    actor: address = ACTORS[actor_seed % 4]
    candidate: address = ACTORS[candidate_seed % 4]
    owner: address = staticcall self.harness.owner()
    guardian: address = staticcall self.harness.guardian()
    before: uint256 = staticcall self.harness.level()
    extcall VM.prank(actor)
    success: bool = raw_call(
        self.harness.address,
        abi_encode(candidate, method_id=method_id("transfer_ownership(address)")),
        revert_on_failure=False,
    )
    if success != (actor == owner):
        self.model_mismatches += 1
    self._observe(actor, owner, guardian, before, False)


@external
def accept_ownership(actor_seed: uint256):
    """
    @notice An actor tries to accept ownership.
    @param actor_seed Picks the caller.
    """
    actor: address = ACTORS[actor_seed % 4]
    owner: address = staticcall self.harness.owner()
    guardian: address = staticcall self.harness.guardian()
    pending: address = staticcall self.harness.pending_owner()
    before: uint256 = staticcall self.harness.level()
    extcall VM.prank(actor)
    success: bool = raw_call(self.harness.address, method_id("accept_ownership()"), revert_on_failure=False)
    if success != (actor == pending):
        self.model_mismatches += 1
    self._observe(actor, owner, guardian, before, False)


@internal
def _observe(actor: address, owner: address, guardian: address, before: uint256, may_change: bool):
    """
    @notice Judges the level after a call: who moved it, in which direction, and against the model.
    @param actor The caller of the call just made.
    @param owner The owner before the call.
    @param guardian The guardian before the call.
    @param before The level before the call.
    @param may_change Whether the call was one that may change the level.
    """
    after: uint256 = staticcall self.harness.level()
    if after < before and actor != owner:
        self.lowered_by_non_owner += 1
    if after > before and actor != owner and actor != guardian:
        self.raised_by_unauthorised += 1
    if after != before:
        self.last_changed_by = actor
        if not may_change:
            self.changed_by_other_call += 1
    if after != self.model_level:
        self.model_mismatches += 1
