# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title MalformedReturnToken
@license Apache-2.0
@notice A token for tests whose `transfer`, `transferFrom` and `approve` succeed, change nothing, and return
        exactly the raw bytes set with `set_reply` (by default 32 bytes holding 2, a non-boolean word), and whose
        `balanceOf` is always 0. Used to check that safe_token rejects return data that is neither empty nor a
        32-byte boolean.
@dev The functions return raw bytes (`@raw_return`), not ABI-encoded ones, so any length can be produced.
"""

# @notice Longest reply that can be configured.
MAX_REPLY: constant(uint256) = 2048

# @notice The raw return data of transfer, transferFrom and approve.
reply: public(Bytes[MAX_REPLY])


@deploy
def __init__():
    """
    @notice Starts with a 32-byte reply holding 2 (not a boolean).
    """
    self.reply = abi_encode(convert(2, uint256))


@external
def set_reply(data: Bytes[MAX_REPLY]):
    """
    @notice Sets the raw bytes that transfer, transferFrom and approve return.
    @param data The raw return data.
    """
    self.reply = data


@external
@view
def balanceOf(account: address) -> uint256:
    """
    @notice Always 0: the token holds no balances.
    @param account Ignored.
    @return 0.
    """
    return 0


@external
@raw_return
def transfer(to: address, amount: uint256) -> Bytes[MAX_REPLY]:
    """
    @notice Returns `reply` as raw return data; changes nothing.
    @param to Ignored.
    @param amount Ignored.
    @return The configured raw bytes.
    """
    return self.reply


@external
@raw_return
def transferFrom(owner: address, to: address, amount: uint256) -> Bytes[MAX_REPLY]:
    """
    @notice Returns `reply` as raw return data; changes nothing.
    @param owner Ignored.
    @param to Ignored.
    @param amount Ignored.
    @return The configured raw bytes.
    """
    return self.reply


@external
@raw_return
def approve(spender: address, amount: uint256) -> Bytes[MAX_REPLY]:
    """
    @notice Returns `reply` as raw return data; changes nothing.
    @param spender Ignored.
    @param amount Ignored.
    @return The configured raw bytes.
    """
    return self.reply
