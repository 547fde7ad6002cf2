"""LiveKit signaling: one WebSocket carrying protobuf SignalRequest/SignalResponse.

This layer knows nothing of WebRTC.  It joins, keeps the connection alive with
pings, hands every server message, in order, to one async handler, and reports
why the connection ended.  Frames that do not parse are logged and skipped;
frames larger than ``MAX_FRAME_BYTES`` end the connection.  The token travels in
the URL, so plain ws:// is accepted only towards this machine or a private
network address (a local or test server), never to a public host.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import platform
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
from google.protobuf.message import DecodeError
from livekit.protocol import models, rtc

import client
from client.livekit import errors
from client.livekit.network_access import NetworkAccess
from client.livekit.proto_enums import enum_name
from client.livekit.tasks import spawn

log = logging.getLogger(__name__)

#: LiveKit signaling protocol version spoken by this client (two-PeerConnection mode).
PROTOCOL_VERSION = 16
CONNECT_TIMEOUT_S = 9.0
DEFAULT_PING_INTERVAL_S = 5.0
DEFAULT_PING_TIMEOUT_S = 15.0
#: We ping at least this often, whatever the server asks: every pong proves the path
#: to the server still works, which is how a silent cut is noticed in seconds.
LIVENESS_PING_INTERVAL_S = 1.0
#: The largest signaling frame accepted.  A join response for a large meeting is a
#: few hundred kilobytes; anything near this is a broken or hostile server.
MAX_FRAME_BYTES = 4 * 1024 * 1024

MessageHandler = Callable[[rtc.SignalResponse], Awaitable[None]]
CloseHandler = Callable[[str], None]


@dataclass(frozen=True)
class SignalOptions:
    auto_subscribe: bool = True
    adaptive_stream: bool = False
    #: Resume this participant session (LiveKit's reconnect=1&sid=...) instead of joining.
    resume_sid: str = ""
    #: PEM file of certificate authorities trusted on top of the system store.
    extra_ca_file: Path | None = None
    #: HTTP proxy for wss:// ("http://[user:password@]host:port"); None: from the
    #: environment (https_proxy, no_proxy), "": connect directly.
    proxy: str | None = None


def plaintext_allowed(host: str) -> bool:
    """True for hosts a token may reach in clear: this machine or a private network."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a DNS name: it may resolve anywhere
    return address.is_loopback or (address.is_private and not address.is_global)


def websocket_base(url: str) -> str:
    """Normalise a user-given server URL to ws(s)://host[:port][/path] or raise."""
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise errors.InvalidUrlError(f"invalid server address: {text!r}") from exc
    scheme = {"ws": "ws", "wss": "wss", "http": "ws", "https": "wss"}.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise errors.InvalidUrlError(
            f"invalid server address {text!r}: expected wss:// or https://"
        )
    try:
        _ = parts.port
    except ValueError as exc:
        raise errors.InvalidUrlError(f"invalid port in server address {text!r}") from exc
    if scheme == "ws" and not plaintext_allowed(parts.hostname):
        raise errors.InsecureTransportError(
            f"refusing to send the access token in clear to {parts.hostname}: "
            "use wss:// or https:// (plain ws:// and http:// only reach this machine "
            "or a private network)"
        )
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def http_base(ws_base: str) -> str:
    return "http" + ws_base[2:]


def _client_query(token: str, options: SignalOptions) -> str:
    query = {
        "access_token": token,
        "auto_subscribe": "1" if options.auto_subscribe else "0",
        "sdk": "python",
        "version": client.__version__,
        "protocol": str(PROTOCOL_VERSION),
        "client_protocol": "0",
        "adaptive_stream": "1" if options.adaptive_stream else "0",
        "os": platform.system().lower(),
        "os_version": platform.release(),
    }
    if options.resume_sid:
        query.update(reconnect="1", sid=options.resume_sid, reconnect_reason="1")
    return urlencode(query)


_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*")


def scrub_secrets(text: str, token: str) -> str:
    """Remove the token (servers echo it in error messages) and anything JWT-like."""
    if token:
        text = text.replace(token, "<token>")
    return _JWT.sub("<token>", text)


def _classify_refusal(status: int, message: str) -> errors.ConnectError:
    lowered = message.lower()
    if "expired" in lowered:
        return errors.TokenExpiredError("the access token has expired")
    if status == 403 or "permission" in lowered or "not allowed" in lowered:
        detail = f": {message}" if message else ""
        return errors.PermissionDeniedError(f"not allowed to join this room{detail}")
    if status == 401 or "token" in lowered or "signature" in lowered:
        detail = f": {message}" if message else ""
        return errors.TokenInvalidError(f"the access token was refused{detail}")
    if "full" in lowered or "limit" in lowered:
        return errors.RoomFullError("the room is full")
    if status == 404:
        return errors.InvalidUrlError("no LiveKit server at this address (HTTP 404)")
    return errors.ServerUnreachableError(f"the server refused the connection (HTTP {status})")


