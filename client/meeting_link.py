"""What the user pastes to join: a LiveKit server address and an access token.

Accepted forms: ``wss://host[/path]?token=T`` (or ``access_token=T``, or after
``#``), LiveKit Meet's custom links (``...?liveKitUrl=wss://host&token=T``), or
the address and the token given separately.  Visio room links
(``https://visio.numerique.gouv.fr/abc-defg-hij``: no token, the Visio API gives one)
are told apart by ``parse_join_target``.  A malformed link gives a ``LinkError``
with a message for the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit, urlunsplit

from client.livekit import errors
from client.livekit.signal_client import websocket_base
from client.visio.links import ROOM_CODE, VisioLink, VisioLinkError, parse_visio_link

TOKEN_KEYS = ("token", "access_token")


class LinkError(ValueError):
    """The text is not a meeting link we can join."""


@dataclass(frozen=True)
class MeetingLink:
    url: str
    token: str

    @property
    def server(self) -> str:
        return urlsplit(self.url).hostname or self.url


def _first(query: dict[str, list[str]], *keys: str) -> str:
    for key in keys:
        values = query.get(key)
        if values and values[0].strip():
            return values[0].strip()
    return ""


def parse_meeting_link(text: str, token: str = "") -> MeetingLink:
    raw = text.strip()
    if not raw:
        raise LinkError("empty link")
    try:
        parts = urlsplit(raw)
    except ValueError as exc:
        raise LinkError("this is not a link") from exc
    query = parse_qs(parts.query)
    fragment = parse_qs(parts.fragment)
    embedded = _first(query, "liveKitUrl", "livekitUrl", "url")
    if embedded:
        server = embedded
        token = token.strip() or _first(query, *TOKEN_KEYS) or _first(fragment, *TOKEN_KEYS)
    else:
        server = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        token = token.strip() or _first(query, *TOKEN_KEYS) or _first(fragment, *TOKEN_KEYS)
    try:
        url = websocket_base(server)
    except errors.InsecureTransportError:
        raise
    except errors.InvalidUrlError as exc:
        raise LinkError("this is not a meeting server address") from exc
    if not token:
        raise LinkError("the link has no access token")
    if token.count(".") != 2:
        raise LinkError("the access token is malformed")
    return MeetingLink(url, token)


def parse_join_target(
    text: str, token: str = "", default_server: str = ""
) -> MeetingLink | VisioLink:
    """A LiveKit link (it has a token, or a ws(s):// address) or a Visio room link.

    A room code typed alone (``abc-defg-hij``) names a room on ``default_server``.
    """
    raw = text.strip()
    if not raw:
        raise LinkError("empty link")
    parts = urlsplit(raw if "://" in raw else f"https://{raw}")
    query = parse_qs(parts.query)
    livekit = (
        token.strip()
        or parts.scheme.lower() in ("ws", "wss")
        or _first(query, *TOKEN_KEYS, "liveKitUrl", "livekitUrl")
        or _first(parse_qs(parts.fragment), *TOKEN_KEYS)
    )
    if livekit:
        return parse_meeting_link(raw, token)
    if default_server and ROOM_CODE.match(raw):
        raw = f"{default_server.rstrip('/')}/{raw}"
    try:
        return parse_visio_link(raw)
    except VisioLinkError as exc:
        raise LinkError(str(exc)) from exc
