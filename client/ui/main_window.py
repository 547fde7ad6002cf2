"""The application window: home, pre-join and call, one at a time."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
from urllib.parse import urlsplit

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QMainWindow, QMessageBox, QStackedWidget

from client import settings as settings_store
from client.call_session import CallSession, DeviceMediaSources, MediaSources, TestMediaSources
from client.livekit import errors
from client.livekit.room import RoomOptions
from client.livekit.tasks import TaskGroup
from client.local_media import LocalAudio, LocalDevicesChanged
from client.media.camera import Camera, CamerasChanged
from client.media.preview import PreviewReader
from client.media.test_sources import TestPatternTrack, ToneTrack
from client.meeting_link import MeetingLink
from client.settings import Settings
from client.ui.bridge import CoreBridge
from client.ui.call_model import CallViewModel
from client.ui.call_page import CallPage
from client.ui.home_page import HomePage
from client.ui.messages import connect_error_message, visio_error_message
from client.ui.prejoin_page import PrejoinPage
from client.ui.video_frames import VideoConverter
from client.visio.accounts import SignInChanged, VisioAccounts
from client.visio.api import LiveKitAccess, VisioApi, VisioError
from client.visio.joining import JoinRoute, find_route, lobby_key
from client.visio.links import VisioLink
from client.visio.lobby import Lobby, LobbyDenied, LobbyTimedOut

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    def __init__(
        self,
        bridge: CoreBridge,
        converter: VideoConverter,
        settings: Settings,
        *,
        room_options: RoomOptions | None = None,
        audio: LocalAudio | None = None,
        camera: Camera | None = None,
        accounts: VisioAccounts | None = None,
    ) -> None:
        super().__init__()
        #: Visio servers and our sign-ins (used on the core thread).
        self.accounts = accounts if accounts is not None else VisioAccounts()
        bridge.observe(self.accounts.events)
        self.audio = audio
        self.camera = camera
        self.bridge = bridge
        self.converter = converter
        self.settings = settings
        self.room_options = room_options
        self.setWindowTitle(self.tr("Visio"))
        self.resize(1280, 720)
        self.pages = QStackedWidget(self)
        self.setCentralWidget(self.pages)
        self.home = HomePage(settings, self.pages)
        self.prejoin = PrejoinPage(
            self.pages, audio=audio, bridge=bridge, with_camera=camera is not None
        )
        self.pages.addWidget(self.home)
        self.pages.addWidget(self.prejoin)
        self.home.joinRequested.connect(self.open_prejoin)
        self.home.signInRequested.connect(self.sign_in)
        self.home.signOutRequested.connect(self.sign_out)
        self.home.serverChanged.connect(self._show_account)
        self.prejoin.backRequested.connect(self.show_home)
        self.prejoin.signInRequested.connect(self._prejoin_sign_in)
        self.prejoin.cancelRequested.connect(self.cancel_lobby)
        self.prejoin.joinRequested.connect(self._prejoin_join)
        self.prejoin.deviceChosen.connect(self._select_device)
        self.prejoin.cameraSwitched.connect(self._preview_camera)
        #: The devices the core found last (for the settings dialog).
        self.devices: LocalDevicesChanged | None = None
        self.cameras: CamerasChanged | None = None
        bridge.coreEvent.connect(self._core_event)
        self.session: CallSession | None = None
        self.model: CallViewModel | None = None
        self.call_page: CallPage | None = None
        self._previews: list[PreviewReader] = []
        self._link: MeetingLink | VisioLink | None = None
        #: The Visio room looked up for the pre-join (and the name it was asked with).
        self._route: tuple[JoinRoute, str] | None = None
        self._lobby: concurrent.futures.Future[LiveKitAccess] | None = None
        self._sign_in_dialog: QDialog | None = None
        self._quitting = False
        # UI-side coroutines (qasync loop), kept and logged if they fail.
        self._ui_tasks = TaskGroup("window")
        converter.add(self.prejoin.slot)
        # Once the Qt loop runs (the keychain is read on the core thread).
        QTimer.singleShot(0, lambda: self._show_account(self.home.current_server()))

    # --- navigation --------------------------------------------------------------------

    def show_home(self, message: str = "") -> None:
        self.cancel_lobby()
        self._route = None
        self._stop_previews()
        self.prejoin.stop()
        self.home.reload_recent()
        shown = self.home.current_server()
        self.home.reload_servers()
        if self.home.current_server() != shown:
            self._show_account(self.home.current_server())
        self.home.show_error(message)
        self.pages.setCurrentWidget(self.home)

    def open_prejoin(self, link: MeetingLink | VisioLink, name: str) -> None:
        self._link = link
        self._route = None
        self._remember_name(name)
        self.prejoin.prepare(link, name, camera_on=True, microphone_on=False)
        self.pages.setCurrentWidget(self.prejoin)
        self._start_previews()
        if isinstance(link, VisioLink):
            self._ui_tasks.spawn(self._look_up(link, name), "look-up")

    def join_directly(self, link: MeetingLink | VisioLink, name: str) -> None:
        """Straight into the call (``--no-prejoin``, kiosks)."""
        self._link = link
        self._remember_name(name)
        if isinstance(link, VisioLink):
            # The lobby and sign-in need the pre-join's buttons: it is shown, and
            # joins by itself when the room lets us in.
            self.open_prejoin(link, name)
            self._ui_tasks.spawn(self._join_visio(link, name, True, False), "join")
            return
        self._start_join(link, name, camera_on=True, microphone_on=False)

    def _remember_name(self, name: str) -> None:
        if name and name != self.settings.display_name:
            self.settings.display_name = name
            self._save_settings()

    def _core_event(self, event: object) -> None:
        if isinstance(event, SignInChanged):
            self._account_changed(event)
        elif isinstance(event, LocalDevicesChanged):
            self.devices = event
        elif isinstance(event, CamerasChanged):
            self.cameras = event

    def _select_device(self, kind: str, device_id: str) -> None:
        """A device picked in the call: switched at once, remembered."""
        self._device_chosen(kind, device_id)
        audio = self.audio
        if audio is None:
            return
        if kind == "microphone":
            self.bridge.fire("microphone", audio.select_microphone(device_id))
        elif kind == "speaker":
            self.bridge.fire("speaker", audio.select_speaker(device_id))
        elif kind == "camera" and self.camera is not None:
            camera = self.camera

            async def switch() -> None:
                if camera.device is not None:  # on: switched at once; off: used next time
                    await camera.start(device_id)

            self.bridge.fire("camera", switch())

    def _device_chosen(self, kind: str, device_id: str) -> None:
        if kind == "microphone":
            self.settings.microphone_device = device_id
        elif kind == "speaker":
            self.settings.speaker_device = device_id
        elif kind == "camera":
            self.settings.camera_device = device_id
        self._save_settings()

    def _save_settings(self) -> None:
        try:
            settings_store.save(self.settings)
        except OSError as exc:
            log.warning("cannot save the settings: %s", exc)

    # --- previews ------------------------------------------------------------------------

    def _start_previews(self) -> None:
        if self._previews:
            return
        if self.camera is None:
            camera = PreviewReader(TestPatternTrack(640, 360), self.prejoin.slot.put)
        else:
            camera = PreviewReader(self.camera.track(), self.prejoin.slot.put)
        self._previews = [camera]
        if self.audio is None:
            # Test media: the meter shows the silence that will be sent.
            silence = ToneTrack(440.0, amplitude=0.0)
            self._previews.append(PreviewReader(silence, self.prejoin.meter.feed))

        async def start() -> None:
            for preview in self._previews:
                preview.start()

        self.bridge.fire("preview", start())
        self._preview_camera(self.prejoin.camera.isChecked())

    def _preview_camera(self, on: bool) -> None:
        """The pre-join camera switch opens the device, or releases it (LED off)."""
        camera = self.camera
        if camera is None:
            return
        if on:
            chosen = self.settings.camera_device

            async def start() -> None:
                await camera.start(chosen if camera.find(chosen) else "")

            self.bridge.fire("camera", start())
        else:
            self.bridge.fire("camera", camera.stop())

    def _stop_previews(self, *, release_camera: bool = True) -> None:
        previews, self._previews = self._previews, []
        if previews and release_camera and self.camera is not None:
            self.bridge.fire("camera", self.camera.stop())

        async def stop() -> None:
            for preview in previews:
                await preview.stop()

        if previews:
            self.bridge.fire("preview", stop())

    # --- joining ------------------------------------------------------------------------

    def _media_sources(self) -> MediaSources:
        if self.audio is None or self.camera is None:
            return TestMediaSources()
        settings = self.settings
        return DeviceMediaSources(self.audio, self.camera, lambda: settings.camera_device)

    def _prejoin_join(self, camera_on: bool, microphone_on: bool, name: str) -> None:
        if self._link is None:
            return
        self._remember_name(name)
        if isinstance(self._link, VisioLink):
            link = self._link
            self._ui_tasks.spawn(self._join_visio(link, name, camera_on, microphone_on), "join")
            return
        # The camera stays open: the call sends what the preview showed, without a gap.
        self._stop_previews(release_camera=False)
        self.prejoin.stop()
        self._start_join(self._link, name, camera_on=camera_on, microphone_on=microphone_on)

    def _start_join(
        self,
        link: MeetingLink,
        name: str,
        *,
        camera_on: bool,
        microphone_on: bool,
        visio: tuple[VisioApi, JoinRoute] | None = None,
    ) -> None:
        self._ui_tasks.spawn(self._join(link, name, camera_on, microphone_on, visio), "join")

    # --- Visio rooms: look-up, lobby, sign-in ------------------------------------------------

    async def _look_up(self, link: VisioLink, name: str) -> JoinRoute | None:
        """Ask the server about the room; the pre-join says what joining will do.
        None (and a message) when it cannot be joined."""

        async def find() -> tuple[VisioApi, JoinRoute]:
            api = await self.accounts.api(link.base_url)
            return api, await find_route(api, link, name)

        try:
            _api, route = await self.bridge.run(find())
        except VisioError as exc:
            if self._link is link:
                self.show_home(visio_error_message(exc))
                self.home.link.setText(link.url)
            return None
        if self._link is not link:
            return None  # the user went elsewhere meanwhile
        self._route = (route, name)
        self.prejoin.set_room(route.room.name)
        if route.session_expired:
            self.bridge.fire("sign-in check", self.accounts.who(link.base_url))
        self.prejoin.set_room_state(self._room_state(route))
        return route

    def _room_state(self, route: JoinRoute) -> str:
        if route.straight_in:
            return PrejoinPage.READY
        if route.session_expired:
            return PrejoinPage.EXPIRED
        return PrejoinPage.SIGN_IN if route.sign_in_offered else PrejoinPage.LOBBY

    async def _join_visio(
        self, link: VisioLink, name: str, camera_on: bool, microphone_on: bool
    ) -> None:
        looked_up = self._route
        route = looked_up[0] if looked_up is not None and looked_up[1] == name else None
        if route is None:
            # The token carries the name: a name changed since the look-up asks again.
            route = await self._look_up(link, name)
            if route is None:
                return
        api = await self.bridge.run(self.accounts.api(link.base_url))
        access = route.livekit
        if access is None:
            access = await self._wait_in_lobby(api, route, name)
            if access is None:
                return
        if self._link is not link:
            return
        self.settings.remember_visio_server(link.base_url)
        # The camera stays open: the call sends what the preview showed, without a gap.
        self._stop_previews(release_camera=False)
        self.prejoin.stop()
        meeting = MeetingLink(access.url, access.token)
        self._start_join(
            meeting, name, camera_on=camera_on, microphone_on=microphone_on, visio=(api, route)
        )

    async def _wait_in_lobby(
        self, api: VisioApi, route: JoinRoute, name: str
    ) -> LiveKitAccess | None:
        before = self._room_state(route)
        self.prejoin.set_room_state(PrejoinPage.WAITING)
        lobby = Lobby(api, lobby_key(route), name)
        future = self.bridge.submit(lobby.wait())
        self._lobby = future
        try:
            return await asyncio.wrap_future(future)
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            if self._link is route.link:
                self.prejoin.set_room_state(before)
            return None
        except (LobbyDenied, LobbyTimedOut, VisioError) as exc:
            self.prejoin.set_room_state(before, visio_error_message(exc))
            return None
        finally:
            if self._lobby is future:
                self._lobby = None

    def cancel_lobby(self) -> None:
        """Stop waiting in the lobby (the server forgets us 3 s later)."""
        lobby, self._lobby = self._lobby, None
        if lobby is not None:
            lobby.cancel()

    @property
    def in_lobby(self) -> bool:
        return self._lobby is not None

    def _prejoin_sign_in(self) -> None:
        if isinstance(self._link, VisioLink):
            self.sign_in(self._link.base_url)

    def sign_in(self, base_url: str) -> None:
        """The server's sign-in page in a window of ours; the session it leaves is
        kept in the keychain."""
        from client.ui.sign_in_dialog import SignInDialog, web_engine_available

        if not web_engine_available():
            QMessageBox.warning(
                self,
                self.tr("Sign in"),
                self.tr("Signing in needs the web view component, which is not installed."),
            )
            return
        if self._sign_in_dialog is not None:
            self._sign_in_dialog.raise_()
            return
        dialog = SignInDialog(base_url, self)
        self._sign_in_dialog = dialog
        # One users/me check at a time; cookies arriving meanwhile are checked next.
        pending: list[dict[str, str]] = []
        checking = [False]

        def cookies_changed(cookies: object) -> None:
            if not isinstance(cookies, dict):
                return
            pending[:] = [dict(cookies)]
            if not checking[0]:
                checking[0] = True
                self._ui_tasks.spawn(check(), "sign-in")

        async def check() -> None:
            account = None
            try:
                while pending and account is None:
                    cookies = pending.pop()
                    try:
                        account = await self.bridge.run(self.accounts.adopt(base_url, cookies))
                    except VisioError as exc:
                        dialog.show_problem(visio_error_message(exc))
            finally:
                checking[0] = False
            if account is not None and self._sign_in_dialog is dialog:
                dialog.succeed()
                self._signed_in(base_url)

        def closed() -> None:
            self._sign_in_dialog = None
            dialog.deleteLater()

        dialog.cookiesChanged.connect(cookies_changed)
        dialog.finished.connect(lambda _result: closed())
        dialog.start()
        dialog.open()

    def _signed_in(self, base_url: str) -> None:
        link = self._link
        if (
            self.pages.currentWidget() is self.prejoin
            and isinstance(link, VisioLink)
            and link.base_url == base_url
            and not self.in_lobby
        ):
            # The room may let us in now: ask again, with the sign-in.
            self._route = None
            self.prejoin.set_room_state(PrejoinPage.LOOKING_UP)
            self._ui_tasks.spawn(self._look_up(link, self.prejoin.name.text().strip()), "look-up")

    def sign_out(self, base_url: str) -> None:
        self.home.show_account(None, busy=True)
        self.bridge.fire("sign out", self.accounts.sign_out(base_url))

    def _show_account(self, base_url: str) -> None:
        """Who we are on the server the home page shows, from the keychain."""
        if not base_url:
            return

        async def show() -> None:
            try:
                name = await self.bridge.run(self.accounts.saved_user(base_url))
            except Exception:
                log.exception("cannot read the sign-in")
                name = None
            if self.home.current_server() == base_url:
                self.home.show_account(name)

        self._ui_tasks.spawn(show(), "account")

    def _account_changed(self, event: SignInChanged) -> None:
        if urlsplit(self.home.current_server()).netloc != event.host:
            return
        if event.account is None:
            note = self.tr("Your sign-in has expired.") if event.expired else ""
            self.home.show_account(None, note)
            return
        name = event.account.display_name
        note = (
            ""
            if event.remembered
            else self.tr(
                "Signed in as %1 (until the app closes: this computer has no keychain)"
            ).replace("%1", name)
        )
        self.home.show_account(name, note)

    async def _join(
        self,
        link: MeetingLink,
        name: str,
        camera_on: bool,
        microphone_on: bool,
        visio: tuple[VisioApi, JoinRoute] | None = None,
    ) -> None:
        options = self.room_options or RoomOptions()
        if options.extra_ca_file is None and self.settings.extra_ca_path is not None:
            options = dataclasses.replace(options, extra_ca_file=self.settings.extra_ca_path)

        async def create() -> CallSession:
            # Built on the core loop, which runs it from now on.
            session = CallSession(options, media=self._media_sources(), audio=self.audio)
            if visio is not None:
                api, route = visio
                session.use_visio(api, route.room)
            self.bridge.observe(session.events)
            return session

        session = await self.bridge.run(create())
        self.session = session
        self.model = CallViewModel(self.bridge, session, self.converter, self)
        page = CallPage(self.model, self.settings, self.pages)
        page.leaveRequested.connect(self.leave)
        page.settingsRequested.connect(self.open_settings)
        page.controls.deviceChosen.connect(self._select_device)
        if self.devices is not None:
            page.controls.set_devices(self.devices)
        if self.cameras is not None:
            page.controls.set_cameras(self.cameras)
        self.model.ended.connect(self._ended)
        self.call_page = page
        self.pages.addWidget(page)
        self.pages.setCurrentWidget(page)
        page.controls.camera.set_on(camera_on)
        page.controls.microphone.set_on(microphone_on)
        try:
            await self.bridge.run(
                session.join(link.url, link.token, camera_on=camera_on, microphone_on=microphone_on)
            )
        except (errors.ConnectError, errors.PublishError, errors.NotConnectedError) as exc:
            await self._teardown()
            self.show_home(connect_error_message(exc))
            return
        except Exception as exc:  # the app must stay usable whatever happened
            log.exception("joining failed")
            await self._teardown()
            self.show_home(connect_error_message(exc))
            return
        if visio is not None:
            route = visio[1]
            self.settings.remember_meeting(route.link.url, route.room.name)
        else:
            self.settings.remember_meeting(link.url, self.model.room_name)
        self._save_settings()
        self.setWindowTitle(self.tr("Visio — %1").replace("%1", self.model.room_name))

    def _ended(self, reason: str, by_error: bool) -> None:
        if by_error:
            self._ui_tasks.spawn(self._end_with(reason), "end")

    async def _end_with(self, reason: str) -> None:
        await self._teardown()
        self.show_home(connect_error_message(errors.DisconnectedError(reason)))

    def leave(self) -> None:
        self._ui_tasks.spawn(self._leave(), "leave")

    async def _leave(self) -> None:
        await self._teardown()
        self.setWindowTitle(self.tr("Visio"))
        self.show_home()

    async def _teardown(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            try:
                await self.bridge.run(session.leave())
            except Exception:
                log.exception("leaving failed")
        page, self.call_page = self.call_page, None
        if page is not None:
            self.pages.removeWidget(page)
            page.deleteLater()
        if self.model is not None:
            for view in self.model.participants.values():
                for slot in (view.camera_slot, view.screen_slot):
                    if slot is not None:
                        self.converter.remove(slot)
            self.model.deleteLater()
            self.model = None

    @property
    def in_call(self) -> bool:
        return self.session is not None

    def open_settings(self) -> None:
        from client.ui.settings_dialog import SettingsDialog

        before = dataclasses.replace(self.settings)
        dialog = SettingsDialog(self.settings, self, devices=self.devices, cameras=self.cameras)
        dialog.accepted.connect(lambda: self._settings_changed(before))
        dialog.open()

    def _settings_changed(self, before: Settings) -> None:
        self._save_settings()
        audio = self.audio
        if audio is not None:
            after = self.settings
            if after.microphone_device != before.microphone_device:
                self.bridge.fire("microphone", audio.select_microphone(after.microphone_device))
            if after.speaker_device != before.speaker_device:
                self.bridge.fire("speaker", audio.select_speaker(after.speaker_device))
            if after.camera_device != before.camera_device:
                self._select_device("camera", after.camera_device)
            processing = after.processing()
            self.bridge.call(lambda: audio.configure(processing))
        if self.call_page is not None:
            self.call_page.apply_settings()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange and self.call_page is not None:
            # A minimised window shows nothing: its videos are not received either.
            self.call_page.stage.grid.set_minimised(self.isMinimized())

    # --- closing ----------------------------------------------------------------------

    def quit_now(self) -> None:
        """Leave the call (if any) and close, without asking: Ctrl-C, SIGTERM."""
        self._quitting = True

        async def leave_and_close() -> None:
            await self._teardown()
            self.close()

        self._ui_tasks.spawn(leave_and_close(), "quit")

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.in_call:
            event.accept()
            return
        if self._quitting:
            event.ignore()  # quit_now closes once the call is left
            return
        answer = QMessageBox.question(
            self,
            self.tr("Leave the call?"),
            self.tr("You are in a call. Closing the window will leave it."),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            event.ignore()
            return
        event.ignore()

        async def leave_and_close() -> None:
            await self._teardown()
            self.close()

        self._ui_tasks.spawn(leave_and_close(), "close")
