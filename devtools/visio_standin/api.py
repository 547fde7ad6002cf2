"""The HTTP side of the stand-in: Visio's ``/api/v1.0/`` as its clients see it.

Each handler checks things in the order the real server does, because the order
decides which error a client gets: who is asking first (a bad bearer token or a
failed CSRF check is a 403 before anything else), then the body of a lobby or host
call, then the room (404), then whether the caller may act on it (401/403), then the
body of an in-meeting call, and only then the LiveKit server.

Authentication follows Visio's split:

- the session cookie for the room pages, the lobby, the hosts' calls and the account;
  with a session, unsafe methods need ``csrftoken`` = ``X-CSRFToken`` and an
  ``Origin`` that is absent or the server's own (as Django's CSRF middleware); without
  one they need nothing, like the real lobby;
- the LiveKit token (``Authorization: Bearer``) for calls made from inside a meeting
  (raise hand, rename, captions), checked against the LiveKit API secret and the room.

Only the method, path and status of requests are logged: never query strings,
cookies or tokens.
"""

from __future__ import annotations

import datetime
import email.utils
import hmac
import json
import logging
import secrets
import string
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from livekit import api
from livekit.api.access_token import Claims

from devtools.visio_standin.directory import (
    AccessLevel,
    Directory,
    DirectoryError,
    Role,
    StandInRoom,
    StandInUser,
    parse_uuid,
    slugify,
)
from devtools.visio_standin.lobby import Lobby, LobbyStatus
from devtools.visio_standin.login_page import home_page, login_form
from devtools.visio_standin.meeting_tokens import (
    DEFAULT_SOURCES,
    TokenRejected,
    mint_meeting_token,
    participant_color,
    verify_meeting_token,
)
from devtools.visio_standin.sessions import Sessions
from devtools.visio_standin.validation import (
    NO_PERMISSION,
    NO_ROOM,
    NOT_AUTHENTICATED,
    ApiError,
    Fields,
    read_json_body,
)

__all__ = ["API_PREFIX", "CSRF_COOKIE", "LOBBY_COOKIE", "Activity", "StandInApi", "StandInSettings"]

log = logging.getLogger("devtools.visio_standin")

