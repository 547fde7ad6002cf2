"""Receive VP9 with aiortc, which only knows VP8 and H.264 (hooks, no fork).

Web users publish VP9 (SVC, L3T3) with a VP8 backup.  LiveKit offers a subscriber
the publisher's codec; when our answer accepts VP9 the web publisher need not
encode a backup for us.  ``install()`` (called by ``aiortc_compat``, before any
PeerConnection exists) makes aiortc:

* list VP9 (profile 0, 90 kHz, VP8's RTCP feedback) among its video codecs, so a
  subscriber answer accepts it; another VP9 profile in an offer is declined
  (aiortc matches codecs by name only, and would answer it under our label);
* depayload it with :func:`client.livekit.vp9_depacketizer.frame_chunk` (the
  payload kept whole, so the decoder can rebuild the layer frames);
* decode it with libvpx through PyAV, one superframe per picture, inside the
  loss-concealment gate like the other video codecs.

Our own publishing stays VP8: the engine sets codec preferences on every sender,
and aiortc has no VP9 encoder.  ``internals_available()`` checks the aiortc
internals used; ``tests/test_vp9_depacketizer.py`` fails when an upgrade moves them.
"""

from __future__ import annotations

import errno
import functools
import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import av
from aiortc import codecs as aiortc_codecs
from aiortc import rtcpeerconnection, rtcrtpreceiver
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import VIDEO_TIME_BASE
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters

from client.livekit import loss_concealment
from client.livekit.vp9_depacketizer import (
    Vp9FormatError,
    assemble_picture,
    frame_chunk,
    split_chunks,
)

MIME_TYPE = "video/VP9"
CLOCK_RATE = 90_000
#: Payload types for our own offers (answers take the offer's); after aiortc's.
PAYLOAD_TYPE = 103
RTX_PAYLOAD_TYPE = 104
#: libvpx's name in FFmpeg.  FFmpeg's own "vp9" decoder splits a superframe and
#: outputs every layer of it, where libvpx outputs only the picture to show.
DECODER_NAME = "libvpx-vp9"

_HOOK_MARK = "_visio_vp9_hook"


@dataclass
class DecodeStats:
    """Process-wide VP9 decoding counters (tests, benchmarks)."""

    pictures: int = 0
    #: Pictures holding more than one spatial layer (decoded as a superframe).
    multi_layer: int = 0
    refused: int = 0
    frames_out: int = 0
    #: CPU time of the calling decoder threads in libvpx (its own worker threads,
    #: when it starts any, are not counted).
    decode_cpu_s: float = 0.0


stats = DecodeStats()
_stats_lock = threading.Lock()


def _is_vp9(codec: RTCRtpCodecParameters) -> bool:
    return codec.mimeType.lower() == MIME_TYPE.lower()


