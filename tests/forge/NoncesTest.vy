# pragma version ~=0.4.3
"""
@title NoncesTest
@notice Unit and fuzz tests of the nonces module through SafetyHarness: sequential nonces,
        forward invalidation, the unordered bitmap math for arbitrary nonces, cancellation masks,
        every revert reason and the events.
"""


from .interfaces import IVm
from ...contracts.mocks import SafetyHarness


VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
BOB: constant(address) = 0x0000000000000000000000000000000000000B0b
GUARDIAN: constant(address) = 0x0000000000000000000000000000000006a4D1a4
MAX_NONCE_JUMP: constant(uint256) = 65535


event NonceUsed:
    account: indexed(address)
    nonce: uint256


event NoncesInvalidated:
    account: indexed(address)
    old_nonce: uint256
    new_nonce: uint256


event UnorderedNonceUsed:
    account: indexed(address)
    nonce: uint256


event UnorderedNoncesInvalidated:
    account: indexed(address)
    word_index: uint256
    mask: uint256


harness: SafetyHarness.__interface__


@external
def setUp():
    """
    @notice Deploys a fresh harness.
    """
    self.harness = SafetyHarness.__interface__(self._deploy_harness(GUARDIAN))


# ---------------------------------------------------------------------------------------------
# Sequential nonces
# ---------------------------------------------------------------------------------------------


@external
def test_sequential_nonce_starts_at_zero_and_increments():
    """
    @notice Each use returns the current nonce and moves it up by one, with a NonceUsed event.
    """
    assert staticcall self.harness.nonces(ALICE) == 0
    extcall VM.expectEmit(True, True, True, True, self.harness.address)
    log NonceUsed(account=ALICE, nonce=0)
    extcall VM.prank(ALICE)
    assert extcall self.harness.use_nonce() == 0
    extcall VM.prank(ALICE)
    assert extcall self.harness.use_nonce() == 1
    assert staticcall self.harness.nonces(ALICE) == 2
    assert staticcall self.harness.nonces(BOB) == 0


@external
def test_checked_nonce_accepts_current():
    """
    @notice A checked use with the current nonce succeeds.
    """
    extcall VM.prank(ALICE)
    extcall self.harness.use_checked_nonce(0)
    extcall VM.prank(ALICE)
    extcall self.harness.use_checked_nonce(1)
    assert staticcall self.harness.nonces(ALICE) == 2


@external
def test_checked_nonce_rejects_other_values():
    """
    @notice A checked use with any other nonce reverts "nonces: invalid nonce" and spends nothing.
    """
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: invalid nonce")
    extcall self.harness.use_checked_nonce(1)
    extcall VM.prank(ALICE)
    extcall self.harness.use_checked_nonce(0)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: invalid nonce")
    extcall self.harness.use_checked_nonce(0)
    assert staticcall self.harness.nonces(ALICE) == 1


@external
def testFuzz_checked_nonce_rejects_wrong_value(uses: uint8, expected: uint256):
    """
    @notice After any number of uses, a checked use succeeds only with the current nonce.
    @param uses How many nonces to spend first.
    @param expected The nonce offered.
    """
    for _: uint256 in range(convert(uses, uint256), bound=256):
        extcall VM.prank(ALICE)
        extcall self.harness.use_nonce()
    current: uint256 = convert(uses, uint256)
    assert staticcall self.harness.nonces(ALICE) == current
    if expected != current:
        extcall VM.prank(ALICE)
        extcall VM.expectRevert(b"nonces: invalid nonce")
        extcall self.harness.use_checked_nonce(expected)
    extcall VM.prank(ALICE)
    extcall self.harness.use_checked_nonce(current)
    assert staticcall self.harness.nonces(ALICE) == current + 1


@external
def test_invalidate_nonces_moves_forward():
    """
    @notice invalidate_nonces moves the caller's own counter forward, with its event.
    """
    extcall VM.expectEmit(True, True, True, True, self.harness.address)
    log NoncesInvalidated(account=ALICE, old_nonce=0, new_nonce=10)
    extcall VM.prank(ALICE)
    extcall self.harness.invalidate_nonces(10)
    assert staticcall self.harness.nonces(ALICE) == 10
    assert staticcall self.harness.nonces(BOB) == 0
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: invalid nonce")
    extcall self.harness.use_checked_nonce(9)
    extcall VM.prank(ALICE)
    extcall self.harness.use_checked_nonce(10)


@external
def test_invalidate_nonces_rejects_same_or_lower():
    """
    @notice The counter never goes back or stays: "nonces: can only increase".
    """
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: can only increase")
    extcall self.harness.invalidate_nonces(0)
    extcall VM.prank(ALICE)
    extcall self.harness.invalidate_nonces(5)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: can only increase")
    extcall self.harness.invalidate_nonces(5)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: can only increase")
    extcall self.harness.invalidate_nonces(4)
    assert staticcall self.harness.nonces(ALICE) == 5


