# pragma version ~=0.4.3
"""
@title MockTokensTest
@license Apache-2.0
@notice Forge tests of the token mocks MockERC20 (18 and 6 decimals), NoReturnToken and FalseReturnToken in
        contracts/mocks/: ERC-20 semantics (balances, allowances, events) and every revert reason of each.
        FeeOnTransferToken, RevertingToken and MalformedReturnToken are tested in MockFaultyTokensTest.vy.
"""

from ethereum.ercs import IERC20
from .interfaces import IVm

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
VM_ADDRESS: constant(address) = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D

ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
BOB: constant(address) = 0x00000000000000000000000000000000000b0B0b
MAX: constant(uint256) = max_value(uint256)


interface Token:
    def name() -> String[64]: view
    def symbol() -> String[32]: view
    def decimals() -> uint8: view
    def balanceOf(account: address) -> uint256: view
    def allowance(owner: address, spender: address) -> uint256: view
    def totalSupply() -> uint256: view
    def mint(to: address, amount: uint256): nonpayable
    def transfer(to: address, amount: uint256) -> bool: nonpayable
    def transferFrom(owner: address, to: address, amount: uint256) -> bool: nonpayable
    def approve(spender: address, amount: uint256) -> bool: nonpayable


interface NoReturnToken:
    def transfer(to: address, amount: uint256): nonpayable
    def transferFrom(owner: address, to: address, amount: uint256): nonpayable
    def approve(spender: address, amount: uint256): nonpayable


interface FalseReturnToken:
    def set_always_false(always_false_: bool): nonpayable
    def always_false() -> bool: view


std: Token
std6: Token
noret: Token
falsy: Token


@external
def setUp():
    """
    @notice Deploys MockERC20 twice (18 and 6 decimals), NoReturnToken and FalseReturnToken.
    """
    self.std = Token(self._deploy("MockERC20.vy", abi_encode("Mock Token", "MOCK", convert(18, uint8))))
    self.std6 = Token(self._deploy("MockERC20.vy", abi_encode("Mock USD", "MUSD", convert(6, uint8))))
    self.noret = Token(extcall VM.deployCode("NoReturnToken.vy"))
    self.falsy = Token(extcall VM.deployCode("FalseReturnToken.vy"))


