"""Keep remote audio and video going through packet loss (hooks into aiortc).

aiortc's receive path stalls on loss.  Its audio jitter buffer hands out a frame
only when the frames after it are all there, so a lost packet blocks the stream
until 16 newer packets overflow the buffer, and the frame is simply missing (no
concealment).  Its video jitter buffer waits for a missing packet until 512 newer
ones overflow it, which at a few hundred kbit/s is seconds of frozen picture, and
a keyframe is only requested at that point or after a failed decode, with no
retry if the keyframe itself is lost.

What this module changes, per receiver (installed once, process-wide):

* Audio.  Each packet has a deadline: when the packet ``AUDIO_PREFETCH``
  sequence numbers later has arrived (none: a packet in order plays at once).  A
  packet missing at its deadline becomes a concealment frame: the lost 20 ms is
  rebuilt from the next packet's in-band FEC data when that packet is there, by
  libopus packet-loss concealment otherwise.  Decoding
  goes through libopus directly (ctypes), because PyAV's decoder has no way to ask
  for FEC or PLC; without a loadable libopus we fall back to PyAV plus a faded
  repetition of the last frame.  Every frame whose deadline passed is released at
  once, so a burst of late packets does not grow the delay.
* Opus in-band FEC is asked for in our SDP (``useinbandfec=1``, which tells the
  sender we decode it) and produced by our encoder (libopus ``fec`` with an
  expected loss, which also makes it pick the SILK/hybrid modes that carry it).
* Video.  Frames are assembled by sequence number and marker bit.  A hole that
  NACK retransmission has not filled after ``KEYFRAME_REQUEST_AFTER_S`` (or 1.5
  round trips, when longer) asks for a keyframe; after ``GIVE_UP_AFTER_S`` (or
  three round trips), or as soon as a complete keyframe sits after it, the hole
  is skipped.  After a skipped hole or a failed decode no
  frame reaches the decoder until a keyframe does (a P-frame on a broken
  reference only smears), and a PLI goes to the sender's media SSRC at most every
  ``PLI_INTERVAL_S`` until that keyframe arrives.

``internals_available()`` checks the aiortc internals used; tests fail when an
aiortc release changes them.  Supported aiortc range: see pyproject.toml.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fractions
import functools
import logging
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
import numpy.typing as npt
from aiortc import codecs as aiortc_codecs
from aiortc import rtcrtpreceiver
from aiortc.codecs import opus as aiortc_opus
from aiortc.codecs.base import Decoder
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from client.livekit import vp9_depacketizer

log = logging.getLogger(__name__)

OPUS_RATE = 48_000
OPUS_CHANNELS = 2  # aiortc's decoder hands out s16 stereo; consumers expect that.
OPUS_FRAME_SAMPLES = 960  # 20 ms
OPUS_MAX_FRAME_SAMPLES = 5760  # 120 ms, the longest Opus packet
OPUS_TIME_BASE = fractions.Fraction(1, OPUS_RATE)

# Audio: how many newer sequence numbers must have arrived before a packet is
# played or declared lost.  None: a packet is played as it arrives, and a missing
# one is concealed as soon as the next one is there, from that next packet's
# in-band FEC (the same rebuild a longer wait would give it).  Waiting for one
# newer packet would buy nothing (a swapped pair is still concealed); waiting for
# two lets a swapped pair through but costs 40 ms on every packet, which put
# mouth-to-ear over 120 ms.  The playout jitter buffer
# (client/media/speaker_output.py) absorbs the arrival jitter after this.
AUDIO_PREFETCH = 0
# A longer run of missing packets is an outage, not loss: conceal its start (the
# PLC fades out by itself) and skip the rest instead of inventing seconds of audio.
MAX_CONCEALED_RUN = 10
# A forward jump this large (in packets) means a new stream: start over.
MAX_SEQUENCE_JUMP = 3000
# Packets this far behind the playout point are stale duplicates or a restart.
MAX_MISORDER = 100

# Video timings, in seconds of wall clock.
KEYFRAME_REQUEST_AFTER_S = 0.2
GIVE_UP_AFTER_S = 0.4
#: How many round trips a hole is given before asking for a keyframe, and before
#: skipping it: a retransmission needs one round trip, a repeated request two.
KEYFRAME_REQUEST_ROUND_TRIPS = 1.5
GIVE_UP_ROUND_TRIPS = 3.0

_round_trip_s = 0.0
#: The shortest wait before a lost packet is asked for again.
NACK_REPEAT_MIN_S = 0.1
#: At most this many sequence numbers in one repeated request.
NACK_REPEAT_MAX = 64


def set_round_trip(seconds: float) -> None:
    """The network's round-trip time (the signal's ping), which sets how long a
    hole in the video may wait for its retransmission.  Fixed waits shorter than
    the round trip turn every lost packet into a keyframe request, and the picture
    freezes on a slow lossy link."""
    global _round_trip_s
    _round_trip_s = max(0.0, seconds)


def keyframe_request_after_s() -> float:
    return max(KEYFRAME_REQUEST_AFTER_S, KEYFRAME_REQUEST_ROUND_TRIPS * _round_trip_s)


def give_up_after_s() -> float:
    return max(GIVE_UP_AFTER_S, GIVE_UP_ROUND_TRIPS * _round_trip_s)


PLI_INTERVAL_S = 0.3
# Packets kept for one unfinished video frame region before forcing a skip.
VIDEO_CAPACITY = 512

# Our encoder: FEC sized for this much loss, in percent.
EXPECTED_LOSS_PERCENT = 10
# The libopus options (FFmpeg names) our hook adds to aiortc's Opus encoder.
OPUS_ENCODER_OPTIONS: dict[str, str] = {"fec": "1", "packet_loss": str(EXPECTED_LOSS_PERCENT)}

_JITTER_SLOT = "_RTCRtpReceiver__jitter_buffer"
_CODECS_SLOT = "_RTCRtpReceiver__codecs"
_RTCP_SSRC_SLOT = "_RTCRtpReceiver__rtcp_ssrc"
_STATE_ATTR = "_visio_loss_state"
_HOOK_MARK = "_visio_loss_hook"


# --- statistics -----------------------------------------------------------------


@dataclass
class LossStats:
    """What concealment did on one receiver; read by tests and the benchmark."""

    kind: str
    audio_frames_decoded: int = 0
    audio_frames_fec: int = 0
    audio_frames_plc: int = 0
    audio_frames_skipped: int = 0
    video_frames_out: int = 0
    video_gaps_skipped: int = 0
    video_decode_failures: int = 0
    video_frames_dropped_awaiting_keyframe: int = 0
    keyframe_requests: int = 0
    nack_repeats: int = 0


# --- libopus through ctypes -------------------------------------------------------


class _OpusLibrary:
    """The few libopus decoder calls we need, bound with explicit signatures."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.create = lib.opus_decoder_create
        self.create.restype = ctypes.c_void_p
        self.create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        self.destroy = lib.opus_decoder_destroy
        self.destroy.restype = None
        self.destroy.argtypes = [ctypes.c_void_p]
        self.decode = lib.opus_decode
        self.decode.restype = ctypes.c_int
        self.decode.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int32,
            ctypes.POINTER(ctypes.c_int16),
            ctypes.c_int,
            ctypes.c_int,
        ]
        self.nb_samples = lib.opus_packet_get_nb_samples
        self.nb_samples.restype = ctypes.c_int
        self.nb_samples.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]


