# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title BlacklistToken
@license Apache-2.0
@notice MockERC20 plus a blacklist (USDC style): `transfer` and `transferFrom` to or from a blocked address revert
        "blacklist_token: blocked". Used to check that one blocked holder cannot make a `claim_for` batch revert.
@dev Standard semantics: `transfer`, `transferFrom` and `approve` return true or revert; `transferFrom` spends
     the allowance unless it is max_value(uint256) (an infinite approval); `Transfer` and `Approval` are
     logged, `Transfer` from the zero address on mint. For tests only: minting is open to anyone.
     Invariant kept by every function: the sum of all balances equals `totalSupply`.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

implements: IERC20
implements: IERC20Detailed

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
# @notice Addresses that may neither send nor receive.
blocked: public(HashMap[address, bool])
allowance: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__(name_: String[64], symbol_: String[32], decimals_: uint8):
    """
    @notice Sets the token's metadata.
    @param name_ The token name.
    @param symbol_ The token symbol.
    @param decimals_ The number of decimals (18 for an ETH-like token, 6 for a USDC-like one).
    """
    self.name = name_
    self.symbol = symbol_
    self.decimals = decimals_


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` tokens from the caller to `to`.
    @dev Reverts "blacklist_token: insufficient balance" if the caller holds less than `amount`.
    @param to The receiver.
    @param amount The amount to move.
    @return True.
    """
    self._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` tokens from `owner` to `to` using the caller's allowance.
    @dev Reverts "blacklist_token: insufficient allowance" or "blacklist_token: insufficient balance".
    @param owner The account the tokens are taken from.
    @param to The receiver.
    @param amount The amount to move.
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
    @notice Creates `amount` tokens for `to`. Open to anyone: this is a test mock.
    @dev Reverts "blacklist_token: supply overflow" if the total supply would exceed 2**256 - 1.
    @param to The receiver of the new tokens.
    @param amount The amount to create.
    """
    supply: uint256 = self.totalSupply
    assert amount <= max_value(uint256) - supply, "blacklist_token: supply overflow"
    self.totalSupply = unsafe_add(supply, amount)  # cannot overflow: asserted on the line above
    # cannot overflow: a balance is part of the total supply, which did not overflow
    self.balanceOf[to] = unsafe_add(self.balanceOf[to], amount)
    log IERC20.Transfer(sender=empty(address), receiver=to, value=amount)


@external
def set_blocked(account: address, is_blocked: bool):
    """
    @notice Blocks or unblocks `account` (open to anyone: test only).
    @param account The account.
    @param is_blocked True to block.
    """
    self.blocked[account] = is_blocked


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    """
    @notice Moves `amount` from `sender` to `receiver` and logs `Transfer`.
    @param sender The account debited.
    @param receiver The account credited.
    @param amount The amount moved.
    """
    assert not self.blocked[sender] and not self.blocked[receiver], "blacklist_token: blocked"
    sender_balance: uint256 = self.balanceOf[sender]
    assert sender_balance >= amount, "blacklist_token: insufficient balance"
    self.balanceOf[sender] = unsafe_sub(sender_balance, amount)  # cannot underflow: asserted on the line above
    # cannot overflow: both balances are parts of the total supply, which fits in 256 bits
    self.balanceOf[receiver] = unsafe_add(self.balanceOf[receiver], amount)
    log IERC20.Transfer(sender=sender, receiver=receiver, value=amount)


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
    assert allowed >= amount, "blacklist_token: insufficient allowance"
    self.allowance[owner][spender] = unsafe_sub(allowed, amount)  # cannot underflow: asserted on the line above
