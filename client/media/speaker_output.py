"""Remote audio mixed into one output: per-participant jitter buffers and volume.

Each subscribed audio track gets a ``RemoteAudioStream``: its ``RemoteTrack`` sink
(on the core's asyncio loop) converts every decoded frame to 48 kHz mono s16 and
writes it into the stream's SPSC ring, measuring the arrival jitter as it goes; the
audio engine's processing thread calls ``Mixer.mix`` once per 10 ms block, which takes
one block from every stream that is playing, scales it by its participant's volume
and sums them.

A stream starts (and restarts after running dry) only once it holds its target depth:
one frame plus four times the measured interarrival jitter (RFC 3550's estimator),
between ``MIN_TARGET_MS`` and ``MAX_TARGET_MS``.

Running dry in the middle of a talk spurt is an underrun: the blocks of silence
played until audio resumes are underrun blocks, and their samples concealed samples.
A gap the sender's timestamps explain (it sent nothing: muted, DTX) or one longer
than ``PAUSE_MS`` is a pause, not an underrun.

A burst (frames held up by the network arriving together) only fills the buffer
beyond its target for a while; the buffer plays it out, nothing is thrown away.  Two
things do cut it back, never below its target: more than ``MAX_DEPTH_MS`` waiting
(an overrun: cut at once), and a surplus that has stayed above the target for
``TRIM_WINDOW_MS`` in a row (a burst that never drained, such as the one after a
stall, or a sender clock faster than our device): that is latency added for good.
It is trimmed 10 ms at a time, by skipping quiet blocks (the pauses between words,
where a missing block is not heard); speech that leaves no pause for
``TRIM_FORCE_MS`` has what is left cut at once.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from client.livekit.remote_track import RemoteTrack
from client.media.ring_buffer import Int16Array, Int16Ring

log = logging.getLogger(__name__)

SAMPLE_RATE = 48000
BLOCK = 480
MIN_TARGET_MS = 30.0
MAX_TARGET_MS = 250.0
#: Held beyond this, the buffer overruns and is cut back to its target.
MAX_DEPTH_MS = 500.0
#: A surplus over the target that never drained for this long is trimmed ...
TRIM_WINDOW_MS = 500.0
#: ... once it is at least one block, in quiet blocks (peak below ``QUIET_PEAK``) ...
TRIM_MIN_MS = 10.0
QUIET_PEAK = 1000  # about -30 dBFS
#: ... or at once when no quiet block came for this long.
TRIM_FORCE_MS = 2000.0
#: A gap this long is the sender pausing (muted, DTX), not an underrun to conceal.
PAUSE_MS = 1000.0


class JitterEstimator:
    """RFC 3550 interarrival jitter, in ms, from media timestamps and arrival times."""

    def __init__(self) -> None:
        self.jitter_ms = 0.0
        self._last: tuple[float, float] | None = None

    def update(self, media_ms: float, arrival_ms: float) -> float:
        if self._last is not None:
            last_media, last_arrival = self._last
            transit_change = (arrival_ms - last_arrival) - (media_ms - last_media)
            # A long silence or a timestamp jump is a new talk spurt, not jitter.
            if abs(transit_change) < 1000.0:
                self.jitter_ms += (abs(transit_change) - self.jitter_ms) / 16.0
        self._last = (media_ms, arrival_ms)
        return self.jitter_ms


@dataclass(frozen=True)
class MixTotals:
    """Counters summed over every stream the mixer ever played (removed ones too)."""

    underruns: int = 0
    underrun_blocks: int = 0
    overruns: int = 0
    trimmed_samples: int = 0
    concealed_samples: int = 0
    played_samples: int = 0

    def __add__(self, other: MixTotals) -> MixTotals:
        return MixTotals(
            self.underruns + other.underruns,
            self.underrun_blocks + other.underrun_blocks,
            self.overruns + other.overruns,
            self.trimmed_samples + other.trimmed_samples,
            self.concealed_samples + other.concealed_samples,
            self.played_samples + other.played_samples,
        )


@dataclass
class StreamStats:
    identity: str
    sid: str
    jitter_ms: float
    target_ms: float
    depth_ms: float
    underruns: int
    underrun_blocks: int
    overruns: int
    trimmed_samples: int
    concealed_samples: int
    played_samples: int


class RemoteAudioStream:
    """One remote audio track's jitter buffer (producer: core loop, consumer: the
    processing thread)."""

    def __init__(self, identity: str, sid: str, *, clock: Callable[[], float] = time.monotonic):
        self.identity = identity
        self.sid = sid
        self.volume = 1.0
        self._clock = clock
        self._ring = Int16Ring(SAMPLE_RATE)  # 1 s
        self._resampler: av.AudioResampler | None = None
        self._jitter = JitterEstimator()
        self._media_samples = 0
        self._last_stamp: int | None = None
        self._last_size = 0
        #: Media time the sender skipped (producer side) and how much of it explained
        #: a gap already (consumer side).
        self.skipped_samples = 0
        self._skips_used = 0
        # Written by the producer, read by the consumer (one float store).
        self.target_samples = int(MIN_TARGET_MS * SAMPLE_RATE / 1000)
        # Consumer state.
        self._playing = False
        self._ever_played = False
        self._gap_samples = 0
        #: Unexplained gaps (one per running dry) and the blocks they lasted.
        self.underruns = 0
        self.underrun_blocks = 0
        self.overruns = 0
        self.trimmed_samples = 0
        self._lowest_depth = 0  # lowest depth seen in the current trim window
        self._window_blocks = 0
        #: Surplus found and not trimmed yet, and how many loud blocks in a row have
        #: played since it was found or last trimmed.
        self._surplus = 0
        self._surplus_blocks = 0
        self.concealed_samples = 0
        self.played_samples = 0
        self.dropped_samples = 0  # producer side: ring full
        self._block: npt.NDArray[np.int16] = np.zeros(BLOCK, dtype=np.int16)

    # --- producer (core loop) ----------------------------------------------------

    def on_frame(self, frame: av.VideoFrame | av.AudioFrame) -> None:
        if not isinstance(frame, av.AudioFrame):
            return
        pcm = self._to_mono_48k(frame)
        if pcm.size == 0:
            return
        frame_ms = 1000.0 * pcm.size / SAMPLE_RATE
        media_samples = self._media_samples
        if frame.pts is not None and frame.time_base is not None:
            # The sender's own timeline (RTP timestamps): a jump forward is time it did
            # not send (DTX, a pause), which is neither jitter nor an underrun.
            stamped = int(frame.pts * frame.time_base * SAMPLE_RATE)
            if self._last_stamp is not None:
                skipped = stamped - self._last_stamp - self._last_size
                if 0 < skipped < 10 * SAMPLE_RATE:
                    self.skipped_samples += skipped
                    media_samples += skipped
            self._last_stamp, self._last_size = stamped, pcm.size
        jitter = self._jitter.update(1000.0 * media_samples / SAMPLE_RATE, 1000.0 * self._clock())
        self._media_samples = media_samples + pcm.size
        target_ms = min(MAX_TARGET_MS, max(MIN_TARGET_MS, frame_ms + 4.0 * jitter))
        self.target_samples = int(target_ms * SAMPLE_RATE / 1000)
        written = self._ring.write(pcm)
        self.dropped_samples += pcm.size - written

    def _to_mono_48k(self, frame: av.AudioFrame) -> Int16Array:
        if (
            frame.format.name == "s16"
            and frame.layout.nb_channels == 1
            and frame.sample_rate == SAMPLE_RATE
        ):
            samples: Int16Array = np.asarray(frame.to_ndarray(), dtype=np.int16).reshape(-1)
            return samples
        if self._resampler is None:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        joined: Int16Array = np.concatenate(chunks).astype(np.int16, copy=False)
        return joined

    # --- consumer (processing thread) ----------------------------------------------

    def pull(self) -> Int16Array | None:
        """The next 10 ms block, or None while buffering (the caller plays silence)."""
        ring = self._ring
        available = ring.available
        target = self.target_samples
        if not self._playing:
            if available < target:
                if self._ever_played:
                    self._gap_samples += BLOCK
                return None
            self._playing = True
            self._resumed()
            self._surplus = 0
            self._restart_window(available)
        if available > MAX_DEPTH_MS * SAMPLE_RATE / 1000:
            self.overruns += 1
            ring.discard(available - target)
            self._surplus = 0
            self._restart_window(target)
        else:
            self._watch_surplus(available, target)
        got = ring.read_into(self._block)
        if self._surplus >= BLOCK and got == BLOCK and ring.available >= target:
            if self._quiet(self._block):
                # Skipped: the next block plays in its place, 10 ms earlier.
                self._surplus -= BLOCK
                self._surplus_blocks = 0
                self._lowest_depth -= BLOCK
                self.trimmed_samples += BLOCK
                got = ring.read_into(self._block)
            else:
                self._surplus_blocks += 1
                if self._surplus_blocks * BLOCK * 1000 >= TRIM_FORCE_MS * SAMPLE_RATE:
                    cut = ring.discard(min(self._surplus, ring.available - target))
                    self._lowest_depth -= cut
                    self.trimmed_samples += cut
                    self._surplus = 0
        if got < BLOCK:
            self._block[got:] = 0
            self._playing = False
            self._gap_samples = BLOCK - got
        self.played_samples += BLOCK
        return self._block

    def _resumed(self) -> None:
        skipped = self.skipped_samples - self._skips_used
        self._skips_used += skipped
        gap = max(0, self._gap_samples - skipped)
        if self._ever_played and gap > 0 and gap * 1000 < PAUSE_MS * SAMPLE_RATE:
            self.underruns += 1
            self.underrun_blocks += -(-gap // BLOCK)
            self.concealed_samples += gap
        self._gap_samples = 0
        self._ever_played = True

    def _restart_window(self, depth: int) -> None:
        self._lowest_depth = depth
        self._window_blocks = 0

    def _watch_surplus(self, available: int, target: int) -> None:
        # The depth's low point over a window is what the buffer really holds beyond
        # what it needs: a burst drains back below it within the window, a lasting
        # surplus does not.  Cutting that much leaves the current depth >= target.
        self._lowest_depth = min(self._lowest_depth, available)
        self._window_blocks += 1
        if self._window_blocks * BLOCK * 1000 < TRIM_WINDOW_MS * SAMPLE_RATE:
            return
        surplus = self._lowest_depth - target
        if surplus * 1000 >= TRIM_MIN_MS * SAMPLE_RATE:
            if self._surplus < BLOCK:
                self._surplus_blocks = 0
            # What the window saw is what is still there (blocks skipped meanwhile
            # lowered it): this replaces, not adds to, what was pending.
            self._surplus = surplus - surplus % BLOCK
        else:
            self._surplus = 0
        self._restart_window(available)

    @staticmethod
    def _quiet(block: Int16Array) -> bool:
        return int(block.max()) < QUIET_PEAK and int(block.min()) > -QUIET_PEAK

    def totals(self) -> MixTotals:
        return MixTotals(
            self.underruns,
            self.underrun_blocks,
            self.overruns,
            self.trimmed_samples,
            self.concealed_samples,
            self.played_samples,
        )

    def stats(self) -> StreamStats:
        return StreamStats(
            self.identity,
            self.sid,
            self._jitter.jitter_ms,
            1000.0 * self.target_samples / SAMPLE_RATE,
            1000.0 * self._ring.available / SAMPLE_RATE,
            self.underruns,
            self.underrun_blocks,
            self.overruns,
            self.trimmed_samples,
            self.concealed_samples,
            self.played_samples,
        )


class Mixer:
    """Every remote audio stream summed into one 10 ms block, with volumes.

    ``add_track`` / ``remove_track`` / ``set_volume`` run on the core loop; ``mix``
    on the processing thread.  The set of streams is an immutable tuple replaced in
    one store, so the mixing thread never sees it half-changed."""

    def __init__(self) -> None:
        self._streams: tuple[RemoteAudioStream, ...] = ()
        self._removers: dict[str, Callable[[], None]] = {}
        self._volumes: dict[str, float] = {}
        self._sum: npt.NDArray[np.float32] = np.zeros(BLOCK, dtype=np.float32)
        self._scaled: npt.NDArray[np.float32] = np.zeros(BLOCK, dtype=np.float32)
        self.mixed_blocks = 0
        self._removed_totals = MixTotals()

    def add_track(self, identity: str, track: RemoteTrack) -> RemoteAudioStream:
        """Play a subscribed audio track (its ``RemoteTrack.sid`` names it)."""
        if track.kind != "audio":
            raise ValueError(f"not an audio track: {track!r}")
        self.remove_track(track.sid)
        stream = RemoteAudioStream(identity, track.sid)
        stream.volume = self._volumes.get(identity, 1.0)
        self._removers[track.sid] = track.add_sink(stream.on_frame)
        self._streams = (*self._streams, stream)
        return stream

    def remove_track(self, sid: str) -> None:
        remover = self._removers.pop(sid, None)
        if remover is not None:
            remover()
        for stream in self._streams:
            if stream.sid == sid:
                self._removed_totals += stream.totals()
        self._streams = tuple(s for s in self._streams if s.sid != sid)

    def remove_participant(self, identity: str) -> None:
        for stream in self._streams:
            if stream.identity == identity:
                self.remove_track(stream.sid)

    def set_volume(self, identity: str, volume: float) -> None:
        """0.0 (silent) to 2.0 (twice as loud); 1.0 is as received."""
        if not 0.0 <= volume <= 2.0 or math.isnan(volume):
            raise ValueError(f"volume must be within [0, 2], got {volume}")
        self._volumes[identity] = volume
        for stream in self._streams:
            if stream.identity == identity:
                stream.volume = volume

    def volume(self, identity: str) -> float:
        return self._volumes.get(identity, 1.0)

    @property
    def streams(self) -> tuple[RemoteAudioStream, ...]:
        return self._streams

    def clear(self) -> None:
        for sid in list(self._removers):
            self.remove_track(sid)

    def mix(self, out: Int16Array) -> None:
        """Write the next 10 ms of the mix into ``out`` (int16, BLOCK samples)."""
        total = self._sum
        total[:] = 0.0
        for stream in self._streams:
            block = stream.pull()
            if block is None:
                continue
            np.multiply(block, np.float32(stream.volume), out=self._scaled)
            total += self._scaled
        np.clip(total, -32768.0, 32767.0, out=total)
        out[:] = total  # float32 -> int16, truncating toward zero
        self.mixed_blocks += 1

    def stats(self) -> list[StreamStats]:
        return [s.stats() for s in self._streams]

    def totals(self) -> MixTotals:
        """Counters of every stream played so far (read from any thread: a stream
        removed meanwhile may be counted once or not yet)."""
        total = self._removed_totals
        for stream in self._streams:
            total += stream.totals()
        return total
