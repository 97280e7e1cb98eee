# pragma version ~=0.4.3
"""
@title BlacklistTokenTest
@license Apache-2.0
@notice Forge tests of the BlacklistToken mock (contracts/mocks/BlacklistToken.vy), the USDC-style collateral of
        the `claim_for` skip tests: ERC-20 semantics, the block list in both directions, and every revert reason.
"""

from ethereum.ercs import IERC20
from .interfaces import IVm

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
VM_ADDRESS: constant(address) = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D

ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
BOB: constant(address) = 0x00000000000000000000000000000000000b0B0b
MAX: constant(uint256) = max_value(uint256)


interface BlacklistToken:
    def decimals() -> uint8: view
    def balanceOf(account: address) -> uint256: view
    def allowance(owner: address, spender: address) -> uint256: view
    def totalSupply() -> uint256: view
    def blocked(account: address) -> bool: view
    def mint(to: address, amount: uint256): nonpayable
    def set_blocked(account: address, is_blocked: bool): nonpayable
    def transfer(to: address, amount: uint256) -> bool: nonpayable
    def transferFrom(owner: address, to: address, amount: uint256) -> bool: nonpayable
    def approve(spender: address, amount: uint256) -> bool: nonpayable


token: BlacklistToken


@external
def setUp():
    """
    @notice Deploys a 6-decimal BlacklistToken.
    """
    response: Bytes[32] = raw_call(
        VM_ADDRESS,
        abi_encode(
            "BlacklistToken.vy",
            abi_encode("Frozen Dollar", "FUSD", convert(6, uint8)),
            method_id=method_id("deployCode(string,bytes)"),
        ),
        max_outsize=32,
    )
    self.token = BlacklistToken(abi_decode(response, address))


@external
def test_blacklist_token_transfers_like_an_erc20():
    """
    @notice Unblocked accounts: transfer and transferFrom move exactly the amount, log Transfer, spend the
            allowance (an infinite one is kept) and keep the total supply equal to the balances.
    """
    assert staticcall self.token.decimals() == 6, "decimals"
    extcall self.token.mint(ALICE, 100)
    extcall VM.prank(ALICE)
    assert extcall self.token.transfer(BOB, 30), "transfer"
    extcall VM.prank(ALICE)
    assert extcall self.token.approve(self, 50), "approve"
    extcall VM.expectEmit(True, True, False, True, self.token.address)
    log IERC20.Transfer(sender=ALICE, receiver=BOB, value=20)
    assert extcall self.token.transferFrom(ALICE, BOB, 20), "transferFrom"
    assert staticcall self.token.allowance(ALICE, self) == 30, "allowance spent"
    extcall VM.prank(ALICE)
    assert extcall self.token.approve(self, MAX), "infinite approve"
    assert extcall self.token.transferFrom(ALICE, BOB, 10), "transferFrom infinite"
    assert staticcall self.token.allowance(ALICE, self) == MAX, "infinite allowance kept"
    assert staticcall self.token.balanceOf(ALICE) == 40, "alice"
    assert staticcall self.token.balanceOf(BOB) == 60, "bob"
    assert staticcall self.token.totalSupply() == 100, "supply"


@external
def test_blacklist_token_reverts():
    """
    @notice Every revert reason: a blocked sender or receiver ("blocked"), then insufficient balance, insufficient
            allowance and supply overflow; unblocking restores transfers.
    """
    extcall self.token.mint(ALICE, 10)
    extcall self.token.set_blocked(BOB, True)
    assert staticcall self.token.blocked(BOB), "blocked"
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"blacklist_token: blocked")
    ok: bool = extcall self.token.transfer(BOB, 1)
    extcall self.token.set_blocked(ALICE, True)
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"blacklist_token: blocked")
    ok = extcall self.token.transfer(self, 1)
    extcall self.token.set_blocked(ALICE, False)
    extcall self.token.set_blocked(BOB, False)
    extcall VM.prank(ALICE)
    assert extcall self.token.transfer(BOB, 1), "unblocked transfer"
    extcall VM.prank(ALICE)
    extcall VM.expectRevert(b"blacklist_token: insufficient balance")
    ok = extcall self.token.transfer(BOB, 10)
    extcall VM.expectRevert(b"blacklist_token: insufficient allowance")
    ok = extcall self.token.transferFrom(ALICE, BOB, 1)
    extcall VM.expectRevert(b"blacklist_token: supply overflow")
    extcall self.token.mint(BOB, MAX - 9)
