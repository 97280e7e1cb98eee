# pragma version ~=0.4.3
"""
@title MathFuzzTest
@license Apache-2.0
@notice Fuzz tests of the `math` module through contracts/mocks/MathHarness.vy: every result is checked
        against the exact identity x * y == q * d + r (0 <= r < d) on 512 bits, rounding up against q + (r > 0),
        and every input whose quotient does not fit against the "math: mul_div overflow" revert. The 512-bit
        reference product (tests/forge/helpers/ref_math.vy) is schoolbook multiplication on 128-bit limbs,
        independent of the mulmod construction in math.vy, and is itself checked first.
"""

from .interfaces import IVm
from .helpers import ref_math

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)

MAX: constant(uint256) = max_value(uint256)
MASK_128: constant(uint256) = ref_math.MASK_128
BPS: constant(uint256) = 10_000
WAD: constant(uint256) = 10**18

# The Mersenne number 2**257 - 1 is 535006138814359 * 1155685395246619182673033 * p with
# p = 374550598501810936581776630096313181393; grouping the factors gives two 129-bit numbers whose product
# is 2 * (2**256 - 1) + 1. Divided by 2 it gives exactly 2**256 - 1 with remainder 1.
M257_A: constant(uint256) = 618298780995040089266257453058982480847
M257_B: constant(uint256) = 374550598501810936581776630096313181393


interface MathHarness:
    def BPS() -> uint256: pure
    def WAD() -> uint256: pure
    def mul_div(x: uint256, y: uint256, denominator: uint256, round_up: bool) -> uint256: pure
    def ceil_div(x: uint256, y: uint256) -> uint256: pure
    def bps_of(amount: uint256, bps: uint256, round_up: bool) -> uint256: pure
    def wad_mul(x: uint256, y: uint256, round_up: bool) -> uint256: pure
    def wad_div(x: uint256, y: uint256, round_up: bool) -> uint256: pure
    def minimum(x: uint256, y: uint256) -> uint256: pure
    def maximum(x: uint256, y: uint256) -> uint256: pure


harness: MathHarness


@external
def setUp():
    """
    @notice Deploys the harness.
    """
    self.harness = MathHarness(extcall VM.deployCode("MathHarness.vy"))


@internal
@view
def _check_quotient(x: uint256, y: uint256, d: uint256, down: uint256):
    """
    @notice Asserts that `down` is floor(x * y / d): x * y == down * d + r with r = x * y mod d, checked on
            512 bits; r < d is the mulmod contract and makes `down` unique.
    @param x The first factor.
    @param y The second factor.
    @param d The divisor (nonzero).
    @param down The claimed floor quotient.
    """
    r: uint256 = uint256_mulmod(x, y, d)
    assert r < d, "remainder not below the divisor"
    prod_hi: uint256 = 0
    prod_lo: uint256 = 0
    prod_hi, prod_lo = ref_math._mul512(x, y)
    qd_hi: uint256 = 0
    qd_lo: uint256 = 0
    qd_hi, qd_lo = ref_math._mul512(down, d)
    qd_hi, qd_lo = ref_math._add512(qd_hi, qd_lo, r)
    assert qd_hi == prod_hi and qd_lo == prod_lo, "q * d + r != x * y"


@internal
def _check_mul_div(x: uint256, y: uint256, d: uint256):
    """
    @notice Checks mul_div(x, y, d, *) against the 512-bit identity, or its overflow revert when the floor
            quotient does not fit (high word of x * y >= d) or rounding up pushes 2**256 - 1 over.
    @param x The first factor.
    @param y The second factor.
    @param d The divisor (nonzero).
    """
    prod_hi: uint256 = 0
    prod_lo: uint256 = 0
    prod_hi, prod_lo = ref_math._mul512(x, y)
    if prod_hi >= d:
        extcall VM.expectRevert(b"math: mul_div overflow")
        q: uint256 = staticcall self.harness.mul_div(x, y, d, False)
        extcall VM.expectRevert(b"math: mul_div overflow")
        q = staticcall self.harness.mul_div(x, y, d, True)
        return
    down: uint256 = staticcall self.harness.mul_div(x, y, d, False)
    self._check_quotient(x, y, d, down)
    r: uint256 = uint256_mulmod(x, y, d)
    if r != 0 and down == MAX:
        extcall VM.expectRevert(b"math: mul_div overflow")
        q: uint256 = staticcall self.harness.mul_div(x, y, d, True)
        return
    up: uint256 = staticcall self.harness.mul_div(x, y, d, True)
    if r == 0:
        assert up == down, "round up of an exact quotient changed it"
    else:
        assert up == down + 1, "round up is not floor + 1"


