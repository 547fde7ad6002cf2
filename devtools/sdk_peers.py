"""Remote participants for the call benchmark, run in a process of their own.

They use the official LiveKit SDK (a test dependency) so that the benchmark's
figures are those of our client receiving what a real client sends: each peer
publishes stamped 640x360@30 VP8 video of a webcam-like scene
(:mod:`client.media.camera_scene`, which encodes to what a real camera costs) and
a tone.  With ``--simulcast`` each peer instead publishes a 1280x720 source as
720p/360p/180p simulcast, as browsers do.  Usage (internal):
``python -m devtools.sdk_peers [--fps N] [--simulcast] [--no-audio] URL [TOKEN ...]``
(tokens one per line on stdin when not given: ``start_peers`` does that).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import subprocess
import time

import numpy as np
from livekit import rtc

from client.media import frame_stamp
from client.media.camera_scene import CameraScene
from devtools.peer_process import given_tokens, launch_peers

WIDTH, HEIGHT, FPS = 640, 360, 30
# A simulcast publication's source: the SDK derives the 360p and 180p layers.
SIMULCAST_WIDTH, SIMULCAST_HEIGHT = 1280, 720
# Top layer's bitrate: the SDK's 720p preset (what a browser's 720p camera sends).
SIMULCAST_MAX_BITRATE = 1_700_000
SAMPLE_RATE = 48000


def camera_options(max_bitrate: int = 800_000) -> rtc.TrackPublishOptions:
    """A plain 30 fps VP8 camera, as a web client without simulcast sends it."""
    return rtc.TrackPublishOptions(
        source=rtc.TrackSource.SOURCE_CAMERA,
        video_codec=rtc.VideoCodec.VP8,
        simulcast=False,
        # The SDK's 360p preset caps the frame rate below 30 fps.
        video_encoding=rtc.VideoEncoding(max_framerate=30, max_bitrate=max_bitrate),
    )


def simulcast_camera_options() -> rtc.TrackPublishOptions:
    """A 720p VP8 camera with simulcast: the SDK adds 360p and 180p layers below
    the 720p one (publish it from a SIMULCAST_WIDTH x SIMULCAST_HEIGHT source)."""
    return rtc.TrackPublishOptions(
        source=rtc.TrackSource.SOURCE_CAMERA,
        video_codec=rtc.VideoCodec.VP8,
        simulcast=True,
        video_encoding=rtc.VideoEncoding(max_framerate=30, max_bitrate=SIMULCAST_MAX_BITRATE),
        # Many peers share a test machine's CPU, where each real participant has a
        # machine of their own: without this, libwebrtc's CPU adaptation would
        # answer the shared load by dropping the upper layers and the frame rate.
        # (The SDK's public IntEnum holds the protobuf enum's values; only the stubs
        # tell them apart.)
        degradation_preference=rtc.DegradationPreference.MAINTAIN_FRAMERATE_AND_RESOLUTION,  # type: ignore[arg-type]
    )


async def feed_stamped_video(
    source: rtc.VideoSource,
    seed: int = 0,
    fps: float = FPS,
    *,
    chroma: int = 128,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> None:
    """Feed a webcam-like scene (its room, person and motion picked by ``seed``,
    tinted by ``chroma``) with a frame stamp (counter, capture time) at ``fps``."""
    scene = CameraScene(width, height, seed=seed, chroma=chroma, fps=fps)
    counter = 0
    start = time.monotonic()
    while True:
        buffer = scene.render(counter)
        now_ms = int(time.time() * 1000)
        frame_stamp.draw(scene.luma, frame_stamp.FrameStamp(counter, now_ms))
        # A copy: the scene reuses its buffer for the next frame.
        source.capture_frame(
            rtc.VideoFrame(width, height, rtc.VideoBufferType.I420, buffer.tobytes())
        )
        counter += 1
        await asyncio.sleep(max(0.0, start + counter / fps - time.monotonic()))


async def feed_tone(source: rtc.AudioSource, frequency: float, amplitude: float = 0.2) -> None:
    """Feed a continuous sine tone in 10 ms frames."""
    per_frame = SAMPLE_RATE // 100
    t = np.arange(per_frame) / SAMPLE_RATE
    offset = 0
    while True:
        pcm = amplitude * 32767 * np.sin(2 * math.pi * frequency * (t + offset / SAMPLE_RATE))
        offset += per_frame
        await source.capture_frame(
            rtc.AudioFrame(pcm.astype(np.int16).tobytes(), SAMPLE_RATE, 1, per_frame)
        )


async def run_peer(
    url: str,
    token: str,
    index: int,
    tasks: list[asyncio.Task[None]],
    fps: float = FPS,
    *,
    simulcast: bool = False,
    audio: bool = True,
    max_bitrate: int = 800_000,
) -> rtc.Room:
    room = rtc.Room()
    # Peers do not subscribe: their decoding would compete for the CPU we measure.
    # With simulcast, dynacast (as web clients use it) lets the server pause the
    # layers no one receives, so the peers encode only what is watched.
    options = rtc.RoomOptions(auto_subscribe=False, dynacast=simulcast)
    await room.connect(url, token, options)
    width, height = (SIMULCAST_WIDTH, SIMULCAST_HEIGHT) if simulcast else (WIDTH, HEIGHT)
    video = rtc.VideoSource(width, height)
    await room.local_participant.publish_track(
        rtc.LocalVideoTrack.create_video_track("camera", video),
        simulcast_camera_options() if simulcast else camera_options(max_bitrate),
    )
    if audio:
        microphone = rtc.AudioSource(SAMPLE_RATE, 1)
        await room.local_participant.publish_track(
            rtc.LocalAudioTrack.create_audio_track("microphone", microphone),
            rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE),
        )
        tasks.append(asyncio.create_task(feed_tone(microphone, 300.0 + 110 * index)))
    chroma = 90 + (index * 37) % 80  # each peer a tint of its own, easy to tell apart
    feed = feed_stamped_video(video, index, fps, chroma=chroma, width=width, height=height)
    tasks.append(asyncio.create_task(feed))
    return room


async def main(
    url: str,
    tokens: list[str],
    fps: float = FPS,
    simulcast: bool = False,
    audio: bool = True,
    max_bitrate: int = 800_000,
) -> None:
    tasks: list[asyncio.Task[None]] = []
    rooms = [
        await run_peer(
            url, token, i, tasks, fps, simulcast=simulcast, audio=audio, max_bitrate=max_bitrate
        )
        for i, token in enumerate(tokens)
    ]
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for task in tasks:
        task.cancel()
    for room in rooms:
        await room.disconnect()


def start_peers(
    url: str,
    tokens: list[str],
    fps: float = FPS,
    netns: str | None = None,
    *,
    max_bitrate: int | None = None,
) -> subprocess.Popen[str]:
    """Run peers in a process of their own; returns once they all publish.  The tokens
    go through a pipe, so they never appear in a process list or a traceback.  With
    ``netns`` (a name under /run/netns, e.g. a ``ServerNamespace``) the process runs in
    that network namespace, on the server's side of a faulty link.  ``max_bitrate``
    caps each camera (bits/s), e.g. to what a thumbnail layer of a grid costs."""
    extra = [] if max_bitrate is None else ["--max-bitrate", str(max_bitrate)]
    return launch_peers("devtools.sdk_peers", ["--fps", str(fps), *extra], url, tokens, netns)


def stop_peers(process: subprocess.Popen[str], timeout_s: float = 15.0) -> None:
    process.terminate()
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.sdk_peers")
    # Many peers on 2 cores must send fewer frames.
    parser.add_argument("--fps", type=float, default=float(FPS))
    # 720p sources published with three layers.
    parser.add_argument("--simulcast", action="store_true")
    # Video only: each tone costs a peer about as much CPU as its video.
    parser.add_argument("--no-audio", action="store_true")
    parser.add_argument("--max-bitrate", type=int, default=800_000, help="bits/s per camera")
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
            arguments.simulcast,
            not arguments.no_audio,
            arguments.max_bitrate,
        )
    )