@external
def test_invalidate_nonces_caps_the_jump():
    """
    @notice A step of MAX_NONCE_JUMP is allowed, one more is "nonces: excessive invalidation",
            and so is a jump to the top of the range.
    """
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: excessive invalidation")
    extcall self.harness.invalidate_nonces(MAX_NONCE_JUMP + 1)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: excessive invalidation")
    extcall self.harness.invalidate_nonces(max_value(uint256))
    extcall VM.prank(ALICE)
    extcall self.harness.invalidate_nonces(MAX_NONCE_JUMP)
    assert staticcall self.harness.nonces(ALICE) == MAX_NONCE_JUMP


@external
def testFuzz_invalidate_nonces(start: uint16, delta: uint256):
    """
    @notice From any counter, a forward step of 1..MAX_NONCE_JUMP succeeds and anything else fails
            with the matching reason.
    @param start The counter to start from.
    @param delta The step offered.
    """
    if start != 0:
        extcall VM.prank(ALICE)
        extcall self.harness.invalidate_nonces(convert(start, uint256))
    current: uint256 = convert(start, uint256)
    # current < 2**16, so adding it to a value below 2**255 cannot overflow.
    target: uint256 = unsafe_add(current, delta % (1 << 255))
    extcall VM.prank(ALICE)
    if target <= current:
        extcall VM.expectRevert(b"nonces: can only increase")
    elif target - current > MAX_NONCE_JUMP:
        extcall VM.expectRevert(b"nonces: excessive invalidation")
    extcall self.harness.invalidate_nonces(target)
    if target > current and target - current <= MAX_NONCE_JUMP:
        assert staticcall self.harness.nonces(ALICE) == target
    else:
        assert staticcall self.harness.nonces(ALICE) == current


# ---------------------------------------------------------------------------------------------
# Unordered nonces
# ---------------------------------------------------------------------------------------------


@external
def test_unordered_nonce_used_once():
    """
    @notice An unordered nonce is spent once, with its event; a second use reverts
            "nonces: nonce already used".
    """
    assert not staticcall self.harness.is_nonce_used(ALICE, 42)
    extcall VM.expectEmit(True, True, True, True, self.harness.address)
    log UnorderedNonceUsed(account=ALICE, nonce=42)
    extcall VM.prank(ALICE)
    extcall self.harness.use_unordered_nonce(42)
    assert staticcall self.harness.is_nonce_used(ALICE, 42)
    assert not staticcall self.harness.is_nonce_used(BOB, 42)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: nonce already used")
    extcall self.harness.use_unordered_nonce(42)


@external
def test_unordered_nonces_any_order():
    """
    @notice Unordered nonces can be spent in any order, gaps included.
    """
    extcall VM.startPrank(ALICE)
    extcall self.harness.use_unordered_nonce(300)
    extcall self.harness.use_unordered_nonce(7)
    extcall self.harness.use_unordered_nonce(max_value(uint256))
    extcall self.harness.use_unordered_nonce(0)
    extcall VM.stopPrank()
    assert staticcall self.harness.nonce_bitmap(ALICE, 0) == (1 << 7) | 1
    assert staticcall self.harness.nonce_bitmap(ALICE, 1) == 1 << 44
    assert staticcall self.harness.nonce_bitmap(ALICE, max_value(uint256) >> 8) == 1 << 255
    assert not staticcall self.harness.is_nonce_used(ALICE, 1)


@external
def test_unordered_and_sequential_are_separate():
    """
    @notice Spending unordered nonce 0 leaves sequential nonce 0 unspent, and the other way round.
    """
    extcall VM.prank(ALICE)
    extcall self.harness.use_unordered_nonce(0)
    assert staticcall self.harness.nonces(ALICE) == 0
    extcall VM.prank(BOB)
    extcall self.harness.use_nonce()
    assert not staticcall self.harness.is_nonce_used(BOB, 0)


@external
def test_invalidate_unordered_nonces_cancels_mask():
    """
    @notice Cancelling a mask marks exactly its bits, with its event; cancelled nonces cannot be
            used, the others still can.
    """
    mask: uint256 = (1 << 3) | (1 << 200)
    extcall VM.expectEmit(True, True, True, True, self.harness.address)
    log UnorderedNoncesInvalidated(account=ALICE, word_index=2, mask=mask)
    extcall VM.prank(ALICE)
    extcall self.harness.invalidate_unordered_nonces(2, mask)
    assert staticcall self.harness.nonce_bitmap(ALICE, 2) == mask
    assert staticcall self.harness.is_nonce_used(ALICE, 2 * 256 + 3)
    assert staticcall self.harness.is_nonce_used(ALICE, 2 * 256 + 200)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: nonce already used")
    extcall self.harness.use_unordered_nonce(2 * 256 + 3)
    extcall VM.prank(ALICE)
    extcall self.harness.use_unordered_nonce(2 * 256 + 4)
    assert staticcall self.harness.nonce_bitmap(ALICE, 2) == mask | (1 << 4)
    assert staticcall self.harness.nonce_bitmap(BOB, 2) == 0


