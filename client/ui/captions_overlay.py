"""Live captions over the bottom of the call stage.

The overlay is a child of the stage widget and places itself: it watches its parent's
resize events (an event filter), so the stage only creates it and, if a control bar
covers the stage's bottom, tells it how much to leave free (``set_bottom_margin``).

It shows the last few rows of the last lines: consecutive segments of one speaker form
one line, the speaker's name in bold in their colour, interim text in italic and dimmer
until it becomes final.  Text is laid out with ``QTextLayout``, which never interprets
markup, so a caption reading ``<b>x</b>`` is shown as those characters.

Cheap by construction: the text is laid out and drawn into a pixmap only when a caption,
the size, the opacity or the stage's size changes; a paint (which also happens whenever
a video beneath it repaints) only copies that pixmap.  It lets the mouse through to the
tiles beneath.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPixmap,
    QShowEvent,
    QTextCharFormat,
    QTextLayout,
    QTextLine,
    QTextOption,
)
from PySide6.QtWidgets import QWidget

from client.caption_transcript import CaptionLine, CaptionTranscript
from client.captions import CaptionSegment
from client.settings import CAPTION_SIZES, Settings
from client.ui.colors import css_color

if TYPE_CHECKING:
    from client.ui.call_model import CallViewModel

#: Font pixel size per caption size for a window 1080 px high (scaled with the window's
#: height), and the smallest it gets in a small window.  XL gives a ~56 px line at
#: 1080p: the size TV subtitle guidelines give for reading from 3 m.
SIZES: dict[str, tuple[int, int]] = {"S": (24, 13), "M": (30, 15), "L": (38, 18), "XL": (48, 22)}
REFERENCE_HEIGHT = 1080
#: Rows of text shown at most; older rows scroll away.
MAX_ROWS = 3
#: Captions never cover more than this share of the stage's height.
MAX_HEIGHT_SHARE = 0.4
#: A text row holds at most about this many average characters (subtitle guidelines
#: keep rows near 40 characters: longer ones are hard to follow while listening).
MAX_ROW_EMS = 28
#: Captions vanish after this long without any update.
CLEAR_AFTER_MS = 7000
#: Segments kept for display: enough for the last lines, however they interleave.
KEPT_SEGMENTS = 40
#: Below this background opacity the text gets a shadow to stay readable over video.
SHADOW_BELOW_OPACITY = 0.5

FINAL_COLOR = QColor("#ffffff")
INTERIM_COLOR = QColor("#c9ced8")
#: What the text stands on: the overlay's black box, or dark video when it is faint.
OVERLAY_BACKGROUND = QColor("#000000")
FALLBACK_NAME_COLOR = QColor("#8ab4f8")
ISOLATE_START, ISOLATE_END = "\u2068", "\u2069"  # FIRST STRONG ISOLATE ... POP


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


def _luminance(color: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(color.redF())
        + 0.7152 * channel(color.greenF())
        + 0.0722 * channel(color.blueF())
    )


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio between two opaque colours (1 to 21)."""
    la, lb = _luminance(a), _luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def readable_color(color: QColor, background: QColor, minimum: float = 4.5) -> QColor:
    """``color``, lightened or darkened (same hue) until readable on ``background``.

    Participant colours are chosen as tile backgrounds (mid-dark); as text on the dark
    captions box they would be too dim, so the name keeps its hue, not its lightness.
    """
    if not color.isValid():
        color = FALLBACK_NAME_COLOR
    color = QColor(color)
    color.setAlphaF(1.0)
    if contrast_ratio(color, background) >= minimum:
        return color
    hue = max(color.hslHueF(), 0.0)  # achromatic colours report -1
    saturation, lightness = color.hslSaturationF(), color.lightnessF()
    towards_white = _luminance(background) < 0.18
    for step in range(1, 21):
        if towards_white:
            candidate_lightness = lightness + (1 - lightness) * step / 20
        else:
            candidate_lightness = lightness * (1 - step / 20)
        candidate = QColor.fromHslF(hue, saturation, candidate_lightness, 1.0)
        if contrast_ratio(candidate, background) >= minimum:
            return candidate
    return QColor("#ffffff") if towards_white else QColor("#000000")


@functools.lru_cache(maxsize=512)
def _name_color(css: str, background_rgba: int) -> QColor:
    return readable_color(css_color(css), QColor.fromRgba(background_rgba))


def name_color(css: str, background: QColor) -> QColor:
    """A participant's CSS colour made readable on ``background`` (cached: every layout
    of a name asks for it)."""
    return QColor(_name_color(css, background.rgba()))


