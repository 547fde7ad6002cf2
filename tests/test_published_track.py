"""What our publications hand to aiortc's encoder."""

from __future__ import annotations

from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamTrack
from av.video.frame import PictureType, VideoFrame

from client.livekit.published_track import PublishedTrack
from client.media.test_sources import PatternSource, TestPatternTrack


class IntraMarkedTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, upstream: MediaStreamTrack) -> None:
        super().__init__()
        self.upstream = upstream

    async def recv(self) -> VideoFrame:
        frame = await self.upstream.recv()
        assert isinstance(frame, VideoFrame)
        frame.pict_type = PictureType.I
        return frame


def is_vp8_keyframe(payloads: list[bytes]) -> bool:
    # Payload descriptor: X bit set, then I with a 15-bit picture id (aiortc's layout):
    # 4 bytes, then the VP8 frame tag whose lowest bit is 0 on keyframes.
    first = payloads[0]
    return first[4] & 0x01 == 0


async def test_frames_from_ffmpeg_sources_are_not_all_encoded_as_keyframes() -> None:
    # A decoded MJPEG camera marks every frame as an intra picture (as FFmpeg's test
    # source does); passed on as is, aiortc would make each one a keyframe.
    track = PublishedTrack(IntraMarkedTrack(TestPatternTrack(width=320, height=180, fps=30)))
    encoder = Vp8Encoder()
    keyframes = 0
    try:
        for _ in range(30):
            frame = await track.recv()
            assert isinstance(frame, VideoFrame) and frame.pict_type == PictureType.NONE
            payloads, _ = encoder.encode(frame)
            keyframes += is_vp8_keyframe(payloads)
        frame = await track.recv()
        payloads, _ = encoder.encode(frame, force_keyframe=True)
        assert is_vp8_keyframe(payloads), "a keyframe the server asks for still comes"
    finally:
        track.upstream.stop()
        track.stop()
    assert keyframes == 1


def test_test_pattern_frames_do_not_ask_for_keyframes() -> None:
    assert PatternSource().next_frame().pict_type == PictureType.NONE
