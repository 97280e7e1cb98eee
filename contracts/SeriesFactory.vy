# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title SeriesFactory
@license Apache-2.0
@notice Deploys independent SettlementSeries contracts from one ERC-5202 blueprint with `create_from_blueprint`
        and keeps a registry of them for the watcher.
@dev Before deploying, the factory probes the collateral: it pulls PROBE_AMOUNT wei from the creator with an
     exact-amount check and sends it straight back with another, so a fee-on-transfer (or rebasing) token is
     rejected at series creation ("safe_token: received amount mismatch"). The creator must therefore hold
     PROBE_AMOUNT of the token and have approved the factory for it. The probe is large enough that a fee of
     one basis point or more rounds to at least one wei.
"""

from .modules import safe_token

# @notice Collateral wei moved (and returned) by the fee-on-transfer probe: 10_000, so any fee >= 1 bps shows.
PROBE_AMOUNT: public(constant(uint256)) = 10_000
# @notice Length of the ERC-5202 preamble (0xFE 0x71 0x00) skipped by create_from_blueprint.
BLUEPRINT_PREAMBLE: constant(uint256) = 3

# @notice The SettlementSeries blueprint.
BLUEPRINT: public(immutable(address))

# @notice Number of series created.
series_count: public(uint256)
# @notice The series created, by index.
series: public(HashMap[uint256, address])
# @notice True for every series this factory created.
is_series: public(HashMap[address, bool])


event SeriesCreated:
    series: indexed(address)
    creator: indexed(address)
    collateral: indexed(address)
    oracle: address
    strike: uint256
    cap: uint256
    max_payout_per_unit: uint256
    expiry: uint256
    index: uint256


@deploy
def __init__(blueprint: address):
    """
    @notice Fixes the blueprint every series is created from.
    @param blueprint An ERC-5202 blueprint of SettlementSeries (must have code).
    """
    assert blueprint.is_contract, "series_factory: blueprint has no code"
    BLUEPRINT = blueprint


@external
def create_series(
    collateral: address,
    oracle: address,
    strike: uint256,
    cap: uint256,
    max_payout_per_unit: uint256,
    expiry: uint256,
    settlement_window: uint256,
    sweep_deadline: uint256,
    treasury: address,
    reporter: address,
    guardian: address,
) -> address:
    """
    @notice Probes the collateral for a transfer fee, then deploys a series whose owner is the caller.
    @dev The series constructor validates the terms (its "settlement_series: ..." reasons bubble up).
    @param collateral The collateral token.
    @param oracle The price feed.
    @param strike The strike, in feed units.
    @param cap The spread width, in feed units.
    @param max_payout_per_unit Collateral wei per unit.
    @param expiry The expiry timestamp.
    @param settlement_window How long after expiry an oracle round stays fresh.
    @param sweep_deadline When unclaimed collateral may be swept.
    @param treasury The receiver of the dust.
    @param reporter The signer of settlement reports (zero: oracle only).
    @param guardian The series' circuit-breaker guardian.
    @return The new series.
    """
    safe_token._safe_transfer_from_exact(collateral, msg.sender, self, PROBE_AMOUNT)
    safe_token._safe_transfer_exact(collateral, msg.sender, PROBE_AMOUNT)
    new_series: address = create_from_blueprint(
        BLUEPRINT,
        collateral,
        oracle,
        strike,
        cap,
        max_payout_per_unit,
        expiry,
        settlement_window,
        sweep_deadline,
        treasury,
        reporter,
        msg.sender,
        guardian,
        code_offset=BLUEPRINT_PREAMBLE,
    )
    index: uint256 = self.series_count
    self.series[index] = new_series
    self.is_series[new_series] = True
    # cannot overflow: one increment per deployment
    self.series_count = unsafe_add(index, 1)
    log SeriesCreated(
        series=new_series,
        creator=msg.sender,
        collateral=collateral,
        oracle=oracle,
        strike=strike,
        cap=cap,
        max_payout_per_unit=max_payout_per_unit,
        expiry=expiry,
        index=index,
    )
    return new_series
