"""The track we hand to aiortc for one publication: mutable, detachable.

aiortc can neither remove a sender's track nor swap in ``None`` safely, so each
publication sends through this proxy.  Muted, it keeps draining its upstream (so a
capture device never backs up) but gives the encoder nothing; detached, it ends,
which stops aiortc's sender loop cleanly.

Video frames leave here with no picture type.  aiortc's VP8 encoder passes a
frame's type on to libvpx and only ever sets it (to force a keyframe when the
server asks), never clears it; frames from FFmpeg sources (a test pattern, a
decoded MJPEG camera) arrive typed "I", and every one of them would be encoded as
a keyframe: several times the bitrate for the same picture, or a blurred one.

An upstream may also hand out encoded ``av.Packet``s (a replayed recording, as the
benchmarks' load peers do): aiortc then only packetizes them.  Such a stream cannot
make a keyframe when the server asks for one, and after a pause (muted, or nobody
receiving it), or on a new publication, its next packets reference pictures the
receivers never got: video packets are held back until the stream's next keyframe.

An upstream that carries a ``ScreenEncoding`` (``encoding``: a screen share's
track) is encoded for screen content (``client.livekit.screen_encoding``, whose
hook importing this module installs); any other video gets aiortc's VP8 encoder.
"""

from __future__ import annotations

from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.frame import PictureType

from client.livekit import screen_encoding
from client.livekit.screen_encoding import ScreenEncoding

screen_encoding.install()


class PublishedTrack(MediaStreamTrack):
    def __init__(self, upstream: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = upstream.kind
        #: The caller's track (camera, microphone, test source), shared by sessions.
        self.upstream = upstream
        self.muted = False
        #: Nobody receives it (the server's subscribed-quality updates): encoding it
        #: would spend CPU and uplink on packets the server drops.
        self.unwanted = False
        # Nothing sent yet, or something held back since: encoded video must
        # (re)start on a keyframe.
        self._gap = True
        encoding = getattr(upstream, "encoding", None)
        #: How the sender encodes it, when not as a camera (read by its encoder hook).
        self.encoding = encoding if isinstance(encoding, ScreenEncoding) else None

    async def recv(self) -> av.VideoFrame | av.AudioFrame | av.Packet[Any]:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            frame = await self.upstream.recv()
            if self.muted or self.unwanted:
                self._gap = True
                continue
            if isinstance(frame, av.Packet):
                if self._gap and self.kind == "video" and not frame.is_keyframe:
                    continue
                self._gap = False
                return frame
            self._gap = False
            if isinstance(frame, av.VideoFrame):
                frame.pict_type = PictureType.NONE
                return frame
            if isinstance(frame, av.AudioFrame):
                return frame

    def detach(self) -> None:
        """End this publication's stream; the upstream track is left running."""
        self.stop()
