"""Synthetic media sources for the demo, the tests and the benchmark.

Video is a moving test pattern carrying a :mod:`frame_stamp` (counter + capture
time) so the far side can measure frame rate, ordering and latency; audio is a
pure tone whose pitch the far side can check.  Both are paced in real time like
aiortc's own dummy tracks, so they behave like a camera and a microphone.

The benchmark compares the client's CPU use against the bare codec cost, so the
sources are built to be cheap: FFmpeg's ``testsrc2`` draws straight into
yuv420p (no colour conversion) and the stamp is drawn in place.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from typing import Literal

import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.frame import PictureType

from client.media import frame_stamp
from client.media.frame_stamp import FrameStamp
from client.media.video_analysis import luma_plane, plane_rows

VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)

AUDIO_SAMPLE_RATE = 48_000
AUDIO_SAMPLES_PER_FRAME = 960  # 20 ms, the Opus frame size WebRTC uses.
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_SAMPLE_RATE)

PatternBackend = Literal["auto", "lavfi", "numpy"]


class PatternSource:
    """Produces moving test-pattern frames on demand, as fast as asked.

    ``backend="lavfi"`` uses FFmpeg's ``testsrc2`` filter (through PyAV's filter
    graph, no libavdevice needed); ``"numpy"`` scrolls a precomputed stripe
    texture; ``"auto"`` prefers lavfi and falls back to numpy when the FFmpeg
    build lacks the filter.  Frames are yuv420p, writable and unstamped; the
    caller sets their pts and time base.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 360,
        fps: float = 30,
        *,
        backend: PatternBackend = "auto",
    ) -> None:
        if width < 2 or height < 2 or fps <= 0:
            raise ValueError(f"bad pattern geometry {width}x{height}@{fps}")
        self.width = width
        self.height = height
        self.fps = fps
        self._graph: av.filter.Graph | None = None
        self._texture: npt.NDArray[np.uint8] | None = None
        self._chroma: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]] | None = None
        self._index = 0
        if backend in ("auto", "lavfi"):
            try:
                self._graph = self._build_graph()
            except (av.FFmpegError, ValueError):
                if backend == "lavfi":
                    raise
        if self._graph is None:
            self._build_numpy_pattern()
        self.backend: Literal["lavfi", "numpy"] = "lavfi" if self._graph is not None else "numpy"

    def _build_graph(self) -> av.filter.Graph:
        rate = fractions.Fraction(self.fps).limit_denominator(1001)
        graph = av.filter.Graph()
        source = graph.add("testsrc2", f"size={self.width}x{self.height}:rate={rate}")
        # testsrc2 can draw yuv420p natively; pinning the format here makes
        # FFmpeg negotiate it instead of inserting a scaler.
        pixel_format = graph.add("format", "pix_fmts=yuv420p")
        sink = graph.add("buffersink")
        source.link_to(pixel_format)
        pixel_format.link_to(sink)
        graph.configure()
        return graph

    def _build_numpy_pattern(self) -> None:
        # Diagonal stripes over a vertical gradient, wider than the frame by one
        # stripe period so that scrolling is a plain slice of a precomputed
        # texture (one memcpy per frame, no per-frame maths).
        period = 64
        y = np.arange(self.height, dtype=np.float32)[:, None]
        x = np.arange(self.width + period, dtype=np.float32)[None, :]
        stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (x + y) / period)
        gradient = y / self.height
        luma = 16 + 219 * (0.6 * stripes + 0.4 * gradient)
        self._texture = luma.astype(np.uint8)
        chroma_width, chroma_height = (self.width + 1) // 2, (self.height + 1) // 2
        cx = np.linspace(64, 192, chroma_width, dtype=np.float32)[None, :]
        cy = np.linspace(64, 192, chroma_height, dtype=np.float32)[:, None]
        u = np.broadcast_to(cx, (chroma_height, chroma_width)).astype(np.uint8)
        v = np.broadcast_to(cy, (chroma_height, chroma_width)).astype(np.uint8)
        self._chroma = (u, v)

    def next_frame(self) -> av.VideoFrame:
        """The next pattern frame (yuv420p, writable, no stamp, pts to be set)."""
        self._index += 1
        if self._graph is not None:
            frame = self._graph.vpull()
            # Filter output normally owns its buffer; if FFmpeg ever hands out a
            # shared one, copying it is what keeps the in-place stamp safe.
            frame.make_writable()
            # testsrc2 marks every frame intra, which encoders take as "make a
            # keyframe": a camera's frames carry no such demand.
            frame.pict_type = PictureType.NONE
            return frame
        return self._numpy_frame()

    def _numpy_frame(self) -> av.VideoFrame:
        assert self._texture is not None and self._chroma is not None
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        period = self._texture.shape[1] - self.width
        shift = (self._index * 4) % period
        luma = luma_plane(frame)
        assert luma is not None
        luma[:] = self._texture[:, shift : shift + self.width]
        for plane, values in zip(frame.planes[1:], self._chroma, strict=True):
            plane_rows(plane)[:, : plane.width] = values
        return frame


def stamp_frame(frame: av.VideoFrame, counter: int, capture_time_ms: int) -> None:
    """Draw a stamp into the frame's luma plane, in place."""
    luma = luma_plane(frame)
    if luma is None:
        raise ValueError(f"cannot stamp a {frame.format.name} frame in place")
    frame_stamp.draw(luma, FrameStamp(counter=counter, capture_time_ms=capture_time_ms))


