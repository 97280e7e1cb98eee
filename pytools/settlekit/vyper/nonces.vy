# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title nonces
@notice Replay protection for signed messages, in two flavours that share no state:

        - sequential nonces: one counter per account, used in order (0, 1, 2, ...); a message
          signed for nonce n is valid only while the counter is n. Suits permit-like actions.
        - unordered nonces: any 256-bit value, each usable once, kept in a bitmap of 256-bit
          words per account (nonce n lives in word n >> 8 at bit n & 255). Suits intents that
          may be filled in any order; a whole word of them can be cancelled in one call.

        A nonce, once used or cancelled, can never be used again; nothing here ever clears a bit
        or lowers a counter.
@dev A deployable declares `initializes:` on this module and exports the external functions and
     getters it wants. Import it under another name (for example
     `from ..modules import nonces as nonce_book`): exporting the `nonces` getter from a module
     itself named `nonces` is a namespace collision in the deployable. Callers must consume the nonce (`_use_nonce`, `_use_checked_nonce`,
     `_use_unordered_nonce`) before making any external call, so that a reentrant call cannot
     replay the same message.
"""


# @notice The largest step `invalidate_nonces` may take at once. Capping it keeps the counter far
#         below 2**256 - 1, so `_use_nonce` can never be made to overflow by a caller.
MAX_NONCE_JUMP: constant(uint256) = 65535


# @notice The next sequential nonce of each account.
nonces: public(HashMap[address, uint256])

# @notice The unordered nonce bitmap: account => word index => word. Bit b of word w is set once
#         nonce (w << 8) | b has been used or cancelled.
nonce_bitmap: public(HashMap[address, HashMap[uint256, uint256]])


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


@external
@view
def is_nonce_used(account: address, nonce: uint256) -> bool:
    """
    @notice Tells whether an unordered nonce of `account` is used or cancelled.
    @param account The account.
    @param nonce The unordered nonce.
    @return True if the nonce can no longer be used.
    """
    word_index: uint256 = 0
    bit: uint256 = 0
    word_index, bit = self._bitmap_position(nonce)
    return self.nonce_bitmap[account][word_index] & bit != 0


@external
def invalidate_nonces(new_nonce: uint256):
    """
    @notice Moves the caller's sequential nonce forward to `new_nonce`, cancelling every message
            signed for a nonce below it that has not been used yet.
    @dev Forward only, by at most MAX_NONCE_JUMP at a time.
    @param new_nonce The caller's next sequential nonce.
    """
    old_nonce: uint256 = self.nonces[msg.sender]
    assert new_nonce > old_nonce, "nonces: can only increase"
    # new_nonce > old_nonce, so the subtraction cannot underflow.
    assert unsafe_sub(new_nonce, old_nonce) <= MAX_NONCE_JUMP, "nonces: excessive invalidation"
    self.nonces[msg.sender] = new_nonce
    log NoncesInvalidated(account=msg.sender, old_nonce=old_nonce, new_nonce=new_nonce)


@external
def invalidate_unordered_nonces(word_index: uint256, mask: uint256):
    """
    @notice Cancels the caller's unordered nonces whose bits are set in `mask`, within word
            `word_index` (nonces word_index * 256 to word_index * 256 + 255). Bits already set
            stay set.
    @param word_index The bitmap word (nonce >> 8).
    @param mask The bits to set (bit b cancels nonce (word_index << 8) | b); must not be zero.
    """
    assert mask != 0, "nonces: empty mask"
    self.nonce_bitmap[msg.sender][word_index] |= mask
    log UnorderedNoncesInvalidated(account=msg.sender, word_index=word_index, mask=mask)


@internal
def _use_nonce(account: address) -> uint256:
    """
    @notice Uses the next sequential nonce of `account`.
    @param account The account.
    @return The nonce just used (the value before the increment).
    """
    nonce: uint256 = self.nonces[account]
    # Checked: the counter only grows by one per use or by at most MAX_NONCE_JUMP per
    # invalidation, so reaching 2**256 - 1 is out of reach; the check costs a few gas.
    self.nonces[account] = nonce + 1
    log NonceUsed(account=account, nonce=nonce)
    return nonce


@internal
def _use_checked_nonce(account: address, expected: uint256):
    """
    @notice Uses the next sequential nonce of `account`, reverting unless it equals `expected`.
    @param account The account.
    @param expected The nonce the message was signed for.
    """
    assert self._use_nonce(account) == expected, "nonces: invalid nonce"


@internal
def _use_unordered_nonce(account: address, nonce: uint256):
    """
    @notice Uses the unordered nonce `nonce` of `account`; reverts if it is used or cancelled.
    @param account The account.
    @param nonce The unordered nonce.
    """
    word_index: uint256 = 0
    bit: uint256 = 0
    word_index, bit = self._bitmap_position(nonce)
    word: uint256 = self.nonce_bitmap[account][word_index]
    assert word & bit == 0, "nonces: nonce already used"
    self.nonce_bitmap[account][word_index] = word | bit
    log UnorderedNonceUsed(account=account, nonce=nonce)


@internal
@pure
def _bitmap_position(nonce: uint256) -> (uint256, uint256):
    """
    @notice Where an unordered nonce lives in the bitmap.
    @param nonce The unordered nonce.
    @return The word index (nonce >> 8) and the one-bit mask (1 << (nonce & 255)).
    """
    return nonce >> 8, 1 << (nonce & 255)
