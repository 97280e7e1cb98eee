# pragma version ~=0.4.3
"""
@title Eip712Test
@notice Tests of the eip712 module and of the signed actions of SafetyHarness with vm.sign: the
        domain separator and EIP-5267 fields, valid signatures, replays, wrong nonces, expired
        deadlines, the high-s twin, bad v, zero signers, wrong signers, chain-id changes and
        delegatecall contexts.
"""


from .interfaces import IVm
from ...contracts.mocks import SafetyHarness


VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
GUARDIAN: constant(address) = 0x0000000000000000000000000000000006a4D1a4
RECIPIENT: constant(address) = 0x0000000000000000000000000000000000000B0b
SPENDER: constant(address) = 0x00000000000000000000000000000000057a4cE4
SIGNER_KEY: constant(uint256) = 659_918  # 0xa11ce
OTHER_KEY: constant(uint256) = 2_827  # 0xb0b
AMOUNT: constant(uint256) = 5 * 10**18
START: constant(uint256) = 1_700_000_000
OTHER_CHAIN_ID: constant(uint256) = 31_337_000

# @notice The secp256k1 group order and the largest accepted s, floor(n / 2).
CURVE_ORDER: constant(uint256) = 115792089237316195423570985008687907852837564279074904382605163141518161494337
MAX_S: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
INTENT_TYPEHASH: constant(bytes32) = keccak256(
    "Intent(address signer,address recipient,uint256 amount,uint256 nonce,uint256 deadline)"
)
ORDERED_INTENT_TYPEHASH: constant(bytes32) = keccak256(
    "OrderedIntent(address signer,address recipient,uint256 amount,uint256 nonce,uint256 deadline)"
)
PERMIT_TYPEHASH: constant(bytes32) = keccak256(
    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)


struct Signature:
    v: uint8
    r: bytes32
    s: bytes32


event IntentExecuted:
    signer: indexed(address)
    recipient: indexed(address)
    amount: uint256
    nonce: uint256


harness: SafetyHarness.__interface__
signer: address
deadline: uint256


@external
def setUp():
    """
    @notice Deploys a fresh harness, sets the clock and derives the signer's address.
    """
    self.harness = SafetyHarness.__interface__(self._deploy_harness(GUARDIAN))
    extcall VM.warp(START)
    self.signer = extcall VM.addr(SIGNER_KEY)
    self.deadline = START + 3600


# ---------------------------------------------------------------------------------------------
# Domain
# ---------------------------------------------------------------------------------------------


@external
def test_domain_separator_matches_spec():
    """
    @notice DOMAIN_SEPARATOR is the EIP-712 hash of (name, version, chain id, harness address).
    """
    assert staticcall self.harness.DOMAIN_SEPARATOR() == self._domain_separator(chain.id, self.harness.address)


@external
def test_eip712_domain_fields():
    """
    @notice eip712Domain() reports fields 0x0f, the name, the version, the chain id, the harness
            address, a zero salt and no extensions.
    """
    fields: bytes1 = empty(bytes1)
    name: String[50] = ""
    version: String[20] = ""
    chain_id: uint256 = 0
    verifying_contract: address = empty(address)
    salt: bytes32 = empty(bytes32)
    extensions: DynArray[uint256, 32] = []
    fields, name, version, chain_id, verifying_contract, salt, extensions = staticcall self.harness.eip712Domain()
    assert fields == 0x0f
    assert name == "settlekit"
    assert version == "1"
    assert chain_id == chain.id
    assert verifying_contract == self.harness.address
    assert salt == empty(bytes32)
    assert len(extensions) == 0


@external
def test_hash_typed_data_matches_spec():
    """
    @notice The digest is keccak256(0x1901 || domain separator || struct hash).
    """
    struct_hash: bytes32 = keccak256("any struct")
    expected: bytes32 = keccak256(concat(x"1901", self._domain_separator(chain.id, self.harness.address), struct_hash))
    assert staticcall self.harness.hash_typed_data(struct_hash) == expected


