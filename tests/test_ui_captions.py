"""The captions overlay and the captions history panel, offscreen.

The widgets are driven by handing them ``CaptionSegment`` objects, as the call model's
``captionUpdated`` signal does, and judged by what they draw and what they expose to
assistive technology.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import ctypes
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from client.caption_transcript import CaptionTranscript, clock_time
from client.captions import CaptionSegment
from client.settings import Settings
from client.ui import captions_overlay
from client.ui.call_model import CallViewModel, ParticipantView, participant_color
from client.ui.captions_history import ENTRY_ROLE, CaptionsHistoryPanel
from client.ui.captions_overlay import (
    OVERLAY_BACKGROUND,
    CaptionsOverlay,
    contrast_ratio,
    css_color,
    name_color,
)

pytestmark = pytest.mark.gui

START = 1_700_000_000.0


def _binding_drops_none() -> bool:
    """Whether the Qt binding loses a reference to None on every void call.

    PySide6 6.12.0 on CPython 3.11 does (3.12+ has an immortal None; 6.11 is fine): once
    None's few thousand references are gone the interpreter aborts ("none_dealloc").
    """
    QApplication.instance() or QApplication([])
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(200):
        timer.setInterval(5)
    return sys.getrefcount(None) < before - 100


_DROPS_NONE = _binding_drops_none()
if _DROPS_NONE and sys.implementation.name == "cpython" and sys.version_info < (3, 12):
    # Keep the test process alive despite the binding bug (test_qt_binding_keeps_none
    # reports it): None gets references enough for any test run.  In a release build the
    # reference count is the object's first field.
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40


def test_qt_binding_keeps_none() -> None:
    assert not _DROPS_NONE, (
        "this PySide6 drops a reference to None on every call of a void method: the app "
        "aborts after a few thousand Qt calls. PySide6 6.12.0 on Python 3.11 does; use "
        "PySide6 < 6.12 with Python 3.11, or Python >= 3.12."
    )


@pytest.fixture(scope="module")
def app() -> QApplication:
    existing = QApplication.instance()
    return existing if isinstance(existing, QApplication) else QApplication([])


class Stage(QWidget):
    """A dark stand-in for the call stage."""

    def __init__(self, width: int = 1920, height: int = 1080) -> None:
        super().__init__()
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor("#303030"))
        self.setPalette(palette)
        self.resize(width, height)


@pytest.fixture
def stage(app: QApplication) -> Iterator[Stage]:
    widget = Stage()
    widget.show()
    yield widget
    widget.close()
    widget.deleteLater()


COLORS = {"alice": "#ffb000", "bob": "#5ad1ff", "dim": "hsl(210, 50%, 30%)"}


def overlay_on(stage: QWidget, **kwargs: object) -> CaptionsOverlay:
    overlay = CaptionsOverlay(parent=stage, colors=lambda identity: COLORS.get(identity, ""))
    overlay.place(stage.rect())
    for key, value in kwargs.items():
        getattr(overlay, f"set_{key}")(value)
    return overlay


def seg(
    segment_id: str,
    text: str,
    final: bool = True,
    identity: str = "alice",
    name: str = "Alice",
) -> CaptionSegment:
    return CaptionSegment(segment_id, text, final, identity, name, f"TR_{identity}")


def count_pixels(image: QImage, color: QColor, tolerance: int = 10) -> int:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    target = (color.red(), color.green(), color.blue())
    found = 0
    for y in range(0, image.height(), 1):
        for x in range(0, image.width(), 1):
            pixel = image.pixelColor(x, y)
            if all(
                abs(a - b) <= tolerance
                for a, b in zip((pixel.red(), pixel.green(), pixel.blue()), target, strict=True)
            ):
                found += 1
    return found


# --- overlay ------------------------------------------------------------------------------


def test_overlay_shows_the_speaker_in_their_colour(stage: Stage) -> None:
    overlay = overlay_on(stage)
    overlay.add_segment(seg("1", "Bonjour à tous"))
    QTest.qWait(10)
    assert overlay.displayed_text() == "Alice: Bonjour à tous"
    image = overlay.grab().toImage()
    assert count_pixels(image, QColor(COLORS["alice"])) > 30, "the name in Alice's colour"
    assert count_pixels(image, QColor("#ffffff")) > 30, "the text in white"
    assert overlay.accessibleName() == "Captions"
    assert overlay.accessibleDescription() == "Alice: Bonjour à tous"
    assert overlay.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)


def test_a_dark_participant_colour_is_lightened_to_stay_readable(stage: Stage) -> None:
    dim = css_color(COLORS["dim"])
    assert dim.isValid() and contrast_ratio(dim, OVERLAY_BACKGROUND) < 4.5
    shown = name_color(COLORS["dim"], OVERLAY_BACKGROUND)
    assert contrast_ratio(shown, OVERLAY_BACKGROUND) >= 4.5
    assert abs(shown.hslHueF() - dim.hslHueF()) < 0.02, "it keeps its hue"
    overlay = overlay_on(stage)
    overlay.add_segment(seg("1", "hello", identity="dim", name="Dim"))
    assert count_pixels(overlay.grab().toImage(), shown) > 30


def test_css_colours() -> None:
    assert css_color("#4a7bd0").name() == "#4a7bd0"
    assert css_color("hsl(210, 50%, 40%)").name() == QColor.fromHslF(210 / 360, 0.5, 0.4).name()
    assert css_color("hsl(210deg 50% 40% / 0.5)").alphaF() == pytest.approx(0.5, abs=0.01)
    assert css_color("rgb(255, 0, 10)").name() == "#ff000a"
    assert css_color("red").name() == "#ff0000"
    for bad in ("", "nope", "hsl(1, 2)", "rgb(a, b, c)"):
        assert not css_color(bad).isValid()


def test_markup_in_a_caption_is_shown_literally(stage: Stage) -> None:
    overlay = overlay_on(stage)
    overlay.add_segment(seg("1", "<b>x</b> &amp; <img src=x>", name="<i>Eve</i>"))
    assert overlay.displayed_text() == "<i>Eve</i>: <b>x</b> &amp; <img src=x>"
    assert overlay.accessibleDescription() == "<i>Eve</i>: <b>x</b> &amp; <img src=x>"
    # Drawn as those characters: wider than the bold "x" rich text would make it.
    literal = overlay.grab().toImage()
    overlay.clear()
    overlay.add_segment(seg("2", "x", name="Eve"))
    assert _ink_width(literal) > 3 * _ink_width(overlay.grab().toImage())


def _ink_width(image: QImage) -> int:
    """How wide the white text drawn in ``image`` is."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    columns = [
        x
        for x in range(image.width())
        if any(image.pixelColor(x, y).lightness() > 200 for y in range(image.height()))
    ]
    return columns[-1] - columns[0] if columns else 0


