# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title MarginHandler
@license Apache-2.0
@notice Test deployable: the fuzzer's entry points into a MarginEngine for tests/forge/MarginInvariantTest.vy. Every
        action is bounded to sensible amounts, made by one of three borrowers, two lenders or a keeper (pranked), and
        failures are swallowed (the fuzzer explores; the invariants judge). Around each action the handler checks the
        per-action properties and counts violations:
        - no account that acts ends with HF < 1 (borrow, withdraw_collateral, transfer_collateral);
        - a liquidation never raises the borrower's debt, never seizes more than the exact entitlement
          repaid x bonus / price, and never records a deficit larger than the borrower's true shortfall
          debt - collateral x price / bonus;
        - the debt liquidated in a block and in any span of WINDOW_SECONDS never exceeds the caps: every successful
          liquidation is recorded (timestamp, block, debt repaid, measured as the rise in `cash`), and after each
          one the record is summed over (now - WINDOW_SECONDS, now] and over this block, independently of the
          engine's buckets; the engine's own `block_usage()` and `window_used()` views are checked against the
          caps as well.
        - each liquidation repays at most what the close factor allows for the health factor *before* the call
          (the whole debt at HF <= 0.95 or below SMALL_POSITION, else half of it, rounded down). The limit is
          computed here from the debt and collateral read before the call and the price the call used, with the
          documented formula (not through `health_factor()` or `liquidation_room()`), and the repayment is measured
          as the keeper's debt-token balance drop.
        `resize` (a small position just under its LTV limit, below the block cap) and `liquidate_after_drop` (the
        oracle recovers, a large or empty position is made small, a price drop into HF 0.92-1.00, then a
        liquidation for a random amount, half the time above half the debt) make liquidations that the close
        factor, not the caps, bounds common.
        `borrow_to_limit`, `liquidate_all` and `wait` (up to 1.25 windows) make binding caps and spans of about one
        window, where a rolling window differs from a tumbling one, common. Hostile actors (issue 14): an oracle
        that goes silent, reverts, answers 0, 2**255 - 1 or a wild jump, a guardian that raises the breaker at any
        time and an owner that lowers it only sometimes; the exit invariant lives in MarginInvariantTest.
