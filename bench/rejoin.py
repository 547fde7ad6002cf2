"""The rejoin benchmark: does a session that ends leave anything behind?

Our client joins a room where one official-SDK peer (another process) publishes
video and a tone, publishes its own pattern and tone, then loses its signal
socket ``count`` times.  Each time the room rejoins on a new session and
republishes.  We print our process's memory before and after (after a warm-up),
how many engines and PeerConnections are still alive (only the current one's
should be), and how long the rejoins took.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import statistics
import subprocess
import time
import weakref
from dataclasses import asdict, dataclass
from typing import Any

from bench.measures import rss_mb
from client.livekit import events as ev
from client.livekit.engine import Engine
from client.livekit.participant import TrackSource
from client.livekit.room import Room, RoomOptions
from client.media.test_sources import TestPatternTrack, ToneTrack
from devtools import sdk_peers
from devtools.sandbox.livekit_server import LiveKitServer, ensure_server_binary
from devtools.sandbox.tokens import mint_token

ROOM = "bench-rejoin"


@dataclass(frozen=True)
class RejoinFigures:
    rejoins: int
    rss_start_mb: float
    rss_end_mb: float
    rss_growth_mb_per_rejoin: float
    #: The same after returning freed heap to the system (glibc ``malloc_trim``):
    #: what is still in use, without the allocator's fragmentation.
    rss_trimmed_start_mb: float
    rss_trimmed_end_mb: float
    rss_trimmed_growth_mb_per_rejoin: float
    engines_alive: int
    peer_connections_alive: int
    rejoin_s_p50: float
    rejoin_s_max: float


def trimmed_rss_mb() -> float:
    """RSS once the allocator has given back what it holds free (Linux/glibc)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_mb()


async def drop_signal(room: Room) -> None:
    """Close our session's signal socket, as a network drop would end it."""
    engine = room.engine
    if engine is None or engine.signal._ws is None:
        raise RuntimeError("no session to drop")
    await engine.signal._ws.close()


async def rejoin_once(room: Room, timeout_s: float = 20.0) -> float:
    """Drop the session and wait until the room is connected again; returns seconds."""
    before = room.reconnect_count
    start = time.monotonic()
    await drop_signal(room)
    while room.reconnect_count == before or room.state != ev.ConnectionState.CONNECTED:
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"no rejoin within {timeout_s:.0f} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def _track(room: Room, engines: weakref.WeakSet[Engine], pcs: weakref.WeakSet[Any]) -> None:
    engine = room.engine
    if engine is not None:
        engines.add(engine)
        for transport in (engine.publisher, engine.subscriber):
            if transport is not None:
                pcs.add(transport.pc)


async def measure_rejoins(room: Room, count: int, warmup: int = 5) -> RejoinFigures:
    """Rejoin ``warmup`` times, then ``count`` times with memory read around them.

    Only this room's own engines and PeerConnections are counted (weakly held), so
    other calls in the same process do not blur the figure."""
    engines: weakref.WeakSet[Engine] = weakref.WeakSet()
    pcs: weakref.WeakSet[Any] = weakref.WeakSet()
    _track(room, engines, pcs)
    for _ in range(warmup):
        await rejoin_once(room)
        _track(room, engines, pcs)
    gc.collect()
    start_mb = rss_mb()
    trimmed_start_mb = trimmed_rss_mb()
    durations = []
    for _ in range(count):
        durations.append(await rejoin_once(room))
        _track(room, engines, pcs)
    gc.collect()
    end_mb = rss_mb()
    trimmed_end_mb = trimmed_rss_mb()
    return RejoinFigures(
        rejoins=count,
        rss_start_mb=round(start_mb, 1),
        rss_end_mb=round(end_mb, 1),
        rss_growth_mb_per_rejoin=round((end_mb - start_mb) / count, 3),
        rss_trimmed_start_mb=round(trimmed_start_mb, 1),
        rss_trimmed_end_mb=round(trimmed_end_mb, 1),
        rss_trimmed_growth_mb_per_rejoin=round((trimmed_end_mb - trimmed_start_mb) / count, 3),
        engines_alive=len(engines),
        peer_connections_alive=len(pcs),
        rejoin_s_p50=round(statistics.median(durations), 3),
        rejoin_s_max=round(max(durations), 3),
    )


def start_sdk_peer(url: str, token: str) -> subprocess.Popen[str]:
    """One official-SDK peer publishing video and a tone, in a process of its own."""
    return sdk_peers.start_peers(url, [token])


async def join_and_publish(url: str, token: str) -> Room:
    # Full rejoins are what is measured: each one is a new session, its engine and
    # PeerConnections must all go (a resumed session keeps its own).
    room = Room(RoomOptions(ice_servers=[], resume=False))
    await room.connect(url, token)
    await room.publish_track(TestPatternTrack(), TrackSource.CAMERA, width=640, height=360)
    await room.publish_track(ToneTrack(440.0), TrackSource.MICROPHONE)
    return room


async def run_rejoins(count: int) -> RejoinFigures:
    await asyncio.to_thread(ensure_server_binary)
    server = LiveKitServer()
    await asyncio.to_thread(server.start)
    try:

        def token(identity: str) -> str:
            return mint_token(server.api_key, server.api_secret, identity=identity, room=ROOM)

        peer = await asyncio.to_thread(start_sdk_peer, server.ws_url, token("peer"))
        try:
            room = await join_and_publish(server.ws_url, token("ours"))
            try:
                return await measure_rejoins(room, count)
            finally:
                await room.disconnect()
        finally:
            sdk_peers.stop_peers(peer)
    finally:
        await asyncio.to_thread(server.stop)


def main_rejoin(count: int, as_json: bool) -> int:
    from devtools.sandbox.livekit_server import enter_sandbox_with_server

    enter_sandbox_with_server()
    figures = asyncio.run(run_rejoins(count))
    if not as_json:
        for key, value in asdict(figures).items():
            print(f"{key:28} {value}")
    print(json.dumps(asdict(figures)))
    return 0
