"""The "codec floor": CPU that the media codecs alone need for a call.

A meeting client publishing one 640x360@30 VP8 stream and receiving N of them
cannot use less CPU than libvpx needs to encode one stream and decode N (plus
Opus for the audio).  The benchmark measures the client's CPU during a real call
and compares it to this floor, so that the overhead of everything else (RTP,
SRTP, jitter buffers, Python glue, rendering) can be read off directly.

For the comparison to be fair the floor uses exactly the codecs and settings
aiortc 1.16 uses: libvpx through PyAV with the options of
``aiortc.codecs.vpx.Vp8Encoder`` and a default ``libvpx`` decoder, and libopus
through PyAV with the settings of ``aiortc.codecs.opus`` (including its resampler
to stereo).  ``tests/test_codec_floor.py`` checks that our encoders produce
byte-identical output to aiortc's, so a drift in either is caught.

Work is done as fast as possible, not in real time; ``cpu_percent`` expresses
the CPU it took as a share of one core over the simulated call length.

CPU is measured with ``time.process_time()`` (user + system CPU of the whole
process, all threads).  Per-thread accounting (``RUSAGE_THREAD``) would be wrong
here: libvpx's decoder runs its own worker threads (PyAV leaves
``thread_count=0``, i.e. one per CPU), invisible to Python, whose CPU would be
missed.  The price is that anything else running in the process during the
measurement is counted too; :func:`measure_codec_floor_isolated` runs the
measurement in a fresh interpreter for callers that host other busy threads
(an asyncio server, the LiveKit SDK, ...).
"""

from __future__ import annotations

import argparse
import dataclasses
import fractions
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
from aiortc.codecs.vpx import DEFAULT_BITRATE as VP8_DEFAULT_BITRATE
from aiortc.codecs.vpx import number_of_threads
from av.audio.codeccontext import AudioCodecContext
from av.video.codeccontext import VideoCodecContext

from client.livekit.loss_concealment import OPUS_ENCODER_OPTIONS
from client.media.test_sources import (
    AUDIO_SAMPLE_RATE,
    AUDIO_SAMPLES_PER_FRAME,
    VIDEO_CLOCK_RATE,
    VIDEO_TIME_BASE,
    PatternBackend,
    PatternSource,
    ToneGenerator,
    stamp_frame,
)

# aiortc.codecs.opus settings: 96 kb/s, VoIP mode, stereo s16 at 48 kHz.
OPUS_BITRATE = 96_000
OPUS_TIME_BASE = fractions.Fraction(1, AUDIO_SAMPLE_RATE)


@dataclass(frozen=True, slots=True)
class CodecFloor:
    """CPU cost of the codec work of a call, split by direction and medium.

    ``encode_*``/``decode_*``/``frames_*`` are video; ``audio_*`` are Opus.
    Frame counts are totals over all streams.  ``cpu_seconds`` is the sum of
    the four CPU figures, and ``cpu_percent`` is ``cpu_seconds / seconds * 100``:
    the share of one core the codecs would take in a real-time call lasting
    ``seconds``.
    """

    seconds: float
    publish_streams: int
    receive_streams: int
    width: int
    height: int
    fps: float
    cpu_seconds: float
    cpu_percent: float
    encode_cpu_seconds: float
    decode_cpu_seconds: float
    frames_encoded: int
    frames_decoded: int
    audio_encode_cpu_seconds: float
    audio_decode_cpu_seconds: float
    audio_frames_encoded: int
    audio_frames_decoded: int
    # Bitrate of the encoded video the decoders were fed, for checking that the
    # reference matches what the real call carries.
    video_bitrate_bps: float
    # How long the measurement itself took (it runs faster than real time).
    wall_seconds: float

    @property
    def video_cpu_seconds(self) -> float:
        return self.encode_cpu_seconds + self.decode_cpu_seconds

    @property
    def audio_cpu_seconds(self) -> float:
        return self.audio_encode_cpu_seconds + self.audio_decode_cpu_seconds


