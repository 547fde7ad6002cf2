"""A track that passes its source's frames on and shows each to observers.

The local camera feeds both the encoder (through the publication) and the self
view; the observers (a preview's frame slot) must be quick: they run on the
loop that pulls the frames.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

log = logging.getLogger(__name__)

FrameObserver = Callable[[av.VideoFrame | av.AudioFrame], None]


class TeeTrack(MediaStreamTrack):
    def __init__(self, upstream: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = upstream.kind
        self.upstream = upstream
        self._observers: list[FrameObserver] = []

    def add_observer(self, observer: FrameObserver) -> Callable[[], None]:
        self._observers.append(observer)

        def remove() -> None:
            if observer in self._observers:
                self._observers.remove(observer)

        return remove

    async def recv(self) -> av.VideoFrame | av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self.upstream.recv()
        if isinstance(frame, av.VideoFrame | av.AudioFrame):
            for observer in tuple(self._observers):
                try:
                    observer(frame)
                except Exception:
                    log.exception("frame observer failed")
        return frame  # type: ignore[return-value]

    def stop(self) -> None:
        super().stop()
        self.upstream.stop()
