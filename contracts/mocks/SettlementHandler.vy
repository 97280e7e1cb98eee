# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title SettlementHandler
@notice Invariant-test handler for SettlementSeries (through SettlementInvariantTest). Four writers and four
        holders mint in lots, transfer, and, once time passes expiry, settle, claim, claim in batches, reclaim and
        sweep, in whatever order the fuzzer picks, while the handler (the series owner) moves the circuit breaker
        up and down. Ghost totals mirror every wei that goes in and out; each payout is checked against the exact
        rational entitlement at the moment it is paid; every departure from the rules is counted.
@dev Test-only. Exits go through raw_call with revert_on_failure=False, so that an exit refused while its
     preconditions hold is recorded (exits_blocked) rather than silently skipped by the fuzzer.
"""

from ethereum.ercs import IERC20
from .. import SettlementSeries


interface Vm:
    def prank(sender: address): nonpayable
    def warp(new_timestamp: uint256): nonpayable


interface IMintable:
    def mint(to: address, amount: uint256): nonpayable
    def approve(spender: address, amount: uint256) -> bool: nonpayable


interface IFeed:
    def set_answer(answer: int256): nonpayable
    def latest_round() -> uint80: view


VM: constant(Vm) = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
ACTOR_BASE: constant(uint256) = 196_608
REASON: constant(bytes32) = 0x696e76617269616e740000000000000000000000000000000000000000000000

series: public(SettlementSeries.__interface__)
token: public(address)
feed: public(address)
m: public(uint256)
cap: public(uint256)

ghost_deposited: public(uint256)
ghost_paid: public(uint256)
ghost_reclaimed: public(uint256)
ghost_swept: public(uint256)
payouts: public(uint256)
# @notice Sum over payouts of (exact entitlement - payout) * CAP: the rounding loss, exactly, scaled by CAP.
loss_scaled: public(uint256)
first_price: public(uint256)
violations: public(uint256)
exits_blocked: public(uint256)
paid_before_settle: public(uint256)
minted_after_expiry: public(uint256)
settled_twice: public(uint256)
# @notice Times a second `initialize` of the clone succeeded (must stay 0).
reinitialized: public(uint256)
# @notice The first round published after expiry (0: none yet). Every settle attempt names it: a later round is
#         never the first usable one, so a refused first attempt must not make every later one stale.
settle_round: public(uint80)
# @notice The answer of `settle_round`.
published_price: public(uint256)
# @notice Payouts whose exact entitlement was not a whole number of wei (the floor actually rounded).
rounding_payouts: public(uint256)


@deploy
def __init__(series: address, token: address, feed: address):
    """
    @notice Binds the handler to a series, its collateral (open mint) and its feed.
    @param series The series under test.
    @param token Its collateral.
    @param feed Its price feed.
    """
    self.series = SettlementSeries.__interface__(series)
    self.token = token
    self.feed = feed
    self.m = staticcall self.series.MAX_PAYOUT_PER_UNIT()
    self.cap = staticcall self.series.CAP()


@external
def accept_series_ownership():
    """
    @notice Accepts ownership of the series (set-up only), so that set_level can lower the breaker. A no-op once
            the handler is the owner, so that the fuzzer's calls to it do not count as reverts.
    """
    if staticcall self.series.owner() == self:
        return
    extcall self.series.accept_ownership()


@external
def reinitialize(caller_seed: uint256, as_handler: bool):
    """
    @notice Tries to initialise the (already initialised) clone again, as a writer, a holder or the handler (its
            owner), naming the caller as the new owner and guardian; counts any success in `reinitialized`.
    @param caller_seed Picks the caller among the actors.
    @param as_handler Call as the handler (the owner) instead.
    """
    caller: address = self if as_handler else self._actor(caller_seed % 2, caller_seed // 2)
    if not as_handler:
        extcall VM.prank(caller)
    ok: bool = raw_call(
        self.series.address,
        abi_encode(caller, caller, method_id=method_id("initialize(address,address)")),
        revert_on_failure=False,
    )
    if ok:
        self.reinitialized += 1


@internal
@pure
def _actor(kind: uint256, seed: uint256) -> address:
    """
    @notice Writer (kind 0) or holder (kind 1) number seed % 4.
    @param kind 0 for a writer, 1 for a holder.
    @param seed Any number; its value modulo 4 picks the actor.
    @return The actor's address.
    """
    return convert(ACTOR_BASE + kind * 16 + seed % 4, address)


@internal
@view
def _numerator() -> uint256:
    """
    @notice The payout numerator of the fixed rate.
    @return n, with the rate n / CAP.
    """
    n: uint256 = 0
    d: uint256 = 0
    n, d = staticcall self.series.payout_rate()
    return n


@internal
def _book(units: uint256, owed_scaled: uint256, paid: uint256):
    """
    @notice Checks one payout against its exact entitlement owed_scaled / CAP and records it.
    @param units The units paid for (documentation of the call site; the check uses owed_scaled).
    @param owed_scaled The exact entitlement times CAP.
    @param paid The amount paid.
    """
    # the payout must be the floor of the entitlement: paid * CAP <= owed < (paid + 1) * CAP
    if paid * self.cap > owed_scaled or (paid + 1) * self.cap <= owed_scaled:
        self.violations += 1
    self.payouts += 1
    if owed_scaled % self.cap != 0:
        self.rounding_payouts += 1
    self.loss_scaled += owed_scaled - paid * self.cap


@internal
def _exit(caller: address, data: Bytes[4096]) -> (bool, uint256):
    """
    @notice Calls the series as `caller`; returns success and the returned uint256.
    @param caller The sender the call is pranked as.
    @param data The calldata.
    @return Whether the call succeeded, and its uint256 result (0 on failure).
    """
    extcall VM.prank(caller)
    ok: bool = False
    out: Bytes[32] = b""
    ok, out = raw_call(self.series.address, data, max_outsize=32, revert_on_failure=False)
    if not ok or len(out) != 32:
        return False, 0
    return True, abi_decode(out, uint256)


@external
def mint(writer_seed: uint256, holder_seed: uint256, units_seed: uint256):
    """
    @notice A writer mints a lot to a holder; after expiry the attempt must fail.
    """
    writer: address = self._actor(0, writer_seed)
    units: uint256 = 1 + units_seed % 1_000_000
    amount: uint256 = units * self.m
    extcall IMintable(self.token).mint(writer, amount)
    extcall VM.prank(writer)
    extcall IMintable(self.token).approve(self.series.address, amount)
    ok: bool = False
    paid: uint256 = 0
    ok, paid = self._exit(writer, abi_encode(units, self._actor(1, holder_seed), method_id=method_id("mint(uint256,address)")))
    if block.timestamp >= staticcall self.series.EXPIRY():
        if ok:
            self.minted_after_expiry += 1
        return
    if ok:
        self.ghost_deposited += amount


@external
def transfer(from_seed: uint256, to_seed: uint256, units_seed: uint256):
    """
    @notice A holder moves some units to another holder or to a writer.
    """
    sender: address = self._actor(1, from_seed)
    balance: uint256 = staticcall self.series.balanceOf(sender)
    if staticcall self.series.level() == 3:
        return
    extcall VM.prank(sender)
    extcall self.series.transfer(self._actor(to_seed % 2, to_seed // 2), units_seed % (balance + 1))


@internal
def _publish(price_seed: uint256):
    """
    @notice Publishes the first round after expiry, once, at max(now, EXPIRY). Three times in four its answer
            lies strictly inside (STRIKE, STRIKE + CAP), where the rate is strictly between 0 and 1 and payouts
            round; otherwise anywhere in [1, STRIKE + 2 * CAP].
    @param price_seed Picks the answer.
    """
    if self.settle_round != 0:
        return
    expiry: uint256 = staticcall self.series.EXPIRY()
    if block.timestamp < expiry:
        extcall VM.warp(expiry)
    strike: uint256 = staticcall self.series.STRIKE()
    price: uint256 = 0
    if price_seed % 4 != 0 and self.cap > 1:
        # cannot overflow: the seed is reduced below CAP - 1 first
        price = strike + 1 + (price_seed // 4) % (self.cap - 1)
    else:
        price = 1 + (price_seed // 4) % (strike + 2 * self.cap)
    extcall IFeed(self.feed).set_answer(convert(price, int256))
    self.settle_round = staticcall IFeed(self.feed).latest_round()
    self.published_price = price


@internal
def _warp_to(target: uint256, price_seed: uint256):
    """
    @notice Moves time forward to `target`; if that crosses EXPIRY while the settlement window is still open,
            the first round after expiry is published on the way, inside the window.
    @param target The new timestamp (not before now).
    @param price_seed Picks the round's answer if one is published.
    """
    expiry: uint256 = staticcall self.series.EXPIRY()
    window_end: uint256 = expiry + staticcall self.series.SETTLEMENT_WINDOW()
    if self.settle_round == 0 and target >= expiry and block.timestamp < window_end:
        self._publish(price_seed)
    if target > block.timestamp:
        extcall VM.warp(target)


@external
def warp(seconds_seed: uint256):
    """
    @notice Time passes (up to 10 days at a time).
    """
    self._warp_to(block.timestamp + seconds_seed % (10 * 86_400), seconds_seed)


@external
def set_level(level_seed: uint256):
    """
    @notice The owner moves the breaker to any level.
    """
    target: uint256 = level_seed % 4
    current: uint256 = staticcall self.series.level()
    if target > current:
        extcall self.series.raise_level(target, REASON)
    elif target < current:
        extcall self.series.lower_level(target, REASON)


@external
def settle(price_seed: uint256):
    """
    @notice Settlement attempted with the first round after expiry (published now, at max(now, EXPIRY), if
            none was yet); a second success is a violation.
    """
    self._publish(price_seed)
    already: bool = staticcall self.series.settlement_price() != 0
    ok: bool = False
    out: uint256 = 0
    ok, out = self._exit(self, abi_encode(self.settle_round, method_id=method_id("settle(uint80)")))
    if ok and already:
        self.settled_twice += 1
    if ok and not already:
        self.first_price = self.published_price


@internal
@view
def _claimable_state() -> bool:
    """
    @notice Settled and not swept.
    """
    return staticcall self.series.settlement_price() != 0 and not staticcall self.series.swept()


@external
def claim(holder_seed: uint256):
    """
    @notice A holder (or a writer holding units) claims.
    """
    holder: address = self._actor(holder_seed % 2, holder_seed // 2)
    units: uint256 = staticcall self.series.balanceOf(holder)
    ready: bool = self._claimable_state()
    ok: bool = False
    paid: uint256 = 0
    ok, paid = self._exit(holder, method_id("claim()"))
    if ok and staticcall self.series.settlement_price() == 0:
        self.paid_before_settle += 1
    if not ok:
        if ready and units != 0:
            self.exits_blocked += 1
        return
    self._book(units, units * self.m * self._numerator(), paid)
    self.ghost_paid += paid


@external
def claim_for(mask: uint256):
    """
    @notice A keeper pays the holders selected by `mask` (bits 0-7: holders then writers).
    """
    holders: DynArray[address, 8] = []
    units: DynArray[uint256, 8] = []
    for i: uint256 in range(8):
        if mask & (1 << i) != 0:
            who: address = self._actor(i // 4, i)
            holders.append(who)
            units.append(staticcall self.series.balanceOf(who))
    ready: bool = self._claimable_state()
    ok: bool = False
    paid: uint256 = 0
    ok, paid = self._exit(self, abi_encode(holders, method_id=method_id("claim_for(address[])")))
    if not ok:
        if ready:
            self.exits_blocked += 1
        return
    total: uint256 = 0
    for i: uint256 in range(8):
        if i >= len(holders):
            break
        if units[i] != 0:
            owed: uint256 = units[i] * self.m * self._numerator()
            total += owed // self.cap
            self._book(units[i], owed, owed // self.cap)
    if total != paid:
        self.violations += 1
    self.ghost_paid += paid


@external
def reclaim(writer_seed: uint256):
    """
    @notice A writer reclaims.
    """
    writer: address = self._actor(0, writer_seed)
    units: uint256 = staticcall self.series.written(writer)
    ready: bool = self._claimable_state()
    ok: bool = False
    back: uint256 = 0
    ok, back = self._exit(writer, method_id("reclaim()"))
    if ok and staticcall self.series.settlement_price() == 0:
        self.paid_before_settle += 1
    if not ok:
        if ready and units != 0:
            self.exits_blocked += 1
        return
    self._book(units, units * self.m * (self.cap - self._numerator()), back)
    self.ghost_reclaimed += back


@external
def sweep(late: bool):
    """
    @notice The treasury sweep, either when everything is paid or (late) from the sweep deadline.
    """
    if late:
        self._warp_to(max(block.timestamp, staticcall self.series.SWEEP_DEADLINE()), block.timestamp)
    ok: bool = False
    amount: uint256 = 0
    ok, amount = self._exit(self, method_id("sweep()"))
    if ok:
        self.ghost_swept += amount
