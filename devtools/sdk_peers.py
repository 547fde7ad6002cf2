"""Remote participants for the call benchmark, run in a process of their own.

They use the official LiveKit SDK (a test dependency) so that the benchmark's
figures are those of our client receiving what a real client sends: each peer
publishes stamped 640x360@30 VP8 video and a tone.  Usage (internal):
``python -m devtools.sdk_peers [--fps N] URL [TOKEN ...]`` (tokens one per line on
stdin when not given: ``start_peers`` does that).
"""

from __future__ import annotations

import asyncio
import math
import signal
import subprocess
import sys
import time

import numpy as np
from livekit import rtc

from client.media import frame_stamp

WIDTH, HEIGHT, FPS = 640, 360, 30
SAMPLE_RATE = 48000


def camera_options() -> rtc.TrackPublishOptions:
    """A plain 30 fps VP8 camera, as a web client without simulcast sends it."""
    return rtc.TrackPublishOptions(
        source=rtc.TrackSource.SOURCE_CAMERA,
        video_codec=rtc.VideoCodec.VP8,
        simulcast=False,
        # The SDK's 360p preset caps the frame rate below 30 fps.
        video_encoding=rtc.VideoEncoding(max_framerate=30, max_bitrate=800_000),
    )


async def feed_stamped_video(
    source: rtc.VideoSource, seed: int = 0, fps: float = FPS, *, chroma: int = 128
) -> None:
    """Feed a moving bar with a frame stamp (counter, capture time) at ``fps``."""
    base = np.zeros((HEIGHT * 3 // 2, WIDTH), np.uint8)
    base[:HEIGHT] = 60 + 40 * (seed % 4)
    base[HEIGHT:] = chroma
    counter = 0
    start = time.monotonic()
    while True:
        buffer = base.copy()
        x = (counter * 6) % WIDTH
        buffer[60:HEIGHT, x : x + 48] = 220
        now_ms = int(time.time() * 1000)
        frame_stamp.draw(buffer[:HEIGHT], frame_stamp.FrameStamp(counter, now_ms))
        source.capture_frame(
            rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.I420, buffer.tobytes())
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
    url: str, token: str, index: int, tasks: list[asyncio.Task[None]], fps: float = FPS
) -> rtc.Room:
    room = rtc.Room()
    # Peers do not subscribe: their decoding would compete for the CPU we measure.
    await room.connect(url, token, rtc.RoomOptions(auto_subscribe=False))
    video = rtc.VideoSource(WIDTH, HEIGHT)
    await room.local_participant.publish_track(
        rtc.LocalVideoTrack.create_video_track("camera", video),
        camera_options(),
    )
    audio = rtc.AudioSource(SAMPLE_RATE, 1)
    await room.local_participant.publish_track(
        rtc.LocalAudioTrack.create_audio_track("microphone", audio),
        rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE),
    )
    chroma = 90 + (index * 37) % 80  # each peer a tint of its own, easy to tell apart
    tasks.append(asyncio.create_task(feed_stamped_video(video, index, fps, chroma=chroma)))
    tasks.append(asyncio.create_task(feed_tone(audio, 300.0 + 110 * index)))
    return room


async def main(url: str, tokens: list[str], fps: float = FPS) -> None:
    tasks: list[asyncio.Task[None]] = []
    rooms = [await run_peer(url, token, i, tasks, fps) for i, token in enumerate(tokens)]
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
    url: str, tokens: list[str], fps: float = FPS, netns: str | None = None
) -> subprocess.Popen[str]:
    """Run peers in a process of their own; returns once they all publish.  The tokens
    go through a pipe, so they never appear in a process list or a traceback.  With
    ``netns`` (a name under /run/netns, e.g. a ``ServerNamespace``) the process runs in
    that network namespace, on the server's side of a faulty link."""
    # `ip netns exec` execs the command, so the Popen pid is still the peers' process.
    prefix = [] if netns is None else ["ip", "netns", "exec", netns]
    process = subprocess.Popen(
        [*prefix, sys.executable, "-m", "devtools.sdk_peers", "--fps", str(fps), url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("".join(f"{token}\n" for token in tokens))
    process.stdin.close()
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise RuntimeError("the SDK peers did not start")
    return process


def stop_peers(process: subprocess.Popen[str], timeout_s: float = 15.0) -> None:
    process.terminate()
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


if __name__ == "__main__":
    # ``--fps N`` first, optionally: many peers on 2 cores must send fewer frames.
    arguments = sys.argv[1:]
    rate = float(FPS)
    if arguments[:1] == ["--fps"]:
        rate, arguments = float(arguments[1]), arguments[2:]
    # Tokens as arguments, or one per line on stdin (kept out of the process list).
    given = arguments[1:] or [line.strip() for line in sys.stdin if line.strip()]
    asyncio.run(main(arguments[0], given, rate))
