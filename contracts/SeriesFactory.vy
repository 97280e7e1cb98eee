# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title SeriesFactory
@license Apache-2.0
@notice Creates settlement series and keeps one registry of them for the watcher, in two shapes:
        `create_series` deploys a clone (an EIP-1167 minimal proxy of the SettlementSeriesClone implementation with
        the series' terms appended to its code, initialised in the same transaction), which costs about 236,000
        gas of execution; `create_series_from_blueprint` deploys an independent full SettlementSeries from an
        ERC-5202 blueprint with `create_from_blueprint` (about 3.76 million gas, the ~17.9 KB runtime being
        deposited at 200 gas per byte).
        Both have the same logic (the `settlement_series` module) and the same external API.
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
# @notice Initcode that returns the next 365 bytes of itself as the clone's runtime: PUSH2 365, DUP1, PUSH1 10,
#         RETURNDATASIZE, CODECOPY, RETURNDATASIZE, RETURN. 365 = the 45-byte proxy + the 320 bytes of terms that
#         raw_create appends (ten static ABI words).
CLONE_DEPLOYER: constant(bytes10) = 0x61016d80600a3d393df3
# @notice EIP-1167 runtime up to the implementation address (PUSH20 follows).
PROXY_HEAD: constant(bytes10) = 0x363d3d373d3d3d363d73
# @notice EIP-1167 runtime after the implementation address: DELEGATECALL, copy the return data, return or revert.
PROXY_TAIL: constant(bytes15) = 0x5af43d82803e903d91602b57fd5bf3

# @notice The SettlementSeries blueprint (create_series_from_blueprint).
BLUEPRINT: public(immutable(address))
# @notice The SettlementSeriesClone implementation every clone delegates to (create_series).
IMPLEMENTATION: public(immutable(address))
# @notice CLONE_DEPLOYER || PROXY_HEAD || IMPLEMENTATION || PROXY_TAIL: the clone initcode before the terms.
CLONE_INITCODE: public(immutable(Bytes[55]))

# @notice Number of series created, plus one. Kept one above the count (set to 1 by the constructor) so the first
#         series pays a nonzero-to-nonzero write (2,900 gas) rather than a zero-to-nonzero one (20,000 gas), which
#         keeps every creation, the first included, under the 250,000-gas target. Read it through series_count().
_count_plus_one: uint256
# @notice The series created, by index.
series: public(HashMap[uint256, address])
# @notice True for every series this factory created.
is_series: public(HashMap[address, bool])


interface ISeriesClone:
    def initialize(admin: address, guardian: address): nonpayable


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
def __init__(blueprint: address, implementation: address):
    """
    @notice Fixes the blueprint and the clone implementation every series is created from.
    @param blueprint An ERC-5202 blueprint of SettlementSeries (must have code).
    @param implementation A deployed SettlementSeriesClone (must have code).
    """
    assert blueprint.is_contract, "series_factory: blueprint has no code"
    assert implementation.is_contract, "series_factory: implementation has no code"
    BLUEPRINT = blueprint
    IMPLEMENTATION = implementation
    CLONE_INITCODE = concat(CLONE_DEPLOYER, PROXY_HEAD, convert(implementation, bytes20), PROXY_TAIL)
    self._count_plus_one = 1


@external
@view
def series_count() -> uint256:
    """
    @notice The number of series created (the indexes of `series` run from 0 to series_count() - 1).
    @return The count.
    """
    # cannot underflow: the constructor sets _count_plus_one to 1 and it only grows
    return unsafe_sub(self._count_plus_one, 1)


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
    @notice Probes the collateral for a transfer fee, then deploys a clone series whose owner is the caller: a
            365-byte EIP-1167 proxy of IMPLEMENTATION carrying the terms in its code, initialised in this same
            transaction.
    @dev The clone's `initialize` validates the terms (its "settlement_series: ..." reasons bubble up).
    @param collateral The collateral token.
    @param oracle The price feed.
    @param strike The strike, in feed units.
    @param cap The spread width, in feed units.
    @param max_payout_per_unit Collateral wei per unit.
    @param expiry The expiry timestamp.
    @param settlement_window How long after expiry an oracle round stays fresh.
    @param sweep_deadline When unclaimed collateral may be swept (>= expiry + window + MIN_CLAIM_PERIOD).
    @param treasury The receiver of the dust.
    @param reporter The signer of settlement reports (zero: oracle only).
    @param guardian The series' circuit-breaker guardian.
    @return The new series.
    """
    self._probe(collateral)
    # the terms are ABI-encoded in settlement_series.Terms order and appended to the initcode, which returns
    # proxy || terms as the clone's runtime
    new_series: address = raw_create(
        CLONE_INITCODE,
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
    )
    extcall ISeriesClone(new_series).initialize(msg.sender, guardian)
    self._register(new_series, collateral, oracle, strike, cap, max_payout_per_unit, expiry)
    return new_series


@external
def create_series_from_blueprint(
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
    @notice Probes the collateral for a transfer fee, then deploys a full, independent SettlementSeries from
            BLUEPRINT whose owner is the caller.
    @dev The series constructor validates the terms (its "settlement_series: ..." reasons bubble up).
    @param collateral The collateral token.
    @param oracle The price feed.
    @param strike The strike, in feed units.
    @param cap The spread width, in feed units.
    @param max_payout_per_unit Collateral wei per unit.
    @param expiry The expiry timestamp.
    @param settlement_window How long after expiry an oracle round stays fresh.
    @param sweep_deadline When unclaimed collateral may be swept (>= expiry + window + MIN_CLAIM_PERIOD).
    @param treasury The receiver of the dust.
    @param reporter The signer of settlement reports (zero: oracle only).
    @param guardian The series' circuit-breaker guardian.
    @return The new series.
    """
    self._probe(collateral)
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
    self._register(new_series, collateral, oracle, strike, cap, max_payout_per_unit, expiry)
    return new_series


@internal
def _probe(collateral: address):
    """
    @notice Pulls PROBE_AMOUNT of `collateral` from the caller and sends it back, both with exact-amount checks,
            so a token that charges a fee on transfer is refused ("safe_token: received amount mismatch").
    @param collateral The collateral token.
    """
    safe_token._safe_transfer_from_exact(collateral, msg.sender, self, PROBE_AMOUNT)
    safe_token._safe_transfer_exact(collateral, msg.sender, PROBE_AMOUNT)


@internal
def _register(
    new_series: address,
    collateral: address,
    oracle: address,
    strike: uint256,
    cap: uint256,
    max_payout_per_unit: uint256,
    expiry: uint256,
):
    """
    @notice Records a new series in the registry and logs SeriesCreated.
    @param new_series The series.
    @param collateral The collateral token.
    @param oracle The price feed.
    @param strike The strike.
    @param cap The spread width.
    @param max_payout_per_unit Collateral wei per unit.
    @param expiry The expiry timestamp.
    """
    count_plus_one: uint256 = self._count_plus_one
    # cannot underflow: _count_plus_one >= 1 (set by the constructor, only grows)
    index: uint256 = unsafe_sub(count_plus_one, 1)
    self.series[index] = new_series
    self.is_series[new_series] = True
    # cannot overflow: one increment per deployment
    self._count_plus_one = unsafe_add(count_plus_one, 1)
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
