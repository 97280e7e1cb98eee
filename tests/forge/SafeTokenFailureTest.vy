# pragma version ~=0.4.3
"""
@title SafeTokenFailureTest
@license Apache-2.0
@notice Forge tests of the failure modes of the `safe_token` module (through contracts/mocks/SafeTokenHarness.vy):
        revert data re-raised byte for byte (reason strings, custom errors, empty data, data at and above the
        1024-byte buffer), return data that is neither empty nor a 32-byte boolean, addresses without code,
        and zero amounts that make no call at all.
"""

from .interfaces import IVm

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)

BOB: constant(address) = 0x00000000000000000000000000000000000b0B0b
EOA: constant(address) = 0x000000000000000000000000000000000000dEaD
IDENTITY_PRECOMPILE: constant(address) = 0x0000000000000000000000000000000000000004
MAX_RETURN_DATA: constant(uint256) = 1024
HIGH_BIT: constant(uint256) = 2**255


interface SafeTokenHarness:
    def safe_transfer(token: address, to: address, amount: uint256): nonpayable
    def safe_transfer_from(token: address, owner: address, to: address, amount: uint256): nonpayable
    def safe_approve(token: address, spender: address, amount: uint256): nonpayable
    def safe_transfer_exact(token: address, to: address, amount: uint256): nonpayable
    def safe_transfer_from_exact(token: address, owner: address, to: address, amount: uint256): nonpayable


interface RevertingToken:
    def set_revert_data(data: Bytes[2048]): nonpayable
    def clear_revert_data(): nonpayable
    def mint(to: address, amount: uint256): nonpayable


interface MalformedReturnToken:
    def set_reply(data: Bytes[2048]): nonpayable


harness: SafeTokenHarness
rev: address
malformed: address


@external
def setUp():
    """
    @notice Deploys the harness, a reverting token and a token with configurable raw return data.
    """
    self.harness = SafeTokenHarness(extcall VM.deployCode("SafeTokenHarness.vy"))
    self.rev = extcall VM.deployCode("RevertingToken.vy")
    self.malformed = extcall VM.deployCode("MalformedReturnToken.vy")
    extcall RevertingToken(self.rev).mint(self.harness.address, 1000)
    extcall RevertingToken(self.rev).mint(self, 1000)


@internal
def _expect_all_revert(
    token: address, transfer_data: Bytes[1024], transfer_from_data: Bytes[1024], approve_data: Bytes[1024]
):
    """
    @notice Expects each of the five wrappers, called with a nonzero amount, to revert with the given data.
    @param token The token.
    @param transfer_data Expected revert data of safe_transfer and safe_transfer_exact.
    @param transfer_from_data Expected revert data of safe_transfer_from and safe_transfer_from_exact.
    @param approve_data Expected revert data of safe_approve.
    """
    extcall VM.expectRevert(transfer_data)
    extcall self.harness.safe_transfer(token, BOB, 1)
    extcall VM.expectRevert(transfer_data)
    extcall self.harness.safe_transfer_exact(token, BOB, 1)
    extcall VM.expectRevert(transfer_from_data)
    extcall self.harness.safe_transfer_from(token, self, BOB, 1)
    extcall VM.expectRevert(transfer_from_data)
    extcall self.harness.safe_transfer_from_exact(token, self, BOB, 1)
    extcall VM.expectRevert(approve_data)
    extcall self.harness.safe_approve(token, BOB, 1)


# ---------------------------------------------------------------------------------------------------------------
# Reverting token: revert data re-raised unchanged
# ---------------------------------------------------------------------------------------------------------------


@external
def test_revert_reason_bubbled():
    """
    @notice The token's own reason string comes out of every wrapper unchanged.
    """
    reason: Bytes[1024] = b"reverting_token: always reverts"
    self._expect_all_revert(self.rev, reason, reason, reason)


@external
def test_custom_error_bubbled_exactly():
    """
    @notice Raw revert data (a custom error: selector and two words) comes out of every wrapper byte for byte.
    """
    selector: Bytes[4] = method_id("InsufficientBalance(address,uint256)")
    data: Bytes[1024] = concat(selector, abi_encode(BOB, convert(42, uint256)))
    extcall RevertingToken(self.rev).set_revert_data(data)
    self._expect_all_revert(self.rev, data, data, data)


