# pragma version ~=0.4.3
"""
@title MarginFixture
@notice Shared set-up of the MarginEngine tests, as a module the test contracts `initializes:`: deploys a debt
        token (6 decimals), a collateral token (18 decimals), a feed (8 decimals) and the engine, and opens
        positions. With these decimals PRICE_SCALE is 1e20, so `value(c) = c * price / 1e20`: 1e12 collateral
        units at price 1e8 are worth exactly 1 debt unit, which lets tests hit health factors to the wei.
"""

from .interfaces import IVm
from ...contracts import MarginEngine

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
GUARDIAN: constant(address) = 0x0000000000000000000000000000000006a4D1a4
LENDER: constant(address) = 0x000000000000000000000000000000000000d0D0
ALICE: constant(address) = 0x00000000000000000000000000000000000A11cE
BOB: constant(address) = 0x0000000000000000000000000000000000000B0b
KEEPER: constant(address) = 0x000000000000000000000000000000000000cEE9
START: constant(uint256) = 1_700_000_000
# @notice $2,000 per collateral unit of 1e18, in the feed's 8 decimals.
PRICE: constant(int256) = 2_000 * 10**8
USDC: constant(uint256) = 10**6
ETH: constant(uint256) = 10**18
BPS: constant(uint256) = 10_000
WAD: constant(uint256) = 10**18
SCALE: constant(uint256) = 10**20


interface Token:
    def mint(to: address, amount: uint256): nonpayable
    def approve(spender: address, amount: uint256) -> bool: nonpayable
    def transfer(to: address, amount: uint256) -> bool: nonpayable
    def balanceOf(owner: address) -> uint256: view


interface Feed:
    def set_answer(answer: int256): nonpayable
    def set_round(round_id: uint80, answer: int256, updated_at: uint256): nonpayable
    def set_reverting(reverting_: bool): nonpayable
    def latest_round() -> uint80: view


engine: MarginEngine.__interface__
debt: Token
coll: Token
feed: Feed


@internal
def _deploy(name: String[64], args: Bytes[1024]) -> address:
    """
    @notice deployCode(string,bytes) (the IVm interface only declares the one-argument overload).
    @param name The artifact, e.g. "MockERC20.vy".
    @param args The ABI-encoded constructor arguments.
    @return The new contract.
    """
    response: Bytes[32] = raw_call(
        VM.address, abi_encode(name, args, method_id=method_id("deployCode(string,bytes)")), max_outsize=32
    )
    return abi_decode(response, address)


@internal
@pure
def _config() -> MarginEngine.MarketConfig:
    """
    @notice The default test market: LTV 75%, threshold 80%, bonus 105%, fee 10% of the bonus, no interest,
            min debt $10, small position $100, caps out of the way, heartbeat 1 h, jumps up to 50%, grace 2 h,
            confirmation 10 min.
    @return The configuration.
    """
    return MarginEngine.MarketConfig(
        ltv_bps=7_500,
        threshold_bps=8_000,
        bonus_bps=10_500,
        fee_bps=1_000,
        rate_per_second=0,
        min_debt=10 * USDC,
        small_position=100 * USDC,
        cap_per_block=10**28,
        cap_per_window=10**28,
        window_seconds=3_600,
        heartbeat=3_600,
        max_deviation_bps=5_000,
        grace_period=7_200,
        confirmation_window=600,
    )


@internal
def _deploy_market(cfg: MarginEngine.MarketConfig):
    """
    @notice Deploys the tokens, the feed (answer PRICE at START) and an engine with `cfg`, guardian GUARDIAN,
            owned by the calling test contract.
    @param cfg The market configuration.
    """
    extcall VM.warp(START)
    extcall VM.roll(100)
    self.debt = Token(self._deploy("MockERC20.vy", abi_encode("USD Coin", "USDC", convert(6, uint8))))
    self.coll = Token(self._deploy("MockERC20.vy", abi_encode("Wrapped Ether", "WETH", convert(18, uint8))))
    self.feed = Feed(self._deploy("MockAggregator.vy", abi_encode(convert(8, uint8), "ETH / USD")))
    extcall self.feed.set_answer(PRICE)
    self.engine = MarginEngine.__interface__(
        self._deploy("MarginEngine.vy", abi_encode(self.debt.address, self.coll.address, self.feed.address, GUARDIAN, cfg))
    )


@internal
def _supply(lender: address, assets: uint256) -> uint256:
    """
    @notice Mints `assets` debt tokens to `lender` and supplies them.
    @param lender The lender.
    @param assets The amount.
    @return The shares minted.
    """
    extcall self.debt.mint(lender, assets)
    extcall VM.startPrank(lender)
    extcall self.debt.approve(self.engine.address, max_value(uint256))
    minted: uint256 = extcall self.engine.supply(assets)
    extcall VM.stopPrank()
    return minted


@internal
def _deposit(account: address, amount: uint256):
    """
    @notice Mints `amount` collateral to `account` and deposits it.
    @param account The borrower.
    @param amount The collateral.
    """
    extcall self.coll.mint(account, amount)
    extcall VM.startPrank(account)
    extcall self.coll.approve(self.engine.address, max_value(uint256))
    extcall self.engine.deposit(amount)
    extcall VM.stopPrank()


@internal
def _open(account: address, collateral: uint256, borrowed: uint256):
    """
    @notice Deposits `collateral` for `account` and borrows `borrowed`.
    @param account The borrower.
    @param collateral The collateral.
    @param borrowed The debt.
    """
    self._deposit(account, collateral)
    extcall VM.prank(account)
    extcall self.engine.borrow(borrowed)


@internal
def _set_price(answer: int256):
    """
    @notice Opens a new feed round with `answer` at the current time.
    @param answer The new answer.
    """
    extcall self.feed.set_answer(answer)


@internal
def _fund_liquidator(liquidator: address, amount: uint256):
    """
    @notice Gives `liquidator` debt tokens and the engine an allowance over them.
    @param liquidator The liquidator.
    @param amount The debt tokens minted.
    """
    extcall self.debt.mint(liquidator, amount)
    extcall VM.prank(liquidator)
    extcall self.debt.approve(self.engine.address, max_value(uint256))


@internal
def _liquidate(liquidator: address, borrower: address, cover: uint256) -> uint256:
    """
    @notice `liquidator` liquidates `borrower` for up to `cover` with no slippage bound.
    @param liquidator The liquidator (needs funds and allowance).
    @param borrower The borrower.
    @param cover The most debt repaid.
    @return The collateral received.
    """
    extcall VM.prank(liquidator)
    return extcall self.engine.liquidate(borrower, cover, 0)


@internal
def _step(seconds: uint256):
    """
    @notice Moves time forward by `seconds` and the block number by one.
    @param seconds The seconds.
    """
    extcall VM.warp(block.timestamp + seconds)
    extcall VM.roll(block.number + 1)
