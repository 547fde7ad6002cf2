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
"""

from __future__ import annotations

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.frame import PictureType


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

    async def recv(self) -> av.VideoFrame | av.AudioFrame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            frame = await self.upstream.recv()
            if self.muted or self.unwanted:
                continue
            if isinstance(frame, av.VideoFrame):
                frame.pict_type = PictureType.NONE
                return frame
            if isinstance(frame, av.AudioFrame):
                return frame

    def detach(self) -> None:
        """End this publication's stream; the upstream track is left running."""
        self.stop()