@external
def test_chain_id_change_rebuilds_domain():
    """
    @notice After a chain-id change, a signature made before it fails ("eip712: wrong signer"), a
            fresh one for the new chain id works, and the domain reports the new chain id. Back on
            the original chain the original separator (the cache) is served again.
    """
    original_chain_id: uint256 = chain.id
    original_separator: bytes32 = staticcall self.harness.DOMAIN_SEPARATOR()
    old_signature: Signature = self._sign_intent(SIGNER_KEY, self.signer, 7)
    extcall VM.chainId(OTHER_CHAIN_ID)
    assert staticcall self.harness.DOMAIN_SEPARATOR() == self._domain_separator(OTHER_CHAIN_ID, self.harness.address)
    assert staticcall self.harness.DOMAIN_SEPARATOR() != original_separator
    fields: bytes1 = empty(bytes1)
    name: String[50] = ""
    version: String[20] = ""
    chain_id: uint256 = 0
    verifying_contract: address = empty(address)
    salt: bytes32 = empty(bytes32)
    extensions: DynArray[uint256, 32] = []
    fields, name, version, chain_id, verifying_contract, salt, extensions = staticcall self.harness.eip712Domain()
    assert chain_id == OTHER_CHAIN_ID
    extcall VM.expectRevert(b"eip712: wrong signer")
    self._execute(self.signer, 7, old_signature)
    new_signature: Signature = self._sign_intent(SIGNER_KEY, self.signer, 7)
    self._execute(self.signer, 7, new_signature)
    assert staticcall self.harness.is_nonce_used(self.signer, 7)
    extcall VM.chainId(1)
    assert staticcall self.harness.DOMAIN_SEPARATOR() == self._domain_separator(1, self.harness.address)
    extcall VM.chainId(original_chain_id)
    assert staticcall self.harness.DOMAIN_SEPARATOR() == original_separator


@external
def test_domain_separator_rebuilt_under_delegatecall():
    """
    @notice Reached through delegatecall (so `self` is this test contract, not the address the
            cache was built for), the separator is rebuilt for the calling address.
    """
    response: Bytes[32] = raw_call(
        self.harness.address, method_id("DOMAIN_SEPARATOR()"), max_outsize=32, is_delegate_call=True
    )
    separator: bytes32 = abi_decode(response, bytes32)
    assert separator == self._domain_separator(chain.id, self)
    assert separator != staticcall self.harness.DOMAIN_SEPARATOR()


# ---------------------------------------------------------------------------------------------
# execute_signed: unordered nonce
# ---------------------------------------------------------------------------------------------


@external
def test_execute_signed_valid():
    """
    @notice A valid signature executes, logs IntentExecuted and spends the nonce.
    """
    signature: Signature = self._sign_intent(SIGNER_KEY, self.signer, 1)
    extcall VM.expectEmit(True, True, True, True, self.harness.address)
    log IntentExecuted(signer=self.signer, recipient=RECIPIENT, amount=AMOUNT, nonce=1)
    self._execute(self.signer, 1, signature)
    assert staticcall self.harness.is_nonce_used(self.signer, 1)
    assert not staticcall self.harness.is_nonce_used(self.signer, 0)


@external
def test_execute_signed_replay_rejected():
    """
    @notice The same signed intent cannot execute twice: "nonces: nonce already used".
    """
    signature: Signature = self._sign_intent(SIGNER_KEY, self.signer, 1)
    self._execute(self.signer, 1, signature)
    extcall VM.expectRevert(b"nonces: nonce already used")
    self._execute(self.signer, 1, signature)


@external
def test_execute_signed_wrong_nonce_rejected():
    """
    @notice A signature for nonce 1 presented with nonce 2 signs another digest:
            "eip712: wrong signer"; nonce 2 stays unspent.
    """
    signature: Signature = self._sign_intent(SIGNER_KEY, self.signer, 1)
    extcall VM.expectRevert(b"eip712: wrong signer")
    self._execute(self.signer, 2, signature)
    assert not staticcall self.harness.is_nonce_used(self.signer, 2)


