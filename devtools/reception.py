"""What our client received from each remote participant, kept across rejoins.

Fault benchmarks and tests need figures over a time window (frames per second,
the longest freeze, whether a tone is still recognisable) for media whose tracks
come and go: every rejoin subscribes to fresh tracks.  `ReceptionLog` listens to a
room's `TrackSubscribed` events, puts a sink on every track and files what arrives
under the sender's identity, with wall-clock arrival times (`time.time()`, the
clock the frame stamps and `devtools.watching_peer` use).

Per video frame: arrival time, stamp counter and capture-to-arrival latency.  A
frame whose stamp counter is not new is a repeat and ignored; one whose stamp cannot
be read is still a new picture (aiortc never hands out one twice), counted apart.
Per audio frame (aiortc hands out 20 ms of Opus at a time): the
dominant frequency and how much of the frame's energy a sine at the expected
frequency explains, so that a tone can be told apart from noise or concealment
artefacts without keeping the samples.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import av
import numpy as np
import numpy.typing as npt

from client.livekit import events as ev
from client.livekit.loss_concealment import LossStats, loss_stats
from client.livekit.remote_track import RemoteTrack
from client.livekit.room import Room
from client.media.audio_analysis import dominant_frequency, rms_dbfs, samples_of
from client.media.video_analysis import read_stamp

__all__ = [
    "TONE_LEVEL_FLOOR_DBFS",
    "TONE_TOLERANCE_HZ",
    "AudioWindow",
    "ReceptionLog",
    "SenderLog",
    "receiver_stats",
    "tone_fit",
]

#: A window whose dominant frequency is this close to the expected tone carries it.
#: One 20 ms window at 48 kHz has 50 Hz FFT bins; the interpolated peak of a clean
#: tone lands within a few Hz, a concealed or smeared one drifts further.
TONE_TOLERANCE_HZ = 30.0
#: Below this level a window is silence (a concealment fade-out), not the tone.
TONE_LEVEL_FLOOR_DBFS = -45.0


def tone_fit(samples: npt.NDArray[np.float32], frequency: float, sample_rate: int) -> float:
    """Share (0..1) of the window's energy explained by a sine at `frequency`.

    A least-squares fit of a*cos + b*sin + c: unlike an FFT bin it needs no whole
    number of periods in the window, so 13.2 periods of 660 Hz in 20 ms fit exactly.
    """
    values = np.asarray(samples, dtype=np.float64)
    energy = float(np.dot(values, values))
    if values.size < 3 or energy == 0.0:
        return 0.0
    phase = 2.0 * np.pi * frequency * np.arange(values.size) / sample_rate
    basis = np.column_stack((np.cos(phase), np.sin(phase), np.ones(values.size)))
    coefficients, *_ = np.linalg.lstsq(basis, values, rcond=None)
    residual = values - basis @ coefficients
    return max(0.0, 1.0 - float(np.dot(residual, residual)) / energy)


@dataclass(frozen=True)
class AudioWindow:
    at: float
    frequency: float
    level_dbfs: float
    samples: int
    sample_rate: int


@dataclass
class SenderLog:
    """Everything received from one identity, over all its tracks so far."""

    #: (arrival, stamp counter, capture-to-arrival ms) of each fresh video frame.
    video: list[tuple[float, int, float]] = field(default_factory=list)
    video_unstamped: int = 0
    #: How many frames arrived at each (width, height).
    video_sizes: dict[tuple[int, int], int] = field(default_factory=dict)
    audio: list[AudioWindow] = field(default_factory=list)
    #: Fit of each audio window to `ReceptionLog.expected_tone` (when set).
    tone_fits: list[float] = field(default_factory=list)
    tracks: list[RemoteTrack] = field(default_factory=list)
    last_counter: int = -1


class ReceptionLog:
    """Sinks on every track `room` subscribes to; figures per sender and window.

    `expected_tone` maps an identity to the frequency it sends, for `tone_fit`.
    """

    def __init__(self, room: Room, expected_tone: dict[str, float] | None = None) -> None:
        self.room = room
        self.expected_tone = dict(expected_tone or {})
        self.senders: dict[str, SenderLog] = {}
        self._unsubscribe = room.events.on(ev.TrackSubscribed, self._subscribed)

    def close(self) -> None:
        """Stop filing new tracks (sinks already placed stay until their track ends)."""
        self._unsubscribe()

    def sender(self, identity: str) -> SenderLog:
        return self.senders.setdefault(identity, SenderLog())

    def _subscribed(self, event: ev.TrackSubscribed) -> None:
        identity = event.participant.identity
        log = self.sender(identity)
        log.tracks.append(event.track)
        tone = self.expected_tone.get(identity)

        def sink(frame: av.VideoFrame | av.AudioFrame) -> None:
            now = time.time()
            if isinstance(frame, av.VideoFrame):
                size = (frame.width, frame.height)
                log.video_sizes[size] = log.video_sizes.get(size, 0) + 1
                try:
                    stamp = read_stamp(frame)
                except ValueError:
                    # frame_stamp.read fails on frames narrower than a stamp row.
                    stamp = None
                if stamp is None:
                    # Still a new picture (aiortc never repeats one), just unreadable:
                    # it ends a freeze, but carries no latency.
                    log.video_unstamped += 1
                    log.video.append((now, log.last_counter, float("nan")))
                elif stamp.counter > log.last_counter:
                    log.last_counter = stamp.counter
                    log.video.append((now, stamp.counter, now * 1000 - stamp.capture_time_ms))
                return
            samples = samples_of(frame)
            if samples.size < 4:
                return
            log.audio.append(
                AudioWindow(
                    now,
                    dominant_frequency(samples, frame.sample_rate),
                    rms_dbfs(samples),
                    int(samples.size),
                    frame.sample_rate,
                )
            )
            if tone is not None:
                log.tone_fits.append(tone_fit(samples, tone, frame.sample_rate))

        event.track.add_sink(sink)

    # ------------------------------------------------------------------ video

    def first_fresh_video(self, identity: str, since: float) -> float | None:
        """Arrival time of the first fresh video frame after `since`, or None."""
        first = None
        # From the end: callers poll for recent frames, and the log grows long.
        for at, _, _ in reversed(self.sender(identity).video):
            if at <= since:
                break
            first = at
        return first

    def video_frames(self, identity: str, start: float, end: float) -> int:
        return sum(1 for at, _, _ in self.sender(identity).video if start <= at <= end)

    def longest_video_gap(self, identity: str, start: float, end: float) -> float:
        """Longest time between fresh video frames within [start, end] (the window's
        edges count as frames, so a picture frozen throughout shows as end - start)."""
        moments = [start]
        moments += [at for at, _, _ in self.sender(identity).video if start <= at <= end]
        moments.append(end)
        return max(b - a for a, b in itertools.pairwise(moments))

    def video_latency_ms(self, identity: str, start: float, end: float) -> list[float]:
        """Capture-to-arrival latency of each fresh stamped frame in the window."""
        return [
            ms
            for at, _, ms in self.sender(identity).video
            if start <= at <= end and not math.isnan(ms)
        ]

    # ------------------------------------------------------------------ audio

    def audio_windows(self, identity: str, start: float, end: float) -> list[AudioWindow]:
        return [w for w in self.sender(identity).audio if start <= w.at <= end]

    def audio_frames_per_s(self, identity: str, start: float, end: float) -> float:
        return len(self.audio_windows(identity, start, end)) / max(end - start, 1e-9)

    def audio_seconds_per_s(self, identity: str, start: float, end: float) -> float:
        """Seconds of audio decoded per second of wall time (1.0: nothing missing)."""
        decoded = sum(w.samples / w.sample_rate for w in self.audio_windows(identity, start, end))
        return decoded / max(end - start, 1e-9)

    def tone_share(
        self,
        identity: str,
        start: float,
        end: float,
        frequency: float,
        tolerance_hz: float = TONE_TOLERANCE_HZ,
    ) -> float:
        """Share of the window's audio frames in which `frequency` dominates."""
        windows = self.audio_windows(identity, start, end)
        if not windows:
            return 0.0
        present = sum(
            1
            for w in windows
            if abs(w.frequency - frequency) <= tolerance_hz
            and w.level_dbfs >= TONE_LEVEL_FLOOR_DBFS
        )
        return present / len(windows)

    def mean_tone_fit(self, identity: str, start: float, end: float) -> float:
        """Mean `tone_fit` of the window's audio frames against the expected tone."""
        log = self.sender(identity)
        fits = [
            fit
            for window, fit in zip(log.audio, log.tone_fits, strict=False)
            if start <= window.at <= end
        ]
        return float(np.mean(fits)) if fits else 0.0

    def median_frequency(self, identity: str, start: float, end: float) -> float:
        """Median of the dominant frequency of each audio frame in the window."""
        windows = self.audio_windows(identity, start, end)
        if not windows:
            return 0.0
        return float(np.median([w.frequency for w in windows]))


def receiver_stats(room: Room, track: RemoteTrack) -> LossStats | None:
    """Loss-concealment counters of the aiortc receiver behind `track`, if any."""
    engine = room.engine
    if engine is None or engine.subscriber is None:
        return None
    for receiver in engine.subscriber.pc.getReceivers():
        if receiver.track is track.incoming:
            return loss_stats(receiver)
    return None
