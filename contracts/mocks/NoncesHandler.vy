# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title NoncesHandler
@notice Invariant-test handler for the nonces module (through SafetyHarness). The fuzzer calls its
        actions with random arguments; each action has one of three actors spend or cancel nonces
        and records, in ghost variables, a model of what must have happened and every departure
        from it. NoncesInvariantTest asserts that no departure was ever recorded.
@dev Test-only. Actions never revert: calls into the harness go through raw_call with
     revert_on_failure=False so that failures can be judged against the model. Unordered nonces
     are drawn from 64 bits of four words (0, 1, 1000 and the last word, 2**248 - 1) so that uses,
     reuses and cancellations collide often.
"""


from . import SafetyHarness


interface Vm:
    def prank(sender: address): nonpayable


struct Spent:
    account: address
    nonce: uint256
    cancelled: bool


VM: constant(Vm) = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)

# @notice The accounts whose nonces the handler spends.
ACTORS: public(constant(address[3])) = [
    0x00000000000000000000000000000000000000A1,
    0x00000000000000000000000000000000000000A2,
    0x00000000000000000000000000000000000000A3,
]

# @notice The bitmap words unordered nonces are drawn from (the last is (2**256 - 1) >> 8).
WORDS: public(constant(uint256[4])) = [0, 1, 1000, 452312848583266388373324160190187140051835877600158453279131187530910662655]

# @notice How many spent or cancelled nonces the handler remembers for reuse attempts.
MAX_SPENT: constant(uint256) = 1024

# @notice The largest forward step of invalidate_nonces (as in the nonces module).
MAX_NONCE_JUMP: constant(uint256) = 65535


# @notice The harness under test.
harness: public(SafetyHarness.__interface__)

# @notice Model: each actor's sequential nonce.
expected_nonce: public(HashMap[address, uint256])

# @notice Model: each actor's unordered bitmap (only the words in WORDS are ever touched).
model_bitmap: public(HashMap[address, HashMap[uint256, uint256]])

# @notice Model: the bits set by cancellation (a subset of model_bitmap).
cancelled_bitmap: public(HashMap[address, HashMap[uint256, uint256]])

# @notice Nonces known to be spent or cancelled, for reuse attempts and the invariant test.
spent: public(DynArray[Spent, MAX_SPENT])

# @notice Ghost: times a sequential nonce was seen lower than before.
sequential_decreases: public(uint256)

# @notice Ghost: times use_checked_nonce succeeded with a value other than the current nonce, or
#         failed with the current one.
checked_mismatches: public(uint256)

# @notice Ghost: times a sequential use or invalidation did not end as the model says.
sequential_mismatches: public(uint256)

# @notice Ghost: times an unordered nonce already spent or cancelled was used again.
double_uses: public(uint256)

# @notice Ghost: of those, times the nonce had been cancelled.
cancelled_uses: public(uint256)

# @notice Ghost: times a fresh unordered nonce could not be used, or a cancellation failed or
#         succeeded against the model.
unordered_mismatches: public(uint256)

# @notice Coverage: rejected reuse attempts (each one a check of "never usable twice").
rejected_reuses: public(uint256)

# @notice Coverage: successful unordered uses.
unordered_uses: public(uint256)

# @notice The sequential nonce last observed for each actor.
_last_seen: HashMap[address, uint256]


@deploy
def __init__(harness: address):
    """
    @notice Binds the handler to a harness.
    @param harness The SafetyHarness under test.
    """
    self.harness = SafetyHarness.__interface__(harness)


@external
def use_nonce(actor_seed: uint256):
    """
    @notice An actor spends its next sequential nonce.
    @param actor_seed Picks the actor.
    """
    actor: address = ACTORS[actor_seed % 3]
    extcall VM.prank(actor)
    success: bool = raw_call(
        self.harness.address, method_id("use_nonce()"), revert_on_failure=False
    )
    if success:
        self.expected_nonce[actor] += 1
    else:
        self.sequential_mismatches += 1
    self._observe_sequential(actor)


@external
def use_checked_nonce(actor_seed: uint256, guess: uint256):
    """
    @notice An actor spends its sequential nonce through the checked path, offering either the
            current nonce (even guesses) or an arbitrary value (odd guesses).
    @param actor_seed Picks the actor.
    @param guess Picks the value offered.
    """
    actor: address = ACTORS[actor_seed % 3]
    current: uint256 = staticcall self.harness.nonces(actor)
    offered: uint256 = current if guess % 2 == 0 else guess
    extcall VM.prank(actor)
    success: bool = raw_call(
        self.harness.address,
        abi_encode(offered, method_id=method_id("use_checked_nonce(uint256)")),
        revert_on_failure=False,
    )
    if success != (offered == current):
        self.checked_mismatches += 1
    if success:
        self.expected_nonce[actor] += 1
    self._observe_sequential(actor)


@external
def invalidate_nonces(actor_seed: uint256, step: uint256):
    """
    @notice An actor moves its sequential nonce forward by 0 to MAX_NONCE_JUMP + 1 (the ends fail).
    @param actor_seed Picks the actor.
    @param step Picks the step.
    """
    actor: address = ACTORS[actor_seed % 3]
    current: uint256 = staticcall self.harness.nonces(actor)
    jump: uint256 = step % (MAX_NONCE_JUMP + 2)
    target: uint256 = current + jump
    extcall VM.prank(actor)
    success: bool = raw_call(
        self.harness.address,
        abi_encode(target, method_id=method_id("invalidate_nonces(uint256)")),
        revert_on_failure=False,
    )
    if success != (jump != 0 and jump <= MAX_NONCE_JUMP):
        self.sequential_mismatches += 1
    if success:
        self.expected_nonce[actor] = target
    self._observe_sequential(actor)


@external
def use_unordered_nonce(actor_seed: uint256, nonce_seed: uint256):
    """
    @notice An actor spends an unordered nonce, fresh or not.
    @param actor_seed Picks the actor.
    @param nonce_seed Picks the nonce.
    """
    self._try_unordered(ACTORS[actor_seed % 3], self._pick_nonce(nonce_seed))


@external
def reuse_spent_nonce(index_seed: uint256):
    """
    @notice Tries again a nonce already spent or cancelled.
    @param index_seed Picks the remembered nonce.
    """
    count: uint256 = len(self.spent)
    if count == 0:
        return
    entry: Spent = self.spent[index_seed % count]
    self._try_unordered(entry.account, entry.nonce)


@external
def invalidate_unordered_nonces(actor_seed: uint256, word_seed: uint256, mask: uint256):
    """
    @notice An actor cancels a mask of one of its words (an empty mask must fail).
    @param actor_seed Picks the actor.
    @param word_seed Picks the word.
    @param mask The bits to cancel.
    """
    actor: address = ACTORS[actor_seed % 3]
    word_index: uint256 = WORDS[word_seed % 4]
    extcall VM.prank(actor)
    success: bool = raw_call(
        self.harness.address,
        abi_encode(word_index, mask, method_id=method_id("invalidate_unordered_nonces(uint256,uint256)")),
        revert_on_failure=False,
    )
    if success != (mask != 0):
        self.unordered_mismatches += 1
    if not success:
        return
    fresh: uint256 = mask & ~self.model_bitmap[actor][word_index]
    self.model_bitmap[actor][word_index] |= mask
    self.cancelled_bitmap[actor][word_index] |= fresh
    # Remember the lowest and highest newly cancelled bits for reuse attempts.
    if fresh != 0:
        self._remember(actor, (word_index << 8) | self._lowest_bit(fresh), True)
        self._remember(actor, (word_index << 8) | self._highest_bit(fresh), True)


@external
@view
def spent_count() -> uint256:
    """
    @notice How many spent or cancelled nonces are remembered.
    @return The length of `spent`.
    """
    return len(self.spent)


@internal
def _try_unordered(actor: address, nonce: uint256):
    """
    @notice Has `actor` try to spend `nonce` and judges the outcome against the model.
    @param actor The account.
    @param nonce The unordered nonce.
    """
    word_index: uint256 = nonce >> 8
    bit: uint256 = 1 << (nonce & 255)
    already: bool = self.model_bitmap[actor][word_index] & bit != 0
    extcall VM.prank(actor)
    success: bool = raw_call(
        self.harness.address,
        abi_encode(nonce, method_id=method_id("use_unordered_nonce(uint256)")),
        revert_on_failure=False,
    )
    if success and already:
        self.double_uses += 1
        if self.cancelled_bitmap[actor][word_index] & bit != 0:
            self.cancelled_uses += 1
    elif not success and not already:
        self.unordered_mismatches += 1
    elif not success:
        self.rejected_reuses += 1
    if success:
        self.unordered_uses += 1
        self.model_bitmap[actor][word_index] |= bit
        self._remember(actor, nonce, False)


@internal
def _observe_sequential(actor: address):
    """
    @notice Compares an actor's sequential nonce with the last value seen and with the model.
    @param actor The account.
    """
    now: uint256 = staticcall self.harness.nonces(actor)
    if now < self._last_seen[actor]:
        self.sequential_decreases += 1
    if now != self.expected_nonce[actor]:
        self.sequential_mismatches += 1
    self._last_seen[actor] = now


@internal
def _remember(actor: address, nonce: uint256, cancelled: bool):
    """
    @notice Remembers a spent or cancelled nonce while there is room.
    @param actor The account.
    @param nonce The nonce.
    @param cancelled Whether it was cancelled rather than used.
    """
    if len(self.spent) < MAX_SPENT:
        self.spent.append(Spent(account=actor, nonce=nonce, cancelled=cancelled))


@internal
@pure
def _pick_nonce(seed: uint256) -> uint256:
    """
    @notice Maps a seed to a nonce in one of the WORDS, within its low 64 bits.
    @param seed The fuzzer's value.
    @return The nonce.
    """
    return (WORDS[seed % 4] << 8) | ((seed >> 2) % 64)


@internal
@pure
def _lowest_bit(mask: uint256) -> uint256:
    """
    @notice The index of the lowest set bit of a mask.
    @param mask The mask; callers pass a non-zero one.
    @return The bit index, 0 to 255 (0 for an empty mask).
    """
    for i: uint256 in range(256):
        if mask & (1 << i) != 0:
            return i
    return 0


@internal
@pure
def _highest_bit(mask: uint256) -> uint256:
    """
    @notice The index of the highest set bit of a mask.
    @param mask The mask; callers pass a non-zero one.
    @return The bit index, 0 to 255 (0 for an empty mask).
    """
    for i: uint256 in range(256):
        # i < 256, so 255 - i cannot underflow.
        bit_index: uint256 = unsafe_sub(255, i)
        if mask & (1 << bit_index) != 0:
            return bit_index
    return 0