class SignalClient:
    """One signaling session.  Create a new one for every (re)join."""

    def __init__(self, on_message: MessageHandler, on_close: CloseHandler) -> None:
        self._on_message = on_message
        self._on_close = on_close
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        # Server messages in order; a str ends the stream with that reason (the socket
        # ended), None ends it silently (we closed).
        self._queue: asyncio.Queue[rtc.SignalResponse | str | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._last_pong = 0.0
        #: When the server last sent anything (monotonic clock).
        self.last_heard_at = 0.0
        self.ping_interval_s = DEFAULT_PING_INTERVAL_S
        self.ping_timeout_s = DEFAULT_PING_TIMEOUT_S
        self.rtt_ms = 0
        #: Called with each new round-trip measurement (milliseconds).
        self.on_rtt: Callable[[int], None] | None = None
        self.garbage_frames = 0

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed and not self._closed

    async def join(
        self, url: str, token: str, options: SignalOptions | None = None
    ) -> rtc.JoinResponse:
        """Open the socket and wait for the JoinResponse; raises a ConnectError."""
        options = options or SignalOptions()
        if options.resume_sid:
            raise ValueError("join() with resume_sid: use resume()")
        response = await self._open(url, token, options)
        if not isinstance(response, rtc.JoinResponse):
            await self._dispose()
            raise errors.ServerUnreachableError("the server answered a join as a resume")
        if response.ping_interval > 0:
            self.ping_interval_s = float(response.ping_interval)
        if response.ping_timeout > 0:
            self.ping_timeout_s = float(response.ping_timeout)
        self._start_loops()
        return response

    async def resume(
        self, url: str, token: str, participant_sid: str, options: SignalOptions | None = None
    ) -> rtc.ReconnectResponse:
        """Reopen the signal of a session the server still holds (LiveKit's
        ``reconnect=1&sid=``); raises a ConnectError when it does not."""
        options = dataclasses.replace(options or SignalOptions(), resume_sid=participant_sid)
        response = await self._open(url, token, options)
        if not isinstance(response, rtc.ReconnectResponse):
            # A fresh join would be a second participant of ours: not what was asked.
            await self._dispose()
            raise errors.ServerUnreachableError("the server no longer holds the session")
        self._start_loops()
        return response

    async def _open(
        self, url: str, token: str, options: SignalOptions
    ) -> rtc.JoinResponse | rtc.ReconnectResponse:
        base = websocket_base(url)
        full_url = f"{base}/rtc?{_client_query(token, options)}"
        access = NetworkAccess.for_url(
            base, extra_ca_file=options.extra_ca_file, proxy=options.proxy
        )
        self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                join = await self._open_and_join(full_url, base, token, access)
        except TimeoutError as exc:
            await self._dispose()
            raise errors.JoinTimeoutError(
                f"no answer from the server at {base} within {CONNECT_TIMEOUT_S:.0f} s"
            ) from exc
        except BaseException:
            await self._dispose()
            raise
        return join

    def _start_loops(self) -> None:
        self._last_pong = self.last_heard_at = time.monotonic()
        self._tasks = [
            spawn(self._read_loop(), "signal-read"),
            spawn(self._dispatch_loop(), "signal-dispatch"),
            spawn(self._ping_loop(), "signal-ping"),
        ]

    async def _open_and_join(
        self, full_url: str, base: str, token: str, access: NetworkAccess
    ) -> rtc.JoinResponse | rtc.ReconnectResponse:
        assert self._session is not None
        try:
            self._ws = await self._session.ws_connect(
                full_url,
                autoping=True,
                heartbeat=None,
                max_msg_size=MAX_FRAME_BYTES,
                ssl=access.ssl,
                proxy=access.proxy,
                proxy_headers=access.proxy_headers,
            )
        except aiohttp.WSServerHandshakeError as exc:
            message = await self._validate(base, token, access)
            raise _classify_refusal(exc.status, message) from None
        except aiohttp.InvalidURL:
            # No chaining: the aiohttp error holds the full URL, token included.
            raise errors.InvalidUrlError(f"invalid server address {base!r}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise access.failure(exc) or errors.ServerUnreachableError(
                f"cannot reach the server at {base}: {type(exc).__name__}"
            ) from None
        while True:
            msg = await self._ws.receive()
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.garbage_frames += 1
                log.warning("ignoring a text frame on the signaling socket")
                continue
            if msg.type != aiohttp.WSMsgType.BINARY:
                if msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.ERROR,
                ):
                    raise errors.ServerUnreachableError(
                        "the server closed the connection before the room was joined"
                    )
                continue
            response = self._parse(msg.data)
            if response is None:
                continue
            kind = response.WhichOneof("message")
            if kind == "join":
                return response.join
            if kind == "reconnect":
                return response.reconnect
            if kind == "leave":
                raise leave_error(response.leave)
            # Anything before the join response is unexpected; keep it for later.
            self._queue.put_nowait(response)

    async def _validate(self, base: str, token: str, access: NetworkAccess) -> str:
        """Ask the server why it refused the socket (LiveKit's /rtc/validate)."""
        assert self._session is not None
        try:
            async with self._session.get(
                f"{http_base(base)}/rtc/validate",
                params={"access_token": token},
                timeout=aiohttp.ClientTimeout(total=3),
                ssl=access.ssl,
                proxy=access.proxy,
                proxy_headers=access.proxy_headers,
            ) as resp:
                return scrub_secrets((await resp.text()).strip(), token)[:300]
        except (aiohttp.ClientError, TimeoutError, OSError):
            return ""

    def _parse(self, data: bytes) -> rtc.SignalResponse | None:
        response = parse_signal_response(data)
        if response is None:
            self.garbage_frames += 1
            log.warning("ignoring an undecodable signaling frame (%d bytes)", len(data))
        return response

    async def _read_loop(self) -> None:
        assert self._ws is not None
        reason = "signal connection closed"
        try:
            async for msg in self._ws:
                self.last_heard_at = time.monotonic()
                if msg.type == aiohttp.WSMsgType.BINARY:
                    response = self._parse(msg.data)
                    if response is None:
                        continue
                    kind = response.WhichOneof("message")
                    if kind in ("pong", "pong_resp"):
                        self._handle_pong(response)
                        continue
                    self._queue.put_nowait(response)
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    self.garbage_frames += 1
                    log.warning("ignoring a text frame on the signaling socket")
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    reason = f"signal connection error: {type(msg.data).__name__}"
                    break
        except (aiohttp.ClientError, OSError, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            reason = f"signal connection lost: {type(exc).__name__}"
        # Reported by the dispatcher once the messages before the end are handled: a
        # server "leave" right before it closes the socket must win over a reconnect.
        self._queue.put_nowait(reason)

    async def _dispatch_loop(self) -> None:
        while True:
            response = await self._queue.get()
            if response is None:
                return
            if isinstance(response, str):
                self._finish(response)
                return
            try:
                await self._on_message(response)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "failed to handle signaling message %s", response.WhichOneof("message")
                )

    def _handle_pong(self, response: rtc.SignalResponse) -> None:
        self._last_pong = time.monotonic()
        if response.WhichOneof("message") == "pong_resp":
            sent = response.pong_resp.last_ping_timestamp
            if sent:
                self.rtt_ms = max(0, int(time.time() * 1000) - sent)
                if self.on_rtt is not None:
                    self.on_rtt(self.rtt_ms)

    async def _ping_loop(self) -> None:
        while self.connected:
            now_ms = int(time.time() * 1000)
            await self.send(rtc.SignalRequest(ping=now_ms))
            await self.send(rtc.SignalRequest(ping_req=rtc.Ping(timestamp=now_ms, rtt=self.rtt_ms)))
            await asyncio.sleep(min(self.ping_interval_s, LIVENESS_PING_INTERVAL_S))
            if time.monotonic() - self._last_pong > self.ping_timeout_s:
                log.warning(
                    "no pong for %.0f s: the signal connection is dead", self.ping_timeout_s
                )
                self._finish("ping timeout")
                await self._close_socket()
                return

    async def send(self, request: rtc.SignalRequest) -> bool:
        """Send one request; False when the socket is already gone."""
        ws = self._ws
        if ws is None or ws.closed or self._closed:
            return False
        try:
            await ws.send_bytes(request.SerializeToString())
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            log.info("signal send failed: %s", type(exc).__name__)
            return False
        return True

    async def send_leave(self) -> None:
        await self.send(
            rtc.SignalRequest(
                leave=rtc.LeaveRequest(
                    can_reconnect=False,
                    reason=models.DisconnectReason.CLIENT_INITIATED,
                    action=rtc.LeaveRequest.Action.DISCONNECT,
                )
            )
        )

    def _finish(self, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._on_close(reason)
        except Exception:
            log.exception("signal close handler failed")

    async def _close_socket(self) -> None:
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(code=1000), 2)

    async def _dispose(self) -> None:
        await self._close_socket()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def close(self) -> None:
        """Close without reporting it (the caller decided to)."""
        self._closed = True
        # The dispatcher may be the task closing us (a server "leave"): it is not
        # cancelled below, so this sentinel is what ends it.
        self._queue.put_nowait(None)
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for task in self._tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._dispose()


def parse_signal_response(data: bytes) -> rtc.SignalResponse | None:
    """One server frame, or None if it is not a SignalResponse we know."""
    response = rtc.SignalResponse()
    try:
        response.ParseFromString(data)
    except DecodeError:
        return None
    if response.WhichOneof("message") is None:
        return None
    return response


def leave_error(leave: rtc.LeaveRequest) -> errors.ConnectError:
    reason = enum_name(models.DisconnectReason, leave.reason)
    if leave.reason == models.DisconnectReason.DUPLICATE_IDENTITY:
        return errors.DisconnectedError("someone else joined with the same identity")
    if leave.reason in (
        models.DisconnectReason.ROOM_DELETED,
        models.DisconnectReason.ROOM_CLOSED,
    ):
        return errors.DisconnectedError("the room has been closed")
    if leave.reason == models.DisconnectReason.PARTICIPANT_REMOVED:
        return errors.DisconnectedError("you were removed from the room")
    if leave.can_reconnect:
        return errors.ServerUnreachableError(f"the server asked to reconnect ({reason})")
    return errors.DisconnectedError(f"the server refused the join ({reason})")