@external
def test_execute_signed_cancelled_nonce_rejected():
    """
    @notice Once the signer cancels the nonce, its signed intent is dead:
            "nonces: nonce already used".
    """
    signature: Signature = self._sign_intent(SIGNER_KEY, self.signer, 300)
    extcall VM.prank(self.signer)
    extcall self.harness.invalidate_unordered_nonces(300 >> 8, 1 << (300 & 255))
    extcall VM.expectRevert(b"nonces: nonce already used")
    self._execute(self.signer, 300, signature)


@external
def test_execute_signed_expired_rejected():
    """
    @notice One second past the deadline: "eip712: expired deadline". At the deadline: valid.
    """
    signature: Signature = self._sign_intent(SIGNER_KEY, self.signer, 1)
    extcall VM.warp(self.deadline + 1)
    extcall VM.expectRevert(b"eip712: expired deadline")
    self._execute(self.signer, 1, signature)
    extcall VM.warp(self.deadline)
    self._execute(self.signer, 1, signature)


@external
def test_execute_signed_high_s_twin_rejected():
    """
    @notice The malleable twin (s' = n - s, v flipped) recovers the same signer with the bare
            precompile but is rejected: "eip712: invalid signature s".
    """
    signature: Signature = self._sign_intent(SIGNER_KEY, self.signer, 1)
    assert convert(signature.s, uint256) <= MAX_S
    # s <= MAX_S < CURVE_ORDER, so the subtraction cannot underflow.
    twin_s: bytes32 = convert(unsafe_sub(CURVE_ORDER, convert(signature.s, uint256)), bytes32)
    # v is 27 or 28, so 55 - v is 28 or 27.
    twin_v: uint8 = unsafe_sub(55, signature.v)
    digest: bytes32 = self._intent_digest(self.signer, RECIPIENT, AMOUNT, 1, self.deadline)
    assert ecrecover(digest, twin_v, signature.r, twin_s) == self.signer
    extcall VM.expectRevert(b"eip712: invalid signature s")
    self._execute(self.signer, 1, Signature(v=twin_v, r=signature.r, s=twin_s))
    self._execute(self.signer, 1, signature)


@external
def test_execute_signed_wrong_signer_rejected():
    """
    @notice A signature by another key: "eip712: wrong signer".
    """
    signature: Signature = self._sign_intent(OTHER_KEY, self.signer, 1)
    extcall VM.expectRevert(b"eip712: wrong signer")
    self._execute(self.signer, 1, signature)


@external
def test_execute_signed_tampered_amount_rejected():
    """
    @notice Changing a signed field (the amount) changes the digest: "eip712: wrong signer".
    """
    signature: Signature = self._sign_intent(SIGNER_KEY, self.signer, 1)
    extcall VM.expectRevert(b"eip712: wrong signer")
    extcall self.harness.execute_signed(
        self.signer, RECIPIENT, AMOUNT + 1, 1, self.deadline, signature.v, signature.r, signature.s
    )


@external
def test_execute_signed_bad_v_rejected():
    """
    @notice v = 0, 1 and 29 are rejected: "eip712: invalid signature v".
    """
    signature: Signature = self._sign_intent(SIGNER_KEY, self.signer, 1)
    for bad_v: uint8 in [0, 1, 29]:
        extcall VM.expectRevert(b"eip712: invalid signature v")
        self._execute(self.signer, 1, Signature(v=bad_v, r=signature.r, s=signature.s))


@external
def test_execute_signed_zero_signer_rejected():
    """
    @notice Signatures for which ecrecover finds nobody (r = 0, r = n, r = 5 which is no curve
            x-coordinate) are rejected: "eip712: invalid signature", even when the claimed
            signer is the zero address.
    """
    digest: bytes32 = self._intent_digest(empty(address), RECIPIENT, AMOUNT, 1, self.deadline)
    for r: uint256 in [0, CURVE_ORDER, 5]:
        assert ecrecover(digest, 27, r, 1) == empty(address)
        extcall VM.expectRevert(b"eip712: invalid signature")
        self._execute(empty(address), 1, Signature(v=27, r=convert(r, bytes32), s=convert(1, bytes32)))
        extcall VM.expectRevert(b"eip712: invalid signature")
        self._execute(self.signer, 1, Signature(v=27, r=convert(r, bytes32), s=convert(1, bytes32)))


