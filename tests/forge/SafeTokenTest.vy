# pragma version ~=0.4.3
"""
@title SafeTokenTest
@license Apache-2.0
@notice Forge tests of the `safe_token` module (through contracts/mocks/SafeTokenHarness.vy) on well-behaved
        tokens: a standard ERC-20 (18 and 6 decimals), a USDT-style token that returns nothing, a token that
        returns false, and a fee-on-transfer token, through each wrapper; the balance-delta check of the `_exact`
        variants; the self-transfer guard. Failure modes (reverting, malformed, code-less and zero-amount cases)
        are in SafeTokenFailureTest.vy.
"""

from .interfaces import IVm

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
VM_ADDRESS: constant(address) = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D

BOB: constant(address) = 0x00000000000000000000000000000000000b0B0b
BPS: constant(uint256) = 10_000
FEE_BPS: constant(uint256) = 100  # 1%


interface SafeTokenHarness:
    def safe_transfer(token: address, to: address, amount: uint256): nonpayable
    def safe_transfer_from(token: address, owner: address, to: address, amount: uint256): nonpayable
    def safe_approve(token: address, spender: address, amount: uint256): nonpayable
    def safe_transfer_exact(token: address, to: address, amount: uint256): nonpayable
    def safe_transfer_from_exact(token: address, owner: address, to: address, amount: uint256): nonpayable


interface Token:
    def balanceOf(account: address) -> uint256: view
    def allowance(owner: address, spender: address) -> uint256: view
    def totalSupply() -> uint256: view
    def decimals() -> uint8: view
    def mint(to: address, amount: uint256): nonpayable
    def approve(spender: address, amount: uint256) -> bool: nonpayable


interface NoReturnToken:
    def approve(spender: address, amount: uint256): nonpayable


interface FalseReturnToken:
    def set_always_false(always_false_: bool): nonpayable


interface FeeOnTransferToken:
    def set_fee_bps(fee_bps_: uint256): nonpayable


harness: SafeTokenHarness
std: Token
std6: Token
noret: Token
falsy: Token
fot: Token


@external
def setUp():
    """
    @notice Deploys the harness and one token of each well-behaved kind.
    """
    self.harness = SafeTokenHarness(extcall VM.deployCode("SafeTokenHarness.vy"))
    self.std = Token(self._deploy("MockERC20.vy", abi_encode("Mock Token", "MOCK", convert(18, uint8))))
    self.std6 = Token(self._deploy("MockERC20.vy", abi_encode("Mock USD", "MUSD", convert(6, uint8))))
    self.noret = Token(extcall VM.deployCode("NoReturnToken.vy"))
    self.falsy = Token(extcall VM.deployCode("FalseReturnToken.vy"))
    self.fot = Token(self._deploy("FeeOnTransferToken.vy", abi_encode(FEE_BPS)))


@internal
def _deploy(artifact: String[128], args: Bytes[320]) -> address:
    """
    @notice Deploys an artifact with constructor arguments through the `deployCode(string,bytes)` cheatcode.
    @dev IVm declares only the one-argument overload (Vyper interfaces cannot overload), hence raw_call.
    @param artifact The artifact path, e.g. "MockERC20.vy".
    @param args The ABI-encoded constructor arguments.
    @return The deployed address.
    """
    response: Bytes[32] = raw_call(
        VM_ADDRESS,
        abi_encode(artifact, args, method_id=method_id("deployCode(string,bytes)")),
        max_outsize=32,
    )
    return abi_decode(response, address)


@internal
def _fund_and_approve(token: Token, amount: uint256):
    """
    @notice Mints `amount` to this test contract and lets the harness spend it (standard `approve`).
    @param token The token.
    @param amount The amount.
    """
    extcall token.mint(self, amount)
    assert extcall token.approve(self.harness.address, amount), "approve failed"


# ---------------------------------------------------------------------------------------------------------------
# Standard token (returns true)
# ---------------------------------------------------------------------------------------------------------------