def _libopus_candidates() -> Iterable[str]:
    """PyAV's bundled copy first (it is what already decodes Opus here), then the
    system's.  The wheels keep it next to the package under a hashed name."""
    av_dir = Path(av.__file__).resolve().parent
    for folder, pattern in (
        (av_dir.parent / "av.libs", "libopus*.so*"),  # Linux wheels
        (av_dir / ".dylibs", "libopus*.dylib"),  # macOS wheels
        (av_dir.parent / "av.libs", "*opus*.dll"),  # Windows wheels
    ):
        if folder.is_dir():
            yield from (str(p) for p in sorted(folder.glob(pattern)))
    found = ctypes.util.find_library("opus")
    if found:
        yield found
    if sys.platform.startswith("linux"):
        yield "libopus.so.0"


@functools.cache
def libopus() -> _OpusLibrary | None:
    """The libopus decoder API, or None when no library can be loaded."""
    for candidate in _libopus_candidates():
        try:
            return _OpusLibrary(ctypes.CDLL(candidate))
        except (OSError, AttributeError):
            log.debug("cannot use libopus at %s", candidate, exc_info=True)
    log.warning("libopus not found: lost audio is concealed by repetition, without FEC")
    return None


# --- audio ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioUnit:
    """One 20 ms slot of the stream: a packet, or a lost one (``payload`` None)
    with the next packet's payload when it is there (its FEC holds this slot)."""

    timestamp: int
    payload: bytes | None
    samples: int = OPUS_FRAME_SAMPLES
    fec_source: bytes | None = None


