# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title SafetyHarness
@notice Test deployable for the safety modules: ownable, circuit_breaker, nonces and eip712. It
        exports their external functions and adds one example entry point per circuit-breaker
        category, signed actions using each kind of nonce, and direct nonce uses for fuzzing.
@dev Not for production: `use_nonce`, `use_checked_nonce` and `use_unordered_nonce` let any caller
     spend its own nonces without a signature, and the example entry points only keep counters.
     The signed actions follow the order every real signed entry point must follow: check the
     deadline, consume the nonce, then (with no external call in between) recover and compare the
     signer, and only then act.
"""


from ..modules import ownable
from ..modules import circuit_breaker
from ..modules import nonces as nonce_book
from ..modules import eip712

initializes: ownable
initializes: circuit_breaker[ownable := ownable]
initializes: nonce_book
initializes: eip712

exports: (
    ownable.owner,
    ownable.pending_owner,
    ownable.transfer_ownership,
    ownable.accept_ownership,
    circuit_breaker.level,
    circuit_breaker.guardian,
    circuit_breaker.set_guardian,
    circuit_breaker.raise_level,
    circuit_breaker.lower_level,
    nonce_book.nonces,
    nonce_book.nonce_bitmap,
    nonce_book.is_nonce_used,
    nonce_book.invalidate_nonces,
    nonce_book.invalidate_unordered_nonces,
    eip712.eip712Domain,
    eip712.DOMAIN_SEPARATOR,
)


# @notice The EIP-712 type of an intent spent with an unordered nonce.
INTENT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Intent(address signer,address recipient,uint256 amount,uint256 nonce,uint256 deadline)"
)

# @notice The EIP-712 type of an intent spent with the signer's next sequential nonce.
ORDERED_INTENT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "OrderedIntent(address signer,address recipient,uint256 amount,uint256 nonce,uint256 deadline)"
)

# @notice The EIP-712 type of a permit (EIP-2612 layout).
PERMIT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)

# @notice The EIP-712 domain name.
DOMAIN_NAME: public(constant(String[50])) = "settlekit"

# @notice The EIP-712 domain version.
DOMAIN_VERSION: public(constant(String[20])) = "1"


# @notice Open example positions per account.
positions: public(HashMap[address, uint256])

# @notice Example liquidations started.
liquidations_started: public(uint256)

# @notice Example price moved by settlement steps.
price: public(uint256)

# @notice Allowances set by `permit`: owner => spender => value.
allowance: public(HashMap[address, HashMap[address, uint256]])


event PositionOpened:
    account: indexed(address)


event LiquidationStarted:
    caller: indexed(address)


event PriceMoved:
    old_price: uint256
    new_price: uint256


event PositionExited:
    account: indexed(address)


event PositionMoved:
    sender: indexed(address)
    receiver: indexed(address)


event IntentExecuted:
    signer: indexed(address)
    recipient: indexed(address)
    amount: uint256
    nonce: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    amount: uint256


@deploy
def __init__(initial_guardian: address):
    """
    @notice Makes the deployer the owner, sets the guardian and the EIP-712 domain.
    @param initial_guardian The circuit breaker's first guardian.
    """
    ownable.__init__()
    circuit_breaker.__init__(initial_guardian)
    eip712.__init__(DOMAIN_NAME, DOMAIN_VERSION)


@external
def open_position():
    """
    @notice Example new-risk entry point: opens a position for the caller. LIVE only.
    """
    circuit_breaker._check_new_risk_allowed()
    self.positions[msg.sender] += 1
    log PositionOpened(account=msg.sender)


@external
def start_liquidation():
    """
    @notice Example liquidation start. Allowed at LIVE and NO_NEW_RISK.
    """
    circuit_breaker._check_liquidation_allowed()
    self.liquidations_started += 1
    log LiquidationStarted(caller=msg.sender)


@external
def move_price(new_price: uint256):
    """
    @notice Example price-moving settlement step. Allowed at LIVE and NO_NEW_RISK.
    @param new_price The new price.
    """
    circuit_breaker._check_price_move_allowed()
    old_price: uint256 = self.price
    self.price = new_price
    log PriceMoved(old_price=old_price, new_price=new_price)


@external
def move_position(receiver: address):
    """
    @notice Example ordinary operation (neither new risk nor an exit): hands one of the caller's
            positions to `receiver`. Allowed at every level below HALTED.
    @param receiver The account that receives the position.
    """
    circuit_breaker._check_not_halted()
    open_positions: uint256 = self.positions[msg.sender]
    assert open_positions != 0, "safety_harness: no position"
    # open_positions != 0, so the subtraction cannot underflow.
    self.positions[msg.sender] = unsafe_sub(open_positions, 1)
    # Bounded by the number of open_position calls, far below 2**256.
    self.positions[receiver] += 1
    log PositionMoved(sender=msg.sender, receiver=receiver)


@external
def exit_position():
    """
    @notice Example exit (a claim or a withdrawal that leaves positions healthy): closes one of the
            caller's positions. Exits take no circuit-breaker guard: allowed at every level.
    """
    open_positions: uint256 = self.positions[msg.sender]
    assert open_positions != 0, "safety_harness: no position"
    # open_positions != 0, so the subtraction cannot underflow.
    self.positions[msg.sender] = unsafe_sub(open_positions, 1)
    log PositionExited(account=msg.sender)


@external
def execute_signed(
    signer: address,
    recipient: address,
    amount: uint256,
    nonce: uint256,
    deadline: uint256,
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    """
    @notice Executes an intent signed by `signer`, spending the unordered nonce `nonce`.
    @param signer The account that signed the intent.
    @param recipient The intent's recipient.
    @param amount The intent's amount.
    @param nonce The signer's unordered nonce for this intent.
    @param deadline The last timestamp at which the intent may execute.
    @param v The signature's recovery id (27 or 28).
    @param r The signature's r.
    @param s The signature's s.
    """
    eip712._check_deadline(deadline)
    nonce_book._use_unordered_nonce(signer, nonce)
    struct_hash: bytes32 = keccak256(abi_encode(INTENT_TYPEHASH, signer, recipient, amount, nonce, deadline))
    eip712._check_signer(signer, eip712._hash_typed_data(struct_hash), v, r, s)
    log IntentExecuted(signer=signer, recipient=recipient, amount=amount, nonce=nonce)


@external
def execute_ordered(
    signer: address,
    recipient: address,
    amount: uint256,
    nonce: uint256,
    deadline: uint256,
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    """
    @notice Executes an intent signed by `signer` for its next sequential nonce, which must be
            `nonce`.
    @param signer The account that signed the intent.
    @param recipient The intent's recipient.
    @param amount The intent's amount.
    @param nonce The signer's sequential nonce the intent was signed for.
    @param deadline The last timestamp at which the intent may execute.
    @param v The signature's recovery id (27 or 28).
    @param r The signature's r.
    @param s The signature's s.
    """
    eip712._check_deadline(deadline)
    nonce_book._use_checked_nonce(signer, nonce)
    struct_hash: bytes32 = keccak256(
        abi_encode(ORDERED_INTENT_TYPEHASH, signer, recipient, amount, nonce, deadline)
    )
    eip712._check_signer(signer, eip712._hash_typed_data(struct_hash), v, r, s)
    log IntentExecuted(signer=signer, recipient=recipient, amount=amount, nonce=nonce)


@external
def permit(
    owner: address, spender: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32
):
    """
    @notice Sets `spender`'s allowance over `owner`'s funds to `amount` from `owner`'s signature
            (EIP-2612 layout: the signed nonce is `owner`'s next sequential nonce).
    @param owner The account that signed the permit.
    @param spender The account allowed to spend.
    @param amount The allowance (the signed `value`).
    @param deadline The last timestamp at which the permit may be used.
    @param v The signature's recovery id (27 or 28).
    @param r The signature's r.
    @param s The signature's s.
    """
    eip712._check_deadline(deadline)
    nonce: uint256 = nonce_book._use_nonce(owner)
    struct_hash: bytes32 = keccak256(abi_encode(PERMIT_TYPEHASH, owner, spender, amount, nonce, deadline))
    eip712._check_signer(owner, eip712._hash_typed_data(struct_hash), v, r, s)
    self.allowance[owner][spender] = amount
    log Approval(owner=owner, spender=spender, amount=amount)


@external
def use_nonce() -> uint256:
    """
    @notice Spends the caller's next sequential nonce (test hook).
    @return The nonce spent.
    """
    return nonce_book._use_nonce(msg.sender)


@external
def use_checked_nonce(expected: uint256):
    """
    @notice Spends the caller's next sequential nonce, which must be `expected` (test hook).
    @param expected The nonce the caller expects to spend.
    """
    nonce_book._use_checked_nonce(msg.sender, expected)


@external
def use_unordered_nonce(nonce: uint256):
    """
    @notice Spends the caller's unordered nonce `nonce` (test hook).
    @param nonce The unordered nonce.
    """
    nonce_book._use_unordered_nonce(msg.sender, nonce)


@external
@view
def recover(digest: bytes32, v: uint8, r: bytes32, s: bytes32) -> address:
    """
    @notice Recovers a signer under the eip712 signature rules (test hook).
    @param digest The signed digest.
    @param v The recovery id.
    @param r The signature's r.
    @param s The signature's s.
    @return The signer.
    """
    return eip712._recover(digest, v, r, s)


@external
@view
def hash_typed_data(struct_hash: bytes32) -> bytes32:
    """
    @notice The EIP-712 digest of `struct_hash` in this domain (test hook).
    @param struct_hash The hashStruct of a message.
    @return The digest.
    """
    return eip712._hash_typed_data(struct_hash)
