"""How a screen share is encoded (``client.livekit.screen_encoding``), on real libvpx:
the bitrate a share is given, the frame rate going down before detail when the
network asks for less, and the hook that gives a share's sender this encoder."""

from __future__ import annotations

import fractions

import av
import numpy as np
from aiortc.codecs.vpx import vp8_depayload

from client.livekit import screen_encoding
from client.livekit.published_track import PublishedTrack
from client.livekit.screen_encoding import (
    MIN_FPS,
    ScreenContentEncoder,
    ScreenEncoding,
    share_bitrate,
)
from client.media.camera import LatestFrameTrack
from client.media.screen_capture import ScreenShareTrack


def test_a_share_is_given_a_bitrate_for_its_size_and_frame_rate() -> None:
    assert share_bitrate(1920, 1080, 15) == 2_500_000
    assert 2_000_000 <= share_bitrate(1920, 1080, 10) < 2_500_000
    assert 1_200_000 <= share_bitrate(1280, 720, 15) <= 1_500_000
    assert share_bitrate(1920, 1080, 5) < share_bitrate(1920, 1080, 10)
    assert share_bitrate(400, 300, 10) == screen_encoding.MIN_SHARE_BITRATE
    encoding = ScreenEncoding.for_share(1920, 1080, 15)
    assert (encoding.width, encoding.height, encoding.max_fps) == (1920, 1080, 15)


def test_less_bitrate_lowers_the_frame_rate_first() -> None:
    encoding = ScreenEncoding.for_share(1920, 1080, 15)
    assert encoding.fps_for(encoding.bitrate * 2) == 15
    assert encoding.fps_for(encoding.bitrate // 2) == 7.5
    assert encoding.fps_for(encoding.bitrate // 10) == MIN_FPS


def _frames(width: int, height: int, count: int, fps: float) -> list[av.VideoFrame]:
    """A still picture of fine vertical stripes (one-pixel strokes), at ``fps``."""
    picture = np.full((height, width, 3), 255, np.uint8)
    picture[:, ::3] = 0
    frames = []
    for index in range(count):
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts = round(index * 90_000 / fps)
        frame.time_base = fractions.Fraction(1, 90_000)
        frames.append(frame)
    return frames


def test_the_encoder_keeps_its_size_and_drops_frames_when_asked_for_less() -> None:
    now = [0.0]
    encoding = ScreenEncoding.for_share(640, 360, 15)
    encoder = ScreenContentEncoder(encoding, clock=lambda: now[0])
    decoder = av.CodecContext.create("libvpx", "r")
    sizes: set[tuple[int, int]] = set()

    def send(frames: list[av.VideoFrame]) -> int:
        sent = 0
        for frame in frames:
            payloads, _timestamp = encoder.encode(frame)
            if payloads:
                sent += 1
                data = b"".join(vp8_depayload(payload) for payload in payloads)
                sizes.update((f.width, f.height) for f in decoder.decode(av.Packet(data)))
        return sent

    frames = _frames(640, 360, 60, 15)
    assert send(frames[:30]) == 30  # two seconds at 15 fps: every frame sent
    assert encoder.codec is not None and encoder.codec.bit_rate == encoding.bitrate
    # The server's estimate (REMB) halves: a higher target is not followed, a lower
    # one is, once the encoder may be reopened.
    encoder.target_bitrate = 10 * encoding.bitrate
    assert encoder.target_bitrate == encoding.bitrate
    encoder.target_bitrate = encoding.bitrate // 2
    now[0] += screen_encoding.REOPEN_INTERVAL_S
    sent = send(frames[30:])
    assert encoder.codec.bit_rate == encoding.bitrate // 2
    assert encoder.fps == 7.5
    assert 13 <= sent <= 17, sent  # two seconds at 7.5 fps
    assert sizes == {(640, 360)}  # never smaller
    encoder.target_bitrate = 1
    assert encoder.target_bitrate == encoding.min_bitrate


def test_a_share_s_publication_carries_its_encoding() -> None:
    assert screen_encoding.internals_available()
    encoding = ScreenEncoding.for_share(1280, 720, 10)
    assert PublishedTrack(ScreenShareTrack(encoding)).encoding == encoding
    assert PublishedTrack(LatestFrameTrack()).encoding is None
