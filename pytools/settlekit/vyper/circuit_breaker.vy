# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title circuit_breaker
@notice A graded emergency stop. The level only goes up through the guardian or the owner and only
        comes down through the owner:

        | level              | blocked                                                          |
        | ------------------ | ---------------------------------------------------------------- |
        | 0 LIVE             | nothing                                                          |
        | 1 NO_NEW_RISK      | new positions, mints, borrows                                    |
        | 2 NO_LIQUIDATION   | the above, plus liquidation starts and price-moving settlement   |
        | 3 HALTED           | everything state-changing except exits                           |

        Each level blocks everything the levels below it block. Exits (claims, reclaims, repayments and
        withdrawals that leave positions healthy) are never blocked: a breaker that could trap funds
        would be a custody risk of its own. Read-only views are never guarded.
@dev A deployable declares `initializes: circuit_breaker[ownable := ownable]` next to
     `initializes: ownable`, calls `circuit_breaker.__init__(guardian)` and exports
     `level`, `guardian`, `set_guardian`, `raise_level` and `lower_level`. Each state-changing entry
     point that is not an exit calls exactly one of the `_check_*` guards, chosen by what it does; see
     docs/circuit-breaker.md for the table of entry points and the tests of each cell.
"""


from . import ownable

uses: ownable


# @notice Everything allowed.
LIVE: constant(uint256) = 0
# @notice No new risk: no new positions, mints or borrows.
NO_NEW_RISK: constant(uint256) = 1
# @notice Also no liquidation starts and no settlement steps that move prices.
NO_LIQUIDATION: constant(uint256) = 2
# @notice Everything state-changing halted except exits (claims, healthy withdrawals, repayments).
HALTED: constant(uint256) = 3


# @notice The current level, LIVE (0) to HALTED (3).
level: public(uint256)

# @notice The address that may raise the level at once; the zero address if none.
guardian: public(address)


event GuardianSet:
    previous_guardian: indexed(address)
    new_guardian: indexed(address)


event CircuitBreakerLevelChanged:
    old_level: uint256
    new_level: uint256
    caller: indexed(address)
    reason: bytes32


@deploy
def __init__(initial_guardian: address):
    """
    @notice Starts LIVE with `initial_guardian` as the guardian.
    @param initial_guardian The first guardian (the zero address for none).
    """
    self._set_guardian(initial_guardian)


@external
def set_guardian(new_guardian: address):
    """
    @notice Replaces the guardian. The zero address removes the role; the owner can still raise.
    @dev Only the owner may call this.
    @param new_guardian The new guardian.
    """
    ownable._check_owner()
    self._set_guardian(new_guardian)


@external
def raise_level(new_level: uint256, reason: bytes32):
    """
    @notice Raises the level at once.
    @dev The guardian or the owner may call this. The new level must be strictly higher than the
         current one and at most HALTED.
    @param new_level The new level, 1 to 3.
    @param reason A short operator code or text for the logs (not checked).
    """
    assert msg.sender == self.guardian or msg.sender == ownable.owner, "circuit_breaker: caller is not the guardian or owner"
    assert new_level <= HALTED, "circuit_breaker: invalid level"
    assert new_level > self.level, "circuit_breaker: level not higher"
    self._set_level(new_level, reason)


@external
def lower_level(new_level: uint256, reason: bytes32):
    """
    @notice Lowers the level.
    @dev Only the owner may call this. The new level must be strictly lower than the current one
         (so it is at most HALTED as well).
    @param new_level The new level, 0 to 2.
    @param reason A short operator code or text for the logs (not checked).
    """
    ownable._check_owner()
    assert new_level < self.level, "circuit_breaker: level not lower"
    self._set_level(new_level, reason)


@internal
@view
def _check_new_risk_allowed():
    """
    @notice Guard for entry points that add risk: opening or increasing positions, mints, borrows.
            Allowed at LIVE only.
    """
    assert self.level < NO_NEW_RISK, "circuit_breaker: new risk paused"


@internal
@view
def _check_liquidation_allowed():
    """
    @notice Guard for entry points that start a liquidation. Allowed at LIVE and NO_NEW_RISK.
    """
    assert self.level < NO_LIQUIDATION, "circuit_breaker: liquidations paused"


@internal
@view
def _check_price_move_allowed():
    """
    @notice Guard for settlement steps that move a price (mark, index or settlement price).
            Allowed at LIVE and NO_NEW_RISK.
    """
    assert self.level < NO_LIQUIDATION, "circuit_breaker: price moves paused"


@internal
@view
def _check_not_halted():
    """
    @notice Guard for ordinary state changes that neither add risk nor exit (moving units between
            holders, adding collateral, sweeping dust). Allowed at every level below HALTED.
    @dev Exits (claims, reclaims, repayments, withdrawals that leave positions healthy) take no guard
         at all: they stay open at every level.
    """
    assert self.level < HALTED, "circuit_breaker: halted"


@internal
def _set_guardian(new_guardian: address):
    """
    @notice Stores the new guardian and logs the change.
    @param new_guardian The new guardian.
    """
    log GuardianSet(previous_guardian=self.guardian, new_guardian=new_guardian)
    self.guardian = new_guardian


@internal
def _set_level(new_level: uint256, reason: bytes32):
    """
    @notice Stores the new level and logs the change with the caller and the reason.
    @param new_level The new level, already checked by the caller.
    @param reason The operator's reason.
    """
    log CircuitBreakerLevelChanged(old_level=self.level, new_level=new_level, caller=msg.sender, reason=reason)
    self.level = new_level