@external
def test_transfer_standard_token():
    """
    @notice safe_transfer moves the harness's tokens of a standard 18-decimal token.
    """
    extcall self.std.mint(self.harness.address, 1000)
    extcall self.harness.safe_transfer(self.std.address, BOB, 400)
    assert staticcall self.std.balanceOf(BOB) == 400, "receiver"
    assert staticcall self.std.balanceOf(self.harness.address) == 600, "sender"


@external
def test_transfer_standard_token_6_decimals():
    """
    @notice safe_transfer on the 6-decimal deployment of the same mock.
    """
    assert staticcall self.std6.decimals() == 6, "decimals"
    extcall self.std6.mint(self.harness.address, 5 * 10**6)
    extcall self.harness.safe_transfer(self.std6.address, BOB, 2 * 10**6)
    assert staticcall self.std6.balanceOf(BOB) == 2 * 10**6, "receiver"
    assert staticcall self.std6.balanceOf(self.harness.address) == 3 * 10**6, "sender"


@external
def test_transfer_from_standard_token():
    """
    @notice safe_transfer_from spends the harness's allowance on a standard token.
    """
    self._fund_and_approve(self.std, 700)
    extcall self.harness.safe_transfer_from(self.std.address, self, BOB, 700)
    assert staticcall self.std.balanceOf(BOB) == 700, "receiver"
    assert staticcall self.std.balanceOf(self) == 0, "owner"
    assert staticcall self.std.allowance(self, self.harness.address) == 0, "allowance spent"


@external
def test_approve_standard_token():
    """
    @notice safe_approve sets, changes and revokes (amount 0) an allowance of the harness's tokens.
    """
    extcall self.harness.safe_approve(self.std.address, BOB, 123)
    assert staticcall self.std.allowance(self.harness.address, BOB) == 123, "set"
    extcall self.harness.safe_approve(self.std.address, BOB, 456)
    assert staticcall self.std.allowance(self.harness.address, BOB) == 456, "changed"
    extcall self.harness.safe_approve(self.std.address, BOB, 0)
    assert staticcall self.std.allowance(self.harness.address, BOB) == 0, "revoked"


@external
def test_exact_variants_standard_token():
    """
    @notice safe_transfer_exact and safe_transfer_from_exact accept a standard token (delta == amount).
    """
    extcall self.std.mint(self.harness.address, 50)
    extcall self.harness.safe_transfer_exact(self.std.address, BOB, 50)
    assert staticcall self.std.balanceOf(BOB) == 50, "exact transfer"
    self._fund_and_approve(self.std, 70)
    extcall self.harness.safe_transfer_from_exact(self.std.address, self, BOB, 70)
    assert staticcall self.std.balanceOf(BOB) == 120, "exact transfer_from"


@external
def test_standard_token_revert_reason_bubbled():
    """
    @notice A standard token's own revert reason comes out of the wrappers unchanged.
    """
    extcall VM.expectRevert(b"mock_erc20: insufficient balance")
    extcall self.harness.safe_transfer(self.std.address, BOB, 1)
    extcall VM.expectRevert(b"mock_erc20: insufficient allowance")
    extcall self.harness.safe_transfer_from(self.std.address, self, BOB, 1)
    extcall VM.expectRevert(b"mock_erc20: insufficient balance")
    extcall self.harness.safe_transfer_exact(self.std.address, BOB, 1)
    extcall VM.expectRevert(b"mock_erc20: insufficient allowance")
    extcall self.harness.safe_transfer_from_exact(self.std.address, self, BOB, 1)


