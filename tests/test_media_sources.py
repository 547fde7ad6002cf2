"""Synthetic sources and the analysis helpers that read them back."""

from __future__ import annotations

import fractions
import time

import av
import numpy as np
import pytest
from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError

from client.media import frame_stamp
from client.media.audio_analysis import dominant_frequency, rms_dbfs, samples_of
from client.media.frame_stamp import FrameStamp
from client.media.test_sources import (
    PatternBackend,
    PatternSource,
    TestPatternTrack,
    ToneGenerator,
    ToneTrack,
    stamp_frame,
)
from client.media.video_analysis import luma_plane, read_stamp


async def _collect(track: TestPatternTrack, count: int) -> list[av.VideoFrame]:
    return [await track.recv() for _ in range(count)]


@pytest.mark.parametrize("backend", ["auto", "numpy"])
async def test_pattern_track_is_stamped_and_paced_at_30_fps(backend: PatternBackend) -> None:
    track = TestPatternTrack(backend=backend)
    assert track.kind == "video"
    started = time.monotonic()
    frames = await _collect(track, 31)
    elapsed = time.monotonic() - started

    # 30 frame intervals at 30 fps: one second, give or take scheduling.
    # Real-time pacing: never faster than the frame rate (the upper bound only
    # catches a stall; a loaded machine may run late).
    assert 0.9 < elapsed < 5.0
    assert track.frames_sent == 31
    for index, frame in enumerate(frames):
        assert (frame.width, frame.height, frame.format.name) == (640, 360, "yuv420p")
        assert frame.time_base == fractions.Fraction(1, 90_000)
        assert frame.pts == index * 3000
    stamps = [read_stamp(frame) for frame in frames]
    assert all(stamp is not None for stamp in stamps)
    counters = [stamp.counter for stamp in stamps if stamp is not None]
    times = [stamp.capture_time_ms for stamp in stamps if stamp is not None]
    assert counters == list(range(31))
    assert times == sorted(times)
    assert 900 < times[-1] - times[0] < 1300
    assert abs(times[-1] - time.time() * 1000) < 1000


async def test_pattern_moves() -> None:
    source = PatternSource()
    first, later = source.next_frame(), None
    for _ in range(10):
        later = source.next_frame()
    assert later is not None
    below_stamp = frame_stamp.stamp_height(640)
    a, b = luma_plane(first), luma_plane(later)
    assert a is not None and b is not None
    changed = np.mean(a[below_stamp:] != b[below_stamp:])
    assert changed > 0.01


def test_auto_backend_prefers_lavfi() -> None:
    # The av wheels ship libavfilter with testsrc2; if a build lacks it the
    # numpy fallback is used, which the other tests cover too.
    assert PatternSource(backend="auto").backend in ("lavfi", "numpy")
    assert PatternSource(backend="numpy").backend == "numpy"


async def test_stopped_tracks_raise() -> None:
    video, audio = TestPatternTrack(), ToneTrack()
    video.stop()
    audio.stop()
    with pytest.raises(MediaStreamError):
        await video.recv()
    with pytest.raises(MediaStreamError):
        await audio.recv()


async def test_pattern_stamps_survive_aiortc_vp8() -> None:
    track = TestPatternTrack()
    encoder, decoder = Vp8Encoder(), Vp8Decoder()
    decoded: list[FrameStamp | None] = []
    for _ in range(15):
        frame = await track.recv()
        payloads, timestamp = encoder.encode(frame)
        data = b"".join(vp8_depayload(payload) for payload in payloads)
        for out in decoder.decode(JitterFrame(data=data, timestamp=timestamp)):
            assert isinstance(out, av.VideoFrame)
            assert (out.width, out.height) == (640, 360)
            decoded.append(read_stamp(out))
    assert [stamp.counter if stamp else None for stamp in decoded] == list(range(15))


@pytest.mark.parametrize("pixel_format", ["yuv420p", "yuvj420p", "nv12", "yuv444p", "rgb24"])
def test_read_stamp_across_pixel_formats(pixel_format: str) -> None:
    # 642 wide so that rows are padded (line_size > width) in most formats.
    frame = av.VideoFrame(642, 362, "yuv420p")
    luma = luma_plane(frame)
    assert luma is not None
    luma[:] = 90
    stamp_frame(frame, 123_456, 1_700_000_000_123)
    converted = frame.reformat(format=pixel_format)
    assert read_stamp(converted) == FrameStamp(123_456, 1_700_000_000_123)


def test_read_stamp_absent() -> None:
    frame = av.VideoFrame(640, 360, "yuv420p")
    luma = luma_plane(frame)
    assert luma is not None
    luma[:] = 128
    assert read_stamp(frame) is None
    # A frame narrower than the stamp grid (a corrupt picture, a tiny layer).
    narrow = av.VideoFrame(8, 360, "yuv420p")
    assert read_stamp(narrow) is None