def caption_font_pixels(size: str, window_height: int) -> int:
    base, smallest = SIZES[size]
    return max(smallest, round(base * window_height / REFERENCE_HEIGHT))


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Qt's text positions count in."""
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, start: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[start * 2 : (start + length) * 2].decode("utf-16-le", errors="replace")


class _LineText:
    """One caption line as plain text with its styles, laid out on demand.

    ``skip`` UTF-16 units of the body were cut from the start (they scrolled away); the
    name is then followed by an ellipsis.  Layouts are cached per font, width and kind, and
    keep their ``QTextLine`` rows valid while the line is drawn.
    """

    def __init__(
        self,
        name: str,
        color: QColor,
        body: str,
        parts: list[tuple[int, int, bool]],
        name_font: QFont,
        skip: int = 0,
        ellipsis: str = "",
    ) -> None:
        self.name, self.color, self.body, self.parts = name, color, body, parts
        self.name_font = name_font
        tail = utf16_slice(body, skip, utf16_len(body)) if skip else body
        stripped = tail.lstrip()
        self.skip = skip + utf16_len(tail) - utf16_len(stripped)
        self.prefix = name + ellipsis if skip else name
        self.full = self.prefix + stripped
        self._layouts: dict[tuple[str, int, bool], QTextLayout] = {}

    def cut(self, skip: int, ellipsis: str) -> _LineText:
        return _LineText(
            self.name, self.color, self.body, self.parts, self.name_font, skip, ellipsis
        )

    def word_starts(self) -> list[int]:
        """UTF-16 positions in the body where a word starts (where a cut may fall)."""
        starts: list[int] = []
        position = 0
        previous_space = False
        for char in self.body:
            if previous_space and not char.isspace():
                starts.append(position)
            previous_space = char.isspace()
            position += utf16_len(char)
        return starts

    def layout(self, font: QFont, width: int, *, shadow: bool) -> QTextLayout:
        key = (font.key(), width, shadow)
        layout = self._layouts.get(key)
        if layout is None:
            layout = self._layouts[key] = self._build(font, width, shadow)
        return layout

    def _build(self, font: QFont, width: int, shadow: bool) -> QTextLayout:
        formats: list[QTextLayout.FormatRange] = []
        shadow_color = QColor(0, 0, 0, 220)
        if self.prefix:
            name_format = QTextCharFormat()
            name_format.setFont(self.name_font)
            name_format.setForeground(shadow_color if shadow else self.color)
            formats.append(_range(0, utf16_len(self.prefix), name_format))
        offset = utf16_len(self.prefix) - self.skip
        for start, length, final in self.parts:
            end = start + length
            if end <= self.skip:
                continue  # scrolled away
            start = max(start, self.skip)
            part = QTextCharFormat()
            part.setForeground(shadow_color if shadow else FINAL_COLOR if final else INTERIM_COLOR)
            part.setFontItalic(not final)
            formats.append(_range(start + offset, end - start, part))
        layout = QTextLayout(self.full, font)
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        layout.setFormats(formats)
        layout.beginLayout()
        y = 0.0
        while True:
            row = layout.createLine()
            if not row.isValid():
                break
            row.setLineWidth(width)
            row.setPosition(QPointF(0, y))
            y += row.height()
        layout.endLayout()
        return layout


