"""The stand-in server: its own thread and event loop, and the helpers tests call.

Running on a thread of its own lets it serve a Qt application, a qasync loop or a
test's asyncio loop alike, and keeps blocking test code from stalling it.  Every
helper may be called from any thread: the stores behind them take their own locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Protocol, Self

from aiohttp import web

from devtools.visio_standin.api import (
    Activity,
    StandInApi,
    StandInSettings,
    grants_for,
)
from devtools.visio_standin.directory import (
    Directory,
    Role,
    StandInRoom,
    StandInUser,
)
from devtools.visio_standin.lobby import DENIED_TTL_S, WAITING_TTL_S, Lobby, LobbyEntry
from devtools.visio_standin.sessions import DEFAULT_SESSION_TTL_S, Sessions

__all__ = ["LiveKitServerLike", "VisioStandIn"]

log = logging.getLogger("devtools.visio_standin")

_START_TIMEOUT_S = 10.0


class LiveKitServerLike(Protocol):
    @property
    def http_url(self) -> str: ...
    @property
    def ws_url(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def api_secret(self) -> str: ...


RoomRef = StandInRoom | str


class VisioStandIn:
    """``with VisioStandIn(livekit_server) as visio: visio.base_url``."""

    def __init__(
        self,
        livekit: LiveKitServerLike,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_unregistered_rooms: bool = False,
        subtitles_enabled: bool = True,
        caption_agent_name: str = "visio-caption-agent",
        session_cookie_name: str = "meet_sessionid",
        origin: str | None = None,
        session_ttl_s: float = DEFAULT_SESSION_TTL_S,
        lobby_waiting_ttl_s: float = WAITING_TTL_S,
        lobby_denied_ttl_s: float = DENIED_TTL_S,
    ) -> None:
        self.livekit = livekit
        self._host = host
        self._port = port
        self._origin = origin.rstrip("/") if origin else None
        self.directory = Directory()
        self._sessions = Sessions(session_ttl_s)
        self.lobby = Lobby(waiting_ttl_s=lobby_waiting_ttl_s, denied_ttl_s=lobby_denied_ttl_s)
        self.activity = Activity()
        self.api = StandInApi(
            StandInSettings(
                livekit_http_url=livekit.http_url,
                api_key=livekit.api_key,
                api_secret=livekit.api_secret,
                allow_unregistered_rooms=allow_unregistered_rooms,
                subtitles_enabled=subtitles_enabled,
                caption_agent_name=caption_agent_name,
                session_cookie_name=session_cookie_name,
            ),
            directory=self.directory,
            sessions=self._sessions,
            lobby=self.lobby,
            activity=self.activity,
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def origin(self) -> str:
        """The origin writes with a session must come from (besides the Host's own)."""
        return self._origin or self.base_url

    @property
    def session_cookie_name(self) -> str:
        return self.api.settings.session_cookie_name

    def start(self, timeout_s: float = _START_TIMEOUT_S) -> None:
        if self._thread is not None:
            raise RuntimeError("the stand-in is already running")
        self._ready.clear()
        self._failure = None
        self._thread = threading.Thread(target=self._run, name="visio-standin", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError(f"the Visio stand-in did not start within {timeout_s:.0f} s")
        if self._failure is not None:
            self._thread.join(timeout_s)
            self._thread = None
            raise RuntimeError(f"the Visio stand-in could not start: {self._failure}")
        log.info("Visio stand-in serving on %s", self.base_url)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(), which is waiting
            self._failure = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        runner = web.AppRunner(self.api.application(), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
            self._port = int(runner.addresses[0][1])
            self.api.origin = self.origin
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def close(self, timeout_s: float = 10.0) -> None:
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout_s)
        self._thread = None
        self._loop = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- what the server knows ----------------------------------------------------------

    def add_user(
        self, sub: str, email: str, full_name: str, password: str, *, short_name: str = ""
    ) -> StandInUser:
        return self.directory.add_user(sub, email, full_name, password, short_name=short_name)

    def add_room(
        self,
        slug: str,
        name: str = "",
        access_level: str = "public",
        owners: Iterable[str] = (),
        administrators: Iterable[str] = (),
        members: Iterable[str] = (),
        *,
        configuration: Mapping[str, Any] | None = None,
    ) -> StandInRoom:
        return self.directory.add_room(
            slug,
            name=name,
            access_level=access_level,
            configuration=configuration,
            grants=grants_for(tuple(owners), tuple(administrators), tuple(members)),
        )

    def room(self, ref: RoomRef) -> StandInRoom:
        """The room as it is now (by object, id or slug)."""
        found = self.directory.find_room(ref.id if isinstance(ref, StandInRoom) else ref)
        if found is None:
            raise KeyError(f"no room {ref!r}")
        return found

    def set_access_level(self, room: RoomRef, access_level: str) -> StandInRoom:
        return self.directory.set_access_level(self.room(room).id, access_level)

    def grant(self, room: RoomRef, sub: str, role: str) -> StandInRoom:
        return self.directory.grant(self.room(room).id, sub, Role(role))

    # --- inspection for tests -----------------------------------------------------------

    def waiting(self, room: RoomRef) -> list[LobbyEntry]:
        """The guests waiting in the room's lobby now."""
        return self.lobby.waiting(self.room(room).id)

    def lobby_entry(self, room: RoomRef, participant_id: str) -> LobbyEntry | None:
        """A guest's lobby entry in any state (waiting, admitted, denied), until it expires."""
        return self.lobby.get(self.room(room).id, participant_id)

    def dispatch_count(self, room: RoomRef) -> int:
        """Caption agents dispatched to the room by ``start-subtitle``."""
        return len(self.activity.dispatches(self.room(room).id))

    def dispatch_ids(self, room: RoomRef) -> list[str]:
        return self.activity.dispatches(self.room(room).id)

    def waiting_announcements(self, room: RoomRef) -> int:
        """``participantWaiting`` packets sent into the room's meeting."""
        return self.activity.announcements(self.room(room).id)

    @property
    def sessions(self) -> int:
        """Sessions signed in and not expired."""
        return self._sessions.count()

    def expire_sessions(self) -> int:
        """End every session as if 12 hours had passed; returns how many ended."""
        return self._sessions.expire_all()
