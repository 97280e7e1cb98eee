# pragma version ~=0.4.3
"""
@title MarginInvariantTest
@notice Invariants of MarginEngine under random sequences of supplies, withdrawals, deposits, borrows, repayments,
        collateral moves, price moves, time and liquidations (contracts/mocks/MarginHandler.vy), with caps of 4,000
        USDC per block and 8,000 per rolling window of 30 minutes (small enough to bind): the accounting identity
        with its dust bound, the sum of debts against the total, no debt without collateral, and the per-action
        properties counted by the handler (no actor left unhealthy, liquidations never raise debt, never seize
        above the entitlement, never write off more than the shortfall, never repay more than the close factor
        allows for the health factor before the call, caps never exceeded over any span of the window's length,
        on the handler's record of liquidations).
"""

from .interfaces import IVm
from ...contracts import MarginEngine
from ...contracts.mocks import MarginHandler
from . import MarginFixture as fx

initializes: fx

USDC: constant(uint256) = 10**6

handler: MarginHandler.__interface__


@external
def setUp():
    """
    @notice A market with the caps and 1,000,000 USDC supplied by the handler's first lender, and the handler.
    """
    cfg: MarginEngine.MarketConfig = fx._config()
    cfg.cap_per_block = 4_000 * USDC
    cfg.cap_per_window = 8_000 * USDC
    cfg.window_seconds = 1_800
    fx._deploy_market(cfg)
    self.handler = MarginHandler.__interface__(
        fx._deploy(
            "MarginHandler.vy", abi_encode(fx.engine.address, fx.debt.address, fx.coll.address, fx.feed.address)
        )
    )
    extcall self.handler.supply(0, 10**12 - 1)


@external
@view
def targetContracts() -> DynArray[address, 1]:
    """
    @notice The fuzzer calls the handler only.
    @return The handler.
    """
    return [self.handler.address]


@external
@view
def invariant_accounting_identity_within_dust():
    """
    @notice cash + total debt == total assets (the deficit is already out of the debt); the lenders' shares are
            worth at most the total assets and at most 2 wei less (one per lender, rounded down); the engine holds
            at least its cash and all collateral plus fees.
    """
    e: MarginEngine.__interface__ = fx.engine
    total: uint256 = staticcall e.total_assets()
    assert staticcall e.cash() + staticcall e.total_debt() == total, "identity"
    worth: uint256 = 0
    for i: uint256 in range(2):
        worth += staticcall e.convert_to_assets(staticcall e.shares(staticcall self.handler.LENDERS(i)))
    assert worth <= total and total - worth <= 2, "lender dust"
    assert staticcall fx.debt.balanceOf(e.address) >= staticcall e.cash(), "cash backed"
    coll: uint256 = staticcall e.protocol_fees()
    for i: uint256 in range(3):
        coll += staticcall e.collateral(staticcall self.handler.BORROWERS(i))
    assert staticcall fx.coll.balanceOf(e.address) >= coll, "collateral backed"


@external
@view
def invariant_debts_sum_to_total():
    """
    @notice The total scaled debt is the sum of the accounts'; the rounded-up debts sum to the total debt or up to
            one wei per borrower more.
    """
    e: MarginEngine.__interface__ = fx.engine
    scaled: uint256 = 0
    debts: uint256 = 0
    for i: uint256 in range(3):
        who: address = staticcall self.handler.BORROWERS(i)
        scaled += staticcall e.scaled_debt(who)
        debts += staticcall e.debt_of(who)
    assert scaled == staticcall e.total_scaled_debt(), "scaled"
    total: uint256 = staticcall e.total_debt()
    assert debts >= total and debts <= total + 3, "sum of debts"


@external
@view
def invariant_no_debt_without_collateral():
    """
    @notice Nothing is left owed by an account that holds no collateral.
    """
    for i: uint256 in range(3):
        who: address = staticcall self.handler.BORROWERS(i)
        if staticcall fx.engine.collateral(who) == 0:
            assert staticcall fx.engine.debt_of(who) == 0, "debt without collateral"


@external
@view
def invariant_no_actor_left_unhealthy():
    """
    @notice No borrow, collateral withdrawal or transfer left its actor with HF < 1.
    """
    assert staticcall self.handler.unhealthy_after_action() == 0


