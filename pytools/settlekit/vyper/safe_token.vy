# pragma version ~=0.4.3
"""
@title safe_token
@license Apache-2.0
@notice Internal wrappers for ERC-20 `transfer`, `transferFrom` and `approve` that work with standard tokens
        and with tokens that return nothing (USDT style), and that revert on every other outcome; plus
        `_exact` variants that also check the receiver's balance went up by exactly the amount, which rejects
        fee-on-transfer (and rebasing) tokens where the caller cannot account for them.
@dev Outcome of a wrapper, in this order:
     1. `token` has no code (an EOA, a precompile, an undeployed address): revert "safe_token: token has no code".
        Checked before anything else, even for a zero amount, because a call to an address without code
        succeeds with empty return data and would otherwise pass as a USDT-style token.
     2. `_safe_transfer` / `_safe_transfer_from` (and their `_exact` variants) with a zero amount return
        without any external call. `_safe_approve` always calls: approving 0 is how an allowance is revoked.
     3. The call reverts: its revert data is re-raised unchanged (truncated to MAX_RETURN_DATA bytes); if the
        token reverted with no data, revert "safe_token: <op> reverted".
     4. The call succeeds and returns no data: accepted (the token was checked to have code).
     5. The call succeeds and returns exactly 32 bytes holding 1: accepted; holding 0: revert
        "safe_token: <op> returned false".
     6. Any other return data (a length other than 0 or 32, or a 32-byte word other than 0 or 1): revert
        "safe_token: <op> returned malformed data". A token whose answer is not a boolean does not follow
        ERC-20 and is rejected rather than guessed at.
     <op> is `transfer`, `transfer_from` or `approve`. The `_exact` variants read `balanceOf(receiver)` before and
     after and revert "safe_token: received amount mismatch" unless it grew by exactly `amount`, and revert
     "safe_token: exact self transfer" when the sender is the receiver (the delta would be 0 by construction).
     The balance reads bracket one external call; a token that re-enters the caller could skew them, which is
     why every deployable of this project is compiled with `# pragma nonreentrancy on`.
     The module has no storage: import it with `from .modules import safe_token` and call the functions; no
     `initializes:` or `uses:` is needed.
"""

from ethereum.ercs import IERC20

# @notice Revert data longer than this is truncated when re-raised; return data longer than this is malformed
#         anyway. 1024 bytes hold an Error(string) of up to 924 bytes of message.
MAX_RETURN_DATA: constant(uint256) = 1024

# @notice Calldata of the longest call made (transferFrom: selector + 3 words).
MAX_CALLDATA: constant(uint256) = 100


@internal
def _safe_transfer(token: address, to: address, amount: uint256):
    """
    @notice Calls `token.transfer(to, amount)` from this contract and reverts unless it succeeded.
    @dev See the module docstring for the outcome of each token behaviour. A zero amount makes no call.
    @param token The ERC-20 token.
    @param to The receiver.
    @param amount The amount to send.
    """
    self._require_code(token)
    if amount == 0:
        return
    self._call_token(
        token,
        abi_encode(to, amount, method_id=method_id("transfer(address,uint256)")),
        "safe_token: transfer reverted",
        "safe_token: transfer returned false",
        "safe_token: transfer returned malformed data",
    )


@internal
def _try_transfer(token: address, to: address, amount: uint256) -> bool:
    """
    @notice Like `_safe_transfer`, except that a transfer the token *reverts* returns False instead of reverting,
            so a caller paying many receivers can skip one the token refuses (a blacklist) and pay the others.
    @dev Only a revert is tolerated, because only a revert proves the token moved nothing. A call that succeeds
         but returns `false` or malformed data reverts exactly as in `_safe_transfer` (such a token may or may
         not have moved the amount). A zero amount makes no call and returns True.
    @param token The ERC-20 token.
    @param to The receiver.
    @param amount The amount to send.
    @return True if the transfer happened, False if the token reverted it.
    """
    self._require_code(token)
    if amount == 0:
        return True
    success: bool = False
    data: Bytes[MAX_RETURN_DATA] = b""
    success, data = raw_call(
        token,
        abi_encode(to, amount, method_id=method_id("transfer(address,uint256)")),
        max_outsize=MAX_RETURN_DATA,
        revert_on_failure=False,
    )
    if not success:
        return False
    if len(data) == 0:
        return True
    assert len(data) == 32, "safe_token: transfer returned malformed data"
    word: uint256 = extract32(data, 0, output_type=uint256)
    assert word <= 1, "safe_token: transfer returned malformed data"
    assert word == 1, "safe_token: transfer returned false"
    return True


