"""The WebSocket head subscription (eth_subscribe newHeads on Anvil) wakes a slow poll loop at once."""

from __future__ import annotations

import threading
from pathlib import Path

from settlekit import contracts
from settlekit.build import ArtifactStore
from settlekit.chain import Anvil, AnvilConfig
from settlekit.watch.decoder import EventDecoder
from settlekit.watch.follower import Follower
from settlekit.watch.heads import HeadSubscription, WakeableStop
from settlekit.watch.store import Store

from support import wait_until


def test_a_new_head_wakes_a_one_minute_poll_and_stop_still_stops(
    settlekit_project, artifacts: ArtifactStore, tmp_path: Path
) -> None:
    with Anvil(AnvilConfig(), settlekit_project) as node:
        owner = node.w3.eth.accounts[0]
        token = contracts.deploy(node.w3, artifacts.get("MockERC20"), "Demo", "DMO", 6, sender=owner)
        store = Store.sqlite(str(tmp_path / "w.db"))
        follower = Follower(node.rpc, store, EventDecoder({"token": (token.address, "MockERC20")}, artifacts))
        stop = WakeableStop()
        heads: list[int] = []

        def ring(number: int) -> None:
            heads.append(number)
            stop.wake()

        subscription = HeadSubscription(node.url.replace("http://", "ws://"), ring).start()
        runner = threading.Thread(target=follower.run, args=(60.0,), kwargs={"stop": stop})
        try:
            assert wait_until(lambda: subscription.connects == 1, timeout=10)
            runner.start()
            assert wait_until(lambda: (tip := store.tip()) is not None and tip.number == node.w3.eth.block_number)
            contracts.transact(token.functions.mint(owner, 42), sender=owner)  # one new block
            # Without the doorbell the follower would sleep for a minute; with it the event lands at once.
            assert wait_until(lambda: [e.args["value"] for e in store.events()] == ["42"], timeout=10)
            assert heads[-1] == node.w3.eth.block_number
        finally:
            stop.set()
            runner.join(timeout=10)
            subscription.close()
        assert not runner.is_alive()


def test_an_unreachable_websocket_only_reports_errors() -> None:
    errors: list[str] = []
    subscription = HeadSubscription("ws://127.0.0.1:9", lambda _n: None, open_timeout=1, on_error=errors.append)
    subscription.start()
    try:
        assert wait_until(lambda: bool(errors), timeout=10)
    finally:
        subscription.close()
    assert subscription.connects == 0
    assert "head subscription to ws://127.0.0.1:9 failed: ConnectionRefusedError" in errors[0]
