# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title EventSpammer
@license Apache-2.0
@notice Test-only source of many events for the watcher's benchmarks: one call emits `n` events in a loop, so a
        chain holding hundreds of thousands of events is cheap to generate. The events have the signatures of the
        project's own (`Transfer` of SettlementSeries, `Liquidated` of MarginEngine) plus a Chainlink-style
        `AnswerUpdated` with a signed value, so the watcher decodes them with the same layouts.
@dev No revert strings: `n` above MAX_EVENTS fails the loop bound itself (a bare revert).
"""

# @notice The most events one `spam` call emits.
MAX_EVENTS: constant(uint256) = 2000


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Liquidated:
    borrower: indexed(address)
    liquidator: indexed(address)
    debt_repaid: uint256
    collateral_seized: uint256
    fee: uint256
    bad_debt: uint256


event AnswerUpdated:
    current: indexed(int256)
    round_id: indexed(uint256)
    updated_at: uint256


# @notice Events emitted so far (also the `value` of the next Transfer).
emitted: public(uint256)


@external
def spam(n: uint256):
    """
    @notice Emit `n` events, rotating Transfer, Liquidated and AnswerUpdated, with arguments derived from a counter.
    @param n How many events to emit (at most MAX_EVENTS).
    """
    base: uint256 = self.emitted
    for i: uint256 in range(n, bound=MAX_EVENTS):
        k: uint256 = base + i  # checked: cannot overflow below 2**256 - MAX_EVENTS events
        kind: uint256 = k % 3  # modulo by a non-zero constant: no rounding involved
        if kind == 0:
            log Transfer(sender=msg.sender, receiver=convert(k + 1, address), value=k)
        elif kind == 1:
            log Liquidated(
                borrower=convert(k + 1, address),
                liquidator=msg.sender,
                debt_repaid=k * 7,
                collateral_seized=k * 11,
                fee=k,
                bad_debt=0,
            )
        else:
            log AnswerUpdated(current=convert(k, int256) - 1000, round_id=k, updated_at=block.timestamp)
    self.emitted = base + n  # checked addition
