"""The chat and participants panels, driven through a real CallViewModel.

No server: a stub bridge carries core events into the view-model exactly as the
real one does (a ``coreEvent`` signal) and records the commands it is given.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import itertools
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, cast

import pytest
from PySide6.QtCore import QObject, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QWidget

from client.call_session import HAND_ATTRIBUTE, CallSession, LocalMediaChanged
from client.chat import ChatMessage, ChatMessageReceived
from client.livekit import events as ev
from client.livekit.participant import (
    LocalParticipant,
    RemoteParticipant,
    RemoteTrackPublication,
    TrackSource,
)
from client.ui.bridge import CoreBridge
from client.ui.call_model import CallViewModel
from client.ui.chat_panel import (
    ENTRY_ROLE,
    FULL_TEXT_ROLE,
    MAX_DISPLAY_CHARS,
    ChatEntry,
    ChatPanel,
    clean_text,
    find_links,
)
from client.ui.participants_panel import ROW_ROLE, ParticipantsPanel, Row
from client.ui.video_frames import VideoConverter

pytestmark = pytest.mark.gui

HTML = "<img src=x onerror=alert(1)><b>bold</b>"


class StubBridge(QObject):
    coreEvent = Signal(object)
    commandFailed = Signal(str, object)

    def __init__(self) -> None:
        super().__init__()
        self.fired: list[str] = []
        self.calls: list[Callable[[], Any]] = []

    def fire(self, what: str, coroutine: Coroutine[Any, Any, Any]) -> None:
        self.fired.append(what)
        coroutine.close()

    def call(self, callback: Callable[[], Any]) -> None:
        self.calls.append(callback)


class StubRoom:
    def __init__(self) -> None:
        self.local_participant = LocalParticipant(sid="PA_me", identity="me", name="Camille")


class StubSession:
    def __init__(self) -> None:
        self.room = StubRoom()
        self.camera_feed = object()
        self.sent: list[str] = []

    async def _done(self) -> None:
        return None

    def send_chat(self, text: str) -> Coroutine[Any, Any, None]:
        self.sent.append(text)
        return self._done()

    def set_hand_raised(self, raised: bool) -> Coroutine[Any, Any, None]:
        return self._done()


@pytest.fixture(scope="module")
def app() -> QApplication:
    existing = QApplication.instance()
    return existing if isinstance(existing, QApplication) else QApplication([])


@pytest.fixture
def call(app: QApplication) -> Iterator[tuple[CallViewModel, StubBridge, StubSession]]:
    bridge, session = StubBridge(), StubSession()
    model = CallViewModel(cast(CoreBridge, bridge), cast(CallSession, session), VideoConverter())
    bridge.coreEvent.emit(ev.Connected(room_name="room", local_identity="me"))
    yield model, bridge, session
    model.deleteLater()


def remote(identity: str, name: str, **attributes: str) -> RemoteParticipant:
    return RemoteParticipant(
        sid=f"PA_{identity}", identity=identity, name=name, attributes=attributes
    )


_ids = itertools.count(1)


def message(
    text: str, sender: str = "alice", name: str = "Alice", *, local: bool = False
) -> ChatMessage:
    number = next(_ids)
    return ChatMessage(
        id=f"m{number}",
        timestamp_ms=1_700_000_000_000 + number * 1000,
        text=text,
        sender_identity=sender,
        sender_name=name,
        local=local,
    )


def row_geometry(panel: ChatPanel, row: int) -> tuple[QStyleOptionViewItem, ChatEntry]:
    index = panel.messages.index(row, 0)
    option = QStyleOptionViewItem()
    panel.view.initViewItemOption(option)
    option.rect = panel.view.visualRect(index)
    entry = index.data(ENTRY_ROLE)
    assert isinstance(entry, ChatEntry)
    return option, entry


def shown_panel(model: CallViewModel) -> ChatPanel:
    panel = ChatPanel(model)
    panel.resize(400, 800)
    panel.show()
    QTest.qWait(10)
    return panel


# --- chat ----------------------------------------------------------------------------


def test_markup_is_shown_literally(call: tuple[CallViewModel, StubBridge, StubSession]) -> None:
    model, bridge, _ = call
    panel = shown_panel(model)
    bridge.coreEvent.emit(ChatMessageReceived(message(HTML)))
    index = panel.messages.index(0, 0)
    assert index.data(Qt.ItemDataRole.DisplayRole) == HTML
    assert index.data(FULL_TEXT_ROLE) == HTML
    # What the delegate lays out and draws is that same plain string.
    option, entry = row_geometry(panel, 0)
    laid = panel.view.delegate.laid(option, entry, 300)
    assert laid.laid_text == HTML
    assert not entry.links
    panel.close()


def test_enter_sends_and_shift_enter_adds_a_line(
    call: tuple[CallViewModel, StubBridge, StubSession],
) -> None:
    model, bridge, session = call
    panel = shown_panel(model)
    panel.input.setFocus()
    QTest.keyClicks(panel.input, "hello")
    QTest.keyClick(panel.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClicks(panel.input, "world")
    assert panel.input.toPlainText() == "hello\nworld"
    assert session.sent == []
    QTest.keyClick(panel.input, Qt.Key.Key_Return)
    assert session.sent == ["hello\nworld"]
    assert bridge.fired == ["chat"]
    assert panel.input.toPlainText() == ""
    # Blank messages go nowhere, by Enter or by the button.
    QTest.keyClicks(panel.input, "   ")
    QTest.keyClick(panel.input, Qt.Key.Key_Enter)
    assert not panel.send_button.isEnabled()
    panel.send_button.click()
    assert session.sent == ["hello\nworld"]
    panel.input.setPlainText("via button")
    assert panel.send_button.isEnabled()
    panel.send_button.click()
    assert session.sent == ["hello\nworld", "via button"]
    panel.close()


def test_unread_counts_while_hidden(call: tuple[CallViewModel, StubBridge, StubSession]) -> None:
    model, _, _ = call
    panel = ChatPanel(model)
    counts: list[int] = []
    panel.unreadChanged.connect(counts.append)
    model.chatMessage.emit(message("one"))
    model.chatMessage.emit(message("two"))
    # Our own messages are never unread.
    model.chatMessage.emit(message("mine", "me", "Camille", local=True))
    assert panel.unread == 2
    assert counts == [1, 2]
    panel.show()
    panel.activateWindow()
    QTest.qWaitForWindowActive(panel)
    assert panel.unread == 0
    assert counts == [1, 2, 0]
    assert panel.isActiveWindow()
    model.chatMessage.emit(message("seen"))
    assert panel.unread == 0
    # Shown, but the window is in the background: unread until it comes back.
    other = QWidget()
    other.show()
    other.activateWindow()
    assert QTest.qWaitForWindowActive(other)
    model.chatMessage.emit(message("while away"))
    assert panel.unread == 1
    panel.activateWindow()
    assert QTest.qWaitForWindowActive(panel)
    assert panel.unread == 0
    other.close()
    panel.hide()
    model.chatMessage.emit(message("three"))
    assert panel.unread == 1
    panel.close()


def test_hostile_messages_stay_bounded(call: tuple[CallViewModel, StubBridge, StubSession]) -> None:
    model, _, _ = call
    panel = shown_panel(model)
    huge = "x" * 1_000_000
    newlines = "line\n" * 200_000
    rtl = "مرحبا بالجميع، هذه رسالة طويلة " * 40 + "שלום עולם"
    controls = "a\x00b\x1b[31mred\u202egpj.exe\u200d\u200c\r\nz" + "e\u0301" * 3 + "\u0300" * 5000
    for text in (huge, newlines, rtl, controls):
        model.chatMessage.emit(message(text, "bob", "Bob"))
    QTest.qWait(20)
    delegate = panel.view.delegate
    heights = []
    for row in range(panel.messages.rowCount()):
        index = panel.messages.index(row, 0)
        option = QStyleOptionViewItem()
        panel.view.initViewItemOption(option)
        option.rect = panel.view.visualRect(index)
        # From cold: nothing cached, as when the message has just arrived.
        delegate._layouts.clear()
        delegate._heights.clear()
        started = time.perf_counter()
        size = delegate.sizeHint(option, index)
        image = QImage(option.rect.width(), 800, QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        # Painted as the view would: at the top of an 800 px viewport.
        option.rect.moveTopLeft(QPoint(0, 0))
        delegate.paint(painter, option, index)
        painter.end()
        elapsed = (time.perf_counter() - started) * 1000
        print(f"row {row}: {size.height()} px, sized and painted in {elapsed:.1f} ms")
        heights.append(size.height())
    assert all(0 < h < 2000 for h in heights), heights
    huge_entry = panel.messages.entry(0)
    assert huge_entry.truncated and len(huge_entry.text) == MAX_DISPLAY_CHARS
    assert panel.messages.index(0, 0).data(FULL_TEXT_ROLE) == huge
    # Control characters are made visible or dropped, never passed to the layout.
    shown = panel.messages.entry(3).text
    assert "\x00" not in shown and "\x1b" not in shown and "\u202e" not in shown
    assert "\ufffd" in shown and "\u200d" in shown
    assert "\u0300" * 5 not in shown
    # The whole megabyte is still there for whoever needs it.
    panel.view.setCurrentIndex(panel.messages.index(0, 0))
    QTest.keyClick(panel.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == huge
    panel.close()


def test_links_open_only_on_click(call: tuple[CallViewModel, StubBridge, StubSession]) -> None:
    model, _, _ = call
    panel = shown_panel(model)
    opened: list[QUrl] = []
    panel.open_url = opened.append
    model.chatMessage.emit(message("see https://example.org/a_(b). javascript:alert(1)"))
    QTest.qWait(20)
    option, entry = row_geometry(panel, 0)
    assert [url for _, _, url in entry.links] == ["https://example.org/a_(b)"]
    delegate = panel.view.delegate
    laid = delegate.laid(option, entry, delegate._text_width(option.rect.width()))
    layout, _ = laid.paragraphs[0]
    line = layout.lineAt(0)
    top = option.rect.top() + delegate._header_height(option, entry) + int(line.height() / 2)
    start, end, _ = entry.links[0]
    # PySide returns (x, position); its stub does not say so.
    left = cast(tuple[float, int], line.cursorToX(start))[0]
    right = cast(tuple[float, int], line.cursorToX(end))[0]
    on_link = QPoint(option.rect.left() + delegate.PAD_X + int((left + right) / 2), top)
    beside = QPoint(option.rect.left() + delegate.PAD_X + 2, top)
    QTest.mouseClick(
        panel.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, beside
    )
    assert opened == []
    QTest.mouseClick(
        panel.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, on_link
    )
    assert [url.toString() for url in opened] == ["https://example.org/a_(b)"]
    panel.close()


def test_text_cleaning_and_link_detection() -> None:
    assert clean_text("a\x00b\tc\nd\x7f") == "a\ufffdb\tc\nd\ufffd"
    assert clean_text("x\u202ey\u2066z") == "xyz"
    assert [u for _, _, u in find_links("(https://a.example/x), HTTP://B.example.")] == [
        "https://a.example/x",
        "HTTP://B.example",
    ]
    assert find_links("https://exa\u200bmple.org")[0][2] == "https://exa"
    assert find_links("ftp://x.org file:///etc/passwd https://") == ()


# --- participants --------------------------------------------------------------------


def people_rows(panel: ParticipantsPanel) -> list[Row]:
    return [panel.rows.index(n, 0).data(ROW_ROLE) for n in range(panel.rows.rowCount())]


def test_participants_in_hand_raise_order(
    call: tuple[CallViewModel, StubBridge, StubSession],
) -> None:
    model, bridge, _ = call
    panel = ParticipantsPanel(model)
    panel.resize(400, 800)
    panel.show()
    people = {
        "alice": remote("alice", "Alice"),
        "bob": remote("bob", "Bob"),
        "chloe": remote("chloe", "Chloé"),
    }
    for person in people.values():
        bridge.coreEvent.emit(ev.ParticipantConnected(person))
    assert panel.header.text() == "Participants (4)"
    rows = people_rows(panel)
    assert [r.identity for r in rows] == ["me", "alice", "bob", "chloe"]
    assert panel.rows.index(0, 0).data(Qt.ItemDataRole.DisplayRole) == "Camille (you)"
    # Chloé raises first, then Alice.
    for identity, when in (
        ("chloe", "2024-05-01T10:00:01.000+00:00"),
        ("alice", "2024-05-01T10:00:05.000+00:00"),
    ):
        people[identity].attributes[HAND_ATTRIBUTE] = when
        bridge.coreEvent.emit(ev.ParticipantUpdated(people[identity], frozenset({"attributes"})))
    rows = people_rows(panel)
    assert [(r.kind, r.identity, r.position) for r in rows[:3]] == [
        ("section", "", 0),
        ("hand", "chloe", 1),
        ("hand", "alice", 2),
    ]
    assert [r.identity for r in rows if r.kind == "person"] == ["me", "alice", "bob", "chloe"]
    assert (
        panel.rows.index(1, 0).data(Qt.ItemDataRole.AccessibleTextRole) == "1: Chloé, hand raised"
    )
    # A microphone published muted shows in the row's accessible sentence.
    bridge.coreEvent.emit(
        ev.TrackPublished(
            people["alice"],
            RemoteTrackPublication("TR_a", "mic", "audio", TrackSource.MICROPHONE, muted=True),
        )
    )
    alice = next(
        n for n, r in enumerate(people_rows(panel)) if r.kind == "person" and r.identity == "alice"
    )
    assert panel.rows.index(alice, 0).data(Qt.ItemDataRole.AccessibleTextRole) == (
        "Alice, microphone off, camera off, hand raised, number 2 in the queue"
    )
    bridge.coreEvent.emit(LocalMediaChanged(camera_on=True, microphone_on=True))
    assert panel.rows.index(4, 0).data(Qt.ItemDataRole.AccessibleTextRole) == "Camille (you)"
    # Chloé lowers her hand: Alice is first now; Bob leaves: the count follows.
    people["chloe"].attributes[HAND_ATTRIBUTE] = ""
    bridge.coreEvent.emit(ev.ParticipantUpdated(people["chloe"], frozenset({"attributes"})))
    bridge.coreEvent.emit(ev.ParticipantDisconnected(people["bob"]))
    rows = people_rows(panel)
    assert [(r.kind, r.identity, r.position) for r in rows[:2]] == [
        ("section", "", 0),
        ("hand", "alice", 1),
    ]
    assert panel.header.text() == "Participants (3)"
    assert panel.header.accessibleName() == "Participants (3)"
    # A name that looks like markup stays text, even in a tooltip.
    eve = remote("eve", HTML)
    bridge.coreEvent.emit(ev.ParticipantConnected(eve))
    row = next(n for n, r in enumerate(people_rows(panel)) if r.identity == "eve")
    tooltip = panel.rows.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "<img" not in tooltip and "&lt;img src=x" in tooltip
    image = panel.grab()
    assert not image.isNull()
    panel.close()


# --- call page layout ------------------------------------------------------------------


def test_captions_never_cover_the_tiles(
    call: tuple[CallViewModel, StubBridge, StubSession],
) -> None:
    """The grid sits above the captions' band, so tile names and icons stay readable; the
    band follows the caption size and goes away with the captions."""
    from client.settings import Settings
    from client.ui.call_page import CallPage

    model, bridge, _ = call
    for i in range(4):
        bridge.coreEvent.emit(ev.ParticipantConnected(remote(f"p{i}", f"Person {i}")))
    settings = Settings(captions_on=True, caption_size="XL")
    page = CallPage(model, settings)
    page.resize(1280, 720)
    page.show()
    QTest.qWait(20)
    stage = page.stage
    band = stage.captions.band_height(stage.rect())
    assert band > 0
    assert stage.grid.geometry().bottom() < stage.rect().bottom() - band + 1
    xl_band = band
    settings.caption_size = "S"
    page.apply_settings()
    assert 0 < stage.captions.band_height(stage.rect()) < xl_band
    assert stage.grid.geometry().height() > stage.rect().height() - xl_band
    page.set_captions_visible(False)
    assert stage.captions.band_height(stage.rect()) == 0
    assert stage.grid.geometry() == stage.rect()
    page.close()
    page.deleteLater()


def test_the_microphone_button_menu_lists_devices_and_switches(app: QApplication) -> None:
    from client.local_media import DeviceChoice, LocalDevicesChanged
    from client.ui.controls_bar import ControlsBar

    bar = ControlsBar()
    assert bar.microphone.menu() is None  # test media: nothing to choose
    bar.set_devices(
        LocalDevicesChanged(
            cameras=(),
            microphones=(DeviceChoice("mic-1", "Jabra Evolve 65"),),
            speakers=(DeviceChoice("spk-1", "Built-in speaker"), DeviceChoice("spk-2", "HDMI")),
            camera="",
            microphone="mic-1",
            speaker="",
        )
    )
    menu = bar.microphone.menu()
    assert menu is not None
    actions = [a for a in menu.actions() if not a.isSeparator()]
    names = [a.text() for a in actions]
    assert names == [
        "System default",
        "Jabra Evolve 65",
        "System default",
        "Built-in speaker",
        "HDMI",
    ]
    checked = [a.text() for a in actions if a.isChecked()]
    assert checked == ["Jabra Evolve 65", "System default"]
    chosen: list[tuple[str, str]] = []
    bar.deviceChosen.connect(lambda kind, device: chosen.append((kind, device)))
    actions[4].trigger()
    assert chosen == [("speaker", "spk-2")]
    assert bar.microphone.accessibleName() == "Microphone"  # still the toggle it was


def test_the_camera_button_menu_lists_cameras_and_switches(app: QApplication) -> None:
    from client.media.camera import CamerasChanged
    from client.media.camera_devices import CameraDevice
    from client.ui.controls_bar import ControlsBar

    bar = ControlsBar()
    bar.set_cameras(CamerasChanged(devices=(), active=""))
    menu = bar.camera.menu()
    assert menu is not None
    assert [a.text() for a in menu.actions() if not a.isSeparator()] == ["No camera found"]
    devices = (
        CameraDevice("usb-1", "Logitech C920", "/dev/video0"),
        CameraDevice("int-0", "Integrated Camera", "/dev/video2"),
    )
    bar.set_cameras(CamerasChanged(devices=devices, active="int-0"))
    menu = bar.camera.menu()
    assert menu is not None
    actions = [a for a in menu.actions() if not a.isSeparator()]
    assert [a.text() for a in actions] == ["Logitech C920", "Integrated Camera"]
    assert [a.isChecked() for a in actions] == [False, True]
    chosen: list[tuple[str, str]] = []
    bar.deviceChosen.connect(lambda kind, device: chosen.append((kind, device)))
    actions[0].trigger()
    assert chosen == [("camera", "usb-1")]


def test_settings_list_devices_and_keep_one_not_plugged_in(app: QApplication) -> None:
    from client.local_media import DeviceChoice, LocalDevicesChanged
    from client.media.camera import CamerasChanged
    from client.media.camera_devices import CameraDevice
    from client.settings import Settings
    from client.ui.settings_dialog import SettingsDialog

    settings = Settings(microphone_device="gone-headset", echo_cancellation=True)
    dialog = SettingsDialog(
        settings,
        devices=LocalDevicesChanged(
            cameras=(),
            microphones=(DeviceChoice("mic-1", "Jabra Evolve 65"),),
            speakers=(DeviceChoice("spk-1", "Built-in speaker"),),
            camera="",
            microphone="",
            speaker="",
        ),
        cameras=CamerasChanged((CameraDevice("usb-1", "Logitech C920", "/dev/video0"),), ""),
    )
    microphones = [dialog.microphone.itemText(i) for i in range(dialog.microphone.count())]
    assert microphones == ["System default", "Jabra Evolve 65", "gone-headset (not connected)"]
    assert dialog.microphone.currentData() == "gone-headset"  # kept until it is back
    dialog.camera.setCurrentIndex(dialog.camera.findData("usb-1"))
    dialog.speaker.setCurrentIndex(dialog.speaker.findData("spk-1"))
    dialog.echo_cancellation.setChecked(False)
    dialog._apply()
    assert settings.camera_device == "usb-1"
    assert settings.speaker_device == "spk-1"
    assert settings.microphone_device == "gone-headset"
    assert settings.processing().echo_cancellation is False
