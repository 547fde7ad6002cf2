"""What a Visio meeting tells us over the stage: guests waiting to join, who muted
us, and whether the meeting is being recorded.

Three small overlays, children of the stage, which places them (``Stage.relayout``):

- ``WaitingNotice`` (hosts): each guest in the lobby with "Admit" and "Deny"; "Admit
  all" when several wait.  It appears by itself when someone arrives and goes away
  when nobody waits; it never takes the keyboard focus, so typing in the chat goes on.
- ``Toast``: a passing sentence ("Marie muted your microphone") that hides itself.
- ``RecordingBadge``: stays visible, small, in a corner, as long as the meeting is
  recorded or transcribed: nobody should miss it, nor be hindered by it.

The call stage is dark in both themes, so these carry their own colours.  Names come
from other people: they are shown as plain text, cleaned, isolated (a right-to-left
name cannot reorder the sentence around it) and elided.  New guests and the
recording are announced to screen readers.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from client.ui.chat_panel import single_line
from client.ui.colors import css_color, participant_color
from client.ui.participants_panel import avatar_initials
from client.visio.api import WaitingParticipant

ISOLATE_START, ISOLATE_END = "\u2068", "\u2069"  # FIRST STRONG ISOLATE ... POP
#: The notice's width: room for a name and both buttons, not more of the video.
NOTICE_WIDTH = 380
#: Guests listed before the list scrolls.
VISIBLE_GUESTS = 4
#: An answer the server did not act on frees its buttons again after this long.
ANSWER_TIMEOUT_MS = 10_000
#: How long a newly arrived guest's notice stays highlighted.
FRESH_MS = 1_500
TOAST_MS = 5_000
MAX_NAME_CHARS = 60

NOTICE_STYLE = """
QFrame#waitingNotice { background: rgba(29, 31, 37, 0.97); border: 1px solid #3a3e48;
    border-radius: 12px; }
QFrame#waitingNotice[fresh="true"] { border: 1px solid #4f8cff;
    background: rgba(33, 43, 66, 0.97); }
QFrame#waitingNotice QLabel { color: #eef0f4; background: transparent; border: none; }
QFrame#waitingNotice QLabel#waitingTitle { font-weight: 600; }
QFrame#waitingNotice QPushButton { background: #2c3039; color: #eef0f4; border: 1px solid #454a56;
    border-radius: 6px; padding: 5px 12px; min-height: 20px; }
QFrame#waitingNotice QPushButton:hover { background: #3a3f4b; }
QFrame#waitingNotice QPushButton:focus { border: 2px solid #4f8cff; }
QFrame#waitingNotice QPushButton#admit { background: #3b6fe0; border-color: #3b6fe0;
    color: #ffffff; font-weight: 600; }
QFrame#waitingNotice QPushButton#admit:hover { background: #4a7cf0; }
QFrame#waitingNotice QPushButton:disabled { background: #22252b; color: #6b7080;
    border-color: #2c3039; }
QFrame#waitingNotice QScrollArea, QFrame#waitingNotice QWidget#waitingRows {
    background: transparent; border: none; }
"""
AVATAR_STYLE = (
    "QLabel {{ background: {color}; color: #ffffff; border-radius: 14px;"
    " font-size: 11px; font-weight: 600; }}"
)
# A radius over half the height is ignored (square corners): these stay below it.
TOAST_STYLE = """
QLabel#toast { background: rgba(18, 19, 23, 0.94); color: #ffffff; border: 1px solid #3a3e48;
    border-radius: 14px; padding: 8px 18px; font-weight: 600; }
"""
BADGE_STYLE = """
QLabel#recordingBadge { background: rgba(179, 38, 30, 0.94); color: #ffffff; border-radius: 9px;
    padding: 4px 12px; font-size: 12px; font-weight: 600; }
"""


def isolated(name: str) -> str:
    """A name as it may appear inside a sentence."""
    return ISOLATE_START + single_line(name, MAX_NAME_CHARS) + ISOLATE_END


def announce(widget: QWidget, text: str) -> None:
    """Have a screen reader say ``text`` without moving the focus."""
    event = QAccessibleAnnouncementEvent(widget, text)
    event.setPoliteness(QAccessible.AnnouncementPoliteness.Polite)
    QAccessible.updateAccessibility(event)


class ElidedLabel(QLabel):
    """One line of plain text, cut with an ellipsis to the width it is given."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)
        self._full = text
        self.set_full_text(text)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(
            self._full, Qt.TextElideMode.ElideRight, max(self.width(), 40)
        )
        if shown != self.text():
            self.setText(shown)


