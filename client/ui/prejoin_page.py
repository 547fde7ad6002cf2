"""Pre-join: see yourself, check the microphone, pick devices, then join.

The microphone and speaker menus list this machine's devices as the core finds
them (and follow hot-plug); a choice is switched at once, so the meter shows the
chosen microphone, and remembered.  The screen reads frames through the same slot
and converter as a call tile.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from client.livekit import events as ev
from client.local_media import DeviceChoice, DeviceProblem, LocalAudio, LocalDevicesChanged
from client.media.camera import CameraProblem, CamerasChanged
from client.media.level_meter import LevelMeter
from client.meeting_link import MeetingLink
from client.ui.bridge import CoreBridge
from client.ui.call_model import ParticipantView
from client.ui.colors import participant_color
from client.ui.controls_bar import ControlButton
from client.ui.messages import camera_device_problem, device_problem_message
from client.ui.video_frames import FrameSlot
from client.ui.video_tile import VideoTile
from client.visio.links import VisioLink


class PrejoinPage(QWidget):
    #: (camera on, microphone on, display name)
    joinRequested = Signal(bool, bool, str)
    backRequested = Signal()
    #: A device was chosen: ("microphone" | "speaker" | "camera", id; "" = the default).
    deviceChosen = Signal(str, str)
    #: The camera switch: open the device for the preview, or release it.
    cameraSwitched = Signal(bool)
    #: The room wants a signed-in user: open the server's sign-in.
    signInRequested = Signal()
    #: Stop waiting in the lobby.
    cancelRequested = Signal()

    #: What the room lets us do (``set_room_state``).
    LOOKING_UP = "looking_up"
    READY = "ready"
    LOBBY = "lobby"
    SIGN_IN = "sign_in"
    EXPIRED = "expired"
    WAITING = "waiting"

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        audio: LocalAudio | None = None,
        bridge: CoreBridge | None = None,
        with_camera: bool = False,
    ) -> None:
        super().__init__(parent)
        self.with_camera = with_camera
        #: Whether a camera is plugged in (None: not known yet).
        self._has_camera: bool | None = None
        self.audio = audio
        self.bridge = bridge
        self.link: MeetingLink | VisioLink | None = None
        self.room_state = self.READY
        self.slot = FrameSlot()
        self.meter = LevelMeter()
        self.view = ParticipantView("me", "", is_local=True, camera_on=True)
        self.view.camera_slot = self.slot
        outer = QHBoxLayout(self)
        outer.setContentsMargins(32, 32, 32, 32)
        outer.setSpacing(24)
        self.preview = VideoTile(self.view, self)
        self.preview.setAccessibleName(self.tr("Camera preview"))
        # Local frames: the tile's size goes straight to its slot (no subscription).
        self.preview.visibilityChanged.connect(
            lambda _tile, visible, width, height: self.slot.configure(width, height, visible)
        )
        self.preview.setMinimumSize(480, 270)
        outer.addWidget(self.preview, 3)
        card = QFrame(self)
        card.setObjectName("card")
        card.setMaximumWidth(420)
        layout = QVBoxLayout(card)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.setSpacing(12)
        self.title = QLabel(self.tr("Ready to join?"), card)
        self.title.setObjectName("title")
        self.server = QLabel("", card)
        self.server.setObjectName("subtitle")
        self.server.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.title)
        layout.addWidget(self.server)
        form = QFormLayout()
        self.name = QLineEdit(card)
        self.name.setAccessibleName(self.tr("Your name"))
        self.name.setMaxLength(80)
        self.camera_menu = QComboBox(card)
        self.camera_menu.setAccessibleName(self.tr("Camera"))
        if with_camera:
            self.camera_menu.addItem(self.tr("Looking for cameras…"), "")
            self.camera_menu.activated.connect(
                lambda index: self.deviceChosen.emit(
                    "camera", str(self.camera_menu.itemData(index) or "")
                )
            )
        else:
            self.camera_menu.addItem(self.tr("Test pattern (test media)"))
        self.microphone_menu = QComboBox(card)
        self.microphone_menu.setAccessibleName(self.tr("Microphone"))
        self.speaker_menu = QComboBox(card)
        self.speaker_menu.setAccessibleName(self.tr("Speaker"))
        if audio is None:
            self.microphone_menu.addItem(self.tr("Silence (test media)"))
            self.speaker_menu.addItem(self.tr("Nothing is played (test media)"))
        else:
            for menu in (self.microphone_menu, self.speaker_menu):
                menu.addItem(self.tr("System default"), "")
            self.microphone_menu.activated.connect(
                lambda index: self._choose("microphone", self.microphone_menu, index)
            )
            self.speaker_menu.activated.connect(
                lambda index: self._choose("speaker", self.speaker_menu, index)
            )
        if bridge is not None:
            bridge.coreEvent.connect(self._core_event)
        form.addRow(self.tr("Name"), self.name)
        form.addRow(self.tr("Camera"), self.camera_menu)
        form.addRow(self.tr("Microphone"), self.microphone_menu)
        form.addRow(self.tr("Speaker"), self.speaker_menu)
        layout.addLayout(form)
        self.level = QProgressBar(card)
        self.level.setRange(0, 60)
        self.level.setTextVisible(False)
        self.level.setAccessibleName(self.tr("Microphone level"))
        self.level.setFixedHeight(10)
        layout.addWidget(self.level)
        # What went wrong with a device, if anything (plain text, wrapped).
        self.device_notice = QLabel("", card)
        self.device_notice.setObjectName("subtitle")
        self.device_notice.setWordWrap(True)
        self.device_notice.setTextFormat(Qt.TextFormat.PlainText)
        self.device_notice.hide()
        layout.addWidget(self.device_notice)
        # What the room asks of us: the lobby, signing in; and the lobby's answers.
        self.room_notice = QLabel("", card)
        self.room_notice.setObjectName("notice")
        self.room_notice.setWordWrap(True)
        self.room_notice.setTextFormat(Qt.TextFormat.PlainText)
        self.room_notice.setAccessibleName(self.tr("Meeting access"))
        self.room_notice.hide()
        layout.addWidget(self.room_notice)
        toggles = QHBoxLayout()
        self.microphone = ControlButton(self.tr("Microphone"), "mic", "mic-off", "M", card)
        self.camera = ControlButton(self.tr("Camera"), "camera", "camera-off", "V", card)
        self.microphone.toggled.connect(self.microphone.set_on)
        self.camera.toggled.connect(self.camera.set_on)
        self.camera.toggled.connect(self._camera_toggled)
        self.camera.toggled.connect(self.cameraSwitched)
        toggles.addStretch(1)
        toggles.addWidget(self.microphone)
        toggles.addWidget(self.camera)
        toggles.addStretch(1)
        layout.addLayout(toggles)
        buttons = QHBoxLayout()
        self.back = QPushButton(self.tr("Back"), card)
        self.join = QPushButton(self.tr("Join now"), card)
        self.join.setObjectName("primary")
        self.join.setDefault(True)
        self.sign_in = QPushButton(self.tr("Sign in"), card)
        self.sign_in.hide()
        self.cancel = QPushButton(self.tr("Cancel"), card)
        self.cancel.hide()
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.sign_in)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.join)
        layout.addLayout(buttons)
        layout.addStretch(1)
        outer.addWidget(card, 2)
        self.join.clicked.connect(self._join)
        self.back.clicked.connect(self.backRequested)
        self.sign_in.clicked.connect(self.signInRequested)
        self.cancel.clicked.connect(self.cancelRequested)
        self.name.textChanged.connect(self._name_changed)
        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(50)
        self._meter_timer.timeout.connect(self._show_level)

    def prepare(
        self, link: MeetingLink | VisioLink, name: str, camera_on: bool, microphone_on: bool
    ) -> None:
        self.link = link
        server = link.server if isinstance(link, MeetingLink) else link.host
        self.title.setText(self.tr("Ready to join?"))
        self.server.setText(self.tr("Meeting on %1").replace("%1", server))
        self.set_room_state(self.LOOKING_UP if isinstance(link, VisioLink) else self.READY)
        self.name.setText(name)
        self.camera.set_on(camera_on and self._has_camera is not False)
        self.microphone.set_on(microphone_on)
        self._camera_toggled(self.camera.isChecked())
        self._meter_timer.start()

    def stop(self) -> None:
        self._meter_timer.stop()

    def set_room(self, name: str) -> None:
        """The meeting's name, once the server told it."""
        if name:
            self.title.setText(name)

    def set_room_state(self, state: str, message: str = "") -> None:
        """What joining will do: straight in, ask in the lobby, sign in first, or
        wait (in the lobby now).  ``message`` replaces the state's own notice."""
        self.room_state = state
        notices = {
            self.LOOKING_UP: "",
            self.READY: "",
            self.LOBBY: self.tr("A host will let you in: you will wait until then."),
            self.SIGN_IN: self.tr(
                "This meeting is for signed-in users. Sign in, or ask a host to let you in."
            ),
            self.EXPIRED: self.tr(
                "Your sign-in has expired. Sign in again, or ask a host to let you in."
            ),
            self.WAITING: self.tr("Waiting for the host to let you in…"),
        }
        text = message or notices.get(state, "")
        self.room_notice.setText(text)
        self.room_notice.setVisible(bool(text))
        waiting = state == self.WAITING
        self.join.setText(
            self.tr("Ask to join")
            if state in (self.LOBBY, self.SIGN_IN, self.EXPIRED)
            else self.tr("Join now")
        )
        self.join.setVisible(not waiting)
        self.join.setEnabled(state != self.LOOKING_UP)
        self.cancel.setVisible(waiting)
        self.sign_in.setVisible(state in (self.SIGN_IN, self.EXPIRED))
        self.back.setEnabled(not waiting)
        self.name.setEnabled(not waiting)

    def _name_changed(self, name: str) -> None:
        self.view.name = name.strip() or "?"
        self.view.color = participant_color(name)
        self.preview.refresh()

    def _camera_toggled(self, on: bool) -> None:
        self.view.camera_on = on
        self.preview.refresh()

    def _show_level(self) -> None:
        # The bar spans -60 dBFS (empty) to 0 dBFS (full).
        level = self.audio.level_dbfs if self.audio is not None else self.meter.level_dbfs
        self.level.setValue(int(min(60.0, max(0.0, level + 60.0))))

    # --- devices ----------------------------------------------------------------------

    def _core_event(self, event: ev.Event) -> None:
        if isinstance(event, CameraProblem):
            event = camera_device_problem(event)
        if isinstance(event, DeviceProblem):
            self.device_notice.setText(device_problem_message(event))
            self.device_notice.show()
            if event.kind == "camera" and event.problem != "fell_back":
                self.camera.set_on(False)  # nothing to show: the switch says so
                self._camera_toggled(False)
        if isinstance(event, CamerasChanged) and self.with_camera:
            self._fill_cameras(event)
        if isinstance(event, LocalDevicesChanged) and self.audio is not None:
            self._fill(self.microphone_menu, event.microphones, event.microphone)
            self._fill(self.speaker_menu, event.speakers, event.speaker)

    def _fill_cameras(self, event: CamerasChanged) -> None:
        menu = self.camera_menu
        menu.blockSignals(True)
        menu.clear()
        for device in event.devices:
            menu.addItem(device.name, device.id)
        if not event.devices:
            menu.addItem(self.tr("No camera found"), "")
        menu.setEnabled(bool(event.devices))
        menu.setCurrentIndex(max(0, menu.findData(event.active)))
        menu.blockSignals(False)
        self._has_camera = bool(event.devices)
        if not event.devices and self.camera.isChecked():
            # No camera: the switch is off, the preview shows the initials.
            self.camera.set_on(False)
            self._camera_toggled(False)
        self.camera.setEnabled(bool(event.devices))

    def _fill(self, menu: QComboBox, devices: tuple[DeviceChoice, ...], current: str) -> None:
        """The system default first (it follows the system), then each device by name."""
        menu.blockSignals(True)
        menu.clear()
        menu.addItem(self.tr("System default"), "")
        for device in devices:
            menu.addItem(device.name, device.id)
        menu.setCurrentIndex(max(0, menu.findData(current)))
        menu.blockSignals(False)

    def _choose(self, kind: str, menu: QComboBox, index: int) -> None:
        device_id = str(menu.itemData(index) or "")
        self.deviceChosen.emit(kind, device_id)
        if self.audio is None or self.bridge is None:
            return
        select = self.audio.select_microphone if kind == "microphone" else self.audio.select_speaker
        self.bridge.fire(f"{kind} device", select(device_id))

    def _join(self) -> None:
        name = self.name.text().strip()
        if not name:
            self.name.setFocus()
            return
        self.joinRequested.emit(self.camera.isChecked(), self.microphone.isChecked(), name)
