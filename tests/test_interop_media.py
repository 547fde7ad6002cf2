"""Media both ways between our client and the official LiveKit SDK, on a real server."""

from __future__ import annotations

import asyncio
import itertools

from devtools.waiting import wait_for
from tests.our_client import OurClient
from tests.sdk_peer import SdkPeer, video_fps


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
