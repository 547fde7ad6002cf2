"""The captions history: the call's whole transcript in a side panel.

Every caption segment of the call, in order, each with the local time it started and
its speaker's name in their colour; interim segments are shown in italic and dimmer
until final.  A search field filters the list as one types (case and accents ignored),
and the transcript can be exported as WebVTT subtitles or plain text.

Built to stay responsive with thousands of segments: one ``QListView``, no widget per
row, rows drawn by a delegate from plain strings with ``QTextLayout`` (markup in a
caption is shown literally).  Rows wrap, so their heights differ and uniform item sizes
cannot be used; a ``QListView`` then re-lays out every row whenever one is added.  With
a Python list model that meant a call into Python per row and per layout (70 ms for
5000 rows, at every new segment), so the rows live in a ``QStandardItemModel`` instead:
each row's height is computed once in Python (when its segment changes, or the width
does) and stored as its size hint, and the view's layouts and the search filter (a
``QSortFilterProxyModel`` on a folded search key) run entirely in C++.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QSize,
    QSortFilterProxyModel,
    QStandardPaths,
    Qt,
    QTimer,
    Slot,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QResizeEvent,
    QShowEvent,
    QStandardItem,
    QStandardItemModel,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from client.caption_transcript import (
    CaptionTranscript,
    ChangeKind,
    TranscriptChange,
    TranscriptEntry,
    clock_time,
    fold,
    to_text,
    to_webvtt,
)
from client.captions import CaptionSegment
from client.ui.captions_overlay import ISOLATE_END, ISOLATE_START, name_color, utf16_len

if TYPE_CHECKING:
    from client.ui.call_model import CallViewModel

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2
EXPORT_FORMATS = ("vtt", "txt")
#: Typing pauses this long before the list is filtered.
SEARCH_DELAY_MS = 120
#: A width change re-wraps every row: wait until the resizing stops, then re-wrap this
#: many rows per pass of the event loop (the bottom first), so that a long transcript
#: never freezes the window.
REWRAP_DELAY_MS = 100
REWRAP_CHUNK = 150


class _Style:
    """Fonts, colours and metrics of the rows, for one font and text colour.

    The app's style sheet sets the text colour but leaves the palette's base colour at
    the light theme's value, so a dark theme is recognised by light text.
    """

    def __init__(self, key: tuple[str, int], font: QFont, palette: QPalette) -> None:
        self.key = key
        self.font = QFont(font)
        metrics = QFontMetrics(self.font)
        self.time_width = metrics.horizontalAdvance("00:00:00")
        self.line_height = metrics.height()
        self.text = palette.color(QPalette.ColorRole.Text)
        dark = self.text.lightnessF() > 0.5
        self.background = QColor("#1f2126") if dark else QColor("#ffffff")
        self.muted = QColor(self.text)
        self.muted.setAlphaF(0.62)
        self.text_option = QTextOption()
        self.text_option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self._final = QTextCharFormat()
        self._final.setForeground(self.text)
        self._interim = QTextCharFormat()
        self._interim.setForeground(self.muted)
        self._interim.setFontItalic(True)

    def body(self, *, final: bool) -> QTextCharFormat:
        return self._final if final else self._interim


class TranscriptDelegate(QStyledItemDelegate):
    """Draws an entry: its time in a column, then "Name: text" wrapped to the width.

    Sizes are not computed here on demand (that would call into Python for every row
    at every layout): the panel stores each row's height, from ``row_height``.
    """

    PAD_X = 10
    PAD_Y = 4
    GAP = 8

    def __init__(self, view: QListView, colors: Callable[[str], str]) -> None:
        super().__init__(view)
        self._view = view
        self.colors = colors
        self._style_cache: _Style | None = None
        # Painting lays out the rows on screen again and again (scrolling, repaints over
        # video): keep the recent layouts.
        self._layouts: OrderedDict[tuple[int, str, str, bool, int, int], QTextLayout] = (
            OrderedDict()
        )

    def option(self) -> QStyleOptionViewItem:
        option = QStyleOptionViewItem()
        self._view.initViewItemOption(option)
        return option

    def _style(self, option: QStyleOptionViewItem) -> _Style:
        font = option.font
        key = (font.key(), option.palette.color(QPalette.ColorRole.Text).rgba())
        if self._style_cache is None or self._style_cache.key != key:
            self._style_cache = _Style(key, font, option.palette)
        return self._style_cache

    def text_width(self, option: QStyleOptionViewItem, row_width: int) -> int:
        return max(40, row_width - 2 * self.PAD_X - self._style(option).time_width - self.GAP)

    def row_height(
        self, option: QStyleOptionViewItem, entry: TranscriptEntry, row_width: int
    ) -> int:
        layout = self.layout(option, entry, self.text_width(option, row_width))
        height = int(layout.boundingRect().height() + 0.999)
        return max(height, self._style(option).line_height) + 2 * self.PAD_Y

    def layout(
        self, option: QStyleOptionViewItem, entry: TranscriptEntry, width: int
    ) -> QTextLayout:
        style = self._style(option)
        # What is drawn, not when it changed: two updates may share a clock reading.
        key = (entry.seq, entry.text, entry.speaker, entry.final, width, style.text.rgba())
        cached = self._layouts.get(key)
        if cached is not None:
            self._layouts.move_to_end(key)
            return cached
        # The name is a bidi isolate: a right-to-left name must not reorder the text.
        name = ISOLATE_START + entry.speaker + ISOLATE_END + ": " if entry.speaker else ""
        layout = QTextLayout(name + entry.text, style.font)
        layout.setTextOption(style.text_option)
        formats: list[QTextLayout.FormatRange] = []
        if name:
            name_format = QTextCharFormat()
            name_format.setFontWeight(QFont.Weight.Bold)
            name_format.setForeground(name_color(self.colors(entry.speaker_key), style.background))
            formats.append(_range(0, utf16_len(name), name_format))
        formats.append(
            _range(utf16_len(name), utf16_len(entry.text), style.body(final=entry.final))
        )
        layout.setFormats(formats)
        layout.beginLayout()
        y = 0.0
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            line.setPosition(QPointF(0, y))
            y += line.height()
        layout.endLayout()
        self._layouts[key] = layout
        if len(self._layouts) > 200:
            self._layouts.popitem(last=False)
        return layout

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        entry = index.data(ENTRY_ROLE)
        if not isinstance(entry, TranscriptEntry):
            super().paint(painter, option, index)
            return
        self.initStyleOption(option, index)
        option.text = ""  # the style draws the selection and focus, the text is ours
        widget = option.widget
        style = widget.style() if widget is not None else self._view.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        look = self._style(option)
        rect: QRect = option.rect
        time_width = look.time_width
        painter.save()
        painter.setFont(look.font)
        painter.setPen(look.muted)
        painter.drawText(
            QRect(rect.left() + self.PAD_X, rect.top() + self.PAD_Y, time_width, rect.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            clock_time(entry.started_at),
        )
        layout = self.layout(option, entry, self.text_width(option, rect.width()))
        layout.draw(
            painter,
            QPointF(rect.left() + self.PAD_X + time_width + self.GAP, rect.top() + self.PAD_Y),
        )
        painter.restore()


class TranscriptItems(QStandardItemModel):
    """The transcript's entries as rows, mirroring each ``TranscriptChange`` in order."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[TranscriptEntry] = []

    def entry(self, row: int) -> TranscriptEntry:
        return self._entries[row]

    def entries(self) -> list[TranscriptEntry]:
        return list(self._entries)

    def apply(self, change: TranscriptChange, height: int | None) -> int:
        """Follow one change of the transcript; returns the entry's row (-1: none).

        ``height`` is the entry's row height, or None while the width is unknown.
        """
        if change.evicted:
            self.removeRows(0, len(change.evicted))
            del self._entries[: len(change.evicted)]
        entry = change.entry
        if entry is None:
            return -1
        if change.kind is ChangeKind.ADDED:
            item = QStandardItem()
            item.setEditable(False)
            self._fill(item, entry, height)
            self._entries.append(entry)
            self.appendRow(item)
            return self.rowCount() - 1
        self._entries[change.row] = entry
        item = self.item(change.row)
        if item is not None:
            self._fill(item, entry, height)
        return change.row

    def set_height(self, row: int, height: int) -> None:
        item = self.item(row)
        if item is not None:
            item.setData(QSize(1, height), Qt.ItemDataRole.SizeHintRole)

    def _fill(self, item: QStandardItem, entry: TranscriptEntry, height: int | None) -> None:
        stamp = clock_time(entry.started_at)
        item.setData(entry, ENTRY_ROLE)
        item.setData(entry.search_key, SEARCH_ROLE)
        item.setData(f"{stamp} {entry.speaker}: {entry.text}", Qt.ItemDataRole.DisplayRole)
        spoken = self.tr("{time}, {name}: {text}").format(
            time=stamp, name=entry.speaker, text=entry.text
        )
        if not entry.final:
            spoken += self.tr(" (still being transcribed)")
        item.setData(spoken, Qt.ItemDataRole.AccessibleTextRole)
        if height is not None:
            item.setData(QSize(1, height), Qt.ItemDataRole.SizeHintRole)