@external
def test_reference_mul512_known_values():
    """
    @notice The reference 512-bit product on known values.
    """
    hi: uint256 = 0
    lo: uint256 = 0
    hi, lo = ref_math._mul512(MAX, MAX)  # (2**256 - 1)**2 = (2**256 - 2) * 2**256 + 1
    assert hi == MAX - 1 and lo == 1, "max * max"
    hi, lo = ref_math._mul512(2**128, 2**128)
    assert hi == 1 and lo == 0, "2**128 squared"
    hi, lo = ref_math._mul512(2**255, 2)
    assert hi == 1 and lo == 0, "2**255 * 2"
    hi, lo = ref_math._mul512(M257_A, M257_B)  # 2**257 - 1
    assert hi == 1 and lo == MAX, "2**257 - 1"
    hi, lo = ref_math._mul512(12345, 67890)
    assert hi == 0 and lo == 12345 * 67890, "small"


@external
def testFuzz_reference_mul512_matches_native(a: uint128, b: uint128):
    """
    @notice The reference 512-bit product equals the native product when that fits in 256 bits.
    @param a A 128-bit factor.
    @param b A 128-bit factor.
    """
    hi: uint256 = 0
    lo: uint256 = 0
    hi, lo = ref_math._mul512(convert(a, uint256), convert(b, uint256))
    assert hi == 0, "high word of a 256-bit product"
    assert lo == convert(a, uint256) * convert(b, uint256), "low word"


@external
def testFuzz_reference_mul512_matches_mulmod(a: uint256, b: uint256, m: uint256):
    """
    @notice The reference product reduced modulo m (by long division on the two words) equals mulmod(a, b, m).
    @dev (hi * 2**256 + lo) mod m == ((hi mod m) * (2**256 mod m) + lo mod m) mod m, all with mulmod/addmod.
    @param a The first factor.
    @param b The second factor.
    @param m The modulus (nonzero).
    """
    modulus: uint256 = ref_math._bound(m, 1, MAX)
    hi: uint256 = 0
    lo: uint256 = 0
    hi, lo = ref_math._mul512(a, b)
    # 2**256 mod m == ((2**256 - 1) mod m + 1) mod m
    two_256_mod: uint256 = uint256_addmod(MAX % modulus, 1, modulus)
    reduced: uint256 = uint256_addmod(uint256_mulmod(hi, two_256_mod, modulus), lo % modulus, modulus)
    assert reduced == uint256_mulmod(a, b, modulus), "reference product disagrees with mulmod"


@external
def testFuzz_mul_div_identity(x: uint256, y: uint256, d: uint256):
    """
    @notice Over the whole input space: either x * y == q * d + r (0 <= r < d, checked on 512 bits) and the
            rounded-up result is q + (r > 0), or the quotient does not fit and both modes revert
            "math: mul_div overflow".
    @param x The first factor.
    @param y The second factor.
    @param d The divisor (bounded to nonzero).
    """
    self._check_mul_div(x, y, ref_math._bound(d, 1, MAX))


@external
def testFuzz_mul_div_identity_fitting(x: uint256, y: uint256, d: uint256):
    """
    @notice The identity with the divisor drawn above the high word of x * y, so the quotient always fits and
            the 512-bit path (nonzero high word) is exercised on every run where x * y >= 2**256.
    @param x The first factor.
    @param y The second factor.
    @param d Drawn into (high word of x * y, 2**256 - 1].
    """
    prod_hi: uint256 = 0
    prod_lo: uint256 = 0
    prod_hi, prod_lo = ref_math._mul512(x, y)
    extcall VM.assume(prod_hi < MAX)
    denominator: uint256 = ref_math._bound(d, prod_hi + 1, MAX)
    down: uint256 = staticcall self.harness.mul_div(x, y, denominator, False)
    self._check_quotient(x, y, denominator, down)
    self._check_mul_div(x, y, denominator)


