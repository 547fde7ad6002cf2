"""Choosing ICE servers: the UDP probe, TURN over TLS/TCP first when UDP is blocked."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCIceServer

from client.livekit import errors
from client.livekit.ice_servers import (
    choose_servers,
    parse_turn_url,
    udp_answers,
    udp_turn_endpoint,
    without_udp,
)
from devtools.sandbox.livekit_server import LiveKitServer

LIVEKIT_LIKE = [
    RTCIceServer(
        urls=[
            "turn:turn.example:3478?transport=udp",
            "turn:turn.example:3478?transport=tcp",
            "turns:turn.example:443?transport=tcp",
        ],
        username="u",
        credential="c",
    )
]


def test_turn_urls_are_parsed_with_their_defaults() -> None:
    udp = parse_turn_url("turn:10.0.0.2:3478?transport=udp")
    assert udp is not None and udp.over_udp and (udp.host, udp.port) == ("10.0.0.2", 3478)
    tls = parse_turn_url("turns:turn.example")
    assert tls is not None and (tls.port, tls.transport, tls.over_udp) == (5349, "tcp", False)
    bare = parse_turn_url("turn:[fd00::1]")
    assert bare is not None and (bare.host, bare.port, bare.transport) == ("fd00::1", 3478, "udp")
    assert parse_turn_url("stun:stun.example:3478") is None
    assert parse_turn_url("https://example") is None


def test_udp_blocked_puts_tls_then_tcp_first_and_drops_udp() -> None:
    assert udp_turn_endpoint(LIVEKIT_LIKE) == ("turn.example", 3478)
    relays = without_udp(LIVEKIT_LIKE)
    assert relays[0].urls == [
        "turns:turn.example:443?transport=tcp",
        "turn:turn.example:3478?transport=tcp",
    ]
    assert relays[0].username == "u" and relays[0].credential == "c"


async def test_udp_blocked_without_any_relay_fails_at_once() -> None:
    udp_only = [RTCIceServer(urls="turn:t:3478", username="u", credential="c")]
    with pytest.raises(errors.UdpBlockedError):
        await choose_servers(udp_only, udp_blocked=True)
    servers, blocked = await choose_servers(udp_only, udp_blocked=False)
    assert servers == udp_only and blocked is False


async def test_the_probe_gets_an_answer_from_a_real_turn_server(
    livekit_server: LiveKitServer,
) -> None:
    assert await udp_answers(livekit_server.host_ip, 3478)
    servers, blocked = await choose_servers(
        [RTCIceServer(urls=f"turn:{livekit_server.host_ip}:3478", username="u", credential="c")]
    )
    assert blocked is False and len(servers) == 1


async def test_the_probe_ignores_silence_and_foreign_datagrams() -> None:
    loop = asyncio.get_running_loop()

    class Echo(asyncio.DatagramProtocol):
        """Answers with garbage, never with our STUN transaction."""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
            assert isinstance(self.transport, asyncio.DatagramTransport)
            self.transport.sendto(b"\x01\x01" + b"\x00" * 30, addr)

    transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        assert not await udp_answers("127.0.0.1", port, timeout_s=0.5)
    finally:
        transport.close()
