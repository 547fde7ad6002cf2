"""The track we hand to aiortc for one publication: mutable, detachable.

aiortc can neither remove a sender's track nor swap in ``None`` safely, so each
publication sends through this proxy.  Muted, it keeps draining its upstream (so a
capture device never backs up) but gives the encoder nothing; detached, it ends,
which stops aiortc's sender loop cleanly.
"""

from __future__ import annotations

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


class PublishedTrack(MediaStreamTrack):
    def __init__(self, upstream: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = upstream.kind
        #: The caller's track (camera, microphone, test source), shared by sessions.
        self.upstream = upstream
        self.muted = False

    async def recv(self) -> av.VideoFrame | av.AudioFrame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            frame = await self.upstream.recv()
            if not self.muted and isinstance(frame, av.VideoFrame | av.AudioFrame):
                return frame

    def detach(self) -> None:
        """End this publication's stream; the upstream track is left running."""
        self.stop()