API_PREFIX = "/api/v1.0"
LOBBY_COOKIE = "lobbyParticipantId"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "X-CSRFToken"
#: Django keeps the CSRF cookie a year.
CSRF_COOKIE_AGE_S = 31_449_600
WAITING_NOTIFICATION = {"type": "participantWaiting"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
NOT_A_HOST = "You must have privileges on room to perform this action."

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class StandInSettings:
    livekit_http_url: str
    api_key: str
    api_secret: str = field(repr=False)
    allow_unregistered_rooms: bool = False
    subtitles_enabled: bool = True
    caption_agent_name: str = "visio-caption-agent"
    session_cookie_name: str = "meet_sessionid"


class Activity:
    """What the stand-in did on the LiveKit side, for tests to check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dispatches: dict[str, list[str]] = {}
        self._announcements: dict[str, int] = {}

    def dispatched(self, room_id: str, dispatch_id: str) -> None:
        with self._lock:
            self._dispatches.setdefault(room_id, []).append(dispatch_id)

    def announced(self, room_id: str) -> None:
        with self._lock:
            self._announcements[room_id] = self._announcements.get(room_id, 0) + 1

    def dispatches(self, room_id: str) -> list[str]:
        with self._lock:
            return list(self._dispatches.get(room_id, ()))

    def announcements(self, room_id: str) -> int:
        with self._lock:
            return self._announcements.get(room_id, 0)


def _new_csrf_secret() -> str:
    # Django's form: 32 letters and digits.
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def _http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


class StandInApi:
    def __init__(
        self,
        settings: StandInSettings,
        *,
        directory: Directory,
        sessions: Sessions,
        lobby: Lobby,
        activity: Activity,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.sessions = sessions
        self.lobby = lobby
        self.activity = activity
        #: The origin the server calls its own (set once the port is known).
        self.origin = ""
        self._livekit: api.LiveKitAPI | None = None

    # --- the application ----------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._answer_errors])
        p = API_PREFIX
        app.router.add_get("/", self.home)
        app.router.add_get(f"{p}/config/", self.config)
        app.router.add_get(f"{p}/users/me/", self.me)
        app.router.add_get(f"{p}/authenticate/", self.login_page)
        app.router.add_post(f"{p}/authenticate/", self.login)
        app.router.add_get(f"{p}/logout/", self.logout)
        app.router.add_get(f"{p}/rooms/", self.list_rooms)
        app.router.add_post(f"{p}/rooms/", self.create_room)
        app.router.add_get(f"{p}/rooms/{{pk}}/", self.room)
        app.router.add_post(f"{p}/rooms/{{pk}}/request-entry/", self.request_entry)
        app.router.add_get(f"{p}/rooms/{{pk}}/waiting-participants/", self.waiting_participants)
        app.router.add_post(f"{p}/rooms/{{pk}}/enter/", self.enter)
        app.router.add_post(f"{p}/rooms/{{pk}}/toggle-hand/", self.toggle_hand)
        app.router.add_post(f"{p}/rooms/{{pk}}/rename/", self.rename)
        app.router.add_post(f"{p}/rooms/{{pk}}/start-subtitle/", self.start_subtitle)
        app.on_startup.append(self._open_livekit)
        app.on_cleanup.append(self._close_livekit)
        return app

    async def _open_livekit(self, _app: web.Application) -> None:
        # Its HTTP session belongs to the loop serving requests, so it is made here.
        self._livekit = api.LiveKitAPI(
            self.settings.livekit_http_url, self.settings.api_key, self.settings.api_secret
        )

    async def _close_livekit(self, _app: web.Application) -> None:
        if self._livekit is not None:
            await self._livekit.aclose()
            self._livekit = None

    @property
    def livekit(self) -> api.LiveKitAPI:
        if self._livekit is None:
            raise RuntimeError("the stand-in is not serving")
        return self._livekit

    @web.middleware
    async def _answer_errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        response: web.StreamResponse
        try:
            response = await handler(request)
        except ApiError as exc:
            response = web.json_response(exc.body, status=exc.status, headers=exc.headers)
        except web.HTTPMethodNotAllowed:
            response = web.json_response(
                {"detail": f'Method "{request.method}" not allowed.'}, status=405
            )
        except web.HTTPException as exc:
            # Paths outside the API answer with a page, as Django's do.
            response = web.Response(
                status=exc.status,
                text=f"<h1>{exc.reason}</h1>",
                content_type="text/html",
                headers={k: v for k, v in exc.headers.items() if k == "Location"},
            )
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = web.Response(
                status=500, text="<h1>Server Error (500)</h1>", content_type="text/html"
            )
        log.info(
            "%s %s -> %d (%.0f ms)",
            request.method,
            request.path,
            response.status,
            (time.monotonic() - started) * 1000,
        )
        return response

    # --- who is asking ------------------------------------------------------------------

    def _session_user(self, request: web.Request) -> StandInUser | None:
        sub = self.sessions.sub_for(request.cookies.get(self.settings.session_cookie_name))
        return self.directory.user(sub) if sub else None

    def _authenticate(self, request: web.Request) -> StandInUser | None:
        """The signed-in user, CSRF-checked for writes; None for an anonymous caller."""
        user = self._session_user(request)
        if user is not None and request.method not in SAFE_METHODS:
            self._check_csrf(request)
        return user

    def _require_user(self, request: web.Request) -> StandInUser:
        user = self._authenticate(request)
        if user is None:
            raise ApiError.detail(401, NOT_AUTHENTICATED, **{"WWW-Authenticate": "Session"})
        return user

    def _trusted_origins(self, request: web.Request) -> set[str]:
        return {self.origin, f"{request.scheme}://{request.host}"}

    def _check_csrf(self, request: web.Request) -> None:
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self._trusted_origins(request):
            raise ApiError.detail(
                403,
                f"CSRF Failed: Origin checking failed - {origin} does not match any "
                "trusted origins.",
            )
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie:
            raise ApiError.detail(403, "CSRF Failed: CSRF cookie not set.")
        header = request.headers.get(CSRF_HEADER, "")
        if not header:
            raise ApiError.detail(403, "CSRF Failed: CSRF token missing.")
        if not hmac.compare_digest(header.encode(), cookie.encode()):
            raise ApiError.detail(
                403, "CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect."
            )

    def _bearer(self, request: web.Request) -> Claims | None:
        header = request.headers.get("Authorization")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise ApiError.detail(403, "Authorization header must be: Bearer <token>")
        try:
            return verify_meeting_token(self.settings.api_key, self.settings.api_secret, parts[1])
        except TokenRejected as exc:
            raise ApiError.detail(403, f"Invalid LiveKit token: {exc}") from None

    @staticmethod
    def _require_room_token(claims: Claims | None, room: StandInRoom) -> Claims:
        if claims is None:
            raise ApiError.detail(403, NOT_AUTHENTICATED)
        if claims.video is None or claims.video.room != room.id:
            raise ApiError.detail(403, NO_PERMISSION)
        return claims

    def _room(self, request: web.Request) -> StandInRoom:
        room = self.directory.find_room(request.match_info["pk"])
        if room is None:
            raise ApiError.detail(404, NO_ROOM)
        return room

    @staticmethod
    def _may_enter(room: StandInRoom, user: StandInUser | None, role: Role | None) -> bool:
        """Straight into the meeting, or through the lobby."""
        if room.is_public:
            return True
        if user is None:
            return False
        return room.access_level is AccessLevel.TRUSTED or role is not None

    # --- meeting tokens -----------------------------------------------------------------

    def _livekit_access(
        self,
        room_name: str,
        user: StandInUser | None,
        username: str | None,
        *,
        role: Role | None,
        participant_id: str | None = None,
        color: str | None = None,
        configuration: Mapping[str, Any] | None = None,
    ) -> dict[str, str]:
        # A guest is known by their lobby id when they have one, else by nothing at all:
        # each page load is a new participant.
        identity = user.sub if user is not None else (participant_id or str(uuid.uuid4()))
        name = username or (user.display_name if user is not None else "Anonymous")
        sources = (configuration or {}).get("can_publish_sources")
        token = mint_meeting_token(
            self.settings.api_key,
            self.settings.api_secret,
            room=room_name,
            identity=identity,
            name=name,
            color=color or participant_color(identity),
            role=role.value if role is not None else None,
            authenticated=user is not None,
            sources=sources if isinstance(sources, list) else None,
        )
        return {"url": self.settings.livekit_http_url, "room": room_name, "token": token}

    def _room_body(
        self, room: StandInRoom, user: StandInUser | None, username: str | None
    ) -> dict[str, Any]:
        role = room.role_of(user)
        body: dict[str, Any] = {
            "id": room.id,
            "name": room.name,
            "slug": room.slug,
            "configuration": dict(room.configuration),
            "access_level": room.access_level.value,
            "pin_code": None,
        }
        if role is not None and role.is_host:
            body["accesses"] = [self._access_body(room, sub, r) for sub, r in room.roles.items()]
        if self._may_enter(room, user, role):
            body["livekit"] = self._livekit_access(
                room.id, user, username, role=role, configuration=room.configuration
            )
        else:
            del body["pin_code"]
        return body

    def _access_body(self, room: StandInRoom, sub: str, role: Role) -> dict[str, Any]:
        member = self.directory.user(sub)
        return {
            "id": room.access_ids.get(sub, ""),
            "user": member.to_api() if member is not None else None,
            "resource": room.id,
            "role": role.value,
        }

    # --- pages and account --------------------------------------------------------------

    async def home(self, request: web.Request) -> web.Response:
        user = self._session_user(request)
        return web.Response(
            text=home_page(signed_in_as=user.email if user else None), content_type="text/html"
        )

    async def config(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "LANGUAGE_CODE": "en-us",
                "recording": {
                    "is_enabled": False,
                    "available_modes": [],
                    "expiration_days": None,
                    "max_duration": None,
                },
                "background_image": {"upload_is_enabled": False},
                "telephony": {"enabled": False},
                "resource": {"default_access_level": AccessLevel.PUBLIC.value},
                "subtitle": {"enabled": self.settings.subtitles_enabled},
                "diagnostics": {"connection_test_enabled": False},
                "livekit": {
                    "url": self.settings.livekit_http_url,
                    "force_wss_protocol": False,
                    "enable_firefox_proxy_workaround": False,
                    "default_sources": list(DEFAULT_SOURCES),
                },
                "authenticated_users_can_edit_display_name": True,
            }
        )

    async def me(self, request: web.Request) -> web.Response:
        return web.json_response(self._require_user(request).to_api())

    def _safe_return_to(self, request: web.Request, value: str) -> str:
        """Where to go after signing in or out: only back to this server."""
        if value.startswith("/") and not value.startswith("//") and "\\" not in value:
            return value
        parts = urlsplit(value)
        if parts.scheme and f"{parts.scheme}://{parts.netloc}" in self._trusted_origins(request):
            return value
        return "/"

    async def login_page(self, request: web.Request) -> web.Response:
        return_to = self._safe_return_to(request, request.query.get("returnTo", ""))
        return web.Response(
            text=login_form(action=request.path, return_to=return_to),
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        email_address = str(form.get("email", "")).strip()
        password = str(form.get("password", ""))
        return_to = self._safe_return_to(request, str(form.get("returnTo", "")))
        user = self.directory.user_by_email(email_address) if email_address else None
        if user is None or not user.checks_password(password):
            log.info("sign-in refused")
            return web.Response(
                text=login_form(
                    action=request.path,
                    return_to=return_to,
                    email=email_address,
                    error="Adresse ou mot de passe incorrect / Wrong email or password",
                ),
                content_type="text/html",
                headers={"Cache-Control": "no-store"},
            )
        # A new session key at each sign-in, as Django cycles it: a key known before
        # signing in is worth nothing after.
        self.sessions.close(request.cookies.get(self.settings.session_cookie_name))
        session = self.sessions.open(user.sub)
        log.info("signed in %s", user.sub)
        response = web.Response(status=302, headers={"Location": return_to})
        ttl = int(self.sessions.ttl_s)
        response.set_cookie(
            self.settings.session_cookie_name,
            session.key,
            max_age=ttl,
            expires=_http_date(ttl),
            path="/",
            httponly=True,
            samesite="Lax",
        )
        response.set_cookie(
            CSRF_COOKIE,
            _new_csrf_secret(),
            max_age=CSRF_COOKIE_AGE_S,
            expires=_http_date(CSRF_COOKIE_AGE_S),
            path="/",
            samesite="Lax",
        )
        return response

    async def logout(self, request: web.Request) -> web.Response:
        if self.sessions.close(request.cookies.get(self.settings.session_cookie_name)):
            log.info("signed out")
        return_to = self._safe_return_to(request, request.query.get("returnTo", ""))
        response = web.Response(status=302, headers={"Location": return_to})
        response.del_cookie(self.settings.session_cookie_name, path="/")
        return response

    # --- rooms --------------------------------------------------------------------------

    async def list_rooms(self, request: web.Request) -> web.Response:
        user = self._authenticate(request)
        rooms = self.directory.rooms_of(user) if user is not None else []
        results = [self._room_body(room, user, None) for room in rooms]
        return web.json_response(
            {"count": len(results), "next": None, "previous": None, "results": results}
        )

    async def create_room(self, request: web.Request) -> web.Response:
        user = self._require_user(request)
        fields = Fields(await read_json_body(request))
        name = fields.text("name", max_length=500)
        level = fields.choice("access_level", tuple(a.value for a in AccessLevel))
        configuration = fields.mapping("configuration")
        fields.check()
        slug = slugify(name)
        if not slug:
            raise ApiError(400, {"slug": ["This field may not be blank."]})
        if parse_uuid(slug) is not None:
            raise ApiError(400, {"name": [f'Room name "{name}" is reserved.']})
        try:
            room = self.directory.add_room(
                slug,
                name=name,
                access_level=level or AccessLevel.PUBLIC,
                configuration=configuration,
                grants=[(user.sub, Role.OWNER)],
            )
        except DirectoryError:
            raise ApiError(400, {"slug": ["Room with this Slug already exists."]}) from None
        return web.json_response(self._room_body(room, user, None), status=201)

    async def room(self, request: web.Request) -> web.Response:
        user = self._authenticate(request)
        key = request.match_info["pk"]
        username = request.query.get("username")
        room = self.directory.find_room(key)
        if room is not None:
            return web.json_response(self._room_body(room, user, username))
        slug = slugify(key)
        if not self.settings.allow_unregistered_rooms or not slug:
            raise ApiError.detail(404, NO_ROOM)
        # A room nobody created: open to all, its LiveKit room named by the slug.
        return web.json_response(
            {
                "id": None,
                "slug": slug,
                "is_administrable": False,
                "access_level": AccessLevel.PUBLIC.value,
                "livekit": self._livekit_access(slug, user, username, role=None),
            }
        )

    # --- the lobby ----------------------------------------------------------------------

    async def request_entry(self, request: web.Request) -> web.Response:
        user = self._authenticate(request)
        fields = Fields(await read_json_body(request))
        username = fields.text("username")
        fields.check()
        room = self._room(request)
        participant_id = request.cookies.get(LOBBY_COOKIE) or str(uuid.uuid4())
        role = room.role_of(user)
        entry = self.lobby.get(room.id, participant_id)
        livekit: dict[str, str] | None = None
        if self._may_enter(room, user, role):
            # Checked on every poll: a room opened while someone waits lets them in.
            body = (
                entry.to_api()
                if entry is not None
                else {
                    "status": "",
                    "username": username,
                    "id": participant_id,
                    "color": participant_color(participant_id),
                }
            )
            body["status"] = LobbyStatus.ACCEPTED.value
        else:
            entry, newcomer = self.lobby.wait(
                room.id, participant_id, username, participant_color(participant_id)
            )
            if newcomer:
                await self._announce_waiting(room.id)
            body = entry.to_api()
        if body["status"] == LobbyStatus.ACCEPTED.value:
            livekit = self._livekit_access(
                room.id,
                user,
                username,
                role=role,
                participant_id=participant_id,
                color=body["color"],
                configuration=room.configuration,
            )
        response = web.json_response({**body, "livekit": livekit})
        response.set_cookie(
            LOBBY_COOKIE, participant_id, path="/", secure=True, httponly=True, samesite="Lax"
        )
        return response

    async def _announce_waiting(self, room_id: str) -> None:
        """Tell everyone in the meeting that someone waits; hosts react to it."""
        try:
            found = await self.livekit.room.list_rooms(api.ListRoomsRequest(names=[room_id]))
            if not found.rooms:
                return  # nobody in the meeting yet: nobody to tell
            await self.livekit.room.send_data(
                api.SendDataRequest(
                    room=room_id,
                    data=json.dumps(WAITING_NOTIFICATION).encode(),
                    kind=api.DataPacket.Kind.RELIABLE,
                )
            )
        except Exception as exc:  # the guest still waits; hosts see them on their next look
            log.warning("could not tell room %s that someone waits: %s", room_id, exc)
            return
        self.activity.announced(room_id)

    async def waiting_participants(self, request: web.Request) -> web.Response:
        user = self._require_user(request)
        room = self._room(request)
        role = room.role_of(user)
        if role is None or not role.is_host:
            raise ApiError.detail(403, NOT_A_HOST)
        if room.is_public:
            return web.json_response({"participants": []})
        waiting = [entry.to_api() for entry in self.lobby.waiting(room.id)]
        return web.json_response({"participants": waiting})

    async def enter(self, request: web.Request) -> web.Response:
        user = self._require_user(request)
        fields = Fields(await read_json_body(request))
        participant_id = fields.uuid("participant_id")
        allow = fields.boolean("allow_entry")
        fields.check()
        room = self._room(request)
        role = room.role_of(user)
        if role is None or not role.is_host:
            raise ApiError.detail(403, NOT_A_HOST)
        if room.is_public:
            raise ApiError(404, {"message": "Room has no lobby system."})
        if self.lobby.decide(room.id, participant_id, allow=allow) is None:
            raise ApiError(404, {"message": "Participant not found."})
        log.info("host %s %s a guest", user.sub, "admitted" if allow else "denied")
        return web.json_response({"message": "Participant was updated."})

    # --- calls from inside the meeting --------------------------------------------------

    async def toggle_hand(self, request: web.Request) -> web.Response:
        claims = self._bearer(request)
        room = self._room(request)
        claims = self._require_room_token(claims, room)
        fields = Fields(await read_json_body(request))
        raised = fields.boolean("raised")
        fields.check()
        # The time orders the queue of raised hands; "" deletes the attribute.
        raised_at = datetime.datetime.now(datetime.UTC).isoformat() if raised else ""
        await self._update_participant(
            room.id,
            claims.identity,
            attributes={"handRaisedAt": raised_at},
            failure="Failed to update participant hand state",
        )
        return web.json_response({"status": "success"})

    async def rename(self, request: web.Request) -> web.Response:
        claims = self._bearer(request)
        room = self._room(request)
        claims = self._require_room_token(claims, room)
        fields = Fields(await read_json_body(request))
        name = fields.text("name", min_length=1, max_length=255)
        fields.check()
        await self._update_participant(
            room.id, claims.identity, name=name, failure="Failed to rename participant"
        )
        return web.json_response({"status": "success"})

    async def _update_participant(
        self,
        room_id: str,
        identity: str,
        *,
        failure: str,
        attributes: Mapping[str, str] | None = None,
        name: str = "",
    ) -> None:
        request = api.UpdateParticipantRequest(
            room=room_id,
            identity=identity,
            # Visio sends the JSON of "no metadata" on every update, which LiveKit
            # stores: after a raised hand or a rename the participant's metadata
            # reads "null". Clients see that in production, so they see it here.
            metadata="null",
            attributes=dict(attributes or {}),
            name=name,
        )
        try:
            await self.livekit.room.update_participant(request)
        except api.TwirpError as exc:
            if exc.code == api.TwirpErrorCode.NOT_FOUND:
                raise ApiError(404, {"error": "Participant not found"}) from None
            log.warning("LiveKit refused to update a participant of %s: %s", room_id, exc)
            raise ApiError(500, {"error": failure}) from None
        except Exception as exc:
            log.warning("LiveKit unreachable to update a participant of %s: %s", room_id, exc)
            raise ApiError(500, {"error": failure}) from None

    async def start_subtitle(self, request: web.Request) -> web.Response:
        claims = self._bearer(request)
        if not self.settings.subtitles_enabled:
            raise ApiError.detail(404, "Not found.")
        room = self._room(request)
        self._require_room_token(claims, room)
        try:
            # No metadata, as Visio: the transcriber listens to everyone in the room.
            dispatch = await self.livekit.agent_dispatch.create_dispatch(
                api.CreateAgentDispatchRequest(
                    agent_name=self.settings.caption_agent_name, room=room.id
                )
            )
        except Exception as exc:
            log.warning("could not dispatch the caption agent to %s: %s", room.id, exc)
            raise ApiError(
                500, {"error": f"Subtitles failed to start for room {room.slug}"}
            ) from None
        self.activity.dispatched(room.id, str(dispatch.id))
        return web.json_response({"status": "success"})


def grants_for(
    owners: Sequence[str], administrators: Sequence[str], members: Sequence[str]
) -> list[tuple[str, Role]]:
    return [
        *((sub, Role.OWNER) for sub in owners),
        *((sub, Role.ADMINISTRATOR) for sub in administrators),
        *((sub, Role.MEMBER) for sub in members),
    ]
