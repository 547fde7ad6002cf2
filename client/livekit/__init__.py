"""Headless LiveKit client core: signaling, WebRTC engine and room model (no Qt)."""

from client.livekit.errors import (
    ConnectError,
    InvalidUrlError,
    JoinTimeoutError,
    PermissionDeniedError,
    ServerUnreachableError,
    TokenExpiredError,
    TokenInvalidError,
)
from client.livekit.room import Room, RoomOptions

__all__ = [
    "ConnectError",
    "InvalidUrlError",
    "JoinTimeoutError",
    "PermissionDeniedError",
    "Room",
    "RoomOptions",
    "ServerUnreachableError",
    "TokenExpiredError",
    "TokenInvalidError",
]
