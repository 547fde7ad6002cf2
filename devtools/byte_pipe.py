"""Copying bytes between two asyncio streams until either side ends.

The TLS front and the CONNECT proxy both splice a client connection onto an
upstream one; this is the splice.
"""

from __future__ import annotations

import asyncio
import contextlib

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
