"""Server crash and restart; refused tokens; unreachable or malformed addresses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from livekit import api

from client.livekit import errors
from client.livekit import events as ev
from client.livekit.room import Room, RoomOptions
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.sandbox.tokens import mint_token
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.our_client import OurClient
from tests.sdk_peer import SdkPeer


@pytest.fixture
def crash_server(livekit_server: LiveKitServer) -> Iterator[LiveKitServer]:
    """A server of this test's own, on other ports, that it may kill."""
    server = LiveKitServer(port=7980, rtc_tcp_port=7981, rtc_udp_port=7982, turn_udp_port=3578)
    server.start()
    try:
        yield server
    finally:
        server.close()


async def participants(server: LiveKitServer, room: str) -> dict[str, int]:
    """Identity → number of published tracks, as the server sees it."""
    lkapi = api.LiveKitAPI(server.http_url, server.api_key, server.api_secret)
    try:
        response = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
        return {p.identity: len(p.tracks) for p in response.participants}
    finally:
        await lkapi.aclose()


async def wait_published(server: LiveKitServer, room: str, identity: str, count: int) -> None:
    deadline = time.monotonic() + 10
    while (await participants(server, room)).get(identity) != count:
        assert time.monotonic() < deadline, f"{identity} never had {count} tracks on the server"
        await asyncio.sleep(0.1)


async def test_server_killed_and_restarted_mid_call(crash_server: LiveKitServer) -> None:
    room = "crash"

    def token(identity: str) -> str:
        return mint_token(
            crash_server.api_key, crash_server.api_secret, identity=identity, room=room
        )

    ours = OurClient(crash_server.ws_url, token("ours"))
    await ours.connect()
    await ours.publish_pattern()
    await ours.publish_tone()
    await wait_published(crash_server, room, "ours", 2)

    crash_server.kill()
    await wait_for(
        lambda: ours.room.state == ev.ConnectionState.RECONNECTING, 20, "reconnecting state"
    )
    await asyncio.sleep(2.0)
    crash_server.restart()
    await wait_for(lambda: ours.room.state == ev.ConnectionState.CONNECTED, 30, "rejoin")
    assert ours.events_of(ev.Reconnecting) and ours.events_of(ev.Reconnected)
    assert len(ours.room.local_participant.track_publications) == 2
    await wait_published(crash_server, room, "ours", 2)

    # Media flows again: a fresh peer receives our republished video.
    peer = SdkPeer(crash_server.ws_url, token("sdk"))
    await peer.connect()
    try:
        video_sid = next(
            p.sid
            for p in ours.room.local_participant.track_publications.values()
            if p.kind == "video"
        )
        await wait_for(
            lambda: video_sid in peer.video and len(peer.video[video_sid].stamps) > 10,
            10,
            "frames after the restart",
        )
    finally:
        await peer.close()
        await ours.close()


async def test_participants_that_left_during_the_outage_are_removed(
    crash_server: LiveKitServer,
) -> None:
    room = "outage"

    def token(identity: str) -> str:
        return mint_token(
            crash_server.api_key, crash_server.api_secret, identity=identity, room=room
        )

    ours = OurClient(crash_server.ws_url, token("ours"))
    await ours.connect()
    # Another of our clients plays the one who leaves: it must not reconnect.
    other = Room(RoomOptions(ice_servers=[], reconnect=False))
    await other.connect(crash_server.ws_url, token("other"))
    await wait_for(lambda: "other" in ours.room.remote_participants, 5, "other joined")
    crash_server.kill()
    await wait_for(lambda: other.state == ev.ConnectionState.DISCONNECTED, 20, "other gives up")
    crash_server.restart()
    await wait_for(lambda: ours.room.state == ev.ConnectionState.CONNECTED, 30, "rejoin")
    assert "other" not in ours.room.remote_participants
    left = [e.participant.identity for e in ours.events_of(ev.ParticipantDisconnected)]  # type: ignore[attr-defined]
    assert left == ["other"]
    await ours.close()


async def _expect_error(url: str, token: str, kind: type[errors.ConnectError]) -> str:
    room = Room(RoomOptions(ice_servers=[]))
    start = time.monotonic()
    with pytest.raises(kind) as caught:
        await room.connect(url, token)
    assert time.monotonic() - start < 10
    assert room.state == ev.ConnectionState.DISCONNECTED
    message = str(caught.value)
    assert token not in message
    return message


async def test_expired_token(livekit_server: LiveKitServer, room_name: str) -> None:
    token = mint_token(
        livekit_server.api_key,
        livekit_server.api_secret,
        identity="late",
        room=room_name,
        ttl_s=-120,
    )
    message = await _expect_error(livekit_server.ws_url, token, errors.TokenExpiredError)
    assert "expired" in message


async def test_wrong_secret(livekit_server: LiveKitServer, room_name: str) -> None:
    token = mint_token(livekit_server.api_key, "x" * 40, identity="forger", room=room_name)
    await _expect_error(livekit_server.ws_url, token, errors.TokenInvalidError)


async def test_no_room_join_grant(
    token_factory: TokenFactory, livekit_server: LiveKitServer, room_name: str
) -> None:
    token = token_factory("nojoin", room_name, room_join=False)
    await _expect_error(livekit_server.ws_url, token, errors.PermissionDeniedError)


async def test_unreachable_server(token_factory: TokenFactory, room_name: str) -> None:
    token = token_factory("lost", room_name)
    await _expect_error("ws://10.77.0.2:7999", token, errors.ServerUnreachableError)


@pytest.mark.parametrize("url", ["", "visio.example", "ftp://host", "ws://", "ws://h:99999"])
async def test_malformed_url(url: str) -> None:
    await _expect_error(url, "token", errors.InvalidUrlError)


async def test_a_failed_peer_connection_triggers_a_rejoin(
    ours_and_sdk: tuple[OurClient, SdkPeer],
) -> None:
    ours, peer = ours_and_sdk
    await peer.publish_video()
    await wait_for(lambda: ours.probe_of("sdk", "video") is not None, 10, "first video")
    engine = ours.room.engine
    assert engine is not None and engine.subscriber is not None
    # The subscriber PeerConnection dies under us (as on a network change).
    await engine.subscriber.pc.close()
    await wait_for(lambda: bool(ours.events_of(ev.Reconnected)), 15, "rejoin")
    await wait_for(
        lambda: (probe := ours.probe_of("sdk", "video")) is not None and probe.frames > 10,
        10,
        "video after the rejoin",
    )
