# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title RevertingToken
@license Apache-2.0
@notice An ERC-20 for tests whose `transfer`, `transferFrom` and `approve` always revert: by default with the
        reason "reverting_token: always reverts"; after `set_revert_data(data)` with exactly `data` as raw revert
        data (empty data included), until `clear_revert_data()`. Balances can be minted and read, so tests can
        check that nothing moved. `mint` is open to anyone.
@dev The raw revert data mode lets a test check that a wrapper re-raises revert data byte for byte (custom
     errors, empty data, data longer than a wrapper's buffer).
"""

from ethereum.ercs import IERC20

# @notice Longest raw revert data that can be configured.
MAX_REVERT_DATA: constant(uint256) = 2048

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

# @notice True when the token reverts with `revert_data` instead of its reason string.
use_revert_data: public(bool)
# @notice The raw revert data used when `use_revert_data` is on.
revert_data: public(Bytes[MAX_REVERT_DATA])


@deploy
def __init__():
    """
    @notice Sets the metadata of an 18-decimal token.
    """
    self.name = "Reverting Token"
    self.symbol = "REV"
    self.decimals = 18


@external
def set_revert_data(data: Bytes[MAX_REVERT_DATA]):
    """
    @notice Makes every transfer, transferFrom and approve revert with exactly `data` (possibly empty).
    @param data The raw revert data.
    """
    self.use_revert_data = True
    self.revert_data = data


@external
def clear_revert_data():
    """
    @notice Goes back to reverting with the reason "reverting_token: always reverts".
    """
    self.use_revert_data = False
    self.revert_data = b""


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Always reverts.
    @param to Ignored.
    @param amount Ignored.
    @return Never returns.
    """
    self._revert()
    return False


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Always reverts.
    @param owner Ignored.
    @param to Ignored.
    @param amount Ignored.
    @return Never returns.
    """
    self._revert()
    return False


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Always reverts.
    @param spender Ignored.
    @param amount Ignored.
    @return Never returns.
    """
    self._revert()
    return False


@external
def mint(to: address, amount: uint256):
    """
    @notice Creates `amount` tokens for `to`. Open to anyone: this is a test mock.
    @dev Reverts "reverting_token: supply overflow" if the total supply would exceed 2**256 - 1.
    @param to The receiver of the new tokens.
    @param amount The amount to create.
    """
    supply: uint256 = self.totalSupply
    assert amount <= max_value(uint256) - supply, "reverting_token: supply overflow"
    self.totalSupply = unsafe_add(supply, amount)  # cannot overflow: asserted on the line above
    # cannot overflow: a balance is part of the total supply, which did not overflow
    self.balanceOf[to] = unsafe_add(self.balanceOf[to], amount)
    log IERC20.Transfer(sender=empty(address), receiver=to, value=amount)


@internal
@view
def _revert():
    """
    @notice Reverts with the configured raw data, or with "reverting_token: always reverts".
    """
    if self.use_revert_data:
        raw_revert(self.revert_data)
    raise "reverting_token: always reverts"