class TranscriptView(QListView):
    """The list; reports width changes, since its rows wrap to the width."""

    def __init__(self, on_width: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._on_width = on_width

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._on_width()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._on_width()


class CaptionsHistoryPanel(QWidget):
    def __init__(
        self,
        model: CallViewModel | None = None,
        parent: QWidget | None = None,
        *,
        transcript: CaptionTranscript | None = None,
        colors: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("Captions history"))
        self.transcript = transcript if transcript is not None else CaptionTranscript()
        self._colors: Callable[[str], str] = colors or (lambda identity: "")
        #: The row width the stored heights were computed for (0: never shown yet).
        self._wrapped_width = 0
        #: Rows [0, _unwrapped) still have no height for that width.
        self._unwrapped = 0
        self._query = ""

        title = QLabel(self.tr("Captions history"), self)
        title.setObjectName("panelTitle")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(self.tr("Search the captions"))
        self.search.setAccessibleName(self.tr("Search the captions"))
        self.search.setClearButtonEnabled(True)
        self.rows = TranscriptItems(self)
        self.filtered = QSortFilterProxyModel(self)
        self.filtered.setSourceModel(self.rows)
        self.filtered.setFilterRole(SEARCH_ROLE)
        # Both sides are folded already (case, accents): compare them as they are.
        self.filtered.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseSensitive)
        self.view = TranscriptView(self._width_changed, self)
        self.view.setAccessibleName(self.tr("Transcript"))
        self.view.setModel(self.filtered)
        self.delegate = TranscriptDelegate(self.view, lambda identity: self._colors(identity))
        self.view.setItemDelegate(self.delegate)
        self.view.setUniformItemSizes(False)  # rows wrap: see the module's docstring
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.empty = QLabel(self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setTextFormat(Qt.TextFormat.PlainText)
        self.empty.setWordWrap(True)
        self.export_vtt = QPushButton(self.tr("Export .vtt"), self)
        self.export_vtt.setToolTip(self.tr("Save the captions as WebVTT subtitles"))
        self.export_txt = QPushButton(self.tr("Export .txt"), self)
        self.export_txt.setToolTip(self.tr("Save the captions as a text file"))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(title)
        layout.addWidget(self.search)
        # The message goes above the (empty) list rather than instead of it: the list
        # keeps its width, which is what its rows wrap to.
        layout.addWidget(self.empty)
        layout.addWidget(self.view, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_vtt)
        buttons.addWidget(self.export_txt)
        layout.addLayout(buttons)

        self._search_timer = _single_shot(self, SEARCH_DELAY_MS, self._apply_search)
        self._rewrap_timer = _single_shot(self, REWRAP_DELAY_MS, self._rewrap)
        self._rewrap_more = _single_shot(self, 0, self._rewrap_some)
        self._follow_timer = _single_shot(self, 0, self.view.scrollToBottom)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.export_vtt.clicked.connect(lambda: self.ask_export("vtt"))
        self.export_txt.clicked.connect(lambda: self.ask_export("txt"))
        self._dialog: QFileDialog | None = None
        for entry in self.transcript.entries():
            self.rows.apply(_added(entry), None)
        if model is not None:
            self.bind(model)
        self._update_empty()

    # --- inputs ---------------------------------------------------------------------------

    def bind(self, model: CallViewModel) -> None:
        """List the call's captions, each speaker in their tile's colour."""
        self._colors = model.color_of
        model.captionUpdated.connect(self.add_segment)

    @Slot(object)
    def add_segment(self, segment: CaptionSegment) -> None:
        follow = self._at_bottom()
        change = self.transcript.add(segment)
        if not change.changed or change.entry is None:
            return
        self._unwrapped = max(0, self._unwrapped - len(change.evicted))
        old = self._stored_height(change.row) if change.kind is ChangeKind.UPDATED else None
        height = None
        if self._wrapped_width:
            height = self.delegate.row_height(
                self.delegate.option(), change.entry, self._wrapped_width
            )
        self.rows.apply(change, height)
        if change.kind is ChangeKind.ADDED:
            self._update_empty()
        elif height != old:
            # A row that grew (interim text getting longer): the view re-lays out rows
            # only when told, a changed datum alone just repaints.
            self.view.scheduleDelayedItemsLayout()
        if follow and self.isVisible():
            self._follow_timer.start()  # once per event-loop pass, however many came

    def set_search(self, text: str) -> None:
        """Filter now (the field otherwise waits for a pause in typing)."""
        self.search.setText(text)
        self._search_timer.stop()
        self._apply_search()

    # --- state ----------------------------------------------------------------------------

    def shown_entries(self) -> list[TranscriptEntry]:
        """The entries listed, in order (after the search filter)."""
        entries = []
        for row in range(self.filtered.rowCount()):
            entry = self.filtered.index(row, 0).data(ENTRY_ROLE)
            if isinstance(entry, TranscriptEntry):
                entries.append(entry)
        return entries

    def _stored_height(self, row: int) -> int | None:
        item = self.rows.item(row)
        hint = item.data(Qt.ItemDataRole.SizeHintRole) if item is not None else None
        return hint.height() if isinstance(hint, QSize) else None

    def _at_bottom(self) -> bool:
        bar = self.view.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    @Slot()
    def _apply_search(self) -> None:
        query = fold(self.search.text())
        if query != self._query:
            self._query = query
            self.filtered.setFilterFixedString(query)
            self.view.scrollToBottom()
        self._update_empty()

    def _width_changed(self) -> None:
        if self._wrapped_width == 0:
            self._rewrap()  # the first real width: no reason to wait
        else:
            self._rewrap_timer.start()

    @Slot()
    def _rewrap(self) -> None:
        """Start computing every row's height for the current width."""
        width = self.view.viewport().width()
        if width <= 0 or width == self._wrapped_width:
            return
        self._wrapped_width = width
        self._unwrapped = self.rows.rowCount()
        self._rewrap_some()

    @Slot()
    def _rewrap_some(self) -> None:
        """Wrap the next rows up from the bottom (the ones in view when following)."""
        if self._unwrapped <= 0:
            return
        start = max(0, self._unwrapped - REWRAP_CHUNK)
        option = self.delegate.option()
        follow = self._at_bottom()
        # One relayout for the chunk rather than one per row.
        self.rows.blockSignals(True)
        try:
            for row in range(start, self._unwrapped):
                entry = self.rows.entry(row)
                self.rows.set_height(
                    row, self.delegate.row_height(option, entry, self._wrapped_width)
                )
        finally:
            self.rows.blockSignals(False)
        self._unwrapped = start
        self.view.scheduleDelayedItemsLayout()
        if follow:
            self._follow_timer.start()
        if self._unwrapped:
            self._rewrap_more.start()

    def finish_wrapping(self) -> None:
        """Wrap every row now (tests; the panel otherwise does it a chunk at a time)."""
        self._rewrap_timer.stop()
        self._rewrap()
        while self._unwrapped > 0:
            self._rewrap_some()
        self._rewrap_more.stop()
        self.view.doItemsLayout()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._rewrap()
        self._follow_timer.start()

    def _update_empty(self) -> None:
        has_rows = self.filtered.rowCount() > 0
        if len(self.transcript) == 0:
            self.empty.setText(self.tr("No captions yet. They appear here as people speak."))
        else:
            self.empty.setText(self.tr("No caption matches this search."))
        self.empty.setVisible(not has_rows)
        self.export_vtt.setEnabled(len(self.transcript) > 0)
        self.export_txt.setEnabled(len(self.transcript) > 0)

    # --- export -----------------------------------------------------------------------------

    def export(self, path: Path, fmt: str) -> None:
        """Write the final captions to ``path`` as ``"vtt"`` (WebVTT) or ``"txt"``."""
        if fmt == "vtt":
            data = to_webvtt(self.transcript.entries(), self.transcript.start_time)
        elif fmt == "txt":
            data = to_text(self.transcript.entries())
        else:
            raise ValueError(f"export format must be one of {EXPORT_FORMATS}, not {fmt!r}")
        path.write_text(data, encoding="utf-8", newline="\n")

    def ask_export(self, fmt: str) -> QFileDialog:
        """Ask where to save (a window-modal dialog: the call goes on meanwhile)."""
        if self._dialog is not None:
            self._dialog.close()
        dialog = QFileDialog(self, self.tr("Export the captions"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        # Qt's own dialog: the same everywhere, and usable without a desktop portal
        # (under Xvfb in tests, or a minimal session).
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        if fmt == "vtt":
            dialog.setNameFilter(self.tr("WebVTT subtitles (*.vtt)"))
        else:
            dialog.setNameFilter(self.tr("Text files (*.txt)"))
        dialog.setDefaultSuffix(fmt)
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        name = time.strftime("captions-%Y-%m-%d-%H%M", time.localtime(self.transcript.start_time))
        dialog.selectFile(str(Path(folder) / f"{name}.{fmt}") if folder else f"{name}.{fmt}")
        dialog.fileSelected.connect(lambda chosen: self._export_to(Path(chosen), fmt))
        dialog.finished.connect(dialog.deleteLater)
        self._dialog = dialog
        dialog.open()
        return dialog

    def _export_to(self, path: Path, fmt: str) -> None:
        self._dialog = None
        try:
            self.export(path, fmt)
        except OSError as exc:
            box = QMessageBox(self)
            box.setIcon(QMessageBox.Icon.Warning)
            box.setWindowTitle(self.tr("Export failed"))
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setText(
                self.tr("The captions could not be saved to {path}: {error}").format(
                    path=str(path), error=exc.strerror or str(exc)
                )
            )
            box.open()


def _added(entry: TranscriptEntry) -> TranscriptChange:
    return TranscriptChange(ChangeKind.ADDED, entry, -1)


def _single_shot(parent: QObject, interval: int, slot: Callable[[], None]) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval)
    timer.timeout.connect(slot)
    return timer


def _range(start: int, length: int, char_format: QTextCharFormat) -> QTextLayout.FormatRange:
    format_range = QTextLayout.FormatRange()
    format_range.start = start
    format_range.length = length
    format_range.format = char_format
    return format_range