class EncodedBatch(JitterFrame):
    """Several frames released by one packet arrival.

    aiortc queues one ``JitterFrame`` per packet and rewrites its ``timestamp``
    from RTP time to stream time; ``raw_timestamp`` keeps the RTP value so the
    decoder can shift every item by the same offset.
    """

    def __init__(
        self,
        items: list[Any],
        timestamp: int,
        stats: LossStats,
        gate: KeyframeGate | None = None,
    ) -> None:
        super().__init__(data=b"", timestamp=timestamp)
        self.items = items
        self.raw_timestamp = timestamp
        self.stats = stats
        self.gate = gate

    def stream_time(self, rtp_timestamp: int) -> int:
        delta = (rtp_timestamp - self.raw_timestamp) & 0xFFFFFFFF
        if delta >= 1 << 31:
            delta -= 1 << 32
        return int(self.timestamp) + delta


def _unwrap(previous: int | None, seq: int) -> int:
    """Extend a 16-bit sequence number next to the previous extended one."""
    if previous is None:
        return seq + (1 << 16)  # room below for reordered early packets
    delta = (seq - previous) & 0xFFFF
    if delta >= 1 << 15:
        delta -= 1 << 16
    return previous + delta


class AudioLossBuffer(JitterBuffer):
    """Audio jitter buffer that turns missing packets into concealment slots."""

    def __init__(self, stats: LossStats, prefetch: int = AUDIO_PREFETCH) -> None:
        super().__init__(capacity=16, prefetch=prefetch)
        self.stats = stats
        self._waiting: dict[int, RtpPacket] = {}
        self._head: int | None = None  # next sequence number to release
        self._newest: int | None = None
        self._last_ts: int | None = None
        self._step = OPUS_FRAME_SAMPLES
        self._missing_run = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        ext = _unwrap(self._newest, packet.sequence_number)
        if self._head is None or self._newest is None or ext - self._newest > MAX_SEQUENCE_JUMP:
            self._restart(ext)
        assert self._head is not None and self._newest is not None
        if ext < self._head:
            if self._head - ext > MAX_MISORDER:
                self._restart(ext)
            else:
                return False, None  # too late: its slot was already concealed
        self._waiting.setdefault(ext, packet)
        self._newest = max(self._newest, ext)
        units: list[AudioUnit] = []
        while self._head <= self._newest - self._prefetch:
            unit = self._release(self._head)
            if unit is not None:
                units.append(unit)
            self._head += 1
        if not units:
            return False, None
        return False, EncodedBatch(units, units[0].timestamp, self.stats)

    def _restart(self, ext: int) -> None:
        self._waiting.clear()
        self._head = ext
        self._newest = ext
        self._missing_run = 0
        self._last_ts = None

    def _release(self, seq: int) -> AudioUnit | None:
        packet = self._waiting.pop(seq, None)
        if packet is not None:
            if self._last_ts is not None and self._missing_run == 0:
                step = (packet.timestamp - self._last_ts) & 0xFFFFFFFF
                if 0 < step <= OPUS_MAX_FRAME_SAMPLES:
                    self._step = step
            self._last_ts = packet.timestamp
            self._missing_run = 0
            return AudioUnit(packet.timestamp, packet._data, self._step)  # type: ignore[attr-defined]
        self._missing_run += 1
        if self._last_ts is None:
            return None  # nothing played yet: nothing to conceal
        if self._missing_run > MAX_CONCEALED_RUN:
            self.stats.audio_frames_skipped += 1
            return None
        self._last_ts = (self._last_ts + self._step) & 0xFFFFFFFF
        following = self._waiting.get(seq + 1)
        fec = following._data if following is not None else None  # type: ignore[attr-defined]
        return AudioUnit(self._last_ts, None, self._step, fec)


