"""Video tiles: frames converted at the tile's size, repaints grouped under load."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import av
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from client.ui.video_frames import FrameSlot
from client.ui.video_tile import REPAINT_PACE_MS, RepaintPacer

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def app() -> QApplication:
    existing = QApplication.instance()
    return existing if isinstance(existing, QApplication) else QApplication([])


def solid_frame(width: int, height: int, rgb: tuple[int, int, int]) -> av.VideoFrame:
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[:] = rgb
    return av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")


def converted(slot: FrameSlot, frame: av.VideoFrame) -> tuple[int, int, tuple[int, int, int]]:
    slot.put(frame)
    assert slot._convert()
    image = slot.take_image()
    assert image is not None
    colour = image.pixelColor(image.width() // 2, image.height() // 2)
    return image.width(), image.height(), (colour.red(), colour.green(), colour.blue())


def close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(x - y) <= 12 for x, y in zip(a, b, strict=True))


def test_one_slot_follows_its_tile_and_its_source_through_size_changes(app: QApplication) -> None:
    """The slot keeps one reformatter: sizes and colours stay right when the tile is
    resized and when the sender changes resolution (simulcast layers)."""
    slot = FrameSlot()
    slot.configure(640, 360, True)
    w, h, colour = converted(slot, solid_frame(640, 360, (200, 30, 40)))
    assert (w, h) == (640, 360) and close(colour, (200, 30, 40))
    slot.configure(320, 180, True)
    w, h, colour = converted(slot, solid_frame(640, 360, (20, 180, 60)))
    assert (w, h) == (320, 180) and close(colour, (20, 180, 60))
    w, h, colour = converted(slot, solid_frame(1280, 720, (30, 40, 210)))
    assert (w, h) == (320, 180) and close(colour, (30, 40, 210))
    slot.configure(400, 400, True)  # a square tile: the picture keeps its shape
    w, h, _ = converted(slot, solid_frame(320, 180, (90, 90, 90)))
    assert (w, h) == (400, 224)


class PaintCounter(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0
        self.resize(40, 40)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return super().event(event)


def test_repaints_are_immediate_when_idle_and_grouped_when_busy(app: QApplication) -> None:
    pacer = RepaintPacer()
    tiles = [PaintCounter() for _ in range(3)]
    for tile in tiles:
        tile.show()
    QTest.qWait(50)
    before = [t.paints for t in tiles]
    pacer.request(tiles[0])  # idle: painted at the next event loop pass
    app.processEvents()
    assert tiles[0].paints == before[0] + 1
    # Within the pace: the others (and tile 0 again, twice) wait, then paint once each.
    pacer.request(tiles[1])
    pacer.request(tiles[2])
    pacer.request(tiles[0])
    pacer.request(tiles[0])
    app.processEvents()
    assert [t.paints for t in tiles] == [before[0] + 1, before[1], before[2]]
    QTest.qWait(REPAINT_PACE_MS * 4)
    assert [t.paints for t in tiles] == [before[0] + 2, before[1] + 1, before[2] + 1]


def test_a_tile_deleted_while_waiting_is_skipped(app: QApplication) -> None:
    pacer = RepaintPacer()
    first, second = PaintCounter(), PaintCounter()
    first.show()
    second.show()
    QTest.qWait(30)
    pacer.request(first)
    pacer.request(second)  # waits for the pace
    second.deleteLater()
    QTest.qWait(REPAINT_PACE_MS * 4)  # deleted meanwhile: no error, the pacer goes on
    paints = first.paints
    QTest.qWait(REPAINT_PACE_MS * 2)
    pacer.request(first)
    app.processEvents()
    assert first.paints == paints + 1
    assert isinstance(pacer, QObject)
