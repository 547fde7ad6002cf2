"""An official-SDK participant that says back whatever it hears, for the audio benchmark.

``python -m devtools.echo_peer URL`` reads its token from stdin (never from the
command line, which other users can read), joins, publishes a microphone track and
plays every audio track it receives back into the room as it arrives, through the
SDK's own receive (NetEq) and send (encoder, pacing) pipelines.  It prints ``ready``
once it publishes and leaves when stdin reaches its end.

Its queue towards the encoder is kept short (``QUEUE_MS``): the SDK's default
(1 s) would let a burst of received audio pile up and delay everything after it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from livekit import rtc

SAMPLE_RATE = 48000
QUEUE_MS = 60


async def _echo(track: rtc.Track, source: rtc.AudioSource) -> None:
    async for event in rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1):
        await source.capture_frame(event.frame)


async def run(url: str, token: str) -> None:
    room = rtc.Room()
    source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=QUEUE_MS)
    tasks: list[asyncio.Task[None]] = []

    def subscribed(track: rtc.Track, *_: object) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            tasks.append(asyncio.ensure_future(_echo(track, source)))

    room.on("track_subscribed", subscribed)
    await room.connect(url, token)
    await room.local_participant.publish_track(
        rtc.LocalAudioTrack.create_audio_track("echo", source),
        # No DTX: the echo of a quiet moment is sent like any other, so the far
        # end's jitter buffer sees one continuous stream.
        rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE, dtx=False),
    )
    print("ready", flush=True)
    try:
        # Until the parent closes our stdin (or dies).
        await asyncio.to_thread(sys.stdin.read)
    finally:
        for task in tasks:
            task.cancel()
        await room.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.echo_peer")
    parser.add_argument("url")
    args = parser.parse_args()
    token = sys.stdin.readline().strip()
    asyncio.run(run(args.url, token))


if __name__ == "__main__":
    main()
