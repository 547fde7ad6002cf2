"""Headless LiveKit client core: signaling, WebRTC engine and room model (no Qt).

Everything a caller needs is exported here: the room and its options, the events
it emits, the errors it raises, and the participant and track types it holds.
"""

from client.livekit import events
from client.livekit.errors import (
    CertificateError,
    ConnectError,
    DisconnectedError,
    InsecureTransportError,
    InvalidUrlError,
    JoinTimeoutError,
    MediaConnectionError,
    NotConnectedError,
    PermissionDeniedError,
    ProxyError,
    PublishError,
    RoomFullError,
    ServerUnreachableError,
    SessionClosedError,
    TokenExpiredError,
    TokenInvalidError,
    UdpBlockedError,
)
from client.livekit.events import ConnectionQuality, ConnectionState, Event, EventEmitter
from client.livekit.participant import (
    LocalParticipant,
    LocalTrackPublication,
    Participant,
    RemoteParticipant,
    RemoteTrackPublication,
    TrackSource,
)
from client.livekit.reconnect_policy import ReconnectPolicy
from client.livekit.remote_track import FrameSink, RemoteTrack
from client.livekit.room import Room, RoomOptions

__all__ = [
    "CertificateError",
    "ConnectError",
    "ConnectionQuality",
    "ConnectionState",
    "DisconnectedError",
    "Event",
    "EventEmitter",
    "FrameSink",
    "InsecureTransportError",
    "InvalidUrlError",
    "JoinTimeoutError",
    "LocalParticipant",
    "LocalTrackPublication",
    "MediaConnectionError",
    "NotConnectedError",
    "Participant",
    "PermissionDeniedError",
    "ProxyError",
    "PublishError",
    "ReconnectPolicy",
    "RemoteParticipant",
    "RemoteTrack",
    "RemoteTrackPublication",
    "Room",
    "RoomFullError",
    "RoomOptions",
    "ServerUnreachableError",
    "SessionClosedError",
    "TokenExpiredError",
    "TokenInvalidError",
    "TrackSource",
    "UdpBlockedError",
    "events",
]
