"""Tracks and participants coming and going; mute; leave; many parties."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc import rtcrtpsender
from livekit import api

from client.livekit import events as ev
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.our_client import OurClient
from tests.sdk_peer import SdkPeer

KEYFRAME_REQUESTS: dict[int, int] = {}


@pytest.fixture
def count_keyframe_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count the keyframes the server asks each of our senders for (diagnostics)."""
    original = rtcrtpsender.RTCRtpSender._send_keyframe

    def counting(self: rtcrtpsender.RTCRtpSender) -> None:
        KEYFRAME_REQUESTS[id(self)] = KEYFRAME_REQUESTS.get(id(self), 0) + 1
        original(self)

    monkeypatch.setattr(rtcrtpsender.RTCRtpSender, "_send_keyframe", counting)


def fresh_frames(ours: OurClient, identity: str, since_counter: int = -1) -> bool:
    probe = ours.probe_of(identity, "video")
    return probe is not None and any(s.counter > since_counter for _, s in probe.stamps[-5:])


async def test_republish_ten_times_and_third_party_five_times(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    ours = OurClient(livekit_server.ws_url, token_factory("ours", room_name))
    peer = SdkPeer(livekit_server.ws_url, token_factory("sdk", room_name))
    await ours.connect()
    await peer.connect()
    delays: list[float] = []
    try:
        for _ in range(10):
            publication = await peer.publish_video()
            delays.append(
                await wait_for(
                    lambda sid=publication.sid: (
                        sid in ours.probes and len(ours.probes[sid].stamps) > 0
                    ),
                    3,
                    "frames from the republished camera",
                )
            )
            await peer.unpublish(publication.sid)
            await wait_for(
                lambda sid=publication.sid: ours.room.publication_by_track_sid(sid) is None,
                3,
                "unpublication",
            )
        for round_ in range(5):
            third = SdkPeer(livekit_server.ws_url, token_factory(f"third-{round_}", room_name))
            await third.connect()
            publication = await third.publish_video()
            delays.append(
                await wait_for(
                    lambda sid=publication.sid: (
                        sid in ours.probes and len(ours.probes[sid].stamps) > 0
                    ),
                    3,
                    "frames from the third participant",
                )
            )
            await third.close()
            await wait_for(
                lambda r=round_: f"third-{r}" not in ours.room.remote_participants,
                5,
                "third participant leaving",
            )
        assert len(delays) == 15
    finally:
        await peer.close()
        await ours.close()


async def test_mute_both_ways(
    ours_and_sdk: tuple[OurClient, SdkPeer],
) -> None:
    ours, peer = ours_and_sdk
    ours_mic = await ours.publish_tone(440.0)
    peer_mic = await peer.publish_tone(660.0)
    await wait_for(lambda: ours.probe_of("sdk", "audio") is not None, 10, "peer audio")

    def peer_sees_ours_muted(muted: bool) -> bool:
        remote = peer.room.remote_participants.get("ours")
        if remote is None:
            return False
        publication = remote.track_publications.get(ours_mic.sid)
        return publication is not None and publication.muted == muted

    await ours.room.set_muted(ours_mic, True)
    await wait_for(lambda: peer_sees_ours_muted(True), 3, "peer sees our mute")
    await ours.room.set_muted(ours_mic, False)
    await wait_for(lambda: peer_sees_ours_muted(False), 3, "peer sees our unmute")

    def ours_sees_peer_muted(muted: bool) -> bool:
        found = ours.room.publication_by_track_sid(peer_mic.sid)
        return found is not None and found[1].muted == muted

    peer_mic.track.mute()
    await wait_for(lambda: ours_sees_peer_muted(True), 3, "we see the peer's mute")
    peer_mic.track.unmute()
    await wait_for(lambda: ours_sees_peer_muted(False), 3, "we see the peer's unmute")
    kinds = [type(e) for e in ours.events if isinstance(e, ev.TrackMuted | ev.TrackUnmuted)]
    assert kinds == [ev.TrackMuted, ev.TrackUnmuted, ev.TrackMuted, ev.TrackUnmuted]


async def test_leaving_removes_us_from_the_server_quickly(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    ours = OurClient(livekit_server.ws_url, token_factory("ours", room_name))
    await ours.connect()
    await ours.publish_tone()
    lkapi = api.LiveKitAPI(
        livekit_server.http_url, livekit_server.api_key, livekit_server.api_secret
    )
    try:

        async def identities() -> set[str]:
            response = await lkapi.room.list_participants(
                api.ListParticipantsRequest(room=room_name)
            )
            return {p.identity for p in response.participants}

        assert "ours" in await identities()
        left_at = time.monotonic()
        await ours.close()
        while "ours" in await identities():
            assert time.monotonic() - left_at < 2.0, "still in the room 2 s after leaving"
            await asyncio.sleep(0.05)
    finally:
        await lkapi.aclose()


async def test_four_parties_all_receive_each_other(
    livekit_server: LiveKitServer,
    token_factory: TokenFactory,
    room_name: str,
    count_keyframe_requests: None,
) -> None:
    ours = [
        OurClient(livekit_server.ws_url, token_factory(f"ours-{i}", room_name)) for i in range(3)
    ]
    peer = SdkPeer(livekit_server.ws_url, token_factory("sdk", room_name))
    for client in ours:
        await client.connect()
        await client.publish_pattern()
    await peer.connect()
    await peer.publish_video()
    identities = [c.room.local_participant.identity for c in ours] + ["sdk"]
    try:
        for client in ours:
            me = client.room.local_participant.identity
            for other in identities:
                if other != me:
                    await wait_for(
                        lambda c=client, o=other: fresh_frames(c, o), 15, f"{me} ← {other}"
                    )
        for client in ours:
            sid = next(iter(client.room.local_participant.track_publications))
            try:
                await wait_for(
                    lambda s=sid: s in peer.video and len(peer.video[s].stamps) > 0,
                    15,
                    f"sdk ← {client.room.local_participant.identity}",
                )
            except AssertionError as failure:
                record = peer.video.get(sid)
                decoded = (
                    f"{record.frames} (stream reopened {record.stream_restarts} times)"
                    if record
                    else "no"
                )
                publication = client.room.local_participant.track_publications[sid]
                sender = publication.transceiver.sender if publication.transceiver else None
                stats = await sender.getStats() if sender else None
                sent = [
                    getattr(s, "packetsSent", None)
                    for s in (stats.values() if stats else ())
                    if s.type == "outbound-rtp"
                ]
                raise AssertionError(
                    f"{failure} ({decoded} frames decoded; packets sent {sent}; "
                    f"keyframe requests {KEYFRAME_REQUESTS.get(id(sender), 0)}; "
                    f"SDK: {await peer.receive_report(sid)}); server log about it:\n"
                    + "\n".join(
                        line[:400]
                        for line in livekit_server.log_path.read_text(errors="replace").splitlines()
                        if sid in line
                    )[-6000:]
                ) from None
    finally:
        await peer.close()
        for client in ours:
            await client.close()
