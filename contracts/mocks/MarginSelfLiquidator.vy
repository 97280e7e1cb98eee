# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title MarginSelfLiquidator
@license Apache-2.0
@notice Test deployable: a contract a borrower controls, used to liquidate the borrower's own position through a
        second address (the engine only sees `msg.sender != borrower`). It pays with its owner's debt tokens and
        sends the collateral it receives back to its owner, so a test can measure what self-liquidation is worth.
@dev Not for production: anyone may call `run`, which spends the owner's allowance to this contract.
"""

from ethereum.ercs import IERC20


interface Engine:
    def liquidate(borrower: address, debt_to_cover: uint256, min_collateral_out: uint256) -> uint256: nonpayable


OWNER: public(immutable(address))
ENGINE: public(immutable(address))
DEBT_TOKEN: public(immutable(address))
COLLATERAL_TOKEN: public(immutable(address))


@deploy
def __init__(owner: address, engine: address, debt_token: address, collateral_token: address):
    """
    @notice Binds the contract to its owner and market.
    @param owner The borrower who controls this contract.
    @param engine The MarginEngine.
    @param debt_token The debt token.
    @param collateral_token The collateral token.
    """
    OWNER = owner
    ENGINE = engine
    DEBT_TOKEN = debt_token
    COLLATERAL_TOKEN = collateral_token


@external
def run(borrower: address, debt_to_cover: uint256) -> uint256:
    """
    @notice Pulls `debt_to_cover` debt tokens from the owner, liquidates `borrower` with them and sends the
            collateral received and any unspent debt tokens back to the owner.
    @param borrower The position liquidated (the owner's own).
    @param debt_to_cover The most debt repaid.
    @return The collateral received.
    """
    assert extcall IERC20(DEBT_TOKEN).transferFrom(OWNER, self, debt_to_cover)
    assert extcall IERC20(DEBT_TOKEN).approve(ENGINE, debt_to_cover)
    out: uint256 = extcall Engine(ENGINE).liquidate(borrower, debt_to_cover, 0)
    assert extcall IERC20(COLLATERAL_TOKEN).transfer(OWNER, out)
    left: uint256 = staticcall IERC20(DEBT_TOKEN).balanceOf(self)
    assert extcall IERC20(DEBT_TOKEN).transfer(OWNER, left)
    return out
