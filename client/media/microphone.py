"""The microphone as an aiortc track, with mute, push-to-talk, level and "muted but
speaking".

Samples come from the audio engine's processing thread (``CaptureChain.handle``, one
processed 10 ms block at a time) and leave through ``MicrophoneTrack.recv`` on the
core's asyncio loop, as 20 ms frames (what aiortc's Opus encoder consumes).  The two
threads share only an SPSC ring and a wake-up handed to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from client.media.ring_buffer import Int16Array, Int16Ring

SAMPLE_RATE = 48000
BLOCK = 480  # 10 ms: the processing boundary
FRAME = 960  # 20 ms: one Opus frame
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
SILENCE_DBFS = -90.0
#: Louder than this counts as speech for "muted but speaking" (a quiet room sits
#: well under -50 dBFS after noise suppression; speech near a laptop is -35..-15).
SPEECH_DBFS = -42.0


def dbfs(block: Int16Array) -> float:
    """RMS level of int16 samples in dB relative to full scale."""
    if block.size == 0:
        return SILENCE_DBFS
    values = block.astype(np.float32) / 32768.0
    rms = float(np.sqrt(np.mean(values * values)))
    return 20.0 * math.log10(rms) if rms > 1e-9 else SILENCE_DBFS


class MicrophoneTrack(MediaStreamTrack):
    """Processed microphone audio: 48 kHz mono s16 frames of 20 ms, at the pace the
    device captures them.

    aiortc's sender pulls one frame, encodes it in an executor, sends it and pulls
    again; it never paces by itself, so the pace is the capture's.  The sound server
    delivers capture in bursts (tens of milliseconds at once) and the core loop may
    be late by as much again, so frames that wait here are normal and all of them
    are sent, in order, each 960 samples after the last (``pts`` in 1/48000 s).

    Only a real stall (more than ``STALL_SAMPLES`` waiting: the loop or the
    encoder stopped pulling, or a reader started late) drops audio: the oldest is
    discarded down to the newest frame, and ``pts`` jumps by what was dropped, so
    the RTP timestamps keep telling the receiver how much time passed."""

    kind = "audio"
    #: 200 ms: far beyond a capture burst plus a busy loop's lateness.
    STALL_SAMPLES = 10 * FRAME

    def __init__(self) -> None:
        super().__init__()
        self._ring = Int16Ring(SAMPLE_RATE)  # 1 s: room for a stalled loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._reader_waiting = False
        self._pts = 0
        # Producer side: samples that did not fit (a reader stalled for a second).
        self._push_dropped = 0
        self._push_dropped_seen = 0
        self.frames_sent = 0
        #: Samples thrown away after stalls (both sides), and how many stalls.
        self.samples_dropped = 0
        self.stalls = 0

    @property
    def queued_samples(self) -> int:
        """Processed audio waiting for ``recv`` (read from any thread: a figure)."""
        return self._ring.available

    # Processing thread.
    def push(self, block: Int16Array) -> None:
        written = self._ring.write(block)
        if written < len(block):
            self._push_dropped += len(block) - written
        loop = self._loop
        if self._reader_waiting and loop is not None and self._ring.available >= FRAME:
            self._reader_waiting = False
            # A closed loop raises RuntimeError: nobody reads any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake.set)

    # Core loop.
    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        while self._ring.available < FRAME:
            self._wake.clear()
            self._reader_waiting = True
            # Re-check: a block may have landed between the test and the flag.
            if self._ring.available >= FRAME:
                break
            await self._wake.wait()
            if self.readyState != "live":
                raise MediaStreamError
        available = self._ring.available
        if available > self.STALL_SAMPLES:
            self._skip_stall(available)
        pcm = np.empty(FRAME, dtype=np.int16)
        self._ring.read_into(pcm)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = TIME_BASE
        frame.pts = self._pts
        self._pts += FRAME
        self.frames_sent += 1
        return frame

    def _skip_stall(self, available: int) -> None:
        # Keep the newest frame (and the part-frame after it); a backlog sent now
        # would only arrive late, and the receiver would play it late for good.
        stale = self._ring.discard(available - FRAME - available % FRAME)
        pushed = self._push_dropped
        lost = stale + pushed - self._push_dropped_seen
        self._push_dropped_seen = pushed
        self.samples_dropped += lost
        self.stalls += 1
        if self.frames_sent:
            # The timeline carries on where the audio now comes from.
            self._pts += lost

    def stop(self) -> None:
        super().stop()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)


class CaptureChain:
    """What happens to each processed capture block: level, mute, push-to-talk,
    "muted but speaking", then the track.

    ``muted`` is the user's microphone switch; holding push-to-talk
    (``set_push_to_talk(True)``) sends while muted.  ``on_speaking_while_muted`` is
    called from the processing thread (hand it over to your own loop) when speech
    lasts ``speech_ms`` within a second while muted, at most once per ``hold_s``."""

    def __init__(
        self,
        track: MicrophoneTrack,
        *,
        speech_ms: int = 400,
        hold_s: float = 5.0,
        decay_db_per_block: float = 0.75,
    ) -> None:
        self.track = track
        self.muted = False
        self.push_to_talk = False
        self.on_speaking_while_muted: Callable[[], None] | None = None
        #: Meter value (rises at once, falls slowly) and the last block's level.
        self.level_dbfs = SILENCE_DBFS
        self.block_dbfs = SILENCE_DBFS
        self._decay = decay_db_per_block
        self._speech_blocks = max(1, speech_ms // 10)
        self._hold_s = hold_s
        self._window = np.zeros(100, dtype=np.bool_)  # the last second, per block
        self._window_at = 0
        self._last_warning = -math.inf
        self._silence = np.zeros(BLOCK, dtype=np.int16)

    @property
    def sending(self) -> bool:
        return not self.muted or self.push_to_talk

    def set_muted(self, muted: bool) -> None:
        self.muted = muted

    def set_push_to_talk(self, pressed: bool) -> None:
        self.push_to_talk = pressed

    # Processing thread.
    def handle(self, block: Int16Array) -> None:
        level = dbfs(block)
        self.block_dbfs = level
        self.level_dbfs = max(level, self.level_dbfs - self._decay)
        sending = self.sending
        self._window[self._window_at] = (not sending) and level > SPEECH_DBFS
        self._window_at = (self._window_at + 1) % self._window.size
        if not sending and int(self._window.sum()) >= self._speech_blocks:
            now = time.monotonic()
            if now - self._last_warning >= self._hold_s:
                self._last_warning = now
                self._window[:] = False
                callback = self.on_speaking_while_muted
                if callback is not None:
                    callback()
        self.track.push(block if sending else self._silence)