@dev Not for production. Cheatcodes are called from here (forge allows it from any contract).
"""

from ethereum.ercs import IERC20


interface Vm:
    def prank(sender: address): nonpayable
    def warp(new_timestamp: uint256): nonpayable
    def roll(new_block_number: uint256): nonpayable


interface Engine:
    def supply(assets: uint256) -> uint256: nonpayable
    def withdraw(share_amount: uint256) -> uint256: nonpayable
    def deposit(amount: uint256): nonpayable
    def withdraw_collateral(amount: uint256): nonpayable
    def transfer_collateral(receiver: address, amount: uint256): nonpayable
    def borrow(amount: uint256): nonpayable
    def repay(account: address, amount: uint256) -> uint256: nonpayable
    def liquidate(borrower: address, debt_to_cover: uint256, min_collateral_out: uint256) -> uint256: nonpayable
    def debt_of(account: address) -> uint256: view
    def collateral(account: address) -> uint256: view
    def shares(account: address) -> uint256: view
    def health_factor(account: address) -> uint256: view
    def deficit() -> uint256: view
    def last_good_price() -> uint256: view
    def block_usage() -> uint256: view
    def window_used() -> uint256: view
    def cash() -> uint256: view
    def PRICE_SCALE() -> uint256: view
    def BONUS_BPS() -> uint256: view
    def LTV_BPS() -> uint256: view
    def CAP_PER_BLOCK() -> uint256: view
    def CAP_PER_WINDOW() -> uint256: view
    def WINDOW_SECONDS() -> uint256: view
    def SMALL_POSITION() -> uint256: view
    def THRESHOLD_BPS() -> uint256: view
    def owner() -> address: view
    def guardian() -> address: view
    def level() -> uint256: view
    def raise_level(new_level: uint256, reason: bytes32): nonpayable
    def lower_level(new_level: uint256, reason: bytes32): nonpayable


interface Token:
    def mint(to: address, amount: uint256): nonpayable


interface Feed:
    def set_answer(answer: int256): nonpayable
    def set_reverting(reverting_: bool): nonpayable


VM: constant(Vm) = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
BORROWERS: public(constant(address[3])) = [
    0x0000000000000000000000000000000000001001,
    0x0000000000000000000000000000000000001002,
    0x0000000000000000000000000000000000001003,
]
LENDERS: public(constant(address[2])) = [
    0x0000000000000000000000000000000000002001,
    0x0000000000000000000000000000000000002002,
]
KEEPER: public(constant(address)) = 0x0000000000000000000000000000000000003001
BPS: constant(uint256) = 10_000
WAD: constant(uint256) = 10**18
CLOSE_FACTOR_BPS: constant(uint256) = 5_000
FULL_CLOSE_HF: constant(uint256) = 95 * 10**16
# @notice The most liquidations the record walks back over (more than any run's depth: see foundry.toml).
MAX_RECORDS: constant(uint256) = 1_024

ENGINE: public(immutable(Engine))
DEBT: public(immutable(address))
COLL: public(immutable(address))
FEED: public(immutable(Feed))

# @notice Violations seen, by kind (all must stay 0).
unhealthy_after_action: public(uint256)
debt_raised_by_liquidation: public(uint256)
seized_above_entitlement: public(uint256)
deficit_above_shortfall: public(uint256)
cap_exceeded: public(uint256)
close_factor_exceeded: public(uint256)
# @notice Successful liquidations in the half-close band (HF before in (0.95, 1), debt >= SMALL_POSITION) that
#         repaid exactly the close-factor limit (coverage: the close factor, not the request or the caps, bound them).
close_factor_binding: public(uint256)
# @notice Successful liquidations (to see that the fuzzer reaches them); also the length of the record below.
liquidations: public(uint256)
# @notice Liquidations after which the window cap was full with debt from more than one block (coverage: the
#         rolling window did bind).
window_filled: public(uint256)
# @notice The record of successful liquidations, in order: timestamp, block number, debt repaid.
record_time: public(HashMap[uint256, uint256])
record_block: public(HashMap[uint256, uint256])
record_repaid: public(HashMap[uint256, uint256])


@deploy
def __init__(engine: address, debt: address, coll: address, feed: address):
    """
    @notice Binds the handler and gives every actor tokens and allowances.
    @param engine The MarginEngine.
    @param debt The debt token.
    @param coll The collateral token.
    @param feed The MockAggregator.
    """
    ENGINE = Engine(engine)
    DEBT = debt
    COLL = coll
    FEED = Feed(feed)
    for actor: address in [BORROWERS[0], BORROWERS[1], BORROWERS[2], LENDERS[0], LENDERS[1], KEEPER]:
        extcall Token(debt).mint(actor, 10**15)
        extcall Token(coll).mint(actor, 10**24)
        extcall VM.prank(actor)
        extcall IERC20(debt).approve(engine, max_value(uint256))
        extcall VM.prank(actor)
        extcall IERC20(coll).approve(engine, max_value(uint256))


@internal
def _call(actor: address, data: Bytes[200]) -> bool:
    """
    @notice Calls the engine as `actor`, swallowing a revert.
    @param actor The caller.
    @param data The calldata.
    @return Whether the call succeeded.
    """
    extcall VM.prank(actor)
    return raw_call(ENGINE.address, data, revert_on_failure=False)


@internal
def _check_healthy(account: address):
    """
    @notice Counts a violation if `account` is left with HF < 1.
    @param account The actor.
    """
    if staticcall ENGINE.health_factor(account) < WAD:
        self.unhealthy_after_action += 1


@external
def supply(who: uint256, amount: uint256):
    """
    @notice A lender supplies up to 1,000,000 USDC.
    """
    self._call(LENDERS[who % 2], abi_encode(amount % (10**12) + 1, method_id=method_id("supply(uint256)")))


@external
def withdraw(who: uint256, fraction: uint256):
    """
    @notice A lender redeems a fraction of its shares.
    """
    lender: address = LENDERS[who % 2]
    held: uint256 = staticcall ENGINE.shares(lender)
    self._call(lender, abi_encode(held * (fraction % 101) // 100, method_id=method_id("withdraw(uint256)")))


@external
def deposit(who: uint256, amount: uint256):
    """
    @notice A borrower deposits up to 100 ETH.
    """
    self._call(BORROWERS[who % 3], abi_encode(amount % (100 * 10**18) + 1, method_id=method_id("deposit(uint256)")))


@external
def borrow(who: uint256, amount: uint256):
    """
    @notice A borrower borrows up to 200,000 USDC; it must stay healthy.
    """
    borrower: address = BORROWERS[who % 3]
    if self._call(borrower, abi_encode(amount % (2 * 10**11) + 1, method_id=method_id("borrow(uint256)"))):
        self._check_healthy(borrower)


@external
def withdraw_collateral(who: uint256, amount: uint256):
    """
    @notice A borrower withdraws some collateral; it must stay healthy.
    """
    borrower: address = BORROWERS[who % 3]
    held: uint256 = staticcall ENGINE.collateral(borrower)
    if self._call(borrower, abi_encode(amount % (held + 1), method_id=method_id("withdraw_collateral(uint256)"))):
        self._check_healthy(borrower)


@external
def transfer_collateral(who: uint256, to: uint256, amount: uint256):
    """
    @notice A borrower moves collateral to another; the sender must stay healthy.
    """
    borrower: address = BORROWERS[who % 3]
    held: uint256 = staticcall ENGINE.collateral(borrower)
    data: Bytes[200] = abi_encode(
        BORROWERS[to % 3], amount % (held + 1), method_id=method_id("transfer_collateral(address,uint256)")
    )
    if self._call(borrower, data):
        self._check_healthy(borrower)


@external
def borrow_to_limit(who: uint256):
    """
    @notice A borrower borrows up to its LTV limit at the last good price (so that price drops make positions
            liquidatable often); it must stay healthy.
    """
    borrower: address = BORROWERS[who % 3]
    value: uint256 = staticcall ENGINE.collateral(borrower) * staticcall ENGINE.last_good_price() // staticcall ENGINE.PRICE_SCALE()
    limit: uint256 = value * staticcall ENGINE.LTV_BPS() // BPS
    debt: uint256 = staticcall ENGINE.debt_of(borrower)
    if limit <= debt + 1:
        return
    if self._call(borrower, abi_encode(limit - debt - 1, method_id=method_id("borrow(uint256)"))):
        self._check_healthy(borrower)


@external
def repay(who: uint256, amount: uint256):
    """
    @notice The keeper repays part of a borrower's debt.
    """
    self._call(KEEPER, abi_encode(BORROWERS[who % 3], amount % (10**11) + 1, method_id=method_id("repay(address,uint256)")))


@external
def move_price(change_bps: uint256, seconds: uint256):
    """
    @notice Time passes (1 s to 1 h, one block) and the feed publishes a price within +-40% of the last good one.
    """
    extcall VM.warp(block.timestamp + seconds % 3_600 + 1)
    extcall VM.roll(block.number + 1)
    last: uint256 = staticcall ENGINE.last_good_price()
    move: uint256 = last * (change_bps % 4_001) // BPS
    if change_bps % 2 == 0:
        extcall FEED.set_answer(convert(last - move, int256))
    else:
        extcall FEED.set_answer(convert(last + move, int256))


@external
def next_block():
    """
    @notice One block and 12 seconds pass.
    """
    extcall VM.warp(block.timestamp + 12)
    extcall VM.roll(block.number + 1)


@external
def wait(seconds: uint256):
    """
    @notice Up to one and a quarter windows pass in one new block (so that spans of about one window, where a
            rolling window differs from a tumbling one, are reached often).
    """
    window: uint256 = staticcall ENGINE.WINDOW_SECONDS()
    extcall VM.warp(block.timestamp + seconds % (window + window // 4) + 1)
    extcall VM.roll(block.number + 1)


@external
def liquidate(who: uint256, cover: uint256):
    """
    @notice The keeper liquidates a borrower; the per-liquidation properties are checked around it.
    """
    self._liquidate(BORROWERS[who % 3], cover)


@external
def liquidate_all(cover: uint256):
    """
    @notice The keeper liquidates every borrower in this block, as much as it may (the caps bind more often).
    """
    for borrower: address in BORROWERS:
        self._liquidate(borrower, cover)


@external
def feed_silent(seconds: uint256):
    """
    @notice The oracle goes silent: up to three hours pass (past the heartbeat and the grace period) in one new
            block with no new round.
    """
    extcall VM.warp(block.timestamp + seconds % 10_800 + 1)
    extcall VM.roll(block.number + 1)


@external
def feed_reverting(on: bool):
    """
    @notice The oracle starts (or stops) reverting.
    """
    extcall FEED.set_reverting(on)


@external
def feed_hostile(kind: uint256, change_bps: uint256):
    """
    @notice The oracle publishes 0, 2**255 - 1 or a wild jump (up to -99% or +900% of the last good price).
    """
    k: uint256 = kind % 3
    if k == 0:
        extcall FEED.set_answer(0)
    elif k == 1:
        extcall FEED.set_answer(max_value(int256))
    else:
        last: uint256 = staticcall ENGINE.last_good_price()
        if change_bps % 2 == 0:
            extcall FEED.set_answer(convert(last - last * (change_bps % 9_900) // BPS, int256))
        else:
            extcall FEED.set_answer(convert(last + last * (change_bps % 90_000) // BPS, int256))


@external
def guardian_raise(new_level: uint256):
    """
    @notice The guardian raises the breaker to any higher level, at any time (failures swallowed).
    """
    guardian: address = staticcall ENGINE.guardian()
    self._call(guardian, abi_encode(new_level % 4, empty(bytes32), method_id=method_id("raise_level(uint256,bytes32)")))


@external
def owner_lower(new_level: uint256):
    """
    @notice The owner lowers the breaker (sometimes: runs where this is never called have an owner that never
            lowers).
    """
    owner: address = staticcall ENGINE.owner()
    self._call(owner, abi_encode(new_level % 4, empty(bytes32), method_id=method_id("lower_level(uint256,bytes32)")))


@external
def resize(who: uint256, size: uint256):
    """
    @notice A borrower's position becomes a small one just under its LTV limit (see `_resize`).
    """
    self._resize(BORROWERS[who % 3], size)


@internal
def _resize(borrower: address, size: uint256):
    """
    @notice `borrower`'s position becomes a small one just under its LTV limit: a debt between SMALL_POSITION and
            CAP_PER_BLOCK (the keeper repays the excess, or the borrower borrows the difference) against collateral
            worth debt / LTV at the last good price (the borrower deposits or withdraws the difference), HF about
            threshold / LTV. A small debt lets a liquidation exceed the close factor before the caps cut it; the
            LTV-level collateral lets a drop of 6-12% put it in the half-close band. Failures are swallowed.
    @param borrower The borrower.
    @param size Chooses the debt.
    """
    small: uint256 = staticcall ENGINE.SMALL_POSITION()
    target: uint256 = small + size % (staticcall ENGINE.CAP_PER_BLOCK() - small + 1)
    price: uint256 = staticcall ENGINE.last_good_price()
    if price == 0:
        return
    debt: uint256 = staticcall ENGINE.debt_of(borrower)
    if debt > target:
        self._call(KEEPER, abi_encode(borrower, debt - target, method_id=method_id("repay(address,uint256)")))
        debt = staticcall ENGINE.debt_of(borrower)
    # Collateral worth target / LTV: the value ceil(target x BPS / LTV), then the collateral for it, rounded up
    # (so that the engine's rounded-down value still covers it).
    scale: uint256 = staticcall ENGINE.PRICE_SCALE()
    ltv: uint256 = staticcall ENGINE.LTV_BPS()
    need: uint256 = (target * BPS + ltv - 1) // ltv
    keep: uint256 = (need * scale + price - 1) // price
    held: uint256 = staticcall ENGINE.collateral(borrower)
    if held < keep:
        self._call(borrower, abi_encode(keep - held, method_id=method_id("deposit(uint256)")))
    if debt < target and self._call(borrower, abi_encode(target - debt, method_id=method_id("borrow(uint256)"))):
        self._check_healthy(borrower)
    held = staticcall ENGINE.collateral(borrower)
    if held > keep and self._call(borrower, abi_encode(held - keep, method_id=method_id("withdraw_collateral(uint256)"))):
        self._check_healthy(borrower)


@external
def liquidate_after_drop(who: uint256, hf_bps: uint256, cover: uint256):
    """
    @notice The oracle recovers (stops reverting and republishes the last good price a block later); a position
            with no debt or one too large for the close factor to bind under the block cap is first made small
            (`_resize`, sized by `cover`); one block later the oracle publishes a price that puts the borrower's
            health factor at 0.92 to 1.00 (5/8 of the time in the half-close band above 0.95; the move is kept
            within +-49% of the last good price so that the guard takes it at once), and the keeper liquidates it
            for up to about `cover` (1 to the debt + 2: half the time more than half the debt), with the
            per-liquidation checks around it.
    """
    borrower: address = BORROWERS[who % 3]
    last: uint256 = staticcall ENGINE.last_good_price()
    if last == 0:
        return
    extcall FEED.set_reverting(False)
    extcall VM.warp(block.timestamp + 12)
    extcall VM.roll(block.number + 1)
    extcall FEED.set_answer(convert(last, int256))
    debt: uint256 = staticcall ENGINE.debt_of(borrower)
    if debt == 0 or debt > staticcall ENGINE.CAP_PER_BLOCK():
        self._resize(borrower, cover)
        debt = staticcall ENGINE.debt_of(borrower)
    coll: uint256 = staticcall ENGINE.collateral(borrower)
    if debt == 0 or coll == 0:
        return
    extcall VM.warp(block.timestamp + 12)
    extcall VM.roll(block.number + 1)
    # HF = coll x price / scale x threshold / (debt x BPS), so price = hf x debt x scale / (threshold x coll)
    # (hf in bps; rounded down: a lower price, a lower HF).
    hf: uint256 = 9_200 + hf_bps % 800
    price: uint256 = hf * debt * staticcall ENGINE.PRICE_SCALE() // (staticcall ENGINE.THRESHOLD_BPS() * coll)
    price = max(min(price, last + last * 4_900 // BPS), last - last * 4_900 // BPS)
    extcall FEED.set_answer(convert(max(price, 1), int256))
    self._liquidate(borrower, cover)


@internal
def _liquidate(borrower: address, cover: uint256):
    """
    @notice One liquidation of `borrower` for up to about `cover`, with the per-liquidation checks around it.
    @param borrower The borrower.
    @param cover Chooses the debt to cover (1 to the debt + 2).
    """
    debt_before: uint256 = staticcall ENGINE.debt_of(borrower)
    coll_before: uint256 = staticcall ENGINE.collateral(borrower)
    deficit_before: uint256 = staticcall ENGINE.deficit()
    amount: uint256 = cover % (debt_before + 2) + 1
    cash_before: uint256 = staticcall ENGINE.cash()
    paid_before: uint256 = staticcall IERC20(DEBT).balanceOf(KEEPER)
    if not self._call(KEEPER, abi_encode(borrower, amount, empty(uint256), method_id=method_id("liquidate(address,uint256,uint256)"))):
        return
    n: uint256 = self.liquidations
    self.liquidations = n + 1
    # The price used is the one accepted by this call (the guard may have taken a new round): a successful
    # lenient read leaves it as the last good price.
    price: uint256 = staticcall ENGINE.last_good_price()
    scale: uint256 = staticcall ENGINE.PRICE_SCALE()
    # The close factor for the health factor before the call, computed here from the documented formula (not
    # through the engine's views): HF = floor(floor(coll x price / scale) x threshold x WAD / (debt x BPS));
    # the whole debt at HF <= 0.95 or for a debt below SMALL_POSITION, else half of it, rounded down.
    max_close: uint256 = debt_before
    value: uint256 = coll_before * price // scale
    hf_before: uint256 = value * staticcall ENGINE.THRESHOLD_BPS() * WAD // (debt_before * BPS)
    if debt_before >= staticcall ENGINE.SMALL_POSITION() and hf_before > FULL_CLOSE_HF:
        max_close = debt_before * CLOSE_FACTOR_BPS // BPS
    # What was repaid: the keeper's debt-token balance drop (the tokens taken by the call).
    taken: uint256 = paid_before - staticcall IERC20(DEBT).balanceOf(KEEPER)
    if taken > max_close:
        self.close_factor_exceeded += 1
    elif taken == max_close and max_close < debt_before:
        self.close_factor_binding += 1
    debt_after: uint256 = staticcall ENGINE.debt_of(borrower)
    seized: uint256 = coll_before - staticcall ENGINE.collateral(borrower)
    bad: uint256 = staticcall ENGINE.deficit() - deficit_before
    if debt_after > debt_before:
        self.debt_raised_by_liquidation += 1
    # repaid = debt removed minus written off (exact without interest, which the invariant test runs without);
    # seized x price x BPS <= repaid x bonus x scale.
    repaid: uint256 = debt_before - debt_after - bad
    bonus: uint256 = staticcall ENGINE.BONUS_BPS()
    if seized * price * BPS > repaid * bonus * scale:
        self.seized_above_entitlement += 1
    # Shortfall x bonus = debt x bonus - collateral value x BPS (value at the price, exact).
    if bad * bonus * scale > max(debt_before * bonus * scale, coll_before * price * BPS) - coll_before * price * BPS:
        self.deficit_above_shortfall += 1
    mask: uint256 = convert(max_value(uint128), uint256)
    if (staticcall ENGINE.block_usage()) & mask > staticcall ENGINE.CAP_PER_BLOCK():
        self.cap_exceeded += 1
    window_used: uint256 = staticcall ENGINE.window_used()
    if window_used > staticcall ENGINE.CAP_PER_WINDOW():
        self.cap_exceeded += 1
    if window_used == staticcall ENGINE.CAP_PER_WINDOW() and (staticcall ENGINE.block_usage()) & mask < window_used:
        self.window_filled += 1
    self._check_record(n, staticcall ENGINE.cash() - cash_before)


@internal
def _check_record(n: uint256, repaid: uint256):
    """
    @notice Appends liquidation `n` (now, this block, `repaid`) to the record and counts a violation if the record
            holds more than CAP_PER_WINDOW over (now - WINDOW_SECONDS, now] or more than CAP_PER_BLOCK in this block.
            Time only moves forward here, so the record is in time order and the walk back stops at the first
            liquidation outside the span; checking after every liquidation covers every span (the heaviest one
            ends at a liquidation).
    @param n The liquidation's index in the record.
    @param repaid The debt it repaid.
    """
    self.record_time[n] = block.timestamp
    self.record_block[n] = block.number
    self.record_repaid[n] = repaid
    window: uint256 = staticcall ENGINE.WINDOW_SECONDS()
    in_window: uint256 = 0
    in_block: uint256 = 0
    for back: uint256 in range(MAX_RECORDS):
        if back > n:
            break
        j: uint256 = n - back
        if self.record_time[j] + window <= block.timestamp:
            break
        in_window += self.record_repaid[j]
        if self.record_block[j] == block.number:
            in_block += self.record_repaid[j]
    if in_window > staticcall ENGINE.CAP_PER_WINDOW() or in_block > staticcall ENGINE.CAP_PER_BLOCK():
        self.cap_exceeded += 1
