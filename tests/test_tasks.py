"""Background tasks: a failure is logged, never lost; a group ends all its tasks."""

from __future__ import annotations

import asyncio

import pytest

from client.livekit.tasks import TaskGroup, spawn


async def test_a_failed_background_task_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    with caplog.at_level("ERROR"):
        task = spawn(broken(), "broken-side-task")
        await asyncio.sleep(0.01)
    assert task.done()
    record = next(r for r in caplog.records if "broken-side-task" in r.getMessage())
    assert record.exc_info is not None and "boom" in str(record.exc_info[1])


async def test_a_cancelled_task_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR"):
        task = spawn(asyncio.sleep(10), "sleeper")
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.sleep(0.01)
    assert not caplog.records


async def test_a_group_cancels_and_awaits_its_tasks() -> None:
    group = TaskGroup("owner")
    ended: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.sleep(100)
        finally:
            ended.append(name)

    group.spawn(forever("a"), "a")
    group.spawn(forever("b"), "b")
    await asyncio.sleep(0)
    assert len(group) == 2
    await group.close()
    assert sorted(ended) == ["a", "b"]
    assert len(group) == 0
