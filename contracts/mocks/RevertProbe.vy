# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title Revert probe
@notice Test-only contract that fails in every way a call can fail, so the revert decoder
        (settlekit.errors) can be checked against real EVM output on eth-tester and on Anvil.
"""

PANIC_SELECTOR: constant(bytes4) = 0x4e487b71

counter: public(uint256)


@deploy
def __init__():
    """
    @notice Starts with the counter at 1 so `overflow` has something to add to.
    """
    self.counter = 1


@external
def revert_with_reason():
    """
    @notice Reverts with Error(string) "revert_probe: always reverts".
    """
    raise "revert_probe: always reverts"


@external
def revert_without_data():
    """
    @notice Reverts with no data at all (a bare `raise`).
    """
    raise


@external
def revert_with_panic(code: uint256):
    """
    @notice Reverts with Panic(uint256) data carrying `code`, as Solidity contracts do.
    @param code The panic code to encode.
    """
    raw_revert(abi_encode(code, method_id=PANIC_SELECTOR))


@external
def revert_with_data(data: Bytes[256]):
    """
    @notice Reverts with `data` verbatim (custom errors of other contracts, bubbled revert data).
    @param data The revert data.
    """
    raw_revert(data)


@external
def overflow():
    """
    @notice Adds 2**256 - 1 to the counter, which Vyper's checked arithmetic rejects.
    """
    self.counter += max_value(uint256)
