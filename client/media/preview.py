"""Pull a local track's frames for a preview before anything is published."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from client.livekit.tasks import spawn

FrameSink = Callable[[av.VideoFrame | av.AudioFrame], None]


class PreviewReader:
    def __init__(self, track: MediaStreamTrack, sink: FrameSink) -> None:
        self.track = track
        self._sink = sink
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = spawn(self._read(), f"preview-{self.track.kind}")

    async def _read(self) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await self.track.recv()
                if isinstance(frame, av.VideoFrame | av.AudioFrame):
                    self._sink(frame)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.track.stop()
