"""LiveKit access tokens (HS256 JWTs) built with the standard library only.

The official `livekit-api` package is a test-only dependency; the local demo and the
benchmark mint their own tokens for the sandbox server with this module. The claims
follow LiveKit's layout (github.com/livekit/protocol auth.ClaimGrants): `iss` is the API
key, `sub` the participant identity, grants under `video`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["TokenError", "decode_token", "mint_token"]


class TokenError(ValueError):
    """A token is malformed, badly signed or expired."""


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
    agent: bool = False,
    metadata: str | None = None,
    attributes: Mapping[str, str] | None = None,
    not_before: float | None = None,
) -> str:
    """Return a signed access token that lets `identity` join `room`.

    `agent=True` sets the participant kind to "agent": the server only forwards
    transcription packets from agents. `not_before` is a UNIX time (default: now).
    """
    if not api_key or not api_secret:
        raise TokenError("api_key and api_secret must be set")
    if room_join and (not identity or not room):
        raise TokenError("identity and room must be set when joining a room")
    now = int(time.time())
    nbf = now if not_before is None else int(not_before)
    claims: dict[str, Any] = {
        "iss": api_key,
        "sub": identity,
        "nbf": nbf,
        "exp": nbf + int(ttl_s),
        "video": {
            "roomJoin": room_join,
            "room": room,
            "canPublish": can_publish,
            "canSubscribe": can_subscribe,
            "canPublishData": can_publish_data,
        },
    }
    if name:
        claims["name"] = name
    if agent:
        claims["kind"] = "agent"
    if metadata:
        claims["metadata"] = metadata
    if attributes:
        claims["attributes"] = dict(attributes)
    return _encode(claims, api_secret)


def decode_token(
    token: str, api_secret: str | None = None, *, leeway_s: int = 60
) -> dict[str, Any]:
    """Return a token's claims; with `api_secret`, also check signature and expiry.

    Without a secret nothing is verified: that mode is for reading what a server-issued
    token says (e.g. when it expires), never for trusting it.
    """
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(_b64decode(header_b64))
        claims = json.loads(_b64decode(payload_b64))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError(f"malformed token: {exc}") from exc
    if not isinstance(claims, dict) or not isinstance(header, dict):
        raise TokenError("malformed token: header and payload must be JSON objects")
    if api_secret is not None:
        if header.get("alg") != "HS256":
            raise TokenError(f"unsupported token algorithm {header.get('alg')!r}")
        expected = _sign(f"{header_b64}.{payload_b64}".encode("ascii"), api_secret)
        if not hmac.compare_digest(expected, _b64decode(signature_b64)):
            raise TokenError("bad token signature")
        now = time.time()
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or now > exp + leeway_s:
            raise TokenError("token expired or without expiry")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and now + leeway_s < nbf:
            raise TokenError("token not valid yet")
    return claims


def _encode(claims: Mapping[str, Any], secret: str) -> str:
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = f"{_b64encode(_json(header))}.{_b64encode(_json(claims))}".encode("ascii")
    return f"{signing_input.decode('ascii')}.{_b64encode(_sign(signing_input, secret))}"


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _sign(data: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    # JWTs use unpadded base64url (RFC 7515 section 2).
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
