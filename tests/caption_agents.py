"""A real caption agent (devtools.caption_agent) for the duration of a test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from devtools.caption_agent import CaptionAgentProcess
from devtools.sandbox.livekit_server import LiveKitServer


@contextlib.asynccontextmanager
async def running_caption_agent(
    livekit_server: LiveKitServer, log_path: Path, agent_name: str, sentences: Sequence[str]
) -> AsyncIterator[CaptionAgentProcess]:
    """The worker registered under ``agent_name`` (it joins only the rooms it is
    dispatched to), stopped at the end; its log is printed (shown when a test fails)."""
    agent = CaptionAgentProcess(
        livekit_server.ws_url,
        livekit_server.api_key,
        livekit_server.api_secret,
        log_path=log_path,
        agent_name=agent_name,
        sentences=sentences,
    )
    try:
        await agent.start()
        yield agent
    finally:
        await asyncio.to_thread(agent.stop)
        print(f"--- caption agent log ({agent.log_path}) ---\n{agent.log_tail()}")
