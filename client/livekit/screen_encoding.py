"""VP8 tuned for a shared screen: sharp text, few frames, a bitrate sized for detail.

aiortc gives every video track the same VP8 encoder, tuned for a camera: it
starts at 500 kb/s and never goes above 1.5 Mb/s, filters noise (which smears
thin strokes), and lets the quantizer climb to 56.  A 1080p screen of small text
sent that way is a blur.  A screen share instead

* targets about 2.5 Mb/s at 1080p and 15 fps (less for a smaller share or a lower
  frame rate, see ``share_bitrate``) from its first frame;
* turns libvpx's screen-content mode on, with no noise filtering, a lower
  quantizer ceiling (48) and a keyframe as large as two seconds of bitrate;
* drops no frame while its output stays within two seconds' worth of its
  bitrate (a keyframe of a whole screen, a typed line); only a sustained
  overshoot (a page of small text scrolling) thins the frames, so the link is
  not flooded;
* never changes its resolution: when the network asks for less (a REMB from
  the server), the frame rate goes down first, to ``MIN_FPS``, keeping each frame's
  share of the bitrate; only below that floor does each frame get fewer bits.

The encoder is chosen per track: a ``PublishedTrack`` whose source carries a
``ScreenEncoding`` (``encoding``) gets a ``ScreenContentEncoder``; every other
track keeps aiortc's.  ``install()`` wraps the one aiortc method that creates a
sender's encoder; ``internals_available()`` tells whether this aiortc still has
it (``tests/test_screen_encoding.py`` fails otherwise).
"""

from __future__ import annotations

import fractions
import functools
import logging
import os
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import av
from aiortc.codecs.base import Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import VIDEO_TIME_BASE, convert_timebase
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpsender import RTCEncodedFrame, RTCRtpSender
from av.frame import Frame
from av.video.codeccontext import VideoCodecContext
from av.video.frame import PictureType

log = logging.getLogger(__name__)

#: What a share of 1920x1080 at 15 fps is given, in bits per second.
FULL_HD_BITRATE = 2_500_000
FULL_HD_PIXELS = 1920 * 1080
#: No share is sent with less, whatever its size (a small window of text).
MIN_SHARE_BITRATE = 300_000
#: Under congestion the frame rate goes down to this before any frame loses detail.
MIN_FPS = 5
#: Below this share of its bitrate, a share is as degraded as it gets (5 fps, and
#: fewer bits per frame): the network's estimate is not followed lower.
FLOOR_FRACTION = 0.25
#: The encoder is reopened (one keyframe) for a new bitrate only when the target
#: moved this much, and not more often than ``REOPEN_INTERVAL_S``: each reopening
#: sends a whole screen again.
REOPEN_CHANGE = 0.3
REOPEN_INTERVAL_S = 4.0
#: How far (in seconds of its bitrate) the output may run ahead before frames are
#: skipped: one keyframe of a whole screen (the encoder's buffer, too).
BURST_S = 2.0

_ENCODER_SLOT = "_RTCRtpSender__encoder"
_HOOK_MARK = "_visio_screen_encoding"


def share_bitrate(width: int, height: int, fps: int) -> int:
    """The bitrate a share of this size and frame rate is sent at.

    Text costs bits by its area more than by its motion: the bitrate grows with
    the pixel count (a little less than linearly: a small window's text is as
    dense, but there is less margin to spend), and with the square root of the
    frame rate (successive frames of a screen are mostly alike).
    """
    pixels = max(1, width * height)
    scale = (pixels / FULL_HD_PIXELS) ** 0.75 * (max(1, fps) / 15) ** 0.5
    kilobits: int = round(FULL_HD_BITRATE * scale / 1000)
    return max(MIN_SHARE_BITRATE, kilobits * 1000)