class Vp9Decoder(Decoder):
    """One picture (the chunks of its RTP payloads) in, the shown frame out."""

    def __init__(self) -> None:
        self.codec = cast(av.VideoCodecContext, av.CodecContext.create(DECODER_NAME, "r"))

    def decode(self, encoded_frame: JitterFrame) -> list[av.frame.Frame]:
        try:
            picture = assemble_picture(split_chunks(encoded_frame.data))
        except Vp9FormatError as exc:
            with _stats_lock:
                stats.refused += 1
            # An FFmpeg error is what aiortc's decoder thread and the loss gate
            # handle: the picture is skipped and a keyframe asked for.
            raise av.error.InvalidDataError(errno.EINVAL, f"VP9 picture refused: {exc}") from exc
        packet = av.Packet(picture.data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = VIDEO_TIME_BASE
        started = time.thread_time()
        frames = cast(list[av.frame.Frame], self.codec.decode(packet))
        with _stats_lock:
            stats.pictures += 1
            stats.multi_layer += len(picture.spatial_layers) > 1
            stats.frames_out += len(frames)
            stats.decode_cpu_s += time.thread_time() - started
        return frames


def codec_parameters() -> list[RTCRtpCodecParameters]:
    """VP9 and its RTX, as aiortc lists its other video codecs."""
    return [
        RTCRtpCodecParameters(
            mimeType=MIME_TYPE,
            clockRate=CLOCK_RATE,
            payloadType=PAYLOAD_TYPE,
            rtcpFeedback=[
                RTCRtcpFeedback(type="nack"),
                RTCRtcpFeedback(type="nack", parameter="pli"),
                RTCRtcpFeedback(type="goog-remb"),
            ],
            parameters={"profile-id": 0},
        ),
        RTCRtpCodecParameters(
            mimeType="video/rtx",
            clockRate=CLOCK_RATE,
            payloadType=RTX_PAYLOAD_TYPE,
            parameters={"apt": PAYLOAD_TYPE},
        ),
    ]


def _profile(codec: RTCRtpCodecParameters) -> int | None:
    try:
        return int(str(codec.parameters.get("profile-id", 0)))
    except ValueError:
        return None


# --- hooks -----------------------------------------------------------------------------


def _mark(function: Any) -> Any:
    setattr(function, _HOOK_MARK, True)
    return function


def _hook_depayload(
    original: Callable[[RTCRtpCodecParameters, bytes], bytes],
) -> Callable[[RTCRtpCodecParameters, bytes], bytes]:
    @functools.wraps(original)
    def depayload(codec: RTCRtpCodecParameters, payload: bytes) -> bytes:
        if _is_vp9(codec):
            return frame_chunk(payload)  # Vp9FormatError is a ValueError: packet dropped
        return original(codec, payload)

    return cast(Callable[[RTCRtpCodecParameters, bytes], bytes], _mark(depayload))


def _hook_get_decoder(
    original: Callable[[RTCRtpCodecParameters], Decoder],
) -> Callable[[RTCRtpCodecParameters], Decoder]:
    @functools.wraps(original)
    def get_decoder(codec: RTCRtpCodecParameters) -> Decoder:
        if _is_vp9(codec):
            # The loss-concealment buffer hands out batches of pictures: the gate
            # unpacks them (and skips pictures behind a broken reference).
            return loss_concealment.GatedVideoDecoder(Vp9Decoder())
        return original(codec)

    return cast(Callable[[RTCRtpCodecParameters], Decoder], _mark(get_decoder))


def _hook_compatible(
    original: Callable[[RTCRtpCodecParameters, RTCRtpCodecParameters], bool],
) -> Callable[[RTCRtpCodecParameters, RTCRtpCodecParameters], bool]:
    @functools.wraps(original)
    def is_codec_compatible(a: RTCRtpCodecParameters, b: RTCRtpCodecParameters) -> bool:
        if not original(a, b):
            return False
        if _is_vp9(a):
            return _profile(a) == _profile(b)  # profile 2 would decode to 10-bit frames
        return True

    return cast(
        Callable[[RTCRtpCodecParameters, RTCRtpCodecParameters], bool], _mark(is_codec_compatible)
    )


def _code_names(function: Any) -> tuple[str, ...]:
    """Names used by ``function``'s own code, under any hooks wrapping it."""
    code = getattr(inspect.unwrap(function), "__code__", None)
    return tuple(code.co_names) if code is not None else ()


def internals_available() -> bool:
    """True when aiortc still looks its codec helpers up where we hook them."""
    return (
        isinstance(getattr(aiortc_codecs, "CODECS", None), dict)
        and isinstance(aiortc_codecs.CODECS.get("video"), list)
        and callable(getattr(rtcrtpreceiver, "depayload", None))
        and callable(getattr(rtcrtpreceiver, "get_decoder", None))
        and callable(getattr(rtcpeerconnection, "is_codec_compatible", None))
        and "depayload" in _code_names(rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet)
        and "get_decoder" in _code_names(rtcrtpreceiver.decoder_worker)
        and "is_codec_compatible" in _code_names(rtcpeerconnection.find_common_codecs)
        and "CODECS" in _code_names(rtcpeerconnection.RTCPeerConnection.setRemoteDescription)
        and DECODER_NAME in av.codecs_available
    )


_install_lock = threading.Lock()


def _receiver_hook(name: str) -> Any:
    # aiortc's receiver module imports these names without re-exporting them.
    return getattr(rtcrtpreceiver, name)


def install() -> None:
    """Teach aiortc VP9 reception; safe to call any number of times."""
    with _install_lock:
        # Ours must be the outer get_decoder hook: loss_concealment's would hand
        # VP9 to aiortc's lookup, which has no VP9 decoder.
        loss_concealment.install()
        get_decoder = _receiver_hook("get_decoder")
        if not getattr(get_decoder, _HOOK_MARK, False):
            setattr(rtcrtpreceiver, "get_decoder", _hook_get_decoder(get_decoder))  # noqa: B010
        depayload = _receiver_hook("depayload")
        if not getattr(depayload, _HOOK_MARK, False):
            setattr(rtcrtpreceiver, "depayload", _hook_depayload(depayload))  # noqa: B010
        if not getattr(rtcpeerconnection.is_codec_compatible, _HOOK_MARK, False):
            compatible = _hook_compatible(rtcpeerconnection.is_codec_compatible)
            setattr(rtcpeerconnection, "is_codec_compatible", compatible)  # noqa: B010
        video = aiortc_codecs.CODECS["video"]
        if not any(_is_vp9(c) for c in video):
            used = {c.payloadType for c in video if c.payloadType is not None}
            parameters = codec_parameters()
            if {c.payloadType for c in parameters} & used:
                raise RuntimeError(f"VP9 payload types clash with aiortc's: {sorted(used)}")
            video.extend(parameters)


def installed() -> bool:
    """True when every hook is in place (and loss concealment's, which VP9 needs)."""
    hooks = (
        _receiver_hook("get_decoder"),
        _receiver_hook("depayload"),
        rtcpeerconnection.is_codec_compatible,
    )
    return (
        all(getattr(f, _HOOK_MARK, False) for f in hooks)
        and any(_is_vp9(c) for c in aiortc_codecs.CODECS["video"])
        and loss_concealment.installed()
    )
