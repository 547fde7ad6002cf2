"""The call benchmark: our client in a real call, against the cost of its codecs.

A local livekit-server runs in a private network namespace; ``participants - 1``
peers (official SDK, another process) each publish 640x360@30 VP8 and a tone; our
client joins, publishes the same, and receives them all.  Over the measurement
window we read our process's CPU, the latency from each peer's capture to our
decoded frame (glass to glass, from the stamps in the frames), the frame rate of
every received track and our memory.  In the same run, the pure PyAV encode and
decode of the same streams gives the codec floor, and the ratio between the two
says what everything but the codecs costs.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field

import av

from bench.codec_floor import measure_codec_floor_isolated
from bench.measures import cpu_seconds, percentile, rss_mb
from client.livekit import events as ev
from client.livekit.participant import TrackSource
from client.livekit.remote_track import RemoteTrack
from client.livekit.room import Room, RoomOptions
from client.media.test_sources import TestPatternTrack, ToneTrack
from client.media.video_analysis import read_stamp
from devtools import sdk_peers
from devtools.sandbox.livekit_server import LiveKitServer, ensure_server_binary
from devtools.sandbox.tokens import mint_token

ROOM = "bench"
WARMUP_S = 3.0


@dataclass
class _VideoProbe:
    window_open: bool = False
    latencies_ms: list[float] = field(default_factory=list)
    counters: set[int] = field(default_factory=set)

    def __call__(self, frame: av.VideoFrame | av.AudioFrame) -> None:
        if not self.window_open or not isinstance(frame, av.VideoFrame):
            return
        stamp = read_stamp(frame)
        if stamp is None:
            return
        self.counters.add(stamp.counter)
        self.latencies_ms.append(time.time() * 1000 - stamp.capture_time_ms)


@dataclass(frozen=True)
class CallFigures:
    participants: int
    seconds: float
    cpu_percent: float
    codec_floor_cpu_percent: float
    cpu_ratio_vs_floor: float
    glass_to_glass_ms_p50: float
    glass_to_glass_ms_p95: float
    join_to_first_frame_ms: float
    rss_mb: float
    fps_received_min: float
    fps_received_mean: float
    frames_published: int
    receive_bitrate_kbps: float


def _thread_cpu() -> dict[str, float]:
    """CPU seconds per thread name (threads of one name added up), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as stat:
                text = stat.read()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        key = "main" if tid == str(os.getpid()) else name
        totals[key] = totals.get(key, 0.0) + seconds
    return totals


async def _transport_bytes(room: Room) -> int:
    engine = room.engine
    if engine is None or engine.subscriber is None:
        return 0
    report = await engine.subscriber.pc.getStats()
    return sum(
        int(getattr(s, "bytesReceived", 0) or 0) for s in report.values() if s.type == "transport"
    )