@internal
def _deploy(artifact: String[128], args: Bytes[320]) -> address:
    """
    @notice Deploys an artifact with constructor arguments through the `deployCode(string,bytes)` cheatcode.
    @dev IVm declares only the one-argument overload (Vyper interfaces cannot overload), hence raw_call.
    @param artifact The artifact path.
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
def _raw(token: address, data: Bytes[100]) -> Bytes[64]:
    """
    @notice Calls `token` and returns its raw return data (up to 64 bytes); reverts if the call reverts.
    @param token The token.
    @param data The calldata.
    @return The raw return data.
    """
    return raw_call(token, data, max_outsize=64)


# ---------------------------------------------------------------------------------------------------------------
# MockERC20
# ---------------------------------------------------------------------------------------------------------------


@external
def test_mock_erc20_metadata():
    """
    @notice The constructor sets name, symbol and decimals: the same contract gives 18- and 6-decimal tokens.
    """
    assert staticcall self.std.name() == "Mock Token", "name"
    assert staticcall self.std.symbol() == "MOCK", "symbol"
    assert staticcall self.std.decimals() == 18, "decimals 18"
    assert staticcall self.std6.name() == "Mock USD", "name 6"
    assert staticcall self.std6.symbol() == "MUSD", "symbol 6"
    assert staticcall self.std6.decimals() == 6, "decimals 6"
    assert staticcall self.std.totalSupply() == 0, "no supply"


@external
def test_mock_erc20_mint_and_transfer_events():
    """
    @notice mint and transfer update balances and supply and log `Transfer` (from 0x0 on mint).
    """
    extcall VM.expectEmit(True, True, True, True, self.std.address)
    log IERC20.Transfer(sender=empty(address), receiver=self, value=100)
    extcall self.std.mint(self, 100)
    assert staticcall self.std.totalSupply() == 100, "supply"
    extcall VM.expectEmit(True, True, True, True, self.std.address)
    log IERC20.Transfer(sender=self, receiver=BOB, value=30)
    assert extcall self.std.transfer(BOB, 30), "transfer returns true"
    assert staticcall self.std.balanceOf(self) == 70, "sender"
    assert staticcall self.std.balanceOf(BOB) == 30, "receiver"
    assert staticcall self.std.totalSupply() == 100, "supply unchanged"


@external
def test_mock_erc20_approve_and_transfer_from():
    """
    @notice approve sets the allowance and logs `Approval`; transferFrom spends it and moves the tokens.
    """
    extcall self.std.mint(ALICE, 100)
    extcall VM.prank(ALICE)
    extcall VM.expectEmit(True, True, True, True, self.std.address)
    log IERC20.Approval(owner=ALICE, spender=self, value=60)
    assert extcall self.std.approve(self, 60), "approve returns true"
    assert staticcall self.std.allowance(ALICE, self) == 60, "allowance"
    extcall VM.expectEmit(True, True, True, True, self.std.address)
    log IERC20.Transfer(sender=ALICE, receiver=BOB, value=45)
    assert extcall self.std.transferFrom(ALICE, BOB, 45), "transferFrom returns true"
    assert staticcall self.std.allowance(ALICE, self) == 15, "allowance spent"
    assert staticcall self.std.balanceOf(ALICE) == 55, "owner"
    assert staticcall self.std.balanceOf(BOB) == 45, "receiver"


@external
def test_mock_erc20_infinite_allowance_not_spent():
    """
    @notice An allowance of 2**256 - 1 is not spent down by transferFrom.
    """
    extcall self.std.mint(ALICE, 100)
    extcall VM.prank(ALICE)
    assert extcall self.std.approve(self, MAX), "approve"
    assert extcall self.std.transferFrom(ALICE, BOB, 100), "transferFrom"
    assert staticcall self.std.allowance(ALICE, self) == MAX, "infinite allowance kept"


@external
def test_mock_erc20_reverts():
    """
    @notice MockERC20's revert reasons: insufficient balance, insufficient allowance, supply overflow.
    """
    extcall self.std.mint(self, 10)
    extcall VM.expectRevert(b"mock_erc20: insufficient balance")
    ok: bool = extcall self.std.transfer(BOB, 11)
    extcall VM.expectRevert(b"mock_erc20: insufficient allowance")
    ok = extcall self.std.transferFrom(ALICE, BOB, 1)
    extcall self.std.mint(ALICE, 5)
    extcall VM.prank(ALICE)
    ok = extcall self.std.approve(self, 10)
    extcall VM.expectRevert(b"mock_erc20: insufficient balance")
    ok = extcall self.std.transferFrom(ALICE, BOB, 6)
    extcall VM.expectRevert(b"mock_erc20: supply overflow")
    extcall self.std.mint(BOB, MAX - 14)


@external
def testFuzz_mock_erc20_conserves_supply(minted: uint256, sent: uint256):
    """
    @notice For any mint and transfer: balances add up to the total supply and the transfer moves exactly
            `sent` or reverts "mock_erc20: insufficient balance".
    @param minted The amount minted to this contract.
    @param sent The amount transferred to BOB.
    """
    extcall self.std.mint(self, minted)
    if sent > minted:
        extcall VM.expectRevert(b"mock_erc20: insufficient balance")
        ok: bool = extcall self.std.transfer(BOB, sent)
        return
    assert extcall self.std.transfer(BOB, sent), "transfer"
    assert staticcall self.std.balanceOf(BOB) == sent, "receiver"
    assert staticcall self.std.balanceOf(self) + sent == minted, "balances add up to the supply"
    assert staticcall self.std.totalSupply() == minted, "supply"


# ---------------------------------------------------------------------------------------------------------------
# NoReturnToken
# ---------------------------------------------------------------------------------------------------------------


@external
def test_no_return_token_returns_no_data():
    """
    @notice transfer, transferFrom and approve succeed with zero bytes of return data.
    """
    extcall self.noret.mint(self, 100)
    token: address = self.noret.address
    out: Bytes[64] = self._raw(
        token, abi_encode(BOB, convert(10, uint256), method_id=method_id("transfer(address,uint256)"))
    )
    assert len(out) == 0, "transfer returned data"
    out = self._raw(token, abi_encode(self, convert(50, uint256), method_id=method_id("approve(address,uint256)")))
    assert len(out) == 0, "approve returned data"
    assert staticcall self.noret.allowance(self, self) == 50, "allowance"
    out = self._raw(
        token,
        abi_encode(self, BOB, convert(20, uint256), method_id=method_id("transferFrom(address,address,uint256)")),
    )
    assert len(out) == 0, "transferFrom returned data"
    assert staticcall self.noret.balanceOf(BOB) == 30, "receiver"
    assert staticcall self.noret.allowance(self, self) == 30, "allowance spent"


@external
def test_no_return_token_infinite_allowance_and_events():
    """
    @notice The no-return token logs `Approval` and `Transfer` and keeps an infinite allowance.
    """
    extcall self.noret.mint(ALICE, 100)
    extcall VM.prank(ALICE)
    extcall VM.expectEmit(True, True, True, True, self.noret.address)
    log IERC20.Approval(owner=ALICE, spender=self, value=MAX)
    extcall NoReturnToken(self.noret.address).approve(self, MAX)
    extcall VM.expectEmit(True, True, True, True, self.noret.address)
    log IERC20.Transfer(sender=ALICE, receiver=BOB, value=100)
    extcall NoReturnToken(self.noret.address).transferFrom(ALICE, BOB, 100)
    assert staticcall self.noret.allowance(ALICE, self) == MAX, "infinite allowance kept"


@external
def test_no_return_token_reverts():
    """
    @notice NoReturnToken's revert reasons: insufficient balance, insufficient allowance, supply overflow.
    """
    extcall VM.expectRevert(b"no_return_token: insufficient balance")
    extcall NoReturnToken(self.noret.address).transfer(BOB, 1)
    extcall VM.expectRevert(b"no_return_token: insufficient allowance")
    extcall NoReturnToken(self.noret.address).transferFrom(ALICE, BOB, 1)
    extcall self.noret.mint(self, 1)
    extcall VM.expectRevert(b"no_return_token: supply overflow")
    extcall self.noret.mint(self, MAX)


# ---------------------------------------------------------------------------------------------------------------
# FalseReturnToken
# ---------------------------------------------------------------------------------------------------------------


@external
def test_false_return_token_returns_true_when_it_can():
    """
    @notice The false-returning token behaves as a standard token while nothing fails.
    """
    extcall self.falsy.mint(ALICE, 100)
    extcall VM.prank(ALICE)
    assert extcall self.falsy.approve(self, 80), "approve"
    assert extcall self.falsy.transferFrom(ALICE, BOB, 80), "transferFrom"
    assert staticcall self.falsy.allowance(ALICE, self) == 0, "allowance spent"
    extcall VM.prank(ALICE)
    assert extcall self.falsy.transfer(BOB, 20), "transfer"
    assert staticcall self.falsy.balanceOf(BOB) == 100, "receiver"


@external
def test_false_return_token_returns_false_on_failure():
    """
    @notice A short balance or allowance makes transfer and transferFrom return false and change nothing.
    """
    extcall self.falsy.mint(ALICE, 10)
    extcall VM.prank(ALICE)
    assert not extcall self.falsy.transfer(BOB, 11), "short balance"
    assert not extcall self.falsy.transferFrom(ALICE, BOB, 1), "no allowance"
    extcall VM.prank(ALICE)
    assert extcall self.falsy.approve(self, 50), "approve"
    assert not extcall self.falsy.transferFrom(ALICE, BOB, 11), "allowance fine, balance short"
    assert staticcall self.falsy.balanceOf(ALICE) == 10, "nothing moved"
    assert staticcall self.falsy.allowance(ALICE, self) == 50, "allowance untouched"


@external
def test_false_return_token_always_false_switch():
    """
    @notice With the switch on, transfer, transferFrom and approve all return false and change nothing.
    """
    extcall self.falsy.mint(self, 10)
    extcall FalseReturnToken(self.falsy.address).set_always_false(True)
    assert staticcall FalseReturnToken(self.falsy.address).always_false(), "switch"
    assert not extcall self.falsy.transfer(BOB, 1), "transfer"
    assert not extcall self.falsy.approve(BOB, 1), "approve"
    assert not extcall self.falsy.transferFrom(self, BOB, 1), "transferFrom"
    assert staticcall self.falsy.allowance(self, BOB) == 0, "no allowance set"
    assert staticcall self.falsy.balanceOf(self) == 10, "nothing moved"
    extcall FalseReturnToken(self.falsy.address).set_always_false(False)
    assert extcall self.falsy.transfer(BOB, 1), "back to normal"


@external
def test_false_return_token_supply_overflow_reverts():
    """
    @notice FalseReturnToken's only revert reason: supply overflow on mint.
    """
    extcall self.falsy.mint(self, MAX)
    extcall VM.expectRevert(b"false_return_token: supply overflow")
    extcall self.falsy.mint(self, 1)
