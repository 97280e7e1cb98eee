# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title ownable
@notice Two-step ownership: the owner names a pending owner, who must then accept. A transfer to a
        mistyped or key-less address therefore never takes effect. There is deliberately no
        renounce: the circuit breaker needs an owner to lower its level, so an ownerless
        contract could be frozen for good by its guardian.
@dev A deployable `initializes: ownable`, calls `ownable.__init__()` in its constructor and
     `exports:` the external functions it wants (`owner`, `pending_owner`, `transfer_ownership`,
     `accept_ownership`). Modules that need the owner check declare `uses: ownable` and call
     `ownable._check_owner()`. The nonreentrancy pragma here makes the exported functions take the
     deployable's global lock, like the deployable's own functions.
"""


# @notice The current owner; the zero address only before `__init__` has run.
owner: public(address)

# @notice The address allowed to accept ownership, or the zero address if no transfer is pending.
pending_owner: public(address)


event OwnershipTransferStarted:
    previous_owner: indexed(address)
    new_owner: indexed(address)


event OwnershipTransferred:
    previous_owner: indexed(address)
    new_owner: indexed(address)


@deploy
def __init__():
    """
    @notice Makes the deployer the first owner.
    """
    self._transfer_ownership(msg.sender)


@external
def transfer_ownership(new_owner: address):
    """
    @notice Starts a transfer of ownership to `new_owner`; it takes effect only when `new_owner`
            calls `accept_ownership`. Replaces any transfer already pending. Passing the zero
            address cancels a pending transfer.
    @dev Only the owner may call this.
    @param new_owner The address that may accept ownership (zero to cancel).
    """
    self._check_owner()
    self.pending_owner = new_owner
    log OwnershipTransferStarted(previous_owner=self.owner, new_owner=new_owner)


@external
def accept_ownership():
    """
    @notice Completes a pending transfer: the caller becomes the owner.
    @dev Only the pending owner may call this; the pending owner is then cleared.
    """
    assert msg.sender == self.pending_owner, "ownable: caller is not the pending owner"
    self._transfer_ownership(msg.sender)


@internal
@view
def _check_owner():
    """
    @notice Reverts unless the caller is the owner.
    """
    assert msg.sender == self.owner, "ownable: caller is not the owner"


@internal
def _transfer_ownership(new_owner: address):
    """
    @notice Sets the owner at once, clears any pending transfer and logs the change.
    @param new_owner The new owner.
    """
    previous_owner: address = self.owner
    self.owner = new_owner
    self.pending_owner = empty(address)
    log OwnershipTransferred(previous_owner=previous_owner, new_owner=new_owner)
