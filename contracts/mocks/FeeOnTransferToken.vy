# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title FeeOnTransferToken
@license Apache-2.0
@notice An ERC-20 for tests that burns a fee on every `transfer` and `transferFrom`: of `amount`, the receiver
        gets `amount - fee` with fee = amount * fee_bps / 10_000 rounded down, and `fee` is burnt (the total
        supply goes down by it). The sender is debited the full `amount`. `mint` is open to anyone.
@dev Logs `Transfer(sender, receiver, amount - fee)` and, when the fee is nonzero, `Transfer(sender, 0x0, fee)`.
     Otherwise standard: returns true or reverts, spends the allowance unless infinite.
     Invariant kept by every function: the sum of all balances equals `totalSupply`.
"""

from ethereum.ercs import IERC20
from ..modules import math

implements: IERC20

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

# @notice The fee burnt on each transfer, in basis points of the amount (at most 10_000).
fee_bps: public(uint256)


@deploy
def __init__(fee_bps_: uint256):
    """
    @notice Sets the metadata of an 18-decimal token and its transfer fee.
    @dev Reverts "fee_on_transfer_token: fee above 100%" if `fee_bps_` exceeds 10_000.
    @param fee_bps_ The fee in basis points.
    """
    self.name = "Fee On Transfer Token"
    self.symbol = "FOT"
    self.decimals = 18
    self._set_fee_bps(fee_bps_)


@external
def set_fee_bps(fee_bps_: uint256):
    """
    @notice Changes the transfer fee.
    @dev Reverts "fee_on_transfer_token: fee above 100%" if `fee_bps_` exceeds 10_000.
    @param fee_bps_ The new fee in basis points.
    """
    self._set_fee_bps(fee_bps_)


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from the caller; `to` receives `amount` minus the fee, the fee is burnt.
    @dev Reverts "fee_on_transfer_token: insufficient balance" if the caller holds less than `amount`.
    @param to The receiver.
    @param amount The amount debited from the caller.
    @return True.
    """
    self._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from `owner` using the caller's allowance; `to` receives `amount` minus the fee.
    @dev Reverts "fee_on_transfer_token: insufficient allowance" or "fee_on_transfer_token: insufficient balance".
    @param owner The account the tokens are taken from.
    @param to The receiver.
    @param amount The amount debited from `owner` (and from the allowance).
    @return True.
    """
    self._spend_allowance(owner, msg.sender, amount)
    self._transfer(owner, to, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Sets the allowance of `spender` over the caller's tokens to `amount`.
    @param spender The account allowed to spend.
    @param amount The new allowance; max_value(uint256) is never spent down.
    @return True.
    """
    self.allowance[msg.sender][spender] = amount
    log IERC20.Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def mint(to: address, amount: uint256):
    """
    @notice Creates `amount` tokens for `to` (no fee). Open to anyone: this is a test mock.
    @dev Reverts "fee_on_transfer_token: supply overflow" if the total supply would exceed 2**256 - 1.
    @param to The receiver of the new tokens.
    @param amount The amount to create.
    """
    supply: uint256 = self.totalSupply
    assert amount <= max_value(uint256) - supply, "fee_on_transfer_token: supply overflow"
    self.totalSupply = unsafe_add(supply, amount)  # cannot overflow: asserted on the line above
    # cannot overflow: a balance is part of the total supply, which did not overflow
    self.balanceOf[to] = unsafe_add(self.balanceOf[to], amount)
    log IERC20.Transfer(sender=empty(address), receiver=to, value=amount)


@internal
def _set_fee_bps(fee_bps_: uint256):
    """
    @notice Stores the fee after checking it is at most 100%.
    @param fee_bps_ The fee in basis points.
    """
    assert fee_bps_ <= math.BPS, "fee_on_transfer_token: fee above 100%"
    self.fee_bps = fee_bps_


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    """
    @notice Debits `amount` from `sender`, credits `amount - fee` to `receiver`, burns `fee`.
    @param sender The account debited.
    @param receiver The account credited.
    @param amount The amount debited.
    """
    sender_balance: uint256 = self.balanceOf[sender]
    assert sender_balance >= amount, "fee_on_transfer_token: insufficient balance"
    # rounds down (in the receiver's favour); fee <= amount since fee_bps <= 10_000
    fee: uint256 = math._bps_of(amount, self.fee_bps, False)
    received: uint256 = unsafe_sub(amount, fee)  # cannot underflow: fee <= amount (fee_bps <= 10_000)
    self.balanceOf[sender] = unsafe_sub(sender_balance, amount)  # cannot underflow: asserted above
    # cannot overflow: both balances are parts of the total supply, which fits in 256 bits
    self.balanceOf[receiver] = unsafe_add(self.balanceOf[receiver], received)
    # cannot underflow: the fee is part of the sender's former balance, itself part of the total supply
    self.totalSupply = unsafe_sub(self.totalSupply, fee)
    log IERC20.Transfer(sender=sender, receiver=receiver, value=received)
    if fee != 0:
        log IERC20.Transfer(sender=sender, receiver=empty(address), value=fee)


@internal
def _spend_allowance(owner: address, spender: address, amount: uint256):
    """
    @notice Lowers the allowance of `spender` over `owner`'s tokens by `amount`, unless it is infinite.
    @param owner The token owner.
    @param spender The spender.
    @param amount The amount spent.
    """
    allowed: uint256 = self.allowance[owner][spender]
    if allowed == max_value(uint256):
        return
    assert allowed >= amount, "fee_on_transfer_token: insufficient allowance"
    self.allowance[owner][spender] = unsafe_sub(allowed, amount)  # cannot underflow: asserted on the line above
