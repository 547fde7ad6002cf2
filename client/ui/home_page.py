"""Home: paste a meeting link, say who you are, or pick a recent meeting."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from client.livekit import errors
from client.meeting_link import LinkError, MeetingLink, parse_meeting_link
from client.settings import Settings
from client.ui.messages import link_error_message


class HomePage(QWidget):
    #: (link, display name): the user asked to join.
    joinRequested = Signal(object, str)
    settingsRequested = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        outer = QVBoxLayout(self)
        card = QFrame(self)
        card.setObjectName("card")
        card.setFixedWidth(560)
        card.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Maximum)
        layout = QVBoxLayout(card)
        layout.setContentsMargins(32, 28, 32, 28)
        layout.setSpacing(14)
        title = QLabel(self.tr("Join a meeting"), card)
        title.setObjectName("title")
        layout.addWidget(title)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.link = QLineEdit(card)
        self.link.setPlaceholderText(self.tr("Meeting link (wss://… with its token)"))
        self.link.setAccessibleName(self.tr("Meeting link"))
        self.link.setClearButtonEnabled(True)
        self.token = QLineEdit(card)
        self.token.setPlaceholderText(self.tr("Access token, if not in the link"))
        self.token.setAccessibleName(self.tr("Access token"))
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.name = QLineEdit(settings.display_name, card)
        self.name.setPlaceholderText(self.tr("Your name as others will see it"))
        self.name.setAccessibleName(self.tr("Your name"))
        self.name.setMaxLength(80)
        form.addRow(self.tr("Link"), self.link)
        form.addRow(self.tr("Token"), self.token)
        form.addRow(self.tr("Name"), self.name)
        layout.addLayout(form)
        self.error = QLabel("", card)
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QHBoxLayout()
        self.settings_button = QPushButton(self.tr("Settings"), card)
        self.join = QPushButton(self.tr("Continue"), card)
        self.join.setObjectName("primary")
        self.join.setDefault(True)
        buttons.addWidget(self.settings_button)
        buttons.addStretch(1)
        buttons.addWidget(self.join)
        layout.addLayout(buttons)
        recent_title = QLabel(self.tr("Recent meetings"), card)
        recent_title.setObjectName("subtitle")
        self.recent = QListWidget(card)
        self.recent.setAccessibleName(self.tr("Recent meetings"))
        self.recent.setMaximumHeight(160)
        layout.addWidget(recent_title)
        layout.addWidget(self.recent)
        outer.addStretch(1)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)
        self.join.clicked.connect(self._join)
        self.link.returnPressed.connect(self._join)
        self.name.returnPressed.connect(self._join)
        self.settings_button.clicked.connect(self.settingsRequested)
        self.recent.itemActivated.connect(self._pick_recent)
        self.reload_recent()

    def reload_recent(self) -> None:
        self.recent.clear()
        rows = max(1, len(self.settings.recent))
        self.recent.setFixedHeight(min(160, 8 + rows * (self.recent.fontMetrics().height() + 10)))
        for meeting in self.settings.recent:
            item = QListWidgetItem(f"{meeting.name or meeting.url} — {meeting.url}")
            item.setData(Qt.ItemDataRole.UserRole, meeting.url)
            self.recent.addItem(item)
        if not self.settings.recent:
            item = QListWidgetItem(self.tr("No recent meeting yet"))
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent.addItem(item)

    def _pick_recent(self, item: QListWidgetItem) -> None:
        url = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(url, str):
            # Tokens are never stored: the link needs a fresh one.
            self.link.setText(url)
            self.token.setFocus()

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))

    def _join(self) -> None:
        name = self.name.text().strip()
        try:
            link: MeetingLink = parse_meeting_link(self.link.text(), self.token.text())
        except (LinkError, errors.ConnectError) as exc:
            self.show_error(link_error_message(exc))
            return
        if not name:
            self.show_error(self.tr("Enter your name: it is how others will see you."))
            self.name.setFocus()
            return
        self.show_error("")
        self.joinRequested.emit(link, name)