@external
def testFuzz_mul_div_borrow_even_denominator(a: uint128, b: uint128, k: uint256, seed: uint256):
    """
    @notice The identity on the 512-bit path where removing the remainder borrows from the high word and the
            denominator is even (a multiple of 2**k, k >= 1), the one case where that borrow changes the result:
            x = a * 2**128 and y = b * 2**128 make the low word of x * y zero, so any nonzero remainder borrows.
    @param a The high limb of x.
    @param b The high limb of y.
    @param k The power of two dividing the denominator, drawn into [1, 200].
    @param seed Drawn into the odd cofactor range that keeps the denominator above the high word a * b.
    """
    x: uint256 = convert(a, uint256) << 128
    y: uint256 = convert(b, uint256) << 128
    prod_hi: uint256 = convert(a, uint256) * convert(b, uint256)  # the high word of x * y; the low word is 0
    bits: uint256 = ref_math._bound(k, 1, 200)
    # the smallest multiple m * 2**bits above prod_hi has m = prod_hi // 2**bits + 1 (floor, then + 1); it must
    # still fit in 256 bits, which fails only when the top 256 - bits bits of prod_hi are all ones
    extcall VM.assume((prod_hi >> bits) < (MAX >> bits))
    denominator: uint256 = ref_math._bound(seed, (prod_hi >> bits) + 1, MAX >> bits) << bits
    extcall VM.assume(uint256_mulmod(x, y, denominator) != 0)
    self._check_mul_div(x, y, denominator)


@external
def testFuzz_mul_div_matches_native_small(x: uint128, y: uint128, d: uint256):
    """
    @notice When x * y fits in 256 bits, mul_div equals the native floor division and ceiling.
    @param x A 128-bit factor.
    @param y A 128-bit factor.
    @param d The divisor (bounded to nonzero).
    """
    denominator: uint256 = ref_math._bound(d, 1, MAX)
    product: uint256 = convert(x, uint256) * convert(y, uint256)  # checked; cannot overflow: 128 x 128 bits
    expected_down: uint256 = product // denominator  # rounds down (the reference)
    expected_up: uint256 = expected_down
    if product % denominator != 0:
        expected_up += 1
    a: uint256 = convert(x, uint256)
    b: uint256 = convert(y, uint256)
    assert staticcall self.harness.mul_div(a, b, denominator, False) == expected_down, "down"
    assert staticcall self.harness.mul_div(a, b, denominator, True) == expected_up, "up"


@external
def testFuzz_mul_div_overflow_boundary(m: uint256):
    """
    @notice The exact overflow boundary. For a divisor m, with s = (2**256 - 1) mod (m + 1),
            t = (2**256 - 1 - s) / (m + 1) and x = m * t + s: x * (m + 1) == m * (2**256 - 1) + s, so the floor
            quotient is exactly 2**256 - 1 with remainder s. Rounding down returns 2**256 - 1; rounding up
            (s > 0) must revert; x + 1 gives a floor quotient above 2**256 - 1, which must revert in both modes;
            and d * (2**256 - 1) / d is exactly 2**256 - 1 in both modes.
    @param m The divisor, drawn into [2, 2**255].
    """
    divisor: uint256 = ref_math._bound(m, 2, 2**255)
    s: uint256 = MAX % (divisor + 1)
    extcall VM.assume(s != 0 and s != divisor)  # need 0 < s < divisor for s to be the remainder
    t: uint256 = (MAX - s) // (divisor + 1)  # exact: MAX - s is a multiple of divisor + 1
    x: uint256 = divisor * t + s
    y: uint256 = divisor + 1
    assert staticcall self.harness.mul_div(x, y, divisor, False) == MAX, "floor quotient at the boundary"
    extcall VM.expectRevert(b"math: mul_div overflow")
    q: uint256 = staticcall self.harness.mul_div(x, y, divisor, True)
    extcall VM.expectRevert(b"math: mul_div overflow")
    q = staticcall self.harness.mul_div(x + 1, y, divisor, False)
    extcall VM.expectRevert(b"math: mul_div overflow")
    q = staticcall self.harness.mul_div(x + 1, y, divisor, True)
    assert staticcall self.harness.mul_div(divisor, MAX, divisor, False) == MAX, "exact max down"
    assert staticcall self.harness.mul_div(divisor, MAX, divisor, True) == MAX, "exact max up"