class _Pacer:
    """Sleeps until each media timestamp is due, like aiortc's dummy tracks.

    The schedule is anchored on the first frame and never re-anchored, so a
    late consumer gets a short burst and then the nominal rate again, just as
    with aiortc's VideoStreamTrack.  It uses the monotonic clock so that a wall
    clock step (NTP) cannot stall or rush the stream.
    """

    def __init__(self, clock_rate: int) -> None:
        self._clock_rate = clock_rate
        self._start: float | None = None

    async def wait_until(self, pts: int) -> None:
        now = time.monotonic()
        if self._start is None:
            self._start = now - pts / self._clock_rate
        delay = self._start + pts / self._clock_rate - now
        # Always yield, even when late, so a busy consumer cannot starve the loop.
        await asyncio.sleep(max(0.0, delay))


class TestPatternTrack(MediaStreamTrack):
    """A camera stand-in: stamped, moving yuv420p frames paced at ``fps``.

    Each frame carries a counter (0, 1, 2, ...) and the wall-clock time in ms
    at which it was handed out, drawn with :func:`frame_stamp.draw`.
    """

    # Not a pytest test class, despite the name.
    __test__ = False
    kind = "video"

    def __init__(
        self,
        width: int = 640,
        height: int = 360,
        fps: float = 30,
        *,
        backend: PatternBackend = "auto",
    ) -> None:
        super().__init__()
        self.width = width
        self.height = height
        self.fps = fps
        self.frames_sent = 0
        self._source = PatternSource(width, height, fps, backend=backend)
        self._pacer = _Pacer(VIDEO_CLOCK_RATE)

    @property
    def backend(self) -> Literal["lavfi", "numpy"]:
        return self._source.backend

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        # Computed from the frame index rather than accumulated, so that rates
        # like 29.97 do not drift.
        pts = round(self.frames_sent * VIDEO_CLOCK_RATE / self.fps)
        await self._pacer.wait_until(pts)
        frame = self._source.next_frame()
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        stamp_frame(frame, self.frames_sent, int(time.time() * 1000))
        self.frames_sent += 1
        return frame


class ToneGenerator:
    """Phase-continuous sine, as mono s16 frames of ``samples_per_frame``."""

    def __init__(
        self,
        frequency: float = 440.0,
        *,
        sample_rate: int = AUDIO_SAMPLE_RATE,
        samples_per_frame: int = AUDIO_SAMPLES_PER_FRAME,
        amplitude: float = 0.3,
    ) -> None:
        if not 0.0 <= amplitude <= 1.0:
            raise ValueError(f"amplitude must be within [0, 1], got {amplitude}")
        self.frequency = frequency
        self.sample_rate = sample_rate
        self.samples_per_frame = samples_per_frame
        self.amplitude = amplitude
        self.samples_generated = 0
        self._time_base = fractions.Fraction(1, sample_rate)
        self._scale = amplitude * 32767.0
        self._step = 2.0 * np.pi * frequency / sample_rate
        self._ramp = np.arange(samples_per_frame, dtype=np.float64) * self._step
        self._phase = 0.0
        self._table = self._loop_table()

    def _loop_table(self) -> npt.NDArray[np.int16] | None:
        """Whole frames of PCM after which the waveform repeats exactly, if short.

        An integer frequency f repeats every sample_rate / gcd(sample_rate, f)
        samples (1200 for 440 Hz at 48 kHz); rounded up to whole frames, that is
        at most one second.  Precomputing it turns each frame into a slice, so
        the per-frame cost is just the copy into the AudioFrame.
        """
        if not float(self.frequency).is_integer() or self.frequency <= 0:
            return None
        frequency = int(self.frequency)
        period = self.sample_rate // math.gcd(self.sample_rate, frequency)
        length = math.lcm(period, self.samples_per_frame)
        if length > self.sample_rate:
            return None
        # Integer phase arithmetic keeps the table exact over its whole length.
        cycles = (np.arange(length, dtype=np.int64) * frequency) % self.sample_rate
        wave = np.sin(2.0 * np.pi * cycles / self.sample_rate) * self._scale
        table: npt.NDArray[np.int16] = np.rint(wave).astype(np.int16)
        return table

    def next_frame(self) -> av.AudioFrame:
        """The next frame; its pts counts samples (time base 1/sample_rate)."""
        if self._table is not None:
            start = self.samples_generated % self._table.size
            pcm = self._table[start : start + self.samples_per_frame]
        else:
            # The phase is carried over (and kept small) between frames so the
            # waveform is continuous across frame boundaries for any frequency.
            wave = np.sin(self._phase + self._ramp) * self._scale
            self._phase = (self._phase + self._step * self.samples_per_frame) % (2.0 * np.pi)
            pcm = np.rint(wave).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self.samples_generated
        frame.time_base = self._time_base
        self.samples_generated += self.samples_per_frame
        return frame


class ToneTrack(MediaStreamTrack):
    """A microphone stand-in: a sine tone, 48 kHz mono s16, 20 ms frames."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, *, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.frames_sent = 0
        self._generator = ToneGenerator(frequency, amplitude=amplitude)
        self._pacer = _Pacer(AUDIO_SAMPLE_RATE)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._pacer.wait_until(self._generator.samples_generated)
        frame = self._generator.next_frame()
        self.frames_sent += 1
        return frame
