"""A Visio meeting in progress: what the web app does beside the LiveKit room.

- Raising a hand goes through the API (``toggle-hand``, Bearer = our LiveKit token):
  Visio's tokens forbid setting our own attributes, the backend sets ``handRaisedAt``.
- Captions are started once per meeting (``start-subtitle`` adds an agent per call).
- Hosts hear of a guest waiting by ``{"type": "participantWaiting"}`` from the
  server; they then read the waiting list and admit or deny.  The list is read
  again every few seconds while it is not empty: a guest who gives up simply
  stops polling, and the server drops them.
- ``{"type": "participantMuted"}`` (sent to us only) says who muted us.
- The room's metadata carries ``recording_status``: a recording notice.

The current LiveKit token is read from the room at each call: the server refreshes it
during the meeting, and a 6-hour meeting must not fail on a stale token.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from dataclasses import dataclass

from client.chat import decode_json
from client.livekit import events as ev
from client.livekit.room import Room
from client.livekit.tasks import spawn
from client.visio.api import RoomInfo, VisioApi, VisioError, WaitingParticipant

log = logging.getLogger(__name__)

WAITING_TYPE = "participantWaiting"
MUTED_TYPE = "participantMuted"
HOST_ROLES = frozenset({"owner", "administrator"})
#: While someone waits, the list is read again this often (guests who leave vanish).
WAITING_REFRESH_S = 3.0
#: A host also reads it this often when nobody is known to wait: a notice sent while
#: our data channel was still opening (just after joining, after a reconnection) is
#: lost for us, and the guest would wait for nothing.
HOST_SAFETY_POLL_S = 15.0
#: Recording states of the room metadata that mean "being recorded now".
RECORDING_ACTIVE = frozenset({"started", "starting", "active", "recording"})


@dataclass(frozen=True)
class ParticipantsWaiting(ev.Event):
    """The lobby's guests, for a host (empty: nobody waits any more)."""

    participants: tuple[WaitingParticipant, ...]


@dataclass(frozen=True)
class MutedBy(ev.Event):
    """Someone turned our microphone off."""

    name: str


@dataclass(frozen=True)
class RecordingChanged(ev.Event):
    recording: bool
    mode: str = ""


@dataclass(frozen=True)
class CaptionsStarted(ev.Event):
    """The transcription agent was asked for; captions will come from it."""


def token_claims(token: str) -> dict[str, object]:
    """The claims of a LiveKit token, read without checking the signature: only to
    learn what the server granted us (it checks the signature itself)."""
    try:
        payload = token.split(".")[1]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(decoded)
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def is_host_token(token: str) -> bool:
    claims = token_claims(token)
    video = claims.get("video")
    if isinstance(video, dict) and video.get("roomAdmin") is True:
        return True
    attributes = claims.get("attributes")
    return isinstance(attributes, dict) and attributes.get("room_role") in HOST_ROLES


def recording_state(metadata: str) -> tuple[bool, str]:
    """(recording now, mode) from the room's metadata JSON."""
    try:
        value = json.loads(metadata) if metadata else {}
    except ValueError:
        return False, ""
    if not isinstance(value, dict):
        return False, ""
    status = value.get("recording_status")
    mode = value.get("recording_mode")
    return (
        isinstance(status, str) and status.lower() in RECORDING_ACTIVE,
        mode if isinstance(mode, str) else "",
    )


class VisioMeeting:
    def __init__(self, api: VisioApi, room_info: RoomInfo, room: Room) -> None:
        self.api = api
        self.info = room_info
        self.room = room
        self.events = room.events
        self.waiting: tuple[WaitingParticipant, ...] = ()
        self.recording = False
        self._captions_started = False
        self._captions_lock = asyncio.Lock()
        self._refresher: asyncio.Task[None] | None = None
        self._safety: asyncio.Task[None] | None = None
        #: Waiting lists read because the server said someone waits (``participantWaiting``).
        self.notices_acted_on = 0
        self._offs = [
            room.events.on(ev.DataReceived, self._on_data),
            room.events.on(ev.RoomMetadataChanged, self._on_metadata),
            room.events.on(ev.Connected, self._on_connected),
        ]

    def close(self) -> None:
        for off in self._offs:
            off()
        self._offs = []
        for task in (self._refresher, self._safety):
            if task is not None:
                task.cancel()
        self._refresher = self._safety = None

    @property
    def room_id(self) -> str:
        """The Visio room's id; an unregistered room is known by its LiveKit name."""
        return self.info.id or self.room.name

    @property
    def is_host(self) -> bool:
        return is_host_token(self.room.token)

    # --- commands ----------------------------------------------------------------------

    async def set_hand_raised(self, raised: bool) -> None:
        await self.api.toggle_hand(self.room_id, raised=raised, token=self.room.token)

    async def rename(self, name: str) -> None:
        await self.api.rename(self.room_id, name, token=self.room.token)

    async def start_captions(self) -> bool:
        """Ask for the transcription agent, once per meeting; False if already asked.
        Raises ``VisioError`` (``CAPTIONS_DISABLED`` when the server has none)."""
        async with self._captions_lock:
            if self._captions_started:
                return False
            await self.api.start_subtitle(self.room.name, token=self.room.token)
            self._captions_started = True
        self.events.emit(CaptionsStarted())
        return True

    async def admit(self, participant_id: str, *, allow: bool) -> None:
        try:
            await self.api.enter(self.room_id, participant_id, allow=allow)
        except VisioError as exc:
            if exc.kind != VisioError.NOT_FOUND:
                raise
            log.info("the guest stopped waiting before the answer")
        await self.refresh_waiting()

    async def refresh_waiting(self) -> None:
        if not self.is_host or self.info.id is None:
            return
        try:
            waiting = tuple(await self.api.waiting_participants(self.info.id))
        except VisioError as exc:
            log.warning("cannot read the waiting list: %s", exc)
            return
        if waiting != self.waiting:
            self.waiting = waiting
            self.events.emit(ParticipantsWaiting(waiting))
        if waiting and (self._refresher is None or self._refresher.done()):
            self._refresher = spawn(self._keep_refreshing(), "visio-waiting")

    async def _safety_poll(self) -> None:
        while True:
            await asyncio.sleep(HOST_SAFETY_POLL_S)
            if not self.waiting:
                await self.refresh_waiting()

    async def _keep_refreshing(self) -> None:
        while self.waiting:
            await asyncio.sleep(WAITING_REFRESH_S)
            await self.refresh_waiting()

    # --- what the room tells us ----------------------------------------------------------

    def _on_connected(self, _event: ev.Connected) -> None:
        self._on_metadata(ev.RoomMetadataChanged(self.room.metadata))
        if self.is_host:
            # Guests may have been waiting before we arrived.
            spawn(self.refresh_waiting(), "visio-waiting")
            if self._safety is None and self.info.id is not None:
                self._safety = spawn(self._safety_poll(), "visio-waiting-safety")

    def _on_data(self, event: ev.DataReceived) -> None:
        if event.topic:
            return
        body = decode_json(event.payload)
        kind = body.get("type") if body is not None else None
        if kind == WAITING_TYPE and self.is_host:
            self.notices_acted_on += 1
            spawn(self.refresh_waiting(), "visio-waiting")
        elif kind == MUTED_TYPE and event.participant is not None:
            participant = event.participant
            self.events.emit(MutedBy(participant.name or participant.identity))

    def _on_metadata(self, event: ev.RoomMetadataChanged) -> None:
        recording, mode = recording_state(event.metadata)
        if recording != self.recording:
            self.recording = recording
            self.events.emit(RecordingChanged(recording, mode))
