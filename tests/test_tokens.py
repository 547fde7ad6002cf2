"""Our stdlib token minting against the official `livekit-api` implementation."""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest

from client.sandbox.tokens import TokenError, decode_token, mint_token

api = pytest.importorskip("livekit.api")

KEY = "visio-test-key"
SECRET = "visio-test-secret-db11a8e40da66793fd47d9"


def _official(identity: str, room: str, **kwargs: Any) -> str:
    token = (
        api.AccessToken(KEY, SECRET)
        .with_identity(identity)
        .with_ttl(datetime.timedelta(seconds=kwargs.pop("ttl_s", 3600)))
        .with_grants(api.VideoGrants(room_join=True, room=room))
    )
    if "name" in kwargs:
        token = token.with_name(kwargs["name"])
    if kwargs.get("agent"):
        token = token.with_kind("agent")
    if "metadata" in kwargs:
        token = token.with_metadata(kwargs["metadata"])
    if "attributes" in kwargs:
        token = token.with_attributes(kwargs["attributes"])
    jwt: str = token.to_jwt()
    return jwt


def _without_times(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k not in {"nbf", "exp", "iat"}}


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"name": "Alice Example"},
        {"name": "Captioner", "agent": True},
        {"metadata": '{"role":"guest"}', "attributes": {"lang": "fr", "x": "1"}},
    ],
)
def test_claims_match_livekit_api(extra: dict[str, Any]) -> None:
    ours = decode_token(mint_token(KEY, SECRET, identity="alice", room="room-1", **extra))
    theirs = decode_token(_official("alice", "room-1", **extra))
    assert _without_times(ours) == _without_times(theirs)
    assert ours["exp"] - ours["nbf"] == 3600
    assert abs(ours["nbf"] - theirs["nbf"]) <= 2


def test_token_verifier_accepts_our_token() -> None:
    token = mint_token(
        KEY,
        SECRET,
        identity="bob",
        room="room-2",
        name="Bob",
        agent=True,
        metadata="meta",
        attributes={"a": "b"},
        can_publish=False,
        can_publish_data=False,
    )
    claims = api.TokenVerifier(KEY, SECRET).verify(token)
    assert claims.identity == "bob"
    assert claims.name == "Bob"
    assert claims.kind == "agent"
    assert claims.metadata == "meta"
    assert claims.attributes == {"a": "b"}
    assert claims.video.room_join is True
    assert claims.video.room == "room-2"
    assert claims.video.can_publish is False
    assert claims.video.can_subscribe is True
    assert claims.video.can_publish_data is False


def test_token_verifier_rejects_wrong_secret() -> None:
    token = mint_token(KEY, "another-secret-another-secret-another-se", identity="c", room="r")
    with pytest.raises(Exception, match=r"[Ss]ignature"):
        api.TokenVerifier(KEY, SECRET).verify(token)


def test_decode_token_verifies_official_tokens() -> None:
    claims = decode_token(_official("dave", "room-3", ttl_s=60), SECRET)
    assert claims["sub"] == "dave"
    assert claims["iss"] == KEY


def test_decode_token_rejects_bad_signature_and_expiry() -> None:
    token = mint_token(KEY, SECRET, identity="eve", room="r")
    head, payload, _sig = token.split(".")
    with pytest.raises(TokenError, match="signature"):
        decode_token(f"{head}.{payload}.AAAA", SECRET)
    with pytest.raises(TokenError, match="malformed"):
        decode_token("not-a-token")
    expired = mint_token(KEY, SECRET, identity="eve", room="r", ttl_s=-3600)
    with pytest.raises(TokenError, match="expired"):
        decode_token(expired, SECRET)
    with pytest.raises(Exception, match=r"[Ee]xpired"):
        api.TokenVerifier(KEY, SECRET).verify(expired)


def test_not_before_is_honoured() -> None:
    later = time.time() + 3600
    token = mint_token(KEY, SECRET, identity="f", room="r", not_before=later, ttl_s=60)
    claims = decode_token(token)
    assert claims["nbf"] == int(later)
    assert claims["exp"] == int(later) + 60
    with pytest.raises(TokenError, match="not valid yet"):
        decode_token(token, SECRET)
    with pytest.raises(Exception, match=r"not yet valid|[Ii]mmature"):
        api.TokenVerifier(KEY, SECRET).verify(token)


def test_room_join_requires_identity_and_room() -> None:
    with pytest.raises(TokenError):
        mint_token(KEY, SECRET, identity="", room="r")
    with pytest.raises(TokenError):
        mint_token(KEY, SECRET, identity="g", room="")
