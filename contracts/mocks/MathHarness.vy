# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title MathHarness
@license Apache-2.0
@notice Test harness exposing every function and constant of the `math` module as an external pure function.
@dev For tests only; holds no state.
"""

from ..modules import math


@external
@pure
def BPS() -> uint256:
    """
    @notice Returns math.BPS, one hundred percent in basis points.
    @return 10_000.
    """
    return math.BPS


@external
@pure
def WAD() -> uint256:
    """
    @notice Returns math.WAD, one in 18-decimal fixed point.
    @return 10**18.
    """
    return math.WAD


@external
@pure
def mul_div(x: uint256, y: uint256, denominator: uint256, round_up: bool) -> uint256:
    """
    @notice Wraps math._mul_div.
    @param x The first factor.
    @param y The second factor.
    @param denominator The divisor.
    @param round_up True to round up, False to round down.
    @return x * y / denominator, rounded as requested.
    """
    return math._mul_div(x, y, denominator, round_up)


@external
@pure
def ceil_div(x: uint256, y: uint256) -> uint256:
    """
    @notice Wraps math._ceil_div.
    @param x The dividend.
    @param y The divisor.
    @return x / y rounded up.
    """
    return math._ceil_div(x, y)


@external
@pure
def bps_of(amount: uint256, bps: uint256, round_up: bool) -> uint256:
    """
    @notice Wraps math._bps_of.
    @param amount The amount.
    @param bps The fraction in basis points.
    @param round_up True to round up, False to round down.
    @return amount * bps / 10_000, rounded as requested.
    """
    return math._bps_of(amount, bps, round_up)


@external
@pure
def wad_mul(x: uint256, y: uint256, round_up: bool) -> uint256:
    """
    @notice Wraps math._wad_mul.
    @param x The first WAD factor.
    @param y The second WAD factor.
    @param round_up True to round up, False to round down.
    @return x * y / 1e18, rounded as requested.
    """
    return math._wad_mul(x, y, round_up)


@external
@pure
def wad_div(x: uint256, y: uint256, round_up: bool) -> uint256:
    """
    @notice Wraps math._wad_div.
    @param x The WAD dividend.
    @param y The WAD divisor.
    @param round_up True to round up, False to round down.
    @return x * 1e18 / y, rounded as requested.
    """
    return math._wad_div(x, y, round_up)


@external
@pure
def minimum(x: uint256, y: uint256) -> uint256:
    """
    @notice Wraps math._min.
    @param x The first value.
    @param y The second value.
    @return The smaller value.
    """
    return math._min(x, y)


@external
@pure
def maximum(x: uint256, y: uint256) -> uint256:
    """
    @notice Wraps math._max.
    @param x The first value.
    @param y The second value.
    @return The larger value.
    """
    return math._max(x, y)
