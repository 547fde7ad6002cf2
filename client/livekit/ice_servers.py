"""Which ICE servers a session uses, and finding out whether UDP gets through.

aiortc uses a single TURN server per PeerConnection: the first usable ``turn:``
or ``turns:`` URL.  LiveKit lists its embedded TURN server over UDP first, which
is right on an open network (media then goes straight to the SFU over UDP and the
relay is never used) and useless behind a firewall that drops UDP, where only a
relay reached over TCP or TLS works.  Trying TLS first everywhere would cost every
join a TLS handshake and an allocation before the first offer (aiortc gathers all
candidates before it sends one), and a silent TLS port would cost a 5 s gathering
timeout.  So the session first asks the TURN server's UDP port one STUN binding
request (one round trip on an open network); only when no answer comes does it
put TURN over TLS, then TCP, first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import ssl
import struct
from dataclasses import dataclass

from aiortc import RTCIceServer, RTCPeerConnection
from livekit.protocol import rtc

from client.livekit import errors
from client.livekit.ice_restart import ice_connections

#: STUN binding request retransmissions (seconds after the first send).
PROBE_RETRANSMIT_S = (0.0, 0.15, 0.4, 0.8)
PROBE_TIMEOUT_S = 1.2

_MAGIC_COOKIE = 0x2112A442
_BINDING_REQUEST = 0x0001
_URL = re.compile(r"^(?P<scheme>stun|turns?):(?P<host>\[[^\]]+\]|[^?:]+)(?::(?P<port>\d+))?")


@dataclass(frozen=True)
class TurnUrl:
    scheme: str
    host: str
    port: int
    transport: str  # "udp" or "tcp" ("turns:" is TLS over TCP)

    @property
    def over_udp(self) -> bool:
        return self.scheme == "turn" and self.transport == "udp"


def parse_turn_url(url: str) -> TurnUrl | None:
    match = _URL.match(url)
    if match is None or match["scheme"] == "stun":
        return None
    scheme = match["scheme"]
    query = url.partition("?")[2]
    transport = dict(
        part.partition("=")[::2] for part in query.split("&") if part.startswith("transport=")
    ).get("transport", "tcp" if scheme == "turns" else "udp")
    default_port = 5349 if scheme == "turns" else 3478
    port = int(match["port"]) if match["port"] else default_port
    return TurnUrl(scheme, match["host"].strip("[]"), port, transport)


def servers_from_join(join: rtc.JoinResponse) -> list[RTCIceServer]:
    """The server's ICE servers, as aiortc takes them (stun:, turn:, turns: only)."""
    servers: list[RTCIceServer] = []
    for server in join.ice_servers:
        urls = [u for u in server.urls if u.split(":", 1)[0] in ("stun", "turn", "turns")]
        if urls:
            servers.append(
                RTCIceServer(
                    urls=urls,
                    username=server.username or None,
                    credential=server.credential or None,
                )
            )
    return servers


def udp_turn_endpoint(servers: list[RTCIceServer]) -> tuple[str, int] | None:
    for server in servers:
        for url in _urls(server):
            parsed = parse_turn_url(url)
            if parsed is not None and parsed.over_udp:
                return parsed.host, parsed.port
    return None


def without_udp(servers: list[RTCIceServer]) -> list[RTCIceServer]:
    """The TURN URLs a UDP-blocked network can use, TLS first (port 443 or 5349
    passes more firewalls and proxies than a plain TCP stream), then TCP."""

    def rank(url: str) -> int:
        parsed = parse_turn_url(url)
        return 0 if parsed is not None and parsed.scheme == "turns" else 1

    kept: list[tuple[int, RTCIceServer]] = []
    for server in servers:
        urls = [u for u in _urls(server) if (p := parse_turn_url(u)) is not None and not p.over_udp]
        if urls:
            urls.sort(key=rank)
            kept.append(
                (
                    rank(urls[0]),
                    RTCIceServer(urls=urls, username=server.username, credential=server.credential),
                )
            )
    kept.sort(key=lambda item: item[0])
    return [server for _, server in kept]


def _urls(server: RTCIceServer) -> list[str]:
    return list(server.urls) if isinstance(server.urls, list) else [server.urls]


def trust_relay_with(pc: RTCPeerConnection, context: ssl.SSLContext) -> int:
    """Make the TURN-over-TLS connections of ``pc`` verify with ``context``.

    aioice opens them with asyncio's default context (OpenSSL's CA paths), which
    ignores the trust settings the signaling connection uses (the system store
    through truststore, an extra CA file).  Must run before the PeerConnection
    gathers, i.e. before each setLocalDescription; returns how many ICE
    connections were set."""
    count = 0
    for connection in ice_connections(pc):
        if connection.turn_ssl is True or isinstance(connection.turn_ssl, ssl.SSLContext):
            # Typed bool in aioice, but handed to create_connection(ssl=...) as is.
            connection.turn_ssl = context  # type: ignore[assignment]
            count += 1
    return count


class _ProbeProtocol(asyncio.DatagramProtocol):
    def __init__(self, transaction: bytes) -> None:
        self.transaction = transaction
        self.answered = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        # Any STUN response (success or error) for our transaction proves the path.
        if len(data) >= 20 and data[8:20] == self.transaction and data[0] & 0xC0 == 0:
            self.answered.set()

    # ICMP errors prove nothing: a firewall's REJECT looks like a closed port.


async def udp_answers(host: str, port: int, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a STUN binding request to host:port over UDP gets any answer."""
    transaction = os.urandom(12)
    request = struct.pack("!HHI", _BINDING_REQUEST, 0, _MAGIC_COOKIE) + transaction
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _ProbeProtocol(transaction), remote_addr=(host, port)
        )
    except OSError:
        return False
    try:
        started = loop.time()
        for at in PROBE_RETRANSMIT_S:
            delay = started + at - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await protocol.answered.wait()
            if protocol.answered.is_set():
                return True
            transport.sendto(request)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, started + timeout_s - loop.time())):
                await protocol.answered.wait()
        return protocol.answered.is_set()
    finally:
        transport.close()


async def choose_servers(
    servers: list[RTCIceServer], *, udp_blocked: bool | None = None
) -> tuple[list[RTCIceServer], bool]:
    """The servers to use and whether UDP was found blocked (probing when unknown).

    Raises MediaConnectionError at once when UDP is blocked and no relay over TCP
    or TLS is offered: nothing could get through, and waiting would only delay
    the message."""
    endpoint = udp_turn_endpoint(servers)
    if udp_blocked is None:
        udp_blocked = endpoint is not None and not await udp_answers(*endpoint)
    if not udp_blocked:
        return servers, False
    relays = without_udp(servers)
    if not relays:
        raise errors.UdpBlockedError(
            "this network blocks UDP, and the server offers no relay over TCP or TLS"
        )
    return relays, True
