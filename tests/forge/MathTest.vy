# pragma version ~=0.4.3
"""
@title MathTest
@license Apache-2.0
@notice Unit tests of the `math` module through contracts/mocks/MathHarness.vy: every revert reason with its
        exact string, and known answers on both the 256-bit and the 512-bit paths of `_mul_div`. The fuzz tests
        of the exact identities are in MathFuzzTest.vy.
"""

from .interfaces import IVm

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)

MAX: constant(uint256) = max_value(uint256)
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


@external
def test_mul_div_zero_denominator_reverts():
    """
    @notice mul_div(x, y, 0, *) reverts "math: division by zero", rounding down and up, zero product included.
    """
    extcall VM.expectRevert(b"math: division by zero")
    q: uint256 = staticcall self.harness.mul_div(3, 4, 0, False)
    extcall VM.expectRevert(b"math: division by zero")
    q = staticcall self.harness.mul_div(3, 4, 0, True)
    extcall VM.expectRevert(b"math: division by zero")
    q = staticcall self.harness.mul_div(0, 0, 0, False)


@external
def test_mul_div_overflow_reverts():
    """
    @notice A quotient of exactly 2**256 or more reverts "math: mul_div overflow", never wraps.
    """
    extcall VM.expectRevert(b"math: mul_div overflow")
    q: uint256 = staticcall self.harness.mul_div(2**128, 2**128, 1, False)  # exactly 2**256
    extcall VM.expectRevert(b"math: mul_div overflow")
    q = staticcall self.harness.mul_div(MAX, MAX, MAX - 1, False)  # max + 2 + 1 / (max - 1)
    extcall VM.expectRevert(b"math: mul_div overflow")
    q = staticcall self.harness.mul_div(MAX, 2, 1, True)


@external
def test_mul_div_round_up_overflow_reverts():
    """
    @notice floor(x * y / d) == 2**256 - 1 with a nonzero remainder: rounding down returns 2**256 - 1, rounding
            up reverts "math: mul_div overflow" (instead of wrapping to 0).
    """
    assert staticcall self.harness.mul_div(M257_A, M257_B, 2, False) == MAX, "floor of (2**257 - 1) / 2"
    extcall VM.expectRevert(b"math: mul_div overflow")
    q: uint256 = staticcall self.harness.mul_div(M257_A, M257_B, 2, True)


@external
def test_mul_div_known_answers():
    """
    @notice mul_div on values whose answers are known, covering the 256-bit and the 512-bit paths.
    """
    h: MathHarness = self.harness
    assert staticcall h.mul_div(0, MAX, 7, True) == 0, "zero product"
    assert staticcall h.mul_div(6, 7, 4, False) == 10, "42 / 4 down"
    assert staticcall h.mul_div(6, 7, 4, True) == 11, "42 / 4 up"
    assert staticcall h.mul_div(6, 7, 42, True) == 1, "exact stays exact"
    assert staticcall h.mul_div(1, 1, 3, False) == 0, "1 / 3 down"
    assert staticcall h.mul_div(1, 1, 3, True) == 1, "1 / 3 up"
    assert staticcall h.mul_div(MAX, MAX, MAX, False) == MAX, "max * max / max"
    assert staticcall h.mul_div(MAX, MAX, MAX, True) == MAX, "max * max / max up"
    assert staticcall h.mul_div(MAX, MAX - 1, MAX, False) == MAX - 1, "max * (max - 1) / max"
    # (max - 1)**2 / max = max - 2 + 1 / max
    assert staticcall h.mul_div(MAX - 1, MAX - 1, MAX, False) == MAX - 2, "(max - 1)**2 / max down"
    assert staticcall h.mul_div(MAX - 1, MAX - 1, MAX, True) == MAX - 1, "(max - 1)**2 / max up"
    assert staticcall h.mul_div(2**255, 4, 8, False) == 2**254, "power-of-two denominator"
    assert staticcall h.mul_div(2**200, 2**200, 2**150, False) == 2**250, "512-bit product, even denominator"
    assert staticcall h.mul_div(3**150, 3**100, 3**90, False) == 3**160, "512-bit product, odd denominator"
    # 2**510 == (2**255 + 2) * (2**255 - 2) + 4: the low word of the product (0) is below the remainder (4), so
    # removing the remainder borrows from the high word, and the even denominator makes that borrow matter
    assert staticcall h.mul_div(2**255, 2**255, 2**255 + 2, False) == 2**255 - 2, "borrow, even denominator down"
    assert staticcall h.mul_div(2**255, 2**255, 2**255 + 2, True) == 2**255 - 1, "borrow, even denominator up"
    # 10**40 * 10**40 / (3 * 10**30) = 10**50 / 3
    assert staticcall h.mul_div(10**40, 10**40, 3 * 10**30, False) == 10**50 // 3, "512-bit, inexact down"
    assert staticcall h.mul_div(10**40, 10**40, 3 * 10**30, True) == 10**50 // 3 + 1, "512-bit, inexact up"


