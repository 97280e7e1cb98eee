# pragma version ~=0.4.3
"""
@title OwnableTest
@notice Unit tests of the ownable module through SafetyHarness: two-step transfer, cancellation,
        every revert reason and the events.
"""


from .interfaces import IVm
from ...contracts.mocks import SafetyHarness


VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
BOB: constant(address) = 0x0000000000000000000000000000000000000B0b
GUARDIAN: constant(address) = 0x0000000000000000000000000000000006a4D1a4


event OwnershipTransferStarted:
    previous_owner: indexed(address)
    new_owner: indexed(address)


event OwnershipTransferred:
    previous_owner: indexed(address)
    new_owner: indexed(address)


harness: SafetyHarness.__interface__


@external
def setUp():
    """
    @notice Deploys a fresh harness owned by this test contract.
    """
    self.harness = SafetyHarness.__interface__(self._deploy_harness(GUARDIAN))


@external
def test_constructor_sets_owner():
    """
    @notice The deployer is the owner and nothing is pending.
    """
    assert staticcall self.harness.owner() == self
    assert staticcall self.harness.pending_owner() == empty(address)


@external
def test_transfer_ownership_only_sets_pending():
    """
    @notice Starting a transfer names the pending owner and leaves the owner in place.
    """
    extcall VM.expectEmit(True, True, True, True, self.harness.address)
    log OwnershipTransferStarted(previous_owner=self, new_owner=ALICE)
    extcall self.harness.transfer_ownership(ALICE)
    assert staticcall self.harness.owner() == self
    assert staticcall self.harness.pending_owner() == ALICE


@external
def test_accept_ownership_completes_transfer():
    """
    @notice The pending owner accepts: it becomes the owner, the pending slot clears and the old
            owner loses its rights.
    """
    extcall self.harness.transfer_ownership(ALICE)
    extcall VM.expectEmit(True, True, True, True, self.harness.address)
    log OwnershipTransferred(previous_owner=self, new_owner=ALICE)
    extcall VM.prank(ALICE)
    extcall self.harness.accept_ownership()
    assert staticcall self.harness.owner() == ALICE
    assert staticcall self.harness.pending_owner() == empty(address)
    extcall VM.expectRevert(b"ownable: caller is not the owner")
    extcall self.harness.transfer_ownership(BOB)


@external
def test_transfer_ownership_reverts_for_non_owner():
    """
    @notice Only the owner may start a transfer.
    """
    extcall VM.prank(BOB)
    extcall VM.expectRevert(b"ownable: caller is not the owner")
    extcall self.harness.transfer_ownership(BOB)


@external
def test_accept_ownership_reverts_for_other_caller():
    """
    @notice Only the pending owner may accept.
    """
    extcall self.harness.transfer_ownership(ALICE)
    extcall VM.prank(BOB)
    extcall VM.expectRevert(b"ownable: caller is not the pending owner")
    extcall self.harness.accept_ownership()


@external
def test_accept_ownership_reverts_when_nothing_pending():
    """
    @notice With no transfer pending nobody can accept, the owner included.
    """
    extcall VM.expectRevert(b"ownable: caller is not the pending owner")
    extcall self.harness.accept_ownership()
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"ownable: caller is not the pending owner")
    extcall self.harness.accept_ownership()


@external
def test_transfer_to_zero_cancels_pending():
    """
    @notice Naming the zero address cancels a pending transfer.
    """
    extcall self.harness.transfer_ownership(ALICE)
    extcall self.harness.transfer_ownership(empty(address))
    assert staticcall self.harness.pending_owner() == empty(address)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"ownable: caller is not the pending owner")
    extcall self.harness.accept_ownership()


@external
def test_new_transfer_replaces_pending():
    """
    @notice A second transfer replaces the first pending owner.
    """
    extcall self.harness.transfer_ownership(ALICE)
    extcall self.harness.transfer_ownership(BOB)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"ownable: caller is not the pending owner")
    extcall self.harness.accept_ownership()
    extcall VM.prank(BOB)
    extcall self.harness.accept_ownership()
    assert staticcall self.harness.owner() == BOB


@external
def test_pending_owner_cannot_act_before_accepting():
    """
    @notice A pending owner has no owner rights yet.
    """
    extcall self.harness.transfer_ownership(ALICE)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"ownable: caller is not the owner")
    extcall self.harness.set_guardian(ALICE)


@external
def testFuzz_only_pending_owner_accepts(caller: address, pending: address):
    """
    @notice For any pending owner and any other caller, only the pending owner can accept.
    @param caller A caller that is not the pending owner.
    @param pending The pending owner.
    """
    extcall VM.assume(caller != pending and pending != empty(address))
    extcall self.harness.transfer_ownership(pending)
    extcall VM.prank(caller)
    extcall VM.expectRevert(b"ownable: caller is not the pending owner")
    extcall self.harness.accept_ownership()
    extcall VM.prank(pending)
    extcall self.harness.accept_ownership()
    assert staticcall self.harness.owner() == pending


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
