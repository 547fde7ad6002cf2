"""The call stage: tiles in an adaptive grid, a speaker view, pages beyond 25.

The grid picks the column count that makes tiles largest at 16:9 for the space it
has; past 25 participants it pages.  In speaker view (or when someone is pinned or
shares a screen) one tile takes the stage and the others form a strip.  Tiles
that are not on screen are hidden, which turns their video subscription off.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QWidget

from client.ui.call_model import CallViewModel, ParticipantView
from client.ui.video_tile import VideoTile

PAGE_SIZE = 25
GAP = 8
STRIP_TILES = 5


def grid_shape(count: int, width: int, height: int, aspect: float = 16 / 9) -> tuple[int, int]:
    """(columns, rows) giving the largest tiles of ``aspect`` for ``count`` tiles."""
    if count <= 0:
        return (1, 1)
    best = (1, count)
    best_area = -1.0
    for columns in range(1, count + 1):
        rows = math.ceil(count / columns)
        tile_w = (width - GAP * (columns + 1)) / columns
        tile_h = (height - GAP * (rows + 1)) / rows
        if tile_w <= 0 or tile_h <= 0:
            continue
        # The tile is the largest 16:9 box fitting its cell.
        w = min(tile_w, tile_h * aspect)
        area = w * (w / aspect)
        if area > best_area:
            best_area, best = area, (columns, rows)
    return best


class VideoGrid(QWidget):
    pageChanged = Signal(int, int)

    def __init__(self, model: CallViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.tiles: dict[str, VideoTile] = {}
        self.page = 0
        self.speaker_view = False
        self.minimised = False
        self.pinned = ""
        self.setAccessibleName(self.tr("Participants' video"))
        model.participantsChanged.connect(self.rebuild)
        model.participantChanged.connect(self._participant_changed)

    # --- model ------------------------------------------------------------------------

    def rebuild(self) -> None:
        present = {p.identity: p for p in self.model.ordered()}
        for identity in list(self.tiles):
            if identity not in present:
                tile = self.tiles.pop(identity)
                tile.hide()
                tile.deleteLater()
        for identity, participant in present.items():
            existing = self.tiles.get(identity)
            if existing is None:
                tile = VideoTile(participant, self)
                tile.visibilityChanged.connect(self._tile_visibility)
                tile.pinRequested.connect(self.toggle_pin)
                self.tiles[identity] = tile
            else:
                existing.participant = participant
                existing.refresh()
        if self.pinned not in present:
            self.pinned = ""
        self.relayout()

    def _participant_changed(self, identity: str) -> None:
        tile = self.tiles.get(identity)
        if tile is not None:
            tile.refresh()
        if identity in self.tiles and self._stage_identity() is not None:
            self.relayout()

    def _tile_visibility(self, tile: VideoTile, visible: bool, width: int, height: int) -> None:
        self.model.set_video_visible(
            tile.participant, visible and not self.minimised, width, height
        )

    # --- commands ---------------------------------------------------------------------

    def set_minimised(self, minimised: bool) -> None:
        """Minimised, every tile is off screen: turn their subscriptions off (and on
        again at their sizes when the window comes back)."""
        self.minimised = minimised
        for tile in self.tiles.values():
            if tile.isVisible():
                self._tile_visibility(tile, not minimised, tile.width(), tile.height())

    def toggle_pin(self, identity: str) -> None:
        self.pinned = "" if self.pinned == identity else identity
        for key, tile in self.tiles.items():
            tile.pinned = key == self.pinned
        self.relayout()

    def set_speaker_view(self, on: bool) -> None:
        self.speaker_view = on
        self.relayout()

    def pages(self) -> int:
        return max(1, math.ceil(len(self.tiles) / PAGE_SIZE))

    def set_page(self, page: int) -> None:
        self.page = max(0, min(page, self.pages() - 1))
        self.relayout()

    # --- layout -----------------------------------------------------------------------

    def _stage_identity(self) -> str | None:
        """Who takes the stage: a screen share, else the pinned, else (speaker view)
        the one speaking, else nobody (grid)."""
        sharer = self.model.screen_sharer()
        if sharer is not None:
            return sharer.identity
        if self.pinned:
            return self.pinned
        if self.speaker_view:
            speaking = [p for p in self.model.ordered() if p.speaking and not p.is_local]
            if speaking:
                return speaking[0].identity
            candidates = [p for p in self.model.ordered() if not p.is_local]
            candidates = candidates or self.model.ordered()
            return candidates[0].identity if candidates else None
        return None

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.relayout()

    def relayout(self) -> None:
        ordered: list[ParticipantView] = [
            p for p in self.model.ordered() if p.identity in self.tiles
        ]
        stage = self._stage_identity()
        area = self.rect().adjusted(GAP, GAP, -GAP, -GAP)
        shown: set[str] = set()
        if stage is not None and stage in self.tiles:
            others = [p for p in ordered if p.identity != stage][:STRIP_TILES]
            strip_h = area.height() // 5 if others else 0
            stage_rect = QRect(area.left(), area.top(), area.width(), area.height() - strip_h)
            self.tiles[stage].setGeometry(stage_rect)
            shown.add(stage)
            if others:
                w = min(
                    (area.width() - GAP * (len(others) - 1)) // len(others),
                    int((strip_h - GAP) * 16 / 9),
                )
                x = area.left() + (area.width() - (w * len(others) + GAP * (len(others) - 1))) // 2
                for p in others:
                    self.tiles[p.identity].setGeometry(
                        QRect(x, stage_rect.bottom() + GAP, w, strip_h - GAP)
                    )
                    shown.add(p.identity)
                    x += w + GAP
        else:
            start = self.page * PAGE_SIZE
            page = ordered[start : start + PAGE_SIZE]
            columns, rows = grid_shape(len(page), self.width(), self.height())
            cell_w = (self.width() - GAP * (columns + 1)) / columns
            cell_h = (self.height() - GAP * (rows + 1)) / rows
            tile_w = min(cell_w, cell_h * 16 / 9)
            tile_h = tile_w * 9 / 16
            for index, participant in enumerate(page):
                row, column = divmod(index, columns)
                in_row = min(columns, len(page) - row * columns)
                row_w = in_row * tile_w + (in_row - 1) * GAP
                x0 = (self.width() - row_w) / 2
                y0 = (self.height() - (rows * tile_h + (rows - 1) * GAP)) / 2
                left = x0 + column * (tile_w + GAP)
                top = y0 + row * (tile_h + GAP)
                self.tiles[participant.identity].setGeometry(
                    QRect(int(left), int(top), int(tile_w), int(tile_h))
                )
                shown.add(participant.identity)
        for identity, tile in self.tiles.items():
            tile.setVisible(identity in shown)
        self.pageChanged.emit(self.page, self.pages())