@external
@view
def invariant_liquidation_properties():
    """
    @notice No liquidation raised a debt, seized above the exact entitlement or wrote off more than the shortfall.
    """
    assert staticcall self.handler.debt_raised_by_liquidation() == 0, "debt raised"
    assert staticcall self.handler.seized_above_entitlement() == 0, "seized too much"
    assert staticcall self.handler.deficit_above_shortfall() == 0, "deficit too large"


@external
@view
def invariant_caps_never_exceeded():
    """
    @notice The debt liquidated per block and over any span of WINDOW_SECONDS (on the handler's record of every
            liquidation, not on the engine's buckets) never exceeded the caps, nor did the engine's own usage views.
    """
    assert staticcall self.handler.cap_exceeded() == 0



@external
@view
def invariant_close_factor_respected():
    """
    @notice No liquidation repaid more than the close factor allowed for the health factor before the call: the
            handler computes the limit itself from the debt and collateral before the call and the price the call
            used (half the debt, rounded down, unless HF <= 0.95 or the debt is below SMALL_POSITION) and measures
            the repayment as the keeper's token balance drop.
    """
    assert staticcall self.handler.close_factor_exceeded() == 0, "close factor exceeded"


@internal
def _prank_call(actor: address, data: Bytes[200]) -> bool:
    """
    @notice Calls the engine as `actor`.
    @param actor The caller.
    @param data The calldata.
    @return Whether the call succeeded.
    """
    extcall fx.VM.prank(actor)
    return raw_call(fx.engine.address, data, revert_on_failure=False)


@external
def invariant_every_wei_exits():
    """
    @notice Liveness (issue 14): whatever the oracle (silent, reverting, 0, 2**255 - 1, a wild jump) and the
            breaker (any level, the owner never lowering), every deposited wei can be withdrawn by someone entitled
            to it, at once (the exits need no price and no breaker change, so the documented maximum delay is 0):
            each borrower repays its whole debt and withdraws all its collateral, each lender redeems all its
            shares for at least what they were worth before, the owner collects the fees; then the engine holds no
            collateral and its cash is the virtual-share dust (at most 3 wei). Runs on a state snapshot that is
            restored before the checks.
    """
    e: address = fx.engine.address
    worth: uint256[2] = empty(uint256[2])
    held: uint256[2] = empty(uint256[2])
    for i: uint256 in range(2):
        lender: address = staticcall self.handler.LENDERS(i)
        held[i] = staticcall fx.engine.shares(lender)
        worth[i] = staticcall fx.engine.convert_to_assets(held[i])
    snapshot: uint256 = abi_decode(
        raw_call(fx.VM.address, method_id("snapshotState()"), max_outsize=32), uint256
    )
    failed: uint256 = 0
    short: uint256 = 0
    for i: uint256 in range(3):
        borrower: address = staticcall self.handler.BORROWERS(i)
        debt: uint256 = staticcall fx.engine.debt_of(borrower)
        if debt != 0 and not self._prank_call(borrower, abi_encode(borrower, debt, method_id=method_id("repay(address,uint256)"))):
            failed += 1
        coll: uint256 = staticcall fx.engine.collateral(borrower)
        if coll != 0 and not self._prank_call(borrower, abi_encode(coll, method_id=method_id("withdraw_collateral(uint256)"))):
            failed += 1
    for i: uint256 in range(2):
        lender: address = staticcall self.handler.LENDERS(i)
        before: uint256 = staticcall fx.debt.balanceOf(lender)
        if held[i] != 0 and not self._prank_call(lender, abi_encode(held[i], method_id=method_id("withdraw(uint256)"))):
            failed += 1
        if staticcall fx.debt.balanceOf(lender) - before < worth[i]:
            short += 1
    if not self._prank_call(self, abi_encode(self, method_id=method_id("collect_fees(address)"))):
        failed += 1
    coll_left: uint256 = staticcall fx.coll.balanceOf(e)
    cash_left: uint256 = staticcall fx.engine.cash()
    restored: Bytes[32] = raw_call(fx.VM.address, abi_encode(snapshot, method_id=method_id("revertToState(uint256)")), max_outsize=32)
    assert failed == 0, "an exit failed"
    assert short == 0, "a lender short"
    assert coll_left == 0, "collateral left"
    assert cash_left <= 3, "cash left"
