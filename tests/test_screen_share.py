"""Screen sharing on the session's Xvfb: what can be shared, and an official-SDK peer
seeing what is on the virtual screen (a whole screen, then one window until it
closes).  The window is a real X client: a small Qt program in its own process,
painted red on its left half and blue on its right (or a page of small text, for
how sharp a share arrives)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import av
import numpy as np
import pytest
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamTrack
from livekit import rtc

from client.livekit import screen_encoding
from client.livekit.participant import LocalTrackPublication, TrackSource
from client.livekit.screen_encoding import ScreenContentEncoder, ScreenEncoding, share_bitrate
from client.media.camera import LatestFrameTrack
from client.media.frame_stamp import luma_of_i420
from client.media.screen_capture import (
    MAX_FPS,
    ScreenShare,
    ScreenShareEnded,
    ScreenShareError,
    ScreenShareTrack,
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


#: A page of 11-pixel text, black on white, its first lines rewritten ten times a
#: second (a shared document someone types in, a log that scrolls).
_TEXT_PROGRAM = r"""
import random, sys
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QApplication, QWidget

x, y, width, height = map(int, sys.argv[1:5])
title = sys.argv[5]
words = "meeting share legible screen text quick brown fox jumps lazy dog 0123456789".split()
rng = random.Random(7)
lines = [" ".join(rng.choice(words) for _ in range(40)) for _ in range(80)]

class Page(QWidget):
    typed = 0

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(255, 255, 255))
        font = QFont("DejaVu Sans")
        font.setPixelSize(11)
        painter.setFont(font)
        painter.setPen(QColor(0, 0, 0))
        for row in range(2):
            painter.drawText(8, 14 + row * 14, lines[(self.typed + row) % len(lines)])
        for row, line in enumerate(lines):
            painter.drawText(8, 50 + row * 14, line)

    def type_one(self):
        self.typed += 1
        self.update(0, 0, self.width(), 34)

app = QApplication([])
window = Page()
window.setWindowTitle(title)
window.setGeometry(x, y, width, height)
window.show()
timer = QTimer()
timer.timeout.connect(window.type_one)
timer.start(100)
app.processEvents()
print(int(window.winId()), flush=True)
app.exec()
"""


@contextlib.contextmanager
def x_window(
    x: int, y: int, width: int, height: int, program: str = _WINDOW_PROGRAM
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A window on the test display (red|blue unless told); yields its process and
    X window id."""
    assert os.environ.get("DISPLAY"), "the session's Xvfb is not running"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            program,
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
        # Encoded for its own size: a small window gets a small window's bitrate.
        assert share.track.encoding == ScreenEncoding(640, 400, 10, share_bitrate(640, 400, 10))
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


# --- how sharp a shared screen arrives ---------------------------------------------------


class SourceMirror(MediaStreamTrack):
    """Passes a share's frames on and hands each to ``copy`` too (a second publication
    of the same pictures), keeping the last one seen."""

    kind = "video"

    def __init__(self, source: ScreenShareTrack) -> None:
        super().__init__()
        self.source = source
        #: What makes the publication a screen share's (see PublishedTrack).
        self.encoding = source.encoding
        self.copy = LatestFrameTrack()
        self.last: av.VideoFrame | None = None

    async def recv(self) -> av.VideoFrame:
        frame = await self.source.recv()
        # A copy: an encoder rebases its frame's timestamps in place, and the two
        # publications' encoders run at the same time.
        copy = av.VideoFrame.from_ndarray(frame.to_ndarray(), format=frame.format.name)
        copy.pts, copy.time_base = frame.pts, frame.time_base
        self.copy.push(copy)
        self.last = frame
        return frame

    def last_luma(self) -> np.ndarray:
        assert self.last is not None
        return self.last.to_ndarray()[: self.last.height]  # yuv420p: the luma rows first

    def stop(self) -> None:
        super().stop()
        self.copy.stop()


def psnr(received: np.ndarray, source: np.ndarray) -> float:
    error = float(np.mean((received.astype(np.float64) - source.astype(np.float64)) ** 2))
    return 10 * float(np.log10(255**2 / max(error, 1e-9)))


def ink_kept(received: np.ndarray, source: np.ndarray) -> float:
    """How much of the text survives: the F1 score of the dark (ink) pixels of the
    received picture against the source's, both cut at mid-grey."""
    ink, expected = received < 128, source < 128
    both = float(np.count_nonzero(ink & expected))
    return 2 * both / max(1.0, float(np.count_nonzero(ink) + np.count_nonzero(expected)))


async def received_luma(peer: SdkPeer, sid: str, frames: int = 3) -> np.ndarray:
    track = None
    for participant in peer.room.remote_participants.values():
        publication = participant.track_publications.get(sid)
        if publication is not None:
            track = publication.track
    assert track is not None
    stream = rtc.VideoStream(track, format=rtc.VideoBufferType.I420)
    try:
        for _ in range(frames):
            event = await asyncio.wait_for(anext(stream), 10)
        frame = event.frame
        return luma_of_i420(frame.data, frame.width, frame.height).copy()
    finally:
        await stream.aclose()