class ConcealingOpusDecoder(Decoder):
    """Opus decoder that also rebuilds lost slots (FEC, then PLC)."""

    def __init__(self) -> None:
        self._lib = libopus()
        self._state: int | None = None
        self._pcm = (ctypes.c_int16 * (OPUS_MAX_FRAME_SAMPLES * OPUS_CHANNELS))()
        self._fallback: aiortc_opus.OpusDecoder | None = None
        self._last: npt.NDArray[np.int16] | None = None
        self._repeats = 0
        if self._lib is not None:
            error = ctypes.c_int(0)
            state = self._lib.create(OPUS_RATE, OPUS_CHANNELS, ctypes.byref(error))
            if error.value == 0 and state:
                self._state = state
        if self._state is None:
            self._fallback = aiortc_opus.OpusDecoder()

    @property
    def uses_libopus(self) -> bool:
        return self._state is not None

    def __del__(self) -> None:
        if self._state is not None and self._lib is not None:
            self._lib.destroy(self._state)
            self._state = None

    def decode(self, encoded_frame: JitterFrame) -> list[av.frame.Frame]:
        if not isinstance(encoded_frame, EncodedBatch):
            unit = AudioUnit(encoded_frame.timestamp, encoded_frame.data)
            return self._decode_units([unit], None, lambda ts: ts)
        return self._decode_units(
            encoded_frame.items, encoded_frame.stats, encoded_frame.stream_time
        )

    def _decode_units(
        self, units: list[AudioUnit], stats: LossStats | None, to_stream: Callable[[int], int]
    ) -> list[av.frame.Frame]:
        frames: list[av.frame.Frame] = []
        for unit in units:
            pts = to_stream(unit.timestamp)
            if unit.payload is not None:
                pcm = self._decode_packet(unit.payload)
                if stats is not None:
                    stats.audio_frames_decoded += 1
            else:
                pcm, recovered = self._conceal(unit)
                if stats is not None:
                    if recovered:
                        stats.audio_frames_fec += 1
                    else:
                        stats.audio_frames_plc += 1
            if pcm is not None and len(pcm):
                frames.append(_audio_frame(pcm, pts))
        return frames

    def _decode_packet(self, payload: bytes) -> npt.NDArray[np.int16] | None:
        if self._state is not None and self._lib is not None:
            return self._run(payload, OPUS_MAX_FRAME_SAMPLES, fec=False)
        assert self._fallback is not None
        pieces = [
            cast(av.AudioFrame, frame).to_ndarray().reshape(-1)
            for frame in self._fallback.decode(JitterFrame(payload, 0))
        ]
        if not pieces:
            return None
        pcm = np.concatenate(pieces).astype(np.int16)
        self._last = pcm
        self._repeats = 0
        return pcm

    def _conceal(self, unit: AudioUnit) -> tuple[npt.NDArray[np.int16] | None, bool]:
        samples = max(120, min(unit.samples, OPUS_MAX_FRAME_SAMPLES))
        if self._state is not None and self._lib is not None:
            if unit.fec_source is not None:
                pcm = self._run(unit.fec_source, samples, fec=True)
                if pcm is not None:
                    return pcm, True
            return self._run(None, samples, fec=False), False
        # No libopus: repeat the last frame, halving it each time so a long gap
        # fades out instead of buzzing.
        if self._last is None:
            return np.zeros(samples * OPUS_CHANNELS, dtype=np.int16), False
        self._repeats += 1
        faded = (self._last.astype(np.float32) * (0.5**self._repeats)).astype(np.int16)
        return faded, False

    def _run(
        self, payload: bytes | None, samples: int, *, fec: bool
    ) -> npt.NDArray[np.int16] | None:
        assert self._lib is not None and self._state is not None
        length = len(payload) if payload is not None else 0
        count = self._lib.decode(self._state, payload, length, self._pcm, samples, int(fec))
        if count <= 0:
            if payload is not None and not fec:
                log.debug("libopus rejected a packet (%d): concealing it", count)
                count = self._lib.decode(self._state, None, 0, self._pcm, OPUS_FRAME_SAMPLES, 0)
            if count <= 0:
                return None
        return np.ctypeslib.as_array(self._pcm)[: count * OPUS_CHANNELS].copy()


def _audio_frame(pcm: npt.NDArray[np.int16], pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="stereo")
    frame.sample_rate = OPUS_RATE
    frame.pts = pts
    frame.time_base = OPUS_TIME_BASE
    return frame


# --- video ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoItem:
    """One complete encoded picture released by the video buffer."""

    timestamp: int
    data: bytes
    keyframe: bool
    epoch: int


class KeyframeGate:
    """Shared by a video buffer (event loop) and its decoder (decoder thread).

    ``epoch`` grows at every break in the reference chain; a non-key picture
    released in an older epoch must not be decoded.
    """

    def __init__(self, stats: LossStats) -> None:
        self.stats = stats
        self._lock = threading.Lock()
        self.epoch = 0
        self.awaiting_keyframe = False

    def broken(self) -> None:
        with self._lock:
            self.epoch += 1
            self.awaiting_keyframe = True

    def keyframe_released(self) -> None:
        with self._lock:
            self.awaiting_keyframe = False


