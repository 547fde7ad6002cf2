"""From a Visio link to a way in: straight in, the lobby, or sign in first.

The room is looked up with the display name (the token carries it).  What comes back
decides: a token → straight in; no token → the lobby, and when we are signed out of
a room kept for signed-in users (trusted) or members (restricted), signing in is
offered too.  With a saved sign-in that the server no longer knows, the room
answers as to a stranger: ``users/me`` tells an expired session apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from client.visio.api import LiveKitAccess, RoomInfo, VisioApi, VisioError
from client.visio.links import VisioLink

SIGNED_IN_LEVELS = frozenset({"trusted", "restricted"})


@dataclass(frozen=True)
class JoinRoute:
    link: VisioLink
    room: RoomInfo
    #: Set: join now.  None: ask in the lobby (``sign_in_offered``: or sign in).
    livekit: LiveKitAccess | None
    sign_in_offered: bool = False
    #: We were signed in, and the server has forgotten it.
    session_expired: bool = False

    @property
    def straight_in(self) -> bool:
        return self.livekit is not None


async def find_route(api: VisioApi, link: VisioLink, username: str) -> JoinRoute:
    """Look the room up; raises ``VisioError`` (``UNKNOWN_ROOM``, ``UNREACHABLE``...)."""
    room = await api.room(link.slug, username)
    if room.livekit is not None:
        return JoinRoute(link, room, room.livekit)
    expired = False
    if api.signed_in:
        try:
            await api.me()
        except VisioError as exc:
            if exc.kind != VisioError.SESSION_EXPIRED:
                raise
            expired = True  # the caller drops it (``VisioAccounts.who``)
    signed_out = expired or not api.signed_in
    offered = signed_out and room.access_level in SIGNED_IN_LEVELS
    return JoinRoute(link, room, None, sign_in_offered=offered, session_expired=expired)


def lobby_key(route: JoinRoute) -> str:
    """What the lobby is asked for: the room's id, or its slug if unregistered."""
    return route.room.id or route.link.slug