def make_vp8_encoder(
    width: int, height: int, bitrate: int = VP8_DEFAULT_BITRATE
) -> VideoCodecContext:
    """A libvpx VP8 encoder configured as ``aiortc.codecs.vpx.Vp8Encoder`` does."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width = width
    codec.height = height
    codec.bit_rate = bitrate
    codec.pix_fmt = "yuv420p"
    codec.gop_size = 3000
    codec.qmin = 2
    codec.qmax = 56
    codec.options = {
        # Real-time CBR with a 1 s buffer, as WebRTC senders use.
        "bufsize": str(bitrate),
        "cpu-used": "-6",
        "deadline": "realtime",
        "lag-in-frames": "0",
        "minrate": str(bitrate),
        "maxrate": str(bitrate),
        "noise-sensitivity": "4",
        "overshoot-pct": "15",
        "partitions": "0",
        "static-thresh": "1",
        "undershoot-pct": "100",
    }
    codec.thread_count = number_of_threads(width * height, multiprocessing.cpu_count())
    return codec


def make_vp8_decoder() -> VideoCodecContext:
    """A libvpx VP8 decoder as ``aiortc.codecs.vpx.Vp8Decoder`` creates it."""
    return av.CodecContext.create("libvpx", "r")


def make_opus_decoder() -> AudioCodecContext:
    """A libopus decoder as ``aiortc.codecs.opus.OpusDecoder`` creates it."""
    codec = av.CodecContext.create("libopus", "r")
    codec.format = "s16"
    codec.layout = "stereo"
    codec.sample_rate = AUDIO_SAMPLE_RATE
    return codec


class OpusEncodePath:
    """libopus encoding as ``aiortc.codecs.opus.OpusEncoder`` does it.

    aiortc first resamples every input frame to stereo s16 in 960-sample
    frames, then encodes; the resampler is part of the cost it pays per frame,
    so it is part of the floor too.
    """

    def __init__(self) -> None:
        self.codec = av.CodecContext.create("libopus", "w")
        self.codec.bit_rate = OPUS_BITRATE
        self.codec.format = "s16"
        self.codec.layout = "stereo"
        # The in-band FEC our encoder adds for lossy networks is part of its cost.
        self.codec.options = {"application": "voip", **OPUS_ENCODER_OPTIONS}
        self.codec.sample_rate = AUDIO_SAMPLE_RATE
        self.codec.time_base = OPUS_TIME_BASE
        self.resampler = av.AudioResampler(
            format="s16",
            layout="stereo",
            rate=AUDIO_SAMPLE_RATE,
            frame_size=AUDIO_SAMPLES_PER_FRAME,
        )

    def encode(self, frame: av.AudioFrame) -> list[tuple[bytes, int]]:
        """Encoded packets as ``(payload, pts)``; often empty at the start."""
        # aiortc copies every packet out to bytes, so that is part of the cost.
        return [
            (bytes(packet), packet.pts or 0)
            for resampled in self.resampler.resample(frame)
            for packet in self.codec.encode(resampled)
        ]


def _decode_vp8(decoder: VideoCodecContext, data: bytes, pts: int) -> int:
    # A fresh Packet from bytes per frame, like aiortc's receive path.
    packet = av.Packet(data)
    packet.pts = pts
    packet.time_base = VIDEO_TIME_BASE
    return len(decoder.decode(packet))


def _decode_opus(decoder: AudioCodecContext, data: bytes, pts: int) -> int:
    packet = av.Packet(data)
    packet.pts = pts
    packet.time_base = OPUS_TIME_BASE
    return len(decoder.decode(packet))


@dataclass
class _VideoResult:
    encode_cpu: float = 0.0
    decode_cpu: float = 0.0
    frames_encoded: int = 0
    frames_decoded: int = 0
    bytes_fed: int = 0


def _measure_video(
    *,
    publish_streams: int,
    receive_streams: int,
    frame_count: int,
    width: int,
    height: int,
    fps: float,
    publish_bitrate: int,
    receive_bitrate: int,
    backend: PatternBackend,
) -> _VideoResult:
    result = _VideoResult()
    source = PatternSource(width, height, fps, backend=backend)
    publishers = [make_vp8_encoder(width, height, publish_bitrate) for _ in range(publish_streams)]
    # The receive streams are fed the output of one publisher when the settings
    # match (identical bytes), otherwise of an encoder run outside the timing.
    shared = bool(publishers) and publish_bitrate == receive_bitrate
    reference = None
    if receive_streams and not shared:
        reference = make_vp8_encoder(width, height, receive_bitrate)
    decoders = [make_vp8_decoder() for _ in range(receive_streams)]

    # Frames are generated a second at a time, outside the timed sections, so
    # that pattern generation is not counted and memory stays bounded (a
    # minute of raw 640x360 would be over 600 MB).  libvpx encodes and decodes
    # synchronously (its decoder threads finish within each call), so nothing
    # spills from a timed section into an untimed one.
    chunk = max(1, round(fps))
    for first in range(0, frame_count, chunk):
        frames: list[tuple[av.VideoFrame, int]] = []
        for index in range(first, min(first + chunk, frame_count)):
            frame = source.next_frame()
            pts = round(index * VIDEO_CLOCK_RATE / fps)
            frame.pts = pts
            frame.time_base = VIDEO_TIME_BASE
            stamp_frame(frame, index, int(time.time() * 1000))
            frames.append((frame, pts))

        received: list[tuple[bytes, int]] = []
        if publishers:
            started = time.process_time()
            for frame, pts in frames:
                for stream, encoder in enumerate(publishers):
                    # aiortc copies every packet out to bytes before packetizing.
                    data = b"".join(bytes(packet) for packet in encoder.encode(frame))
                    if shared and stream == 0:
                        received.append((data, pts))
            result.encode_cpu += time.process_time() - started
            result.frames_encoded += len(frames) * len(publishers)

        if reference is not None:
            for frame, pts in frames:
                data = b"".join(bytes(packet) for packet in reference.encode(frame))
                received.append((data, pts))

        if decoders:
            started = time.process_time()
            for data, pts in received:
                for decoder in decoders:
                    result.frames_decoded += _decode_vp8(decoder, data, pts)
            result.decode_cpu += time.process_time() - started
            result.bytes_fed += sum(len(data) for data, _ in received)
    return result


@dataclass
class _AudioResult:
    encode_cpu: float = 0.0
    decode_cpu: float = 0.0
    frames_encoded: int = 0
    frames_decoded: int = 0


def _measure_audio(*, publish_streams: int, receive_streams: int, frame_count: int) -> _AudioResult:
    result = _AudioResult()
    # A minute of 20 ms mono frames is under 6 MB: generate it all up front.
    generator = ToneGenerator(440.0)
    frames = [generator.next_frame() for _ in range(frame_count)]
    encoders = [OpusEncodePath() for _ in range(publish_streams)]
    reference = OpusEncodePath() if receive_streams and not encoders else None
    decoders = [make_opus_decoder() for _ in range(receive_streams)]

    received: list[tuple[bytes, int]] = []
    if encoders:
        started = time.process_time()
        for frame in frames:
            for stream, encoder in enumerate(encoders):
                payloads = encoder.encode(frame)
                if stream == 0:
                    received.extend(payloads)
        result.encode_cpu = time.process_time() - started
        result.frames_encoded = frame_count * len(encoders)

    if reference is not None:
        for frame in frames:
            received.extend(reference.encode(frame))

    if decoders:
        started = time.process_time()
        for data, pts in received:
            for decoder in decoders:
                result.frames_decoded += _decode_opus(decoder, data, pts)
        result.decode_cpu = time.process_time() - started
    return result


def measure_codec_floor(
    *,
    publish_streams: int,
    receive_streams: int,
    seconds: float,
    width: int = 640,
    height: int = 360,
    fps: float = 30,
    audio: bool = True,
    publish_bitrate: int = VP8_DEFAULT_BITRATE,
    receive_bitrate: int = VP8_DEFAULT_BITRATE,
    pattern_backend: PatternBackend = "auto",
) -> CodecFloor:
    """CPU the codecs need for ``seconds`` of a call, measured in this process.

    Encodes ``publish_streams`` video streams (and as many Opus streams when
    ``audio``) and decodes ``receive_streams`` of each, over the frames of
    ``seconds`` of :class:`~client.media.test_sources.TestPatternTrack` /
    :class:`~client.media.test_sources.ToneTrack` content, as fast as
    possible.  Bitrates default to aiortc's starting VP8 bitrate (500 kb/s);
    the receive bitrate can be raised to match what remote senders use.

    The process's total CPU is sampled around the codec calls, so keep other
    threads of this process idle meanwhile, or use
    :func:`measure_codec_floor_isolated`.
    """
    if publish_streams < 0 or receive_streams < 0:
        raise ValueError("stream counts must be >= 0")
    if seconds <= 0 or fps <= 0:
        raise ValueError("seconds and fps must be > 0")

    wall_started = time.monotonic()
    video = _measure_video(
        publish_streams=publish_streams,
        receive_streams=receive_streams,
        frame_count=round(seconds * fps),
        width=width,
        height=height,
        fps=fps,
        publish_bitrate=publish_bitrate,
        receive_bitrate=receive_bitrate,
        backend=pattern_backend,
    )
    sound = (
        _measure_audio(
            publish_streams=publish_streams,
            receive_streams=receive_streams,
            frame_count=round(seconds * AUDIO_SAMPLE_RATE / AUDIO_SAMPLES_PER_FRAME),
        )
        if audio
        else _AudioResult()
    )
    wall_seconds = time.monotonic() - wall_started

    cpu_seconds = video.encode_cpu + video.decode_cpu + sound.encode_cpu + sound.decode_cpu
    return CodecFloor(
        seconds=seconds,
        publish_streams=publish_streams,
        receive_streams=receive_streams,
        width=width,
        height=height,
        fps=fps,
        cpu_seconds=cpu_seconds,
        cpu_percent=cpu_seconds / seconds * 100.0,
        encode_cpu_seconds=video.encode_cpu,
        decode_cpu_seconds=video.decode_cpu,
        frames_encoded=video.frames_encoded,
        frames_decoded=video.frames_decoded,
        audio_encode_cpu_seconds=sound.encode_cpu,
        audio_decode_cpu_seconds=sound.decode_cpu,
        audio_frames_encoded=sound.frames_encoded,
        audio_frames_decoded=sound.frames_decoded,
        video_bitrate_bps=video.bytes_fed * 8 / seconds,
        wall_seconds=wall_seconds,
    )


def measure_codec_floor_isolated(
    *,
    publish_streams: int,
    receive_streams: int,
    seconds: float,
    width: int = 640,
    height: int = 360,
    fps: float = 30,
    audio: bool = True,
    publish_bitrate: int = VP8_DEFAULT_BITRATE,
    receive_bitrate: int = VP8_DEFAULT_BITRATE,
    timeout: float | None = 600.0,
) -> CodecFloor:
    """Same as :func:`measure_codec_floor`, in a fresh Python process.

    Use this from a process that has other busy threads, whose CPU would
    otherwise be counted in the floor.
    """
    command = [
        sys.executable,
        "-m",
        "bench.codec_floor",
        "--json",
        f"--publish={publish_streams}",
        f"--receive={receive_streams}",
        f"--seconds={seconds}",
        f"--width={width}",
        f"--height={height}",
        f"--fps={fps}",
        f"--publish-bitrate={publish_bitrate}",
        f"--receive-bitrate={receive_bitrate}",
    ]
    if not audio:
        command.append("--no-audio")
    # Make the package importable even when it is not installed.
    project_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (project_root, env.get("PYTHONPATH")) if part
    )
    completed = subprocess.run(
        command, check=True, capture_output=True, text=True, env=env, timeout=timeout
    )
    return CodecFloor(**json.loads(completed.stdout))


def _describe(floor: CodecFloor) -> str:
    return "\n".join(
        [
            f"codec floor: publish {floor.publish_streams}, receive {floor.receive_streams}, "
            f"{floor.width}x{floor.height}@{floor.fps:g}, {floor.seconds:g} s "
            f"(measured in {floor.wall_seconds:.2f} s)",
            f"  video encode {floor.encode_cpu_seconds:.3f} s CPU ({floor.frames_encoded} frames)",
            f"  video decode {floor.decode_cpu_seconds:.3f} s CPU "
            f"({floor.frames_decoded} frames, {floor.video_bitrate_bps / 1000:.0f} kb/s)",
            f"  audio encode {floor.audio_encode_cpu_seconds:.3f} s CPU "
            f"({floor.audio_frames_encoded} frames)",
            f"  audio decode {floor.audio_decode_cpu_seconds:.3f} s CPU "
            f"({floor.audio_frames_decoded} frames)",
            f"  total {floor.cpu_seconds:.3f} s CPU = {floor.cpu_percent:.1f} % of one core",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.codec_floor",
        description="Measure the CPU the codecs alone need for a call.",
    )
    parser.add_argument("--publish", type=int, default=1, help="published streams")
    parser.add_argument("--receive", type=int, default=3, help="received streams")
    parser.add_argument("--seconds", type=float, default=20.0, help="call length")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--publish-bitrate", type=int, default=VP8_DEFAULT_BITRATE)
    parser.add_argument("--receive-bitrate", type=int, default=VP8_DEFAULT_BITRATE)
    parser.add_argument("--no-audio", action="store_true", help="leave Opus out")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    floor = measure_codec_floor(
        publish_streams=args.publish,
        receive_streams=args.receive,
        seconds=args.seconds,
        width=args.width,
        height=args.height,
        fps=args.fps,
        audio=not args.no_audio,
        publish_bitrate=args.publish_bitrate,
        receive_bitrate=args.receive_bitrate,
    )
    print(json.dumps(dataclasses.asdict(floor)) if args.json else _describe(floor))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