@internal
def _safe_transfer_from(token: address, owner: address, to: address, amount: uint256):
    """
    @notice Calls `token.transferFrom(owner, to, amount)` and reverts unless it succeeded.
    @dev This contract must hold an allowance from `owner`. A zero amount makes no call.
    @param token The ERC-20 token.
    @param owner The account the tokens are taken from.
    @param to The receiver.
    @param amount The amount to move.
    """
    self._require_code(token)
    if amount == 0:
        return
    self._call_token(
        token,
        abi_encode(owner, to, amount, method_id=method_id("transferFrom(address,address,uint256)")),
        "safe_token: transfer_from reverted",
        "safe_token: transfer_from returned false",
        "safe_token: transfer_from returned malformed data",
    )


@internal
def _safe_approve(token: address, spender: address, amount: uint256):
    """
    @notice Calls `token.approve(spender, amount)` and reverts unless it succeeded.
    @dev Always makes the call, a zero amount included (approving 0 revokes an allowance). Tokens such as USDT
         refuse to change a nonzero allowance to another nonzero value; approve 0 first for those.
    @param token The ERC-20 token.
    @param spender The account allowed to spend this contract's tokens.
    @param amount The new allowance.
    """
    self._require_code(token)
    self._call_token(
        token,
        abi_encode(spender, amount, method_id=method_id("approve(address,uint256)")),
        "safe_token: approve reverted",
        "safe_token: approve returned false",
        "safe_token: approve returned malformed data",
    )


@internal
def _safe_transfer_exact(token: address, to: address, amount: uint256):
    """
    @notice Like `_safe_transfer`, then reverts unless `to`'s balance grew by exactly `amount`.
    @dev Rejects fee-on-transfer and rebasing tokens: "safe_token: received amount mismatch". Reverts
         "safe_token: exact self transfer" if `to` is this contract. A zero amount makes no call.
    @param token The ERC-20 token.
    @param to The receiver.
    @param amount The amount `to` must receive.
    """
    self._require_code(token)
    assert to != self, "safe_token: exact self transfer"
    if amount == 0:
        return
    before: uint256 = staticcall IERC20(token).balanceOf(to)
    self._safe_transfer(token, to, amount)
    self._require_delta(token, to, before, amount)


@internal
def _safe_transfer_from_exact(token: address, owner: address, to: address, amount: uint256):
    """
    @notice Like `_safe_transfer_from`, then reverts unless `to`'s balance grew by exactly `amount`.
    @dev Rejects fee-on-transfer and rebasing tokens: "safe_token: received amount mismatch". Reverts
         "safe_token: exact self transfer" if `owner` is `to`. A zero amount makes no call.
    @param token The ERC-20 token.
    @param owner The account the tokens are taken from.
    @param to The receiver.
    @param amount The amount `to` must receive.
    """
    self._require_code(token)
    assert owner != to, "safe_token: exact self transfer"
    if amount == 0:
        return
    before: uint256 = staticcall IERC20(token).balanceOf(to)
    self._safe_transfer_from(token, owner, to, amount)
    self._require_delta(token, to, before, amount)


@internal
@view
def _require_code(token: address):
    """
    @notice Reverts "safe_token: token has no code" unless `token` has deployed code.
    @dev A call to an address without code succeeds and returns nothing, exactly like a USDT-style token, so
         this check is what keeps such an address from passing as a token.
    @param token The address to check.
    """
    assert token.is_contract, "safe_token: token has no code"


@internal
@view
def _require_delta(token: address, account: address, before: uint256, amount: uint256):
    """
    @notice Reverts "safe_token: received amount mismatch" unless `account`'s balance is now `before + amount`.
    @param token The ERC-20 token.
    @param account The receiver whose balance is checked.
    @param before The receiver's balance before the transfer.
    @param amount The amount the receiver must have received.
    """
    after: uint256 = staticcall IERC20(token).balanceOf(account)
    assert after >= before, "safe_token: received amount mismatch"
    # cannot underflow: after >= before was asserted on the line above
    assert unsafe_sub(after, before) == amount, "safe_token: received amount mismatch"


@internal
def _call_token(
    token: address,
    calldata: Bytes[MAX_CALLDATA],
    reverted_reason: String[64],
    false_reason: String[64],
    malformed_reason: String[64],
):
    """
    @notice Calls `token` with `calldata` and reverts unless the call succeeded and returned nothing or `true`.
    @dev Steps 3 to 6 of the module docstring. The caller has already checked that `token` has code.
    @param token The ERC-20 token (with code).
    @param calldata The ABI-encoded call.
    @param reverted_reason The reason used when the token reverted without revert data.
    @param false_reason The reason used when the token returned `false`.
    @param malformed_reason The reason used when the return data is neither empty nor a 32-byte boolean.
    """
    success: bool = False
    data: Bytes[MAX_RETURN_DATA] = b""
    success, data = raw_call(token, calldata, max_outsize=MAX_RETURN_DATA, revert_on_failure=False)
    if not success:
        if len(data) == 0:
            raise reverted_reason
        raw_revert(data)
    if len(data) == 0:
        return
    assert len(data) == 32, malformed_reason
    word: uint256 = extract32(data, 0, output_type=uint256)
    assert word <= 1, malformed_reason
    assert word == 1, false_reason
