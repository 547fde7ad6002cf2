"""Home: paste a meeting link, say who you are, or pick a recent meeting.

The Visio server chosen at the top receives room codes typed alone, and shows who
we are on it (sign in, sign out).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QComboBox,
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
from client.meeting_link import LinkError, MeetingLink, parse_join_target
from client.settings import Settings
from client.ui.messages import link_error_message
from client.visio.links import VisioLink, VisioLinkError, server_base


class HomePage(QWidget):
    #: (MeetingLink | VisioLink, display name): the user asked to join.
    joinRequested = Signal(object, str)
    settingsRequested = Signal()
    #: (Visio server base URL): sign in to it, or out of it.
    signInRequested = Signal(str)
    signOutRequested = Signal(str)
    #: The Visio server shown changed (base URL): who are we there?
    serverChanged = Signal(str)

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
        account = QHBoxLayout()
        self.server = QComboBox(card)
        self.server.setAccessibleName(self.tr("Visio server"))
        self.server.setEditable(True)
        self.server.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.account = QLabel("", card)
        self.account.setObjectName("subtitle")
        self.account.setTextFormat(Qt.TextFormat.PlainText)
        self.account.setAccessibleName(self.tr("Account"))
        self.sign_in = QPushButton(self.tr("Sign in"), card)
        self.sign_out = QPushButton(self.tr("Sign out"), card)
        self.sign_out.hide()
        account.addWidget(self.server, 1)
        account.addWidget(self.account)
        account.addWidget(self.sign_in)
        account.addWidget(self.sign_out)
        layout.addLayout(account)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.link = QLineEdit(card)
        self.link.setPlaceholderText(
            self.tr("Meeting link (https://visio…/abc-defg-hij, or wss://… with its token)")
        )
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
        self.sign_in.clicked.connect(lambda: self._account_action(self.signInRequested))
        self.sign_out.clicked.connect(lambda: self._account_action(self.signOutRequested))
        self.server.activated.connect(lambda _index: self._server_picked())
        editor = self.server.lineEdit()
        if editor is not None:
            editor.editingFinished.connect(self._server_picked)
        self._shown_server = ""
        self.reload_recent()
        self.reload_servers()

    # --- the Visio server and who we are on it -----------------------------------------------

    def reload_servers(self) -> None:
        self.server.blockSignals(True)
        self.server.clear()
        for base in self.settings.visio_servers:
            self.server.addItem(base.removeprefix("https://"), base)
        self.server.setCurrentIndex(0)
        self.server.blockSignals(False)
        self._shown_server = self.current_server()

    def current_server(self) -> str:
        """The chosen Visio server as ``https://host``, or "" if what is typed is not one."""
        text = self.server.currentText().strip()
        index = self.server.findText(text)
        if index >= 0:
            return str(self.server.itemData(index))
        try:
            return server_base(text) if text else ""
        except (VisioLinkError, errors.ConnectError):
            return ""

    def _server_picked(self) -> None:
        base = self.current_server()
        if base and base != self._shown_server:
            self._shown_server = base
            self.show_account(None)
            self.serverChanged.emit(base)

    def _account_action(self, signal: SignalInstance) -> None:
        base = self.current_server()
        if not base:
            self.show_error(self.tr("Enter the address of a Visio server first."))
            return
        signal.emit(base)

    def show_account(self, name: str | None, note: str = "", *, busy: bool = False) -> None:
        """Who we are on the chosen server (None: not signed in)."""
        if name:
            self.account.setText(note or self.tr("Signed in as %1").replace("%1", name))
        else:
            self.account.setText(note)
        self.account.setVisible(bool(self.account.text()))
        self.sign_in.setVisible(not name)
        self.sign_out.setVisible(bool(name))
        self.sign_in.setEnabled(not busy)
        self.sign_out.setEnabled(not busy)

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
            self.link.setText(url)
            if url.startswith(("ws://", "wss://")):
                # Tokens are never stored: a LiveKit link needs a fresh one.
                self.token.setFocus()
            else:
                self.join.setFocus()

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))

    def _join(self) -> None:
        name = self.name.text().strip()
        try:
            link: MeetingLink | VisioLink = parse_join_target(
                self.link.text(), self.token.text(), self.current_server()
            )
        except (LinkError, errors.ConnectError) as exc:
            self.show_error(link_error_message(exc))
            return
        if not name:
            self.show_error(self.tr("Enter your name: it is how others will see you."))
            self.name.setFocus()
            return
        self.show_error("")
        self.joinRequested.emit(link, name)
