# pragma version ~=0.4.3
"""
@title MockAggregatorTest
@license Apache-2.0
@notice Forge tests of contracts/mocks/MockAggregator.vy: metadata, rounds opened by `set_answer`, arbitrary
        rounds written by `set_round` and `set_round_data`, history kept for `getRoundData`, the reverting switch,
        the `AnswerUpdated` event, and every revert reason.
"""

from .interfaces import IVm

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)
VM_ADDRESS: constant(address) = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D

ETH_USD_2000: constant(int256) = 2000 * 10**8
ETH_USD_2100: constant(int256) = 2100 * 10**8


interface Aggregator:
    def decimals() -> uint8: view
    def description() -> String[64]: view
    def version() -> uint256: view
    def latest_round() -> uint80: view
    def reverting() -> bool: view
    def latestRoundData() -> (uint80, int256, uint256, uint256, uint80): view
    def getRoundData(round_id: uint80) -> (uint80, int256, uint256, uint256, uint80): view
    def set_answer(answer: int256): nonpayable
    def set_round(round_id: uint80, answer: int256, updated_at: uint256): nonpayable
    def set_round_data(
        round_id: uint80, answer: int256, started_at: uint256, updated_at: uint256, answered_in_round: uint80
    ): nonpayable
    def set_reverting(reverting_: bool): nonpayable


event AnswerUpdated:
    current: indexed(int256)
    roundId: indexed(uint256)
    updatedAt: uint256


feed: Aggregator


@external
def setUp():
    """
    @notice Deploys an 8-decimal "ETH / USD" feed with no round yet.
    """
    response: Bytes[32] = raw_call(
        VM_ADDRESS,
        abi_encode(
            "MockAggregator.vy",
            abi_encode(convert(8, uint8), "ETH / USD"),
            method_id=method_id("deployCode(string,bytes)"),
        ),
        max_outsize=32,
    )
    self.feed = Aggregator(abi_decode(response, address))


@internal
@view
def _check_latest(round_id: uint80, answer: int256, started_at: uint256, updated_at: uint256, answered: uint80):
    """
    @notice Asserts every field of latestRoundData.
    @param round_id Expected roundId.
    @param answer Expected answer.
    @param started_at Expected startedAt.
    @param updated_at Expected updatedAt.
    @param answered Expected answeredInRound.
    """
    r: uint80 = 0
    a: int256 = 0
    s: uint256 = 0
    u: uint256 = 0
    n: uint80 = 0
    r, a, s, u, n = staticcall self.feed.latestRoundData()
    assert r == round_id, "roundId"
    assert a == answer, "answer"
    assert s == started_at, "startedAt"
    assert u == updated_at, "updatedAt"
    assert n == answered, "answeredInRound"


@internal
@view
def _check_round(round_id: uint80, answer: int256, started_at: uint256, updated_at: uint256, answered: uint80):
    """
    @notice Asserts every field of getRoundData(round_id).
    @param round_id The round read (and expected roundId).
    @param answer Expected answer.
    @param started_at Expected startedAt.
    @param updated_at Expected updatedAt.
    @param answered Expected answeredInRound.
    """
    r: uint80 = 0
    a: int256 = 0
    s: uint256 = 0
    u: uint256 = 0
    n: uint80 = 0
    r, a, s, u, n = staticcall self.feed.getRoundData(round_id)
    assert r == round_id, "roundId"
    assert a == answer, "answer"
    assert s == started_at, "startedAt"
    assert u == updated_at, "updatedAt"
    assert n == answered, "answeredInRound"


@external
def test_metadata():
    """
    @notice decimals, description and version.
    """
    assert staticcall self.feed.decimals() == 8, "decimals"
    assert staticcall self.feed.description() == "ETH / USD", "description"
    assert staticcall self.feed.version() == 4, "version"
    assert staticcall self.feed.latest_round() == 0, "no round yet"


@external
def test_no_round_yet_reverts():
    """
    @notice Before any round, latestRoundData reverts "mock_aggregator: no such round".
    """
    extcall VM.expectRevert(b"mock_aggregator: no such round")
    r: uint80 = 0
    a: int256 = 0
    s: uint256 = 0
    u: uint256 = 0
    n: uint80 = 0
    r, a, s, u, n = staticcall self.feed.latestRoundData()


@external
def test_set_answer_opens_rounds_and_keeps_history():
    """
    @notice Each set_answer opens the next round at the block time; earlier rounds stay readable.
    """
    extcall VM.warp(1_000)
    extcall self.feed.set_answer(ETH_USD_2000)
    self._check_latest(1, ETH_USD_2000, 1_000, 1_000, 1)
    extcall VM.warp(2_000)
    extcall self.feed.set_answer(ETH_USD_2100)
    self._check_latest(2, ETH_USD_2100, 2_000, 2_000, 2)
    self._check_round(1, ETH_USD_2000, 1_000, 1_000, 1)
    self._check_round(2, ETH_USD_2100, 2_000, 2_000, 2)
    assert staticcall self.feed.latest_round() == 2, "latest round"