@external
def testFuzz_mul_div_symmetric(x: uint256, y: uint256, d: uint256):
    """
    @notice mul_div(x, y, d) == mul_div(y, x, d) whenever it fits.
    @param x The first factor.
    @param y The second factor.
    @param d The divisor, drawn above the high word of x * y.
    """
    prod_hi: uint256 = 0
    prod_lo: uint256 = 0
    prod_hi, prod_lo = ref_math._mul512(x, y)
    extcall VM.assume(prod_hi < MAX)
    denominator: uint256 = ref_math._bound(d, prod_hi + 1, MAX)
    a: uint256 = staticcall self.harness.mul_div(x, y, denominator, False)
    b: uint256 = staticcall self.harness.mul_div(y, x, denominator, False)
    assert a == b, "mul_div is not symmetric in x and y"


@external
def testFuzz_ceil_div(x: uint256, y: uint256):
    """
    @notice ceil_div(x, y) == x // y + (x % y != 0), equals mul_div(x, 1, y, True), and is the least c with
            c * y >= x (checked on 512 bits).
    @param x The dividend.
    @param y The divisor (bounded to nonzero).
    """
    divisor: uint256 = ref_math._bound(y, 1, MAX)
    c: uint256 = staticcall self.harness.ceil_div(x, divisor)
    expected: uint256 = x // divisor  # rounds down; the reference adds the rounding up below
    if x % divisor != 0:
        expected += 1
    assert c == expected, "ceil_div != floor + (remainder > 0)"
    assert c == staticcall self.harness.mul_div(x, 1, divisor, True), "ceil_div != mul_div(x, 1, y, up)"
    hi: uint256 = 0
    lo: uint256 = 0
    hi, lo = ref_math._mul512(c, divisor)
    assert hi > 0 or lo >= x, "c * y < x"
    if c > 0:
        hi, lo = ref_math._mul512(c - 1, divisor)
        assert hi == 0 and lo < x, "(c - 1) * y >= x"


@external
def testFuzz_bps_of(amount: uint256, bps: uint256):
    """
    @notice bps_of(amount, bps) satisfies the mul_div identity with d = 10_000, never exceeds `amount` for
            bps <= 10_000 (so never reverts there), and down <= up <= down + 1.
    @param amount The amount.
    @param bps The fraction, drawn into [0, 10_000].
    """
    b: uint256 = ref_math._bound(bps, 0, BPS)
    down: uint256 = staticcall self.harness.bps_of(amount, b, False)
    up: uint256 = staticcall self.harness.bps_of(amount, b, True)
    self._check_quotient(amount, b, BPS, down)
    assert up <= amount, "more than 100% of the amount"
    assert up == down or up == down + 1, "up not within one of down"
    assert (up == down) == (uint256_mulmod(amount, b, BPS) == 0), "up != down + (remainder > 0)"


@external
def testFuzz_bps_of_any_bps(amount: uint256, bps: uint256):
    """
    @notice bps_of with any bps (above 100% too) obeys the same identity or reverts "math: mul_div overflow".
    @param amount The amount.
    @param bps The fraction in basis points, unbounded.
    """
    self._check_mul_div(amount, bps, BPS)
    down: uint256 = 0
    prod_hi: uint256 = 0
    prod_lo: uint256 = 0
    prod_hi, prod_lo = ref_math._mul512(amount, bps)
    if prod_hi >= BPS:
        extcall VM.expectRevert(b"math: mul_div overflow")
        down = staticcall self.harness.bps_of(amount, bps, False)
        return
    down = staticcall self.harness.bps_of(amount, bps, False)
    assert down == staticcall self.harness.mul_div(amount, bps, BPS, False), "bps_of != mul_div(a, b, BPS)"


