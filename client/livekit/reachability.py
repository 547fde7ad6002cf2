"""Waiting for the server to be reachable again, and noticing it at once.

While a link is cut, a TCP connection attempt hangs: its SYN is retransmitted
after 1, 3, 7, 15 s, so one attempt started during the cut notices the link's
return up to several seconds late.  Instead, a fresh attempt starts every
``STAGGER_S`` while the older ones keep waiting (on a slow link an attempt may
legitimately need seconds); the first one that connects means the path works.
Attempts that fail at once (network unreachable, connection refused while the
server restarts) are simply retried on the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlsplit

STAGGER_S = 0.25
ATTEMPT_TIMEOUT_S = 5.0


def endpoint_of(url: str) -> tuple[str, int]:
    """Host and TCP port of a ws(s)/http(s) URL."""
    parts = urlsplit(url)
    secure = parts.scheme in ("wss", "https")
    return parts.hostname or "", parts.port or (443 if secure else 80)


def first_hop(url: str, proxy: str | None) -> tuple[str, int]:
    """Where the TCP connection to the server really goes: its proxy, if any."""
    return endpoint_of(proxy) if proxy else endpoint_of(url)


async def _try_connect(host: str, port: int, timeout_s: float) -> bool:
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def wait_reachable(
    host: str,
    port: int,
    *,
    stagger_s: float = STAGGER_S,
    attempt_timeout_s: float = ATTEMPT_TIMEOUT_S,
    deadline_s: float | None = None,
) -> bool:
    """Return True as soon as a TCP connection to host:port succeeds, False when
    ``deadline_s`` (if any) passes first."""
    started = time.monotonic()
    pending: set[asyncio.Task[bool]] = set()
    try:
        while deadline_s is None or time.monotonic() - started < deadline_s:
            pending.add(asyncio.ensure_future(_try_connect(host, port, attempt_timeout_s)))
            done, pending = await asyncio.wait(
                pending, timeout=stagger_s, return_when=asyncio.FIRST_COMPLETED
            )
            if any(task.result() for task in done):
                return True
            if done and not pending:
                # Failed at once (refused, unreachable): don't spin faster than the tick.
                await asyncio.sleep(stagger_s)
        return False
    finally:
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
