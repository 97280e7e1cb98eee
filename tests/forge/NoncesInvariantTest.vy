# pragma version ~=0.4.3
"""
@title NoncesInvariantTest
@notice Invariants of the nonces module, driven through NoncesHandler: a nonce is never usable
        twice, a cancelled unordered nonce can never be used, bits never clear, sequential nonces
        only grow and follow the model.
"""


from .interfaces import IVm
from ...contracts.mocks import SafetyHarness
from ...contracts.mocks import NoncesHandler


VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
GUARDIAN: constant(address) = 0x0000000000000000000000000000000006a4D1a4


harness: SafetyHarness.__interface__
handler: NoncesHandler.__interface__


@external
def setUp():
    """
    @notice Deploys a harness and a handler bound to it.
    """
    self.harness = SafetyHarness.__interface__(self._deploy("SafetyHarness.vy", abi_encode(GUARDIAN)))
    self.handler = NoncesHandler.__interface__(self._deploy("NoncesHandler.vy", abi_encode(self.harness.address)))


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
def invariant_unordered_nonce_never_used_twice():
    """
    @notice No unordered nonce was ever spent a second time.
    """
    assert staticcall self.handler.double_uses() == 0, "double use"


@external
@view
def invariant_cancelled_nonce_never_used():
    """
    @notice No cancelled unordered nonce was ever spent.
    """
    assert staticcall self.handler.cancelled_uses() == 0, "cancelled nonce used"


@external
@view
def invariant_unordered_outcomes_match_model():
    """
    @notice Fresh nonces were always usable, and cancellations succeeded exactly for non-empty masks.
    """
    assert staticcall self.handler.unordered_mismatches() == 0, "unordered outcome off model"


@external
@view
def invariant_bitmap_matches_model():
    """
    @notice Every touched bitmap word equals the model: the union of all bits used or cancelled
            (so no bit ever cleared and no other bit was set).
    """
    for i: uint256 in range(3):
        actor: address = staticcall self.handler.ACTORS(i)
        for j: uint256 in range(4):
            word_index: uint256 = staticcall self.handler.WORDS(j)
            assert staticcall self.harness.nonce_bitmap(actor, word_index) == staticcall self.handler.model_bitmap(
                actor, word_index
            ), "bitmap off model"


@external
@view
def invariant_spent_nonces_stay_used():
    """
    @notice Every nonce remembered as spent or cancelled still reads as used.
    """
    count: uint256 = staticcall self.handler.spent_count()
    for i: uint256 in range(count, bound=1024):
        entry: NoncesHandler.Spent = staticcall self.handler.spent(i)
        assert staticcall self.harness.is_nonce_used(entry.account, entry.nonce), "spent nonce reusable"


@external
@view
def invariant_sequential_nonces_only_grow():
    """
    @notice No sequential nonce was ever seen to go down, and each equals the model.
    """
    assert staticcall self.handler.sequential_decreases() == 0, "sequential nonce decreased"
    assert staticcall self.handler.sequential_mismatches() == 0, "sequential outcome off model"
    for i: uint256 in range(3):
        actor: address = staticcall self.handler.ACTORS(i)
        assert staticcall self.harness.nonces(actor) == staticcall self.handler.expected_nonce(actor), "nonce off model"


@external
@view
def invariant_checked_nonce_accepts_only_current():
    """
    @notice use_checked_nonce succeeded exactly when offered the current nonce.
    """
    assert staticcall self.handler.checked_mismatches() == 0, "checked nonce off model"


@external
def test_handler_exercises_every_path():
    """
    @notice A fixed sequence through the handler reaches every branch the invariants rely on
            (fresh use, rejected reuse, cancellation, rejected use of a cancelled nonce, sequential
            use, checked use both ways, invalidation both ways) and records no departure.
    """
    extcall self.handler.use_unordered_nonce(0, 5)
    extcall self.handler.reuse_spent_nonce(0)
    assert staticcall self.handler.rejected_reuses() == 1
    extcall self.handler.invalidate_unordered_nonces(1, 2, 1 << 9)
    extcall self.handler.invalidate_unordered_nonces(1, 2, 0)
    extcall self.handler.reuse_spent_nonce(1)
    assert staticcall self.handler.rejected_reuses() == 2
    extcall self.handler.use_nonce(2)
    extcall self.handler.use_checked_nonce(2, 0)
    extcall self.handler.use_checked_nonce(2, 7)
    extcall self.handler.invalidate_nonces(2, 10)
    extcall self.handler.invalidate_nonces(2, 0)
    extcall self.handler.invalidate_nonces(2, 65536)
    assert staticcall self.harness.nonces(staticcall self.handler.ACTORS(2)) == 12
    assert staticcall self.handler.unordered_uses() == 1
    assert staticcall self.handler.double_uses() == 0
    assert staticcall self.handler.cancelled_uses() == 0
    assert staticcall self.handler.unordered_mismatches() == 0
    assert staticcall self.handler.sequential_mismatches() == 0
    assert staticcall self.handler.checked_mismatches() == 0


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
