"""Room for bursts in the media sockets' receive buffers.

With bundling, every remote participant's audio and video arrive on one UDP socket.
Keyframes come in bursts of dozens of packets, and the core thread shares two cores
with decoding, conversion and painting: while it waits for its turn, the kernel
queues datagrams in the socket's receive buffer, and what does not fit is dropped
(each drop then costs a retransmission or a keyframe).  aioice asks for 256 KiB,
a fraction of a second of a busy grid; we ask for ``RECEIVE_BUFFER_BYTES``, which
the kernel caps at ``rmem_max`` (no privilege needed).

aioice reads the size from ``aioice.turn.UDP_SOCKET_BUFFER_SIZE`` each time it
opens a socket (host candidates and TURN relays alike); that module attribute is
what we raise.  ``tests/test_socket_buffers.py`` checks the result on real sockets.
"""

from __future__ import annotations

from aioice import turn

RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024


def install() -> None:
    """Idempotent."""
    turn.UDP_SOCKET_BUFFER_SIZE = max(turn.UDP_SOCKET_BUFFER_SIZE, RECEIVE_BUFFER_BYTES)


def installed() -> bool:
    return turn.UDP_SOCKET_BUFFER_SIZE >= RECEIVE_BUFFER_BYTES