@external
def testFuzz_execute_signed(key_seed: uint256, recipient: address, amount: uint256, nonce: uint256):
    """
    @notice For any key and intent: a valid signature executes once and its replay fails.
    @param key_seed Picks the private key (reduced to 1..n-1).
    @param recipient The recipient.
    @param amount The amount.
    @param nonce The unordered nonce.
    """
    key: uint256 = key_seed % (CURVE_ORDER - 1) + 1
    signer: address = extcall VM.addr(key)
    digest: bytes32 = self._intent_digest(signer, recipient, amount, nonce, self.deadline)
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = extcall VM.sign(key, digest)
    extcall self.harness.execute_signed(signer, recipient, amount, nonce, self.deadline, v, r, s)
    assert staticcall self.harness.is_nonce_used(signer, nonce)
    extcall VM.expectRevert(b"nonces: nonce already used")
    extcall self.harness.execute_signed(signer, recipient, amount, nonce, self.deadline, v, r, s)


# ---------------------------------------------------------------------------------------------
# _recover rules, directly
# ---------------------------------------------------------------------------------------------


@external
def testFuzz_recover_roundtrip(key_seed: uint256, digest: bytes32):
    """
    @notice For any key and digest, vm.sign gives a low-s signature that recovers the key's address.
    @param key_seed Picks the private key (reduced to 1..n-1).
    @param digest The digest.
    """
    key: uint256 = key_seed % (CURVE_ORDER - 1) + 1
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = extcall VM.sign(key, digest)
    assert staticcall self.harness.recover(digest, v, r, s) == extcall VM.addr(key)


@external
def testFuzz_recover_rejects_high_s(s: uint256, v: uint8):
    """
    @notice Any s above floor(n / 2) is rejected first: "eip712: invalid signature s".
    @param s The s value, above MAX_S.
    @param v Any v.
    """
    extcall VM.assume(s > MAX_S)
    extcall VM.expectRevert(b"eip712: invalid signature s")
    recovered: address = staticcall self.harness.recover(keccak256("digest"), v, keccak256("r"), convert(s, bytes32))


@external
def testFuzz_recover_rejects_bad_v(v: uint8):
    """
    @notice Any v other than 27 or 28 is rejected: "eip712: invalid signature v".
    @param v The v value.
    """
    extcall VM.assume(v != 27 and v != 28)
    digest: bytes32 = keccak256("digest")
    signature_v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    signature_v, r, s = extcall VM.sign(SIGNER_KEY, digest)
    extcall VM.expectRevert(b"eip712: invalid signature v")
    recovered: address = staticcall self.harness.recover(digest, v, r, s)


@external
def test_recover_accepts_max_s_boundary():
    """
    @notice s = floor(n / 2) passes the s rule (it fails later only for having no signer).
    """
    recovered: address = empty(address)
    extcall VM.expectRevert(b"eip712: invalid signature")
    recovered = staticcall self.harness.recover(keccak256("digest"), 27, convert(5, bytes32), convert(MAX_S, bytes32))
    extcall VM.expectRevert(b"eip712: invalid signature s")
    recovered = staticcall self.harness.recover(
        keccak256("digest"), 27, convert(5, bytes32), convert(MAX_S + 1, bytes32)
    )


# ---------------------------------------------------------------------------------------------
# execute_ordered: checked sequential nonce
# ---------------------------------------------------------------------------------------------


