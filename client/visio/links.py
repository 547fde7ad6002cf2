"""Visio meeting links: ``https://visio.numerique.gouv.fr/abc-defg-hij`` and its variants.

A room link is a server plus a slug.  The web app's router accepts three groups of
3, 4 and 3 letters or digits, with or without dashes, in any case, and normalises
them to lowercase with dashes; rooms created with a name have a slug made from it
(lowercase letters, digits and dashes).  The forms accepted here:

- ``https://host/slug`` (anything after the slug: query, fragment, a trailing slash);
- ``visio://host/slug`` (the desktop handler's scheme: the server is https);
- ``host/slug`` typed without a scheme (https);
- ``http://host/slug`` only for this machine or a private network (the demo, tests).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from client.livekit import errors
from client.livekit.signal_client import plaintext_allowed


class VisioLinkError(ValueError):
    """The text is not a Visio room link."""


#: The web app's room code: 3-4-3 letters or digits, dashes optional.
ROOM_CODE = re.compile(r"^([a-z0-9]{3})-?([a-z0-9]{4})-?([a-z0-9]{3})$", re.IGNORECASE)
#: A named room's slug (Django's slugify of the name).
NAMED_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_HOST_LABEL = re.compile(r"^[a-z0-9-]{1,63}$", re.IGNORECASE)
#: Paths of the web app that are pages, not rooms.
APP_PAGES = frozenset({"api", "admin", "static", "assets", "login", "logout", "sdk", "feedback"})


@dataclass(frozen=True)
class VisioLink:
    #: ``https://host[:port]``: where the web app and its API live.
    base_url: str
    slug: str

    @property
    def host(self) -> str:
        """``host[:port]``: the key of the server's sign-in."""
        return urlsplit(self.base_url).netloc

    @property
    def url(self) -> str:
        return f"{self.base_url}/{self.slug}"


def normalise_slug(text: str) -> str:
    """The slug as the server knows it, or raise ``VisioLinkError``."""
    code = ROOM_CODE.match(text)
    if code is not None:
        return "-".join(group.lower() for group in code.groups())
    if NAMED_SLUG.match(text) and len(text) <= 100:
        return text
    raise VisioLinkError("this is not a Visio room name")


def server_base(text: str) -> str:
    """A Visio server address (``visio.example.fr``, ``https://visio.example.fr/``) as
    ``https://host[:port]``; plain http only towards this machine or a private network."""
    raw = text.strip()
    if "://" not in raw:
        raw = f"https://{raw}"
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise VisioLinkError("this is not a server address") from exc
    scheme = parts.scheme.lower()
    if scheme == "visio":
        scheme = "https"
    if scheme not in ("http", "https"):
        raise VisioLinkError("this is not a Visio link")
    host = (parts.hostname or "").lower()
    if not _valid_host(host):
        raise VisioLinkError("this is not a server address")
    if scheme == "http" and not plaintext_allowed(host):
        raise errors.InsecureTransportError(
            f"refusing to sign in or join over plain http with {host}: use https://"
        )
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}"


def _valid_host(host: str) -> bool:
    if ":" in host:  # an IPv6 literal, given in brackets
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    labels = host.split(".")
    return bool(host) and all(_HOST_LABEL.match(label) for label in labels)


def parse_visio_link(text: str) -> VisioLink:
    """Parse a room link, or raise ``VisioLinkError`` (``InsecureTransportError`` for
    plain http to a public host)."""
    raw = text.strip()
    if not raw:
        raise VisioLinkError("empty link")
    if raw.lower().startswith(("ws://", "wss://")):
        raise VisioLinkError("this is a LiveKit server address, not a Visio link")
    candidate = raw if "://" in raw else f"https://{raw}"
    try:
        parts = urlsplit(candidate)
    except ValueError as exc:
        raise VisioLinkError("this is not a link") from exc
    segments = [segment for segment in parts.path.split("/") if segment]
    if len(segments) != 1 or segments[0].lower() in APP_PAGES:
        raise VisioLinkError("this link does not name a meeting room")
    slug = normalise_slug(segments[0])
    base = server_base(urlsplit(candidate)._replace(path="", query="", fragment="").geturl())
    return VisioLink(base, slug)


def looks_like_visio_link(text: str) -> bool:
    try:
        parse_visio_link(text)
    except (VisioLinkError, errors.ConnectError):
        return False
    return True
