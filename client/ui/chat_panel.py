"""The in-call chat: the messages as they arrive, and a box to write one.

Everything another participant sends is untrusted.  It is always shown as plain
text (``QTextLayout``, never rich text), so markup appears literally and nothing
is ever fetched; http(s) links are underlined and open only when clicked.  What
is displayed is bounded (characters, lines, control characters) so that a
hostile or accidental message (1 MB, an RTL override, NULs, a flood of combining
marks) costs a few milliseconds and a row of bounded height; the full text stays
copyable from the context menu or with Ctrl+C.
"""

from __future__ import annotations

import datetime
import html
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QDesktopServices,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QHelpEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QShowEvent,
    QTextCharFormat,
    QTextLayout,
    QTextLine,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListView,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from client.chat import MAX_MESSAGES, ChatMessage
from client.ui.call_model import CallViewModel

#: Characters of a message laid out; the rest is reachable by copying.
MAX_DISPLAY_CHARS = 10_000
#: Wrapped lines drawn per message, so that no row is taller than a few screens.
MAX_DISPLAY_LINES = 80
#: Longest run of text given to one QTextLayout (see ``_pieces``).
LAYOUT_PIECE_CHARS = 1500
#: A name is one short line, whatever a peer put in its display name.
MAX_NAME_CHARS = 80
#: Links underlined per message: beyond this a message is a link dump, not chat.
MAX_LINKS = 100
#: Consecutive messages of one sender within this delay share one header.
GROUP_WINDOW_MS = 3 * 60 * 1000
#: Lines of the input box before it scrolls instead of growing.
MAX_INPUT_LINES = 6

# C0 and C1 controls other than tab and newline become U+FFFD: what was hidden
# stays visible as "something was here".  ESC sequences thus cannot style text.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides and isolates are dropped: they can reorder what
# follows (a "gpj.exe" spoof, a reversed URL).  Each paragraph still gets its
# natural direction from its first strong character.  Lone surrogates (only
# possible from a broken decoder) and interlinear annotations go too.
_INVISIBLE = re.compile(r"[\u202a-\u202e\u2066-\u2069\ufff9-\ufffb\ud800-\udfff]")
# Combining marks used for "zalgo" stacks: a few per letter are legitimate, a
# hundred would draw far outside the row.  Arabic and Hebrew marks are not here.
_MARKS = "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_MARK_FLOOD = re.compile(f"([{_MARKS}]{{4}})[{_MARKS}]+")
# A URL ends at whitespace, at characters that cannot be in one unescaped, and at
# zero-width characters (which would make the shown URL differ from the opened one).
_URL = re.compile(r"""https?://[^\s<>"'`{}|\\^\u200b-\u200f\u2060\ufeff]+""", re.IGNORECASE)
_URL_TRAILING = ".,;:!?*'\""
_BRACKETS = {")": "(", "]": "[", "}": "{"}