@external
def test_execute_ordered_valid_then_replay_rejected():
    """
    @notice An ordered intent for the current nonce executes and moves the nonce; its replay, and
            an intent for a nonce other than the current one, fail with "nonces: invalid nonce".
    """
    signature: Signature = self._sign_ordered(SIGNER_KEY, self.signer, 0)
    self._execute_ordered(self.signer, 0, signature)
    assert staticcall self.harness.nonces(self.signer) == 1
    extcall VM.expectRevert(b"nonces: invalid nonce")
    self._execute_ordered(self.signer, 0, signature)
    ahead: Signature = self._sign_ordered(SIGNER_KEY, self.signer, 2)
    extcall VM.expectRevert(b"nonces: invalid nonce")
    self._execute_ordered(self.signer, 2, ahead)
    next_signature: Signature = self._sign_ordered(SIGNER_KEY, self.signer, 1)
    self._execute_ordered(self.signer, 1, next_signature)
    assert staticcall self.harness.nonces(self.signer) == 2


@external
def test_execute_ordered_rejects_unordered_intent_signature():
    """
    @notice A signature over an Intent (unordered) cannot pass as an OrderedIntent: the type hash
            is part of the digest, so "eip712: wrong signer".
    """
    signature: Signature = self._sign_intent(SIGNER_KEY, self.signer, 0)
    extcall VM.expectRevert(b"eip712: wrong signer")
    self._execute_ordered(self.signer, 0, signature)


@external
def test_execute_ordered_invalidated_nonce_rejected():
    """
    @notice After the signer moves its nonce forward, intents signed for older nonces fail.
    """
    signature: Signature = self._sign_ordered(SIGNER_KEY, self.signer, 0)
    extcall VM.prank(self.signer)
    extcall self.harness.invalidate_nonces(1)
    extcall VM.expectRevert(b"nonces: invalid nonce")
    self._execute_ordered(self.signer, 0, signature)


# ---------------------------------------------------------------------------------------------
# permit: implicit sequential nonce
# ---------------------------------------------------------------------------------------------


@external
def test_permit_valid_then_replay_rejected():
    """
    @notice A permit sets the allowance and spends the owner's nonce; its replay signs a stale
            nonce, so "eip712: wrong signer".
    """
    signature: Signature = self._sign_permit(SIGNER_KEY, self.signer, 0, self.deadline)
    extcall self.harness.permit(self.signer, SPENDER, AMOUNT, self.deadline, signature.v, signature.r, signature.s)
    assert staticcall self.harness.allowance(self.signer, SPENDER) == AMOUNT
    assert staticcall self.harness.nonces(self.signer) == 1
    extcall VM.expectRevert(b"eip712: wrong signer")
    extcall self.harness.permit(self.signer, SPENDER, AMOUNT, self.deadline, signature.v, signature.r, signature.s)


@external
def test_permit_expired_rejected():
    """
    @notice A permit past its deadline: "eip712: expired deadline".
    """
    signature: Signature = self._sign_permit(SIGNER_KEY, self.signer, 0, START - 1)
    extcall VM.expectRevert(b"eip712: expired deadline")
    extcall self.harness.permit(self.signer, SPENDER, AMOUNT, START - 1, signature.v, signature.r, signature.s)


@external
def test_permit_wrong_signer_rejected():
    """
    @notice A permit signed by another key: "eip712: wrong signer"; the nonce is not spent.
    """
    signature: Signature = self._sign_permit(OTHER_KEY, self.signer, 0, self.deadline)
    extcall VM.expectRevert(b"eip712: wrong signer")
    extcall self.harness.permit(self.signer, SPENDER, AMOUNT, self.deadline, signature.v, signature.r, signature.s)
    assert staticcall self.harness.nonces(self.signer) == 0


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


@internal
@view
def _domain_separator(chain_id: uint256, verifying_contract: address) -> bytes32:
    """
    @notice The EIP-712 domain separator, computed here from the specification.
    @param chain_id The chain id.
    @param verifying_contract The verifying contract.
    @return The separator.
    """
    return keccak256(
        abi_encode(DOMAIN_TYPEHASH, keccak256("settlekit"), keccak256("1"), chain_id, verifying_contract)
    )


