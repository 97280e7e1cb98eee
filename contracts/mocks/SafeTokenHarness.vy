# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title SafeTokenHarness
@license Apache-2.0
@notice Test harness exposing every function of the `safe_token` module as an external function. The
        harness moves its own tokens (`safe_transfer*`), tokens it has an allowance for (`safe_transfer_from*`)
        and approves spenders of its own tokens (`safe_approve`).
@dev For tests only: anyone may call it.
"""

from ..modules import safe_token


@external
def safe_transfer(token: address, to: address, amount: uint256):
    """
    @notice Wraps safe_token._safe_transfer.
    @param token The ERC-20 token.
    @param to The receiver.
    @param amount The amount sent from this harness.
    """
    safe_token._safe_transfer(token, to, amount)


@external
def safe_transfer_from(token: address, owner: address, to: address, amount: uint256):
    """
    @notice Wraps safe_token._safe_transfer_from.
    @param token The ERC-20 token.
    @param owner The account the tokens are taken from (it approved this harness).
    @param to The receiver.
    @param amount The amount moved.
    """
    safe_token._safe_transfer_from(token, owner, to, amount)


@external
def safe_approve(token: address, spender: address, amount: uint256):
    """
    @notice Wraps safe_token._safe_approve.
    @param token The ERC-20 token.
    @param spender The spender of this harness's tokens.
    @param amount The new allowance.
    """
    safe_token._safe_approve(token, spender, amount)


@external
def safe_transfer_exact(token: address, to: address, amount: uint256):
    """
    @notice Wraps safe_token._safe_transfer_exact.
    @param token The ERC-20 token.
    @param to The receiver.
    @param amount The amount `to` must receive.
    """
    safe_token._safe_transfer_exact(token, to, amount)


@external
def safe_transfer_from_exact(token: address, owner: address, to: address, amount: uint256):
    """
    @notice Wraps safe_token._safe_transfer_from_exact.
    @param token The ERC-20 token.
    @param owner The account the tokens are taken from (it approved this harness).
    @param to The receiver.
    @param amount The amount `to` must receive.
    """
    safe_token._safe_transfer_from_exact(token, owner, to, amount)