def _vp8_start(packet: RtpPacket) -> tuple[bool, bool]:
    """(starts a picture, starts a keyframe) for a VP8 packet."""
    try:
        descriptor, rest = VpxPayloadDescriptor.parse(packet.payload)
    except ValueError:
        return False, False
    start = bool(descriptor.partition_start) and descriptor.partition_id == 0
    # The VP8 frame tag's lowest bit is 0 on a key frame (RFC 6386 9.1).
    return start, start and len(rest) > 0 and (rest[0] & 0x01) == 0


def _h264_start(packet: RtpPacket) -> tuple[bool | None, bool]:
    """(starts a picture or None if unknown, starts a keyframe) for H.264."""
    data: bytes = getattr(packet, "_data", b"")
    for prefix in (b"\x00\x00\x00\x01", b"\x00\x00\x01"):
        if data.startswith(prefix) and len(data) > len(prefix):
            nal_type = data[len(prefix)] & 0x1F
            if nal_type in (7, 9):  # SPS or access unit delimiter open a picture
                return True, nal_type == 7
            return None, nal_type == 5
    return False, False


class VideoLossBuffer(JitterBuffer):
    """Video jitter buffer: marker-bit framing, bounded waits, keyframe gating."""

    def __init__(
        self,
        codecs: dict[int, RTCRtpCodecParameters],
        stats: LossStats,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity=VIDEO_CAPACITY, is_video=True)
        self._codecs = codecs
        self.stats = stats
        self.gate = KeyframeGate(stats)
        self._clock = clock
        self._waiting: dict[int, RtpPacket] = {}
        # Packets that may begin a keyframe, classified once on arrival: searching
        # for the next keyframe must not parse every waiting packet again on every
        # arrival (at 10 % loss the buffer is often waiting for one).
        self._key_candidates: set[int] = set()
        self._head: int | None = None
        self._newest: int | None = None
        self._hole_since: float | None = None
        self.keyframe_wanted = False
        self.media_ssrc: int | None = None
        # No picture yet: the first one decoded must be a keyframe too.
        self.gate.broken()

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        self.media_ssrc = packet.ssrc
        ext = _unwrap(self._newest, packet.sequence_number)
        if self._newest is None or ext - self._newest > MAX_SEQUENCE_JUMP:
            self._waiting.clear()
            self._key_candidates.clear()
            self._head = ext
            self._newest = ext
            self._hole_since = None
        assert self._head is not None and self._newest is not None
        if ext < self._head:
            if self._head - ext <= MAX_MISORDER:
                return False, None  # a retransmission that came too late
            self._waiting.clear()
            self._key_candidates.clear()
            self._head = ext
            self._newest = ext
            self.gate.broken()
        if ext not in self._waiting:
            self._waiting[ext] = packet
            if self._may_start_keyframe(packet):
                self._key_candidates.add(ext)
        self._newest = max(self._newest, ext)
        items = self._release_ready()
        if not items:
            return False, None
        return False, EncodedBatch(items, items[0].timestamp, self.stats, self.gate)

    # Sequence numbers below are extended ones.

    def _release_ready(self) -> list[VideoItem]:
        items: list[VideoItem] = []
        while True:
            assert self._head is not None and self._newest is not None
            if self.gate.awaiting_keyframe:
                key = self._next_keyframe_start(self._head)
                if key is None:
                    self._drop_before(max(self._head, self._newest - VIDEO_CAPACITY))
                    self._hole_since = None
                    self.keyframe_wanted = True
                    return items
                if key != self._head:
                    self._drop_before(key)
            frame = self._complete_picture(self._head)
            if frame is not None:
                end, item = frame
                self._drop_before(end + 1)
                self._hole_since = None
                self.keyframe_wanted = False
                if item.keyframe:
                    self.gate.keyframe_released()
                if self.gate.awaiting_keyframe and not item.keyframe:
                    self.stats.video_frames_dropped_awaiting_keyframe += 1
                    continue
                items.append(item)
                self.stats.video_frames_out += 1
                continue
            if len(self._waiting) > self._newest - self._head:
                self._hole_since = None
                return items  # no packet missing: the head picture is just not finished
            now = self._clock()
            if self._hole_since is None:
                self._hole_since = now
            key = self._next_keyframe_start(self._head + 1, complete=True)
            waited = now - self._hole_since
            if (
                key is not None
                or waited >= give_up_after_s()
                or self._newest - self._head > VIDEO_CAPACITY
            ):
                self.stats.video_gaps_skipped += 1
                self.gate.broken()
                self._hole_since = None
                if key is not None:
                    self._drop_before(key)
                else:
                    self._drop_before(self._head + 1)
                continue
            if waited >= keyframe_request_after_s():
                self.keyframe_wanted = True
            return items

    def missing_sequence_numbers(self, *, older_than_s: float) -> list[int]:
        """The 16-bit sequence numbers of the packets the head picture still waits
        for, when that hole has been open at least ``older_than_s``."""
        if self._hole_since is None or self._head is None or self._newest is None:
            return []
        if self._clock() - self._hole_since < older_than_s:
            return []
        missing = []
        for seq in range(self._head, self._newest):
            if seq not in self._waiting:
                missing.append(seq & 0xFFFF)
                if len(missing) >= NACK_REPEAT_MAX:
                    break
        return missing

    def _drop_before(self, seq: int) -> None:
        assert self._head is not None
        if seq - self._head > len(self._waiting):
            for old in [s for s in self._waiting if s < seq]:
                del self._waiting[old]
        else:
            for old in range(self._head, seq):
                self._waiting.pop(old, None)
        self._key_candidates = {s for s in self._key_candidates if s >= seq}
        self._head = max(self._head, seq)

    def _may_start_keyframe(self, packet: RtpPacket) -> bool:
        codec = self._codecs.get(packet.payload_type)
        name = codec.name.lower() if codec is not None else ""
        if name == "vp8":
            return _vp8_start(packet)[1]
        if name == "vp9":  # VP9 reception (client/livekit/vp9_codec.py)
            return vp9_depacketizer.packet_starts(packet.payload)[1]
        if name == "h264":
            return _h264_start(packet)[1]
        return True  # unknown codec: every picture counts as decodable

    def _starts(self, seq: int) -> tuple[bool, bool]:
        """(starts a picture, starts a keyframe) for the packet at ``seq``."""
        packet = self._waiting[seq]
        codec = self._codecs.get(packet.payload_type)
        name = codec.name.lower() if codec is not None else ""
        if name == "vp8":
            return _vp8_start(packet)
        if name == "vp9":  # VP9 reception (client/livekit/vp9_codec.py)
            return vp9_depacketizer.packet_starts(packet.payload)
        previous = self._waiting.get(seq - 1)
        after_previous = previous is not None and (
            bool(previous.marker) or previous.timestamp != packet.timestamp
        )
        if name == "h264":
            start, key = _h264_start(packet)
            starts = after_previous if start is None else start or after_previous
            return starts, key and starts
        # An unknown codec: trust the framing and treat every picture as decodable.
        return after_previous, after_previous

    def _complete_picture(self, start: int) -> tuple[int, VideoItem] | None:
        """The picture beginning at ``start`` when all its packets are here."""
        first = self._waiting.get(start)
        if first is None:
            return None
        parts: list[bytes] = []
        seq = start
        while True:
            packet = self._waiting.get(seq)
            if packet is None:
                return None
            if packet.timestamp != first.timestamp:
                end = seq - 1  # no marker bit seen: the next picture began
                break
            parts.append(packet._data)  # type: ignore[attr-defined]
            if packet.marker:
                end = seq
                break
            seq += 1
        _, key = self._starts(start)
        item = VideoItem(first.timestamp, b"".join(parts), key, self.gate.epoch)
        return end, item

    def _next_keyframe_start(self, after: int, *, complete: bool = False) -> int | None:
        assert self._newest is not None
        for seq in sorted(s for s in self._key_candidates if s >= after):
            if seq not in self._waiting:
                continue
            if self._starts(seq)[1] and (not complete or self._complete_picture(seq) is not None):
                return int(seq)
        return None


