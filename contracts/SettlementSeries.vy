# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title SettlementSeries
@license Apache-2.0
@notice One cash-settled, fully collateralised capped-call series (a call spread) on a guarded price feed, as a
        full contract whose terms are immutables. Writers lock `MAX_PAYOUT_PER_UNIT` collateral wei per unit and
        mint transferable long units; after `EXPIRY` the settlement price is fixed once (oracle or signed report),
        holders claim, writers reclaim and the dust goes to `TREASURY`.
@dev The logic lives in the `settlement_series` module (shared with SettlementSeriesClone, the implementation
     behind the factory's cheap clones); this contract only fixes the terms at deployment. Deployed by
     SeriesFactory.create_series_from_blueprint with `create_from_blueprint` (or directly). See
     docs/settlement.md.
"""

from .modules import settlement_series as series

initializes: series

exports: series.__interface__


@deploy
def __init__(
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
    admin: address,
    guardian: address,
):
    """
    @notice Fixes the series' terms. `admin` becomes the owner (of the circuit breaker), `guardian` its guardian.
    @param collateral The collateral token (must have code).
    @param oracle The price feed (must have code).
    @param strike The strike, in feed units.
    @param cap The spread width, in feed units; nonzero.
    @param max_payout_per_unit Collateral wei locked and paid at most per unit; nonzero.
    @param expiry The expiry timestamp; not in the past.
    @param settlement_window How long after expiry an oracle round still counts as fresh.
    @param sweep_deadline When unclaimed collateral may be swept; at least expiry + settlement_window +
           MIN_CLAIM_PERIOD (7 days), and never earlier than MIN_CLAIM_PERIOD after settlement.
    @param treasury The receiver of the dust; nonzero.
    @param reporter The signer of settlement reports (zero: oracle only).
    @param admin The owner; nonzero.
    @param guardian The circuit-breaker guardian (zero for none).
    """
    terms: series.Terms = series.Terms(
        collateral=collateral,
        oracle=oracle,
        strike=strike,
        cap=cap,
        max_payout_per_unit=max_payout_per_unit,
        expiry=expiry,
        settlement_window=settlement_window,
        sweep_deadline=sweep_deadline,
        treasury=treasury,
        reporter=reporter,
    )
    series._check_terms(terms, admin)
    series.__init__(terms, False, admin, guardian)
