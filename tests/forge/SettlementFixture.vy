# pragma version ~=0.4.3
"""
@title SettlementFixture
@notice Shared set-up of the settlement tests, imported as a stateless module: deploys mocks, etches an ERC-5202
        blueprint of SettlementSeries (0xFE7100 || initcode), deploys the SettlementSeriesClone implementation and
        a SeriesFactory on both, and creates series with the test contract as creator (and therefore owner).
        `_create` makes clones (the factory's `create_series`), so every settlement suite runs against clones;
        `_create_blueprint` makes full series from the blueprint (SettlementBlueprintTest).
@dev No storage and no external functions: every test contract keeps its own state. The blueprint is etched at a
     fixed address because the deployCode cheatcode finds artifacts only under contracts/.
"""

from .interfaces import IVm
from ...contracts import SettlementSeries
from ...contracts import SeriesFactory
from ...contracts.mocks import MockERC20
from ...contracts.mocks import MockAggregator

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
# @notice Where the blueprint is etched.
BLUEPRINT_AT: constant(address) = 0x00000000000000000000000000000000b1ae9917
# @notice Start of every test clock.
START: constant(uint256) = 1_700_000_000
# @notice Default expiry, settlement window and sweep deadline.
EXPIRY: constant(uint256) = START + 30 * 86_400
WINDOW: constant(uint256) = 3_600
SWEEP_DEADLINE: constant(uint256) = EXPIRY + 90 * 86_400
# @notice Default terms in 8-decimal feed units: a 2,000-2,500 call spread.
STRIKE: constant(uint256) = 2_000 * 10**8
CAP: constant(uint256) = 500 * 10**8
# @notice The treasury.
TREASURY: constant(address) = 0x0000000000000000000000000000000000007EA5
# @notice The reporter's private key.
REPORTER_KEY: constant(uint256) = 1_583_892_452


@internal
def _deploy(artifact: String[64], arguments: Bytes[256]) -> address:
    """
    @notice Deploys an artifact with constructor arguments through deployCode(string,bytes).
    @param artifact The artifact path.
    @param arguments The ABI-encoded constructor arguments.
    @return The new contract's address.
    """
    response: Bytes[32] = raw_call(
        VM.address,
        abi_encode(artifact, arguments, method_id=method_id("deployCode(string,bytes)")),
        max_outsize=32,
    )
    return abi_decode(response, address)


@internal
def _factory() -> SeriesFactory.__interface__:
    """
    @notice Etches the SettlementSeries blueprint at BLUEPRINT_AT, deploys the clone implementation and a factory
            on both.
    @return The factory.
    """
    initcode: Bytes[24000] = extcall VM.getCode("SettlementSeries.vy")
    extcall VM.etch(BLUEPRINT_AT, concat(x"fe7100", initcode))
    implementation: address = self._deploy("SettlementSeriesClone.vy", b"")
    return SeriesFactory.__interface__(self._deploy("SeriesFactory.vy", abi_encode(BLUEPRINT_AT, implementation)))


@internal
def _token(decimals: uint8) -> MockERC20.__interface__:
    """
    @notice Deploys an open-mint ERC-20 with `decimals`.
    @param decimals The token's decimals.
    @return The token.
    """
    return MockERC20.__interface__(self._deploy("MockERC20.vy", abi_encode("Collateral", "COL", decimals)))


@internal
def _oracle() -> MockAggregator.__interface__:
    """
    @notice Deploys an 8-decimal mock feed with no rounds.
    @return The feed.
    """
    return MockAggregator.__interface__(self._deploy("MockAggregator.vy", abi_encode(convert(8, uint8), "ETH / USD")))


@internal
def _create(
    factory: SeriesFactory.__interface__,
    token: address,
    oracle: address,
    strike: uint256,
    cap: uint256,
    max_payout: uint256,
    guardian: address,
) -> SettlementSeries.__interface__:
    """
    @notice Creates a clone series with the default expiry, window, sweep deadline, treasury and reporter; the
            test contract is the creator (it is minted and approves the probe amount first).
    @param factory The factory.
    @param token The collateral (must have an open `mint`).
    @param oracle The feed.
    @param strike The strike.
    @param cap The spread width.
    @param max_payout Collateral wei per unit.
    @param guardian The series' guardian.
    @return The series.
    """
    extcall MockERC20.__interface__(token).mint(self, 10_000)
    extcall MockERC20.__interface__(token).approve(factory.address, 10_000)
    reporter: address = extcall VM.addr(REPORTER_KEY)
    return SettlementSeries.__interface__(
        extcall factory.create_series(
            token, oracle, strike, cap, max_payout, EXPIRY, WINDOW, SWEEP_DEADLINE, TREASURY, reporter, guardian
        )
    )


@internal
def _create_blueprint(
    factory: SeriesFactory.__interface__,
    token: address,
    oracle: address,
    strike: uint256,
    cap: uint256,
    max_payout: uint256,
    guardian: address,
) -> SettlementSeries.__interface__:
    """
    @notice Like `_create`, but a full series from the blueprint (`create_series_from_blueprint`).
    @param factory The factory.
    @param token The collateral (must have an open `mint`).
    @param oracle The feed.
    @param strike The strike.
    @param cap The spread width.
    @param max_payout Collateral wei per unit.
    @param guardian The series' guardian.
    @return The series.
    """
    extcall MockERC20.__interface__(token).mint(self, 10_000)
    extcall MockERC20.__interface__(token).approve(factory.address, 10_000)
    reporter: address = extcall VM.addr(REPORTER_KEY)
    return SettlementSeries.__interface__(
        extcall factory.create_series_from_blueprint(
            token, oracle, strike, cap, max_payout, EXPIRY, WINDOW, SWEEP_DEADLINE, TREASURY, reporter, guardian
        )
    )


@internal
def _mint(series: SettlementSeries.__interface__, token: address, writer: address, units: uint256, receiver: address):
    """
    @notice Funds `writer` with exactly the collateral of `units` and mints them to `receiver` as `writer`.
    @param series The series.
    @param token The collateral.
    @param writer The writer.
    @param units The units.
    @param receiver The receiver of the long units.
    """
    amount: uint256 = units * staticcall series.MAX_PAYOUT_PER_UNIT()
    extcall MockERC20.__interface__(token).mint(writer, amount)
    extcall VM.startPrank(writer)
    extcall MockERC20.__interface__(token).approve(series.address, amount)
    extcall series.mint(units, receiver)
    extcall VM.stopPrank()


@internal
def _settle_at(series: SettlementSeries.__interface__, oracle: MockAggregator.__interface__, price: int256):
    """
    @notice Warps to EXPIRY + 60, writes round 1 (before expiry) and round 2 (at EXPIRY + 60) with `price`, and
            settles from round 2.
    @param series The series.
    @param oracle The feed.
    @param price The settlement price.
    """
    extcall oracle.set_round(1, 1, EXPIRY - 1)
    extcall VM.warp(EXPIRY + 60)
    extcall oracle.set_round(2, price, EXPIRY + 60)
    extcall series.settle(2)
