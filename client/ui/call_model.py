"""The call as the window shows it: who is there, what each tile shows, the state.

A view-model in the Qt thread, built only from the core's events (through the
bridge) and sending commands back through it.  It holds plain values the widgets
read; it never touches the core's objects beyond reading an event's fields.

A failed command comes back as ``commandFailed(what)``; for a few, ``what`` says more
than the command's name, so that the page can word it: ``hand_raise`` /
``hand_lower`` (the hand is put back as it really is), ``captions_unavailable`` (the
server has no captions) or ``captions``, ``admit``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import av
from PySide6.QtCore import QObject, QTimer, Signal

from client.call_session import HAND_ATTRIBUTE, CallSession, LocalMediaChanged
from client.captions import CaptionUpdated
from client.chat import ChatMessageReceived
from client.livekit import events as ev
from client.livekit.participant import Participant, TrackSource
from client.media.screen_capture import ShareTarget
from client.notifications import ReactionReceived
from client.ui.bridge import CoreBridge
from client.ui.colors import participant_color
from client.ui.video_frames import FrameSlot, VideoConverter
from client.visio.api import VisioError, WaitingParticipant
from client.visio.meeting import MutedBy, ParticipantsWaiting, RecordingChanged

log = logging.getLogger(__name__)

#: How long a speaker stays highlighted after the server says they stopped.
SPEAKER_HOLD_S = 1.5
#: A video with no new frame for this long is shown as frozen.
FROZEN_AFTER_S = 2.0


def initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").replace("_", " ").split() if w]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[-1][0]).upper()


@dataclass
class ParticipantView:
    identity: str
    name: str
    is_local: bool = False
    color: str = ""
    microphone_muted: bool = True
    camera_on: bool = False
    screen_sharing: bool = False
    hand_raised_at: str = ""
    speaking: bool = False
    speaking_until: float = 0.0
    quality: ev.ConnectionQuality = ev.ConnectionQuality.UNKNOWN
    joined_at: float = field(default_factory=time.monotonic)
    camera_slot: FrameSlot | None = None
    screen_slot: FrameSlot | None = None
    camera_sid: str = ""
    screen_sid: str = ""

    @property
    def initials(self) -> str:
        return initials(self.name)

    @property
    def hand_raised(self) -> bool:
        return bool(self.hand_raised_at)

    def frozen(self, now: float) -> bool:
        slot = self.camera_slot
        if not self.camera_on or slot is None or slot.frames_in == 0:
            return False
        return now - slot.last_frame_at > FROZEN_AFTER_S


class CallViewModel(QObject):
    participantsChanged = Signal()
    participantChanged = Signal(str)
    stateChanged = Signal(str)
    localMediaChanged = Signal(bool, bool)
    chatMessage = Signal(object)
    captionUpdated = Signal(object)
    reaction = Signal(str, str)
    ended = Signal(str, bool)
    commandFailed = Signal(str)
    #: Our raised hand as it now is (after a failure put it back, or the server set it).
    handChanged = Signal(bool)
    #: The lobby's guests (a tuple of ``WaitingParticipant``; empty: nobody waits).
    waitingChanged = Signal(object)
    #: Someone (this name) turned our microphone off.
    mutedBy = Signal(str)
    #: (recording, mode): "transcript" when the meeting is transcribed.
    recordingChanged = Signal(bool, str)

    def __init__(
        self,
        bridge: CoreBridge,
        session: CallSession,
        converter: VideoConverter,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.session = session
        self.converter = converter
        self.participants: dict[str, ParticipantView] = {}
        self.state = ev.ConnectionState.DISCONNECTED
        self.camera_on = False
        self.microphone_on = False
        self.hand_raised = False
        self.room_name = ""
        self.waiting: tuple[WaitingParticipant, ...] = ()
        self.recording = False
        self.recording_mode = ""
        #: A caption arrived: the meeting has captions, whoever asked for them.
        self.captions_seen = False
        #: This server said it has no captions: asking again would not help.
        self.captions_unavailable = False
        self._captions_asked = False
        self._slots_by_sid: dict[str, FrameSlot] = {}
        bridge.coreEvent.connect(self._on_event)
        # What failed, not the exception's English text: the page words it for the user.
        bridge.commandFailed.connect(self._command_failed)
        self._hold = QTimer(self)
        self._hold.setInterval(250)
        self._hold.timeout.connect(self._expire_speakers)
        self._hold.start()

    # --- queries -------------------------------------------------------------------

    def ordered(self) -> list[ParticipantView]:
        """Tiles in a stable order: ourselves first, then by arrival."""
        return sorted(self.participants.values(), key=lambda p: (not p.is_local, p.joined_at))

    def hand_queue(self) -> list[ParticipantView]:
        raised = [p for p in self.participants.values() if p.hand_raised]
        return sorted(raised, key=lambda p: p.hand_raised_at)

    def color_of(self, identity: str) -> str:
        """The colour a speaker is shown in: their tile's, or one from the identity."""
        view = self.participants.get(identity)
        return view.color if view is not None and view.color else participant_color(identity)

    def screen_sharer(self) -> ParticipantView | None:
        for participant in self.ordered():
            if participant.screen_sharing and participant.screen_slot is not None:
                return participant
        return None

    # --- commands --------------------------------------------------------------------

    def toggle_microphone(self) -> None:
        self.set_microphone(not self.microphone_on)

    def set_microphone(self, on: bool) -> None:
        self.microphone_on = on
        self.localMediaChanged.emit(self.camera_on, self.microphone_on)
        self.bridge.fire("microphone", self.session.set_microphone_on(on))

    def toggle_camera(self) -> None:
        self.set_camera(not self.camera_on)

    def set_camera(self, on: bool) -> None:
        self.camera_on = on
        me = self.participants.get(self.session.room.local_participant.identity)
        if me is not None and me.camera_slot is not None:
            # The self view converts nothing while the camera is off.
            width, height = me.camera_slot.size
            me.camera_slot.configure(width, height, on)
        self.localMediaChanged.emit(self.camera_on, self.microphone_on)
        self.bridge.fire("camera", self.session.set_camera_on(on))

    def toggle_hand(self) -> None:
        self.hand_raised = not self.hand_raised
        self.bridge.fire("hand", self.session.set_hand_raised(self.hand_raised))

    @property
    def is_visio(self) -> bool:
        """A Visio meeting (its API does hands, captions and the lobby)."""
        return self.session.visio is not None

    def request_captions(self) -> None:
        """Captions were turned on: ask the server for them, once per call, unless
        they are already coming (someone else asked).  Outside Visio the session has
        nothing to ask and says so."""
        if self._captions_asked or self.captions_seen or self.captions_unavailable:
            return
        self._captions_asked = True
        self.bridge.fire("captions", self.session.start_captions())

    def admit(self, participant_id: str, allow: bool) -> None:
        """Let a waiting guest in (``allow``) or turn them away."""
        self.bridge.fire("admit", self.session.admit(participant_id, allow=allow))

    def send_chat(self, text: str) -> None:
        if text.strip():
            self.bridge.fire("chat", self.session.send_chat(text))

    def send_reaction(self, name: str) -> None:
        self.bridge.fire("reaction", self.session.send_reaction(name))

    def start_screen_share(self, target: ShareTarget) -> None:
        self.bridge.fire("screen", self.session.start_screen_share(target))

    def stop_screen_share(self) -> None:
        self.bridge.fire("screen", self.session.stop_screen_share())

    def set_video_visible(
        self, participant: ParticipantView, visible: bool, w: int, h: int
    ) -> None:
        """A tile was shown, hidden or resized: subscribe to what it shows, no more."""
        sid = participant.camera_sid
        slot = participant.camera_slot
        if slot is not None:
            slot.configure(w, h, visible)
        if sid and not participant.is_local and self.state == ev.ConnectionState.CONNECTED:
            self.bridge.fire(
                "track settings",
                self.session.room.set_track_settings(sid, enabled=visible, width=w, height=h),
            )

    # --- events ----------------------------------------------------------------------

    def _view(self, participant: Participant, *, local: bool = False) -> ParticipantView:
        view = self.participants.get(participant.identity)
        if view is None:
            view = ParticipantView(participant.identity, participant.display_name, is_local=local)
            self.participants[participant.identity] = view
        view.name = participant.display_name
        view.color = participant_color(
            participant.identity, participant.attributes.get("color", "")
        )
        view.hand_raised_at = participant.attributes.get(HAND_ATTRIBUTE, "")
        return view

    def _command_failed(self, what: str, exc: object) -> None:
        if what == "hand":
            asked = self.hand_raised
            self._restore_hand()
            self.commandFailed.emit("hand_raise" if asked else "hand_lower")
        elif what == "captions":
            self._captions_asked = False  # the next "on" tries again
            if isinstance(exc, VisioError) and exc.kind == VisioError.CAPTIONS_DISABLED:
                self.captions_unavailable = True
                self.commandFailed.emit("captions_unavailable")
            else:
                self.commandFailed.emit("captions")
        else:
            self.commandFailed.emit(what)

    def _restore_hand(self) -> None:
        """Our hand as the room shows it: what was asked did not happen."""
        me = self.participants.get(self.session.room.local_participant.identity)
        self.hand_raised = me.hand_raised if me is not None else False
        self.handChanged.emit(self.hand_raised)

    def _on_event(self, event: ev.Event) -> None:
        try:
            self._apply(event)
        except Exception:
            log.exception("the call view failed on %s", type(event).__name__)

    def _apply(self, event: ev.Event) -> None:
        match event:
            case ev.ConnectionStateChanged(state=state):
                self.state = state
                self.stateChanged.emit(state.value)
            case ev.Connected(room_name=name):
                self.room_name = name
                local = self._view(self.session.room.local_participant, local=True)
                self._attach_local_preview(local)
                self.participantsChanged.emit()
            case ev.Disconnected(reason=reason, error=error):
                self.ended.emit(reason, error is not None)
            case ev.ParticipantConnected(participant=p):
                self._view(p)
                self.participantsChanged.emit()
            case ev.ParticipantDisconnected(participant=p):
                view = self.participants.pop(p.identity, None)
                if view is not None:
                    for slot in (view.camera_slot, view.screen_slot):
                        if slot is not None:
                            self.converter.remove(slot)
                self.participantsChanged.emit()
            case ev.ParticipantUpdated(participant=p):
                if p.identity in self.participants:
                    self._view(p, local=self.participants[p.identity].is_local)
                    self.participantChanged.emit(p.identity)
                    if self.participants[p.identity].is_local:
                        raised = self.participants[p.identity].hand_raised
                        if raised != self.hand_raised:
                            self.hand_raised = raised
                            self.handChanged.emit(raised)
            case ev.TrackPublished(participant=p, publication=pub):
                view = self._view(p)
                if pub.source == TrackSource.MICROPHONE:
                    view.microphone_muted = pub.muted
                self.participantChanged.emit(p.identity)
            case ev.TrackSubscribed(participant=p, publication=pub, track=track):
                view = self._view(p)
                if pub.kind == "video":
                    slot = FrameSlot()
                    self.converter.add(slot)
                    self._slots_by_sid[pub.sid] = slot
                    self.bridge.call(lambda: track.add_sink(slot.put))
                    if pub.source == TrackSource.SCREEN_SHARE:
                        view.screen_slot, view.screen_sid, view.screen_sharing = slot, pub.sid, True
                        self.participantsChanged.emit()
                    else:
                        view.camera_slot, view.camera_sid = slot, pub.sid
                        view.camera_on = not pub.muted
                elif pub.source == TrackSource.MICROPHONE:
                    view.microphone_muted = pub.muted
                self.participantChanged.emit(p.identity)
            case (
                ev.TrackUnsubscribed(participant=p, publication=pub)
                | ev.TrackUnpublished(participant=p, publication=pub)
            ):
                self._drop_track(p.identity, pub.sid, pub.source)
            case ev.TrackMuted(participant=p, sid=sid) | ev.TrackUnmuted(participant=p, sid=sid):
                self._muted(p, sid, isinstance(event, ev.TrackMuted))
            case ev.ActiveSpeakersChanged(speakers=speakers):
                now = time.monotonic()
                active = {s.identity for s in speakers}
                for view in self.participants.values():
                    if view.identity in active:
                        view.speaking_until = now + SPEAKER_HOLD_S
                        if not view.speaking:
                            view.speaking = True
                            self.participantChanged.emit(view.identity)
            case ev.ConnectionQualityChanged(participant=p, quality=quality):
                view = self.participants.get(p.identity)
                if view is not None:
                    view.quality = quality
                    self.participantChanged.emit(p.identity)
            case LocalMediaChanged(camera_on=camera, microphone_on=microphone):
                self.camera_on, self.microphone_on = camera, microphone
                me = self.participants.get(self.session.room.local_participant.identity)
                if me is not None:
                    me.camera_on, me.microphone_muted = camera, not microphone
                    self.participantChanged.emit(me.identity)
                self.localMediaChanged.emit(camera, microphone)
            case ChatMessageReceived(message=message):
                self.chatMessage.emit(message)
            case CaptionUpdated(segment=segment):
                self.captions_seen = True
                self.captionUpdated.emit(segment)
            case ev.RequestRefused(request="update_metadata"):
                # Raising a hand sets our attribute: this server does not allow it.
                self._restore_hand()
                self.commandFailed.emit("hand")
            case ParticipantsWaiting(participants=guests):
                self.waiting = guests
                self.waitingChanged.emit(guests)
            case MutedBy(name=name):
                self.mutedBy.emit(name)
            case RecordingChanged(recording=recording, mode=mode):
                self.recording, self.recording_mode = recording, mode
                self.recordingChanged.emit(recording, mode)
            case ReactionReceived(sender_identity=identity, emoji=emoji):
                self.reaction.emit(identity, emoji)

    def _attach_local_preview(self, local: ParticipantView) -> None:
        if local.camera_slot is not None:
            return
        slot = FrameSlot()
        self.converter.add(slot)
        local.camera_slot = slot
        feed = self.session.camera_feed
        frames = 0

        def every_other(frame: av.VideoFrame | av.AudioFrame) -> None:
            # The self view at half the camera's rate: enough to see oneself, and
            # half the conversions and paints of the busiest tile.
            nonlocal frames
            frames += 1
            if frames % 2:
                slot.put(frame)

        self.bridge.call(lambda: feed.add_observer(every_other))

    def _drop_track(self, identity: str, sid: str, source: TrackSource) -> None:
        view = self.participants.get(identity)
        slot = self._slots_by_sid.pop(sid, None)
        if slot is not None:
            self.converter.remove(slot)
        if view is None:
            return
        if view.screen_sid == sid:
            view.screen_slot, view.screen_sid, view.screen_sharing = None, "", False
            self.participantsChanged.emit()
        if view.camera_sid == sid:
            view.camera_slot, view.camera_sid, view.camera_on = None, "", False
        self.participantChanged.emit(identity)

    def _muted(self, participant: Participant, sid: str, muted: bool) -> None:
        view = self.participants.get(participant.identity)
        if view is None:
            return
        if view.is_local:
            if muted and self.microphone_on:
                # Not our doing (we think it is on): the server muted us, a host did.
                self.bridge.fire("microphone", self.session.follow_microphone_mute(sid))
            return
        if sid == view.camera_sid:
            view.camera_on = not muted
        else:
            publications = getattr(participant, "track_publications", {})
            publication = publications.get(sid)
            if publication is not None and publication.source == TrackSource.MICROPHONE:
                view.microphone_muted = muted
        self.participantChanged.emit(participant.identity)

    def _expire_speakers(self) -> None:
        now = time.monotonic()
        for view in self.participants.values():
            if view.speaking and now > view.speaking_until:
                view.speaking = False
                self.participantChanged.emit(view.identity)