class CaptionsOverlay(QWidget):
    """The captions box; the stage positions it by calling ``place`` when it resizes.

    ``place(rect)`` gives the area the captions may use (the stage's rect, less whatever
    must stay uncovered): the box is centred at the bottom of it.  Hiding the widget
    (``setVisible(False)``, as the captions button does) turns captions off; segments
    still arrive meanwhile and the box is drawn again when it is shown.
    """

    def __init__(
        self,
        model: CallViewModel | None = None,
        settings: Settings | None = None,
        parent: QWidget | None = None,
        *,
        colors: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(parent)
        #: The speaker's CSS colour by identity (the call model's participant colour).
        self._colors: Callable[[str], str] = colors or (lambda identity: "")
        self._transcript = CaptionTranscript(max_entries=KEPT_SEGMENTS)
        self._size = "M"
        self._opacity = 0.6
        self._area: QRect | None = None
        self._dirty = False
        self._rows: list[str] = []
        self._last_line = ""
        self._pixmap: QPixmap | None = None
        self._font_pixels = caption_font_pixels(self._size, REFERENCE_HEIGHT)
        #: How many times the captions were laid out and drawn (tests check it stays low).
        self.renders = 0
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName(self.tr("Captions"))
        self._expire = QTimer(self)
        self._expire.setSingleShot(True)
        self._expire.setInterval(CLEAR_AFTER_MS)
        self._expire.timeout.connect(self.clear)
        if parent is not None:
            # Shown by default (with its parent), also under a stage already on screen,
            # where a new child would otherwise stay hidden: hidden means captions off.
            self.show()
        if model is not None:
            self.bind(model)
        if settings is not None:
            self.apply_settings(settings)
        self._refresh()

    # --- inputs ---------------------------------------------------------------------------

    def bind(self, model: CallViewModel) -> None:
        """Show the call's captions, each speaker in their tile's colour."""
        self._colors = model.color_of
        model.captionUpdated.connect(self.add_segment)

    @Slot(object)
    def add_segment(self, segment: CaptionSegment) -> None:
        """A caption segment is new or was updated in place."""
        if not self._transcript.add(segment).changed:
            return  # a copy of what is shown: nothing to redraw
        self._expire.start()
        self._refresh()

    @Slot()
    def clear(self) -> None:
        self._expire.stop()
        self._transcript.clear()
        self._refresh()

    def place(self, rect: QRect) -> None:
        """Use ``rect`` (stage coordinates): the captions sit at the bottom, centred."""
        if rect != self._area:
            self._area = QRect(rect)
            self._refresh()
        self.raise_()  # above the grid and whatever the stage added since

    def band_height(self, area: QRect) -> int:
        """The height kept free for the captions at the bottom of ``area`` when they are on.

        The grid sits above this band, so the captions never cover a tile's name or its
        icons; it is sized for the fullest box (``MAX_ROWS`` rows), so the grid does not
        jump each time someone starts or stops speaking.
        """
        if self.isHidden() or area.height() <= 0:
            return 0
        pixels = caption_font_pixels(self._size, max(1, self.window().height()))
        row_height = QFontMetricsF(self._font(pixels)).lineSpacing()
        box = MAX_ROWS * row_height + 2 * round(pixels * 0.3)
        gap = 2 * max(8, round(area.height() * 0.03))
        return min(round(box + gap), round(area.height() * MAX_HEIGHT_SHARE))

    def set_size(self, size: str) -> None:
        if size not in CAPTION_SIZES:
            raise ValueError(f"caption size must be one of {CAPTION_SIZES}, not {size!r}")
        if size != self._size:
            self._size = size
            self._refresh()

    def set_background_opacity(self, opacity: float) -> None:
        opacity = _unit(opacity)
        if opacity != self._opacity:
            self._opacity = opacity
            self._refresh()

    def set_captions_on(self, on: bool) -> None:
        self.setVisible(on)

    def apply_settings(self, settings: Settings) -> None:
        self.set_size(settings.caption_size)
        self.set_background_opacity(settings.caption_background_opacity)
        self.set_captions_on(settings.captions_on)

    # --- what is shown (for tests and assistive technology) -------------------------------

    @property
    def size_name(self) -> str:
        return self._size

    def font_pixel_size(self) -> int:
        return self._font_pixels

    def row_height(self) -> float:
        return QFontMetricsF(self._font(self._font_pixels)).lineSpacing()

    def displayed_text(self) -> str:
        """The rows on screen, as plain text, one per line."""
        return "\n".join(self._rows)

    def last_line(self) -> str:
        return self._last_line

    # --- placement and drawing ------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._dirty:
            self._refresh()

    def _font(self, pixels: int, bold: bool = False) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(pixels)
        font.setWeight(QFont.Weight.Bold if bold else QFont.Weight.Medium)
        font.setStyleHint(QFont.StyleHint.SansSerif)
        return font

    def _refresh(self) -> None:
        """Lay out and draw the captions again; called on every change, never per paint."""
        stage = self.parentWidget()
        lines = self._transcript.lines()[-MAX_ROWS:]
        self._update_accessible(lines)
        if stage is None or self.isHidden():
            self._dirty = True  # drawn when shown: captions off cost nothing
            return
        self._dirty = False
        # Scaled on the window, not the stage: opening a side panel must not shrink text.
        self._font_pixels = caption_font_pixels(self._size, max(1, self.window().height()))
        area = self._area if self._area is not None else stage.rect()
        if not lines or area.width() <= 0 or area.height() <= 0:
            self._rows = []
            self._pixmap = None
            # Stays "visible" (the captions switch is the widget's visibility), but empty.
            self.setGeometry(area.center().x(), area.bottom(), 0, 0)
            self.update()
            return
        self._render(area, lines)

    def _render(self, area: QRect, lines: list[CaptionLine]) -> None:
        pixels = self._font_pixels
        font = self._font(pixels)
        row_height = QFontMetricsF(font).lineSpacing()
        pad_x, pad_y = round(pixels * 0.6), round(pixels * 0.3)
        side = max(8, round(pixels * 0.5))
        width = max(1, min(area.width() - 2 * side, round(pixels * MAX_ROW_EMS)))
        text_width = max(1, width - 2 * pad_x)
        max_rows = max(1, min(MAX_ROWS, int(area.height() * MAX_HEIGHT_SHARE // row_height)))
        shown = self._fit(lines, font, text_width, max_rows)
        shadow = self._opacity < SHADOW_BELOW_OPACITY
        rows: list[tuple[QTextLine, QTextLine | None, str]] = []
        for text in shown:
            layout = text.layout(font, text_width, shadow=False)
            shadow_layout = text.layout(font, text_width, shadow=True) if shadow else None
            for i in range(layout.lineCount()):
                row = layout.lineAt(i)
                plain = utf16_slice(text.full, row.textStart(), row.textLength())
                plain = plain.replace(ISOLATE_START, "").replace(ISOLATE_END, "").strip()
                rows.append((row, shadow_layout.lineAt(i) if shadow_layout else None, plain))
        rows = rows[-max_rows:]  # only when even one row per line is too many
        self._rows = [plain for _, _, plain in rows]
        height = round(len(rows) * row_height + 2 * pad_y)
        bottom = area.bottom() + 1 - max(8, round(area.height() * 0.03))
        left = area.left() + (area.width() - width) // 2
        self.setGeometry(left, bottom - height, width, height)

        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(round(width * ratio), round(height * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        if self._opacity > 0:
            path = QPainterPath()
            path.addRoundedRect(QRectF(0, 0, width, height), pixels * 0.25, pixels * 0.25)
            background = QColor(OVERLAY_BACKGROUND)
            background.setAlphaF(self._opacity)
            painter.fillPath(path, background)
        offset = max(1.0, pixels / 16)
        for index, (row, shadow_row, _) in enumerate(rows):
            # Each row is drawn where it lands in the box, whichever layout it came from.
            target = QPointF(pad_x, pad_y + index * row_height - row.y())
            if shadow_row is not None:
                shadow_row.draw(painter, target + QPointF(offset, offset))
            row.draw(painter, target)
        painter.end()
        self._pixmap = pixmap
        self.renders += 1
        self.update()

    def _fit(
        self, lines: list[CaptionLine], font: QFont, width: int, max_rows: int
    ) -> list[_LineText]:
        """The lines' texts cut to ``max_rows`` rows, each still starting with its speaker.

        Rows that scroll away are cut from the start of the oldest line shown, and that
        line is laid out again as "Name: …rest", so the top row never loses who speaks.
        """
        texts = [self._line_text(line) for line in lines]
        counts = [t.layout(font, width, shadow=False).lineCount() for t in texts]
        # Lines wholly scrolled away go first.
        while len(texts) > 1 and sum(counts) - counts[0] >= max_rows:
            del texts[0], counts[0]
        excess = sum(counts) - max_rows
        if excess <= 0:
            return texts
        first = texts[0]
        keep_rows = counts[0] - excess
        layout = first.layout(font, width, shadow=False)
        # Where the rows that stay begin; "Name: …" takes room too, so later cuts may do.
        estimate = layout.lineAt(excess).textStart() - utf16_len(first.prefix)
        for skip in first.word_starts():
            if skip < estimate:
                continue
            candidate = first.cut(skip, self.tr("…"))
            if candidate.layout(font, width, shadow=False).lineCount() <= keep_rows:
                texts[0] = candidate
                break
        # Otherwise (a stage too narrow for the name): the oldest rows are cropped.
        return texts

    def _line_text(self, line: CaptionLine) -> _LineText:
        # The name is a bidi isolate: a right-to-left name must not reorder the text.
        isolated = ISOLATE_START + line.speaker + ISOLATE_END
        name = self.tr("{name}: ").format(name=isolated) if line.speaker else ""
        color = name_color(self._colors(line.speaker_key), OVERLAY_BACKGROUND)
        body = ""
        parts: list[tuple[int, int, bool]] = []
        for entry in line.entries:
            if not entry.text:
                continue
            if body:
                body += " "
            parts.append((utf16_len(body), utf16_len(entry.text), entry.final))
            body += entry.text
        return _LineText(name, color, body, parts, self._font(self._font_pixels, bold=True))

    def _update_accessible(self, lines: list[CaptionLine]) -> None:
        """Keep the last line readable by screen readers (the accessible description)."""
        last = ""
        if lines:
            line = lines[-1]
            name = self.tr("{name}: ").format(name=line.speaker) if line.speaker else ""
            last = name + line.text
        if last != self._last_line:
            self._last_line = last
            self.setAccessibleDescription(last)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._pixmap is None:
            return
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._pixmap)
        painter.end()


def _range(start: int, length: int, char_format: QTextCharFormat) -> QTextLayout.FormatRange:
    format_range = QTextLayout.FormatRange()
    format_range.start = start
    format_range.length = length
    format_range.format = char_format
    return format_range