class GuestRow(QWidget):
    """One guest: avatar, name, "Deny", "Admit"."""

    answered = Signal(str, bool)

    def __init__(self, guest: WaitingParticipant, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.guest = guest
        name = single_line(guest.username, MAX_NAME_CHARS) or self.tr("A guest")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(8)
        self.avatar = QLabel(avatar_initials(name), self)
        self.avatar.setFixedSize(28, 28)
        self.avatar.setAlignment(Qt.AlignmentFlag.AlignCenter)
        color = css_color(guest.color) if guest.color else None
        css = str(color.name()) if color is not None and color.isValid() else None
        self.avatar.setStyleSheet(AVATAR_STYLE.format(color=css or participant_color(guest.id)))
        self.avatar.setAccessibleName("")
        self.name = ElidedLabel(name, self)
        self.deny = QPushButton(self.tr("Deny"), self)
        self.deny.setObjectName("deny")
        self.deny.setAccessibleName(self.tr("Deny %1").replace("%1", name))
        self.admit = QPushButton(self.tr("Admit"), self)
        self.admit.setObjectName("admit")
        self.admit.setAccessibleName(self.tr("Admit %1").replace("%1", name))
        for button in (self.deny, self.admit):
            button.setAutoDefault(False)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        layout.addWidget(self.avatar)
        layout.addWidget(self.name, 1)
        # Takes the name's room when the name is hidden: the buttons keep their size.
        layout.addStretch(0)
        layout.addWidget(self.deny)
        layout.addWidget(self.admit)
        self.admit.clicked.connect(lambda: self._answer(True))
        self.deny.clicked.connect(lambda: self._answer(False))
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.timeout.connect(lambda: self.set_pending(False))

    def set_name_visible(self, visible: bool) -> None:
        """Alone, the guest is named in the notice's title: the row holds the buttons."""
        self.avatar.setVisible(visible)
        self.name.setVisible(visible)

    def set_pending(self, pending: bool) -> None:
        """Answered, until the server's list drops the guest (or the answer fails)."""
        self.admit.setEnabled(not pending)
        self.deny.setEnabled(not pending)
        if pending:
            self._timeout.start(ANSWER_TIMEOUT_MS)
        else:
            self._timeout.stop()

    def _answer(self, allow: bool) -> None:
        self.set_pending(True)
        self.answered.emit(self.guest.id, allow)


class WaitingNotice(QFrame):
    """The lobby, for a host: who waits, and the buttons to let them in or not."""

    #: (guest id, allow)
    answered = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("waitingNotice")
        self.setStyleSheet(NOTICE_STYLE)
        self.setAccessibleName(self.tr("Waiting to join"))
        self.setFixedWidth(NOTICE_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        header = QHBoxLayout()
        header.setSpacing(8)
        self.title = ElidedLabel("", self)
        self.title.setObjectName("waitingTitle")
        self.admit_all = QPushButton(self.tr("Admit all"), self)
        self.admit_all.setObjectName("admit")
        self.admit_all.setAutoDefault(False)
        self.admit_all.setCursor(Qt.CursorShape.PointingHandCursor)
        self.admit_all.clicked.connect(self._admit_all)
        header.addWidget(self.title, 1)
        header.addWidget(self.admit_all)
        layout.addLayout(header)
        self.list_area = QScrollArea(self)
        self.list_area.setWidgetResizable(True)
        self.list_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_area.setFrameShape(QFrame.Shape.NoFrame)
        rows = QWidget(self.list_area)
        rows.setObjectName("waitingRows")
        self._rows_layout = QVBoxLayout(rows)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(4)
        self.list_area.setWidget(rows)
        layout.addWidget(self.list_area)
        self.rows: dict[str, GuestRow] = {}
        self._fresh = QTimer(self)
        self._fresh.setSingleShot(True)
        self._fresh.timeout.connect(lambda: self._set_fresh(False))
        self.hide()

    def guests(self) -> list[WaitingParticipant]:
        return [row.guest for row in self.rows.values()]

    def set_guests(self, guests: tuple[WaitingParticipant, ...]) -> None:
        """The lobby as the server lists it now (empty: the notice goes away)."""
        wanted = {guest.id: guest for guest in guests}
        guests = tuple(wanted.values())  # a guest listed twice gets one row
        for guest_id in [g for g in self.rows if g not in wanted]:
            gone = self.rows.pop(guest_id)
            self._rows_layout.removeWidget(gone)
            gone.deleteLater()
        arrived: list[WaitingParticipant] = []
        for guest in guests:
            known = self.rows.get(guest.id)
            if known is not None and known.guest == guest:
                continue
            if known is not None:  # renamed while waiting: a fresh row
                self._rows_layout.removeWidget(known)
                known.deleteLater()
            else:
                arrived.append(guest)
            row = GuestRow(guest, self)
            row.answered.connect(self.answered)
            self.rows[guest.id] = row
        # Arrival order, as the server gives it (taken out first: a widget is in a
        # layout once).
        for row in self.rows.values():
            self._rows_layout.removeWidget(row)
        for guest in guests:
            self._rows_layout.addWidget(self.rows[guest.id])
        self._update()
        if arrived and self.rows:
            self._arrived(arrived)

    def answer_failed(self) -> None:
        """An answer did not reach the server: every guest can be answered again."""
        for row in self.rows.values():
            row.set_pending(False)

    def _update(self) -> None:
        count = len(self.rows)
        if count == 0:
            self.hide()
            return
        alone = count == 1
        for row in self.rows.values():
            row.set_name_visible(not alone)
        if alone:
            guest = next(iter(self.rows.values())).guest
            self.title.set_full_text(self._wants_to_join(guest))
        else:
            self.title.set_full_text(self.tr("%n people want to join", "", count))
        self.admit_all.setVisible(not alone)
        row_height = next(iter(self.rows.values())).sizeHint().height() + 4
        self.list_area.setFixedHeight(row_height * min(count, VISIBLE_GUESTS))
        self.adjustSize()
        self.show()
        self.raise_()

    def _wants_to_join(self, guest: WaitingParticipant) -> str:
        name = single_line(guest.username, MAX_NAME_CHARS)
        if not name:
            return self.tr("A guest wants to join")
        return self.tr("%1 wants to join").replace("%1", isolated(name))

    def _arrived(self, guests: list[WaitingParticipant]) -> None:
        """A brief highlight, a word for screen readers, and the taskbar entry
        flashing if the window is in the background: no sound, no focus taken."""
        self._set_fresh(True)
        self._fresh.start(FRESH_MS)
        if len(guests) == 1:
            announce(self, self._wants_to_join(guests[0]))
        else:
            announce(self, self.tr("%n people want to join", "", len(guests)))
        window = self.window()
        if not window.isActiveWindow():
            QApplication.alert(window)

    def _set_fresh(self, fresh: bool) -> None:
        self.setProperty("fresh", fresh)
        self.style().unpolish(self)
        self.style().polish(self)

    def _admit_all(self) -> None:
        for row in list(self.rows.values()):
            if row.admit.isEnabled():
                row.admit.click()


class Toast(QLabel):
    """A sentence shown for a few seconds, then gone by itself."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toast")
        self.setStyleSheet(TOAST_STYLE)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def say(self, text: str, milliseconds: int = TOAST_MS) -> None:
        self.setText(text)
        self.setAccessibleName(text)
        self.adjustSize()
        self.show()
        self.raise_()
        announce(self, text)
        self._timer.start(milliseconds)


class RecordingBadge(QLabel):
    """Shown while the meeting is recorded or transcribed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recordingBadge")
        self.setStyleSheet(BADGE_STYLE)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()

    def set_recording(self, recording: bool, mode: str = "") -> None:
        if not recording:
            self.hide()
            return
        if mode == "transcript":
            text = self.tr("This meeting is being transcribed")
        else:
            text = self.tr("This meeting is being recorded")
        self.setText("●  " + text)
        self.setAccessibleName(text)
        self.adjustSize()
        was_shown = not self.isHidden()
        self.show()
        self.raise_()
        if not was_shown:
            announce(self, text)