def test_interim_text_updates_in_place_then_turns_final(stage: Stage) -> None:
    overlay = overlay_on(stage)
    overlay.add_segment(seg("1", "hello wor", final=False))
    assert overlay.displayed_text() == "Alice: hello wor"
    interim = overlay.grab().toImage()
    renders = overlay.renders
    overlay.add_segment(seg("1", "hello wor", final=False))  # a copy: nothing to redraw
    assert overlay.renders == renders
    overlay.add_segment(seg("1", "hello world", final=False))
    overlay.add_segment(seg("1", "hello world", final=True))
    assert overlay.displayed_text() == "Alice: hello world"
    assert overlay.renders == renders + 2
    # Interim text is styled apart (italic, dimmer): the same words look different final.
    overlay.clear()
    overlay.add_segment(seg("2", "hello wor", final=True))
    assert overlay.grab().toImage() != interim


def test_consecutive_segments_of_a_speaker_share_a_line(stage: Stage) -> None:
    overlay = overlay_on(stage)
    overlay.add_segment(seg("1", "Bonjour."))
    overlay.add_segment(seg("2", "On commence ?"))
    overlay.add_segment(seg("3", "Oui.", identity="bob", name="Bob"))
    assert overlay.displayed_text() == "Alice: Bonjour. On commence ?\nBob: Oui."
    assert overlay.last_line() == "Bob: Oui."
    assert overlay.accessibleDescription() == "Bob: Oui."
    image = overlay.grab().toImage()
    assert count_pixels(image, QColor(COLORS["alice"])) > 30
    assert count_pixels(image, QColor(COLORS["bob"])) > 30


def test_long_lines_wrap_and_old_rows_scroll_away(stage: Stage) -> None:
    overlay = overlay_on(stage, size="XL")
    words = " ".join(f"word{i}" for i in range(120))
    overlay.add_segment(seg("1", words))
    rows = overlay.displayed_text().split("\n")
    assert len(rows) == captions_overlay.MAX_ROWS
    assert rows[-1].endswith("word119"), "the newest words stay in view"
    # The top row still says who speaks, with an ellipsis where text scrolled away.
    assert rows[0].startswith("Alice: …")
    assert "word0 " not in overlay.displayed_text()
    assert overlay.height() < stage.height() * captions_overlay.MAX_HEIGHT_SHARE
    assert overlay.width() <= stage.width()