def clean_text(text: str) -> str:
    """What may be drawn of ``text``: newlines normalised, controls made harmless."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    text = _CONTROLS.sub("\ufffd", text)
    text = _INVISIBLE.sub("", text)
    return _MARK_FLOOD.sub(r"\1", text)


def single_line(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """A name made safe to draw on one line (peers choose their own names)."""
    text = clean_text(text[: limit * 4])
    text = " ".join(text.split())
    return text[:limit] + "…" if len(text) > limit else text


def display_text(text: str) -> tuple[str, bool]:
    """The part of a message that is laid out, and whether some was left out."""
    # Slice before cleaning: the cleaning cost is then bounded, whatever the size.
    truncated = len(text) > MAX_DISPLAY_CHARS
    return clean_text(text[:MAX_DISPLAY_CHARS]), truncated


def scaled_font(font: QFont, factor: float) -> QFont:
    """``font`` made bigger or smaller, whether sized in points or (style sheet) pixels."""
    result = QFont(font)
    if font.pixelSize() > 0:
        result.setPixelSize(max(round(font.pixelSize() * factor), 8))
    else:
        result.setPointSizeF(max(font.pointSizeF() * factor, 6.0))
    return result


def paragraph_direction(text: str) -> Qt.LayoutDirection:
    """The direction of a paragraph, from its first strong character (Unicode P2-P3)."""
    for character in text:
        kind = unicodedata.bidirectional(character)
        if kind == "L":
            return Qt.LayoutDirection.LeftToRight
        if kind in ("R", "AL"):
            return Qt.LayoutDirection.RightToLeft
    return Qt.LayoutDirection.LeftToRight


def draw_line(
    painter: QPainter,
    rect: QRect,
    text: str,
    interface: Qt.LayoutDirection,
    *,
    end: bool = False,
) -> None:
    """Draw ``text`` on one line of ``rect``, elided, at its start (or ``end``).

    Start and end follow the interface's direction; the text itself is shaped
    in its own direction, so an Arabic name in an English interface (or the
    reverse) reads right and is elided at its own end.
    """
    at_right = (interface == Qt.LayoutDirection.RightToLeft) != end
    alignment = (
        (Qt.AlignmentFlag.AlignRight if at_right else Qt.AlignmentFlag.AlignLeft)
        | Qt.AlignmentFlag.AlignAbsolute
        | Qt.AlignmentFlag.AlignVCenter
    )
    shown = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
    painter.save()
    painter.setLayoutDirection(paragraph_direction(text))
    painter.drawText(rect, int(alignment | Qt.TextFlag.TextSingleLine), shown)
    painter.restore()


def find_links(text: str) -> tuple[tuple[int, int, str], ...]:
    """``(start, end, url)`` of each http(s) URL in ``text``, as a reader would cut it."""
    links: list[tuple[int, int, str]] = []
    for match in _URL.finditer(text):
        url = match.group()
        # Trailing punctuation ends a sentence, not the URL; a closing bracket
        # belongs to the URL only when it has its opening one (wiki links).
        while url:
            last = url[-1]
            if last in _URL_TRAILING or (
                last in _BRACKETS and url.count(_BRACKETS[last]) < url.count(last)
            ):
                url = url[:-1]
            else:
                break
        parsed = QUrl(url, QUrl.ParsingMode.StrictMode)
        if not parsed.isValid() or not parsed.host():
            continue
        links.append((match.start(), match.start() + len(url), url))
        if len(links) >= MAX_LINKS:
            break
    return tuple(links)


def local_time(timestamp_ms: int) -> str:
    """HH:MM in local time; empty for a timestamp no clock can show."""
    try:
        return datetime.datetime.fromtimestamp(timestamp_ms / 1000).strftime("%H:%M")
    except (OverflowError, OSError, ValueError):
        return ""


@dataclass(frozen=True)
class Theme:
    """The colours panels draw with, taken from the text colour.

    The app's style sheet sets the text colour on every widget but leaves most
    palette roles (placeholder, link, base) at the light theme's values, so the
    theme is deduced from the one colour that is always right.
    """

    text: QColor
    muted: QColor
    link: QColor
    dark: bool

    @classmethod
    def of(cls, palette: QPalette) -> Theme:
        text = palette.color(QPalette.ColorRole.Text)
        dark = text.lightnessF() > 0.5
        muted = QColor(text)
        muted.setAlphaF(0.62)
        link = palette.color(QPalette.ColorRole.Link)
        if dark and link.lightnessF() < 0.6:
            link = QColor("#8ab4ff")
        elif not dark and link.lightnessF() > 0.5:
            link = QColor("#1a56c4")
        return cls(text, muted, link, dark)

    def name_color(self, color: str) -> QColor:
        """A participant's colour made readable as text on this theme.

        Participant colours are chosen for avatars (white initials on them); as
        text they can be too dark on a dark theme, or too light on a light one.
        """
        value = QColor(color) if color else QColor()
        if not value.isValid():
            return self.text
        # hslHueF is -1 for greys, which setHslF refuses.
        hue = max(value.hslHueF(), 0.0)
        lightness = value.lightnessF()
        lightness = max(lightness, 0.68) if self.dark else min(lightness, 0.40)
        result = QColor()
        result.setHslF(hue, value.hslSaturationF(), lightness, 1.0)
        return result


@dataclass(frozen=True)
class ChatEntry:
    """One message as the list shows it, prepared once when it arrives."""

    serial: int
    message: ChatMessage
    sender: str
    color: str
    time: str
    text: str
    truncated: bool
    links: tuple[tuple[int, int, str], ...]
    #: Same sender as the row above, shortly after: drawn without a header.
    continued: bool = False

    @property
    def full_text(self) -> str:
        """The whole message, cleaned the same way as what is shown."""
        return clean_text(self.message.text)

    def link_at(self, position: int) -> str:
        for start, end, url in self.links:
            if start <= position < end:
                return url
        return ""


ENTRY_ROLE = int(Qt.ItemDataRole.UserRole) + 1
FULL_TEXT_ROLE = int(Qt.ItemDataRole.UserRole) + 2


class ChatListModel(QAbstractListModel):
    """The messages of the call, oldest first, at most ``limit`` of them."""

    def __init__(self, limit: int = MAX_MESSAGES, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._limit = limit
        self._entries: list[ChatEntry] = []
        self._serial = 0

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def entry(self, row: int) -> ChatEntry:
        return self._entries[row]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.text + ("…" if entry.truncated else "")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            # Screen readers announce the row; a bounded excerpt, not a megabyte.
            return f"{entry.sender}, {entry.time}: {entry.text[:500]}"
        if role == ENTRY_ROLE:
            return entry
        if role == FULL_TEXT_ROLE:
            return entry.full_text
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def add(self, message: ChatMessage, sender: str, color: str) -> ChatEntry:
        text, truncated = display_text(message.text)
        previous = self._entries[-1] if self._entries else None
        continued = (
            previous is not None
            and previous.message.sender_identity == message.sender_identity
            and previous.message.local == message.local
            and 0 <= message.timestamp_ms - previous.message.timestamp_ms < GROUP_WINDOW_MS
        )
        self._serial += 1
        entry = ChatEntry(
            serial=self._serial,
            message=message,
            sender=sender,
            color=color,
            time=local_time(message.timestamp_ms),
            text=text,
            truncated=truncated,
            links=find_links(text),
            continued=continued,
        )
        if len(self._entries) >= self._limit:
            self.beginRemoveRows(QModelIndex(), 0, 0)
            del self._entries[0]
            self.endRemoveRows()
            if self._entries and self._entries[0].continued:
                # The new first row lost the header it shared: give it its own.
                self._entries[0] = replace(self._entries[0], continued=False)
                first = self.index(0, 0)
                self.dataChanged.emit(first, first)
        row = len(self._entries)
        self.beginInsertRows(QModelIndex(), row, row)
        self._entries.append(entry)
        self.endInsertRows()
        return entry


def _pieces(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """``text[start:end]`` cut into runs short enough to lay out quickly.

    Qt shapes a whole paragraph when its first line is made; a 10 000-character
    paragraph of which 80 lines are shown would cost tens of milliseconds.  Cuts
    fall after a space when there is one, where a line could break anyway.
    """
    while end - start > LAYOUT_PIECE_CHARS:
        cut = text.rfind(" ", start + LAYOUT_PIECE_CHARS // 2, start + LAYOUT_PIECE_CHARS)
        cut = cut + 1 if cut >= 0 else start + LAYOUT_PIECE_CHARS
        yield start, cut
        start = cut
    yield start, end


@dataclass
class _Laid:
    """A message laid out at one width: ``QTextLayout`` pieces and where each starts."""

    paragraphs: list[tuple[QTextLayout, int]]
    text_height: float
    shortened: bool
    laid_text: str


class ChatDelegate(QStyledItemDelegate):
    """Draws a message: sender and time, then its text wrapped to the width.

    The text is laid out with ``QTextLayout`` from plain strings only, so there
    is no markup to interpret; layouts are cached per message and width because
    the view asks for sizes and paints far more often than messages arrive.
    """

    PAD_X = 12
    PAD_TOP = 8
    PAD_TOP_CONTINUED = 2
    PAD_BOTTOM = 4
    HEADER_GAP = 2

    def __init__(self, view: QListView) -> None:
        super().__init__(view)
        self._view = view
        self._layouts: OrderedDict[tuple[int, int, int], _Laid] = OrderedDict()
        self._heights: OrderedDict[tuple[int, int, int], int] = OrderedDict()

    # --- geometry ------------------------------------------------------------------

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont, QFont]:
        text = QFont(option.font)
        name = QFont(text)
        name.setBold(True)
        small = scaled_font(text, 0.85)
        return text, name, small

    def _header_height(self, option: QStyleOptionViewItem, entry: ChatEntry) -> int:
        if entry.continued:
            return self.PAD_TOP_CONTINUED
        _, name, _ = self._fonts(option)
        return self.PAD_TOP + QFontMetrics(name).height() + self.HEADER_GAP

    def _text_width(self, row_width: int) -> int:
        return max(row_width - 2 * self.PAD_X, 40)

    def _row_width(self, option: QStyleOptionViewItem) -> int:
        # QListView passes no useful width to sizeHint: the row is the viewport.
        width = self._view.viewport().width()
        return width if width > 0 else option.rect.width()

    def laid(self, option: QStyleOptionViewItem, entry: ChatEntry, width: int) -> _Laid:
        link = Theme.of(option.palette).link
        key = (entry.serial, width, link.rgba())
        cached = self._layouts.get(key)
        if cached is not None:
            self._layouts.move_to_end(key)
            return cached
        laid = self._lay_out(option, entry, width, link)
        self._layouts[key] = laid
        if len(self._layouts) > 256:
            self._layouts.popitem(last=False)
        return laid

    def _lay_out(
        self, option: QStyleOptionViewItem, entry: ChatEntry, width: int, link: QColor
    ) -> _Laid:
        font, _, _ = self._fonts(option)
        metrics = QFontMetrics(font)
        text_option = QTextOption()
        # Long words and URLs wrap anywhere rather than widening the row forever.
        text_option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        text_option.setTabStopDistance(metrics.horizontalAdvance(" ") * 4)
        link_format = QTextCharFormat()
        link_format.setFontUnderline(True)
        link_format.setForeground(link)
        pieces: list[tuple[QTextLayout, int]] = []
        y = 0.0
        lines = 0
        start = 0
        text = entry.text
        laid_end = 0
        while start <= len(text) and lines < MAX_DISPLAY_LINES:
            end = text.find("\n", start)
            if end < 0:
                end = len(text)
            # Each paragraph takes its direction from its own text, whatever the
            # interface's: an Arabic line is right-aligned, the English one under
            # it stays left.  Qt's automatic direction would not align the lines.
            direction = paragraph_direction(text[start:end])
            paragraph_option = QTextOption(text_option)
            paragraph_option.setTextDirection(direction)
            paragraph_option.setAlignment(
                (
                    Qt.AlignmentFlag.AlignRight
                    if direction == Qt.LayoutDirection.RightToLeft
                    else Qt.AlignmentFlag.AlignLeft
                )
                | Qt.AlignmentFlag.AlignAbsolute
            )
            for piece_start, piece_end in _pieces(text, start, end):
                layout = QTextLayout(text[piece_start:piece_end], font)
                layout.setTextOption(paragraph_option)
                formats = []
                for link_start, link_end, _ in entry.links:
                    if link_end > piece_start and link_start < piece_end:
                        ranges = QTextLayout.FormatRange()
                        ranges.start = max(link_start, piece_start) - piece_start
                        ranges.length = min(link_end, piece_end) - piece_start - ranges.start
                        ranges.format = link_format
                        formats.append(ranges)
                layout.setFormats(formats)
                layout.beginLayout()
                while lines < MAX_DISPLAY_LINES:
                    line = layout.createLine()
                    if not line.isValid():
                        break
                    line.setLineWidth(width)
                    line.setPosition(QPointF(0, y))
                    y += line.height()
                    lines += 1
                    laid_end = piece_start + line.textStart() + line.textLength()
                layout.endLayout()
                pieces.append((layout, piece_start))
                if lines >= MAX_DISPLAY_LINES:
                    break
            start = end + 1
        # Out of lines before the end: the rest of the text is not shown.
        shortened = entry.truncated or laid_end < len(text)
        laid_text = text[:laid_end]
        return _Laid(pieces, y, shortened, laid_text)

    def _row_height(self, option: QStyleOptionViewItem, entry: ChatEntry, width: int) -> int:
        laid = self.laid(option, entry, self._text_width(width))
        _, _, small = self._fonts(option)
        marker = QFontMetrics(small).height() if laid.shortened else 0
        return int(self._header_height(option, entry) + laid.text_height + marker) + (
            self.PAD_BOTTOM
        )

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        entry = index.data(ENTRY_ROLE)
        if not isinstance(entry, ChatEntry):
            return super().sizeHint(option, index)
        width = self._row_width(option)
        key = (entry.serial, width, int(entry.continued))
        height = self._heights.get(key)
        if height is None:
            height = self._row_height(option, entry, width)
            self._heights[key] = height
            if len(self._heights) > 4 * MAX_MESSAGES:
                self._heights.popitem(last=False)
        return QSize(width, height)

    # --- painting ------------------------------------------------------------------

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        entry = index.data(ENTRY_ROLE)
        if not isinstance(entry, ChatEntry):
            super().paint(painter, option, index)
            return
        rect = QRect(option.rect)
        palette = option.palette
        painter.save()
        # Nothing a message holds may draw over its neighbours.
        painter.setClipRect(rect)
        state = option.state
        if state & QStyle.StateFlag.State_Selected:
            highlight = QColor(palette.color(QPalette.ColorRole.Highlight))
            highlight.setAlphaF(0.25)
            painter.fillRect(rect, highlight)
        elif state & QStyle.StateFlag.State_MouseOver:
            hover = QColor(palette.color(QPalette.ColorRole.Text))
            hover.setAlphaF(0.05)
            painter.fillRect(rect, hover)
        text_font, name_font, small_font = self._fonts(option)
        direction = option.direction
        inner = rect.adjusted(self.PAD_X, 0, -self.PAD_X, 0)
        if not entry.continued:
            self._paint_header(painter, option, entry, inner, name_font, small_font, direction)
        laid = self.laid(option, entry, self._text_width(rect.width()))
        top = rect.top() + self._header_height(option, entry)
        theme = Theme.of(palette)
        painter.setPen(theme.text)
        painter.setFont(text_font)
        origin = QPointF(inner.left(), top)
        # A tall message is mostly off screen: draw only the lines in view.
        visible = self._visible(painter, rect)
        for layout, _ in laid.paragraphs:
            bounds = layout.boundingRect().translated(origin)
            if bounds.bottom() < visible.top() or bounds.top() > visible.bottom():
                continue
            layout.draw(painter, origin, [], visible)
        if laid.shortened:
            painter.setFont(small_font)
            painter.setPen(theme.muted)
            marker = QRect(
                inner.left(),
                int(top + laid.text_height),
                inner.width(),
                QFontMetrics(small_font).height(),
            )
            note = self.tr("… message shortened: right-click to copy all of it")
            draw_line(painter, QStyle.visualRect(direction, inner, marker), note, direction)
        painter.restore()

    @staticmethod
    def _visible(painter: QPainter, rect: QRect) -> QRectF:
        """The part of ``rect`` that can reach the device, in painter coordinates."""
        device = painter.device()
        area = QRectF(0, 0, device.width(), device.height())
        inverse, invertible = painter.worldTransform().inverted()
        if invertible:
            area = inverse.mapRect(area)
        return area.intersected(QRectF(rect))

    def _paint_header(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        entry: ChatEntry,
        inner: QRect,
        name_font: QFont,
        small_font: QFont,
        direction: Qt.LayoutDirection,
    ) -> None:
        name_metrics = QFontMetrics(name_font)
        small_metrics = QFontMetrics(small_font)
        header = QRect(
            inner.left(), inner.top() + self.PAD_TOP, inner.width(), name_metrics.height()
        )
        time_width = small_metrics.horizontalAdvance(entry.time) + 4
        time_rect = QRect(header.right() - time_width, header.top(), time_width, header.height())
        name_rect = QRect(
            header.left(), header.top(), header.width() - time_width - 8, header.height()
        )
        theme = Theme.of(option.palette)
        painter.setFont(name_font)
        painter.setPen(theme.name_color(entry.color))
        draw_line(painter, QStyle.visualRect(direction, inner, name_rect), entry.sender, direction)
        painter.setFont(small_font)
        painter.setPen(theme.muted)
        draw_line(
            painter, QStyle.visualRect(direction, inner, time_rect), entry.time, direction, end=True
        )

    # --- hit testing ---------------------------------------------------------------

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        entry = index.data(ENTRY_ROLE)
        link = self.link_at(option, entry, event.pos()) if isinstance(entry, ChatEntry) else ""
        if event.type() != QEvent.Type.ToolTip or not link:
            QToolTip.hideText()
            return False
        # Where a link leads, before it is clicked.  Tooltips guess at rich text,
        # so the URL is escaped; a very long one is shortened in the middle.
        shown = link if len(link) <= 120 else f"{link[:80]}…{link[-30:]}"
        QToolTip.showText(event.globalPos(), f"<p>{html.escape(shown)}</p>", view)
        return True

    def link_at(self, option: QStyleOptionViewItem, entry: ChatEntry, pos: QPoint) -> str:
        """The URL drawn under ``pos`` (viewport coordinates), or ""."""
        if not entry.links:
            return ""
        rect = option.rect
        laid = self.laid(option, entry, self._text_width(rect.width()))
        x = pos.x() - rect.left() - self.PAD_X
        y = pos.y() - rect.top() - self._header_height(option, entry)
        for layout, start in laid.paragraphs:
            for number in range(layout.lineCount()):
                line = layout.lineAt(number)
                if not line.naturalTextRect().contains(QPointF(x, y)):
                    continue
                character = line.xToCursor(x, QTextLine.CursorPosition.CursorOnCharacter)
                return entry.link_at(start + character)
        return ""


class MessageView(QListView):
    """The message list: opens links on click, copies messages, shows an empty state."""

    linkActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.delegate = ChatDelegate(self)
        self.setItemDelegate(self.delegate)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setUniformItemSizes(False)
        self.setMouseTracking(True)
        self.verticalScrollBar().setSingleStep(20)
        self._pressed_link = ""

    def entry_at(self, pos: QPoint) -> tuple[ChatEntry | None, QStyleOptionViewItem]:
        index = self.indexAt(pos)
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        entry = index.data(ENTRY_ROLE) if index.isValid() else None
        if not isinstance(entry, ChatEntry):
            return None, option
        option.rect = self.visualRect(index)
        return entry, option

    def link_at(self, pos: QPoint) -> str:
        entry, option = self.entry_at(pos)
        return self.delegate.link_at(option, entry, pos) if entry is not None else ""

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.link_at(event.position().toPoint()):
            self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.viewport().unsetCursor()
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._pressed_link = (
            self.link_at(event.position().toPoint())
            if event.button() == Qt.MouseButton.LeftButton
            else ""
        )
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        # A link opens only when pressed and released on it: a drag or a click
        # beside it does nothing.
        pressed, self._pressed_link = self._pressed_link, ""
        if (
            pressed
            and event.button() == Qt.MouseButton.LeftButton
            and self.link_at(event.position().toPoint()) == pressed
        ):
            self.linkActivated.emit(pressed)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            index = self.currentIndex()
            if index.isValid():
                QGuiApplication.clipboard().setText(str(index.data(FULL_TEXT_ROLE)))
                return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        entry, _ = self.entry_at(event.pos())
        if entry is None:
            return
        link = self.link_at(event.pos())
        menu = QMenu(self)
        clipboard = QGuiApplication.clipboard()
        if link:
            menu.addAction(self.tr("Copy link"), lambda: clipboard.setText(link))
        full = entry.full_text
        menu.addAction(self.tr("Copy message"), lambda: clipboard.setText(full))
        menu.exec(event.globalPos())

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if model is not None and model.rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(Theme.of(self.palette()).muted)
            painter.drawText(
                self.viewport().rect().adjusted(16, 16, -16, -16),
                int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                self.tr("No messages yet.\nMessages are seen by everyone in the call."),
            )
            painter.end()


class MessageInput(QPlainTextEdit):
    """The text box: Enter sends, Shift+Enter starts a new line; grows to a few lines."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Tab moves on to the send button, as keyboard users expect of a form.
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                # A real newline: QPlainTextEdit would insert U+2028 for Shift+Enter.
                self.insertPlainText("\n")
            else:
                self.submitted.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._fit()

    def _fit(self) -> None:
        # The style sheet's font and padding count, and arrive only when polished.
        self.ensurePolished()
        wanted = max(int(self.document().size().height()), 1)
        lines = min(wanted, MAX_INPUT_LINES)
        # A scroll bar only once the box has stopped growing.
        self.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if wanted > MAX_INPUT_LINES
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        margins = self.contentsMargins()
        document_margin = self.document().documentMargin()
        height = (
            self.fontMetrics().lineSpacing() * lines
            + int(2 * document_margin)
            + margins.top()
            + margins.bottom()
        )
        self.setFixedHeight(height)