@dataclass(frozen=True)
class ScreenEncoding:
    """How one share is encoded: its size, its frame rate, its bitrate."""

    width: int
    height: int
    max_fps: int
    bitrate: int

    @classmethod
    def for_share(cls, width: int, height: int, fps: int) -> ScreenEncoding:
        return cls(width, height, fps, share_bitrate(width, height, fps))

    @property
    def min_bitrate(self) -> int:
        return max(MIN_SHARE_BITRATE // 2, round(self.bitrate * FLOOR_FRACTION))

    def fps_for(self, bitrate: int) -> float:
        """The frame rate that keeps each frame's bits when only ``bitrate`` is allowed."""
        if bitrate >= self.bitrate:
            return float(self.max_fps)
        return max(float(min(MIN_FPS, self.max_fps)), self.max_fps * bitrate / self.bitrate)


def _thread_count(pixels: int) -> int:
    cpus = os.cpu_count() or 1
    if pixels >= 1280 * 720:
        return max(1, min(4, cpus))
    return max(1, min(2, cpus))


class ScreenContentEncoder(Encoder):
    """aiortc's ``Encoder`` for one screen share's sender (created on its first frame)."""

    def __init__(
        self, encoding: ScreenEncoding, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.encoding = encoding
        self._clock = clock
        self.codec: VideoCodecContext | None = None
        self.picture_id = random.randint(0, (1 << 15) - 1)
        self._target = encoding.bitrate
        #: The bitrate the open codec was configured for, and the frame rate kept.
        self._open_bitrate = 0
        self.fps = float(encoding.max_fps)
        self._opened_at = 0.0
        #: Media time (seconds) of the last frame encoded.
        self._last_time: float | None = None
        #: Bits sent beyond the bitrate (drained at the bitrate, in media time).
        self._debt = 0.0
        self._drained_at: float | None = None
        self.frames_encoded = 0
        self.frames_skipped = 0
        self.keyframes = 0
        #: Wall time spent in libvpx (the sender's thread), for load figures.
        self.encode_seconds = 0.0

    # --- rate -----------------------------------------------------------------------

    @property
    def target_bitrate(self) -> int:
        return self._target

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        # Set from the sender's RTCP loop (the server's REMB): read on the next frame.
        self._target = max(self.encoding.min_bitrate, min(self.encoding.bitrate, bitrate))

    def _needs_reopening(self, now: float) -> bool:
        if self.codec is None:
            return True
        change = abs(self._target - self._open_bitrate) / self._open_bitrate
        return change > REOPEN_CHANGE and now - self._opened_at >= REOPEN_INTERVAL_S

    def _open(self, width: int, height: int, now: float) -> VideoCodecContext:
        bitrate = self._target
        self.fps = self.encoding.fps_for(bitrate)
        codec = av.CodecContext.create("libvpx", "w")
        assert isinstance(codec, VideoCodecContext)
        codec.width = width
        codec.height = height
        codec.pix_fmt = "yuv420p"
        codec.time_base = fractions.Fraction(1, 90_000)
        codec.framerate = fractions.Fraction(round(self.fps * 1000), 1000)
        codec.bit_rate = bitrate
        codec.gop_size = 3000  # keyframes only when a receiver asks
        codec.qmin = 2
        # Camera VP8 lets the quantizer reach 56; a share gives up frames first.
        codec.qmax = 48
        codec.thread_count = _thread_count(width * height)
        codec.options = {
            "deadline": "realtime",
            "cpu-used": "-10",
            "lag-in-frames": "0",
            # CBR (FFmpeg: rc_buf_sz = bufsize * 1000 / rate).  libvpx sizes a
            # keyframe by the buffer: with ``BURST_S`` of it, the first picture of a
            # page of small text is legible at once (about 33 dB PSNR at 1080p,
            # 25 with a one second buffer) instead of some seconds later.
            "minrate": str(bitrate),
            "maxrate": str(bitrate),
            "bufsize": str(round(bitrate * BURST_S)),
            "undershoot-pct": "100",
            "overshoot-pct": "15",
            # Mode 2: drop a frame after a big overshoot rather than blur the next.
            "screen-content-mode": "2",
            # Denoising smears one-pixel strokes: off.
            "noise-sensitivity": "0",
            # Blocks whose change is below this are left as they were: 1 keeps a
            # typed letter or a moved cursor from being skipped.
            "static-thresh": "1",
            # libvpx would drop frames as soon as its buffer runs low (after every
            # keyframe): ``encode`` skips frames itself, on a sustained overshoot.
            "drop-threshold": "0",
            # One token partition: aiortc's packetizer sends partition 0 only.
            "partitions": "0",
        }
        self.codec = codec
        self._open_bitrate = bitrate
        self._opened_at = now
        log.info(
            "screen share encoder: %dx%d, %d kb/s, %.1f fps",
            width,
            height,
            bitrate // 1000,
            self.fps,
        )
        return codec

    def _skip(self, media_time: float) -> bool:
        """Whether this frame is left out: too soon for the frame rate, or the output
        runs more than ``BURST_S`` of bitrate ahead (drained at the bitrate)."""
        if self._drained_at is not None:
            elapsed = max(0.0, media_time - self._drained_at)
            self._debt = max(0.0, self._debt - self._open_bitrate * elapsed)
        self._drained_at = media_time
        if self._debt > self._open_bitrate * BURST_S:
            return True
        # A little slack: a source at exactly this rate must not lose every other frame.
        return self._last_time is not None and media_time - self._last_time < 0.85 / self.fps

    # --- aiortc's Encoder -----------------------------------------------------------

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        assert isinstance(frame, av.VideoFrame)
        timestamp = convert_timebase(
            frame.pts or 0, frame.time_base or VIDEO_TIME_BASE, VIDEO_TIME_BASE
        )
        media_time = timestamp / VIDEO_TIME_BASE.denominator
        now = self._clock()
        codec = self.codec
        if (
            codec is None
            or frame.width != codec.width
            or frame.height != codec.height
            or self._needs_reopening(now)
        ):
            codec = self._open(frame.width, frame.height, now)
            self._last_time = None
        elif not force_keyframe and self._skip(media_time):
            self.frames_skipped += 1
            return [], timestamp
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        frame.pict_type = PictureType.I if force_keyframe else PictureType.NONE
        began = time.perf_counter()
        data = b"".join(bytes(packet) for packet in codec.encode(frame))
        self.encode_seconds += time.perf_counter() - began
        if not data:
            return [], timestamp
        self._last_time = media_time
        self._debt += len(data) * 8
        self.frames_encoded += 1
        if data[0] & 1 == 0:  # VP8 frame tag: bit 0 clear on a keyframe
            self.keyframes += 1
        payloads = Vp8Encoder._packetize(data, self.picture_id)
        self.picture_id = (self.picture_id + 1) % (1 << 15)
        return payloads, timestamp

    def pack(self, packet: av.Packet[Any]) -> tuple[list[bytes], int]:
        payloads = Vp8Encoder._packetize(bytes(packet), self.picture_id)
        self.picture_id = (self.picture_id + 1) % (1 << 15)
        time_base = packet.time_base or VIDEO_TIME_BASE
        return payloads, convert_timebase(packet.pts or 0, time_base, VIDEO_TIME_BASE)


# --- choosing it per sender ------------------------------------------------------------


def encoding_of(sender: RTCRtpSender) -> ScreenEncoding | None:
    encoding = getattr(sender.track, "encoding", None)
    return encoding if isinstance(encoding, ScreenEncoding) else None


def encoder_of(sender: RTCRtpSender) -> Encoder | None:
    """The sender's current encoder (None before its first frame)."""
    encoder = getattr(sender, _ENCODER_SLOT, None)
    return encoder if isinstance(encoder, Encoder) else None


_NextFrame = Callable[
    [RTCRtpSender, RTCRtpCodecParameters], Coroutine[Any, Any, RTCEncodedFrame | None]
]


def _hook(original: _NextFrame) -> _NextFrame:
    @functools.wraps(original)
    async def _next_encoded_frame(
        self: RTCRtpSender, codec: RTCRtpCodecParameters
    ) -> RTCEncodedFrame | None:
        # aiortc creates the encoder on the first frame, and again after a stop:
        # put ours in its place first when the track is a screen share.
        if getattr(self, _ENCODER_SLOT, None) is None and codec.mimeType.lower() == "video/vp8":
            encoding = encoding_of(self)
            if encoding is not None:
                setattr(self, _ENCODER_SLOT, ScreenContentEncoder(encoding))
        return await original(self, codec)

    setattr(_next_encoded_frame, _HOOK_MARK, True)
    return _next_encoded_frame


def internals_available() -> bool:
    """True when this aiortc still creates encoders where the hook expects."""
    method = getattr(RTCRtpSender, "_next_encoded_frame", None)
    if method is None:
        return False
    code = getattr(method, "__wrapped__", method).__code__
    return "get_encoder" in code.co_names and _ENCODER_SLOT in code.co_names


def install() -> None:
    """Give screen shares their encoder (idempotent)."""
    if getattr(RTCRtpSender._next_encoded_frame, _HOOK_MARK, False):
        return
    if not internals_available():
        log.warning("this aiortc cannot take a screen-content encoder: shares use its own")
        return
    RTCRtpSender._next_encoded_frame = _hook(RTCRtpSender._next_encoded_frame)  # type: ignore[method-assign,assignment]