class GatedVideoDecoder(Decoder):
    """Wraps aiortc's video decoder: decodes batches, skips pictures that follow a
    broken reference, and reports failures to the gate (and so asks a keyframe)."""

    def __init__(self, inner: Decoder) -> None:
        self.inner = inner

    def decode(self, encoded_frame: JitterFrame) -> list[av.frame.Frame]:
        if not isinstance(encoded_frame, EncodedBatch):
            return list(self.inner.decode(encoded_frame))
        frames: list[av.frame.Frame] = []
        gate = encoded_frame.gate
        for item in encoded_frame.items:
            assert isinstance(item, VideoItem)
            if gate is not None and not item.keyframe and item.epoch != gate.epoch:
                gate.stats.video_frames_dropped_awaiting_keyframe += 1
                continue
            jitter_frame = JitterFrame(item.data, encoded_frame.stream_time(item.timestamp))
            try:
                frames.extend(self.inner.decode(jitter_frame))
            except av.FFmpegError as exc:
                log.warning("failed to decode a video frame (%s): waiting for a keyframe", exc)
                if gate is not None:
                    gate.stats.video_decode_failures += 1
                    gate.broken()
        return frames


# --- receiver state and hooks ------------------------------------------------------------


@dataclass
class _ReceiverState:
    stats: LossStats
    buffer: AudioLossBuffer | VideoLossBuffer
    last_pli: float = float("-inf")
    last_nack_repeat: float = float("-inf")