@internal
@view
def _intent_digest(signer: address, recipient: address, amount: uint256, nonce: uint256, deadline: uint256) -> bytes32:
    """
    @notice The digest of an Intent for the harness on the current chain.
    @param signer The signer.
    @param recipient The recipient.
    @param amount The amount.
    @param nonce The unordered nonce.
    @param deadline The deadline.
    @return The digest.
    """
    struct_hash: bytes32 = keccak256(abi_encode(INTENT_TYPEHASH, signer, recipient, amount, nonce, deadline))
    return keccak256(concat(x"1901", self._domain_separator(chain.id, self.harness.address), struct_hash))


@internal
def _sign_intent(key: uint256, signer: address, nonce: uint256) -> Signature:
    """
    @notice Signs an Intent (RECIPIENT, AMOUNT, the test deadline) with `key`.
    @param key The private key that signs.
    @param signer The signer named in the intent.
    @param nonce The unordered nonce.
    @return The signature.
    """
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = extcall VM.sign(key, self._intent_digest(signer, RECIPIENT, AMOUNT, nonce, self.deadline))
    return Signature(v=v, r=r, s=s)


@internal
def _sign_ordered(key: uint256, signer: address, nonce: uint256) -> Signature:
    """
    @notice Signs an OrderedIntent (RECIPIENT, AMOUNT, the test deadline) with `key`.
    @param key The private key that signs.
    @param signer The signer named in the intent.
    @param nonce The sequential nonce.
    @return The signature.
    """
    struct_hash: bytes32 = keccak256(
        abi_encode(ORDERED_INTENT_TYPEHASH, signer, RECIPIENT, AMOUNT, nonce, self.deadline)
    )
    digest: bytes32 = keccak256(concat(x"1901", self._domain_separator(chain.id, self.harness.address), struct_hash))
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = extcall VM.sign(key, digest)
    return Signature(v=v, r=r, s=s)


@internal
def _sign_permit(key: uint256, owner: address, nonce: uint256, deadline: uint256) -> Signature:
    """
    @notice Signs a Permit (SPENDER, AMOUNT) with `key`.
    @param key The private key that signs.
    @param owner The owner named in the permit.
    @param nonce The owner's sequential nonce.
    @param deadline The deadline.
    @return The signature.
    """
    struct_hash: bytes32 = keccak256(abi_encode(PERMIT_TYPEHASH, owner, SPENDER, AMOUNT, nonce, deadline))
    digest: bytes32 = keccak256(concat(x"1901", self._domain_separator(chain.id, self.harness.address), struct_hash))
    v: uint8 = 0
    r: bytes32 = empty(bytes32)
    s: bytes32 = empty(bytes32)
    v, r, s = extcall VM.sign(key, digest)
    return Signature(v=v, r=r, s=s)


@internal
def _execute(signer: address, nonce: uint256, signature: Signature):
    """
    @notice Calls execute_signed for an Intent (RECIPIENT, AMOUNT, the test deadline).
    @param signer The signer named in the intent.
    @param nonce The unordered nonce.
    @param signature The signature.
    """
    extcall self.harness.execute_signed(
        signer, RECIPIENT, AMOUNT, nonce, self.deadline, signature.v, signature.r, signature.s
    )


@internal
def _execute_ordered(signer: address, nonce: uint256, signature: Signature):
    """
    @notice Calls execute_ordered for an OrderedIntent (RECIPIENT, AMOUNT, the test deadline).
    @param signer The signer named in the intent.
    @param nonce The sequential nonce.
    @param signature The signature.
    """
    extcall self.harness.execute_ordered(
        signer, RECIPIENT, AMOUNT, nonce, self.deadline, signature.v, signature.r, signature.s
    )


@internal
def _deploy_harness(guardian: address) -> address:
    """
    @notice Deploys SafetyHarness with `guardian` through the deployCode(string,bytes) cheatcode.
    @param guardian The harness's first guardian.
    @return The harness address.
    """
    response: Bytes[32] = raw_call(
        VM.address,
        abi_encode("SafetyHarness.vy", abi_encode(guardian), method_id=method_id("deployCode(string,bytes)")),
        max_outsize=32,
    )
    return abi_decode(response, address)
