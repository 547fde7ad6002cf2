"""Remote participants that send camera-like video without encoding it as they go.

A load generator for the window benchmarks: what they measure is what our window
costs to *show* streams, so the peers only have to deliver realistic streams, and
cheaply.  Encoding eight 640x360 cameras live (``devtools.sdk_peers``) takes more
CPU than a 2-core machine has beside the window under test.  Here each peer's
video is encoded once, a loop of a few seconds of :mod:`client.media.camera_scene`
(a webcam-like picture that costs an encoder what a real camera does) with PyAV's
libvpx at the requested frame rate and bitrate, and kept in a cache folder keyed
by those parameters; then the encoded frames are replayed in real time, as
``av.Packet``s that aiortc only packetizes (``encoder.pack``), through our own
core (``client.livekit.room.Room``).  Our core is fine here: these peers load the
server and the client under test, they prove nothing about interoperability.

What the stream looks like to a receiver:

* a keyframe at the loop's start and every ``keyframe_interval_s`` (2 s) after it,
  so the jump back to the loop's first frame never leaves a decoder with a broken
  reference;
* RTP timestamps that keep increasing across loops (packet pts count frames since
  the stream started, not within the loop);
* each frame stamped (:mod:`client.media.frame_stamp`) before encoding with its
  index in the loop and its time in the loop (ms), *not* a capture wall clock: a
  pre-encoded stream has none, so latency cannot be read from these stamps;
* optionally (on by default) a tone, pre-encoded to Opus the same way.

A keyframe request from the server (PLI or FIR, for a new subscriber or after a
loss) cannot make a pre-encoded stream produce a keyframe on demand: aiortc's
sender ignores it for packets, and the periodic keyframes answer it within
``keyframe_interval_s``.  After a pause (dynacast: nobody receives it) our
``PublishedTrack`` holds the packets back until the next keyframe.

Usage (internal): ``python -m devtools.replay_peers [--fps N] [--max-bitrate B]
[--no-audio] URL [TOKEN ...]`` (tokens one per line on stdin when not given:
``start_replay_peers`` does that); prints ``ready`` once every peer publishes.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import hashlib
import json
import math
import os
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.frame import PictureType

from client.livekit.participant import TrackSource
from client.livekit.room import Room, RoomOptions
from client.media import frame_stamp
from client.media.camera_scene import CameraScene
from client.media.test_sources import ToneGenerator
from devtools.peer_process import given_tokens, launch_peers

WIDTH, HEIGHT, FPS = 640, 360, 30
LOOP_S = 6.0
KEYFRAME_INTERVAL_S = 2.0
#: What a browser's 360p camera sends (the SDK peers' default too).
DEFAULT_BITRATE = 800_000
SAMPLE_RATE = 48_000
AUDIO_FRAME_SAMPLES = 960  # 20 ms, as WebRTC's Opus frames
AUDIO_BITRATE = 32_000
#: RTP's video clock: aiortc converts packet pts to it.
VIDEO_CLOCK = 90_000
#: Frames rendered and encoded before the loop, so the rate control has settled
#: when the loop's first keyframe is coded.
PREROLL_S = 1.0
#: Behind schedule by more than this (a starved process), the schedule restarts
#: from now instead of sending everything missed in one burst.
MAX_LAG_S = 0.5
#: Bumped whenever the encoding or the cache file's layout changes.
CACHE_FORMAT = 1
_MAGIC = b"visio-replay-loop\n"
_RECORD = struct.Struct(">?I")


def cache_folder() -> Path:
    """Where encoded loops are kept between runs (a temporary folder: losing it
    only costs a few seconds of encoding)."""
    return Path(tempfile.gettempdir()) / "visio-desktop-replay"


@dataclass(frozen=True)
class VideoLoopSpec:
    """Everything an encoded loop depends on (its cache key)."""

    seed: int = 0
    chroma: int = 128
    fps: float = FPS
    bitrate: int = DEFAULT_BITRATE
    seconds: float = LOOP_S
    keyframe_interval_s: float = KEYFRAME_INTERVAL_S
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def keyframe_interval(self) -> int:
        """Frames from one keyframe to the next."""
        return max(1, round(self.keyframe_interval_s * self.fps))

    @property
    def frames(self) -> int:
        """Frames in the loop: a whole number of keyframe intervals, so the frame
        after the loop's last one (its first) falls on the keyframe schedule."""
        interval = self.keyframe_interval
        return max(1, math.ceil(self.seconds * self.fps / interval)) * interval

    def cache_key(self) -> str:
        described = json.dumps(
            {**asdict(self), "format": CACHE_FORMAT, "pyav": av.__version__}, sort_keys=True
        )
        return hashlib.sha256(described.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class EncodedLoop:
    """One stream's encoded frames, in order, and which are keyframes."""

    frames: tuple[bytes, ...]
    keyframes: tuple[bool, ...]
    #: Seconds between two frames.
    interval_s: float

    def __post_init__(self) -> None:
        if not self.frames or len(self.frames) != len(self.keyframes):
            raise ValueError("an encoded loop needs frames, each flagged key or not")
        if not self.keyframes[0]:
            raise ValueError("an encoded loop must start on a keyframe")

    @property
    def bitrate(self) -> float:
        """Mean bits per second over the loop."""
        return sum(len(f) for f in self.frames) * 8 / (len(self.frames) * self.interval_s)


def encode_video_loop(spec: VideoLoopSpec) -> EncodedLoop:
    """Render and encode the loop (VP8, one-pass CBR like a WebRTC encoder)."""
    scene = CameraScene(spec.width, spec.height, seed=spec.seed, chroma=spec.chroma, fps=spec.fps)
    codec = av.CodecContext.create("libvpx", "w")
    assert isinstance(codec, av.VideoCodecContext)
    # One tick a frame: libvpx's rate control reads the frame rate from the time base.
    rate = fractions.Fraction(spec.fps).limit_denominator(1001)
    codec.width, codec.height, codec.pix_fmt = spec.width, spec.height, "yuv420p"
    codec.time_base, codec.framerate = 1 / rate, rate
    codec.bit_rate = spec.bitrate
    codec.gop_size = spec.keyframe_interval
    codec.thread_count = 1
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        # minrate = maxrate = bit_rate: libvpx's CBR, what WebRTC encoders use.
        "minrate": str(spec.bitrate),
        "maxrate": str(spec.bitrate),
        "bufsize": str(spec.bitrate),
        "undershoot-pct": "100",
        "overshoot-pct": "15",
        "static-thresh": "1",
    }
    preroll = round(PREROLL_S * spec.fps)
    interval = spec.keyframe_interval
    stamp_rows = frame_stamp.stamp_height(spec.width)
    by_pts: dict[int, tuple[bytes, bool]] = {}

    def collect(packets: list[av.Packet[Any]]) -> None:
        for packet in packets:
            assert packet.pts is not None
            by_pts[packet.pts] = (bytes(packet), packet.is_keyframe)

    for index in range(preroll + spec.frames):
        buffer = scene.render(index)
        position = index - preroll
        if position >= 0:
            capture_ms = round(position * 1000 / spec.fps)
            frame_stamp.draw(scene.luma, frame_stamp.FrameStamp(position, capture_ms))
        else:
            scene.luma[:stamp_rows] = frame_stamp.LUMA_ZERO
        frame = av.VideoFrame.from_ndarray(
            buffer.reshape(spec.height * 3 // 2, spec.width), format="yuv420p"
        )
        frame.pts, frame.time_base = index, codec.time_base
        # Forced keyframes: the loop's start and every interval after it.
        keyframe = position >= 0 and position % interval == 0
        frame.pict_type = PictureType.I if keyframe else PictureType.NONE
        collect(codec.encode(frame))
    collect(codec.encode(None))
    frames, keyframes = [], []
    for position in range(spec.frames):
        got = by_pts.get(preroll + position)
        if got is None:
            raise RuntimeError(f"the encoder dropped frame {position} of the loop")
        frames.append(got[0])
        keyframes.append(got[1])
    return EncodedLoop(tuple(frames), tuple(keyframes), 1 / spec.fps)


def _write_loop(path: Path, loop: EncodedLoop) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside, then renamed: peers started at the same time never read half.
    partial = path.with_suffix(f".{os.getpid()}.partial")
    with partial.open("wb") as out:
        out.write(_MAGIC)
        for data, key in zip(loop.frames, loop.keyframes, strict=True):
            out.write(_RECORD.pack(key, len(data)))
            out.write(data)
    os.replace(partial, path)


def _read_loop(path: Path, interval_s: float) -> EncodedLoop | None:
    try:
        content = path.read_bytes()
    except OSError:
        return None
    if not content.startswith(_MAGIC):
        return None
    frames, keyframes = [], []
    offset = len(_MAGIC)
    while offset < len(content):
        if offset + _RECORD.size > len(content):
            return None
        key, size = _RECORD.unpack_from(content, offset)
        offset += _RECORD.size
        if offset + size > len(content):
            return None
        frames.append(content[offset : offset + size])
        keyframes.append(bool(key))
        offset += size
    try:
        return EncodedLoop(tuple(frames), tuple(keyframes), interval_s)
    except ValueError:
        return None


def video_loop(spec: VideoLoopSpec, cache: Path | None = None) -> EncodedLoop:
    """The encoded loop for ``spec``, from the cache, or encoded (and cached) now."""
    path = (cache or cache_folder()) / f"vp8-{spec.cache_key()}.loop"
    cached = _read_loop(path, 1 / spec.fps)
    if cached is not None and len(cached.frames) == spec.frames:
        return cached
    loop = encode_video_loop(spec)
    _write_loop(path, loop)
    return loop


def encode_tone_loop(frequency: float, seconds: float = LOOP_S) -> EncodedLoop:
    """A tone as Opus packets of 20 ms.  An integer frequency repeats exactly
    within a second, so a loop of whole seconds joins without a click."""
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.sample_rate = SAMPLE_RATE
    codec.format = "s16"
    codec.layout = "mono"
    codec.bit_rate = AUDIO_BITRATE
    codec.time_base = fractions.Fraction(1, SAMPLE_RATE)
    codec.options = {"application": "voip"}
    generator = ToneGenerator(frequency, amplitude=0.2, samples_per_frame=AUDIO_FRAME_SAMPLES)
    count = round(seconds * SAMPLE_RATE / AUDIO_FRAME_SAMPLES)
    # A second of warm-up, then the loop: the encoder's look-ahead has filled.
    warmup = SAMPLE_RATE // AUDIO_FRAME_SAMPLES
    packets: list[bytes] = []
    for _ in range(warmup + count):
        packets.extend(bytes(p) for p in codec.encode(generator.next_frame()))
    if len(packets) < count:
        raise RuntimeError("the Opus encoder returned too few packets")
    frames = tuple(packets[-count:])
    # Every Opus packet decodes on its own.
    return EncodedLoop(frames, (True,) * len(frames), AUDIO_FRAME_SAMPLES / SAMPLE_RATE)


class _Schedule:
    """When each frame is due: anchored on the first, on the monotonic clock.  A
    consumer that fell far behind restarts the schedule from now (a burst of
    seconds of pre-encoded video would be worse than the gap)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._start: float | None = None

    async def wait(self, index: int) -> None:
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + index * self.interval_s
        if now - due > MAX_LAG_S:
            self._start = now - index * self.interval_s
            due = now
        # Always yield, even when late, so one stream cannot starve the others.
        await asyncio.sleep(max(0.0, due - now))


class ReplayTrack(MediaStreamTrack):
    """Hands out an encoded loop's frames as ``av.Packet``s, in real time, over and
    over; pts keep increasing across loops (``clock`` ticks per second)."""

    def __init__(self, kind: str, loop: EncodedLoop, clock: int) -> None:
        super().__init__()
        self.kind = kind
        self.loop = loop
        #: Packets handed out so far (over every loop).
        self.sent = 0
        self._clock = clock
        self._time_base = fractions.Fraction(1, clock)
        self._schedule = _Schedule(loop.interval_s)

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        await self._schedule.wait(self.sent)
        position = self.sent % len(self.loop.frames)
        packet = av.Packet(self.loop.frames[position])
        packet.pts = round(self.sent * self.loop.interval_s * self._clock)
        packet.time_base = self._time_base
        packet.is_keyframe = self.loop.keyframes[position]
        self.sent += 1
        return packet


def replay_video_track(loop: EncodedLoop) -> ReplayTrack:
    return ReplayTrack("video", loop, VIDEO_CLOCK)


def replay_audio_track(loop: EncodedLoop) -> ReplayTrack:
    return ReplayTrack("audio", loop, SAMPLE_RATE)


def peer_spec(
    index: int,
    fps: float,
    bitrate: int,
    seconds: float = LOOP_S,
    keyframe_interval_s: float = KEYFRAME_INTERVAL_S,
) -> VideoLoopSpec:
    """Peer ``index``'s camera: a room, a person and a tint of its own (the tints
    are those of ``devtools.sdk_peers``)."""
    return VideoLoopSpec(
        seed=index,
        chroma=90 + (index * 37) % 80,
        fps=fps,
        bitrate=bitrate,
        seconds=seconds,
        keyframe_interval_s=keyframe_interval_s,
    )


async def run_peer(
    url: str, token: str, video: EncodedLoop, audio: EncodedLoop | None
) -> tuple[Room, list[ReplayTrack]]:
    # No subscriptions: the peers' decoding would compete for the CPU measured.
    # No ICE servers: everything runs on the local server.
    room = Room(RoomOptions(auto_subscribe=False, ice_servers=[]))
    await room.connect(url, token)
    tracks = [replay_video_track(video)]
    await room.publish_track(
        tracks[0], TrackSource.CAMERA, name="camera", width=WIDTH, height=HEIGHT
    )
    if audio is not None:
        tracks.append(replay_audio_track(audio))
        await room.publish_track(tracks[1], TrackSource.MICROPHONE, name="microphone")
    return room, tracks


async def main(
    url: str,
    tokens: Sequence[str],
    fps: float = FPS,
    *,
    bitrate: int = DEFAULT_BITRATE,
    audio: bool = True,
    loop_seconds: float = LOOP_S,
    keyframe_interval_s: float = KEYFRAME_INTERVAL_S,
) -> None:
    # Encoded (or read from the cache) before anyone connects: the peers then start
    # together and cost only their packetizing.
    specs = [
        peer_spec(i, fps, bitrate, loop_seconds, keyframe_interval_s) for i in range(len(tokens))
    ]
    videos = [video_loop(spec) for spec in specs]
    tones = [
        encode_tone_loop(300.0 + 110 * i, spec.frames / spec.fps) if audio else None
        for i, spec in enumerate(specs)
    ]
    peers = [
        await run_peer(url, token, video, tone)
        for token, video, tone in zip(tokens, videos, tones, strict=True)
    ]
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for room, _ in peers:
        await room.disconnect()


def start_replay_peers(
    url: str,
    tokens: list[str],
    fps: float = FPS,
    netns: str | None = None,
    *,
    max_bitrate: int | None = None,
    audio: bool = True,
    loop_seconds: float = LOOP_S,
    keyframe_interval_s: float = KEYFRAME_INTERVAL_S,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[str]:
    """Run replay peers in a process of their own; returns once they all publish
    (the first run with new parameters encodes their loops first: seconds).  As
    ``devtools.sdk_peers.start_peers``: tokens through a pipe, never in a process
    list; ``netns`` runs the process in that network namespace; ``max_bitrate``
    (bits/s) is each camera's bitrate; each loop lasts ``loop_seconds`` (rounded
    up to whole keyframe intervals) with a keyframe every ``keyframe_interval_s``.
    ``preexec_fn`` runs in the child before
    it starts (e.g. to die with its parent)."""
    extra = [] if max_bitrate is None else ["--max-bitrate", str(max_bitrate)]
    extra += ["--loop-seconds", str(loop_seconds), "--keyframe-interval", str(keyframe_interval_s)]
    if not audio:
        extra.append("--no-audio")
    options = ["--fps", str(fps), *extra]
    return launch_peers("devtools.replay_peers", options, url, tokens, netns, preexec_fn)


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.replay_peers")
    parser.add_argument("--fps", type=float, default=float(FPS))
    parser.add_argument("--no-audio", action="store_true", help="video only")
    parser.add_argument(
        "--max-bitrate", type=int, default=DEFAULT_BITRATE, help="bits/s per camera"
    )
    parser.add_argument("--loop-seconds", type=float, default=LOOP_S)
    parser.add_argument(
        "--keyframe-interval", type=float, default=KEYFRAME_INTERVAL_S, help="seconds"
    )
    parser.add_argument("url")
    # Tokens as arguments, or one per line on stdin (kept out of the process list).
    parser.add_argument("tokens", nargs="*")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _parse_arguments()
    given = given_tokens(arguments)
    asyncio.run(
        main(
            arguments.url,
            given,
            arguments.fps,
            bitrate=arguments.max_bitrate,
            audio=not arguments.no_audio,
            loop_seconds=arguments.loop_seconds,
            keyframe_interval_s=arguments.keyframe_interval,
        )
    )
