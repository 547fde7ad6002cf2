"""Tokens minted for the sandbox carry the grants asked for."""

from __future__ import annotations

import pytest
from livekit import api

from devtools.sandbox.tokens import TokenError, mint_token

KEY = "visio-test-key"
SECRET = "visio-test-secret-db11a8e40da66793fd47d9"


def _claims(token: str) -> api.access_token.Claims:
    return api.TokenVerifier(KEY, SECRET).verify(token)


def test_grants_name_kind_and_attributes() -> None:
    token = mint_token(
        KEY,
        SECRET,
        identity="alice",
        room="room-1",
        name="Alice Example",
        agent=True,
        can_publish=False,
        attributes={"color": "#123456"},
    )
    claims = _claims(token)
    assert claims.identity == "alice"
    assert claims.name == "Alice Example"
    assert claims.kind == "agent"
    assert claims.attributes == {"color": "#123456"}
    assert claims.video is not None
    assert claims.video.room == "room-1"
    assert claims.video.room_join is True
    assert claims.video.can_publish is False


def test_expired_token_is_refused_by_the_verifier() -> None:
    token = mint_token(KEY, SECRET, identity="eve", room="r", ttl_s=-3600)
    with pytest.raises(Exception, match=r"(?i)expired"):
        _claims(token)


def test_identity_and_room_are_required() -> None:
    with pytest.raises(TokenError):
        mint_token(KEY, SECRET, identity="", room="r")
    with pytest.raises(TokenError):
        mint_token(KEY, SECRET, identity="g", room="")
