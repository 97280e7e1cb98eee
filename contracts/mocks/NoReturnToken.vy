# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title NoReturnToken
@license Apache-2.0
@notice A USDT-style ERC-20 for tests: `transfer`, `transferFrom` and `approve` return nothing (no return data
        at all) and revert on failure. `mint` is open to anyone.
@dev Otherwise standard: the allowance is spent unless infinite, `Transfer` and `Approval` are logged.
     Invariant kept by every function: the sum of all balances equals `totalSupply`.
"""

from ethereum.ercs import IERC20

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__():
    """
    @notice Sets the metadata of an 18-decimal token.
    """
    self.name = "No Return Token"
    self.symbol = "NRT"
    self.decimals = 18


@external
def transfer(to: address, amount: uint256):
    """
    @notice Moves `amount` tokens from the caller to `to`; returns nothing.
    @dev Reverts "no_return_token: insufficient balance" if the caller holds less than `amount`.
    @param to The receiver.
    @param amount The amount to move.
    """
    self._transfer(msg.sender, to, amount)


@external
def transferFrom(owner: address, to: address, amount: uint256):
    """
    @notice Moves `amount` tokens from `owner` to `to` using the caller's allowance; returns nothing.
    @dev Reverts "no_return_token: insufficient allowance" or "no_return_token: insufficient balance".
    @param owner The account the tokens are taken from.
    @param to The receiver.
    @param amount The amount to move.
    """
    self._spend_allowance(owner, msg.sender, amount)
    self._transfer(owner, to, amount)


@external
def approve(spender: address, amount: uint256):
    """
    @notice Sets the allowance of `spender` over the caller's tokens to `amount`; returns nothing.
    @param spender The account allowed to spend.
    @param amount The new allowance; max_value(uint256) is never spent down.
    """
    self.allowance[msg.sender][spender] = amount
    log IERC20.Approval(owner=msg.sender, spender=spender, value=amount)


@external
def mint(to: address, amount: uint256):
    """
    @notice Creates `amount` tokens for `to`. Open to anyone: this is a test mock.
    @dev Reverts "no_return_token: supply overflow" if the total supply would exceed 2**256 - 1.
    @param to The receiver of the new tokens.
    @param amount The amount to create.
    """
    supply: uint256 = self.totalSupply
    assert amount <= max_value(uint256) - supply, "no_return_token: supply overflow"
    self.totalSupply = unsafe_add(supply, amount)  # cannot overflow: asserted on the line above
    # cannot overflow: a balance is part of the total supply, which did not overflow
    self.balanceOf[to] = unsafe_add(self.balanceOf[to], amount)
    log IERC20.Transfer(sender=empty(address), receiver=to, value=amount)


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    """
    @notice Moves `amount` from `sender` to `receiver` and logs `Transfer`.
    @param sender The account debited.
    @param receiver The account credited.
    @param amount The amount moved.
    """
    sender_balance: uint256 = self.balanceOf[sender]
    assert sender_balance >= amount, "no_return_token: insufficient balance"
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
    assert allowed >= amount, "no_return_token: insufficient allowance"
    self.allowance[owner][spender] = unsafe_sub(allowed, amount)  # cannot underflow: asserted on the line above
