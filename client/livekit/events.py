"""Events the room emits, and the small emitter that delivers them.

Events are immutable values; observers (the UI's view-models, the headless command,
the tests) register a callback per event type.  Callbacks run on the asyncio loop
that runs the room, in emission order.
"""

from __future__ import annotations

import enum
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from client.livekit.errors import ConnectError
    from client.livekit.participant import (
        LocalTrackPublication,
        Participant,
        RemoteParticipant,
        RemoteTrackPublication,
    )
    from client.livekit.remote_track import RemoteTrack

log = logging.getLogger(__name__)


class ConnectionState(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"


class ConnectionQuality(enum.Enum):
    UNKNOWN = "unknown"
    LOST = "lost"
    POOR = "poor"
    GOOD = "good"
    EXCELLENT = "excellent"


class Event:
    """Base of every room event."""


@dataclass(frozen=True)
class ConnectionStateChanged(Event):
    state: ConnectionState


@dataclass(frozen=True)
class Connected(Event):
    room_name: str
    local_identity: str


@dataclass(frozen=True)
class Reconnecting(Event):
    reason: str
    attempt: int


@dataclass(frozen=True)
class Reconnected(Event):
    attempts: int


@dataclass(frozen=True)
class Disconnected(Event):
    reason: str
    error: ConnectError | None = None


@dataclass(frozen=True)
class ParticipantConnected(Event):
    participant: RemoteParticipant


@dataclass(frozen=True)
class ParticipantDisconnected(Event):
    participant: RemoteParticipant


@dataclass(frozen=True)
class ParticipantUpdated(Event):
    """Name, metadata or attributes changed; ``changed`` names which."""

    participant: Participant
    changed: frozenset[str]


@dataclass(frozen=True)
class TrackPublished(Event):
    participant: RemoteParticipant
    publication: RemoteTrackPublication


@dataclass(frozen=True)
class TrackUnpublished(Event):
    participant: RemoteParticipant
    publication: RemoteTrackPublication


@dataclass(frozen=True)
class TrackSubscribed(Event):
    participant: RemoteParticipant
    publication: RemoteTrackPublication
    track: RemoteTrack


@dataclass(frozen=True)
class TrackUnsubscribed(Event):
    participant: RemoteParticipant
    publication: RemoteTrackPublication
    track: RemoteTrack


@dataclass(frozen=True)
class TrackMuted(Event):
    participant: Participant
    sid: str


@dataclass(frozen=True)
class TrackUnmuted(Event):
    participant: Participant
    sid: str


@dataclass(frozen=True)
class LocalTrackPublished(Event):
    publication: LocalTrackPublication


@dataclass(frozen=True)
class LocalTrackUnpublished(Event):
    publication: LocalTrackPublication


@dataclass(frozen=True)
class ActiveSpeakersChanged(Event):
    speakers: tuple[Participant, ...]


@dataclass(frozen=True)
class ConnectionQualityChanged(Event):
    participant: Participant
    quality: ConnectionQuality


@dataclass(frozen=True)
class RequestRefused(Event):
    """The server refused a request: ``request`` names it (``update_metadata`` for our
    attributes, ``mute``, ``add_track``…), ``reason`` is the server's code."""

    request: str
    reason: str
    message: str = ""


@dataclass(frozen=True)
class RoomMetadataChanged(Event):
    metadata: str


@dataclass(frozen=True)
class DataReceived(Event):
    """A user packet.  ``participant`` is None when the server itself sent it."""

    payload: bytes
    topic: str
    participant: RemoteParticipant | None
    reliable: bool
    sender_identity: str = ""


@dataclass(frozen=True)
class TextStreamUpdated(Event):
    """A text stream grew (``done`` False) or ended (``done`` True).

    ``text`` is everything received so far, so observers never concatenate.
    """

    stream_id: str
    topic: str
    text: str
    attributes: dict[str, str]
    sender_identity: str
    participant: RemoteParticipant | None
    done: bool
    timestamp_ms: int = 0
    interrupted: bool = False


@dataclass(frozen=True)
class TranscriptionSegmentData:
    id: str
    text: str
    final: bool
    start_time: int = 0
    end_time: int = 0
    language: str = ""


@dataclass(frozen=True)
class TranscriptionReceived(Event):
    """A legacy ``Transcription`` data packet."""

    participant_identity: str
    track_sid: str
    segments: tuple[TranscriptionSegmentData, ...]
    sender_identity: str


@dataclass(frozen=True)
class ChatPacketReceived(Event):
    """A legacy ``ChatMessage`` data packet (not the lk.chat text stream)."""

    id: str
    timestamp_ms: int
    message: str
    participant: RemoteParticipant | None
    sender_identity: str
    deleted: bool = False


E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]


@dataclass
class EventEmitter:
    """Synchronous fan-out of events to typed callbacks."""

    _handlers: dict[type[Event], list[Handler]] = field(default_factory=lambda: defaultdict(list))
    _any: list[Handler] = field(default_factory=list)

    def on(self, kind: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call ``handler`` for each event of type ``kind``; returns an unsubscriber."""
        self._handlers[kind].append(handler)

        def off() -> None:
            if handler in self._handlers[kind]:
                self._handlers[kind].remove(handler)

        return off

    def on_any(self, handler: Callable[[Event], None]) -> Callable[[], None]:
        self._any.append(handler)

        def off() -> None:
            if handler in self._any:
                self._any.remove(handler)

        return off

    def emit(self, event: Event) -> None:
        for handler in (*self._handlers.get(type(event), ()), *self._any):
            try:
                handler(event)
            except Exception:
                # A faulty observer must not break the room for everybody else.
                log.exception("event handler failed for %s", type(event).__name__)
