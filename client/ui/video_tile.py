"""One participant's tile: video, or initials on their colour, and their state.

Painted by hand (no child widgets) so a grid of 25 tiles is 25 cheap paints: the
video image arrives already at the tile's size from the converter thread, the
name, the muted microphone, the raised hand and the connection quality are drawn
over it, and a frozen video gets a visible overlay.
"""

from __future__ import annotations

import contextlib
import time

from PySide6.QtCore import (
    QCoreApplication,
    QObject,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHideEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from client.livekit import events as ev
from client.ui.call_model import ParticipantView
from client.ui.resources import pixmap
from client.ui.video_frames import FrameSlot

_QUALITY_BARS = {
    ev.ConnectionQuality.EXCELLENT: 4,
    ev.ConnectionQuality.GOOD: 3,
    ev.ConnectionQuality.POOR: 1,
    ev.ConnectionQuality.LOST: 0,
}


#: Tiles' repaints are grouped over this long: each window update costs an X round
#: trip and a flush, so nine tiles at 15 fps painted one by one made 130 updates a
#: second, where grouping makes at most 60.
REPAINT_PACE_MS = 16


class RepaintPacer(QObject):
    """Repaints tiles at once when nothing was painted lately; otherwise keeps them
    for the end of the current pace, and repaints all that asked together."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: dict[int, QWidget] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPAINT_PACE_MS)
        self._timer.timeout.connect(self._flush)

    def request(self, widget: QWidget) -> None:
        if self._timer.isActive():
            self._pending[id(widget)] = widget
            return
        widget.update()
        self._timer.start()

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        for widget in pending.values():
            with contextlib.suppress(RuntimeError):  # deleted while it waited
                widget.update()
        if pending:
            self._timer.start()  # still busy: the next requests wait for this pace


_pacer: RepaintPacer | None = None


def repaint_pacer() -> RepaintPacer:
    global _pacer
    if _pacer is None:
        _pacer = RepaintPacer(QCoreApplication.instance())
    return _pacer


class VideoTile(QWidget):
    #: Shown, hidden or resized: (tile, visible, width px, height px).
    visibilityChanged = Signal(object, bool, int, int)
    pinRequested = Signal(str)
    _imageReady = Signal()

    def __init__(self, participant: ParticipantView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.participant = participant
        self.pinned = False
        self._image: QImage | None = None
        self._bound: FrameSlot | None = None
        self._label: tuple[tuple[object, ...], QPixmap] | None = None
        self.images_painted = 0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(QSize(120, 68))
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self._imageReady.connect(self._take_image, Qt.ConnectionType.QueuedConnection)
        self.bind_slot()
        self.refresh()

    def bind_slot(self) -> None:
        slot = self.participant.camera_slot
        if slot is self._bound:
            return
        self._bound = slot
        self._image = None
        if slot is not None:
            # Emitted from the converter thread: queued, so the paint happens here.
            slot.set_notify(self._imageReady.emit)
            # A track subscribed after the tile was laid out learns its size now.
            self._report(self.isVisible())

    def refresh(self) -> None:
        p = self.participant
        state = []
        if p.microphone_muted:
            state.append(self.tr("microphone off"))
        if not p.camera_on:
            state.append(self.tr("camera off"))
        if p.hand_raised:
            state.append(self.tr("hand raised"))
        if p.speaking:
            state.append(self.tr("speaking"))
        self.setAccessibleName(p.name + (self.tr(" (you)") if p.is_local else ""))
        self.setAccessibleDescription(", ".join(state))
        self.setToolTip(p.name)
        self.bind_slot()
        self.update()

    # --- size and visibility: what the subscription asks for ----------------------------

    def _report(self, visible: bool) -> None:
        ratio = self.devicePixelRatioF()
        self.visibilityChanged.emit(
            self, visible, int(self.width() * ratio), int(self.height() * ratio)
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.isVisible():
            self._report(True)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._report(True)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._report(False)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.pinRequested.emit(self.participant.identity)

    # --- painting --------------------------------------------------------------------------

    @Slot()
    def _take_image(self) -> None:
        slot = self.participant.camera_slot
        if slot is None:
            return
        image = slot.take_image()
        # Camera off: the tile shows initials, a late frame must not repaint it.
        if image is not None and self.participant.camera_on:
            self._image = image
            repaint_pacer().request(self)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = self.participant
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect())
        painter.fillRect(rect, QColor("#1b1d22"))
        show_video = p.camera_on and self._image is not None and p.camera_slot is not None
        if show_video:
            assert self._image is not None
            ratio = self.devicePixelRatioF()
            size = self._image.size() / ratio
            x = (rect.width() - size.width()) / 2
            y = (rect.height() - size.height()) / 2
            painter.drawImage(QRectF(x, y, size.width(), size.height()), self._image)
            self.images_painted += 1
        else:
            self._paint_initials(painter, rect)
        if show_video and p.frozen(time.monotonic()):
            self._paint_frozen(painter, rect)
        self._paint_label(painter, rect)
        if p.speaking:
            painter.setPen(QPen(QColor("#4f8cff"), 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(1.5, 1.5, -1.5, -1.5), 8, 8)
        elif self.pinned:
            painter.setPen(QPen(QColor("#ffffff"), 2, Qt.PenStyle.DashLine))
            painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 8, 8)
        painter.end()

    def _paint_initials(self, painter: QPainter, rect: QRectF) -> None:
        p = self.participant
        diameter = min(rect.width(), rect.height()) * 0.42
        circle = QRectF(
            rect.center().x() - diameter / 2, rect.center().y() - diameter / 2, diameter, diameter
        )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(p.color) if QColor(p.color).isValid() else QColor("#5a5f6b"))
        painter.drawEllipse(circle)
        font = QFont(self.font())
        font.setPixelSize(max(10, int(diameter * 0.38)))
        font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(circle, Qt.AlignmentFlag.AlignCenter, p.initials)

    def _paint_frozen(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, QColor(0, 0, 0, 140))
        font = QFont(self.font())
        font.setPixelSize(max(11, int(rect.height() * 0.07)))
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(
            rect, Qt.AlignmentFlag.AlignCenter, self.tr("Video frozen — weak connection")
        )

    def _paint_label(self, painter: QPainter, rect: QRectF) -> None:
        p = self.participant
        ratio = self.devicePixelRatioF()
        key = (
            p.name,
            p.is_local,
            p.microphone_muted,
            p.hand_raised,
            rect.width(),
            rect.height(),
            ratio,
        )
        if self._label is None or self._label[0] != key:
            # Drawn once per change, then copied on every frame: text layout and icon
            # rendering were most of a tile's paint.
            self._label = (key, self._render_label(rect, ratio))
        label = self._label[1]
        painter.drawPixmap(QPointF(0, rect.height() - label.height() / ratio), label)
        bars = _QUALITY_BARS.get(p.quality)
        if bars is not None:
            self._paint_quality(painter, QRectF(rect.width() - 30, 10, 20, 14), bars)

    def _render_label(self, rect: QRectF, ratio: float) -> QPixmap:
        p = self.participant
        font = QFont(self.font())
        font.setPixelSize(max(11, min(16, int(rect.height() * 0.075))))
        metrics = QFontMetrics(font)
        name = p.name + (self.tr(" (you)") if p.is_local else "")
        icon = metrics.height()
        # +2: elidedText cuts a text given exactly its own advance (rounding).
        text_width = min(metrics.horizontalAdvance(name) + 2, int(rect.width() * 0.6))
        extra = (icon + 4) * (int(p.microphone_muted) + int(p.hand_raised))
        height = icon + 16
        label = QPixmap(max(1, int((text_width + extra + 26) * ratio)), int(height * ratio))
        label.setDevicePixelRatio(ratio)
        label.fill(Qt.GlobalColor.transparent)
        painter = QPainter(label)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(font)
        box = QRectF(8, 0, text_width + extra + 16, icon + 8)
        path = QPainterPath()
        path.addRoundedRect(box, 6, 6)
        painter.fillPath(path, QColor(0, 0, 0, 150))
        x = box.left() + 8
        if p.hand_raised:
            painter.drawPixmap(int(x), int(box.top() + 4), pixmap("hand", icon, ratio))
            x += icon + 4
        if p.microphone_muted:
            painter.drawPixmap(int(x), int(box.top() + 4), pixmap("mic-off", icon, ratio))
            x += icon + 4
        painter.setPen(QColor("#ffffff"))
        elided = metrics.elidedText(name, Qt.TextElideMode.ElideRight, text_width)
        painter.drawText(
            QRectF(x, box.top(), text_width + 2, box.height()),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            elided,
        )
        painter.end()
        return label

    @staticmethod
    def _paint_quality(painter: QPainter, box: QRectF, bars: int) -> None:
        colour = (
            QColor("#3ecf8e") if bars >= 3 else QColor("#f5a524") if bars else QColor("#ff5b5b")
        )
        width = box.width() / 4
        for i in range(4):
            height = box.height() * (i + 1) / 4
            bar = QRectF(box.left() + i * width, box.bottom() - height, width - 2, height)
            painter.fillRect(bar, colour if i < bars else QColor(255, 255, 255, 60))
