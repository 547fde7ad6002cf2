"""ICE restart on a live aiortc PeerConnection, which aiortc itself cannot do.

When our signal connection resumes after a short outage, the LiveKit server keeps
our session and restarts ICE on its subscriber transport: its next offer carries
new ICE credentials.  aiortc ignores them and keeps checking with the old ones, so
the server's media never reaches us again.  A new PeerConnection would not help:
the server keeps its DTLS session, and a new one would bring a new certificate.

What does work is restarting ICE inside the existing aioice connection: new local
credentials (they go into our answer), a fresh check list against the new remote
credentials and candidates, the same sockets and local candidates (the network has
not changed, or we would have rejoined instead), and the same receive queue, so the
DTLS transport above never notices.  Until a new pair is nominated, sending goes on
over the old one.

Everything here reaches into aioice 0.13 and aiortc 1.16 internals;
``tests/test_ice_restart.py`` fails if a release changes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import weakref
from collections.abc import Iterable

from aioice import Connection
from aioice.ice import CandidatePair, get_host_addresses
from aioice.utils import random_string
from aiortc import RTCPeerConnection

from client.livekit.tasks import spawn

log = logging.getLogger(__name__)

_ICE_TRANSPORTS_SLOT = "_RTCPeerConnection__iceTransports"
#: The check run of each connection being restarted.
_RESTARTS: weakref.WeakKeyDictionary[Connection, asyncio.Task[bool]] = weakref.WeakKeyDictionary()
_UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.MULTILINE)
_PASSWORD = re.compile(r"^a=ice-pwd:(\S+)", re.MULTILINE)


def ice_connections(pc: RTCPeerConnection) -> list[Connection]:
    return [t.iceGatherer._connection for t in getattr(pc, _ICE_TRANSPORTS_SLOT, ())]


def ice_credentials(sdp: str) -> tuple[str, str] | None:
    ufrag, password = _UFRAG.search(sdp), _PASSWORD.search(sdp)
    if ufrag is None or password is None:
        return None
    return ufrag.group(1), password.group(1)


def restarts_ice(pc: RTCPeerConnection, offer_sdp: str) -> bool:
    """Whether a new remote offer changes the ICE credentials in use."""
    new = ice_credentials(offer_sdp)
    return new is not None and any(
        c.remote_username is not None and c.remote_username != new[0] for c in ice_connections(pc)
    )


def local_addresses_changed(pc: RTCPeerConnection) -> bool:
    """Whether a host candidate's address is no longer on this machine (a new
    network): the old candidates are then useless and only a rejoin helps."""
    current = set(get_host_addresses(use_ipv4=True, use_ipv6=True))
    for connection in ice_connections(pc):
        hosts = {c.host for c in connection.local_candidates if c.type == "host"}
        if hosts and not hosts & current:
            return True
    return False


class _KeepSendingOverOldPair:
    """``Connection.sendto`` for the time of a restart: the old pair until a new one."""

    def __init__(self, connection: Connection, old: dict[int, CandidatePair]) -> None:
        self._connection = connection
        self._old = old

    async def __call__(self, data: bytes, component: int) -> None:
        pair = self._connection._nominated.get(component) or self._old.get(component)
        if pair is None:
            # Lost, as on a network with no path yet: SCTP and RTCP retransmit, and an
            # error here would stop aiortc's senders for good.
            return
        await pair.protocol.send_data(data, pair.remote_addr)


class _KeepReceiving:
    """``Connection.recvfrom`` for the time of a restart: aioice refuses to receive
    while no pair is nominated, which would end the DTLS transport above."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def __call__(self) -> tuple[bytes, int]:
        result = await self._connection._queue.get()
        if result is None:
            raise ConnectionError("Connection lost while receiving data")
        return result


async def prepare_restart(pc: RTCPeerConnection) -> list[Connection]:
    """Give each ICE connection of ``pc`` new local credentials and an empty check
    list, before the restarting offer is applied (aiortc then feeds it the offer's
    candidates) and answered (the answer carries the new credentials)."""
    prepared = []
    for transport in getattr(pc, _ICE_TRANSPORTS_SLOT, ()):
        connection: Connection = transport.iceGatherer._connection
        running = _RESTARTS.pop(connection, None)
        if running is not None and not running.done():
            # A second restart before the first one finished: one check list at a time.
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        consent = connection._query_consent_task
        if consent is not None and not consent.done():
            consent.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consent
        connection._query_consent_task = None
        for pair in connection._check_list:
            if pair.task is not None:
                pair.task.cancel()
        old = dict(connection._nominated)
        connection.sendto = _KeepSendingOverOldPair(connection, old)  # type: ignore[method-assign]
        connection.recvfrom = _KeepReceiving(connection)  # type: ignore[method-assign]
        connection._check_list = []
        connection._check_list_done = False
        connection._check_list_state = asyncio.Queue()
        connection._nominated = {}
        connection._nominating = set()
        connection._remote_candidates = []
        connection._remote_candidates_end = False
        connection._early_checks.clear()
        connection._early_checks_done = False
        connection._local_username = random_string(4)
        connection._local_password = random_string(22)
        connection.remote_username = None
        connection.remote_password = None
        transport.iceGatherer._remote_candidates_end = False
        prepared.append(connection)
    return prepared


def finish_restart(connections: Iterable[Connection], offer_sdp: str) -> list[asyncio.Task[bool]]:
    """Check against the offer's credentials once the answer is sent; the tasks
    end True when a new pair is nominated (consent checks then resume)."""
    credentials = ice_credentials(offer_sdp)
    tasks = []
    for connection in connections:
        if credentials is None:
            continue
        connection.remote_username, connection.remote_password = credentials
        task = spawn(_connect(connection), "ice-restart")
        _RESTARTS[connection] = task
        tasks.append(task)
    return tasks


async def _connect(connection: Connection) -> bool:
    try:
        await connection.connect()
    except ConnectionError as exc:
        log.warning("ICE restart failed: %s", exc)
        return False
    log.info("ICE restarted")
    return True


async def refresh_consent(pc: RTCPeerConnection) -> None:
    """Send a connectivity check on each selected pair now.  After an outage the
    server's ICE agent counts the path as lost until it hears a check again, and
    aioice only sends its consent checks every 4 to 6 s."""
    for connection in ice_connections(pc):
        if connection.remote_password is None:
            continue
        key = connection.remote_password.encode("utf8")
        for pair in list(connection._nominated.values()):
            request = connection.build_request(pair, nominate=False)
            with contextlib.suppress(Exception):
                await pair.protocol.request(
                    request, pair.remote_addr, integrity_key=key, retransmissions=2
                )