def test_sizes_change_the_font_live_and_xl_reads_from_across_a_room(stage: Stage) -> None:
    overlay = overlay_on(stage)
    overlay.add_segment(seg("1", "Bonjour à tous"))
    overlay.set_size("S")
    pixels, heights = [overlay.font_pixel_size()], [overlay.height()]
    for size in ("M", "L", "XL"):
        renders = overlay.renders
        overlay.set_size(size)
        assert overlay.size_name == size
        assert overlay.renders == renders + 1
        pixels.append(overlay.font_pixel_size())
        heights.append(overlay.height())
    renders = overlay.renders
    overlay.set_size("XL")  # no change: nothing redrawn
    assert overlay.renders == renders
    assert pixels == sorted(pixels) and len(set(pixels)) == 4
    assert heights == sorted(heights) and len(set(heights)) == 4
    assert overlay.row_height() >= 44, "XL at 1080p: a line of 44 px or more"
    # It scales with the window: half the height, smaller text (but never tiny).
    stage.resize(960, 540)
    overlay.place(stage.rect())
    assert overlay.font_pixel_size() < pixels[-1]
    assert overlay.font_pixel_size() >= captions_overlay.SIZES["XL"][1]
    with pytest.raises(ValueError):
        overlay.set_size("XXL")


def test_background_opacity(stage: Stage) -> None:
    overlay = overlay_on(stage)
    overlay.add_segment(seg("1", "hi"))
    point = (4, overlay.height() // 2)  # inside the box, left of the text
    overlay.set_background_opacity(1.0)
    assert overlay.grab().toImage().pixelColor(*point).name() == "#000000"
    overlay.set_background_opacity(0.0)
    assert overlay.grab().toImage().pixelColor(*point).name() == "#303030"
    overlay.set_background_opacity(0.5)
    assert overlay.grab().toImage().pixelColor(*point).lightness() == pytest.approx(24, abs=3)


def test_settings_apply(stage: Stage) -> None:
    overlay = overlay_on(stage)
    overlay.apply_settings(
        Settings(caption_size="L", caption_background_opacity=0.2, captions_on=False)
    )
    assert overlay.size_name == "L" and overlay.isHidden()


def test_hidden_captions_cost_nothing_until_shown(stage: Stage) -> None:
    overlay = overlay_on(stage)
    overlay.setVisible(False)  # the captions button turned them off
    renders = overlay.renders
    for i in range(20):
        overlay.add_segment(seg(f"s{i}", f"segment {i}"))
    assert overlay.renders == renders
    overlay.setVisible(True)
    assert overlay.renders == renders + 1
    assert overlay.displayed_text().endswith("segment 19")


def test_captions_clear_after_silence(stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(captions_overlay, "CLEAR_AFTER_MS", 50)
    overlay = overlay_on(stage)
    overlay.add_segment(seg("1", "and that is all"))
    assert overlay.displayed_text()
    QTest.qWait(200)
    assert overlay.displayed_text() == ""
    assert overlay.accessibleDescription() == ""
    assert overlay.size() == QSize(0, 0)
    # The next words start afresh.
    overlay.add_segment(seg("2", "new"))
    assert overlay.displayed_text() == "Alice: new"


def test_placed_at_the_bottom_of_the_given_area(stage: Stage) -> None:
    overlay = overlay_on(stage)
    overlay.add_segment(seg("1", "hi"))
    area = stage.rect().adjusted(0, 0, 0, -100)  # a control bar over the bottom 100 px
    overlay.place(area)
    geometry = overlay.geometry()
    assert geometry.bottom() < area.bottom() and geometry.bottom() > area.bottom() - 60
    assert abs(geometry.center().x() - area.center().x()) <= 1


class FakeModel(QObject):
    captionUpdated = Signal(object)
    # The real lookup: it needs only ``participants``.
    color_of = CallViewModel.color_of

    def __init__(self) -> None:
        super().__init__()
        self.participants: dict[str, ParticipantView] = {}


def test_bound_to_the_call_model(stage: Stage) -> None:
    model = FakeModel()
    model.participants["alice"] = ParticipantView("alice", "Alice", color="#ffb000")
    overlay = CaptionsOverlay(cast(CallViewModel, model), Settings(caption_size="L"), stage)
    overlay.place(stage.rect())
    history = CaptionsHistoryPanel(cast(CallViewModel, model))
    model.captionUpdated.emit(seg("1", "from the model"))
    model.captionUpdated.emit(seg("2", "someone else", identity="zed", name="Zed"))
    assert overlay.displayed_text() == "Alice: from the model\nZed: someone else"
    assert overlay.size_name == "L"
    image = overlay.grab().toImage()
    assert count_pixels(image, QColor("#ffb000")) > 30
    fallback = name_color(participant_color("zed"), OVERLAY_BACKGROUND)
    assert count_pixels(image, fallback, tolerance=6) > 30
    assert [e.text for e in history.shown_entries()] == ["from the model", "someone else"]
    history.deleteLater()


# --- history panel ------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def history(app: QApplication) -> Iterator[tuple[CaptionsHistoryPanel, FakeClock]]:
    clock = FakeClock()
    panel = CaptionsHistoryPanel(
        transcript=CaptionTranscript(clock=clock),
        colors=lambda identity: COLORS.get(identity, ""),
    )
    panel.resize(360, 700)
    panel.show()
    QTest.qWait(10)
    yield panel, clock
    panel.close()
    panel.deleteLater()


def test_history_lists_time_speaker_and_text(
    history: tuple[CaptionsHistoryPanel, FakeClock],
) -> None:
    panel, clock = history
    assert not panel.export_vtt.isEnabled(), "nothing to export yet"
    assert panel.empty.isVisible()
    panel.add_segment(seg("1", "Bonjour à tous"))
    clock.now += 5
    panel.add_segment(seg("2", "je parl", final=False, identity="bob", name="Bob"))
    assert not panel.empty.isVisible() and panel.export_vtt.isEnabled()
    index = panel.filtered.index(0, 0)
    assert index.data() == f"{clock_time(START)} Alice: Bonjour à tous"
    interim = panel.filtered.index(1, 0).data(ENTRY_ROLE)
    assert not interim.final and interim.started_at == START + 5
    assert "still being transcribed" in panel.filtered.index(1, 0).data(
        Qt.ItemDataRole.AccessibleTextRole
    )
    panel.add_segment(seg("2", "je parle.", identity="bob", name="Bob"))
    assert [e.text for e in panel.shown_entries()] == ["Bonjour à tous", "je parle."]
    assert panel.filtered.index(1, 0).data(ENTRY_ROLE).final
    QTest.qWait(10)
    image = panel.view.viewport().grab().toImage()
    assert count_pixels(image, name_color(COLORS["alice"], QColor("#ffffff"))) > 10
    assert panel.export_vtt.text() == "Export .vtt" and panel.export_txt.text() == "Export .txt"


def test_history_search_filters_live_ignoring_accents(
    history: tuple[CaptionsHistoryPanel, FakeClock],
) -> None:
    panel, _ = history
    panel.add_segment(seg("1", "La réunion commence"))
    panel.add_segment(seg("2", "Autre chose", identity="bob", name="Bob"))
    panel.add_segment(seg("3", "Fin de la REUNION", final=False))
    panel.set_search("reunion")
    assert [e.id for e in panel.shown_entries()] == ["1", "3"]
    panel.set_search("Réunion")
    assert [e.id for e in panel.shown_entries()] == ["1", "3"]
    # New and updated segments are filtered as they come.
    panel.add_segment(seg("4", "une autre réunion"))
    panel.add_segment(seg("3", "Fin de la discussion"))
    assert [e.id for e in panel.shown_entries()] == ["1", "4"]
    panel.set_search("bob")  # speakers match too
    assert [e.id for e in panel.shown_entries()] == ["2"]
    panel.set_search("nothing like it")
    assert panel.shown_entries() == [] and panel.empty.isVisible()
    # Typing filters by itself after a short pause.
    panel.search.setText("")
    QTest.qWait(400)
    assert len(panel.shown_entries()) == 4 and not panel.empty.isVisible()


def test_history_export_writes_final_text_once(
    history: tuple[CaptionsHistoryPanel, FakeClock], tmp_path: Path
) -> None:
    panel, clock = history
    for text in ("hello", "hello wor", "hello world"):
        panel.add_segment(seg("1", text, final=False))
        clock.now += 1
    panel.add_segment(seg("1", "hello world!", final=True))
    clock.now += 1
    panel.add_segment(seg("2", "<b>x</b> & co", identity="bob", name="Bob"))
    panel.add_segment(seg("3", "still talking", final=False))
    panel.export(tmp_path / "captions.vtt", "vtt")
    panel.export(tmp_path / "captions.txt", "txt")
    vtt = (tmp_path / "captions.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")
    assert vtt.count("hello") == 1 and "<v Alice>hello world!" in vtt
    assert "<v Bob>&lt;b&gt;x&lt;/b&gt; &amp; co" in vtt
    assert "still talking" not in vtt
    text = (tmp_path / "captions.txt").read_text(encoding="utf-8")
    assert text == (
        f"[{clock_time(START)}] Alice: hello world!\n[{clock_time(START + 4)}] Bob: <b>x</b> & co\n"
    )
    with pytest.raises(ValueError):
        panel.export(tmp_path / "captions.srt", "srt")


def test_export_buttons_open_qt_file_dialogs(
    history: tuple[CaptionsHistoryPanel, FakeClock], tmp_path: Path
) -> None:
    panel, _ = history
    panel.add_segment(seg("1", "to keep"))
    panel.export_txt.click()
    dialogs = panel.findChildren(QFileDialog)
    assert len(dialogs) == 1
    dialog = dialogs[0]
    assert dialog.testOption(QFileDialog.Option.DontUseNativeDialog)
    assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
    assert dialog.defaultSuffix() == "txt"
    target = tmp_path / "out.txt"
    dialog.fileSelected.emit(str(target))
    dialog.close()
    assert target.read_text(encoding="utf-8").endswith("Alice: to keep\n")
    vtt_dialog = panel.ask_export("vtt")
    assert vtt_dialog.defaultSuffix() == "vtt"
    vtt_dialog.close()


def test_export_failure_is_shown_not_raised(
    history: tuple[CaptionsHistoryPanel, FakeClock], tmp_path: Path
) -> None:
    panel, _ = history
    panel.add_segment(seg("1", "x"))
    dialog = panel.ask_export("vtt")
    dialog.fileSelected.emit(str(tmp_path / "missing" / "folder" / "out.vtt"))
    dialog.close()
    from PySide6.QtWidgets import QMessageBox

    boxes = panel.findChildren(QMessageBox)
    assert boxes and "could not be saved" in boxes[-1].text()
    boxes[-1].close()


def test_history_rows_wrap_and_grow_with_interim_text(
    history: tuple[CaptionsHistoryPanel, FakeClock],
) -> None:
    panel, _ = history
    panel.add_segment(seg("1", "short", final=False))
    panel.view.doItemsLayout()
    short = panel.view.visualRect(panel.filtered.index(0, 0)).height()
    panel.add_segment(seg("1", "now a much longer sentence " * 8, final=False))
    panel.view.doItemsLayout()
    grown = panel.view.visualRect(panel.filtered.index(0, 0)).height()
    assert grown > 3 * short
    # Narrower: rows re-wrap to the new width.
    panel.resize(260, 700)
    QTest.qWait(10)
    panel.finish_wrapping()
    assert panel.view.visualRect(panel.filtered.index(0, 0)).height() > grown


def test_history_of_5000_segments_stays_responsive(
    history: tuple[CaptionsHistoryPanel, FakeClock],
) -> None:
    panel, clock = history
    app = QApplication.instance()
    assert app is not None
    limit = panel.transcript._max
    for i in range(limit):
        clock.now += 1
        panel.add_segment(
            seg(f"s{i}", f"segment {i}: une réunion qui dure, avec assez de mots pour deux lignes")
        )
        if i % 500 == 0:
            app.processEvents()
    app.processEvents()
    assert panel.filtered.rowCount() == limit == 5000
    costs = []
    for i in range(15):
        started = time.perf_counter()
        panel.add_segment(seg(f"more{i}", f"and more {i}", final=False))
        panel.add_segment(seg(f"more{i}", f"and more {i}, done"))
        app.processEvents()  # the view's layout and paint
        costs.append(time.perf_counter() - started)
    assert panel.filtered.rowCount() == 5000, "the oldest go"
    assert panel.shown_entries()[0].id == "s15"
    assert statistics.median(costs) < 0.08, f"a new segment took {costs}"
    started = time.perf_counter()
    panel.set_search("segment 42")
    app.processEvents()
    assert time.perf_counter() - started < 0.5
    assert [e.id for e in panel.shown_entries()][:3] == ["s42", "s420", "s421"]
    panel.set_search("")
    assert panel.filtered.rowCount() == 5000
    # The list is at its end: the newest row is in view.
    app.processEvents()
    last = panel.filtered.index(panel.filtered.rowCount() - 1, 0)
    assert panel.view.viewport().rect().intersects(panel.view.visualRect(last))
