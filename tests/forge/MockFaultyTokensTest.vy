# pragma version ~=0.4.3
"""
@title MockFaultyTokensTest
@license Apache-2.0
@notice Forge tests of the misbehaving token mocks in contracts/mocks/: FeeOnTransferToken (fee burnt, events,
        rounding, bounds), RevertingToken (reason string, raw revert data) and MalformedReturnToken (raw replies),
        and every revert reason of each.
"""

from ethereum.ercs import IERC20
from .interfaces import IVm

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
VM_ADDRESS: constant(address) = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D

ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
BOB: constant(address) = 0x00000000000000000000000000000000000b0B0b
MAX: constant(uint256) = max_value(uint256)


interface Token:
    def balanceOf(account: address) -> uint256: view
    def allowance(owner: address, spender: address) -> uint256: view
    def totalSupply() -> uint256: view
    def mint(to: address, amount: uint256): nonpayable
    def transfer(to: address, amount: uint256) -> bool: nonpayable
    def transferFrom(owner: address, to: address, amount: uint256) -> bool: nonpayable
    def approve(spender: address, amount: uint256) -> bool: nonpayable


interface FeeOnTransferToken:
    def set_fee_bps(fee_bps_: uint256): nonpayable
    def fee_bps() -> uint256: view


interface RevertingToken:
    def set_revert_data(data: Bytes[2048]): nonpayable
    def clear_revert_data(): nonpayable


interface MalformedReturnToken:
    def set_reply(data: Bytes[2048]): nonpayable


fot: Token
rev: Token
malformed: address


@external
def setUp():
    """
    @notice Deploys FeeOnTransferToken (2.5% fee), RevertingToken and MalformedReturnToken.
    """
    self.fot = Token(self._deploy("FeeOnTransferToken.vy", abi_encode(convert(250, uint256))))  # 2.5%
    self.rev = Token(extcall VM.deployCode("RevertingToken.vy"))
    self.malformed = extcall VM.deployCode("MalformedReturnToken.vy")


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
# FeeOnTransferToken
# ---------------------------------------------------------------------------------------------------------------


@external
def test_fee_on_transfer_burns_fee():
    """
    @notice A 2.5% fee: the sender pays the amount, the receiver gets amount - fee, the fee is burnt, and both
            `Transfer` events are logged.
    """
    extcall self.fot.mint(self, 10_000)
    extcall VM.expectEmit(True, True, True, True, self.fot.address)
    log IERC20.Transfer(sender=self, receiver=BOB, value=9_750)
    extcall VM.expectEmit(True, True, True, True, self.fot.address)
    log IERC20.Transfer(sender=self, receiver=empty(address), value=250)
    assert extcall self.fot.transfer(BOB, 10_000), "transfer"
    assert staticcall self.fot.balanceOf(self) == 0, "sender paid the full amount"
    assert staticcall self.fot.balanceOf(BOB) == 9_750, "receiver got amount - fee"
    assert staticcall self.fot.totalSupply() == 9_750, "fee burnt"


@external
def test_fee_on_transfer_transfer_from_and_rounding():
    """
    @notice transferFrom charges the fee too and spends the full amount of allowance; the fee rounds down.
    """
    extcall self.fot.mint(ALICE, 1_000)
    extcall VM.prank(ALICE)
    assert extcall self.fot.approve(self, 1_000), "approve"
    assert extcall self.fot.transferFrom(ALICE, BOB, 39), "transferFrom"  # 39 * 2.5% = 0.975 -> 0
    assert staticcall self.fot.balanceOf(BOB) == 39, "fee rounded down to 0"
    assert extcall self.fot.transferFrom(ALICE, BOB, 961), "transferFrom"  # 961 * 2.5% = 24.025 -> 24
    assert staticcall self.fot.balanceOf(BOB) == 39 + 937, "fee 24"
    assert staticcall self.fot.allowance(ALICE, self) == 0, "full amount spent from the allowance"
    assert staticcall self.fot.totalSupply() == 1_000 - 24, "supply"


@external
def test_fee_on_transfer_fee_bounds():
    """
    @notice The fee can be set to 0% (plain token) and 100% (everything burnt), not above:
            "fee_on_transfer_token: fee above 100%".
    """
    extcall self.fot.mint(self, 200)
    extcall FeeOnTransferToken(self.fot.address).set_fee_bps(10_000)
    assert extcall self.fot.transfer(BOB, 100), "100% fee"
    assert staticcall self.fot.balanceOf(BOB) == 0, "everything burnt"
    extcall FeeOnTransferToken(self.fot.address).set_fee_bps(0)
    assert extcall self.fot.transfer(BOB, 100), "0% fee"
    assert staticcall self.fot.balanceOf(BOB) == 100, "nothing burnt"
    extcall VM.expectRevert(b"fee_on_transfer_token: fee above 100%")
    extcall FeeOnTransferToken(self.fot.address).set_fee_bps(10_001)


