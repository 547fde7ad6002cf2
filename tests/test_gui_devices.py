"""The window with this machine's real devices: no camera at all (there is none
here), and a microphone and speaker on a private PulseAudio daemon."""

from __future__ import annotations

import pytest

from client.meeting_link import MeetingLink
from client.ui.app import Application
from devtools.app_driver import PeerLoop, run_app
from devtools.pulse import PulseDaemon
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.sdk_peer import SdkPeer

pytestmark = [pytest.mark.gui, pytest.mark.audio, pytest.mark.devices]


def test_prejoin_and_call_without_a_camera(
    pulse: PulseDaemon, livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    token = token_factory("sdk", room_name, name="SDK")
    link = MeetingLink(livekit_server.ws_url, token_factory("ours", room_name, name="Nous"))

    async def scenario(app: Application) -> None:
        peers = PeerLoop()  # the SDK peer on a loop of its own

        async def join() -> SdkPeer:
            joined = SdkPeer(livekit_server.ws_url, token)  # binds to the loop it is made on
            await joined.connect()
            return joined

        peer = peers.run(join())
        try:
            app.open(link, "Nous", prejoin=True)
            prejoin = app.window.prejoin
            menus = (prejoin.camera_menu, prejoin.microphone_menu, prejoin.speaker_menu)
            await wait_for(
                lambda: prejoin.camera_menu.currentText() == "No camera found", 10, "no camera"
            )
            assert not prejoin.camera.isEnabled() and not prejoin.camera.isChecked()
            await wait_for(
                lambda: prejoin.microphone_menu.findText("Virtual microphone") >= 0,
                10,
                "the microphone listed",
            )
            assert prejoin.speaker_menu.findText("Built-in speaker") >= 0
            assert all(menu.isEnabled() for menu in menus[1:])
            prejoin.microphone.set_on(True)
            prejoin.join.click()
            await wait_for(lambda: app.window.call_page is not None, 15, "the call page")
            session = app.window.session
            assert session is not None
            await wait_for(lambda: session.microphone is not None, 15, "our microphone published")
            assert session.microphone is not None
            sid = session.microphone.sid
            try:
                await wait_for(lambda: sid in peer.audio, 15, "the peer receiving our microphone")
            except AssertionError as failure:
                engine = app.audio.engine if app.audio is not None else None
                raise AssertionError(
                    f"{failure}; peer audio: {list(peer.audio)}, ours muted: "
                    f"{session.microphone.muted}, audio errors: "
                    f"{app.audio and (app.audio.microphone_error, app.audio.speaker_error)}, "
                    f"frames sent: {engine and engine.microphone.frames_sent}"
                ) from None
            assert not session.camera_on  # no camera: the call goes on without it
            await wait_for(
                lambda: "sdk" in app.window.call_page.stage.grid.tiles,  # type: ignore[union-attr]
                15,
                "the peer's tile",
            )
        finally:
            peers.run(peer.close())
            peers.stop()

    run_app(scenario, test_media=False)
