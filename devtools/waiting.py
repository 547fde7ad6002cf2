"""Waiting for a condition in tests, benchmarks and tools, with a clear failure."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_for(predicate: Callable[[], bool], timeout: float, what: str = "") -> float:
    """Poll until ``predicate`` holds; returns the seconds it took, fails on timeout."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(0.02)
    return time.monotonic() - start
