# pragma version ~=0.4.3
"""
@title math
@license Apache-2.0
@notice Full-precision fixed-point helpers: `_mul_div` with a 512-bit intermediate product, ceiling division,
        basis-point and WAD (1e18) scaling, `_min` and `_max`.
@dev Every function is `@internal` and `@pure`; the module has no storage, so another module or contract uses it
     with a plain `from . import math` (or `from .modules import math`) and needs no `initializes:` or `uses:`.
     Every function that divides takes the rounding direction explicitly (`round_up`), or names it in its own
     name (`_ceil_div`). No function ever returns a wrapped value: a result that does not fit in 256 bits
     reverts with "math: mul_div overflow", and a zero denominator reverts with "math: division by zero".
     The 512-bit division follows the well-known construction (product as two words via `mulmod` and the
     Chinese remainder theorem, removal of the remainder, removal of the factors of two of the denominator,
     then multiplication by the inverse of the odd part modulo 2**256 obtained by Newton-Raphson iteration).
"""


# @notice One hundred percent in basis points.
BPS: constant(uint256) = 10_000

# @notice One in WAD fixed point (18 decimals).
WAD: constant(uint256) = 10**18

# @notice Newton-Raphson steps to refine the 4-bit seed of the modular inverse to 256 bits (4 * 2**6 = 256).
NEWTON_STEPS: constant(uint256) = 6


@internal
@pure
def _mul_div(x: uint256, y: uint256, denominator: uint256, round_up: bool) -> uint256:
    """
    @notice Returns x * y / denominator computed with a 512-bit intermediate product, rounded down when
            `round_up` is False and up (towards +infinity) when it is True.
    @dev The result is exact: with q = floor(x * y / denominator) and r = x * y mod denominator,
         x * y == q * denominator + r with 0 <= r < denominator, and the rounded-up result is q + (r > 0).
         Reverts "math: division by zero" if `denominator` is 0, and "math: mul_div overflow" if the
         (rounded) result exceeds 2**256 - 1, including the case where rounding up pushes q = 2**256 - 1 over.
    @param x The first factor.
    @param y The second factor.
    @param denominator The divisor; must be nonzero.
    @param round_up True to round up, False to round down.
    @return The quotient, rounded in the requested direction.
    """
    assert denominator != 0, "math: division by zero"

    # The 512-bit product x * y == prod1 * 2**256 + prod0. prod0 is x * y modulo 2**256 (the EVM's MUL wraps,
    # which is exactly the low word); mm is x * y modulo 2**256 - 1; the Chinese remainder theorem gives
    # prod1 = mm - prod0 - (mm < prod0), evaluated modulo 2**256.
    prod0: uint256 = unsafe_mul(x, y)  # wraps by design: the low 256 bits of x * y
    mm: uint256 = uint256_mulmod(x, y, max_value(uint256))
    # wraps by design: modulo-2**256 subtraction with the borrow folded in; the true high word is < 2**256
    prod1: uint256 = unsafe_sub(unsafe_sub(mm, prod0), convert(mm < prod0, uint256))

    # The exact remainder of x * y divided by denominator (mulmod works on the full 512-bit product).
    remainder: uint256 = uint256_mulmod(x, y, denominator)

    result: uint256 = 0
    if prod1 == 0:
        # The product fits in 256 bits: a plain division.
        result = unsafe_div(prod0, denominator)  # rounds down; cannot fail: denominator != 0 asserted above
    else:
        # The quotient fits in 256 bits if and only if prod1 < denominator.
        assert prod1 < denominator, "math: mul_div overflow"

        # Subtract the remainder from the 512-bit product so that it becomes an exact multiple of denominator.
        # cannot underflow: the borrow is at most 1 and prod1 >= 1 in this branch (and x * y >= remainder,
        # so the 512-bit difference is never negative)
        prod1 = unsafe_sub(prod1, convert(remainder > prod0, uint256))
        prod0 = unsafe_sub(prod0, remainder)  # wraps by design: low word of a 512-bit subtraction, borrow taken above

        # Factor the largest power of two out of denominator: twos is its lowest set bit (never 0 since
        # denominator != 0). Both divisions below are exact (they round nowhere): twos divides denominator, and
        # twos divides prod0 because it divides the 512-bit multiple of denominator whose low word prod0 is.
        twos: uint256 = denominator & unsafe_sub(0, denominator)  # wraps by design: two's complement negation
        odd: uint256 = unsafe_div(denominator, twos)  # cannot fail: twos >= 1; exact division
        prod0 = unsafe_div(prod0, twos)  # cannot fail: twos >= 1; exact division (see above)

        # flip = 2**256 / twos, computed as (2**256 - twos) / twos + 1. For twos == 1 it wraps to 0, which is
        # 2**256 modulo 2**256, the value wanted: the high word then contributes nothing modulo 2**256.
        # unsafe_sub wraps by design (0 - twos == 2**256 - twos); unsafe_div exact (twos divides 2**256 - twos);
        # unsafe_add only wraps in the twos == 1 case described above.
        flip: uint256 = unsafe_add(unsafe_div(unsafe_sub(0, twos), twos), 1)
        # Shift the bits of prod1 into the top of prod0: prod0 < flip after the division by twos, and
        # prod1 * flip is a multiple of flip, so OR is addition here.
        prod0 = prod0 | unsafe_mul(prod1, flip)  # wraps by design: only the value modulo 2**256 is needed

        # Inverse of the odd part modulo 2**256. (3 * odd) ^ 2 is correct to 4 bits; each Newton-Raphson
        # step inverse = inverse * (2 - odd * inverse) doubles the number of correct bits: 4 -> 256 in 6 steps.
        inverse: uint256 = unsafe_mul(3, odd) ^ 2  # wraps by design: only the low bits matter (modulo 2**256)
        for _: uint256 in range(NEWTON_STEPS):
            # wraps by design: Newton-Raphson iteration carried out modulo 2**256
            inverse = unsafe_mul(inverse, unsafe_sub(2, unsafe_mul(odd, inverse)))

        # The quotient is the exact division of the 512-bit multiple by denominator; it is < 2**256 (checked
        # above), so it equals its own value modulo 2**256, which is prod0 * inverse modulo 2**256.
        result = unsafe_mul(prod0, inverse)  # wraps by design: the exact quotient modulo 2**256 is the quotient

    if round_up and remainder != 0:
        assert result != max_value(uint256), "math: mul_div overflow"
        result = unsafe_add(result, 1)  # cannot overflow: result < 2**256 - 1 was asserted on the line above
    return result


