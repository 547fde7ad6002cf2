"""Screen sharing on the session's Xvfb: what can be shared, and an official-SDK peer
seeing what is on the virtual screen (a whole screen, then one window until it
closes).  The window is a real X client: a small Qt program in its own process,
painted red on its left half and blue on its right."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from livekit import rtc

from client.livekit.participant import TrackSource
from client.media.screen_capture import (
    ScreenShare,
    ScreenShareEnded,
    ScreenShareError,
    ShareTarget,
    check_available,
    display_server,
    fit_size,
    list_targets,
)
from devtools.waiting import wait_for
from tests.our_client import OurClient
from tests.sdk_peer import SdkPeer

pytestmark = pytest.mark.devices

RED = (220, 30, 30)
BLUE = (30, 30, 220)
WINDOW_TITLE = "Shared document — Visio test"

_WINDOW_PROGRAM = r"""
import sys
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QApplication, QWidget

x, y, width, height = map(int, sys.argv[1:5])
title = sys.argv[5]

class Halves(QWidget):
    def paintEvent(self, event):
        painter = QPainter(self)
        half = self.width() // 2
        painter.fillRect(0, 0, half, self.height(), QColor(220, 30, 30))
        painter.fillRect(half, 0, self.width() - half, self.height(), QColor(30, 30, 220))

app = QApplication([])
window = Halves()
window.setWindowTitle(title)
window.setGeometry(x, y, width, height)
window.show()
app.processEvents()
print(int(window.winId()), flush=True)
app.exec()
"""


@contextlib.contextmanager
def x_window(
    x: int, y: int, width: int, height: int
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A red|blue window on the test display; yields its process and X window id."""
    assert os.environ.get("DISPLAY"), "the session's Xvfb is not running"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _WINDOW_PROGRAM,
            str(x),
            str(y),
            str(width),
            str(height),
            WINDOW_TITLE,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "xcb"},
    )
    try:
        assert process.stdout is not None
        window_id = int(process.stdout.readline())
        yield process, window_id
    finally:
        process.kill()
        process.wait(5)


async def shown(window_id: int) -> ShareTarget:
    """The window as listed once it is mapped and painted."""

    def find() -> ShareTarget | None:
        return next((t for t in list_targets() if t.window_id == window_id), None)

    await wait_for(lambda: find() is not None, 10, "the window listed")
    await asyncio.sleep(0.5)  # its first paint
    target = find()
    assert target is not None
    return target