@external
def testFuzz_transfer_standard_token(minted: uint256, amount: uint256):
    """
    @notice For any balance and amount: safe_transfer moves exactly `amount` or reverts with the token's own
            reason when the balance is short; the total is conserved.
    @param minted The harness's balance.
    @param amount The amount to send.
    """
    extcall self.std.mint(self.harness.address, minted)
    if amount > minted:
        extcall VM.expectRevert(b"mock_erc20: insufficient balance")
        extcall self.harness.safe_transfer(self.std.address, BOB, amount)
        return
    extcall self.harness.safe_transfer(self.std.address, BOB, amount)
    assert staticcall self.std.balanceOf(BOB) == amount, "receiver"
    assert staticcall self.std.balanceOf(self.harness.address) == minted - amount, "sender"


@external
def testFuzz_transfer_from_exact_standard_token(minted: uint128, amount: uint256):
    """
    @notice For any amount up to the owner's balance, safe_transfer_from_exact on a standard token delivers
            exactly `amount` (the delta check never rejects a standard token).
    @param minted The owner's balance and allowance.
    @param amount The amount to move, reduced modulo minted + 1.
    """
    owned: uint256 = convert(minted, uint256)
    moved: uint256 = amount % (owned + 1)  # cannot overflow: owned < 2**128
    self._fund_and_approve(self.std, owned)
    extcall self.harness.safe_transfer_from_exact(self.std.address, self, BOB, moved)
    assert staticcall self.std.balanceOf(BOB) == moved, "receiver"
    assert staticcall self.std.balanceOf(self) == owned - moved, "owner"


# ---------------------------------------------------------------------------------------------------------------
# USDT-style token (returns nothing)
# ---------------------------------------------------------------------------------------------------------------


@external
def test_transfer_no_return_token():
    """
    @notice safe_transfer accepts a token whose transfer returns no data.
    """
    extcall self.noret.mint(self.harness.address, 1000)
    extcall self.harness.safe_transfer(self.noret.address, BOB, 300)
    assert staticcall self.noret.balanceOf(BOB) == 300, "receiver"
    assert staticcall self.noret.balanceOf(self.harness.address) == 700, "sender"


@external
def test_transfer_from_no_return_token():
    """
    @notice safe_transfer_from accepts a token whose transferFrom returns no data.
    """
    extcall self.noret.mint(self, 1000)
    extcall NoReturnToken(self.noret.address).approve(self.harness.address, 1000)
    extcall self.harness.safe_transfer_from(self.noret.address, self, BOB, 600)
    assert staticcall self.noret.balanceOf(BOB) == 600, "receiver"
    assert staticcall self.noret.allowance(self, self.harness.address) == 400, "allowance spent"


@external
def test_approve_no_return_token():
    """
    @notice safe_approve accepts a token whose approve returns no data.
    """
    extcall self.harness.safe_approve(self.noret.address, BOB, 999)
    assert staticcall self.noret.allowance(self.harness.address, BOB) == 999, "allowance"


@external
def test_exact_variants_no_return_token():
    """
    @notice The `_exact` variants accept a no-return token that delivers the full amount.
    """
    extcall self.noret.mint(self.harness.address, 10)
    extcall self.harness.safe_transfer_exact(self.noret.address, BOB, 10)
    extcall self.noret.mint(self, 20)
    extcall NoReturnToken(self.noret.address).approve(self.harness.address, 20)
    extcall self.harness.safe_transfer_from_exact(self.noret.address, self, BOB, 20)
    assert staticcall self.noret.balanceOf(BOB) == 30, "receiver"


@external
def test_no_return_token_revert_reason_bubbled():
    """
    @notice A no-return token's own revert reasons come out of the wrappers unchanged.
    """
    extcall VM.expectRevert(b"no_return_token: insufficient balance")
    extcall self.harness.safe_transfer(self.noret.address, BOB, 1)
    extcall VM.expectRevert(b"no_return_token: insufficient allowance")
    extcall self.harness.safe_transfer_from(self.noret.address, self, BOB, 1)


# ---------------------------------------------------------------------------------------------------------------
# Token returning false
# ---------------------------------------------------------------------------------------------------------------