async def bytes_sent(publication: LocalTrackPublication) -> int:
    assert publication.transceiver is not None
    report = await publication.transceiver.sender.getStats()
    return sum(
        int(getattr(stats, "bytesSent", 0))
        for stats in report.values()
        if stats.type == "outbound-rtp"
    )


async def test_a_shared_screen_of_small_text_stays_legible(
    ours_and_sdk: tuple[OurClient, SdkPeer],
) -> None:
    """The same 1080p screen of small text, published twice in one call: as a screen
    share, and with a camera's encoding; the share arrives at its full size, at most
    15 fps, within a screen's bitrate, and clearly sharper."""
    ours, peer = ours_and_sdk
    # The page, placed on the virtual screen: its static text (not the typed line).
    x, y, width, height = 100, 60, 1700, 960
    text = (slice(y + 40, y + height - 20), slice(x + 4, x + width - 100))
    with x_window(x, y, width, height, _TEXT_PROGRAM) as (_process, window_id):
        await shown(window_id)
        screen = next(t for t in list_targets() if t.kind == "screen")
        share = ScreenShare(screen, fps=30)  # asks for more than a share is given
        assert share.fps == MAX_FPS == 15
        assert share.size == (1920, 1080)
        await share.start()
        mirror = SourceMirror(share.track)
        try:
            # Published as the call publishes a share (CallSession.start_screen_share).
            width, height = share.size
            shared = await ours.room.publish_track(
                mirror, TrackSource.SCREEN_SHARE, width=width, height=height
            )
            as_camera = await ours.room.publish_track(
                mirror.copy, TrackSource.CAMERA, width=width, height=height
            )
            await wait_for(
                lambda: (
                    peer.video.get(shared.sid) is not None
                    and peer.video[shared.sid].frames > 0
                    and peer.video.get(as_camera.sid) is not None
                    and peer.video[as_camera.sid].frames > 0
                ),
                15,
                "both publications received",
            )
            # What the server was told, as the other side sees it.
            remote = peer.room.remote_participants["ours"].track_publications[shared.sid]
            assert remote.source == rtc.TrackSource.SOURCE_SCREENSHARE
            assert (remote.width, remote.height) == (1920, 1080)
            await asyncio.sleep(2)  # past the first keyframes and the start of rate control
            frames_before = peer.video[shared.sid].frames
            camera_frames_before = peer.video[as_camera.sid].frames
            captured_before = share.frames
            sent_before = {p.sid: await bytes_sent(p) for p in (shared, as_camera)}
            started = asyncio.get_running_loop().time()
            await asyncio.sleep(6)
            elapsed = asyncio.get_running_loop().time() - started
            fps = (peer.video[shared.sid].frames - frames_before) / elapsed
            camera_fps = (peer.video[as_camera.sid].frames - camera_frames_before) / elapsed
            captured_fps = (share.frames - captured_before) / elapsed
            kbps = {
                p.sid: (await bytes_sent(p) - sent_before[p.sid]) * 8 / elapsed / 1000
                for p in (shared, as_camera)
            }
            shared_luma = await received_luma(peer, shared.sid)
            camera_luma = await received_luma(peer, as_camera.sid)
            source = mirror.last_luma()
            assert shared.transceiver is not None and as_camera.transceiver is not None
            encoder = screen_encoding.encoder_of(shared.transceiver.sender)
            camera_encoder = screen_encoding.encoder_of(as_camera.transceiver.sender)
        finally:
            await share.stop()
    assert isinstance(encoder, ScreenContentEncoder), encoder
    assert type(camera_encoder) is Vp8Encoder, camera_encoder
    assert shared_luma.shape == camera_luma.shape == (1080, 1920)
    sharp = psnr(shared_luma[text], source[text])
    blurred = psnr(camera_luma[text], source[text])
    ink = ink_kept(shared_luma[text], source[text]), ink_kept(camera_luma[text], source[text])
    encode_ms = encoder.encode_seconds / max(1, encoder.frames_encoded) * 1000
    figures = (
        f"share: {fps:.1f} fps, {kbps[shared.sid]:.0f} kb/s, PSNR {sharp:.1f} dB, "
        f"ink {ink[0]:.3f}; camera encoding: {kbps[as_camera.sid]:.0f} kb/s, "
        f"PSNR {blurred:.1f} dB, ink {ink[1]:.3f}; encoder {encoder.frames_encoded} encoded, "
        f"{encoder.frames_skipped} skipped, {encoder.keyframes} keyframes, "
        f"target {encoder.target_bitrate}, {encode_ms:.0f} ms a frame; "
        f"captured {captured_fps:.1f} fps, camera encoding {camera_fps:.1f} fps"
    )
    print(figures)
    # At most 15 fps (fewer when the machine cannot encode that many).
    assert 3 <= fps <= 15.5, figures
    assert captured_fps <= 15.5, figures
    # A screen's bitrate (the camera's encoder never goes past 1.5 Mb/s).
    assert encoder.target_bitrate == 2_500_000, figures
    # (Above it by libvpx's overshoot, or a keyframe a receiver asked for meanwhile.)
    assert 1600 <= kbps[shared.sid] <= 1.3 * 2500, figures
    # The small text arrives nearly as drawn, far sharper than with a camera's encoding.
    assert sharp >= 38, figures
    assert sharp >= blurred + 6, figures
    assert ink[0] >= 0.99 > ink[1], figures
