"""Access tokens for the sandbox server, minted with the official `livekit-api`.

The tests, the benchmark and the demo all mint through `mint_token`, so every
participant's grants are spelled out in one place.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from livekit import api

__all__ = ["TokenError", "mint_token"]


class TokenError(ValueError):
    """The token cannot be minted as asked."""


def mint_token(
    api_key: str,
    api_secret: str,
    *,
    identity: str,
    room: str,
    name: str | None = None,
    ttl_s: int = 3600,
    can_publish: bool = True,
    can_subscribe: bool = True,
    can_publish_data: bool = True,
    room_join: bool = True,
    room_admin: bool = False,
    can_update_own_metadata: bool = False,
    hidden: bool = False,
    agent: bool = False,
    metadata: str | None = None,
    attributes: Mapping[str, str] | None = None,
) -> str:
    """Return a signed access token that lets `identity` join `room`.

    `agent=True` sets the participant kind to "agent": the server only forwards
    transcription packets from agents.  A negative `ttl_s` gives an expired token.
    """
    if not api_key or not api_secret:
        raise TokenError("api_key and api_secret must be set")
    if room_join and (not identity or not room):
        raise TokenError("identity and room must be set when joining a room")
    token = (
        api.AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_ttl(datetime.timedelta(seconds=ttl_s))
        .with_grants(
            api.VideoGrants(
                room_join=room_join,
                room=room,
                room_admin=room_admin,
                can_publish=can_publish,
                can_subscribe=can_subscribe,
                can_publish_data=can_publish_data,
                can_update_own_metadata=can_update_own_metadata,
                hidden=hidden,
            )
        )
    )
    if name:
        token = token.with_name(name)
    if agent:
        token = token.with_kind("agent")
    if metadata:
        token = token.with_metadata(metadata)
    if attributes:
        token = token.with_attributes(dict(attributes))
    jwt: str = token.to_jwt()
    return jwt