def loss_stats(receiver: RTCRtpReceiver) -> LossStats | None:
    """Concealment counters of ``receiver``, or None when it has no hooks."""
    state: _ReceiverState | None = getattr(receiver, _STATE_ATTR, None)
    return state.stats if state is not None else None


def _attach(receiver: RTCRtpReceiver, kind: str) -> None:
    stats = LossStats(kind=kind)
    buffer: AudioLossBuffer | VideoLossBuffer
    if kind == "audio":
        buffer = AudioLossBuffer(stats)
    else:
        buffer = VideoLossBuffer(getattr(receiver, _CODECS_SLOT), stats)
    setattr(receiver, _JITTER_SLOT, buffer)
    setattr(receiver, _STATE_ATTR, _ReceiverState(stats, buffer))


def _hook_init(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: RTCRtpReceiver, kind: str, transport: Any) -> None:
        original(self, kind, transport)
        _attach(self, kind)

    setattr(__init__, _HOOK_MARK, True)
    return __init__


def _hook_handle_rtp(
    original: Callable[[RTCRtpReceiver, RtpPacket, int], Coroutine[Any, Any, None]],
) -> Callable[[RTCRtpReceiver, RtpPacket, int], Coroutine[Any, Any, None]]:
    @functools.wraps(original)
    async def _handle_rtp_packet(
        self: RTCRtpReceiver, packet: RtpPacket, arrival_time_ms: int
    ) -> None:
        await original(self, packet, arrival_time_ms)
        state: _ReceiverState | None = getattr(self, _STATE_ATTR, None)
        if state is None or not isinstance(state.buffer, VideoLossBuffer):
            return
        buffer = state.buffer
        if buffer.media_ssrc is None:
            return
        wanted = buffer.keyframe_wanted or buffer.gate.awaiting_keyframe
        if wanted:
            await self._send_rtcp_pli(buffer.media_ssrc)
            return
        # aiortc asks for a lost packet once, when the gap appears; if the request or
        # the retransmission is lost too, ask again once a round trip has passed.
        now = time.monotonic()
        if now - state.last_nack_repeat >= max(NACK_REPEAT_MIN_S, _round_trip_s):
            missing = buffer.missing_sequence_numbers(
                older_than_s=max(NACK_REPEAT_MIN_S, _round_trip_s)
            )
            if missing and getattr(self, _RTCP_SSRC_SLOT, None) is not None:
                state.last_nack_repeat = now
                state.stats.nack_repeats += 1
                await self._send_rtcp_nack(buffer.media_ssrc, missing)

    setattr(_handle_rtp_packet, _HOOK_MARK, True)
    return _handle_rtp_packet


def _hook_send_pli(
    original: Callable[[RTCRtpReceiver, int], Coroutine[Any, Any, None]],
) -> Callable[[RTCRtpReceiver, int], Coroutine[Any, Any, None]]:
    @functools.wraps(original)
    async def _send_rtcp_pli(self: RTCRtpReceiver, media_ssrc: int) -> None:
        state: _ReceiverState | None = getattr(self, _STATE_ATTR, None)
        if state is not None:
            now = time.monotonic()
            if now - state.last_pli < PLI_INTERVAL_S:
                return
            if getattr(self, _RTCP_SSRC_SLOT, None) is None:
                return  # aiortc cannot send RTCP yet; do not spend the slot
            state.last_pli = now
            state.stats.keyframe_requests += 1
        await original(self, media_ssrc)

    setattr(_send_rtcp_pli, _HOOK_MARK, True)
    return _send_rtcp_pli


def _hook_get_decoder(
    original: Callable[[RTCRtpCodecParameters], Decoder],
) -> Callable[[RTCRtpCodecParameters], Decoder]:
    @functools.wraps(original)
    def get_decoder(codec: RTCRtpCodecParameters) -> Decoder:
        mime = codec.mimeType.lower()
        if mime == "audio/opus":
            return ConcealingOpusDecoder()
        decoder = original(codec)
        return GatedVideoDecoder(decoder) if mime.startswith("video/") else decoder

    setattr(get_decoder, _HOOK_MARK, True)
    return get_decoder


