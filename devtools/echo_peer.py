"""An official-SDK participant that says back whatever it hears, for the audio benchmark.

``python -m devtools.echo_peer URL`` reads its token from stdin (never from the
command line, which other users can read), joins, publishes a microphone track and
plays every audio track it receives back into the room as it arrives, through the
SDK's own receive (NetEq) and send (encoder, pacing) pipelines.  It prints ``ready``
once it publishes and leaves when stdin reaches its end.

Its queue towards the encoder is kept short (``QUEUE_MS``): the SDK's default
(1 s) would let a burst of received audio pile up and delay everything after it.
Even a short queue, once a burst filled it, stays full (frames leave at the pace
they come): a quiet frame that finds more than ``QUEUE_KEEP_MS`` waiting is not
sent, as a far end speaking into a microphone has no such backlog to begin with.

Each further line on stdin asks for its own buffering so far, answered as one JSON
line: the receive jitter buffer's delay summed over the samples it emitted (WebRTC's
``jitterBufferDelay`` / ``jitterBufferEmittedCount``, cumulative: two answers give an
interval's mean) and its target, the send queue's depth sampled every 10 ms since
the last answer, and the quiet audio not sent so far.
That is the part of the benchmark's round trip that is the peer's, not ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import numpy as np
from livekit import rtc

SAMPLE_RATE = 48000
QUEUE_MS = 60
QUEUE_KEEP_MS = 20
QUIET_PEAK = 1000  # about -30 dBFS


class _Echo:
    """Every received track's frames into the one source, quiet ones skipped while
    the queue holds more than ``QUEUE_KEEP_MS``."""

    def __init__(self, source: rtc.AudioSource) -> None:
        self.source = source
        self.skipped_ms = 0.0

    async def run(self, track: rtc.Track) -> None:
        stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
        async for event in stream:
            frame = event.frame
            if 1000.0 * self.source.queued_duration > QUEUE_KEEP_MS:
                samples = np.frombuffer(frame.data, dtype=np.int16)
                if samples.size and int(np.abs(samples.astype(np.int32)).max()) < QUIET_PEAK:
                    self.skipped_ms += 1000.0 * frame.samples_per_channel / frame.sample_rate
                    continue
            await self.source.capture_frame(frame)


async def _inbound_audio(room: rtc.Room) -> dict[str, float]:
    """The cumulative receive jitter buffer figures of the audio we are sent."""
    stats = await room.get_rtc_stats()
    # A single peer connection carries both directions: its reports come as the
    # publisher's.
    for report in [*stats.subscriber_stats, *stats.publisher_stats]:
        if report.WhichOneof("stats") != "inbound_rtp":
            continue
        rtp = report.inbound_rtp
        if rtp.stream.kind != "audio":
            continue
        inbound = rtp.inbound
        return {
            "jitter_buffer_delay_s": inbound.jitter_buffer_delay,
            "jitter_buffer_target_delay_s": inbound.jitter_buffer_target_delay,
            "jitter_buffer_emitted_count": float(inbound.jitter_buffer_emitted_count),
            # RFC 3550 interarrival jitter of what we are sent (its current value).
            "arrival_jitter_s": rtp.received.jitter,
            "concealed_samples": float(inbound.concealed_samples),
            "total_samples_received": float(inbound.total_samples_received),
        }
    return {}


async def _sample_queue(source: rtc.AudioSource, samples: list[float]) -> None:
    while True:
        samples.append(1000.0 * source.queued_duration)
        await asyncio.sleep(0.01)


async def run(url: str, token: str) -> None:
    room = rtc.Room()
    source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=QUEUE_MS)
    tasks: list[asyncio.Task[None]] = []
    echo = _Echo(source)

    def subscribed(track: rtc.Track, *_: object) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            tasks.append(asyncio.ensure_future(echo.run(track)))

    room.on("track_subscribed", subscribed)
    await room.connect(url, token)
    await room.local_participant.publish_track(
        rtc.LocalAudioTrack.create_audio_track("echo", source),
        # No DTX: the echo of a quiet moment is sent like any other, so the far
        # end's jitter buffer sees one continuous stream.
        rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE, dtx=False),
    )
    queued: list[float] = []
    tasks.append(asyncio.ensure_future(_sample_queue(source, queued)))
    print("ready", flush=True)
    try:
        # Until the parent closes our stdin (or dies).
        while await asyncio.to_thread(sys.stdin.readline):
            figures: dict[str, Any] = await _inbound_audio(room)
            figures["send_queue_ms"] = queued[:]
            figures["send_skipped_ms"] = echo.skipped_ms
            queued.clear()
            print(json.dumps(figures), flush=True)
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
