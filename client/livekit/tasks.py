"""Background tasks whose failures are never lost.

asyncio only reports an exception nobody retrieved when the task is collected,
if at all.  Every side task of the core is started through a ``TaskGroup`` here:
it keeps a reference (so the task is not collected mid-way), logs the exception
of a task that failed, and can cancel and await them all at teardown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def log_failure(task: asyncio.Task[Any]) -> None:
    """Done-callback: retrieve a finished task's exception and log it."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("background task %s failed", task.get_name(), exc_info=exc)


def spawn(coroutine: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
    """Start a task whose exception, if any, is logged instead of lost."""
    task = asyncio.ensure_future(coroutine)
    task.set_name(name)
    task.add_done_callback(log_failure)
    return task


class TaskGroup:
    """The side tasks of one object; ``close`` cancels and awaits them."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coroutine: Coroutine[Any, Any, T], name: str = "") -> asyncio.Task[T]:
        task = spawn(coroutine, f"{self._owner}:{name or 'task'}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.difference_update(tasks)
