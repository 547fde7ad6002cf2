"""Our client behind a really faulty link: cut, UDP blocked.  The server and the other
participant (the official SDK, in a process of its own) sit in another network
namespace, so only our path is broken; each test proves its fault happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiortc import RTCIceServer

from client.livekit import errors
from client.livekit import events as ev
from client.livekit.room import RoomOptions
from devtools.netfaults import LinkFaults, ServerNamespace
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.waiting import wait_for
from devtools.watching_peer import WatchingPeer
from tests.conftest import TokenFactory
from tests.netfault_fixtures import FAULTY_TURN_UDP_PORT
from tests.our_client import OurClient


def fresh_from_peer(ours: OurClient, since: float) -> bool:
    probe = ours.probe_of("watcher", "video")
    return probe is not None and any(at > since for at, _ in probe.stamps[-3:])


@pytest.fixture
async def watcher(
    faulty_server: LiveKitServer,
    server_netns: ServerNamespace,
    token_factory: TokenFactory,
    room_name: str,
) -> AsyncIterator[WatchingPeer]:
    peer = await asyncio.to_thread(
        WatchingPeer,
        faulty_server.ws_url,
        token_factory("watcher", room_name),
        netns=server_netns.name,
    )
    try:
        yield peer
    finally:
        await asyncio.to_thread(peer.close)


async def both_ways(ours: OurClient, watcher: WatchingPeer, since: float, timeout: float) -> None:
    await wait_for(lambda: fresh_from_peer(ours, since), timeout, "video from the peer")
    await wait_for(
        lambda: watcher.receiving_since("ours", since) is not None, timeout, "the peer gets ours"
    )


async def test_a_cut_link_is_noticed_and_the_call_comes_back(
    faulty_server: LiveKitServer,
    link_faults: LinkFaults,
    watcher: WatchingPeer,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    ours = OurClient(
        faulty_server.ws_url, token_factory("ours", room_name), RoomOptions(ice_servers=None)
    )
    states: list[tuple[float, str, bool]] = []

    def note(event: ev.Event) -> None:
        engine = ours.room.engine
        media_up = (
            engine is not None
            and engine.publisher is not None
            and engine.subscriber is not None
            and engine.publisher.pc.connectionState == "connected"
            and engine.subscriber.pc.connectionState == "connected"
        )
        states.append((time.time(), type(event).__name__, media_up))

    ours.room.events.on(ev.Reconnecting, note)
    ours.room.events.on(ev.Reconnected, note)
    await ours.connect()
    try:
        await ours.publish_pattern()
        await ours.publish_tone()
        await both_ways(ours, watcher, time.time(), 15)
        cut_at = time.time()
        with link_faults.cut() as cut:
            await wait_for(lambda: any(n == "Reconnecting" for _, n, _ in states), 8, "noticed")
            await asyncio.sleep(4)  # the link stays down a while after it was noticed
            assert ours.room.state == ev.ConnectionState.RECONNECTING
        assert cut.packets > 0, "the cut dropped nothing"
        restored_at = time.time()
        await both_ways(ours, watcher, restored_at, 15)
        reconnected = [(at, up) for at, name, up in states if name == "Reconnected"]
        assert reconnected, "no Reconnected event"
        assert reconnected[0][1], "Reconnected announced before the media transports were up"
        assert ours.room.state == ev.ConnectionState.CONNECTED
        # The server still held our session: it was resumed, and the other
        # participant never saw us leave.
        assert ours.room.resume_count == 1
        assert [e for e in watcher.events if e[1] == "ours"] == [
            e for e in watcher.events if e[1] == "ours" and e[0] == "joined"
        ][:1], watcher.events
        noticed = next(at for at, name, _ in states if name == "Reconnecting")
        print(
            f"noticed after {noticed - cut_at:.2f} s; media back after "
            f"{(watcher.receiving_since('ours', restored_at) or 0) - restored_at:.2f} s"
        )
    finally:
        await ours.close()


async def test_udp_blocked_goes_through_turn_over_tls(
    faulty_server: LiveKitServer,
    link_faults: LinkFaults,
    watcher: WatchingPeer,
    token_factory: TokenFactory,
    room_name: str,
    turn_tls_files: tuple[Path, Path],
) -> None:
    certificate, _ = turn_tls_files
    with link_faults.block_udp() as blocked:
        ours = OurClient(
            faulty_server.ws_url,
            token_factory("ours", room_name),
            RoomOptions(ice_servers=None, extra_ca_file=certificate),
        )
        started = time.monotonic()
        await ours.connect()
        try:
            connected_s = time.monotonic() - started
            engine = ours.room.engine
            assert engine is not None and engine.udp_blocked is True
            await ours.publish_pattern()
            await both_ways(ours, watcher, time.time(), 20)
            assert blocked.packets > 0, "no UDP was dropped"
            print(f"connected through the relay in {connected_s:.2f} s")
        finally:
            await ours.close()


async def test_udp_blocked_without_a_relay_says_so(
    faulty_server: LiveKitServer,
    link_faults: LinkFaults,
    server_netns: ServerNamespace,
    token_factory: TokenFactory,
    room_name: str,
) -> None:
    udp_only = [
        RTCIceServer(
            urls=f"turn:{server_netns.server_ip}:{FAULTY_TURN_UDP_PORT}?transport=udp",
            username="u",
            credential="c",
        )
    ]
    with link_faults.block_udp() as blocked:
        ours = OurClient(
            faulty_server.ws_url,
            token_factory("ours", room_name),
            RoomOptions(ice_servers=udp_only),
        )
        with pytest.raises(errors.UdpBlockedError) as raised:
            await ours.connect()
        assert "UDP" in str(raised.value)
        assert blocked.packets > 0
        assert ours.room.state == ev.ConnectionState.DISCONNECTED
        await ours.close()