@external
def test_empty_revert_data_gets_a_reason():
    """
    @notice A token that reverts without data gets "safe_token: <op> reverted" for its operation, through every
            wrapper.
    """
    extcall RevertingToken(self.rev).set_revert_data(b"")
    extcall VM.expectRevert(b"safe_token: transfer reverted")
    extcall self.harness.safe_transfer(self.rev, BOB, 1)
    extcall VM.expectRevert(b"safe_token: transfer reverted")
    extcall self.harness.safe_transfer_exact(self.rev, BOB, 1)
    extcall VM.expectRevert(b"safe_token: transfer_from reverted")
    extcall self.harness.safe_transfer_from(self.rev, self, BOB, 1)
    extcall VM.expectRevert(b"safe_token: transfer_from reverted")
    extcall self.harness.safe_transfer_from_exact(self.rev, self, BOB, 1)
    extcall VM.expectRevert(b"safe_token: approve reverted")
    extcall self.harness.safe_approve(self.rev, BOB, 1)


@external
def test_revert_data_at_buffer_limit_bubbled_exactly():
    """
    @notice Revert data of exactly 1024 bytes (the wrappers' buffer) is re-raised unchanged.
    """
    words: uint256[32] = empty(uint256[32])
    for i: uint256 in range(32):
        words[i] = i + 1
    data: Bytes[1024] = abi_encode(words)  # a static array encodes in place: 32 words, 1024 bytes
    assert len(data) == MAX_RETURN_DATA, "test data length"
    extcall RevertingToken(self.rev).set_revert_data(data)
    self._expect_all_revert(self.rev, data, data, data)


@external
def test_revert_data_above_buffer_limit_truncated():
    """
    @notice Revert data longer than 1024 bytes is re-raised truncated to its first 1024 bytes (documented limit).
    """
    words: uint256[47] = empty(uint256[47])
    for i: uint256 in range(47):
        words[i] = i + 1
    data: Bytes[1504] = abi_encode(words)  # 47 words, 1504 bytes
    extcall RevertingToken(self.rev).set_revert_data(data)
    head: Bytes[1024] = slice(data, 0, 1024)
    self._expect_all_revert(self.rev, head, head, head)


# ---------------------------------------------------------------------------------------------------------------
# Zero amounts: no call at all (approve excepted)
# ---------------------------------------------------------------------------------------------------------------


@external
def test_zero_amount_makes_no_call():
    """
    @notice A zero-amount transfer or transfer_from (plain and `_exact`) makes no call: it succeeds on a token
            whose every call reverts, and on one whose every call returns malformed data.
    """
    for token: address in [self.rev, self.malformed]:
        extcall self.harness.safe_transfer(token, BOB, 0)
        extcall self.harness.safe_transfer_from(token, self, BOB, 0)
        extcall self.harness.safe_transfer_exact(token, BOB, 0)
        extcall self.harness.safe_transfer_from_exact(token, self, BOB, 0)


@external
def test_zero_amount_approve_still_calls():
    """
    @notice safe_approve with amount 0 does call the token (revoking an allowance must reach it).
    """
    extcall VM.expectRevert(b"reverting_token: always reverts")
    extcall self.harness.safe_approve(self.rev, BOB, 0)
    extcall VM.expectRevert(b"safe_token: approve returned malformed data")
    extcall self.harness.safe_approve(self.malformed, BOB, 0)


# ---------------------------------------------------------------------------------------------------------------
# Addresses without code
# ---------------------------------------------------------------------------------------------------------------


@external
def test_no_code_token_rejected():
    """
    @notice An address without code (an EOA, the zero address, a precompile) is rejected by every wrapper with
            "safe_token: token has no code", zero amounts included (a call to it would succeed and return nothing).
    """
    for token: address in [EOA, empty(address), IDENTITY_PRECOMPILE]:
        for amount: uint256 in [1, 0]:
            extcall VM.expectRevert(b"safe_token: token has no code")
            extcall self.harness.safe_transfer(token, BOB, amount)
            extcall VM.expectRevert(b"safe_token: token has no code")
            extcall self.harness.safe_transfer_from(token, self, BOB, amount)
            extcall VM.expectRevert(b"safe_token: token has no code")
            extcall self.harness.safe_approve(token, BOB, amount)
            extcall VM.expectRevert(b"safe_token: token has no code")
            extcall self.harness.safe_transfer_exact(token, BOB, amount)
            extcall VM.expectRevert(b"safe_token: token has no code")
            extcall self.harness.safe_transfer_from_exact(token, self, BOB, amount)


@external
def test_code_check_precedes_self_transfer_check():
    """
    @notice A code-less token is reported as such even when the `_exact` call is also a self transfer.
    """
    extcall VM.expectRevert(b"safe_token: token has no code")
    extcall self.harness.safe_transfer_exact(EOA, self.harness.address, 1)


# ---------------------------------------------------------------------------------------------------------------
# Return data that is neither empty nor a 32-byte boolean
# ---------------------------------------------------------------------------------------------------------------


