"""Driving the real application window from a test, a benchmark or a screenshot run:
its own Qt loop (qasync), the official SDK's peers on a thread of their own, and
ways to wait for the UI and to measure its stalls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import qasync
from PySide6.QtCore import QTimer

from client.livekit.room import RoomOptions
from client.ui.app import Application
from client.ui.core_thread import CoreThread

T = TypeVar("T")


class PeerLoop:
    """An asyncio loop in a thread for the SDK peers, apart from the app's two."""

    def __init__(self) -> None:
        self.thread = CoreThread("sdk-peers")
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return self.thread.submit(coroutine).result(timeout)

    async def run_async(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(self.thread.submit(coroutine))

    def stop(self) -> None:
        self.thread.stop()


class StallMeter:
    """How late a 10 ms Qt timer fires: the longest UI-thread stall."""

    def __init__(self) -> None:
        self.longest_ms = 0.0
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest_ms = max(self.longest_ms, (now - self._last) * 1000 - 10)
        self._last = now


def run_app(scenario: Callable[[Application], Awaitable[None]], *, test_media: bool = True) -> None:
    """Start the app (sandbox ICE: only the server's candidates), run ``scenario`` on
    the Qt thread's asyncio loop, then leave and stop everything.  ``test_media``
    sends a test pattern and silence (what the tests read back) instead of opening
    this machine's devices."""
    application = Application([], room_options=RoomOptions(ice_servers=[]), test_media=test_media)
    loop = qasync.QEventLoop(application.qt)
    asyncio.set_event_loop(loop)

    async def main() -> None:
        try:
            await scenario(application)
        finally:
            await application.window._teardown()
            application.window.hide()

    try:
        loop.run_until_complete(main())
    finally:
        application.close_devices()
        loop.close()
        asyncio.set_event_loop(None)
        application.close()
        # One QApplication serves every test: leave it as it was found.
        application.qt.setStyleSheet("")
        for translator in application.qt.property("visio_translators") or []:
            application.qt.removeTranslator(translator)
