# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title SettlementSeriesClone
@license Apache-2.0
@notice The one implementation behind every clone series that SeriesFactory.create_series deploys. A clone is an
        EIP-1167 minimal proxy (45 bytes) followed by its ABI-encoded terms (320 bytes); it DELEGATECALLs this
        contract, which reads the terms back from the proxy's code. Creating a clone deposits 365 bytes of code
        instead of a full series' ~16 KB, which is what brings series creation under 250,000 gas.
@dev Same logic and external API as SettlementSeries (the `settlement_series` module), plus `initialize`, which
     the factory calls in the transaction that creates the clone. This contract itself holds no terms: every entry
     point that touches series state or reads terms reverts "settlement_series: not a clone" when called directly,
     and it has no owner or guardian. Under DELEGATECALL, storage, the reentrancy lock, `self` (the EIP-712
     verifying contract) and events are the proxy's. See docs/settlement.md.
"""

from .modules import settlement_series as series

initializes: series

exports: series.__interface__


@deploy
def __init__():
    """
    @notice Deploys the implementation: terms read from the proxy's code, no owner, no guardian.
    """
    series.__init__(empty(series.Terms), True, empty(address), empty(address))


@external
def initialize(admin: address, guardian: address):
    """
    @notice Gives a new clone its owner and guardian after checking its terms; once per clone. SeriesFactory calls
            it in the transaction that creates the clone, so a registered clone cannot be initialised by anyone
            else.
    @dev The terms' "settlement_series: ..." reasons bubble up to the factory; "settlement_series: already
         initialized" on a second call; "settlement_series: not a clone" on the implementation itself.
    @param admin The owner; nonzero.
    @param guardian The circuit-breaker guardian (zero for none).
    """
    series._initialize(admin, guardian)