@external
def test_fee_on_transfer_reverts():
    """
    @notice FeeOnTransferToken's revert reasons: insufficient balance, insufficient allowance, supply overflow.
    """
    extcall VM.expectRevert(b"fee_on_transfer_token: insufficient balance")
    ok: bool = extcall self.fot.transfer(BOB, 1)
    extcall VM.expectRevert(b"fee_on_transfer_token: insufficient allowance")
    ok = extcall self.fot.transferFrom(ALICE, BOB, 1)
    extcall self.fot.mint(self, MAX)
    extcall VM.expectRevert(b"fee_on_transfer_token: supply overflow")
    extcall self.fot.mint(self, 1)


@external
def testFuzz_fee_on_transfer_accounting(amount: uint256, fee_bps: uint256):
    """
    @notice For any amount and fee: the receiver gets amount - floor(amount * fee / 10_000), the sender pays the
            full amount, and the supply drops by the fee (balances still add up to the supply).
    @param amount The amount transferred (minted first), bounded below 2**242 so amount * fee fits in 256 bits.
    @param fee_bps The fee, bounded to [0, 10_000].
    """
    value: uint256 = amount % 2**242
    bps: uint256 = fee_bps % 10_001
    extcall FeeOnTransferToken(self.fot.address).set_fee_bps(bps)
    extcall self.fot.mint(self, value)
    assert extcall self.fot.transfer(BOB, value), "transfer"
    fee: uint256 = value * bps // 10_000  # rounds down, as the token does; checked: value * bps < 2**256
    assert staticcall self.fot.balanceOf(BOB) == value - fee, "receiver got amount - fee"
    assert staticcall self.fot.balanceOf(self) == 0, "sender paid the full amount"
    assert staticcall self.fot.totalSupply() == value - fee, "supply dropped by the fee"


# ---------------------------------------------------------------------------------------------------------------
# RevertingToken
# ---------------------------------------------------------------------------------------------------------------


@external
def test_reverting_token_always_reverts():
    """
    @notice transfer, transferFrom and approve revert "reverting_token: always reverts", balance or not.
    """
    extcall self.rev.mint(self, 100)
    assert staticcall self.rev.balanceOf(self) == 100, "mint works"
    extcall VM.expectRevert(b"reverting_token: always reverts")
    ok: bool = extcall self.rev.transfer(BOB, 1)
    extcall VM.expectRevert(b"reverting_token: always reverts")
    ok = extcall self.rev.transferFrom(self, BOB, 1)
    extcall VM.expectRevert(b"reverting_token: always reverts")
    ok = extcall self.rev.approve(BOB, 1)


@external
def test_reverting_token_raw_revert_data():
    """
    @notice After set_revert_data the token reverts with exactly that data (empty included); after
            clear_revert_data with its reason string again.
    """
    data: Bytes[64] = concat(method_id("Paused()"), abi_encode(convert(7, uint256)))
    extcall RevertingToken(self.rev.address).set_revert_data(data)
    extcall VM.expectRevert(data)
    ok: bool = extcall self.rev.transfer(BOB, 1)
    extcall RevertingToken(self.rev.address).set_revert_data(b"")
    success: bool = raw_call(
        self.rev.address,
        abi_encode(BOB, convert(1, uint256), method_id=method_id("approve(address,uint256)")),
        revert_on_failure=False,
    )
    assert not success, "empty revert data mode did not revert"
    extcall RevertingToken(self.rev.address).clear_revert_data()
    extcall VM.expectRevert(b"reverting_token: always reverts")
    ok = extcall self.rev.transferFrom(self, BOB, 1)


@external
def test_reverting_token_supply_overflow_reverts():
    """
    @notice RevertingToken's mint reverts "reverting_token: supply overflow" past 2**256 - 1.
    """
    extcall self.rev.mint(self, MAX)
    extcall VM.expectRevert(b"reverting_token: supply overflow")
    extcall self.rev.mint(BOB, 1)


# ---------------------------------------------------------------------------------------------------------------
# MalformedReturnToken
# ---------------------------------------------------------------------------------------------------------------


@external
def test_malformed_return_token_replies():
    """
    @notice The token returns the configured raw bytes from transfer, transferFrom and approve: by default one
            word holding 2; after set_reply exactly the bytes set; balanceOf is 0.
    """
    out: Bytes[64] = self._raw(
        self.malformed, abi_encode(BOB, convert(1, uint256), method_id=method_id("transfer(address,uint256)"))
    )
    assert out == abi_encode(convert(2, uint256)), "default reply"
    extcall MalformedReturnToken(self.malformed).set_reply(b"\x01\x02\x03")
    out = self._raw(
        self.malformed,
        abi_encode(self, BOB, convert(1, uint256), method_id=method_id("transferFrom(address,address,uint256)")),
    )
    assert out == b"\x01\x02\x03", "configured reply (transferFrom)"
    out = self._raw(
        self.malformed, abi_encode(BOB, convert(1, uint256), method_id=method_id("approve(address,uint256)"))
    )
    assert out == b"\x01\x02\x03", "configured reply (approve)"
    assert staticcall Token(self.malformed).balanceOf(BOB) == 0, "balanceOf"
