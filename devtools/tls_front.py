"""A TLS-terminating TCP front for a plain server, as a reverse proxy would be.

The sandbox livekit-server speaks plain ws://; tests of certificate handling need a
wss:// endpoint with a certificate they control.  ``TlsFront`` listens with a given
certificate and key, and forwards the decrypted bytes of every connection to the
upstream address unchanged (the WebSocket upgrade included).  It runs on the caller's
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from pathlib import Path
from types import TracebackType
from typing import Self

from devtools.byte_pipe import splice

log = logging.getLogger(__name__)


class TlsFront:
    """``async with TlsFront(cert, key, ("10.77.0.2", 7880)) as front: front.url``."""

    def __init__(
        self,
        cert_file: Path,
        key_file: Path,
        upstream: tuple[str, int],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert_file, key_file)
        self._upstream = upstream
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        #: Connections whose TLS handshake completed and that reached the upstream.
        self.connections = 0

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """The wss:// address of the front (its IP: name the host yourself if needed)."""
        return f"wss://{self._host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, ssl=self._context
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            try:
                upstream = await asyncio.wait_for(asyncio.open_connection(*self._upstream), 5)
            except (OSError, TimeoutError) as exc:
                log.warning("TLS front: upstream %s unreachable: %s", self._upstream, exc)
                writer.close()
                return
            self.connections += 1
            await splice((reader, writer), upstream)
        finally:
            self._connections.discard(task)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            for task in list(self._connections):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