@external
def test_ceil_div_zero_divisor_reverts():
    """
    @notice ceil_div(x, 0) reverts "math: division by zero", x == 0 included.
    """
    extcall VM.expectRevert(b"math: division by zero")
    q: uint256 = staticcall self.harness.ceil_div(5, 0)
    extcall VM.expectRevert(b"math: division by zero")
    q = staticcall self.harness.ceil_div(0, 0)


@external
def test_ceil_div_known_answers():
    """
    @notice ceil_div on known values, including the extremes.
    """
    h: MathHarness = self.harness
    assert staticcall h.ceil_div(0, 7) == 0, "0 / 7"
    assert staticcall h.ceil_div(1, 7) == 1, "1 / 7"
    assert staticcall h.ceil_div(7, 7) == 1, "7 / 7"
    assert staticcall h.ceil_div(8, 7) == 2, "8 / 7"
    assert staticcall h.ceil_div(MAX, 1) == MAX, "max / 1"
    assert staticcall h.ceil_div(MAX, 2) == 2**255, "max / 2"
    assert staticcall h.ceil_div(MAX, MAX) == 1, "max / max"
    assert staticcall h.ceil_div(1, MAX) == 1, "1 / max"


@external
def test_bps_constant():
    """
    @notice BPS is 10_000 and WAD is 10**18.
    """
    assert staticcall self.harness.BPS() == BPS, "BPS"
    assert staticcall self.harness.WAD() == WAD, "WAD"


@external
def test_bps_of_known_answers():
    """
    @notice bps_of on known values: 100% is the identity, 0% is zero, rounding in both directions.
    """
    h: MathHarness = self.harness
    assert staticcall h.bps_of(12345, BPS, False) == 12345, "100%"
    assert staticcall h.bps_of(MAX, BPS, True) == MAX, "100% of max"
    assert staticcall h.bps_of(MAX, 0, True) == 0, "0%"
    assert staticcall h.bps_of(1000, 30, False) == 3, "0.3% of 1000"
    assert staticcall h.bps_of(999, 30, False) == 2, "0.3% of 999 down (2.997)"
    assert staticcall h.bps_of(999, 30, True) == 3, "0.3% of 999 up (2.997)"
    assert staticcall h.bps_of(1, 1, False) == 0, "0.01% of 1 down"
    assert staticcall h.bps_of(1, 1, True) == 1, "0.01% of 1 up"
    assert staticcall h.bps_of(100, 15_000, False) == 150, "150%"


@external
def test_bps_of_overflow_reverts():
    """
    @notice More than 100% of an amount near 2**256 - 1 reverts "math: mul_div overflow".
    """
    extcall VM.expectRevert(b"math: mul_div overflow")
    q: uint256 = staticcall self.harness.bps_of(MAX, BPS + 1, False)


@external
def test_wad_known_answers():
    """
    @notice wad_mul and wad_div on known values.
    """
    h: MathHarness = self.harness
    assert staticcall h.wad_mul(2 * WAD, 3 * WAD, False) == 6 * WAD, "2 * 3"
    assert staticcall h.wad_mul(WAD // 2, WAD // 3, False) == WAD // 6, "0.5 * 0.333.. down"
    assert staticcall h.wad_mul(1, 1, False) == 0, "1e-18 * 1e-18 down"
    assert staticcall h.wad_mul(1, 1, True) == 1, "1e-18 * 1e-18 up"
    assert staticcall h.wad_mul(MAX, WAD, False) == MAX, "max * 1"
    assert staticcall h.wad_div(6 * WAD, 3 * WAD, False) == 2 * WAD, "6 / 3"
    assert staticcall h.wad_div(WAD, 3 * WAD, False) == 333333333333333333, "1 / 3 down"
    assert staticcall h.wad_div(WAD, 3 * WAD, True) == 333333333333333334, "1 / 3 up"
    assert staticcall h.wad_div(MAX, WAD, True) == MAX, "max / 1"


@external
def test_wad_div_zero_reverts():
    """
    @notice wad_div(x, 0) reverts "math: division by zero".
    """
    extcall VM.expectRevert(b"math: division by zero")
    q: uint256 = staticcall self.harness.wad_div(WAD, 0, False)
    extcall VM.expectRevert(b"math: division by zero")
    q = staticcall self.harness.wad_div(0, 0, True)


@external
def test_wad_overflow_reverts():
    """
    @notice wad_mul and wad_div revert "math: mul_div overflow" when the result does not fit.
    """
    extcall VM.expectRevert(b"math: mul_div overflow")
    q: uint256 = staticcall self.harness.wad_mul(MAX, 2 * WAD, False)
    extcall VM.expectRevert(b"math: mul_div overflow")
    q = staticcall self.harness.wad_div(MAX, WAD - 1, False)
