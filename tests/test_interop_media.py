"""Media both ways between our client and the official LiveKit SDK, on a real server."""

from __future__ import annotations

import asyncio
import itertools

from devtools.waiting import wait_for
from tests.our_client import OurClient
from tests.sdk_peer import ReceivedVideo, SdkPeer, video_fps

ReceivedNothing = ReceivedVideo()


async def test_sdk_peer_receives_our_video_and_tone(
    ours_and_sdk: tuple[OurClient, SdkPeer],
) -> None:
    ours, peer = ours_and_sdk
    video = await ours.publish_pattern()
    audio = await ours.publish_tone(440.0)
    await wait_for(lambda: video.sid in peer.video and audio.sid in peer.audio, 10, "tracks")
    await asyncio.sleep(6.0)
    fps, increasing = video_fps(peer.video[video.sid], 5.0)
    assert fps >= 25, f"SDK peer received {fps:.1f} fps"
    assert increasing, "frame counters went backwards"
    frequency = peer.audio_frequency(audio.sid)
    assert abs(frequency - 440.0) <= 5, f"tone measured at {frequency:.1f} Hz"


async def test_we_receive_sdk_vp8_video_and_tone(
    ours_and_sdk: tuple[OurClient, SdkPeer],
) -> None:
    ours, peer = ours_and_sdk
    await peer.publish_video()
    await peer.publish_tone(660.0)
    await wait_for(
        lambda: (
            ours.probe_of("sdk", "video") is not None and ours.probe_of("sdk", "audio") is not None
        ),
        10,
        "subscriptions",
    )
    await asyncio.sleep(5.0)
    video = ours.probe_of("sdk", "video")
    audio = ours.probe_of("sdk", "audio")
    assert video is not None and audio is not None
    counters = [s.counter for _, s in video.stamps[-100:]]
    assert len(counters) >= 60, f"only {len(counters)} stamped frames decoded"
    assert all(b > a for a, b in itertools.pairwise(counters))
    frequency = audio.frequency()
    assert abs(frequency - 660.0) <= 5, f"tone measured at {frequency:.1f} Hz"
    publication = ours.room.remote_participants["sdk"].track_publications
    assert any(p.mime_type.lower() == "video/vp8" for p in publication.values())


async def packets_sent(ours: OurClient, sid: str) -> int:
    publication = ours.room.local_participant.track_publications[sid]
    assert publication.transceiver is not None
    stats = await publication.transceiver.sender.getStats()
    return sum(
        int(getattr(s, "packetsSent", 0)) for s in stats.values() if s.type == "outbound-rtp"
    )


async def test_video_nobody_receives_is_not_encoded(
    ours_and_sdk: tuple[OurClient, SdkPeer],
) -> None:
    """Dynacast: the server's subscribed-quality updates pause and resume our sender."""
    ours, peer = ours_and_sdk
    video = await ours.publish_pattern()
    await wait_for(lambda: len(peer.video.get(video.sid, ReceivedNothing).stamps) > 0, 10, "video")
    remote = peer.room.remote_participants["ours"].track_publications[video.sid]
    remote.set_subscribed(False)
    publication = ours.room.local_participant.track_publications[video.sid]
    await wait_for(
        lambda: publication.sending is not None and publication.sending.unwanted,
        15,
        "our sender paused",
    )
    paused_at = await packets_sent(ours, video.sid)
    await asyncio.sleep(1.5)
    # A frame already in the encoder may still leave; a running camera sends ~60 packets/s.
    assert await packets_sent(ours, video.sid) - paused_at < 10
    received = len(peer.video[video.sid].stamps)
    remote.set_subscribed(True)
    await wait_for(
        lambda: publication.sending is not None and not publication.sending.unwanted,
        15,
        "our sender resumed",
    )
    await wait_for(
        lambda: any(len(r.stamps) > received for r in peer.video.values()), 10, "video again"
    )
