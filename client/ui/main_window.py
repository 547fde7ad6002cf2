"""The application window: home, pre-join and call, one at a time."""

from __future__ import annotations

import dataclasses
import logging

from PySide6.QtCore import QEvent
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QMainWindow, QMessageBox, QStackedWidget

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
from client.ui.messages import connect_error_message
from client.ui.prejoin_page import PrejoinPage
from client.ui.video_frames import VideoConverter

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
    ) -> None:
        super().__init__()
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
        self.prejoin.backRequested.connect(self.show_home)
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
        self._link: MeetingLink | None = None
        self._quitting = False
        # UI-side coroutines (qasync loop), kept and logged if they fail.
        self._ui_tasks = TaskGroup("window")
        converter.add(self.prejoin.slot)

    # --- navigation --------------------------------------------------------------------

    def show_home(self, message: str = "") -> None:
        self._stop_previews()
        self.prejoin.stop()
        self.home.reload_recent()
        self.home.show_error(message)
        self.pages.setCurrentWidget(self.home)

    def open_prejoin(self, link: MeetingLink, name: str) -> None:
        self._link = link
        self._remember_name(name)
        self.prejoin.prepare(link, name, camera_on=True, microphone_on=False)
        self.pages.setCurrentWidget(self.prejoin)
        self._start_previews()

    def join_directly(self, link: MeetingLink, name: str) -> None:
        """Straight into the call (``--no-prejoin``, kiosks)."""
        self._link = link
        self._remember_name(name)
        self._start_join(link, name, camera_on=True, microphone_on=False)

    def _remember_name(self, name: str) -> None:
        if name and name != self.settings.display_name:
            self.settings.display_name = name
            self._save_settings()

    def _core_event(self, event: object) -> None:
        if isinstance(event, LocalDevicesChanged):
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
        # The camera stays open: the call sends what the preview showed, without a gap.
        self._stop_previews(release_camera=False)
        self.prejoin.stop()
        self._start_join(self._link, name, camera_on=camera_on, microphone_on=microphone_on)

    def _start_join(
        self, link: MeetingLink, name: str, *, camera_on: bool, microphone_on: bool
    ) -> None:
        self._ui_tasks.spawn(self._join(link, name, camera_on, microphone_on), "join")

    async def _join(
        self, link: MeetingLink, name: str, camera_on: bool, microphone_on: bool
    ) -> None:
        options = self.room_options or RoomOptions()
        if options.extra_ca_file is None and self.settings.extra_ca_path is not None:
            options = dataclasses.replace(options, extra_ca_file=self.settings.extra_ca_path)

        async def create() -> CallSession:
            # Built on the core loop, which runs it from now on.
            session = CallSession(options, media=self._media_sources(), audio=self.audio)
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
