"""Replay peers: pre-encoded camera-like VP8 loops sent in real time through our core."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import av

from client.livekit.published_track import PublishedTrack
from client.media.frame_stamp import FrameStamp
from client.media.video_analysis import read_stamp
from devtools.reception import receiver_stats
from devtools.replay_peers import (
    VideoLoopSpec,
    encode_video_loop,
    replay_video_track,
    start_replay_peers,
    video_loop,
)
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.sdk_peers import stop_peers
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.our_client import OurClient

FPS = 15
LOOP_S = 2.0
KEYFRAME_S = 1.0
SPEC = VideoLoopSpec(
    seed=3, chroma=110, fps=FPS, bitrate=500_000, seconds=LOOP_S, keyframe_interval_s=KEYFRAME_S
)


def test_a_loop_starts_on_a_keyframe_and_decodes_twice_in_a_row() -> None:
    loop = encode_video_loop(SPEC)
    assert len(loop.frames) == SPEC.frames == 30
    assert [i for i, key in enumerate(loop.keyframes) if key] == [0, 15]
    # About the bitrate asked for: a camera's, not a still picture's.
    assert 0.6 * SPEC.bitrate <= loop.bitrate <= 1.3 * SPEC.bitrate
    decoder = av.CodecContext.create("libvpx", "r")
    stamps: list[FrameStamp | None] = []
    # Played twice as the replay does: the jump back to the start must decode.
    for data in loop.frames * 2:
        for frame in decoder.decode(av.Packet(data)):
            assert isinstance(frame, av.VideoFrame)
            assert (frame.width, frame.height) == (640, 360)
            stamps.append(read_stamp(frame))
    assert len(stamps) == 60
    assert [s.counter if s else None for s in stamps] == list(range(30)) * 2
    assert stamps[15] == FrameStamp(15, 1000)


def test_loops_are_cached_by_their_parameters(tmp_path: Path) -> None:
    first = video_loop(SPEC, tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1
    modified = files[0].stat().st_mtime_ns
    assert video_loop(SPEC, tmp_path) == first
    assert files[0].stat().st_mtime_ns == modified  # read back, not encoded again
    other = VideoLoopSpec(**{**SPEC.__dict__, "bitrate": 300_000})
    assert video_loop(other, tmp_path) != first
    assert len(list(tmp_path.iterdir())) == 2


async def test_after_a_pause_encoded_video_resumes_on_a_keyframe() -> None:
    loop = video_loop(SPEC)
    upstream = replay_video_track(loop)
    sending = PublishedTrack(upstream)
    first = await sending.recv()
    assert isinstance(first, av.Packet) and first.is_keyframe
    for _ in range(3):
        packet = await sending.recv()
        assert isinstance(packet, av.Packet) and not packet.is_keyframe
    # Nobody receives it for a moment (dynacast), then someone does again: what the
    # receivers get next must not reference the frames held back.
    sending.unwanted = True
    resumed = asyncio.create_task(sending.recv())
    await asyncio.sleep(0.3)
    sending.unwanted = False
    packet = await asyncio.wait_for(resumed, 5)
    assert isinstance(packet, av.Packet) and packet.is_keyframe
    assert upstream.sent - 1 == 15  # the loop's second keyframe, not a frame before
    assert packet.pts is not None and first.pts is not None and packet.pts > first.pts
    sending.detach()
    upstream.stop()


async def test_we_receive_replayed_streams_at_their_rate_across_loops(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    identities = ["replay-0", "replay-1"]
    tokens = [token_factory(identity, room_name) for identity in identities]
    peers = await asyncio.to_thread(
        start_replay_peers,
        livekit_server.ws_url,
        tokens,
        FPS,
        max_bitrate=500_000,
        loop_seconds=LOOP_S,
        keyframe_interval_s=KEYFRAME_S,
    )
    ours = OurClient(livekit_server.ws_url, token_factory("ours", room_name))
    try:
        await ours.connect()
        await wait_for(
            lambda: all(
                ours.probe_of(i, "video") is not None and ours.probe_of(i, "audio") is not None
                for i in identities
            ),
            20,
            "both peers' tracks",
        )
        await wait_for(
            lambda: all(len(p.stamps) > 0 for i in identities if (p := ours.probe_of(i, "video"))),
            10,
            "video from both peers",
        )
        starts = {i: len(probe.stamps) for i in identities if (probe := ours.probe_of(i, "video"))}
        began = time.monotonic()
        # Two and a half loops.
        await asyncio.sleep(2.5 * LOOP_S)
        elapsed = time.monotonic() - began
        for identity, tone in zip(identities, (300.0, 410.0), strict=True):
            video, audio = ours.probe_of(identity, "video"), ours.probe_of(identity, "audio")
            assert video is not None and audio is not None
            stamps = [s for _, s in video.stamps[starts[identity] :]]
            rate = len(stamps) / elapsed
            assert 0.6 * FPS <= rate <= 1.3 * FPS, f"{identity}: {rate:.1f} fps"
            counters = [s.counter for s in stamps]
            wraps = [k for k, (a, b) in enumerate(itertools.pairwise(counters)) if b <= a]
            # Each jump back is the loop's end to its start, and frames go on after it.
            assert len(wraps) >= 2, counters
            assert all(counters[k] >= 25 and counters[k + 1] <= 3 for k in wraps), counters
            assert len(counters) - (wraps[0] + 1) > SPEC.frames, counters
            stats = receiver_stats(ours.room, video.track)
            assert stats is not None
            assert stats.video_decode_failures == 0
            assert abs(audio.frequency() - tone) <= 5, f"{identity}: {audio.frequency():.1f} Hz"
    finally:
        await ours.close()
        await asyncio.to_thread(stop_peers, peers)
