"""An official-SDK participant in a process of its own that reports what it receives.

Fault tests put it on the server's side of the faulty link (``netns``), so that only
our client's path is broken: it publishes camera-like stamped video and a tone,
subscribes to everyone, and prints one JSON line whenever its counts change (at most
every 50 ms): frames received per sender, audio frames per sender, who is in the
room, and every join and leave it saw.  The parent reads them on a thread
(``WatchingPeer``).  Usage (internal): ``python -m devtools.watching_peer URL``, the
token on stdin.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from livekit import rtc

from devtools.sdk_peers import SAMPLE_RATE, camera_options, feed_stamped_video, feed_tone

REPORT_INTERVAL_S = 0.05


@dataclass
class Counts:
    video: dict[str, int] = field(default_factory=dict)
    audio: dict[str, int] = field(default_factory=dict)
    present: list[str] = field(default_factory=list)
    events: list[tuple[str, str, float, str]] = field(default_factory=list)


async def _run(url: str, token: str) -> None:
    room = rtc.Room()
    counts = Counts()
    tasks: list[asyncio.Task[None]] = []

    async def count_video(track: rtc.Track, identity: str) -> None:
        async for _ in rtc.VideoStream(track):
            counts.video[identity] = counts.video.get(identity, 0) + 1

    async def count_audio(track: rtc.Track, identity: str) -> None:
        async for _ in rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1):
            counts.audio[identity] = counts.audio.get(identity, 0) + 1

    def subscribed(
        track: rtc.Track, _: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        counter = count_video if track.kind == rtc.TrackKind.KIND_VIDEO else count_audio
        tasks.append(asyncio.ensure_future(counter(track, participant.identity)))

    def joined(participant: rtc.RemoteParticipant) -> None:
        counts.events.append(("joined", participant.identity, time.time(), participant.sid))

    def left(participant: rtc.RemoteParticipant) -> None:
        counts.events.append(("left", participant.identity, time.time(), participant.sid))

    room.on("track_subscribed", subscribed)
    room.on("participant_connected", joined)
    room.on("participant_disconnected", left)
    await room.connect(url, token, rtc.RoomOptions(auto_subscribe=True))
    video = rtc.VideoSource(640, 360)
    await room.local_participant.publish_track(
        rtc.LocalVideoTrack.create_video_track("camera", video), camera_options()
    )
    microphone = rtc.AudioSource(SAMPLE_RATE, 1)
    await room.local_participant.publish_track(
        rtc.LocalAudioTrack.create_audio_track("microphone", microphone),
        rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE),
    )
    tasks.append(asyncio.ensure_future(feed_stamped_video(video, 3, chroma=150)))
    tasks.append(asyncio.ensure_future(feed_tone(microphone, 660.0)))
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    last = ""
    while not stop.is_set():
        counts.present = sorted(p.identity for p in room.remote_participants.values())
        line = json.dumps(
            {
                "video": counts.video,
                "audio": counts.audio,
                "present": counts.present,
                "events": counts.events,
            },
            sort_keys=True,
        )
        if line != last:
            print(json.dumps({"t": time.time(), **json.loads(line)}), flush=True)
            last = line
        with_timeout = asyncio.ensure_future(stop.wait())
        await asyncio.wait([with_timeout], timeout=REPORT_INTERVAL_S)
        with_timeout.cancel()
    for task in tasks:
        task.cancel()
    await room.disconnect()


@dataclass
class Sample:
    at: float
    video: dict[str, int]
    audio: dict[str, int]
    present: list[str]


class WatchingPeer:
    """The parent's handle: starts the process, keeps what it reports."""

    def __init__(self, url: str, token: str, *, netns: str | None = None) -> None:
        prefix = [] if netns is None else ["ip", "netns", "exec", netns]
        self._process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "devtools.watching_peer", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(token + "\n")
        self._process.stdin.close()
        if self._process.stdout.readline().strip() != "ready":
            self._process.kill()
            raise RuntimeError("the watching peer did not start")
        self.samples: list[Sample] = []
        #: (kind "joined"/"left", identity, wall time, participant sid)
        self.events: list[tuple[str, str, float, str]] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="watching-peer", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            try:
                report = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.samples.append(
                    Sample(report["t"], report["video"], report["audio"], report["present"])
                )
                self.events = [tuple(e) for e in report["events"]]  # type: ignore[misc]

    def video_frames(self, identity: str) -> int:
        with self._lock:
            return self.samples[-1].video.get(identity, 0) if self.samples else 0

    def audio_frames(self, identity: str) -> int:
        with self._lock:
            return self.samples[-1].audio.get(identity, 0) if self.samples else 0

    def receiving_since(self, identity: str, since: float) -> float | None:
        """Wall time of the first report after ``since`` in which frames from
        ``identity`` increased, or None."""
        with self._lock:
            previous = None
            for sample in self.samples:
                count = sample.video.get(identity, 0)
                if sample.at > since and previous is not None and count > previous:
                    return sample.at
                previous = count
        return None

    def longest_video_gap(self, identity: str, start: float, end: float) -> float:
        """Longest time between two reports showing new frames from ``identity``."""
        with self._lock:
            moments = [start]
            previous = None
            for sample in self.samples:
                count = sample.video.get(identity, 0)
                if start <= sample.at <= end and previous is not None and count > previous:
                    moments.append(sample.at)
                previous = count
            moments.append(end)
        return max(b - a for a, b in itertools.pairwise(moments))

    def close(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)


if __name__ == "__main__":
    asyncio.run(_run(sys.argv[1], sys.stdin.readline().strip()))
