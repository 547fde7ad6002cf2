"""A subscribed media track: frames pulled from aiortc and fanned out to sinks.

aiortc queues every decoded frame until somebody reads it, so an unread track
would grow without bound.  Each remote track therefore has exactly one reader
task that drains it and hands frames to whoever registered a sink (renderer,
audio output, test probe); frames nobody wants are dropped at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from client.livekit.tasks import spawn

log = logging.getLogger(__name__)

Frame = av.VideoFrame | av.AudioFrame
FrameSink = Callable[[Frame], None]


class RemoteTrack:
    def __init__(self, sid: str, kind: str, incoming: MediaStreamTrack) -> None:
        self.sid = sid
        self.kind = kind
        self._incoming = incoming
        self._sinks: list[FrameSink] = []
        self.frames_received = 0
        self.ended = asyncio.Event()
        self._reader = spawn(self._read(), f"remote-track-{sid}")

    @property
    def incoming(self) -> MediaStreamTrack:
        """The aiortc track this one drains."""
        return self._incoming

    def add_sink(self, sink: FrameSink) -> Callable[[], None]:
        self._sinks.append(sink)

        def remove() -> None:
            if sink in self._sinks:
                self._sinks.remove(sink)

        return remove

    async def _read(self) -> None:
        try:
            while True:
                frame = await self._incoming.recv()
                if not isinstance(frame, av.VideoFrame | av.AudioFrame):
                    continue  # encoded packets: not from a decoding receiver
                self.frames_received += 1
                for sink in tuple(self._sinks):
                    try:
                        sink(frame)
                    except Exception:
                        log.exception("frame sink failed on track %s", self.sid)
        except MediaStreamError:
            pass
        finally:
            self.ended.set()

    async def stop(self) -> None:
        self._incoming.stop()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        self.ended.set()

    def __repr__(self) -> str:
        return f"RemoteTrack({self.sid}, {self.kind}, frames={self.frames_received})"