@external
def testFuzz_wad_mul(x: uint256, y: uint256):
    """
    @notice wad_mul(x, y) obeys the mul_div identity with d = 1e18 (or reverts "math: mul_div overflow" when
            the result does not fit), and multiplying by 1e18 (one) is the identity.
    @param x The first WAD factor.
    @param y The second WAD factor.
    """
    prod_hi: uint256 = 0
    prod_lo: uint256 = 0
    prod_hi, prod_lo = ref_math._mul512(x, y)
    q: uint256 = 0
    if prod_hi >= WAD:
        extcall VM.expectRevert(b"math: mul_div overflow")
        q = staticcall self.harness.wad_mul(x, y, False)
    else:
        q = staticcall self.harness.wad_mul(x, y, False)
        self._check_quotient(x, y, WAD, q)
        q = staticcall self.harness.wad_mul(x, y, True)
        assert q == staticcall self.harness.mul_div(x, y, WAD, True), "wad_mul up != mul_div up"
    assert staticcall self.harness.wad_mul(x, WAD, False) == x, "x * 1 != x"
    assert staticcall self.harness.wad_mul(x, WAD, True) == x, "x * 1 != x (up)"


@external
def testFuzz_wad_div(x: uint256, y: uint256):
    """
    @notice wad_div(x, y) obeys the mul_div identity x * 1e18 == q * y + r (or reverts "math: mul_div
            overflow"), and dividing by 1e18 (one) is the identity.
    @param x The WAD dividend.
    @param y The WAD divisor (bounded to nonzero).
    """
    divisor: uint256 = ref_math._bound(y, 1, MAX)
    prod_hi: uint256 = 0
    prod_lo: uint256 = 0
    prod_hi, prod_lo = ref_math._mul512(x, WAD)
    q: uint256 = 0
    if prod_hi >= divisor:
        extcall VM.expectRevert(b"math: mul_div overflow")
        q = staticcall self.harness.wad_div(x, divisor, False)
    else:
        q = staticcall self.harness.wad_div(x, divisor, False)
        self._check_quotient(x, WAD, divisor, q)
        q = staticcall self.harness.wad_div(x, divisor, True)
        assert q == staticcall self.harness.mul_div(x, WAD, divisor, True), "wad_div up != mul_div up"
    assert staticcall self.harness.wad_div(x, WAD, False) == x, "x / 1 != x"
    assert staticcall self.harness.wad_div(x, WAD, True) == x, "x / 1 != x (up)"


@external
def testFuzz_wad_round_trip(x: uint128, y: uint128):
    """
    @notice For y > 0: wad_div(wad_mul(x, y, down), y, down) <= x <= wad_div(wad_mul(x, y, up), y, up), i.e.
            rounding down never creates value and rounding up never loses it.
    @param x A WAD amount (128 bits, so nothing overflows).
    @param y A nonzero WAD factor (128 bits).
    """
    a: uint256 = convert(x, uint256)
    b: uint256 = ref_math._bound(convert(y, uint256), 1, MASK_128)
    down: uint256 = staticcall self.harness.wad_div(staticcall self.harness.wad_mul(a, b, False), b, False)
    up: uint256 = staticcall self.harness.wad_div(staticcall self.harness.wad_mul(a, b, True), b, True)
    assert down <= a, "round trip rounded down exceeds x"
    assert up >= a, "round trip rounded up is below x"


@external
def testFuzz_min_max(x: uint256, y: uint256):
    """
    @notice minimum and maximum return one of their arguments, in order, and together the pair.
    @param x The first value.
    @param y The second value.
    """
    lo: uint256 = staticcall self.harness.minimum(x, y)
    hi: uint256 = staticcall self.harness.maximum(x, y)
    assert lo <= x and lo <= y and (lo == x or lo == y), "minimum"
    assert hi >= x and hi >= y and (hi == x or hi == y), "maximum"
    assert lo == staticcall self.harness.minimum(y, x), "minimum is not symmetric"
    assert hi == staticcall self.harness.maximum(y, x), "maximum is not symmetric"
