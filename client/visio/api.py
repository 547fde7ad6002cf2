"""Visio's web API (La Suite Meet's backend, ``/api/v1.0/``), as the web app calls it.

Cookies are handled here, not by a cookie jar: a standard jar drops the lobby's
``Secure`` cookie on plain http (the sandbox, a test server) and each poll would then
look like a new guest.  Three cookies matter: the session (its name depends on the
deployment, so it comes from the sign-in), ``csrftoken`` (sent back as
``X-CSRFToken`` on writes made with a session) and ``lobbyParticipantId`` (resent on
every lobby poll; it becomes our identity once admitted).

Calls made during a meeting (raising a hand, renaming, starting captions) are
authorised by the LiveKit token itself (``Authorization: Bearer``).

Every failure is a ``VisioError`` whose ``kind`` the interface turns into a sentence;
no message carries a token or a cookie.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from client.livekit import errors
from client.livekit.network_access import NetworkAccess
from client.livekit.signal_client import websocket_base
from client.visio.sign_in_store import SavedSignIn

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1.0"
LOBBY_COOKIE = "lobbyParticipantId"
CSRF_COOKIE = "csrftoken"
#: Requests that change something: with a session they need the CSRF token and Origin.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: An API answer is small; anything bigger is not Visio talking.
MAX_BODY_BYTES = 1 << 20


class VisioError(Exception):
    """A Visio API call failed; ``kind`` says how, for the message shown."""

    UNREACHABLE = "unreachable"  # no answer (down, DNS, refused, timeout)
    CERTIFICATE = "certificate"  # TLS refused: ``cause`` holds the CertificateError
    NOT_VISIO = "not_visio"  # something answers, but not Visio's API
    UNKNOWN_ROOM = "unknown_room"
    SIGN_IN_REQUIRED = "sign_in_required"  # the room needs a signed-in user
    SESSION_EXPIRED = "session_expired"  # we had a session; the server forgot it
    FORBIDDEN = "forbidden"  # refused for who we are (not a host, bad token)
    NOT_FOUND = "not_found"  # the thing acted on is gone (a guest stopped waiting)
    NOT_CONNECTED = "not_connected"  # the server does not see us in the meeting
    CAPTIONS_DISABLED = "captions_disabled"
    SERVER_ERROR = "server_error"  # 5xx, or an answer we cannot read

    def __init__(
        self, kind: str, message: str, *, status: int | None = None, cause: Exception | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.cause = cause


@dataclass(frozen=True)
class LiveKitAccess:
    """Where and with what to join the meeting's LiveKit room."""

    url: str  # ws(s)://, ready for the signaling client
    room: str  # the LiveKit room name: the Visio room's UUID
    token: str = field(repr=False)


@dataclass(frozen=True)
class RoomInfo:
    id: str | None  # None: an unregistered room the server lets anyone open
    slug: str
    name: str
    access_level: str  # public | trusted | restricted
    configuration: Mapping[str, Any]
    livekit: LiveKitAccess | None  # None: not open to us (sign in, or the lobby)
    is_administrable: bool = False


@dataclass(frozen=True)
class EntryStatus:
    """One lobby poll's answer."""

    WAITING = "waiting"
    ACCEPTED = "accepted"
    DENIED = "denied"

    status: str
    participant_id: str
    username: str
    color: str
    livekit: LiveKitAccess | None


@dataclass(frozen=True)
class WaitingParticipant:
    id: str
    username: str
    color: str = ""


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    full_name: str
    short_name: str

    @property
    def display_name(self) -> str:
        return self.full_name or self.short_name or self.email


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def parse_livekit(value: object) -> LiveKitAccess | None:
    if not isinstance(value, dict):
        return None
    url, room, token = _text(value.get("url")), _text(value.get("room")), _text(value.get("token"))
    if not (url and room and token):
        return None
    try:
        ws_url = websocket_base(url)
    except errors.ConnectError as exc:
        raise VisioError(
            VisioError.SERVER_ERROR, f"the server gave an unusable meeting address: {exc}"
        ) from None
    return LiveKitAccess(ws_url, room, token)


def parse_cookies(headers: list[str]) -> dict[str, str]:
    """``Set-Cookie`` headers as name -> value (a deleted cookie maps to "")."""
    found: dict[str, str] = {}
    for header in headers:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        for name, morsel in jar.items():
            expired = morsel["max-age"] == "0" or "1970" in morsel["expires"]
            found[name] = "" if expired else morsel.value
    return found