def _hook_opus_encoder(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: aiortc_opus.OpusEncoder) -> None:
        original(self)
        # libopus only carries LBRR (in-band FEC) in SILK and hybrid frames; with
        # ``fec`` on and a loss expectation it picks those modes and fills them.
        self.codec.options = {**dict(self.codec.options), **OPUS_ENCODER_OPTIONS}

    setattr(__init__, _HOOK_MARK, True)
    return __init__


def _opus_codecs() -> list[RTCRtpCodecParameters]:
    return [c for c in aiortc_codecs.CODECS["audio"] if c.mimeType.lower() == "audio/opus"]


def _code_names(function: Any) -> tuple[str, ...]:
    """Names used by ``function``'s own code (under our hook, if installed)."""
    original = getattr(function, "__wrapped__", function)
    code = getattr(original, "__code__", None)
    return tuple(code.co_names) if code is not None else ()


def internals_available() -> bool:
    """True when this aiortc still has the private parts these hooks rely on."""
    receiver_init = _code_names(RTCRtpReceiver.__init__)
    handle_rtp = _code_names(RTCRtpReceiver._handle_rtp_packet)
    return (
        all(slot in receiver_init for slot in (_JITTER_SLOT, _CODECS_SLOT, _RTCP_SSRC_SLOT))
        and _JITTER_SLOT in handle_rtp
        and "add" in handle_rtp
        and "_send_rtcp_pli" in handle_rtp
        and "_send_rtcp_pli" in RTCRtpReceiver.__dict__
        and "get_decoder" in _code_names(rtcrtpreceiver.decoder_worker)
        and callable(getattr(rtcrtpreceiver, "get_decoder", None))
        and "options" in _code_names(aiortc_opus.OpusEncoder.__init__)
        and bool(_opus_codecs())
        and callable(getattr(VpxPayloadDescriptor, "parse", None))
        and "timestamp" in _code_names(JitterFrame.__init__)
    )


_install_lock = threading.Lock()


def install() -> None:
    """Install the hooks into aiortc; safe to call any number of times."""
    with _install_lock:
        if not getattr(RTCRtpReceiver.__init__, _HOOK_MARK, False):
            RTCRtpReceiver.__init__ = _hook_init(RTCRtpReceiver.__init__)  # type: ignore[method-assign,assignment]
        if not getattr(RTCRtpReceiver._handle_rtp_packet, _HOOK_MARK, False):
            RTCRtpReceiver._handle_rtp_packet = _hook_handle_rtp(  # type: ignore[method-assign,assignment]
                RTCRtpReceiver._handle_rtp_packet
            )
        if not getattr(RTCRtpReceiver._send_rtcp_pli, _HOOK_MARK, False):
            RTCRtpReceiver._send_rtcp_pli = _hook_send_pli(  # type: ignore[method-assign,assignment]
                RTCRtpReceiver._send_rtcp_pli
            )
        # decoder_worker looks get_decoder up in its module's globals at each use.
        current_get_decoder = getattr(rtcrtpreceiver, "get_decoder")  # noqa: B009
        if not getattr(current_get_decoder, _HOOK_MARK, False):
            setattr(rtcrtpreceiver, "get_decoder", _hook_get_decoder(current_get_decoder))  # noqa: B010
        if not getattr(aiortc_opus.OpusEncoder.__init__, _HOOK_MARK, False):
            aiortc_opus.OpusEncoder.__init__ = _hook_opus_encoder(  # type: ignore[method-assign,assignment]
                aiortc_opus.OpusEncoder.__init__
            )
        # Every offer and answer aiortc writes copies these parameters.
        for codec in _opus_codecs():
            codec.parameters.setdefault("minptime", 10)
            codec.parameters["useinbandfec"] = 1


def installed() -> bool:
    """True when every hook is in place."""
    return all(
        getattr(f, _HOOK_MARK, False)
        for f in (
            RTCRtpReceiver.__init__,
            RTCRtpReceiver._handle_rtp_packet,
            RTCRtpReceiver._send_rtcp_pli,
            getattr(rtcrtpreceiver, "get_decoder"),  # noqa: B009
            aiortc_opus.OpusEncoder.__init__,
        )
    ) and all(c.parameters.get("useinbandfec") == 1 for c in _opus_codecs())
