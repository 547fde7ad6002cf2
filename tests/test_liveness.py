"""Telling a dead network path from a quiet one; waiting for a server to come back."""

from __future__ import annotations

import asyncio
import socket

from aiortc import RTCPeerConnection

from client.livekit.liveness import LivenessWatch, datagrams_received
from client.livekit.reachability import endpoint_of, wait_reachable
from devtools.waiting import wait_for


async def connected_pair() -> tuple[RTCPeerConnection, RTCPeerConnection]:
    offerer, answerer = RTCPeerConnection(), RTCPeerConnection()
    channel = offerer.createDataChannel("probe")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)
    await asyncio.wait_for(opened.wait(), 10)
    return offerer, answerer


async def test_received_datagrams_are_counted_from_aiortc_transports() -> None:
    # Fails if an aiortc release renames the counters the liveness check reads.
    offerer, answerer = await connected_pair()
    try:
        before = datagrams_received([answerer])
        assert before > 0  # the DTLS handshake and SCTP setup at least
        probe = offerer.createDataChannel("more")
        await wait_for(lambda: probe.readyState == "open", 5, "second channel")
        for _ in range(20):
            probe.send(b"x" * 100)
        await wait_for(lambda: datagrams_received([answerer]) > before + 5, 5, "datagrams")
    finally:
        await offerer.close()
        await answerer.close()


class Clock:
    def __init__(self) -> None:
        self.heard_at = 100.0


def watch(clock: Clock, dead: list[str], pcs: list[RTCPeerConnection]) -> LivenessWatch:
    return LivenessWatch(lambda: clock.heard_at, lambda: pcs, dead.append)


def test_a_silent_server_and_silent_media_mean_a_dead_path() -> None:
    clock, dead = Clock(), list[str]()
    liveness = watch(clock, dead, [])
    assert not liveness.check(now=100.0)
    assert not liveness.check(now=101.5)  # a pong or two late: normal
    clock.heard_at = 101.8
    assert not liveness.check(now=103.9)  # the server spoke 2.1 s ago
    assert liveness.check(now=104.5)
    assert dead and "2.7 s" in dead[0]


async def test_media_still_flowing_keeps_a_session_with_a_slow_signal() -> None:
    offerer, answerer = await connected_pair()
    try:
        clock, dead = Clock(), list[str]()
        clock.heard_at = 0.0  # the signal has been silent for ages
        liveness = watch(clock, dead, [answerer])
        probe = offerer.createDataChannel("media-like")
        await wait_for(lambda: probe.readyState == "open", 5, "channel")
        loop = asyncio.get_running_loop()
        for _ in range(12):
            probe.send(b"frame" * 50)
            await asyncio.sleep(0.25)
            assert not liveness.check(now=loop.time() + 1000), "declared dead while media flows"
        assert dead == []
    finally:
        await offerer.close()
        await answerer.close()


async def test_waiting_for_a_reachable_server() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        assert await wait_reachable("127.0.0.1", port, deadline_s=2)
    finally:
        server.close()
    # Nothing listens there any more: refused, tried again, until the deadline.
    assert not await wait_reachable("127.0.0.1", port, deadline_s=0.6)


async def test_a_server_that_comes_back_is_noticed_within_a_tick() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waiter = asyncio.ensure_future(wait_reachable("127.0.0.1", port, stagger_s=0.1))
    await asyncio.sleep(0.5)
    assert not waiter.done()
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
    try:
        assert await asyncio.wait_for(waiter, 5)
    finally:
        server.close()


def test_endpoints_of_signal_urls() -> None:
    assert endpoint_of("wss://visio.example.gouv.fr") == ("visio.example.gouv.fr", 443)
    assert endpoint_of("ws://10.0.0.2:7880") == ("10.0.0.2", 7880)
    assert endpoint_of("https://h.example:8443/x") == ("h.example", 8443)