def region_mean(frame: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Mean RGB of a region given in fractions of the frame."""
    height, width = frame.shape[:2]
    area = frame[int(y0 * height) : int(y1 * height), int(x0 * width) : int(x1 * width), :3]
    mean: np.ndarray = area.reshape(-1, 3).mean(axis=0)
    return mean


def close_to(colour: np.ndarray, expected: tuple[int, int, int], tolerance: float = 40) -> bool:
    return bool(np.all(np.abs(colour - np.array(expected)) <= tolerance))


async def received_picture(peer: SdkPeer, sid: str, frames: int = 5) -> np.ndarray:
    """An RGBA picture the SDK peer decoded from our track, a few frames in (past
    the first keyframe's coarse quality)."""
    await wait_for(lambda: sid in peer.video, 15, "the share subscribed")
    track = None
    for participant in peer.room.remote_participants.values():
        publication = participant.track_publications.get(sid)
        if publication is not None:
            assert publication.source == rtc.TrackSource.SOURCE_SCREENSHARE
            track = publication.track
    assert track is not None
    stream = rtc.VideoStream(track, format=rtc.VideoBufferType.RGBA)
    try:
        for _ in range(frames):
            event = await asyncio.wait_for(anext(stream), 10)
        frame = event.frame
        return np.frombuffer(frame.data, np.uint8).reshape(frame.height, frame.width, 4).copy()
    finally:
        await stream.aclose()


# --- what can be shared ---------------------------------------------------------------


def test_wayland_and_no_display_are_clear_errors() -> None:
    wayland = {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}
    assert display_server(wayland) == "wayland"
    assert display_server({"WAYLAND_DISPLAY": "wayland-0"}) == "wayland"
    assert display_server({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}) == "x11"
    with pytest.raises(ScreenShareError) as raised:
        check_available(wayland)
    assert (raised.value.kind, raised.value.reason) == ("unavailable", "wayland")
    with pytest.raises(ScreenShareError) as raised:
        check_available({})
    assert (raised.value.kind, raised.value.reason) == ("unavailable", "no_display")


def test_shares_fit_1080p_keeping_their_aspect() -> None:
    assert fit_size(1920, 1080) == (1920, 1080)
    assert fit_size(3840, 2160) == (1920, 1080)
    assert fit_size(2560, 1600) == (1728, 1080)
    assert fit_size(401, 301) == (400, 300)  # never up, just even
    assert fit_size(5120, 1440) == (1920, 540)


async def test_screens_and_windows_are_listed() -> None:
    with x_window(120, 90, 500, 320) as (_process, window_id):
        target = await shown(window_id)
        screens = [t for t in list_targets() if t.kind == "screen"]
    assert [(s.width, s.height) for s in screens] == [(1920, 1080)]
    assert target.name == WINDOW_TITLE
    assert (target.x, target.y, target.width, target.height) == (120, 90, 500, 320)
    assert target.pid > 0
    await wait_for(
        lambda: all(t.window_id != window_id for t in list_targets()), 10, "closed window unlisted"
    )


# --- sharing to an official-SDK peer ------------------------------------------------


async def test_peer_sees_the_shared_screen(ours_and_sdk: tuple[OurClient, SdkPeer]) -> None:
    ours, peer = ours_and_sdk
    with x_window(200, 150, 800, 600) as (_process, window_id):
        await shown(window_id)
        screen = next(t for t in list_targets() if t.kind == "screen")
        share = ScreenShare(screen, fps=10)
        await share.start()
        try:
            width, height = share.size
            assert (width, height) == (1920, 1080)
            publication = await ours.room.publish_track(
                share.track, TrackSource.SCREEN_SHARE, width=width, height=height
            )
            picture = await received_picture(peer, publication.sid)
        finally:
            await share.stop()
    assert picture.shape[:2] == (1080, 1920)
    # The window's halves where the window is; the desktop's grey weave elsewhere.
    left = region_mean(picture, 230 / 1920, 180 / 1080, 570 / 1920, 720 / 1080)
    right = region_mean(picture, 630 / 1920, 180 / 1080, 970 / 1920, 720 / 1080)
    desktop = region_mean(picture, 1300 / 1920, 300 / 1080, 1800 / 1920, 900 / 1080)
    assert close_to(left, RED), left
    assert close_to(right, BLUE), right
    assert not close_to(desktop, RED, 80) and not close_to(desktop, BLUE, 80), desktop
    assert abs(float(desktop[0]) - float(desktop[2])) < 30, desktop
    assert share.ended == "stopped"


async def test_peer_sees_the_shared_window_until_it_closes(
    ours_and_sdk: tuple[OurClient, SdkPeer],
) -> None:
    ours, peer = ours_and_sdk
    ended: list[ScreenShareEnded] = []
    with x_window(300, 200, 640, 400) as (process, window_id):
        target = await shown(window_id)
        share = ScreenShare(target, fps=10)
        share.events.on(ScreenShareEnded, ended.append)
        await share.start()
        assert share.size == (640, 400)
        publication = await ours.room.publish_track(
            share.track, TrackSource.SCREEN_SHARE, width=640, height=400
        )
        picture = await received_picture(peer, publication.sid)
        assert picture.shape[:2] == (400, 640)
        assert close_to(region_mean(picture, 0.05, 0.1, 0.45, 0.9), RED)
        assert close_to(region_mean(picture, 0.55, 0.1, 0.95, 0.9), BLUE)

        def unpublish(_event: ScreenShareEnded) -> None:
            # What the call does when a share ends: take the track off the room.
            unpublishing.append(asyncio.ensure_future(ours.room.unpublish_track(publication)))

        unpublishing: list[asyncio.Future[None]] = []
        share.events.on(ScreenShareEnded, unpublish)
        process.kill()  # the user closes the shared window
        process.wait(5)
        await wait_for(lambda: bool(ended), 10, "the share ending")
    assert [e.reason for e in ended] == ["window_closed"]
    assert share.track.readyState == "ended"
    await asyncio.gather(*unpublishing)
    remote = peer.room.remote_participants["ours"]
    await wait_for(lambda: publication.sid not in remote.track_publications, 10, "unpublished")
    await share.stop()  # stopping an ended share is harmless
    assert [e.reason for e in ended] == ["window_closed"]


async def test_sharing_a_window_that_is_gone_fails_clearly() -> None:
    with x_window(10, 10, 200, 200) as (process, window_id):
        target = await shown(window_id)
        process.kill()
        process.wait(5)
        await wait_for(
            lambda: all(t.window_id != window_id for t in list_targets()), 10, "window gone"
        )
    share = ScreenShare(target, display=os.environ["DISPLAY"], fps=10)
    with pytest.raises(ScreenShareError) as raised:
        await share.start()
    assert (raised.value.kind, raised.value.reason) == ("missing", "window_gone")


async def test_the_user_stops_sharing() -> None:
    screen = next(t for t in list_targets() if t.kind == "screen")
    share = ScreenShare(screen, fps=15)
    ended: list[ScreenShareEnded] = []
    share.events.on(ScreenShareEnded, ended.append)
    await share.start()
    frame = await asyncio.wait_for(share.track.recv(), 10)
    assert (frame.width, frame.height, frame.format.name) == (1920, 1080, "yuv420p")
    await share.stop()
    assert [e.reason for e in ended] == ["stopped"]
    assert share.track.readyState == "ended"
    assert not any(t.name.startswith("screen-capture") for t in threading.enumerate())
