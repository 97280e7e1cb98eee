# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title eip712
@notice EIP-712 typed-data hashing and signature checks for one signing domain
        (name, version, chain id, verifying contract), with the EIP-5267 `eip712Domain()` view.
@dev The domain separator is computed once at deploy time and cached together with the chain id
     and the contract's own address. `_domain_separator()` serves the cache only while both still
     match, and otherwise rebuilds it from the current chain id and `self`: after a chain fork the
     fork's signatures differ from the original chain's, and code reached at another address
     (a copy, or a delegatecall context) never accepts signatures made for this one.

     Signature rules (`_recover`): v must be 27 or 28, s must be in the lower half of the curve
     order (so each signature has exactly one accepted encoding), and the recovered signer must
     not be the zero address (which ecrecover returns for an invalid signature).

     Callers must check the deadline and consume the nonce (see the nonces module) before any
     external call, and only then recover and compare the signer. A failed check reverts the whole
     call, the nonce use included.
"""


# @notice The EIP-712 domain type hash.
DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)

# @notice The largest s accepted: floor(n / 2) = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0,
#         n being the secp256k1 group order.
MAX_S: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

# @notice EIP-5267 field bitmap: name, version, chainId and verifyingContract (bits 0 to 3).
DOMAIN_FIELDS: constant(bytes1) = 0x0f


_NAME: immutable(String[50])
_VERSION: immutable(String[20])
_HASHED_NAME: immutable(bytes32)
_HASHED_VERSION: immutable(bytes32)
_CACHED_DOMAIN_SEPARATOR: immutable(bytes32)
_CACHED_CHAIN_ID: immutable(uint256)
_CACHED_SELF: immutable(address)


@deploy
def __init__(name: String[50], version: String[20]):
    """
    @notice Sets the domain and caches its separator for the current chain id and address.
    @param name The signing domain's name, shown to signers (at most 50 bytes).
    @param version The signing domain's version; signatures for another version never verify
           (at most 20 bytes).
    """
    _NAME = name
    _VERSION = version
    _HASHED_NAME = keccak256(name)
    _HASHED_VERSION = keccak256(version)
    _CACHED_DOMAIN_SEPARATOR = self._build_domain_separator()
    _CACHED_CHAIN_ID = chain.id
    _CACHED_SELF = self


@external
@view
def eip712Domain() -> (bytes1, String[50], String[20], uint256, address, bytes32, DynArray[uint256, 32]):
    """
    @notice The EIP-5267 description of the signing domain.
    @return The field bitmap (0x0f: name, version, chainId, verifyingContract), the name, the
            version, the current chain id, this contract's address, the salt (unused, zero) and
            the extensions (none).
    """
    return (DOMAIN_FIELDS, _NAME, _VERSION, chain.id, self, empty(bytes32), empty(DynArray[uint256, 32]))


@external
@view
def DOMAIN_SEPARATOR() -> bytes32:
    """
    @notice The domain separator for the current chain id and address.
    @return The domain separator.
    """
    return self._domain_separator()


@internal
@view
def _domain_separator() -> bytes32:
    """
    @notice The cached domain separator if the chain id and address are those it was built for,
            otherwise one built afresh.
    @return The domain separator.
    """
    if chain.id == _CACHED_CHAIN_ID and self == _CACHED_SELF:
        return _CACHED_DOMAIN_SEPARATOR
    return self._build_domain_separator()


@internal
@view
def _build_domain_separator() -> bytes32:
    """
    @notice Builds the domain separator from the current chain id and `self`.
    @return The domain separator.
    """
    return keccak256(abi_encode(DOMAIN_TYPEHASH, _HASHED_NAME, _HASHED_VERSION, chain.id, self))


@internal
@view
def _hash_typed_data(struct_hash: bytes32) -> bytes32:
    """
    @notice The EIP-712 digest to sign: keccak256(0x1901 || domain separator || struct hash).
    @param struct_hash The hashStruct of the message.
    @return The digest.
    """
    return keccak256(concat(x"1901", self._domain_separator(), struct_hash))


@internal
@pure
def _recover(digest: bytes32, v: uint8, r: bytes32, s: bytes32) -> address:
    """
    @notice Recovers the signer of `digest`, enforcing the signature rules.
    @dev Rejects s above MAX_S (the malleable twin of a valid signature), v other than 27 or 28,
         and signatures for which ecrecover finds no signer.
    @param digest The signed digest.
    @param v The recovery id, 27 or 28.
    @param r The signature's r.
    @param s The signature's s, at most MAX_S.
    @return The signer, never the zero address.
    """
    assert convert(s, uint256) <= MAX_S, "eip712: invalid signature s"
    assert v == 27 or v == 28, "eip712: invalid signature v"
    signer: address = ecrecover(digest, v, r, s)
    assert signer != empty(address), "eip712: invalid signature"
    return signer


@internal
@pure
def _check_signer(signer: address, digest: bytes32, v: uint8, r: bytes32, s: bytes32):
    """
    @notice Reverts unless (v, r, s) is a valid signature of `digest` by `signer`.
    @param signer The expected signer.
    @param digest The signed digest.
    @param v The recovery id, 27 or 28.
    @param r The signature's r.
    @param s The signature's s.
    """
    assert self._recover(digest, v, r, s) == signer, "eip712: wrong signer"


@internal
@view
def _check_deadline(deadline: uint256):
    """
    @notice Reverts once `deadline` has passed; a signature is valid up to and including the
            block whose timestamp equals its deadline.
    @param deadline The last valid timestamp.
    """
    assert block.timestamp <= deadline, "eip712: expired deadline"
