"""Server signaling messages turned into typed calls, in one place.

The engine handles what concerns its PeerConnections (descriptions, candidates,
publication answers); the room handles what concerns the meeting (participants,
speakers, quality, tokens, mutes, leave).  ``route_signal`` is the only switch on
the raw protobuf ``oneof``; neither side inspects message kinds itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from livekit.protocol import models, rtc

log = logging.getLogger(__name__)


class TransportSignals(Protocol):
    """Messages for the WebRTC engine."""

    async def on_offer(self, offer: rtc.SessionDescription) -> None: ...

    async def on_answer(self, answer: rtc.SessionDescription) -> None: ...

    async def on_trickle(self, trickle: rtc.TrickleRequest) -> None: ...

    def on_track_published(self, response: rtc.TrackPublishedResponse) -> None: ...

    def on_request_response(self, response: rtc.RequestResponse) -> None: ...


class RoomSignals(Protocol):
    """Messages for the room model."""

    def on_participant_update(self, participants: Sequence[models.ParticipantInfo]) -> None: ...

    def on_speakers_changed(self, speakers: Sequence[models.SpeakerInfo]) -> None: ...

    def on_connection_quality(self, updates: Sequence[rtc.ConnectionQualityInfo]) -> None: ...

    def on_room_update(self, room: models.Room) -> None: ...

    def on_refresh_token(self, token: str) -> None: ...

    def on_track_unpublished(self, track_sid: str) -> None: ...

    async def on_mute(self, track_sid: str, muted: bool) -> None: ...

    async def on_leave(self, leave: rtc.LeaveRequest) -> None: ...

    def on_room_moved(self, moved: rtc.RoomMovedResponse) -> None: ...

    def on_subscribed_quality(self, update: rtc.SubscribedQualityUpdate) -> None: ...


async def route_signal(
    response: rtc.SignalResponse, transport: TransportSignals, room: RoomSignals
) -> None:
    """Deliver one server message to whichever side it concerns."""
    kind = response.WhichOneof("message")
    match kind:
        case "offer":
            await transport.on_offer(response.offer)
        case "answer":
            await transport.on_answer(response.answer)
        case "trickle":
            await transport.on_trickle(response.trickle)
        case "track_published":
            transport.on_track_published(response.track_published)
        case "request_response":
            transport.on_request_response(response.request_response)
        case "update":
            room.on_participant_update(response.update.participants)
        case "speakers_changed":
            room.on_speakers_changed(response.speakers_changed.speakers)
        case "connection_quality":
            room.on_connection_quality(response.connection_quality.updates)
        case "room_update":
            room.on_room_update(response.room_update.room)
        case "refresh_token":
            room.on_refresh_token(response.refresh_token)
        case "track_unpublished":
            room.on_track_unpublished(response.track_unpublished.track_sid)
        case "mute":
            await room.on_mute(response.mute.sid, response.mute.muted)
        case "leave":
            await room.on_leave(response.leave)
        case "room_moved":
            room.on_room_moved(response.room_moved)
        case "subscribed_quality_update":
            room.on_subscribed_quality(response.subscribed_quality_update)
        case _:
            log.debug("ignoring signaling message %s", kind)
