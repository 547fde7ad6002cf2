"""The call window's content: the stage, the side panels and the controls bar.

Reconnecting shows as a banner over the stage, never as a dialog: the call goes
on underneath and the banner goes away by itself.  Keyboard shortcuts live here
(M, V, C, H, ?; Space to talk while muted) and can be turned off in settings.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.call_session import ScreenShareChanged
from client.local_media import DeviceProblem, LocalDevicesChanged, SpeakingWhileMuted
from client.media.camera import CameraProblem, CamerasChanged
from client.media.screen_capture import ScreenShareError, check_available, list_targets
from client.settings import Settings
from client.ui.call_model import CallViewModel
from client.ui.captions_history import CaptionsHistoryPanel
from client.ui.captions_overlay import CaptionsOverlay
from client.ui.chat_panel import ChatPanel
from client.ui.controls_bar import ControlsBar
from client.ui.messages import (
    camera_device_problem,
    device_problem_message,
    speaking_while_muted_message,
)
from client.ui.participants_panel import ParticipantsPanel
from client.ui.resources import icon
from client.ui.video_grid import VideoGrid

# Marked for translation here, translated where shown (CallPage context).
SHORTCUTS = (
    ("M", QT_TRANSLATE_NOOP("CallPage", "Turn the microphone on or off")),
    ("V", QT_TRANSLATE_NOOP("CallPage", "Turn the camera on or off")),
    ("C", QT_TRANSLATE_NOOP("CallPage", "Show or hide captions")),
    ("H", QT_TRANSLATE_NOOP("CallPage", "Raise or lower your hand")),
    (
        QT_TRANSLATE_NOOP("CallPage", "Space"),
        QT_TRANSLATE_NOOP("CallPage", "Hold to talk while the microphone is off"),
    ),
    ("?", QT_TRANSLATE_NOOP("CallPage", "List the shortcuts")),
)


class Banner(QLabel):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAccessibleName(self.tr("Connection status"))
        self.hide()

    def say(self, text: str) -> None:
        self.setText(text)
        self.setAccessibleDescription(text)
        self.setVisible(bool(text))
        self.raise_()


class Stage(QWidget):
    """The grid with its overlays (banner, captions, reactions) on top."""

    def __init__(self, model: CallViewModel, settings: Settings, parent: QWidget) -> None:
        super().__init__(parent)
        self.grid = VideoGrid(model, self)
        self.banner = Banner(self)
        self.captions = CaptionsOverlay(model, settings, self)
        self.previous_page = QToolButton(self)
        self.next_page = QToolButton(self)
        for button, name, tip in (
            (self.previous_page, "previous", self.tr("Previous page of participants")),
            (self.next_page, "next", self.tr("Next page of participants")),
        ):
            button.setIcon(icon(name))
            button.setFixedSize(40, 40)
            button.setToolTip(tip)
            button.setAccessibleName(tip)
            button.hide()
        self.previous_page.clicked.connect(lambda: self.grid.set_page(self.grid.page - 1))
        self.next_page.clicked.connect(lambda: self.grid.set_page(self.grid.page + 1))
        self.grid.pageChanged.connect(self._pages)
        self.reaction = QLabel("", self)
        self.reaction.setObjectName("reaction")
        self.reaction.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reaction.hide()
        self._reaction_timer = QTimer(self)
        self._reaction_timer.setSingleShot(True)
        self._reaction_timer.timeout.connect(self.reaction.hide)

    def _pages(self, page: int, pages: int) -> None:
        self.previous_page.setVisible(pages > 1 and page > 0)
        self.next_page.setVisible(pages > 1 and page < pages - 1)
        for button in (self.previous_page, self.next_page):
            button.raise_()

    def show_reaction(self, text: str) -> None:
        self.reaction.setText(text)
        self.reaction.adjustSize()
        self.reaction.move(24, self.height() - self.reaction.height() - 140)
        self.reaction.show()
        self.reaction.raise_()
        self._reaction_timer.start(3000)

    def resizeEvent(self, event: QEvent) -> None:  # type: ignore[override]
        self.relayout()
        super().resizeEvent(event)  # type: ignore[arg-type]

    def relayout(self) -> None:
        """The grid above the captions' band (when they are on), the overlays on top."""
        grid = self.rect()
        grid.setBottom(grid.bottom() - self.captions.band_height(self.rect()))
        self.grid.setGeometry(grid)
        self.banner.setGeometry(0, 0, self.width(), 40)
        middle = self.height() // 2 - 20
        self.previous_page.move(8, middle)
        self.next_page.move(self.width() - 48, middle)
        self.captions.place(self.rect())