@external
def test_non_boolean_word_rejected():
    """
    @notice A 32-byte word other than 0 or 1 (here 2, then 2**255) is rejected: "safe_token: <op> returned
            malformed data".
    """
    self._expect_all_revert(
        self.malformed,
        b"safe_token: transfer returned malformed data",
        b"safe_token: transfer_from returned malformed data",
        b"safe_token: approve returned malformed data",
    )
    extcall MalformedReturnToken(self.malformed).set_reply(abi_encode(HIGH_BIT))
    self._expect_all_revert(
        self.malformed,
        b"safe_token: transfer returned malformed data",
        b"safe_token: transfer_from returned malformed data",
        b"safe_token: approve returned malformed data",
    )


@external
def test_long_return_data_rejected():
    """
    @notice 64 bytes starting with an ABI `true` are rejected, not read as true.
    """
    extcall MalformedReturnToken(self.malformed).set_reply(abi_encode(True, True))
    self._expect_all_revert(
        self.malformed,
        b"safe_token: transfer returned malformed data",
        b"safe_token: transfer_from returned malformed data",
        b"safe_token: approve returned malformed data",
    )


@external
def test_short_return_data_rejected():
    """
    @notice 31 bytes (a truncated `true`) are rejected.
    """
    extcall MalformedReturnToken(self.malformed).set_reply(slice(abi_encode(True), 1, 31))
    self._expect_all_revert(
        self.malformed,
        b"safe_token: transfer returned malformed data",
        b"safe_token: transfer_from returned malformed data",
        b"safe_token: approve returned malformed data",
    )


@external
def test_raw_true_and_empty_accepted_raw_false_rejected():
    """
    @notice Raw return data of exactly 32 bytes holding 1, or of 0 bytes, is accepted; 32 bytes holding 0 is
            "returned false".
    """
    extcall MalformedReturnToken(self.malformed).set_reply(abi_encode(True))
    self._expect_all_succeed(self.malformed)
    extcall MalformedReturnToken(self.malformed).set_reply(b"")
    self._expect_all_succeed(self.malformed)
    extcall MalformedReturnToken(self.malformed).set_reply(abi_encode(False))
    extcall VM.expectRevert(b"safe_token: transfer returned false")
    extcall self.harness.safe_transfer(self.malformed, BOB, 1)
    extcall VM.expectRevert(b"safe_token: transfer_from returned false")
    extcall self.harness.safe_transfer_from(self.malformed, self, BOB, 1)
    extcall VM.expectRevert(b"safe_token: approve returned false")
    extcall self.harness.safe_approve(self.malformed, BOB, 1)


@external
def testFuzz_return_data_classification(word: uint256, length: uint256, small: bool):
    """
    @notice For any return data of 0 to 96 bytes (cut from repeated copies of a word): empty or a 32-byte 1 is
            accepted, a 32-byte 0 is "returned false", anything else is "returned malformed data".
    @param word The word the data is cut from.
    @param length The data length, bounded to [0, 96].
    @param small When True the word is reduced modulo 3, so 0 and 1 come up often.
    """
    w: uint256 = word
    if small:
        w = word % 3
    size: uint256 = length % 97
    data: Bytes[96] = slice(concat(abi_encode(w), abi_encode(w), abi_encode(w)), 0, size)
    extcall MalformedReturnToken(self.malformed).set_reply(data)
    if size == 0 or (size == 32 and w == 1):
        self._expect_all_succeed(self.malformed)
        return
    if size == 32 and w == 0:
        extcall VM.expectRevert(b"safe_token: transfer returned false")
        extcall self.harness.safe_transfer(self.malformed, BOB, 1)
        extcall VM.expectRevert(b"safe_token: transfer_from returned false")
        extcall self.harness.safe_transfer_from(self.malformed, self, BOB, 1)
        extcall VM.expectRevert(b"safe_token: approve returned false")
        extcall self.harness.safe_approve(self.malformed, BOB, 1)
        return
    extcall VM.expectRevert(b"safe_token: transfer returned malformed data")
    extcall self.harness.safe_transfer(self.malformed, BOB, 1)
    extcall VM.expectRevert(b"safe_token: transfer_from returned malformed data")
    extcall self.harness.safe_transfer_from(self.malformed, self, BOB, 1)
    extcall VM.expectRevert(b"safe_token: approve returned malformed data")
    extcall self.harness.safe_approve(self.malformed, BOB, 1)


@internal
def _expect_all_succeed(token: address):
    """
    @notice Calls safe_transfer, safe_transfer_from and safe_approve with a nonzero amount; each must succeed.
    @param token The token.
    """
    extcall self.harness.safe_transfer(token, BOB, 1)
    extcall self.harness.safe_transfer_from(token, self, BOB, 1)
    extcall self.harness.safe_approve(token, BOB, 1)
