"""Who is in the call: a list with each one's microphone, camera and raised hand.

Raised hands come first, in the order they were raised, numbered: whoever runs
the meeting gives the floor in that order.  Then everyone, ourselves first.  Rows
are painted by a delegate (no widget per participant) and read by screen readers
through the model's accessible roles, one sentence per row.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from client.ui.call_model import CallViewModel, ParticipantView
from client.ui.chat_panel import Theme, draw_line, scaled_font, single_line
from client.ui.resources import pixmap

ROW_ROLE = int(Qt.ItemDataRole.UserRole) + 1

#: Icon tints, chosen to read on light and dark themes alike.
MUTED_RED = "#e5484d"
HAND_AMBER = "#f5a524"


@functools.cache
def _tinted(name: str, size: int, ratio: float, color: str) -> QPixmap:
    """An icon recoloured: the SVGs are drawn white, for the dark video tiles."""
    source = pixmap(name, size, ratio)
    result = QPixmap(source.size())
    result.setDevicePixelRatio(source.devicePixelRatio())
    result.fill(Qt.GlobalColor.transparent)
    painter = QPainter(result)
    painter.drawPixmap(0, 0, source)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(result.rect(), QColor(color))
    painter.end()
    return result


def avatar_initials(name: str) -> str:
    """Up to two letters for an avatar: markup or punctuation in a name is skipped."""
    words = ["".join(c for c in word if c.isalnum()) for word in single_line(name).split()]
    words = [word for word in words if word]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[-1][0]).upper()


@dataclass(frozen=True)
class Row:
    """A row of the list: a section title, or a participant (in a section)."""

    kind: str  # "section", "hand" or "person"
    identity: str = ""
    title: str = ""
    #: Place in the raised-hands queue, from 1; 0 when the hand is down.
    position: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.identity, self.title)


class ParticipantListModel(QAbstractListModel):
    """Rows built from the view-model; participant data is read live from it."""

    def __init__(self, model: CallViewModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._rows: list[Row] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def row(self, number: int) -> Row:
        return self._rows[number]

    def participant(self, row: Row) -> ParticipantView | None:
        return self._model.participants.get(row.identity) if row.identity else None

    def build(self) -> list[Row]:
        queue = self._model.hand_queue()
        positions = {p.identity: number for number, p in enumerate(queue, 1)}
        everyone = sorted(
            self._model.participants.values(),
            # Ourselves first, then by name as people look for a name in a list.
            key=lambda p: (not p.is_local, p.name.casefold(), p.identity),
        )
        rows: list[Row] = []
        if queue:
            rows.append(Row("section", title=self.tr("Raised hands (%n)", "", len(queue))))
            rows.extend(Row("hand", p.identity, position=positions[p.identity]) for p in queue)
            rows.append(Row("section", title=self.tr("In the call (%n)", "", len(everyone))))
        rows.extend(
            Row("person", p.identity, position=positions.get(p.identity, 0)) for p in everyone
        )
        return rows

    def refresh(self) -> None:
        rows = self.build()
        if [r.key for r in rows] == [r.key for r in self._rows]:
            # Same rows in the same places (a mute, someone speaking): repaint only.
            self._rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, 0))
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def participant_changed(self, identity: str) -> None:
        """One participant changed: rebuild if their place may have, else repaint them."""
        if self.build() != self._rows:
            self.refresh()
            return
        for number, row in enumerate(self._rows):
            if row.identity == identity:
                index = self.index(number, 0)
                self.dataChanged.emit(index, index)

    def _state(self, participant: ParticipantView, row: Row) -> list[str]:
        state: list[str] = []
        if participant.microphone_muted:
            state.append(self.tr("microphone off"))
        if not participant.camera_on:
            state.append(self.tr("camera off"))
        if participant.hand_raised:
            state.append(self.tr("hand raised, number %n in the queue", "", row.position))
        if participant.speaking:
            state.append(self.tr("speaking"))
        return state

    def display_name(self, participant: ParticipantView) -> str:
        return single_line(participant.name) or single_line(participant.identity)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == ROW_ROLE:
            return row
        if row.kind == "section":
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
                return row.title
            return None
        participant = self.participant(row)
        if participant is None:
            return None
        name = self.display_name(participant)
        you = self.tr("(you)")
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{name} {you}" if participant.is_local else name
        if role == Qt.ItemDataRole.ToolTipRole:
            # Tooltips guess at rich text: escaped, a name like "<img src=…>" is
            # shown as typed instead of being rendered.
            return f"<p>{html.escape(name)}</p>"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            who = f"{name} {you}" if participant.is_local else name
            if row.kind == "hand":
                return self.tr("%n: {name}, hand raised", "", row.position).format(name=who)
            return ", ".join([who, *self._state(participant, row)])
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return ", ".join(self._state(participant, row))
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._rows[index.row()].kind == "section":
            # Titles are read in passing but not a stop for keyboard navigation.
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class ParticipantDelegate(QStyledItemDelegate):
    """Paints a row: [position] avatar, name (you), then hand, microphone, camera."""

    ROW_HEIGHT = 44
    SECTION_HEIGHT = 30
    AVATAR = 30
    ICON = 18
    PAD = 12

    def __init__(self, model: ParticipantListModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        row = index.data(ROW_ROLE)
        height = self.SECTION_HEIGHT if isinstance(row, Row) and row.kind == "section" else 0
        return QSize(option.rect.width(), height or self.ROW_HEIGHT)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        row = index.data(ROW_ROLE)
        if not isinstance(row, Row):
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setClipRect(option.rect)
        if row.kind == "section":
            self._paint_section(painter, option, row)
        else:
            participant = self._model.participant(row)
            if participant is not None:
                self._paint_person(painter, option, row, participant)
        painter.restore()

    def _paint_section(self, painter: QPainter, option: QStyleOptionViewItem, row: Row) -> None:
        font = scaled_font(option.font, 0.85)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(Theme.of(option.palette).muted)
        area = option.rect.adjusted(self.PAD, 8, -self.PAD, 0)
        draw_line(painter, area, row.title, option.direction)

    def _paint_person(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        row: Row,
        participant: ParticipantView,
    ) -> None:
        rect = QRect(option.rect)
        palette = option.palette
        direction = option.direction

        def place(area: QRect) -> QRect:
            # Mirrored in right-to-left interfaces, like every other list.
            return QStyle.visualRect(direction, rect, area)

        if option.state & QStyle.StateFlag.State_Selected:
            highlight = QColor(palette.color(QPalette.ColorRole.Highlight))
            highlight.setAlphaF(0.25)
            painter.fillRect(rect, highlight)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            hover = QColor(palette.color(QPalette.ColorRole.Text))
            hover.setAlphaF(0.05)
            painter.fillRect(rect, hover)
        x = rect.left() + self.PAD
        middle = rect.top() + rect.height() // 2
        font = QFont(option.font)
        if row.kind == "hand":
            number_font = QFont(font)
            number_font.setBold(True)
            painter.setFont(number_font)
            painter.setPen(Theme.of(palette).text)
            width = QFontMetrics(number_font).horizontalAdvance("00")
            painter.drawText(
                place(QRect(x, rect.top(), width, rect.height())),
                int(Qt.AlignmentFlag.AlignCenter),
                str(row.position),
            )
            x += width + 6
        self._paint_avatar(
            painter,
            place(QRect(x, middle - self.AVATAR // 2, self.AVATAR, self.AVATAR)),
            participant,
            palette,
        )
        x += self.AVATAR + 10

        # Fixed columns, right to left: camera, microphone, hand; so that icons
        # line up down the list whatever each row shows.
        theme = Theme.of(palette)
        muted_grey = theme.muted.name(QColor.NameFormat.HexArgb)
        hand = row.kind == "hand" or participant.hand_raised
        person = row.kind == "person"
        columns = [
            ("camera-off", muted_grey) if person and not participant.camera_on else None,
            ("mic-off", MUTED_RED) if person and participant.microphone_muted else None,
            ("hand", HAND_AMBER) if hand else None,
        ]
        ratio = painter.device().devicePixelRatioF()
        right = rect.right() - self.PAD
        for column in columns:
            area = QRect(right - self.ICON + 1, middle - self.ICON // 2, self.ICON, self.ICON)
            if column is not None:
                painter.drawPixmap(place(area), _tinted(column[0], self.ICON, ratio, column[1]))
            right -= self.ICON + 8

        metrics = QFontMetrics(font)
        name = self._model.display_name(participant)
        you = self.tr("(you)") if participant.is_local else ""
        you_width = metrics.horizontalAdvance(you) + 4 if you else 0
        name_width = max(right - x - you_width, 0)
        shown_width = metrics.horizontalAdvance(
            metrics.elidedText(name, Qt.TextElideMode.ElideRight, name_width)
        )
        painter.setFont(font)
        painter.setPen(theme.text)
        draw_line(painter, place(QRect(x, rect.top(), name_width, rect.height())), name, direction)
        if you:
            painter.setPen(theme.muted)
            after = QRect(x + shown_width + 4, rect.top(), you_width, rect.height())
            draw_line(painter, place(after), you, direction)

    def _paint_avatar(
        self, painter: QPainter, area: QRect, participant: ParticipantView, palette: QPalette
    ) -> None:
        color = QColor(participant.color)
        if not color.isValid():
            color = palette.color(QPalette.ColorRole.Mid)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawEllipse(QRectF(area))
        if participant.speaking:
            ring = QPen(QColor("#3dd68c"), 2)
            painter.setPen(ring)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QRectF(area).adjusted(-1.5, -1.5, 1.5, 1.5))
        font = QFont(painter.font())
        font.setBold(True)
        font.setPixelSize(12)
        painter.setFont(font)
        # White initials unless the colour is light enough to need dark ones.
        painter.setPen(QColor("#1b1b1f") if color.lightnessF() > 0.7 else QColor("#ffffff"))
        painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter), avatar_initials(participant.name))


class ParticipantsPanel(QWidget):
    """The participants side panel of a call."""

    def __init__(self, model: CallViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.header = QLabel(self)
        # The header holds only a count, but never let a label guess at markup.
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.ensurePolished()
        header_font = scaled_font(self.header.font(), 1.15)
        header_font.setBold(True)
        self.header.setFont(header_font)
        self.header.setContentsMargins(12, 10, 12, 6)
        self.rows = ParticipantListModel(model, self)
        self.view = QListView(self)
        self.view.setModel(self.rows)
        self.view.setItemDelegate(ParticipantDelegate(self.rows, self.view))
        self.view.setAccessibleName(self.tr("Participants"))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setMouseTracking(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        model.participantsChanged.connect(self.refresh)
        model.participantChanged.connect(self._changed)
        self.refresh()

    def refresh(self) -> None:
        self.rows.refresh()
        self._update_header()

    def _changed(self, identity: str) -> None:
        self.rows.participant_changed(identity)
        self._update_header()

    def _update_header(self) -> None:
        count = len(self._model.participants)
        text = self.tr("Participants (%n)", "", count)
        self.header.setText(text)
        self.header.setAccessibleName(text)
