"""The application window in a real call: a real livekit-server, the official SDK
as the other participant, a real X server.  What a user sees and does."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
from livekit import rtc
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from client.livekit.remote_track import RemoteTrack
from client.meeting_link import MeetingLink
from client.ui.app import Application
from devtools import sdk_peers
from devtools.app_driver import PeerLoop, StallMeter, run_app
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.sdk_peer import SdkPeer

pytestmark = pytest.mark.gui

PEER_COLOUR = (200, 40, 160)
SENTENCE = "Le comité se réunira jeudi à dix heures"
HOSTILE = '<script>alert("x")</script><b>gras</b>'


def close_to(colour: QColor, rgb: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour.getRgb()[:3], rgb, strict=True))


def accessible(widget: object) -> tuple[str, str, bool]:
    interface = QAccessible.queryAccessibleInterface(widget)  # type: ignore[arg-type]
    assert interface is not None
    return (
        interface.text(QAccessible.Text.Name),
        interface.text(QAccessible.Text.Description),
        bool(interface.state().checked),
    )


def sdk_muted(peer: SdkPeer, identity: str, kind: int) -> bool | None:
    participant = peer.room.remote_participants.get(identity)
    if participant is None:
        return None
    for publication in participant.track_publications.values():
        if publication.kind == kind:
            return bool(publication.muted)
    return None


def test_a_call_in_the_window(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str, tmp_path: Path
) -> None:
    peers = PeerLoop()
    token = token_factory("sdk", room_name, name="Agnès", agent=True)

    async def join() -> SdkPeer:
        # The SDK binds to the loop it is created on: the peers' own.
        joined = SdkPeer(livekit_server.ws_url, token)
        await joined.connect()
        return joined

    peer = peers.run(join())
    video = peers.run(peer.publish_solid_video(PEER_COLOUR))
    microphone = peers.run(peer.publish_tone(330.0))
    peer.watch_text("lk.chat")
    link = MeetingLink(livekit_server.ws_url, token_factory("ours", room_name, name="Nous"))

    async def scenario(app: Application) -> None:
        window = app.window
        window.resize(1280, 720)
        app.open(link, "Nous", prejoin=False)
        meter = StallMeter()
        meter.start()
        await wait_for(lambda: window.call_page is not None, 10, "the call page")
        page = window.call_page
        assert page is not None
        grid = page.stage.grid
        # The peer's tile shows its colour.
        await wait_for(lambda: "sdk" in grid.tiles, 15, "the peer's tile")
        tile = grid.tiles["sdk"]
        await wait_for(lambda: tile.images_painted > 5, 15, "the peer's video painted")
        image = tile.grab().toImage()
        centre = image.pixelColor(image.width() // 2, image.height() // 3)
        assert close_to(centre, PEER_COLOUR), centre.getRgb()

        # Captions: an agent-like peer sends both forms under different ids.
        await peers.run_async(peer.caption(video.sid, SENTENCE))
        overlay = page.stage.captions
        await wait_for(lambda: SENTENCE in overlay.displayed_text(), 10, "the final caption")
        shown = overlay.displayed_text()
        assert shown.count(SENTENCE) == 1, shown
        assert "Agnès" in shown
        export = tmp_path / "captions.vtt"
        page.history.export(export, "vtt")
        vtt = export.read_text(encoding="utf-8")
        assert vtt.startswith("WEBVTT") and vtt.count(SENTENCE) == 1, vtt

        # Chat: typed here, read there; their reply shown literally.
        page.controls.chat.click()
        page.chat.input.setFocus()
        # QTest types ASCII only: the accented text goes in as an input method would.
        page.chat.input.insertPlainText("Bonjour à tous")
        QTest.keyClick(page.chat.input, Qt.Key.Key_Return)
        await wait_for(lambda: ("ours", "Bonjour à tous") in peer.texts("lk.chat"), 10, "chat")
        await peers.run_async(peer.room.local_participant.send_text(HOSTILE, topic="lk.chat"))
        await wait_for(
            lambda: any(
                page.chat.messages.entry(row).message.text == HOSTILE
                for row in range(page.chat.messages.rowCount())
            ),
            10,
            "the reply in the chat panel",
        )
        page.controls.chat.click()

        # M and V, and what a screen reader is told.
        window.activateWindow()
        await wait_for(lambda: QApplication.activeWindow() is window, 5, "the window to be active")
        page.setFocus()
        name, state, checked = accessible(page.controls.microphone)
        assert (name, state, checked) == ("Microphone", "off", False)
        QTest.keyClick(window, Qt.Key.Key_M)
        await wait_for(
            lambda: sdk_muted(peer, "ours", rtc.TrackKind.KIND_AUDIO) is False, 10, "mic on"
        )
        assert accessible(page.controls.microphone) == ("Microphone", "on", True)
        QTest.keyClick(window, Qt.Key.Key_V)
        await wait_for(
            lambda: sdk_muted(peer, "ours", rtc.TrackKind.KIND_VIDEO) is True, 10, "camera off"
        )
        assert accessible(page.controls.camera) == ("Camera", "off", False)
        meter.stop()
        print(f"\nlongest UI-thread stall during the call: {meter.longest_ms:.0f} ms")

    try:
        run_app(scenario)
    finally:
        peers.run(peer.close())
        peers.stop()
        del microphone


def test_the_application_imports_no_developer_tool_nor_the_sdk() -> None:
    """What `visio-desktop` loads: no sandbox, no official SDK, no agents framework."""
    code = (
        "import sys, client.cli, client.ui.app, client.call_session; "
        "print([m for m in sys.modules if m.split('.')[0] in ('devtools', 'bench', 'tests')"
        " or m.startswith(('livekit.rtc', 'livekit.api', 'livekit.agents'))])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def start_peers(
    server: LiveKitServer, tokens: list[str], fps: int, max_bitrate: int | None = None
) -> subprocess.Popen[str]:
    """Official-SDK peers in a process of their own (video and a tone each)."""
    return sdk_peers.start_peers(server.ws_url, tokens, fps, max_bitrate=max_bitrate)


def test_nine_participants_render(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    tokens = [token_factory(f"peer-{i}", room_name, name=f"Pair {i + 1}") for i in range(8)]
    # In a real 9-tile grid each tile receives a simulcast thumbnail layer (~200 kb/s),
    # not a full camera: eight full cameras encoded on this machine next to the app
    # would measure the machine, not the grid.
    peers = start_peers(livekit_server, tokens, fps=10, max_bitrate=200_000)
    link = MeetingLink(livekit_server.ws_url, token_factory("ours", room_name, name="Nous"))

    async def scenario(app: Application) -> None:
        app.window.resize(1280, 720)
        app.open(link, "Nous", prejoin=False)
        meter = StallMeter()
        meter.start()
        await wait_for(lambda: app.window.call_page is not None, 10, "the call page")
        page = app.window.call_page
        assert page is not None
        grid = page.stage.grid
        await wait_for(lambda: len(grid.tiles) == 9, 20, "nine tiles")
        try:
            await wait_for(
                lambda: all(t.images_painted > 2 for k, t in grid.tiles.items() if k != "ours"),
                30,
                "video in every tile",
            )
        except AssertionError as failure:
            painted = {k: t.images_painted for k, t in grid.tiles.items()}
            raise AssertionError(f"{failure}; images painted per tile: {painted}") from None
        assert all(tile.isVisible() for tile in grid.tiles.values())
        meter.stop()
        sizes = {tile.width() for tile in grid.tiles.values()}
        print(f"\n9 tiles of {sizes} px; longest UI-thread stall: {meter.longest_ms:.0f} ms")

    try:
        run_app(scenario)
    finally:
        sdk_peers.stop_peers(peers)


def test_a_frozen_ui_loses_no_media(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    """The UI thread stops for 300 ms: the core, on its own thread, keeps receiving."""
    peers = start_peers(livekit_server, [token_factory("peer", room_name, name="Pair")], fps=30)
    link = MeetingLink(livekit_server.ws_url, token_factory("ours", room_name, name="Nous"))

    async def scenario(app: Application) -> None:
        app.open(link, "Nous", prejoin=False)
        await wait_for(lambda: app.window.session is not None, 10, "the session")
        session = app.window.session
        assert session is not None

        def track(kind: str) -> RemoteTrack | None:
            participant = session.room.remote_participants.get("peer")
            for publication in (participant.track_publications if participant else {}).values():
                if publication.kind == kind and publication.track is not None:
                    return publication.track
            return None

        await wait_for(
            lambda: track("audio") is not None and track("video") is not None, 20, "media"
        )
        audio, video = track("audio"), track("video")
        assert audio is not None and video is not None
        await wait_for(lambda: audio.frames_received > 100, 10, "audio flowing")

        async def lost() -> int:
            engine = session.room.engine
            assert engine is not None and engine.subscriber is not None
            total = 0
            for transceiver in engine.subscriber.pc.getTransceivers():
                stats = await transceiver.receiver.getStats()
                total += sum(getattr(s, "packetsLost", 0) for s in stats.values())
            return total

        lost_before = await app.bridge.run(lost())
        before = (audio.frames_received, video.frames_received, time.monotonic())
        deadline = time.perf_counter() + 0.3
        while time.perf_counter() < deadline:  # the UI thread is busy, not sleeping
            sum(range(1000))
        await asyncio.sleep(0.7)
        after = (audio.frames_received, video.frames_received, time.monotonic())
        lost_after = await app.bridge.run(lost())
        seconds = after[2] - before[2]
        audio_rate = (after[0] - before[0]) / seconds
        video_rate = (after[1] - before[1]) / seconds
        print(
            f"\nacross a 300 ms UI freeze ({seconds:.2f} s window): audio {audio_rate:.1f} "
            f"frames/s, video {video_rate:.1f} frames/s, packets lost {lost_after - lost_before}"
        )
        # 20 ms Opus frames: 50 per second arrive whatever the UI does.
        assert audio_rate >= 45
        assert lost_after - lost_before == 0

    try:
        run_app(scenario)
    finally:
        sdk_peers.stop_peers(peers)