async def run_call(participants: int, seconds: float, log: bool = True) -> CallFigures:
    def say(text: str) -> None:
        if log:
            print(text, file=sys.stderr, flush=True)

    remote_count = participants - 1
    await asyncio.to_thread(ensure_server_binary)
    server = LiveKitServer()
    await asyncio.to_thread(server.start)
    peers: subprocess.Popen[str] | None = None
    try:

        def token(identity: str) -> str:
            return mint_token(server.api_key, server.api_secret, identity=identity, room=ROOM)

        tokens = [token(f"peer-{i}") for i in range(remote_count)]
        peers = await asyncio.to_thread(sdk_peers.start_peers, server.ws_url, tokens)
        say(f"{remote_count} SDK peers publishing; joining")

        room = Room(RoomOptions(ice_servers=[]))
        probes: dict[str, _VideoProbe] = {}
        first_frame = asyncio.get_running_loop().create_future()

        def on_subscribed(event: ev.TrackSubscribed) -> None:
            track: RemoteTrack = event.track
            if event.publication.kind != "video":
                return
            probe = _VideoProbe()
            probes[event.publication.sid] = probe
            track.add_sink(probe)

            def first(_: object) -> None:
                if not first_frame.done():
                    first_frame.set_result(time.monotonic())

            remove = track.add_sink(first)
            first_frame.add_done_callback(lambda _: remove())

        room.events.on(ev.TrackSubscribed, on_subscribed)
        joined_at = time.monotonic()
        await room.connect(server.ws_url, token("visio-desktop"))
        first_at = await asyncio.wait_for(first_frame, 15)
        join_to_first_frame_ms = (first_at - joined_at) * 1000
        say(f"first remote frame {join_to_first_frame_ms:.0f} ms after join")

        pattern = TestPatternTrack()
        await room.publish_track(pattern, TrackSource.CAMERA, width=640, height=360)
        await room.publish_track(ToneTrack(440.0), TrackSource.MICROPHONE)
        deadline = time.monotonic() + 15
        while len(probes) < remote_count and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(WARMUP_S)

        say(f"measuring for {seconds:.0f} s")
        for probe in probes.values():
            probe.window_open = True
        threads_start = _thread_cpu()
        cpu_start, wall_start = cpu_seconds(), time.monotonic()
        bytes_start = await _transport_bytes(room)
        await asyncio.sleep(seconds)
        wall = time.monotonic() - wall_start
        cpu = cpu_seconds() - cpu_start
        bytes_received = await _transport_bytes(room) - bytes_start
        threads_end = _thread_cpu()
        for name in sorted(threads_end, key=lambda n: -threads_end[n]):
            spent = threads_end[name] - threads_start.get(name, 0.0)
            if spent > 0.05:
                say(f"  thread {name:20} {spent / wall * 100:5.1f} % of a core")
        for probe in probes.values():
            probe.window_open = False
        rss = rss_mb()
        frames_published = pattern.frames_sent
        await room.disconnect()
    finally:
        if peers is not None:
            sdk_peers.stop_peers(peers)
        await asyncio.to_thread(server.stop)

    fps = [len(p.counters) / wall for p in probes.values()] or [0.0]
    fps += [0.0] * (remote_count - len(probes))
    latencies = [x for p in probes.values() for x in p.latencies_ms]
    per_stream_bps = bytes_received * 8 / wall / max(1, remote_count)
    say("measuring the codec floor (pure PyAV, same streams)")
    floor = await asyncio.to_thread(
        measure_codec_floor_isolated,
        publish_streams=1,
        receive_streams=remote_count,
        seconds=seconds,
        receive_bitrate=int(per_stream_bps),
    )
    cpu_percent = cpu / wall * 100
    return CallFigures(
        participants=participants,
        seconds=round(wall, 2),
        cpu_percent=round(cpu_percent, 1),
        codec_floor_cpu_percent=round(floor.cpu_percent, 1),
        cpu_ratio_vs_floor=round(cpu_percent / floor.cpu_percent, 2),
        glass_to_glass_ms_p50=round(percentile(latencies, 0.5), 1),
        glass_to_glass_ms_p95=round(percentile(latencies, 0.95), 1),
        join_to_first_frame_ms=round(join_to_first_frame_ms, 1),
        rss_mb=round(rss, 1),
        fps_received_min=round(min(fps), 1),
        fps_received_mean=round(statistics.fmean(fps), 1),
        frames_published=frames_published,
        receive_bitrate_kbps=round(per_stream_bps / 1000, 1),
    )


def main_call(participants: int, seconds: float, as_json: bool, loop: str = "asyncio") -> int:
    from devtools.sandbox.livekit_server import enter_sandbox_with_server

    if participants < 2:
        print("a call needs at least 2 participants", file=sys.stderr)
        return 2
    enter_sandbox_with_server()
    if loop == "uvloop":
        import uvloop

        figures = uvloop.run(run_call(participants, seconds))
    else:
        figures = asyncio.run(run_call(participants, seconds))
    if not as_json:
        for key, value in asdict(figures).items():
            print(f"{key:28} {value}")
    print(json.dumps(asdict(figures)))
    return 0
