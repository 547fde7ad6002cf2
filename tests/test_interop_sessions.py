"""Sessions that end under the room: each is closed, nothing is lost or leaked."""

from __future__ import annotations

import asyncio

from livekit import rtc

from bench.rejoin import drop_signal, join_and_publish, measure_rejoins, start_sdk_peer
from client.livekit.participant import TrackSource
from client.media.test_sources import ToneTrack
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.sdk_peers import stop_peers
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.our_client import OurClient
from tests.sdk_peer import SdkPeer


async def test_fifty_rejoins_close_every_session(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    """Each failed or replaced session is closed: after 50 rejoins only the current
    engine and its two PeerConnections are alive.  Memory is printed (the figure to
    watch is `python -m bench rejoin`, where the peer is in another process)."""
    peer = await asyncio.to_thread(
        start_sdk_peer, livekit_server.ws_url, token_factory("sdk", room_name)
    )
    try:
        room = await join_and_publish(livekit_server.ws_url, token_factory("ours", room_name))
        try:
            figures = await measure_rejoins(room, count=45, warmup=5)
            print(f"\n{figures}")
            assert room.engines_started == 51
            assert figures.engines_alive == 1
            assert figures.peer_connections_alive == 2

            # Still a working session: the peer's video and tone reach us.
            def receiving() -> bool:
                tracks = [
                    pub.track
                    for participant in room.remote_participants.values()
                    for pub in participant.track_publications.values()
                    if pub.track is not None
                ]
                return len(tracks) == 2 and all(t.frames_received > 5 for t in tracks)

            await wait_for(receiving, 10, "media from the peer after the rejoins")
        finally:
            await room.disconnect()
    finally:
        await asyncio.to_thread(stop_peers, peer)


def sdk_tracks_from(peer: SdkPeer, identity: str, kind: int) -> list[str]:
    participant = peer.room.remote_participants.get(identity)
    if participant is None:
        return []
    return [
        sid
        for sid, publication in participant.track_publications.items()
        if publication.kind == kind and publication.subscribed
    ]


async def test_publish_survives_its_session_ending(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    """The session ends while publish_track waits for the server: the caller is not
    cancelled, and the track is published on the next session."""
    ours = OurClient(livekit_server.ws_url, token_factory("ours", room_name))
    peer = SdkPeer(livekit_server.ws_url, token_factory("sdk", room_name))
    await ours.connect()
    await peer.connect()
    try:
        publishing = asyncio.ensure_future(
            ours.room.publish_track(ToneTrack(440.0), TrackSource.MICROPHONE)
        )
        await asyncio.sleep(0)  # the AddTrackRequest is on its way
        await drop_signal(ours.room)
        publication = await asyncio.wait_for(publishing, 30)
        assert publication.sid
        assert ours.room.reconnect_count == 1
        assert ours.room.local_participant.track_publications == {publication.sid: publication}
        await wait_for(
            lambda: len(sdk_tracks_from(peer, "ours", rtc.TrackKind.KIND_AUDIO)) == 1,
            10,
            "the peer to receive the track",
        )
    finally:
        await peer.close()
        await ours.close()