@external
def test_false_return_token_succeeds_when_it_returns_true():
    """
    @notice The false-returning token works through every wrapper while it answers true.
    """
    extcall self.falsy.mint(self.harness.address, 100)
    extcall self.harness.safe_transfer(self.falsy.address, BOB, 40)
    self._fund_and_approve(self.falsy, 60)
    extcall self.harness.safe_transfer_from(self.falsy.address, self, BOB, 60)
    extcall self.harness.safe_approve(self.falsy.address, BOB, 5)
    assert staticcall self.falsy.balanceOf(BOB) == 100, "receiver"
    assert staticcall self.falsy.allowance(self.harness.address, BOB) == 5, "allowance"


@external
def test_transfer_returned_false_reverts():
    """
    @notice transfer returning false (short balance, or the always-false switch) reverts
            "safe_token: transfer returned false", through safe_transfer and safe_transfer_exact.
    """
    extcall VM.expectRevert(b"safe_token: transfer returned false")
    extcall self.harness.safe_transfer(self.falsy.address, BOB, 1)
    extcall self.falsy.mint(self.harness.address, 100)
    extcall FalseReturnToken(self.falsy.address).set_always_false(True)
    extcall VM.expectRevert(b"safe_token: transfer returned false")
    extcall self.harness.safe_transfer(self.falsy.address, BOB, 1)
    extcall VM.expectRevert(b"safe_token: transfer returned false")
    extcall self.harness.safe_transfer_exact(self.falsy.address, BOB, 1)


@external
def test_transfer_from_returned_false_reverts():
    """
    @notice transferFrom returning false (no allowance, or the always-false switch) reverts
            "safe_token: transfer_from returned false", through safe_transfer_from and its `_exact` variant.
    """
    extcall self.falsy.mint(self, 100)
    extcall VM.expectRevert(b"safe_token: transfer_from returned false")
    extcall self.harness.safe_transfer_from(self.falsy.address, self, BOB, 1)
    assert extcall self.falsy.approve(self.harness.address, 100), "approve"
    extcall FalseReturnToken(self.falsy.address).set_always_false(True)
    extcall VM.expectRevert(b"safe_token: transfer_from returned false")
    extcall self.harness.safe_transfer_from(self.falsy.address, self, BOB, 1)
    extcall VM.expectRevert(b"safe_token: transfer_from returned false")
    extcall self.harness.safe_transfer_from_exact(self.falsy.address, self, BOB, 1)


@external
def test_approve_returned_false_reverts():
    """
    @notice approve returning false reverts "safe_token: approve returned false", amount 0 included.
    """
    extcall FalseReturnToken(self.falsy.address).set_always_false(True)
    extcall VM.expectRevert(b"safe_token: approve returned false")
    extcall self.harness.safe_approve(self.falsy.address, BOB, 1)
    extcall VM.expectRevert(b"safe_token: approve returned false")
    extcall self.harness.safe_approve(self.falsy.address, BOB, 0)


# ---------------------------------------------------------------------------------------------------------------
# Fee-on-transfer token and the balance-delta check
# ---------------------------------------------------------------------------------------------------------------


@external
def test_fee_on_transfer_accepted_without_delta_check():
    """
    @notice Without the delta check a fee-on-transfer token goes through: the receiver gets amount - 1%.
    """
    extcall self.fot.mint(self.harness.address, 10_000)
    extcall self.harness.safe_transfer(self.fot.address, BOB, 10_000)
    assert staticcall self.fot.balanceOf(BOB) == 9_900, "receiver got amount minus fee"
    self._fund_and_approve(self.fot, 1_000)
    extcall self.harness.safe_transfer_from(self.fot.address, self, BOB, 1_000)
    assert staticcall self.fot.balanceOf(BOB) == 9_900 + 990, "receiver got amount minus fee (transfer_from)"


