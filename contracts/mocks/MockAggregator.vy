# pragma version ~=0.4.3
# pragma nonreentrancy on
"""
@title MockAggregator
@license Apache-2.0
@notice A Chainlink-style price feed for tests (the AggregatorV3Interface: `latestRoundData`, `getRoundData`,
        `decimals`, `description`, `version`) whose rounds are set by anyone: `set_answer` opens the next round
        at the current block time; `set_round` and `set_round_data` write any round with any values (stale,
        future, out of order, incomplete) and make it the latest; `set_reverting` makes the feed revert.
@dev Every round written is kept, so `getRoundData` answers for past rounds. Round id 0 is never a round:
     before the first round is set, `latestRoundData` reverts "mock_aggregator: no such round".
"""

# @notice The version reported by `version()` (that of Chainlink's current aggregators).
VERSION: constant(uint256) = 4


struct Round:
    answer: int256
    started_at: uint256
    updated_at: uint256
    answered_in_round: uint80
    exists: bool


event AnswerUpdated:
    current: indexed(int256)
    roundId: indexed(uint256)
    updatedAt: uint256


decimals: public(uint8)
description: public(String[64])
# @notice The id of the latest round (0 before any round is set).
latest_round: public(uint80)
# @notice When True, latestRoundData and getRoundData revert "mock_aggregator: feed reverting".
reverting: public(bool)

_rounds: HashMap[uint80, Round]


@deploy
def __init__(decimals_: uint8, description_: String[64]):
    """
    @notice Sets the feed's decimals and description; no round exists yet.
    @param decimals_ The number of decimals of the answers (8 for a USD feed, 18 for an ETH feed).
    @param description_ A description such as "ETH / USD".
    """
    self.decimals = decimals_
    self.description = description_


@external
@view
def version() -> uint256:
    """
    @notice Returns the aggregator version.
    @return 4.
    """
    return VERSION


@external
def set_answer(answer: int256):
    """
    @notice Opens the next round (latest_round + 1) with `answer`, started and updated now.
    @dev Reverts "mock_aggregator: round id overflow" if the latest round is max_value(uint80).
    @param answer The new answer.
    """
    latest: uint80 = self.latest_round
    assert latest != max_value(uint80), "mock_aggregator: round id overflow"
    round_id: uint80 = unsafe_add(latest, 1)  # cannot overflow: latest < max_value(uint80) asserted above
    self._write(round_id, answer, block.timestamp, block.timestamp, round_id)


@external
def set_round(round_id: uint80, answer: int256, updated_at: uint256):
    """
    @notice Writes round `round_id` with `answer`, started and updated at `updated_at`, answered in itself,
            and makes it the latest round (even if a higher round exists).
    @dev Reverts "mock_aggregator: round id zero" if `round_id` is 0.
    @param round_id The round to write.
    @param answer The answer.
    @param updated_at The update time (any value: 0, in the past, in the future).
    """
    self._write(round_id, answer, updated_at, updated_at, round_id)


@external
def set_round_data(
    round_id: uint80, answer: int256, started_at: uint256, updated_at: uint256, answered_in_round: uint80
):
    """
    @notice Writes round `round_id` with every field chosen, and makes it the latest round.
    @dev Reverts "mock_aggregator: round id zero" if `round_id` is 0.
    @param round_id The round to write.
    @param answer The answer.
    @param started_at The start time.
    @param updated_at The update time.
    @param answered_in_round The round the answer was computed in (below `round_id` for a carried-over answer).
    """
    self._write(round_id, answer, started_at, updated_at, answered_in_round)


@external
def set_reverting(reverting_: bool):
    """
    @notice Makes `latestRoundData` and `getRoundData` revert, or answer again.
    @param reverting_ True to make the feed revert "mock_aggregator: feed reverting".
    """
    self.reverting = reverting_


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice Returns the latest round.
    @dev Reverts "mock_aggregator: no such round" before any round is set, "mock_aggregator: feed reverting"
         when `reverting` is on.
    @return roundId, answer, startedAt, updatedAt, answeredInRound of the latest round.
    """
    return self._read(self.latest_round)


@external
@view
def getRoundData(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice Returns round `round_id`.
    @dev Reverts "mock_aggregator: no such round" if that round was never written, "mock_aggregator: feed
         reverting" when `reverting` is on.
    @param round_id The round to read.
    @return roundId, answer, startedAt, updatedAt, answeredInRound of that round.
    """
    return self._read(round_id)


@internal
def _write(round_id: uint80, answer: int256, started_at: uint256, updated_at: uint256, answered_in_round: uint80):
    """
    @notice Stores a round, makes it the latest and logs `AnswerUpdated`.
    @param round_id The round id (nonzero).
    @param answer The answer.
    @param started_at The start time.
    @param updated_at The update time.
    @param answered_in_round The round the answer was computed in.
    """
    assert round_id != 0, "mock_aggregator: round id zero"
    self._rounds[round_id] = Round(
        answer=answer,
        started_at=started_at,
        updated_at=updated_at,
        answered_in_round=answered_in_round,
        exists=True,
    )
    self.latest_round = round_id
    log AnswerUpdated(current=answer, roundId=convert(round_id, uint256), updatedAt=updated_at)


@internal
@view
def _read(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice Returns a stored round in the AggregatorV3Interface's order.
    @param round_id The round to read.
    @return roundId, answer, startedAt, updatedAt, answeredInRound.
    """
    assert not self.reverting, "mock_aggregator: feed reverting"
    r: Round = self._rounds[round_id]
    assert r.exists, "mock_aggregator: no such round"
    return round_id, r.answer, r.started_at, r.updated_at, r.answered_in_round