@internal
@pure
def _ceil_div(x: uint256, y: uint256) -> uint256:
    """
    @notice Returns x / y rounded up (towards +infinity).
    @dev Reverts "math: division by zero" if `y` is 0. Never overflows: ceil(x / y) <= x for y >= 1.
    @param x The dividend.
    @param y The divisor; must be nonzero.
    @return ceil(x / y); 0 when x is 0.
    """
    assert y != 0, "math: division by zero"
    result: uint256 = unsafe_div(x, y)  # rounds down; cannot fail: y != 0 was asserted above
    if x % y != 0:
        # cannot overflow: a nonzero remainder means y >= 2, so result <= (2**256 - 1) / 2
        result = unsafe_add(result, 1)
    return result


@internal
@pure
def _bps_of(amount: uint256, bps: uint256, round_up: bool) -> uint256:
    """
    @notice Returns amount * bps / 10_000 (a fraction of `amount` given in basis points) at full precision.
    @dev `bps` may exceed BPS (more than 100%); the product is computed on 512 bits, so only a result that
         does not fit in 256 bits reverts ("math: mul_div overflow"), which cannot happen while bps <= BPS.
    @param amount The amount to take a fraction of.
    @param bps The fraction in basis points (10_000 == 100%).
    @return The fraction, rounded down when `round_up` is False, up when it is True.
    """
    return self._mul_div(amount, bps, BPS, round_up)


@internal
@pure
def _wad_mul(x: uint256, y: uint256, round_up: bool) -> uint256:
    """
    @notice Returns x * y / 1e18, the product of two WAD fixed-point numbers, at full precision.
    @dev Reverts "math: mul_div overflow" if the result does not fit in 256 bits.
    @param x The first WAD factor.
    @param y The second WAD factor.
    @param round_up True to round up, False to round down.
    @return The WAD product, rounded in the requested direction.
    """
    return self._mul_div(x, y, WAD, round_up)


@internal
@pure
def _wad_div(x: uint256, y: uint256, round_up: bool) -> uint256:
    """
    @notice Returns x * 1e18 / y, the quotient of two WAD fixed-point numbers, at full precision.
    @dev Reverts "math: division by zero" if `y` is 0 and "math: mul_div overflow" if the result does not fit
         in 256 bits.
    @param x The WAD dividend.
    @param y The WAD divisor; must be nonzero.
    @param round_up True to round up, False to round down.
    @return The WAD quotient, rounded in the requested direction.
    """
    return self._mul_div(x, WAD, y, round_up)


@internal
@pure
def _min(x: uint256, y: uint256) -> uint256:
    """
    @notice Returns the smaller of two values.
    @param x The first value.
    @param y The second value.
    @return min(x, y).
    """
    if x < y:
        return x
    return y


@internal
@pure
def _max(x: uint256, y: uint256) -> uint256:
    """
    @notice Returns the larger of two values.
    @param x The first value.
    @param y The second value.
    @return max(x, y).
    """
    if x > y:
        return x
    return y
