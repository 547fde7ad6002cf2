"""The media sockets aioice opens get a large receive buffer."""

from __future__ import annotations

import socket

from aioice import Connection

from client.livekit import aiortc_compat, socket_buffers


async def test_aioice_sockets_get_a_large_receive_buffer() -> None:
    assert aiortc_compat.internals_available() and socket_buffers.installed()
    socket_buffers.install()  # idempotent
    connection = Connection(ice_controlling=True)
    try:
        await connection.gather_candidates()
        sizes = [
            protocol.transport.get_extra_info("socket").getsockopt(
                socket.SOL_SOCKET, socket.SO_RCVBUF
            )
            for protocol in connection._protocols
        ]
        assert sizes
        with (
            open("/proc/sys/net/core/rmem_default") as default,
            open("/proc/sys/net/core/rmem_max") as maximum,
        ):
            rmem_default, rmem_max = int(default.read()), int(maximum.read())
        # Linux doubles the value asked for (bookkeeping), capped at twice rmem_max.
        granted = min(2 * socket_buffers.RECEIVE_BUFFER_BYTES, 2 * rmem_max)
        assert all(size == granted for size in sizes), (sizes, rmem_default, rmem_max)
        assert granted > 2 * rmem_default or rmem_max <= rmem_default
    finally:
        await connection.close()
