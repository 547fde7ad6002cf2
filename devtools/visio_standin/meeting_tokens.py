"""LiveKit access tokens as Visio mints them, and checking the ones clients send back.

A Visio token lets its holder join one room (named by the room's UUID) for 6 hours
and publish the room's allowed sources; only owners and administrators get
``roomAdmin``; nobody may change their own metadata (the backend changes names and
raised hands on their behalf).  Three attributes travel with it: the participant's
colour, their role in the room ("" for none) and whether they are signed in.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Sequence

from livekit import api
from livekit.api.access_token import Claims

__all__ = [
    "DEFAULT_SOURCES",
    "TOKEN_TTL",
    "TokenRejected",
    "mint_meeting_token",
    "participant_color",
    "verify_meeting_token",
]

TOKEN_TTL = datetime.timedelta(hours=6)
DEFAULT_SOURCES = ("camera", "microphone", "screen_share", "screen_share_audio")


class TokenRejected(ValueError):
    """A bearer token that is not a valid token of this server's LiveKit keys."""


def participant_color(identity: str) -> str:
    """A stable colour per identity, as ``hsl(h, s%, l%)``.

    Saturation and lightness stay in a band where white text on the colour reads well
    and two people rarely look alike.
    """
    digest = hashlib.sha256(identity.encode()).digest()
    hue = int.from_bytes(digest[0:2], "big") % 361
    saturation = 50 + digest[2] % 26
    lightness = 25 + digest[3] % 36
    return f"hsl({hue}, {saturation}%, {lightness}%)"


def mint_meeting_token(
    api_key: str,
    api_secret: str,
    *,
    room: str,
    identity: str,
    name: str,
    color: str,
    role: str | None,
    authenticated: bool,
    sources: Sequence[str] | None = None,
) -> str:
    is_host = role in ("owner", "administrator")
    # Hosts may always publish everything; a room's configuration only narrows guests.
    allowed = list(DEFAULT_SOURCES if is_host or sources is None else sources)
    grants = api.VideoGrants(
        room=room,
        room_join=True,
        room_admin=is_host,
        can_update_own_metadata=False,
        can_publish=bool(allowed),
        can_publish_sources=allowed,
        can_subscribe=True,
        can_publish_data=True,
    )
    token = (
        api.AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_ttl(TOKEN_TTL)
        .with_grants(grants)
        .with_attributes(
            {
                "color": color,
                "room_role": role or "",
                "is_authenticated": "true" if authenticated else "false",
            }
        )
    )
    jwt: str = token.to_jwt()
    return jwt


def verify_meeting_token(api_key: str, api_secret: str, token: str) -> Claims:
    """The token's claims, if this server signed it and it has not expired."""
    try:
        claims: Claims = api.TokenVerifier(api_key, api_secret).verify(token)
    except Exception as exc:  # PyJWT raises a family of errors; any of them is a refusal
        raise TokenRejected(str(exc) or type(exc).__name__) from None
    if not claims.identity:
        raise TokenRejected("Token missing user identity")
    return claims
