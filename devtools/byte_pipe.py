"""Copying bytes between two asyncio streams until either side ends.

The TLS front and the CONNECT proxy both splice a client connection onto an
upstream one; this is the splice, and the server both are.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssl_module
from types import TracebackType
from typing import Self

CHUNK_BYTES = 64 * 1024


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(CHUNK_BYTES):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass  # either side vanished: the other one is closed below
    finally:
        # Half-close is not worth keeping: WebSocket and TLS both end on a full close.
        writer.close()


async def splice(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    b: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """Copy a→b and b→a; when one direction ends, close both."""
    (a_reader, a_writer), (b_reader, b_writer) = a, b
    tasks = [
        asyncio.ensure_future(_copy(a_reader, b_writer)),
        asyncio.ensure_future(_copy(b_reader, a_writer)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for writer in (a_writer, b_writer):
            writer.close()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for writer in (a_writer, b_writer):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)


class SplicingServer:
    """A local TCP server whose connections each get ``_handle``; ``start``/``close``
    or ``async with``.  Closing cancels the connections still open."""

    def __init__(self, *, host: str, port: int, ssl: ssl_module.SSLContext | None = None) -> None:
        self._host = host
        self._port = port
        self._ssl = ssl
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, ssl=self._ssl
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._handle(reader, writer)
        finally:
            self._connections.discard(task)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

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