class VisioApi:
    """One Visio server's API.  Open one per server; ``close()`` when done."""

    def __init__(
        self,
        base_url: str,
        *,
        sign_in: SavedSignIn | None = None,
        extra_ca_file: Path | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.host = parts.netloc
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.sign_in = sign_in
        self._csrf = sign_in.csrf_token if sign_in is not None else ""
        self._lobby_id = ""
        self._access = NetworkAccess.for_url(self.base_url, extra_ca_file=extra_ca_file)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(5.0, timeout_s))
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    @property
    def signed_in(self) -> bool:
        return self.sign_in is not None

    def forget_lobby(self) -> None:
        """Start the next lobby request as a new guest."""
        self._lobby_id = ""

    # --- the calls -----------------------------------------------------------------

    async def config(self) -> dict[str, Any]:
        return await self._call("GET", "/config/")

    async def captions_enabled(self) -> bool:
        subtitle = (await self.config()).get("subtitle")
        return isinstance(subtitle, dict) and subtitle.get("enabled") is True

    async def room(self, slug: str, username: str) -> RoomInfo:
        body = await self._call(
            "GET", f"/rooms/{quote(slug, safe='')}/", params={"username": username}, room=True
        )
        room_id = body.get("id")
        configuration = body.get("configuration")
        return RoomInfo(
            id=room_id if isinstance(room_id, str) and room_id else None,
            slug=_text(body.get("slug")) or slug,
            name=_text(body.get("name")) or slug,
            access_level=_text(body.get("access_level")) or "public",
            configuration=configuration if isinstance(configuration, dict) else {},
            livekit=parse_livekit(body.get("livekit")),
            is_administrable=body.get("is_administrable") is True,
        )

    async def request_entry(self, room: str, username: str) -> EntryStatus:
        """Ask to enter (the first call) or poll (the next ones, every second)."""
        body = await self._call(
            "POST",
            f"/rooms/{quote(room, safe='')}/request-entry/",
            json_body={"username": username},
            room=True,
        )
        status = _text(body.get("status"))
        if status not in (EntryStatus.WAITING, EntryStatus.ACCEPTED, EntryStatus.DENIED):
            raise VisioError(VisioError.SERVER_ERROR, f"unexpected lobby status {status!r}")
        livekit = parse_livekit(body.get("livekit"))
        if status == EntryStatus.ACCEPTED and livekit is None:
            raise VisioError(VisioError.SERVER_ERROR, "admitted without a meeting token")
        return EntryStatus(
            status=status,
            participant_id=_text(body.get("id")) or self._lobby_id,
            username=_text(body.get("username")) or username,
            color=_text(body.get("color")),
            livekit=livekit,
        )

    async def me(self) -> Account:
        body = await self._call("GET", "/users/me/")
        return Account(
            id=_text(body.get("id")),
            email=_text(body.get("email")),
            full_name=_text(body.get("full_name")),
            short_name=_text(body.get("short_name")),
        )

    async def logout(self) -> None:
        """End the session on the server (it answers with a redirect)."""
        await self._call("GET", "/logout/", any_answer=True)
        self.sign_in = None

    async def waiting_participants(self, room_id: str) -> list[WaitingParticipant]:
        body = await self._call("GET", f"/rooms/{quote(room_id, safe='')}/waiting-participants/")
        rows = body.get("participants")
        waiting = []
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and _text(row.get("id")):
                waiting.append(
                    WaitingParticipant(
                        _text(row.get("id")), _text(row.get("username")), _text(row.get("color"))
                    )
                )
        return waiting

    async def enter(self, room_id: str, participant_id: str, *, allow: bool) -> None:
        await self._call(
            "POST",
            f"/rooms/{quote(room_id, safe='')}/enter/",
            json_body={"participant_id": participant_id, "allow_entry": allow},
        )

    async def toggle_hand(self, room_id: str, *, raised: bool, token: str) -> None:
        await self._call(
            "POST",
            f"/rooms/{quote(room_id, safe='')}/toggle-hand/",
            json_body={"raised": raised},
            bearer=token,
        )

    async def rename(self, room_id: str, name: str, *, token: str) -> None:
        await self._call(
            "POST",
            f"/rooms/{quote(room_id, safe='')}/rename/",
            json_body={"name": name},
            bearer=token,
        )

    async def start_subtitle(self, livekit_room: str, *, token: str) -> None:
        """Dispatch the transcription agent: each call adds one, so call it once."""
        try:
            await self._call(
                "POST", f"/rooms/{quote(livekit_room, safe='')}/start-subtitle/", bearer=token
            )
        except VisioError as exc:
            if exc.status == 404:
                raise VisioError(
                    VisioError.CAPTIONS_DISABLED, "this server has no captions", status=404
                ) from None
            raise

    # --- transport -------------------------------------------------------------------

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            # No jar: cookies are ours to send (see the module's docstring).
            self._http = aiohttp.ClientSession(
                timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._http

    def _headers(self, method: str, bearer: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        cookies: dict[str, str] = {}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        elif self.sign_in is not None:
            cookies[self.sign_in.cookie_name] = self.sign_in.cookie_value
        csrf = self._csrf_token()
        if csrf:
            cookies[CSRF_COOKIE] = csrf
        if self._lobby_id:
            cookies[LOBBY_COOKIE] = self._lobby_id
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        if method in UNSAFE_METHODS:
            # Django checks Origin (and Referer on https) for writes made with a session;
            # ours is the server's own origin, as the web app's is.
            headers["Origin"] = self.origin
            headers["Referer"] = f"{self.origin}/"
            if csrf and bearer is None and self.sign_in is not None:
                headers["X-CSRFToken"] = csrf
        return headers

    def _csrf_token(self) -> str:
        if self.sign_in is not None and self.sign_in.csrf_token:
            return self.sign_in.csrf_token
        return self._csrf

    def _take_cookies(self, response: aiohttp.ClientResponse) -> None:
        cookies = parse_cookies(response.headers.getall("Set-Cookie", []))
        if LOBBY_COOKIE in cookies:
            self._lobby_id = cookies[LOBBY_COOKIE]
        if CSRF_COOKIE in cookies:
            self._csrf = cookies[CSRF_COOKIE]
            if self.sign_in is not None:
                self.sign_in = replace(self.sign_in, csrf_token=self._csrf)
        if self.sign_in is not None and self.sign_in.cookie_name in cookies:
            value = cookies[self.sign_in.cookie_name]
            # Django renews the session cookie as it goes; an empty one is a sign-out.
            self.sign_in = replace(self.sign_in, cookie_value=value) if value else None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        bearer: str | None = None,
        room: bool = False,
        any_answer: bool = False,
    ) -> dict[str, Any]:
        url = f"{self.base_url}{API_PREFIX}{path}"
        data = json.dumps(json_body).encode() if json_body is not None else None
        headers = self._headers(method, bearer)
        if data is not None:
            headers["Content-Type"] = "application/json"
        access = self._access
        try:
            async with self._session().request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                ssl=access.ssl,
                proxy=access.proxy,
                proxy_headers=access.proxy_headers,
                allow_redirects=False,
            ) as response:
                self._take_cookies(response)
                raw = await response.content.read(MAX_BODY_BYTES + 1)
                status = response.status
                content_type = response.content_type
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            specific = access.failure(exc)
            if isinstance(specific, errors.CertificateError):
                raise VisioError(VisioError.CERTIFICATE, str(specific), cause=specific) from None
            reason = str(specific) if specific is not None else type(exc).__name__
            raise VisioError(
                VisioError.UNREACHABLE, f"{self.host} does not answer ({reason})", cause=specific
            ) from None
        body = self._decode(raw, content_type, status)
        if any_answer and status < 400:
            return body or {}
        if 200 <= status < 300:
            if body is None:
                raise VisioError(
                    VisioError.NOT_VISIO,
                    f"{self.host} does not answer as a Visio server",
                    status=status,
                )
            return body
        raise self._failure(status, body, room=room, path=path, bearer=bearer is not None)

    def _decode(self, raw: bytes, content_type: str, status: int) -> dict[str, Any] | None:
        if len(raw) > MAX_BODY_BYTES or "json" not in content_type:
            return None
        if not raw and status == 204:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def _failure(
        self, status: int, body: dict[str, Any] | None, *, room: bool, path: str, bearer: bool
    ) -> VisioError:
        detail = _text((body or {}).get("detail"))[:200]
        log.info("Visio %s answered %d to %s%s", self.host, status, API_PREFIX, _safe_path(path))
        if body is None and status in (404, 405):
            # An HTML 404 for an API path: not Visio's API (another site, a typo).
            return VisioError(
                VisioError.NOT_VISIO, f"{self.host} is not a Visio server", status=status
            )
        if bearer and status in (401, 403):
            return VisioError(
                VisioError.FORBIDDEN, f"{self.host} refused the meeting token", status=status
            )
        if status == 401 or (status == 403 and "credentials" in detail.lower()):
            if self.sign_in is not None:
                return VisioError(
                    VisioError.SESSION_EXPIRED,
                    f"the sign-in on {self.host} has expired",
                    status=status,
                )
            return VisioError(
                VisioError.SIGN_IN_REQUIRED, f"{self.host} needs you to sign in", status=status
            )
        if status == 403:
            return VisioError(
                VisioError.FORBIDDEN, f"{self.host} refused: {detail or 'forbidden'}", status=status
            )
        if status == 404:
            if room:
                return VisioError(
                    VisioError.UNKNOWN_ROOM, f"no such meeting on {self.host}", status=status
                )
            if "/toggle-hand/" in path or "/rename/" in path:
                return VisioError(
                    VisioError.NOT_CONNECTED,
                    f"{self.host} does not see you in the meeting",
                    status=status,
                )
            return VisioError(VisioError.NOT_FOUND, f"{self.host}: not found", status=status)
        if status == 429:
            return VisioError(
                VisioError.SERVER_ERROR, f"{self.host} is busy: too many requests", status=status
            )
        if 400 <= status < 500:
            return VisioError(
                VisioError.SERVER_ERROR,
                f"{self.host} refused the request ({status}: {detail})",
                status=status,
            )
        return VisioError(VisioError.SERVER_ERROR, f"{self.host} failed ({status})", status=status)


def _safe_path(path: str) -> str:
    """The path as logged: ids are not secrets, but keep the line short."""
    return path if len(path) <= 120 else path[:117] + "..."