class CallPage(QWidget):
    leaveRequested = Signal()
    settingsRequested = Signal()

    def __init__(self, model: CallViewModel, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.settings = settings
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        body = QHBoxLayout()
        body.setSpacing(0)
        self.stage = Stage(model, settings, self)
        body.addWidget(self.stage, 1)
        self.side = QStackedWidget(self)
        self.side.setObjectName("sidePanel")
        self.side.setFixedWidth(360)
        self.chat = ChatPanel(model, self.side)
        self.people = ParticipantsPanel(model, self.side)
        self.history = CaptionsHistoryPanel(model, self.side)
        for panel in (self.chat, self.people, self.history):
            self.side.addWidget(panel)
        self.side.hide()
        body.addWidget(self.side)
        layout.addLayout(body, 1)
        self.controls = ControlsBar(self)
        layout.addWidget(self.controls)
        self._push_to_talk = False
        self._wire()
        self._install_shortcuts()

    # --- wiring -----------------------------------------------------------------------

    def _wire(self) -> None:
        m, c = self.model, self.controls
        c.microphoneToggled.connect(m.set_microphone)
        c.cameraToggled.connect(m.set_camera)
        c.handToggled.connect(lambda _on: m.toggle_hand())
        c.reactionChosen.connect(m.send_reaction)
        c.captionsToggled.connect(self.set_captions_visible)
        c.share_screen.clicked.connect(self._share_clicked)
        c.chatToggled.connect(lambda on: self._show_panel(self.chat, on))
        c.participantsToggled.connect(lambda on: self._show_panel(self.people, on))
        c.transcriptToggled.connect(lambda on: self._show_panel(self.history, on))
        c.speakerViewToggled.connect(self.stage.grid.set_speaker_view)
        c.leaveRequested.connect(self.leaveRequested)
        c.settingsRequested.connect(self.settingsRequested)
        m.localMediaChanged.connect(self._local_media)
        m.stateChanged.connect(self._state)
        m.reaction.connect(self._reaction)
        m.commandFailed.connect(self._command_failed)
        m.bridge.coreEvent.connect(self._core_event)
        self.chat.unreadChanged.connect(c.set_unread)
        c.captions.set_on(self.settings.captions_on)
        self.stage.captions.setVisible(self.settings.captions_on)
        self.stage.relayout()

    def _install_shortcuts(self) -> None:
        self._shortcuts: list[QShortcut] = []
        for key, action in (
            ("M", self.model.toggle_microphone),
            ("V", self.model.toggle_camera),
            ("C", lambda: self.controls.captions.click()),
            ("H", lambda: self.controls.hand.click()),
            ("?", self.show_shortcuts),
        ):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(action)
            self._shortcuts.append(shortcut)
        self.apply_settings()
        self.installEventFilter(self)

    def apply_settings(self) -> None:
        for shortcut in self._shortcuts:
            shortcut.setEnabled(self.settings.shortcuts_enabled)
        self.stage.captions.set_size(self.settings.caption_size)
        self.stage.captions.set_background_opacity(self.settings.caption_background_opacity)
        self.stage.relayout()

    # --- push to talk -------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.settings.shortcuts_enabled or not isinstance(event, QKeyEvent):
            return False
        if event.key() != Qt.Key.Key_Space or event.isAutoRepeat():
            return False
        focus = self.focusWidget()
        if (focus is not None and focus.inherits("QPlainTextEdit")) or (
            focus is not None and focus.inherits("QLineEdit")
        ):
            return False  # typing a message, not talking
        if event.type() == QEvent.Type.KeyPress and not self.model.microphone_on:
            self._push_to_talk = True
            self.model.set_microphone(True)
            return True
        if event.type() == QEvent.Type.KeyRelease and self._push_to_talk:
            self._push_to_talk = False
            self.model.set_microphone(False)
            return True
        return False

    # --- reactions to the model -----------------------------------------------------------

    def _local_media(self, camera: bool, microphone: bool) -> None:
        self.controls.camera.set_on(camera)
        self.controls.microphone.set_on(microphone)

    def _state(self, state: str) -> None:
        if state == "reconnecting":
            self.stage.banner.say(self.tr("Connection lost — reconnecting…"))
        elif state == "connected":
            self.stage.banner.say("")

    def _command_failed(self, what: str) -> None:
        messages = {
            "microphone": self.tr("The microphone could not be changed. Try again."),
            "camera": self.tr("The camera could not be changed. Try again."),
            "hand": self.tr("Your hand could not be raised or lowered on this server."),
            "chat": self.tr("Your message could not be sent. Check the connection."),
            "reaction": self.tr("The reaction could not be sent."),
            "screen": self.tr("The screen could not be shared. Try again."),
        }
        if what == "screen":
            self.controls.share_screen.set_on(False)
        if what in messages:
            self.notice(messages[what])

    def notice(self, text: str, seconds: float = 6.0) -> None:
        """A passing message in the banner (the reconnecting notice takes over)."""
        self.stage.banner.say(text)
        QTimer.singleShot(
            int(seconds * 1000),
            lambda: (
                self.stage.banner.say("")
                if self.model.state.value == "connected" and self.stage.banner.text() == text
                else None
            ),
        )

    # --- screen sharing ---------------------------------------------------------------

    def _share_clicked(self) -> None:
        button = self.controls.share_screen
        if self.model.session.sharing or not button.isChecked():
            button.set_on(False)
            self.model.stop_screen_share()
            return
        button.set_on(False)  # on once the share really started
        try:
            check_available()
            targets = [t for t in list_targets() if t.pid != os.getpid()]
        except ScreenShareError as exc:
            problem = DeviceProblem(
                "screen", "unavailable" if exc.kind == "unavailable" else "failed", ""
            )
            self.notice(device_problem_message(problem))
            return
        menu = QMenu(self)
        menu.setAccessibleName(self.tr("What to share"))
        for target in targets:
            if target.kind == "screen":
                label = self.tr("Entire screen (%1)").replace("%1", target.name)
            else:
                label = self.tr("Window: %1").replace("%1", target.name or "?")
            action = menu.addAction(label)
            action.triggered.connect(lambda _=False, t=target: self.model.start_screen_share(t))
        if not targets:
            menu.addAction(self.tr("Nothing to share was found")).setEnabled(False)
        menu.popup(button.mapToGlobal(button.rect().topLeft()))
        self._share_menu = menu

    def _core_event(self, event: object) -> None:
        if isinstance(event, ScreenShareChanged):
            self.controls.share_screen.set_on(event.sharing)
            if not event.sharing and event.reason == "window_closed":
                self.notice(self.tr("The shared window was closed: sharing stopped."))
            return
        if isinstance(event, CameraProblem):
            event = camera_device_problem(event)
        if (
            isinstance(event, DeviceProblem)
            and event.kind == "camera"
            and event.problem == "fell_back"
            and not event.replacement
            and self.model.camera_on
        ):
            self.model.set_camera(False)  # the camera vanished and none is left
        if isinstance(event, CamerasChanged):
            self.controls.set_cameras(event)
        if isinstance(event, LocalDevicesChanged):
            self.controls.set_devices(event)
        elif isinstance(event, DeviceProblem):
            self.notice(device_problem_message(event), 8.0)
        elif isinstance(event, SpeakingWhileMuted) and self.settings.shortcuts_enabled:
            self.notice(speaking_while_muted_message(), 4.0)
        elif isinstance(event, SpeakingWhileMuted):
            self.notice(self.tr("You are speaking with your microphone off."), 4.0)

    def _reaction(self, identity: str, emoji: str) -> None:
        view = self.model.participants.get(identity)
        name = view.name if view is not None else identity
        self.stage.show_reaction(f"{emoji}  {name}")

    def set_captions_visible(self, on: bool) -> None:
        self.settings.captions_on = on
        self.stage.captions.setVisible(on)
        self.stage.relayout()

    def _show_panel(self, panel: QWidget, on: bool) -> None:
        for button, owner in (
            (self.controls.chat, self.chat),
            (self.controls.participants, self.people),
            (self.controls.transcript, self.history),
        ):
            if owner is not panel and on:
                button.set_on(False)
        if on:
            self.side.setCurrentWidget(panel)
        self.side.setVisible(on)

    def show_history(self) -> None:
        self.side.setCurrentWidget(self.history)
        self.side.show()

    def show_shortcuts(self) -> None:
        def translated(text: object) -> str:
            return QCoreApplication.translate("CallPage", str(text))

        lines = [f"{translated(key)}\t{translated(text)}" for key, text in SHORTCUTS]
        box = QMessageBox(self)
        box.setWindowTitle(self.tr("Keyboard shortcuts"))
        box.setText("\n".join(lines))
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.open()
