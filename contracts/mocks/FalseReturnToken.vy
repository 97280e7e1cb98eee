# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title FalseReturnToken
@license Apache-2.0
@notice An ERC-20 for tests that signals failure by returning false instead of reverting: `transfer` and
        `transferFrom` return false (and change nothing) on an insufficient balance or allowance, and with the
        `always_false` switch on, `transfer`, `transferFrom` and `approve` all return false and change nothing.
        `mint` is open to anyone.
@dev Invariant kept by every function: the sum of all balances equals `totalSupply`.
"""

from ethereum.ercs import IERC20

implements: IERC20

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

# @notice When True, transfer, transferFrom and approve return false without doing anything.
always_false: public(bool)


@deploy
def __init__():
    """
    @notice Sets the metadata of an 18-decimal token.
    """
    self.name = "False Return Token"
    self.symbol = "FRT"
    self.decimals = 18


@external
def set_always_false(always_false_: bool):
    """
    @notice Turns on or off the mode where every transfer, transferFrom and approve returns false.
    @param always_false_ True to make every such call return false.
    """
    self.always_false = always_false_


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` tokens from the caller to `to`, or returns false.
    @param to The receiver.
    @param amount The amount to move.
    @return False (and nothing moved) if `always_false` is on or the balance is short; True otherwise.
    """
    if self.always_false:
        return False
    return self._transfer(msg.sender, to, amount)


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` tokens from `owner` to `to` using the caller's allowance, or returns false.
    @param owner The account the tokens are taken from.
    @param to The receiver.
    @param amount The amount to move.
    @return False (and nothing changed) if `always_false` is on or the allowance or balance is short.
    """
    if self.always_false:
        return False
    allowed: uint256 = self.allowance[owner][msg.sender]
    if allowed < amount:
        return False
    if self.balanceOf[owner] < amount:
        return False
    if allowed != max_value(uint256):
        # cannot underflow: allowed >= amount was checked above
        self.allowance[owner][msg.sender] = unsafe_sub(allowed, amount)
    return self._transfer(owner, to, amount)


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Sets the allowance of `spender` over the caller's tokens to `amount`, or returns false.
    @param spender The account allowed to spend.
    @param amount The new allowance; max_value(uint256) is never spent down.
    @return False (and nothing changed) if `always_false` is on; True otherwise.
    """
    if self.always_false:
        return False
    self.allowance[msg.sender][spender] = amount
    log IERC20.Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def mint(to: address, amount: uint256):
    """
    @notice Creates `amount` tokens for `to`. Open to anyone: this is a test mock.
    @dev Reverts "false_return_token: supply overflow" if the total supply would exceed 2**256 - 1.
    @param to The receiver of the new tokens.
    @param amount The amount to create.
    """
    supply: uint256 = self.totalSupply
    assert amount <= max_value(uint256) - supply, "false_return_token: supply overflow"
    self.totalSupply = unsafe_add(supply, amount)  # cannot overflow: asserted on the line above
    # cannot overflow: a balance is part of the total supply, which did not overflow
    self.balanceOf[to] = unsafe_add(self.balanceOf[to], amount)
    log IERC20.Transfer(sender=empty(address), receiver=to, value=amount)


@internal
def _transfer(sender: address, receiver: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from `sender` to `receiver` and logs `Transfer`, or returns false on a short balance.
    @param sender The account debited.
    @param receiver The account credited.
    @param amount The amount moved.
    @return False (nothing moved) if `sender` holds less than `amount`; True otherwise.
    """
    sender_balance: uint256 = self.balanceOf[sender]
    if sender_balance < amount:
        return False
    self.balanceOf[sender] = unsafe_sub(sender_balance, amount)  # cannot underflow: checked on the line above
    # cannot overflow: both balances are parts of the total supply, which fits in 256 bits
    self.balanceOf[receiver] = unsafe_add(self.balanceOf[receiver], amount)
    log IERC20.Transfer(sender=sender, receiver=receiver, value=amount)
    return True
