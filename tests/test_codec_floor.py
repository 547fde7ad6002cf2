"""The codec floor: measured quickly, and faithful to aiortc's codec settings."""

from __future__ import annotations

import av
import pytest
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload

from bench.codec_floor import (
    CodecFloor,
    OpusEncodePath,
    make_vp8_encoder,
    measure_codec_floor,
    measure_codec_floor_isolated,
)
from client.media.test_sources import (
    VIDEO_TIME_BASE,
    PatternSource,
    ToneGenerator,
    stamp_frame,
)


def _check_counts(floor: CodecFloor, publish: int, receive: int, seconds: float) -> None:
    assert floor.frames_encoded == round(30 * seconds) * publish
    assert floor.frames_decoded == round(30 * seconds) * receive
    assert floor.audio_frames_encoded == round(50 * seconds) * publish
    # Opus may hold back a packet or two at the start; nothing more.
    assert round(50 * seconds) * receive - 2 * receive <= floor.audio_frames_decoded
    assert floor.audio_frames_decoded <= round(50 * seconds) * receive


def test_measure_codec_floor_one_second() -> None:
    floor = measure_codec_floor(publish_streams=1, receive_streams=3, seconds=1.0)
    _check_counts(floor, 1, 3, 1.0)
    assert floor.encode_cpu_seconds > 0
    assert floor.decode_cpu_seconds > 0
    assert floor.audio_encode_cpu_seconds > 0
    assert floor.audio_decode_cpu_seconds > 0
    total = (
        floor.encode_cpu_seconds
        + floor.decode_cpu_seconds
        + floor.audio_encode_cpu_seconds
        + floor.audio_decode_cpu_seconds
    )
    assert floor.cpu_seconds == pytest.approx(total)
    assert floor.cpu_percent == pytest.approx(floor.cpu_seconds / 1.0 * 100)
    assert floor.video_bitrate_bps > 100_000
    assert floor.wall_seconds > 0


def test_receive_only_and_no_audio() -> None:
    floor = measure_codec_floor(
        publish_streams=0, receive_streams=2, seconds=0.5, audio=False, receive_bitrate=800_000
    )
    assert floor.frames_encoded == 0
    assert floor.encode_cpu_seconds == 0
    assert floor.frames_decoded == 2 * 15
    assert floor.decode_cpu_seconds > 0
    assert floor.audio_frames_encoded == floor.audio_frames_decoded == 0
    assert floor.cpu_seconds == pytest.approx(floor.decode_cpu_seconds)


def test_isolated_measurement() -> None:
    floor = measure_codec_floor_isolated(publish_streams=1, receive_streams=1, seconds=0.5)
    _check_counts(floor, 1, 1, 0.5)
    assert floor.cpu_seconds > 0


def test_vp8_encoder_matches_aiortc_byte_for_byte() -> None:
    # Identical bitstreams prove the floor uses aiortc's exact encoder settings.
    source = PatternSource()
    ours = make_vp8_encoder(640, 360)
    theirs = Vp8Encoder()
    for index in range(20):
        frame = source.next_frame()
        frame.pts = index * 3000
        frame.time_base = VIDEO_TIME_BASE
        stamp_frame(frame, index, 1_700_000_000_000 + index * 33)
        payloads, _ = theirs.encode(frame)
        expected = b"".join(vp8_depayload(payload) for payload in payloads)
        assert b"".join(bytes(packet) for packet in ours.encode(frame)) == expected
    assert theirs.codec is not None
    assert ours.thread_count == theirs.codec.thread_count
    assert ours.bit_rate == theirs.codec.bit_rate


def test_opus_encoder_matches_aiortc_byte_for_byte() -> None:
    generator = ToneGenerator(440.0)
    ours, theirs = OpusEncodePath(), OpusEncoder()
    for _ in range(20):
        frame = generator.next_frame()
        payloads, _ = theirs.encode(frame)
        assert [payload for payload, _ in ours.encode(frame)] == payloads
    assert isinstance(ours.codec, av.AudioCodecContext)