@pytest.mark.parametrize("frequency", [440.0, 660.0])
async def test_tone_track_frequency(frequency: float) -> None:
    track = ToneTrack(frequency)
    assert track.kind == "audio"
    started = time.monotonic()
    frames = [await track.recv() for _ in range(50)]
    elapsed = time.monotonic() - started
    # 49 intervals of 20 ms.
    # Real-time pacing: never faster than the frame rate (the upper bound only
    # catches a stall; a loaded machine may run late).
    assert 0.9 < elapsed < 5.0
    assert track.frames_sent == 50
    for index, frame in enumerate(frames):
        assert frame.format.name == "s16"
        assert frame.layout.name == "mono"
        assert frame.sample_rate == 48_000
        assert frame.samples == 960
        assert frame.pts == index * 960
        assert frame.time_base == fractions.Fraction(1, 48_000)
    pcm = np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames])
    assert abs(dominant_frequency(pcm, 48_000) - frequency) < 1.0
    # Amplitude 0.3: RMS 0.3/sqrt(2), about -13.5 dBFS.
    assert rms_dbfs(pcm) == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=0.1)
    # Phase-continuous: no step between samples larger than the sine's slope.
    max_step = 0.3 * 32767 * 2 * np.pi * frequency / 48_000
    assert np.max(np.abs(np.diff(pcm.astype(np.int32)))) <= max_step + 1


def test_tone_survives_aiortc_opus() -> None:
    generator = ToneGenerator(660.0)
    encoder, decoder = OpusEncoder(), OpusDecoder()
    decoded: list[np.ndarray] = []
    for _ in range(100):
        payloads, timestamp = encoder.encode(generator.next_frame())
        for payload in payloads:
            for frame in decoder.decode(JitterFrame(data=payload, timestamp=timestamp)):
                assert isinstance(frame, av.AudioFrame)
                # aiortc's Opus decoder outputs interleaved stereo s16.
                assert (frame.format.name, frame.layout.name) == ("s16", "stereo")
                decoded.append(samples_of(frame))
    # Skip the codec's start-up transient.
    signal = np.concatenate(decoded)[4800:]
    assert abs(dominant_frequency(signal, 48_000) - 660.0) < 1.0
    # aiortc upmixes mono to stereo with FFmpeg's resampler, which puts the
    # mono (centre) channel in each side at -3 dB: -13.5 dBFS becomes -16.5.
    expected = 20 * np.log10(0.3 / np.sqrt(2)) - 3.01
    assert rms_dbfs(signal) == pytest.approx(expected, abs=1.0)


def test_samples_of_s16_stereo_interleaved() -> None:
    left = np.array([1000, 2000, -3000, 32767], dtype=np.int16)
    right = np.array([3000, 0, -1000, 32767], dtype=np.int16)
    interleaved = np.stack([left, right], axis=1).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(interleaved, format="s16", layout="stereo")
    mono = samples_of(frame)
    assert mono.dtype == np.float32
    expected = (left.astype(np.float64) + right) / 2 / 32768
    np.testing.assert_allclose(mono, expected, atol=1e-6)


def test_samples_of_planar_and_mono() -> None:
    planar = np.array([[0.5, -0.5, 0.25], [0.1, 0.3, -0.25]], dtype=np.float32)
    frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout="stereo")
    np.testing.assert_allclose(samples_of(frame), [0.3, -0.1, 0.0], atol=1e-6)

    s16p = np.array([[16384, -16384], [0, 0]], dtype=np.int16)
    frame = av.AudioFrame.from_ndarray(s16p, format="s16p", layout="stereo")
    np.testing.assert_allclose(samples_of(frame), [0.25, -0.25], atol=1e-6)

    mono = np.array([[-32768, 0, 16384]], dtype=np.int16)
    frame = av.AudioFrame.from_ndarray(mono, format="s16", layout="mono")
    np.testing.assert_allclose(samples_of(frame), [-1.0, 0.0, 0.5], atol=1e-6)


def test_dominant_frequency_interleaved_and_float() -> None:
    rate = 48_000
    t = np.arange(rate) / rate
    tone = 0.5 * np.sin(2 * np.pi * 1234.5 * t)
    assert abs(dominant_frequency(tone, rate) - 1234.5) < 0.1
    stereo = np.stack([tone, tone], axis=1)
    assert abs(dominant_frequency(stereo.reshape(-1), rate, channels=2) - 1234.5) < 0.1
    assert abs(dominant_frequency(stereo, rate) - 1234.5) < 0.1
    pcm = np.rint(tone * 32767).astype(np.int16)
    assert abs(dominant_frequency(pcm, rate) - 1234.5) < 0.1
    assert dominant_frequency(np.zeros(rate), rate) == 0.0


def test_rms_dbfs() -> None:
    assert rms_dbfs(np.zeros(10)) == float("-inf")
    assert rms_dbfs(np.ones(10)) == pytest.approx(0.0)
    assert rms_dbfs(np.full(10, 16384, dtype=np.int16)) == pytest.approx(-6.02, abs=0.01)


@pytest.mark.parametrize("frequency", [440.0, 440.5, 997.0])
def test_tone_generator_is_an_exact_continuous_sine(frequency: float) -> None:
    # 440 and 997 Hz take the precomputed-loop path, 440.5 Hz the computed one:
    # both must match the ideal sine over several loop lengths.
    generator = ToneGenerator(frequency)
    pcm = np.concatenate([generator.next_frame().to_ndarray().reshape(-1) for _ in range(120)])
    n = np.arange(pcm.size)
    ideal = 0.3 * 32767 * np.sin(2 * np.pi * frequency * n / 48_000)
    assert np.max(np.abs(pcm - ideal)) <= 1.0
    assert abs(dominant_frequency(pcm, 48_000) - frequency) < 0.1
