# pragma version ~=0.4.3
"""
@title ref_math
@license Apache-2.0
@notice Reference arithmetic for the forge tests of the `math` module: the exact 512-bit product by
        schoolbook multiplication on 128-bit limbs (independent of the mulmod construction in
        contracts/modules/math.vy), 512-bit addition, and a fuzz-input bounding helper.
@dev Test-only module (tests/forge/helpers/), imported by MathTest.vy and MathFuzzTest.vy. Arithmetic here is
     checked except where a carry is deliberately produced and captured, so a wrong assumption reverts and
     fails the test rather than passing silently.
"""

MAX: constant(uint256) = max_value(uint256)
MASK_128: constant(uint256) = 2**128 - 1


@internal
@pure
def _mul512(a: uint256, b: uint256) -> (uint256, uint256):
    """
    @notice The exact product a * b as (high word, low word), by schoolbook multiplication on 128-bit limbs.
    @dev Every partial product of two 128-bit limbs fits in 256 bits. The additions are checked except where
         a carry is wanted and captured: a wrong assumption here reverts, which fails the test.
    @param a The first factor.
    @param b The second factor.
    @return The high and the low 256-bit words of a * b.
    """
    a0: uint256 = a & MASK_128
    a1: uint256 = a >> 128
    b0: uint256 = b & MASK_128
    b1: uint256 = b >> 128
    p00: uint256 = a0 * b0
    p01: uint256 = a0 * b1
    p10: uint256 = a1 * b0
    p11: uint256 = a1 * b1
    mid: uint256 = unsafe_add(p01, p10)  # may wrap: the carry out of bit 256 is captured on the next line
    mid_carry: uint256 = convert(mid < p01, uint256)
    mid_low: uint256 = mid << 128  # shifts out the top 128 bits of mid, which go to the high word below
    lo: uint256 = unsafe_add(p00, mid_low)  # may wrap: the carry is captured on the next line
    lo_carry: uint256 = convert(lo < p00, uint256)
    hi: uint256 = p11 + (mid >> 128) + (mid_carry << 128) + lo_carry
    return hi, lo


@internal
@pure
def _add512(hi: uint256, lo: uint256, z: uint256) -> (uint256, uint256):
    """
    @notice The exact sum (hi * 2**256 + lo) + z as two words.
    @param hi The high word.
    @param lo The low word.
    @param z The 256-bit addend.
    @return The high and the low words of the sum (checked: reverts if it exceeds 512 bits).
    """
    new_lo: uint256 = unsafe_add(lo, z)  # may wrap: the carry is added to the high word
    return hi + convert(new_lo < lo, uint256), new_lo


@internal
@pure
def _bound(x: uint256, lo: uint256, hi: uint256) -> uint256:
    """
    @notice Maps a fuzzed value into [lo, hi].
    @param x The fuzzed value.
    @param lo The lower bound.
    @param hi The upper bound (>= lo).
    @return A value in [lo, hi].
    """
    if lo == 0 and hi == MAX:
        return x
    return lo + x % (hi - lo + 1)