class ChatPanel(QWidget):
    """The chat side panel of a call."""

    #: Messages from others not yet seen (panel hidden or window in background).
    unreadChanged = Signal(int)

    def __init__(self, model: CallViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._unread = 0
        #: How links are opened; replaceable so tests never start a browser.
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        self.messages = ChatListModel(parent=self)
        self.view = MessageView(self)
        self.view.setModel(self.messages)
        self.view.setAccessibleName(self.tr("Chat messages"))
        self.view.linkActivated.connect(self._open_link)
        self.input = MessageInput(self)
        self.input.setAccessibleName(self.tr("Message"))
        self.input.setPlaceholderText(self.tr("Write a message…"))
        self.input.submitted.connect(self.send)
        self.input.textChanged.connect(self._update_send_button)
        self.send_button = QPushButton(self.tr("Send"), self)
        self.send_button.setAccessibleName(self.tr("Send message"))
        self.send_button.setToolTip(self.tr("Send message (Enter)"))
        self.send_button.clicked.connect(self.send)
        self.send_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

        composer = QHBoxLayout()
        composer.setContentsMargins(8, 8, 8, 8)
        composer.setSpacing(6)
        composer.addWidget(self.input, 1)
        composer.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view, 1)
        layout.addLayout(composer)
        self.setFocusProxy(self.input)
        self._update_send_button()
        model.chatMessage.connect(self.add_message)

    # --- unread --------------------------------------------------------------------

    @property
    def unread(self) -> int:
        return self._unread

    def _set_unread(self, count: int) -> None:
        if count != self._unread:
            self._unread = count
            self.unreadChanged.emit(count)

    def _seen(self) -> bool:
        return self.isVisible() and self.window().isActiveWindow()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._set_unread(0)
        self._scroll_to_bottom()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self._seen():
            self._set_unread(0)

    # --- messages ------------------------------------------------------------------

    def add_message(self, message: object) -> None:
        if not isinstance(message, ChatMessage):
            return
        scrollbar = self.view.verticalScrollBar()
        # Follow the conversation only if the reader was following it: someone
        # scrolled up to reread must not be pulled down by each new message.
        at_bottom = scrollbar.value() >= scrollbar.maximum() - 8
        self.messages.add(message, self._sender(message), self._color(message))
        if at_bottom or message.local:
            self._scroll_to_bottom()
        if not message.local and not self._seen():
            self._set_unread(self._unread + 1)

    def _sender(self, message: ChatMessage) -> str:
        if message.local:
            return self.tr("You")
        return (
            single_line(message.sender_name)
            or single_line(message.sender_identity)
            or self.tr("Unknown participant")
        )

    def _color(self, message: ChatMessage) -> str:
        participant = self._model.participants.get(message.sender_identity)
        return participant.color if participant is not None else ""

    def _scroll_to_bottom(self) -> None:
        # The view lays rows out later: scroll once it has.  The view is the
        # timer's context so that closing the panel meanwhile cancels it.
        QTimer.singleShot(0, self.view, self.view.scrollToBottom)

    # --- sending -------------------------------------------------------------------

    def send(self) -> None:
        text = self.input.toPlainText()
        if not text.strip():
            return
        # Blank lines around a message carry nothing; inner indentation might.
        self._model.send_chat(text.strip("\n").rstrip())
        self.input.clear()

    def _update_send_button(self) -> None:
        self.send_button.setEnabled(bool(self.input.toPlainText().strip()))

    def _open_link(self, url: str) -> None:
        target = QUrl(url, QUrl.ParsingMode.StrictMode)
        if target.isValid() and target.scheme().lower() in ("http", "https"):
            self.open_url(target)