@external
def test_invalidate_unordered_nonces_keeps_used_bits():
    """
    @notice Cancelling ORs into the word: bits already used stay set.
    """
    extcall VM.startPrank(ALICE)
    extcall self.harness.use_unordered_nonce(1)
    extcall self.harness.invalidate_unordered_nonces(0, 1 << 2)
    extcall VM.stopPrank()
    assert staticcall self.harness.nonce_bitmap(ALICE, 0) == (1 << 1) | (1 << 2)


@external
def test_invalidate_unordered_nonces_rejects_empty_mask():
    """
    @notice An empty mask cancels nothing and is rejected: "nonces: empty mask".
    """
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: empty mask")
    extcall self.harness.invalidate_unordered_nonces(0, 0)


@external
def testFuzz_bitmap_position(nonce: uint256):
    """
    @notice For any nonce: the used bit is 1 << (nonce & 255) in word nonce >> 8, and nothing else
            is marked; a second use reverts.
    @param nonce The unordered nonce.
    """
    extcall VM.prank(ALICE)
    extcall self.harness.use_unordered_nonce(nonce)
    assert staticcall self.harness.nonce_bitmap(ALICE, nonce >> 8) == 1 << (nonce & 255)
    assert staticcall self.harness.is_nonce_used(ALICE, nonce)
    # Flipping bit 0 or bit 8 of a nonce gives a different nonce in the same or a neighbouring word.
    assert not staticcall self.harness.is_nonce_used(ALICE, nonce ^ 1)
    assert not staticcall self.harness.is_nonce_used(ALICE, nonce ^ 256)
    assert not staticcall self.harness.is_nonce_used(BOB, nonce)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"nonces: nonce already used")
    extcall self.harness.use_unordered_nonce(nonce)


@external
def testFuzz_two_unordered_nonces_independent(first: uint256, second: uint256):
    """
    @notice Any two distinct nonces can both be spent, in either word arrangement.
    @param first The first nonce.
    @param second Another nonce.
    """
    extcall VM.assume(first != second)
    extcall VM.prank(ALICE)
    extcall self.harness.use_unordered_nonce(first)
    assert not staticcall self.harness.is_nonce_used(ALICE, second)
    extcall VM.prank(ALICE)
    extcall self.harness.use_unordered_nonce(second)
    assert staticcall self.harness.is_nonce_used(ALICE, first)
    assert staticcall self.harness.is_nonce_used(ALICE, second)
    if first >> 8 == second >> 8:
        assert staticcall self.harness.nonce_bitmap(ALICE, first >> 8) == (1 << (first & 255)) | (1 << (second & 255))


@external
def testFuzz_invalidation_mask(word_seed: uint256, mask: uint256, bit_seed: uint8):
    """
    @notice For any word and non-empty mask: the word becomes the mask, a nonce of the word is
            used exactly when its bit is in the mask, and spending an unmasked one adds its bit.
    @param word_seed Picks the bitmap word (reduced below 2**248, the range of nonce >> 8).
    @param mask The cancellation mask.
    @param bit_seed A bit of the word to probe.
    """
    extcall VM.assume(mask != 0)
    word_index: uint256 = word_seed % (1 << 248)
    extcall VM.prank(ALICE)
    extcall self.harness.invalidate_unordered_nonces(word_index, mask)
    assert staticcall self.harness.nonce_bitmap(ALICE, word_index) == mask
    bit: uint256 = convert(bit_seed, uint256)
    nonce: uint256 = (word_index << 8) | bit
    masked: bool = mask & (1 << bit) != 0
    assert staticcall self.harness.is_nonce_used(ALICE, nonce) == masked
    extcall VM.prank(ALICE)
    if masked:
        extcall VM.expectRevert(b"nonces: nonce already used")
        extcall self.harness.use_unordered_nonce(nonce)
        assert staticcall self.harness.nonce_bitmap(ALICE, word_index) == mask
    else:
        extcall self.harness.use_unordered_nonce(nonce)
        assert staticcall self.harness.nonce_bitmap(ALICE, word_index) == mask | (1 << bit)


@external
def testFuzz_invalidation_masks_accumulate(word_index: uint256, first: uint256, second: uint256):
    """
    @notice Two cancellations of the same word leave their union; no bit is ever cleared.
    @param word_index The bitmap word.
    @param first The first mask.
    @param second The second mask.
    """
    extcall VM.assume(first != 0 and second != 0)
    extcall VM.startPrank(ALICE)
    extcall self.harness.invalidate_unordered_nonces(word_index, first)
    extcall self.harness.invalidate_unordered_nonces(word_index, second)
    extcall VM.stopPrank()
    assert staticcall self.harness.nonce_bitmap(ALICE, word_index) == first | second


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