@external
def test_set_answer_logs_answer_updated():
    """
    @notice set_answer logs AnswerUpdated(answer, round id, updatedAt).
    """
    extcall VM.warp(5_000)
    extcall VM.expectEmit(True, True, True, True, self.feed.address)
    log AnswerUpdated(current=-1, roundId=1, updatedAt=5_000)
    extcall self.feed.set_answer(-1)


@external
def test_unknown_round_reverts():
    """
    @notice getRoundData of a round never written (0, a gap, a future round) reverts
            "mock_aggregator: no such round".
    """
    extcall self.feed.set_round(5, ETH_USD_2000, 100)
    for round_id: uint80 in [0, 1, 4, 6, max_value(uint80)]:
        extcall VM.expectRevert(b"mock_aggregator: no such round")
        r: uint80 = 0
        a: int256 = 0
        s: uint256 = 0
        u: uint256 = 0
        n: uint80 = 0
        r, a, s, u, n = staticcall self.feed.getRoundData(round_id)


@external
def test_set_round_arbitrary():
    """
    @notice set_round writes any round (stale or future time, negative answer, lower id than the latest) and
            makes it the latest; set_answer continues from it.
    """
    extcall VM.warp(10_000)
    extcall self.feed.set_round(42, -5, 123)
    self._check_latest(42, -5, 123, 123, 42)
    extcall self.feed.set_round(7, ETH_USD_2000, 20_000)  # in the future, and a lower id
    self._check_latest(7, ETH_USD_2000, 20_000, 20_000, 7)
    self._check_round(42, -5, 123, 123, 42)
    extcall self.feed.set_answer(ETH_USD_2100)
    self._check_latest(8, ETH_USD_2100, 10_000, 10_000, 8)
    extcall self.feed.set_round(7, 0, 0)  # overwrite, zero answer and zero time
    self._check_round(7, 0, 0, 0, 7)
    self._check_latest(7, 0, 0, 0, 7)


@external
def test_set_round_data_every_field():
    """
    @notice set_round_data sets every field, e.g. an answer carried over from an earlier round.
    """
    extcall self.feed.set_round_data(10, ETH_USD_2000, 900, 1_000, 9)
    self._check_latest(10, ETH_USD_2000, 900, 1_000, 9)
    self._check_round(10, ETH_USD_2000, 900, 1_000, 9)


@external
def test_round_id_zero_reverts():
    """
    @notice Round id 0 cannot be written: "mock_aggregator: round id zero".
    """
    extcall VM.expectRevert(b"mock_aggregator: round id zero")
    extcall self.feed.set_round(0, ETH_USD_2000, 1)
    extcall VM.expectRevert(b"mock_aggregator: round id zero")
    extcall self.feed.set_round_data(0, ETH_USD_2000, 1, 1, 0)


@external
def test_round_id_overflow_reverts():
    """
    @notice set_answer after round max_value(uint80) reverts "mock_aggregator: round id overflow".
    """
    extcall self.feed.set_round(max_value(uint80), ETH_USD_2000, 1)
    extcall VM.expectRevert(b"mock_aggregator: round id overflow")
    extcall self.feed.set_answer(ETH_USD_2100)


@external
def test_reverting_switch():
    """
    @notice With the switch on, latestRoundData and getRoundData revert "mock_aggregator: feed reverting";
            with it off they answer again.
    """
    extcall self.feed.set_answer(ETH_USD_2000)
    extcall self.feed.set_reverting(True)
    assert staticcall self.feed.reverting(), "switch"
    r: uint80 = 0
    a: int256 = 0
    s: uint256 = 0
    u: uint256 = 0
    n: uint80 = 0
    extcall VM.expectRevert(b"mock_aggregator: feed reverting")
    r, a, s, u, n = staticcall self.feed.latestRoundData()
    extcall VM.expectRevert(b"mock_aggregator: feed reverting")
    r, a, s, u, n = staticcall self.feed.getRoundData(1)
    extcall self.feed.set_reverting(False)
    r, a, s, u, n = staticcall self.feed.latestRoundData()
    assert a == ETH_USD_2000, "answers again"


@external
def testFuzz_set_answer(answer: int256, timestamp: uint256):
    """
    @notice For any answer and block time, set_answer stores exactly that round and getRoundData returns it.
    @param answer The answer.
    @param timestamp The block time, bounded below 2**64.
    """
    t: uint256 = timestamp % 2**64
    extcall VM.warp(t)
    extcall self.feed.set_answer(answer)
    self._check_latest(1, answer, t, t, 1)
    self._check_round(1, answer, t, t, 1)
