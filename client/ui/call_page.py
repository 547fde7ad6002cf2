"""The call window's content: the stage, the side panels and the controls bar.

Reconnecting shows as a banner over the stage, never as a dialog: the call goes
on underneath and the banner goes away by itself.  Keyboard shortcuts live here
(M, V, C, H, ?; Space to talk while muted) and can be turned off in settings.

In a Visio meeting the stage also shows the lobby to hosts, who muted us and the
recording (``meeting_notices``).  Captions there are a service of the meeting that
someone has to ask for (each request adds a transcription agent for everyone): turning
them on asks, once; the "show captions when joining" preference only shows the
meeting's captions when they come, it never asks by itself.
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
from client.livekit import events as ev
from client.local_media import DeviceProblem, LocalDevicesChanged, SpeakingWhileMuted
from client.media.camera import CameraProblem, CamerasChanged
from client.media.screen_capture import ScreenShareError, check_available, list_targets
from client.settings import Settings
from client.ui.call_model import CallViewModel
from client.ui.captions_history import CaptionsHistoryPanel
from client.ui.captions_overlay import CaptionsOverlay
from client.ui.chat_panel import ChatPanel
from client.ui.controls_bar import ControlsBar
from client.ui.meeting_notices import RecordingBadge, Toast, WaitingNotice, isolated
from client.ui.messages import (
    camera_device_problem,
    device_problem_message,
    speaking_while_muted_message,
)
from client.ui.participants_panel import ParticipantsPanel
from client.ui.resources import icon
from client.ui.video_grid import VideoGrid
from client.visio.api import WaitingParticipant

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
    #: Shown or hidden: what sits below it moves.
    changed = Signal()

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
        self.changed.emit()


class Stage(QWidget):
    """The grid with its overlays (banner, captions, reactions, meeting notices) on
    top."""

    def __init__(self, model: CallViewModel, settings: Settings, parent: QWidget) -> None:
        super().__init__(parent)
        self.grid = VideoGrid(model, self)
        self.banner = Banner(self)
        self.captions = CaptionsOverlay(model, settings, self)
        self.recording = RecordingBadge(self)
        self.waiting = WaitingNotice(self)
        self.toast = Toast(self)
        self.banner.changed.connect(self.place_notices)
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
        self.place_notices()

    def place_notices(self) -> None:
        """Below the banner: the recording at the left, the lobby at the right, a
        passing message in the middle (lower down when the stage is too narrow)."""
        margin = 12
        top = (self.banner.height() if not self.banner.isHidden() else 0) + margin
        for widget in (self.recording, self.waiting, self.toast):
            widget.adjustSize()
        self.recording.move(margin, top)
        self.waiting.move(max(margin, self.width() - self.waiting.width() - margin), top)
        toast = self.toast.rect()
        toast.moveTo((self.width() - toast.width()) // 2, top)
        for other in (self.recording, self.waiting):
            if not other.isHidden() and other.geometry().intersects(toast):
                toast.moveTop(max(toast.top(), other.geometry().bottom() + margin))
        self.toast.move(toast.topLeft())


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
        #: Visio: captions are hidden until the meeting's captions come, then shown as
        #: the preference says (unless the user chose in the meantime).
        self._captions_on_arrival = False
        self._joined = False
        self._wire()
        self._install_shortcuts()

    # --- wiring -----------------------------------------------------------------------

    def _wire(self) -> None:
        m, c = self.model, self.controls
        c.microphoneToggled.connect(m.set_microphone)
        c.cameraToggled.connect(m.set_camera)
        c.handToggled.connect(lambda _on: m.toggle_hand())
        c.reactionChosen.connect(m.send_reaction)
        c.captionsToggled.connect(self._captions_toggled)
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
        m.handChanged.connect(c.hand.set_on)
        m.waitingChanged.connect(self._waiting)
        m.mutedBy.connect(self._muted_by)
        m.recordingChanged.connect(self._recording)
        m.captionUpdated.connect(self._caption_arrived)
        m.bridge.coreEvent.connect(self._core_event)
        self.stage.waiting.answered.connect(m.admit)
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
            "hand_raise": self.tr("Your hand could not be raised. Try again."),
            "hand_lower": self.tr("Your hand could not be lowered. Try again."),
            "captions_unavailable": self.tr("Captions are not available on this server."),
            "captions": self.tr("Captions could not be started. Try again."),
            "admit": self.tr("Your answer to the guest could not be sent. Try again."),
            "chat": self.tr("Your message could not be sent. Check the connection."),
            "reaction": self.tr("The reaction could not be sent."),
            "screen": self.tr("The screen could not be shared. Try again."),
        }
        if what == "screen":
            self.controls.share_screen.set_on(False)
        if what in ("captions", "captions_unavailable"):
            self.set_captions_visible(False)  # nothing will come: do not look as if
            self.controls.captions.set_on(False)
        if what == "admit":
            self.stage.waiting.answer_failed()
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

    # --- Visio meetings -------------------------------------------------------------------

    def _waiting(self, guests: tuple[WaitingParticipant, ...]) -> None:
        self.stage.waiting.set_guests(guests)
        self.stage.place_notices()

    def _muted_by(self, name: str) -> None:
        if name.strip():
            text = self.tr("%1 muted your microphone").replace("%1", isolated(name))
        else:
            text = self.tr("Your microphone was turned off by a host")
        self.stage.toast.say(text)
        self.stage.place_notices()

    def _recording(self, recording: bool, mode: str) -> None:
        was_shown = not self.stage.recording.isHidden()
        self.stage.recording.set_recording(recording, mode)
        if was_shown and not recording:
            self.stage.toast.say(self.tr("The meeting is no longer recorded"))
        self.stage.place_notices()

    def _captions_toggled(self, on: bool) -> None:
        self._captions_on_arrival = False  # the user chose
        if on and self.model.captions_unavailable:
            self.controls.captions.set_on(False)
            self.notice(self.tr("Captions are not available on this server."))
            return
        self.set_captions_visible(on)
        if on:
            self.model.request_captions()

    def _joined_meeting(self) -> None:
        if self._joined:
            return  # a reconnection, not a new meeting
        self._joined = True
        visio = self.model.is_visio
        if visio and self.controls.captions.isChecked() and not self.model.captions_seen:
            self._captions_on_arrival = True
            self.controls.captions.set_on(False)
            self.stage.captions.setVisible(False)
            self.stage.relayout()

    def _caption_arrived(self, _segment: object) -> None:
        if self._captions_on_arrival:
            self._captions_on_arrival = False
            self.controls.captions.set_on(True)
            self.stage.captions.setVisible(True)
            self.stage.relayout()

    def _core_event(self, event: object) -> None:
        if isinstance(event, ev.Connected):
            self._joined_meeting()
            return
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