@external
def test_fee_on_transfer_rejected_by_exact_transfer():
    """
    @notice safe_transfer_exact rejects a fee-on-transfer token: "safe_token: received amount mismatch".
    """
    extcall self.fot.mint(self.harness.address, 10_000)
    extcall VM.expectRevert(b"safe_token: received amount mismatch")
    extcall self.harness.safe_transfer_exact(self.fot.address, BOB, 10_000)


@external
def test_fee_on_transfer_rejected_by_exact_transfer_from():
    """
    @notice safe_transfer_from_exact rejects a fee-on-transfer token: "safe_token: received amount mismatch".
    """
    self._fund_and_approve(self.fot, 10_000)
    extcall VM.expectRevert(b"safe_token: received amount mismatch")
    extcall self.harness.safe_transfer_from_exact(self.fot.address, self, BOB, 10_000)


@external
def test_fee_on_transfer_with_zero_fee_accepted_by_exact():
    """
    @notice The delta check looks at what arrived, not at the token's kind: with its fee at 0 the
            fee-on-transfer token passes the `_exact` variants.
    """
    extcall FeeOnTransferToken(self.fot.address).set_fee_bps(0)
    extcall self.fot.mint(self.harness.address, 500)
    extcall self.harness.safe_transfer_exact(self.fot.address, BOB, 500)
    self._fund_and_approve(self.fot, 500)
    extcall self.harness.safe_transfer_from_exact(self.fot.address, self, BOB, 500)
    assert staticcall self.fot.balanceOf(BOB) == 1_000, "receiver"


@external
def testFuzz_fee_on_transfer_exact(amount: uint256, fee_bps: uint256):
    """
    @notice For any amount and fee: safe_transfer_exact succeeds iff the fee rounds to 0 (the receiver's
            balance then grows by exactly `amount`), and otherwise reverts "safe_token: received amount mismatch";
            plain safe_transfer always delivers amount - fee.
    @param amount The amount, bounded to [1, 2**200].
    @param fee_bps The fee, bounded to [0, 10_000].
    """
    value: uint256 = 1 + amount % 2**200
    bps: uint256 = fee_bps % (BPS + 1)
    extcall FeeOnTransferToken(self.fot.address).set_fee_bps(bps)
    extcall self.fot.mint(self.harness.address, 2 * value)
    fee: uint256 = value * bps // BPS  # rounds down, as the token does
    if fee == 0:
        extcall self.harness.safe_transfer_exact(self.fot.address, BOB, value)
        assert staticcall self.fot.balanceOf(BOB) == value, "exact delivery"
    else:
        extcall VM.expectRevert(b"safe_token: received amount mismatch")
        extcall self.harness.safe_transfer_exact(self.fot.address, BOB, value)
    before: uint256 = staticcall self.fot.balanceOf(BOB)
    extcall self.harness.safe_transfer(self.fot.address, BOB, value)
    assert staticcall self.fot.balanceOf(BOB) == before + value - fee, "plain delivery is amount - fee"


# ---------------------------------------------------------------------------------------------------------------
# Self transfers in the `_exact` variants
# ---------------------------------------------------------------------------------------------------------------


@external
def test_exact_self_transfer_rejected():
    """
    @notice The `_exact` variants refuse a transfer whose sender is the receiver, zero amount included:
            "safe_token: exact self transfer".
    """
    extcall self.std.mint(self.harness.address, 10)
    extcall VM.expectRevert(b"safe_token: exact self transfer")
    extcall self.harness.safe_transfer_exact(self.std.address, self.harness.address, 10)
    extcall VM.expectRevert(b"safe_token: exact self transfer")
    extcall self.harness.safe_transfer_exact(self.std.address, self.harness.address, 0)
    self._fund_and_approve(self.std, 10)
    extcall VM.expectRevert(b"safe_token: exact self transfer")
    extcall self.harness.safe_transfer_from_exact(self.std.address, self, self, 10)
    extcall VM.expectRevert(b"safe_token: exact self transfer")
    extcall self.harness.safe_transfer_from_exact(self.std.address, BOB, BOB, 0)
