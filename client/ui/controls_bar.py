"""The call's controls: microphone, camera, screen, captions, chat, people, hand,
reactions and leave.

Every button has an accessible name that says what it controls and a
description that says its state, so a screen reader announces "Microphone, off";
its tooltip names the shortcut.  Toggle buttons are checkable: checked means on.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QHBoxLayout, QMenu, QToolButton, QWidget

from client.local_media import DeviceChoice, LocalDevicesChanged
from client.media.camera import CamerasChanged
from client.notifications import REACTIONS
from client.ui.resources import icon

#: What each reaction is called, for the menu and screen readers.
REACTION_NAMES = {
    "thumbs-up": QT_TRANSLATE_NOOP("Reactions", "Thumbs up"),
    "thumbs-down": QT_TRANSLATE_NOOP("Reactions", "Thumbs down"),
    "clapping-hands": QT_TRANSLATE_NOOP("Reactions", "Applause"),
    "red-heart": QT_TRANSLATE_NOOP("Reactions", "Heart"),
    "face-with-tears-of-joy": QT_TRANSLATE_NOOP("Reactions", "Laughing"),
    "face-with-open-mouth": QT_TRANSLATE_NOOP("Reactions", "Surprised"),
    "party-popper": QT_TRANSLATE_NOOP("Reactions", "Celebration"),
    "folded-hands": QT_TRANSLATE_NOOP("Reactions", "Thank you"),
}
BUTTON_SIZE = QSize(52, 52)
ICON_SIZE = QSize(26, 26)


class ControlButton(QToolButton):
    def __init__(
        self,
        name: str,
        icon_on: str,
        icon_off: str | None,
        shortcut: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._name = name
        self._icons = (icon_on, icon_off or icon_on)
        self._shortcut = shortcut
        self.setCheckable(icon_off is not None or shortcut in ("C", "H"))
        # Microphone and camera: off is the state to notice (styled red).
        self.setProperty("media", icon_off is not None)
        self.setFixedSize(BUTTON_SIZE)
        self.setIconSize(ICON_SIZE)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(name)
        self.set_on(False)

    def set_on(self, on: bool) -> None:
        self.blockSignals(True)
        self.setChecked(on)
        self.blockSignals(False)
        self.setIcon(icon(self._icons[0] if on else self._icons[1]))
        state = self.tr("on") if on else self.tr("off")
        self.setAccessibleDescription(state)
        self.setProperty("state", "on" if on else "off")
        if self._shortcut:
            tip = self.tr("%1 (%2) — shortcut %3").replace("%1", self._name)
            tip = tip.replace("%2", state).replace("%3", self._shortcut)
        else:
            tip = self.tr("%1 (%2)").replace("%1", self._name).replace("%2", state)
        self.setToolTip(tip)
        self.style().unpolish(self)
        self.style().polish(self)


class ControlsBar(QWidget):
    microphoneToggled = Signal(bool)
    cameraToggled = Signal(bool)
    captionsToggled = Signal(bool)
    chatToggled = Signal(bool)
    participantsToggled = Signal(bool)
    handToggled = Signal(bool)
    reactionChosen = Signal(str)
    leaveRequested = Signal()
    settingsRequested = Signal()
    speakerViewToggled = Signal(bool)
    transcriptToggled = Signal(bool)
    #: A device picked from a button's menu: ("microphone" | "speaker" | "camera", id).
    deviceChosen = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("controlsBar")
        self.setAccessibleName(self.tr("Call controls"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 8, 16, 8)
        layout.setSpacing(10)
        self.microphone = ControlButton(self.tr("Microphone"), "mic", "mic-off", "M", self)
        self.camera = ControlButton(self.tr("Camera"), "camera", "camera-off", "V", self)
        self.share_screen = ControlButton(self.tr("Share screen"), "screen", None, "", self)
        self.share_screen.setCheckable(True)
        self.captions = ControlButton(self.tr("Captions"), "captions", None, "C", self)
        self.hand = ControlButton(self.tr("Raise hand"), "hand", None, "H", self)
        self.reactions = ControlButton(self.tr("Reactions"), "reactions", None, "", self)
        self.reactions.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.reactions)
        for name, emoji in REACTIONS.items():
            action = menu.addAction(emoji)
            label = QCoreApplication.translate("Reactions", str(REACTION_NAMES[name]))
            action.setToolTip(label)
            action.setText(f"{emoji}  {label}")
            action.triggered.connect(lambda _=False, n=name: self.reactionChosen.emit(n))
        self.reactions.setMenu(menu)
        self.chat = ControlButton(self.tr("Chat"), "chat", None, "", self)
        self.chat.setCheckable(True)
        self.participants = ControlButton(self.tr("Participants"), "participants", None, "", self)
        self.participants.setCheckable(True)
        self.layout_button = ControlButton(
            self.tr("Speaker view"), "speaker-view", "grid-view", "", self
        )
        self.layout_button.setProperty("media", False)
        self.transcript = ControlButton(self.tr("Transcript"), "transcript", None, "", self)
        self.transcript.setCheckable(True)
        self.settings = ControlButton(self.tr("Settings"), "settings", None, "", self)
        self.leave = ControlButton(self.tr("Leave"), "leave", None, "", self)
        self.leave.setObjectName("leaveButton")
        self.leave.setFixedSize(QSize(72, 52))
        self.leave.setToolTip(self.tr("Leave the call"))
        self.leave.setAccessibleDescription("")

        layout.addStretch(1)
        for button in (
            self.microphone,
            self.camera,
            self.share_screen,
            self.captions,
            self.hand,
            self.reactions,
        ):
            layout.addWidget(button)
        layout.addSpacing(24)
        for button in (
            self.layout_button,
            self.transcript,
            self.chat,
            self.participants,
            self.settings,
        ):
            layout.addWidget(button)
        layout.addSpacing(24)
        layout.addWidget(self.leave)
        layout.addStretch(1)

        # A button shows its new state first, then the others hear of it: a reaction
        # that puts it back (a command that failed at once) is not undone afterwards.
        for button, signal in (
            (self.microphone, self.microphone.toggled),
            (self.camera, self.camera.toggled),
            (self.captions, self.captions.toggled),
            (self.hand, self.hand.toggled),
            (self.chat, self.chat.toggled),
            (self.participants, self.participants.toggled),
            (self.layout_button, self.layout_button.toggled),
            (self.transcript, self.transcript.toggled),
        ):
            signal.connect(button.set_on)
        self.microphone.toggled.connect(self.microphoneToggled)
        self.camera.toggled.connect(self.cameraToggled)
        self.captions.toggled.connect(self.captionsToggled)
        self.hand.toggled.connect(self.handToggled)
        self.chat.toggled.connect(self.chatToggled)
        self.participants.toggled.connect(self.participantsToggled)
        self.settings.clicked.connect(self.settingsRequested)
        self.layout_button.toggled.connect(self.speakerViewToggled)
        self.transcript.toggled.connect(self.transcriptToggled)
        self.leave.clicked.connect(self.leaveRequested)

    def set_devices(self, devices: LocalDevicesChanged) -> None:
        """The microphone button's menu (its arrow): microphones, then speakers; the
        one in use is checked.  Without devices (test media) there is no menu."""
        menu = QMenu(self.microphone)
        for kind, title, choices, current in (
            ("microphone", self.tr("Microphone"), devices.microphones, devices.microphone),
            ("speaker", self.tr("Speaker"), devices.speakers, devices.speaker),
        ):
            menu.addSection(title)
            group = QActionGroup(menu)
            options = (DeviceChoice("", self.tr("System default")), *choices)
            for choice in options:
                action = QAction(choice.name, menu)
                action.setCheckable(True)
                action.setChecked(choice.id == current)
                action.triggered.connect(
                    lambda _=False, k=kind, i=choice.id: self.deviceChosen.emit(k, i)
                )
                group.addAction(action)
                menu.addAction(action)
        self.microphone.setMenu(menu)
        self.microphone.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.microphone.setFixedSize(QSize(BUTTON_SIZE.width() + 16, BUTTON_SIZE.height()))

    def set_cameras(self, cameras: CamerasChanged) -> None:
        """The camera button's menu (its arrow): the cameras plugged in, the one
        capturing checked; picking one switches to it."""
        menu = QMenu(self.camera)
        menu.addSection(self.tr("Camera"))
        group = QActionGroup(menu)
        for device in cameras.devices:
            action = QAction(device.name, menu)
            action.setCheckable(True)
            action.setChecked(device.id == cameras.active)
            action.triggered.connect(
                lambda _=False, i=device.id: self.deviceChosen.emit("camera", i)
            )
            group.addAction(action)
            menu.addAction(action)
        if not cameras.devices:
            menu.addAction(self.tr("No camera found")).setEnabled(False)
        self.camera.setMenu(menu)
        self.camera.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.camera.setFixedSize(QSize(BUTTON_SIZE.width() + 16, BUTTON_SIZE.height()))

    def set_unread(self, count: int) -> None:
        label = self.tr("Chat")
        if count:
            self.chat.setAccessibleName(self.tr("Chat, %n unread message(s)", "", count))
            self.chat.setText(str(min(count, 99)))
            self.chat.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        else:
            self.chat.setAccessibleName(label)
            self.chat.setText("")
            self.chat.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
