# pragma version ~=0.4.3
"""
@title SignatureGasTest
@notice Gas scenarios for the signed actions and the guarded entry points of SafetyHarness. Run
        with `forge test --isolate --gas-report --match-path tests/forge/SignatureGasTest.vy`:
        --isolate makes every call from a test its own transaction, so storage is cold as on chain.
        Each test also checks that the action did what it should.
"""


from .interfaces import IVm
from ...contracts.mocks import SafetyHarness


VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
GUARDIAN: constant(address) = 0x0000000000000000000000000000000006a4D1a4
RECIPIENT: constant(address) = 0x0000000000000000000000000000000000000B0b
SPENDER: constant(address) = 0x00000000000000000000000000000000057a4cE4
SIGNER_KEY: constant(uint256) = 659_918  # 0xa11ce
AMOUNT: constant(uint256) = 5 * 10**18
START: constant(uint256) = 1_700_000_000

DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
INTENT_TYPEHASH: constant(bytes32) = keccak256(
    "Intent(address signer,address recipient,uint256 amount,uint256 nonce,uint256 deadline)"
)
PERMIT_TYPEHASH: constant(bytes32) = keccak256(
    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)


harness: SafetyHarness.__interface__
signer: address
deadline: uint256


@external
def setUp():
    """
    @notice Deploys a fresh harness, sets the clock and derives the signer's address.
    """
    response: Bytes[32] = raw_call(
        VM.address,
        abi_encode("SafetyHarness.vy", abi_encode(GUARDIAN), method_id=method_id("deployCode(string,bytes)")),
        max_outsize=32,
    )
    self.harness = SafetyHarness.__interface__(abi_decode(response, address))
    extcall VM.warp(START)
    self.signer = extcall VM.addr(SIGNER_KEY)
    self.deadline = START + 3600


@external
def test_gas_execute_signed_fresh_word():
    """
    @notice execute_signed with the first nonce of a bitmap word never touched (zero to non-zero).
    """
    self._execute(1000 << 8)
    assert staticcall self.harness.nonce_bitmap(self.signer, 1000) == 1


@external
def test_gas_execute_signed_touched_word():
    """
    @notice execute_signed twice in one bitmap word, as two transactions: the second write is
            non-zero to non-zero.
    """
    self._execute(1000 << 8)
    self._execute((1000 << 8) | 1)
    assert staticcall self.harness.nonce_bitmap(self.signer, 1000) == 3


@external
def test_gas_permit_first_and_second():
    """
    @notice permit with the owner's first sequential nonce (zero to non-zero), then its second.
    """
    self._permit(0)
    self._permit(1)
    assert staticcall self.harness.nonces(self.signer) == 2


@external
def test_gas_guarded_entry_points():
    """
    @notice One call of each example guarded entry point at LIVE.
    """
    extcall self.harness.open_position()
    extcall self.harness.start_liquidation()
    extcall self.harness.move_price(1_000)
    extcall self.harness.exit_position()
    assert staticcall self.harness.positions(self) == 0


@internal
def _execute(nonce: uint256):
    """
    @notice Signs an Intent for `nonce` and executes it.
    @param nonce The unordered nonce.
    """
    struct_hash: bytes32 = keccak256(
        abi_encode(INTENT_TYPEHASH, self.signer, RECIPIENT, AMOUNT, nonce, self.deadline)
    )
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = extcall VM.sign(SIGNER_KEY, self._digest(struct_hash))
    extcall self.harness.execute_signed(self.signer, RECIPIENT, AMOUNT, nonce, self.deadline, v, r, s)


@internal
def _permit(nonce: uint256):
    """
    @notice Signs a Permit for the owner's sequential `nonce` and submits it.
    @param nonce The owner's current sequential nonce.
    """
    struct_hash: bytes32 = keccak256(abi_encode(PERMIT_TYPEHASH, self.signer, SPENDER, AMOUNT, nonce, self.deadline))
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = extcall VM.sign(SIGNER_KEY, self._digest(struct_hash))
    extcall self.harness.permit(self.signer, SPENDER, AMOUNT, self.deadline, v, r, s)


@internal
@view
def _digest(struct_hash: bytes32) -> bytes32:
    """
    @notice The EIP-712 digest of `struct_hash` for the harness on the current chain.
    @param struct_hash The hashStruct.
    @return The digest.
    """
    separator: bytes32 = keccak256(
        abi_encode(DOMAIN_TYPEHASH, keccak256("settlekit"), keccak256("1"), chain.id, self.harness.address)
    )
    return keccak256(concat(x"1901", separator, struct_hash))
