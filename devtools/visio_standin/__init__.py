"""A stand-in for Visio's backend (La Suite Meet's Django API), for tests and the demo.

It serves what Visio's clients call under ``/api/v1.0/`` with the same status codes,
JSON bodies, cookies and CSRF rules as the real server (version 1.27), in front of a
real livekit-server: meeting tokens signed with that server's keys, the lobby with its
expiry times, hosts admitting guests, raised hands and renames through the LiveKit
server API, caption agents dispatched through LiveKit's agent dispatch, and a sign-in
form in place of the identity provider.  ``docs/visio_standin.md`` lists what it serves.

Developer tool only: the application never imports it.
"""

from devtools.visio_standin.directory import AccessLevel, Role, StandInRoom, StandInUser
from devtools.visio_standin.lobby import LobbyEntry, LobbyStatus
from devtools.visio_standin.server import LiveKitServerLike, VisioStandIn

__all__ = [
    "AccessLevel",
    "LiveKitServerLike",
    "LobbyEntry",
    "LobbyStatus",
    "Role",
    "StandInRoom",
    "StandInUser",
    "VisioStandIn",
]
