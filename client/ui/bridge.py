"""The one crossing between the core thread and the Qt thread.

Events the core emits (on its own loop) are re-emitted as a Qt signal: the bridge
lives in the Qt thread, so Qt queues each emission and delivers it there, in order.
Commands go the other way as coroutines submitted to the core loop; the Qt side
awaits their result with qasync (``run``) or lets them run (``fire``), and a
failure reaches the UI as ``commandFailed`` instead of vanishing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from client.livekit import events as ev
from client.ui.core_thread import CoreThread

log = logging.getLogger(__name__)

T = TypeVar("T")


class CoreBridge(QObject):
    #: A core event (``client.livekit.events.Event``), on the Qt thread.
    coreEvent = Signal(object)
    #: A command failed: (what was asked, the exception).
    commandFailed = Signal(str, object)

    def __init__(self, core: CoreThread, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.events_forwarded = 0

    def observe(self, emitter: ev.EventEmitter) -> Callable[[], None]:
        """Forward every event of ``emitter``; call on the core thread (or before it
        emits anything).  Returns a function that stops forwarding."""

        def forward(event: ev.Event) -> None:
            self.events_forwarded += 1
            self.coreEvent.emit(event)

        return emitter.on_any(forward)

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return self.core.submit(coroutine)

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await a core coroutine from a Qt-side coroutine (qasync loop)."""
        return await asyncio.wrap_future(self.core.submit(coroutine))

    def fire(self, what: str, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run a command on the core without waiting; report its failure."""
        future = self.core.submit(coroutine)

        def done(finished: concurrent.futures.Future[Any]) -> None:
            if finished.cancelled():
                return
            exc = finished.exception()
            if exc is not None:
                log.warning("%s failed: %s", what, exc)
                # Emitted from the core thread: queued to the Qt thread.
                self.commandFailed.emit(what, exc)

        future.add_done_callback(done)

    def call(self, callback: Callable[[], Any]) -> None:
        """Run a plain function on the core thread (e.g. to add a frame sink)."""
        self.core.call_soon(callback)
