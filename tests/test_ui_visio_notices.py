"""The call page in a Visio meeting: the lobby for hosts, "muted by", the recording
badge, captions asked for once, a failed hand put back.

A real core thread, bridge, view-model and page; a ``CallSession`` that never joins a
server: the core's events are emitted on the core thread as the meeting would, and the
session's Visio commands are replaced by recording coroutines (the page is under test
here, the Visio client has its own tests).  Drawn by the X server conftest starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from client.call_session import CallSession
from client.captions import CaptionSegment, CaptionUpdated
from client.livekit import events as ev
from client.livekit.participant import LocalTrackPublication, TrackSource
from client.livekit.tasks import spawn
from client.media.test_sources import ToneTrack
from client.settings import Settings
from client.ui.bridge import CoreBridge
from client.ui.call_model import CallViewModel
from client.ui.call_page import CallPage
from client.ui.core_thread import CoreThread
from client.ui.meeting_notices import ISOLATE_END, ISOLATE_START
from client.ui.resources import resource_path
from client.ui.video_frames import VideoConverter
from client.visio.api import RoomInfo, VisioApi, VisioError, WaitingParticipant
from client.visio.meeting import MutedBy, ParticipantsWaiting, RecordingChanged

pytestmark = pytest.mark.gui

MARIE = WaitingParticipant("lobby-marie", "Marie Curie", "#7b3fe4")
ALBERT = WaitingParticipant("lobby-albert", "Albert Einstein", "hsl(160, 60%, 35%)")


def plain(text: str) -> str:
    return text.replace(ISOLATE_START, "").replace(ISOLATE_END, "")


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        QTest.qWait(10)


@dataclass
class Call:
    core: CoreThread
    bridge: CoreBridge
    session: CallSession
    model: CallViewModel
    page: CallPage
    settings: Settings
    #: What the replaced session commands were asked, in order.
    asked: list[tuple[Any, ...]] = field(default_factory=list)

    def emit(self, event: ev.Event) -> None:
        """As the core does: on its own thread."""
        self.bridge.call(lambda: self.session.events.emit(event))

    def on_core(self, function: Callable[[], Any]) -> None:
        async def run() -> Any:
            return function()

        self.core.submit(run()).result(5)


@pytest.fixture(scope="module")
def app() -> QApplication:
    existing = QApplication.instance()
    return existing if isinstance(existing, QApplication) else QApplication([])


def build_call(settings: Settings, *, visio: bool = False) -> Call:
    core = CoreThread("test-core")
    core.start()
    bridge = CoreBridge(core)

    async def create() -> CallSession:
        session = CallSession()
        bridge.observe(session.events)
        if visio:
            info = RoomInfo(
                id="room-id",
                slug="abc-defg-hij",
                name="Réunion",
                access_level="public",
                configuration={},
                livekit=None,
            )
            session.use_visio(VisioApi("http://127.0.0.1:9"), info)
        return session

    session = core.submit(create()).result(5)
    model = CallViewModel(bridge, session, VideoConverter())
    page = CallPage(model, settings)
    page.resize(1280, 720)
    page.show()
    call = Call(core, bridge, session, model, page, settings)

    async def admit(participant_id: str, *, allow: bool) -> None:
        call.asked.append(("admit", participant_id, allow))

    async def start_captions() -> bool:
        call.asked.append(("captions",))
        return True

    session.admit = admit  # type: ignore[method-assign]
    session.start_captions = start_captions  # type: ignore[method-assign]
    call.emit(ev.Connected(room_name="abc-defg-hij", local_identity=""))
    wait_until(lambda: model.room_name == "abc-defg-hij", "the call to be shown")
    return call


@pytest.fixture
def call(app: QApplication) -> Iterator[Call]:
    built = build_call(Settings(captions_on=False))
    yield built
    close(built)


def close(call: Call) -> None:
    call.page.close()
    call.page.deleteLater()
    call.model.deleteLater()
    call.core.stop()
    QTest.qWait(10)


# --- the lobby ---------------------------------------------------------------------------


def test_a_waiting_guest_is_shown_and_admitted(call: Call) -> None:
    notice = call.page.stage.waiting
    assert notice.isHidden()
    call.emit(ParticipantsWaiting((MARIE,)))
    wait_until(lambda: notice.isVisible(), "the lobby notice")
    assert plain(notice.title.full_text()) == "Marie Curie wants to join"
    assert notice.admit_all.isHidden(), "one guest: no 'Admit all'"
    row = notice.rows[MARIE.id]
    assert row.admit.text() == "Admit" and row.deny.text() == "Deny"
    assert row.admit.accessibleName() == "Admit Marie Curie"
    assert row.deny.accessibleName() == "Deny Marie Curie"
    assert not notice.hasFocus() and QApplication.focusWidget() not in (row.admit, row.deny)
    # Below the connection banner's band, inside the stage, on the right.
    stage = call.page.stage
    assert stage.rect().contains(notice.geometry())
    assert notice.geometry().right() > stage.width() * 3 // 4

    QTest.mouseClick(row.admit, Qt.MouseButton.LeftButton)
    wait_until(lambda: call.asked != [], "the answer")
    assert call.asked == [("admit", MARIE.id, True)]
    assert not row.admit.isEnabled() and not row.deny.isEnabled(), "answered once"
    call.emit(ParticipantsWaiting(()))
    wait_until(lambda: notice.isHidden(), "the notice to go")


def test_several_guests_deny_one_admit_all(call: Call) -> None:
    notice = call.page.stage.waiting
    call.emit(ParticipantsWaiting((MARIE,)))
    wait_until(lambda: notice.isVisible(), "the lobby notice")
    call.emit(ParticipantsWaiting((MARIE, ALBERT)))
    wait_until(lambda: len(notice.rows) == 2, "the second guest")
    assert notice.title.full_text() == "2 people want to join"
    assert notice.admit_all.isVisible()
    assert [row.name.full_text() for row in notice.rows.values()] == [
        "Marie Curie",
        "Albert Einstein",
    ]
    wait_until(lambda: all(row.name.isVisible() for row in notice.rows.values()), "both names")

    QTest.mouseClick(notice.rows[ALBERT.id].deny, Qt.MouseButton.LeftButton)
    wait_until(lambda: len(call.asked) == 1, "the denial")
    assert call.asked == [("admit", ALBERT.id, False)]
    call.emit(ParticipantsWaiting((MARIE,)))
    wait_until(lambda: len(notice.rows) == 1, "Albert gone")
    assert notice.admit_all.isHidden()

    call.emit(ParticipantsWaiting((MARIE, ALBERT)))
    wait_until(lambda: len(notice.rows) == 2, "Albert back")
    QTest.mouseClick(notice.admit_all, Qt.MouseButton.LeftButton)
    wait_until(lambda: len(call.asked) == 3, "both admitted")
    assert sorted(call.asked[1:]) == [("admit", ALBERT.id, True), ("admit", MARIE.id, True)]


def test_a_failed_answer_says_so_and_can_be_given_again(call: Call) -> None:
    async def refused(participant_id: str, *, allow: bool) -> None:
        call.asked.append(("admit", participant_id, allow))
        raise VisioError(VisioError.SERVER_ERROR, "502")

    call.session.admit = refused  # type: ignore[method-assign]
    notice = call.page.stage.waiting
    call.emit(ParticipantsWaiting((MARIE,)))
    wait_until(lambda: notice.isVisible(), "the lobby notice")
    row = notice.rows[MARIE.id]
    QTest.mouseClick(row.admit, Qt.MouseButton.LeftButton)
    banner = call.page.stage.banner
    wait_until(lambda: banner.isVisible(), "the failure")
    assert banner.text() == "Your answer to the guest could not be sent. Try again."
    assert row.admit.isEnabled() and row.deny.isEnabled()


def test_hostile_guest_names_stay_plain_and_short(call: Call) -> None:
    long_name = "<b>Ève</b>\u202e" + "x" * 500
    call.emit(ParticipantsWaiting((WaitingParticipant("g1", long_name),)))
    notice = call.page.stage.waiting
    wait_until(lambda: notice.isVisible(), "the lobby notice")
    shown = notice.title.text()
    assert "<b>Ève</b>" in shown and "\u202e" not in shown
    assert notice.title.fontMetrics().horizontalAdvance(shown) <= notice.title.width()
    assert notice.width() <= call.page.stage.width()


# --- muted by, recording -------------------------------------------------------------------


def test_muted_by_shows_a_passing_toast(call: Call) -> None:
    toast = call.page.stage.toast
    call.emit(MutedBy("Marie Curie"))
    wait_until(lambda: toast.isVisible(), "the toast")
    assert plain(toast.text()) == "Marie Curie muted your microphone"
    assert plain(toast.accessibleName()) == "Marie Curie muted your microphone"
    wait_until(lambda: toast.isHidden(), "the toast to hide by itself", timeout_s=8)


def test_a_mute_from_outside_turns_the_microphone_button_off(call: Call) -> None:
    microphone = LocalTrackPublication(
        ToneTrack(440.0, amplitude=0.0), TrackSource.MICROPHONE, "microphone", sid="TR_mic"
    )

    def publish() -> None:
        call.session.microphone = microphone
        call.session.room.local_participant.track_publications[microphone.sid] = microphone

    call.on_core(publish)
    button = call.page.controls.microphone
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    wait_until(lambda: call.session.microphone_on and button.isChecked(), "the microphone on")
    # Our own quick off-and-on is not taken for a mute from outside.
    call.model.set_microphone(False)
    call.model.set_microphone(True)
    wait_until(lambda: call.session.microphone_on and button.isChecked(), "on after off-on")
    QTest.qWait(300)  # whatever follows the "muted" our own "off" caused...
    assert call.session.microphone_on and button.isChecked()  # ...leaves it on

    call.on_core(lambda: spawn(call.session.room.on_mute(microphone.sid, True), "mute"))
    wait_until(lambda: not button.isChecked(), "the button off")
    assert button.accessibleDescription() == "off"
    assert not call.model.microphone_on and not call.session.microphone_on
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)  # one click turns it back on
    wait_until(lambda: call.session.microphone_on, "the microphone on again")


def test_the_recording_badge_stays_while_recording(call: Call) -> None:
    badge = call.page.stage.recording
    call.emit(RecordingChanged(True, "screen_recording"))
    wait_until(lambda: badge.isVisible(), "the badge")
    assert badge.accessibleName() == "This meeting is being recorded"
    assert call.page.stage.rect().contains(badge.geometry())
    assert badge.height() < 40, "small"
    QTest.qWait(300)
    assert badge.isVisible(), "persistent"
    call.emit(RecordingChanged(False))
    wait_until(lambda: badge.isHidden(), "the badge to go")
    assert call.page.stage.toast.text() == "The meeting is no longer recorded"
    call.emit(RecordingChanged(True, "transcript"))
    wait_until(lambda: badge.isVisible(), "the badge again")
    assert badge.accessibleName() == "This meeting is being transcribed"


# --- captions ------------------------------------------------------------------------------


def test_captions_are_asked_for_once(call: Call) -> None:
    button = call.page.controls.captions
    assert not button.isChecked()
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    wait_until(lambda: call.asked == [("captions",)], "captions asked for")
    assert button.isChecked() and call.page.stage.captions.isVisible()
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    QTest.qWait(100)
    assert call.asked == [("captions",)]
    assert button.isChecked() and call.settings.captions_on


def test_captions_unavailable_on_this_server(call: Call) -> None:
    async def disabled() -> bool:
        call.asked.append(("captions",))
        raise VisioError(VisioError.CAPTIONS_DISABLED, "no captions", status=404)

    call.session.start_captions = disabled  # type: ignore[method-assign]
    button, banner = call.page.controls.captions, call.page.stage.banner
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    wait_until(lambda: banner.isVisible(), "the message")
    assert banner.text() == "Captions are not available on this server."
    assert not button.isChecked() and call.page.stage.captions.isHidden()
    assert not call.settings.captions_on
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)  # the server is not asked again
    QTest.qWait(100)
    assert call.asked == [("captions",)]
    assert not button.isChecked() and call.page.stage.captions.isHidden()


def test_captions_that_failed_otherwise_can_be_asked_again(call: Call) -> None:
    async def failing() -> bool:
        call.asked.append(("captions",))
        raise VisioError(VisioError.UNREACHABLE, "down")

    call.session.start_captions = failing  # type: ignore[method-assign]
    button, banner = call.page.controls.captions, call.page.stage.banner
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    wait_until(lambda: banner.isVisible(), "the message")
    assert banner.text() == "Captions could not be started. Try again."
    assert not button.isChecked()
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    wait_until(lambda: len(call.asked) == 2, "asked again")


def test_visio_shows_the_meetings_captions_when_they_come(app: QApplication) -> None:
    """'Show captions when joining' never asks the server by itself (each request adds
    a transcription agent for everyone): captions show once someone started them."""
    call = build_call(Settings(captions_on=True), visio=True)
    try:
        button, overlay = call.page.controls.captions, call.page.stage.captions
        wait_until(lambda: not button.isChecked(), "captions waiting for the meeting's")
        assert overlay.isHidden() and call.settings.captions_on
        segment = CaptionSegment("s1", "Bonjour", True, "agent", "Agnès", "TR_a")
        call.emit(CaptionUpdated(segment))
        wait_until(lambda: button.isChecked() and overlay.isVisible(), "the captions shown")
        assert "Bonjour" in overlay.displayed_text()
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        QTest.qWait(100)
        assert call.asked == [], "captions already come: nothing to ask"
    finally:
        close(call)


# --- hands ---------------------------------------------------------------------------------


def test_a_hand_the_server_refused_is_put_back(call: Call) -> None:
    async def refused(raised: bool) -> None:
        raise VisioError(VisioError.NOT_CONNECTED, "not in the meeting", status=404)

    call.session.set_hand_raised = refused  # type: ignore[method-assign]
    button, banner = call.page.controls.hand, call.page.stage.banner
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    wait_until(lambda: banner.isVisible(), "the message")
    assert banner.text() == "Your hand could not be raised. Try again."
    assert not button.isChecked() and not call.model.hand_raised
    assert button.accessibleDescription() == "off"


# --- what it looks like --------------------------------------------------------------------


def test_screenshot_of_the_notices(call: Call) -> None:
    style = resource_path("styles", "app.qss").read_text(encoding="utf-8")
    call.page.setStyleSheet(style)
    call.emit(ParticipantsWaiting((MARIE,)))
    call.emit(RecordingChanged(True, "screen_recording"))
    call.emit(MutedBy("Albert Einstein"))
    stage = call.page.stage
    wait_until(
        lambda: (
            stage.waiting.isVisible() and stage.recording.isVisible() and stage.toast.isVisible()
        ),
        "the three notices",
    )
    QTest.qWait(50)
    for one, other in (
        (stage.recording, stage.waiting),
        (stage.recording, stage.toast),
        (stage.toast, stage.waiting),
    ):
        assert not one.geometry().intersects(other.geometry()), (one, other)
    call.page.grab().save("/tmp/notices.png")
    assert Path("/tmp/notices.png").stat().st_size > 0
    call.emit(ParticipantsWaiting((MARIE, ALBERT, WaitingParticipant("g3", "Ada Lovelace"))))
    wait_until(lambda: len(stage.waiting.rows) == 3, "three guests")
    stage.banner.say("Connection lost — reconnecting…")
    QTest.qWait(50)
    assert stage.waiting.geometry().top() >= stage.banner.geometry().bottom()
    call.page.grab().save("/tmp/notices-several.png")
