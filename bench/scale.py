"""The scale benchmark: a 17-person call, our client receiving 16 simulcast cameras.

A local livekit-server runs in a private network namespace; ``peers`` official-SDK
participants (processes of their own, ``devtools.sdk_peers --simulcast``) each
publish a 1280x720 webcam-like scene (:mod:`client.media.camera_scene`) as VP8
simulcast, 720p/360p/180p layers; ``SPEAKERS`` of them also a tone.  Our client
(:class:`client.livekit.room.Room`, in this process; it publishes nothing)
subscribes to everything.  Two phases of the same length follow in the same call:

``thumbnail``
    every video track is asked for at 320x180 (``Room.set_track_settings``), the
    size of a tile in a 16-tile grid, so the server forwards the 180p layer;
``full``
    every video track is asked for at 1280x720, so the server forwards the 720p
    layer (``received_width`` says what actually arrived).

The SFU's congestion control is off by default, as in ``bench render``: with it
on, the server fits what it forwards into the downlink our receiver estimates,
and over this loopback that estimate (aiortc's) stays far below what the link
carries, so the server would send lower layers, fewer temporal layers (a
fraction of the frame rate) or pause tracks whatever we ask for.  That measures
the estimator, not the client's capacity to receive; ``--congestion-control``
runs it that way to see the effect.

For each phase: ``cpu_percent`` is our process's CPU (user + system, all threads,
from ``resource``) over the window, as a share of one core.  The peers and the
server are other processes, so they are not counted; the peers' own CPU is given
as ``peers_cpu_percent`` to show how busy the machine was.  ``fps_received_min``
is the lowest per-track rate of distinct stamped frames decoded;
``frames_dropped_percent`` compares, per track, the stamp counters decoded with
the span of counters the window covered (so frames the publisher's encoder
skipped count as dropped too); ``rss_mb`` is our resident memory at the end of
the phase.

How the load fits on 2 cores.  Sixteen live 720p simulcast encoders at 30 fps
would need several cores by themselves, so:

* the peers run at a reduced frame rate (``--fps``, 5 by default) with full
  resolutions and bitrates: every peer still encodes its layers live, from a scene
  that costs an encoder what a camera does, so the streams carry the bitrate (and
  packet rate) of real simulcast cameras, in fewer, larger frames.  Per second, our
  packet handling (SRTP, RTP, jitter buffer) is that of a real call, while per-frame
  work (decoding, the frame pipeline) is about ``fps / 30`` of it;
* the peers use dynacast, as web clients do: the server pauses the layers nobody
  receives, so in the thumbnail phase they encode only 180p, and in the full phase
  720p (which the server must first ask them to resume: ``SETTLE_S``);
* only ``SPEAKERS`` peers publish a microphone (a tone through the SDK costs a
  peer as much CPU as its video); the others are muted, as most people are in a
  large meeting;
* the peers disable libwebrtc's CPU adaptation (``sdk_peers.
  simulcast_camera_options``), which would otherwise answer the shared machine's
  load by dropping their upper layers, and they run niced (``PEERS_NICE``): when
  the CPU runs short, their frames come late, not ours.  Frames a starved peer
  never produced are not in its stamp counters, so they do not count as dropped;
  ``fps_received_*`` shows them.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import av

from bench.call import _transport_bytes
from bench.measures import cpu_seconds, percentile, rss_mb
from client.livekit import events as ev
from client.livekit.room import Room, RoomOptions
from client.media.video_analysis import read_stamp
from devtools.sandbox.livekit_server import LiveKitServer, ensure_server_binary
from devtools.sandbox.tokens import mint_token

ROOM = "bench-scale"
#: Before the first phase: the publishers' bandwidth estimates ramp up to the
#: point where every simulcast layer is sent.
WARMUP_S = 8.0
#: After each change of track settings: the server switches layers on the next
#: key frame, which it asks the publisher for.
SETTLE_S = 6.0
#: Scheduling niceness of the peers' processes (ours stays at 0).
PEERS_NICE = 10
#: Peers that also publish a microphone (a tone); the others are muted, as most
#: are in a large meeting.
SPEAKERS = 2
THUMBNAIL = (320, 180)
FULL = (1280, 720)


@dataclass
class _TrackProbe:
    """Stamps and frame widths of one received video track, while the window is open."""

    window_open: bool = False
    counters: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    widths: Counter[int] = field(default_factory=Counter)

    def __call__(self, frame: av.VideoFrame | av.AudioFrame) -> None:
        if not self.window_open or not isinstance(frame, av.VideoFrame):
            return
        self.widths[frame.width] += 1
        stamp = read_stamp(frame)
        if stamp is not None:
            self.counters.append(stamp.counter)
            self.latencies_ms.append(time.time() * 1000 - stamp.capture_time_ms)

    def reset(self) -> None:
        self.counters.clear()
        self.latencies_ms.clear()
        self.widths.clear()


@dataclass(frozen=True)
class PhaseFigures:
    requested_width: int
    requested_height: int
    seconds: float
    cpu_percent: float
    peers_cpu_percent: float
    fps_received_min: float
    fps_received_mean: float
    frames_dropped_percent: float
    #: Capture (the peer's stamp) to our decoded frame: a receiver falling behind
    #: shows here first, as a growing backlog.
    glass_to_glass_ms_p50: float
    glass_to_glass_ms_p95: float
    #: The most common decoded width over all tracks (the layer that arrived).
    received_width: int
    #: Tracks whose most common decoded width is not the requested one.
    tracks_off_layer: int
    receive_bitrate_kbps: float
    #: RTP packets lost on the way (server or network), video and audio: tells
    #: frames that never arrived from frames we dropped.
    packets_lost_percent: float
    #: UDP datagrams the kernel dropped in the namespace for want of socket buffer
    #: (any process's: ours, the server's, the peers'): a receiver that fell behind.
    udp_receive_buffer_drops: int
    rss_mb: float


def _process_cpu_seconds(pid: int) -> float:
    """User + system CPU of another process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _udp_receive_buffer_errors() -> int:
    """The namespace's UDP RcvbufErrors counter (/proc/net/snmp)."""
    with open("/proc/net/snmp", encoding="ascii") as snmp:
        rows = [line.split() for line in snmp if line.startswith("Udp:")]
    header, values = rows[0], rows[1]
    return int(values[header.index("RcvbufErrors")])


async def _inbound_packets(room: Room) -> tuple[int, int]:
    """RTP packets received and lost so far, over all our inbound streams."""
    engine = room.engine
    if engine is None or engine.subscriber is None:
        return 0, 0
    report = await engine.subscriber.pc.getStats()
    inbound = [stats for stats in report.values() if stats.type == "inbound-rtp"]
    return (
        sum(int(getattr(s, "packetsReceived", 0) or 0) for s in inbound),
        sum(int(getattr(s, "packetsLost", 0) or 0) for s in inbound),
    )


def start_simulcast_peers(
    url: str, tokens: list[str], fps: float, *, audio: bool = True
) -> subprocess.Popen[str]:
    """``devtools.sdk_peers --simulcast`` in a process of its own (tokens through a
    pipe); returns once every peer publishes."""
    flags = ["--fps", str(fps), "--simulcast"] + ([] if audio else ["--no-audio"])
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.sdk_peers", *flags, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        # Below our client's priority: they stand for other people's machines, so
        # when the CPU runs short it is their frames that should be late, not ours.
        preexec_fn=lambda: os.nice(PEERS_NICE),
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("".join(f"{token}\n" for token in tokens))
    process.stdin.close()
    if process.stdout.readline().strip() != "ready":
        process.kill()
        process.wait(5)
        raise RuntimeError("the SDK peers did not start")
    return process


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


async def _measure_phase(
    room: Room,
    probes: dict[str, _TrackProbe],
    size: tuple[int, int],
    seconds: float,
    peer_pids: list[int],
    say: Any,
) -> PhaseFigures:
    width, height = size
    for sid in probes:
        await room.set_track_settings(sid, enabled=True, width=width, height=height)
    await asyncio.sleep(SETTLE_S)
    say(f"measuring {width}x{height} for {seconds:.0f} s")
    for probe in probes.values():
        probe.reset()
        probe.window_open = True
    cpu_start = cpu_seconds()
    peers_start = sum(_process_cpu_seconds(pid) for pid in peer_pids)
    bytes_start = await _transport_bytes(room)
    packets_start, lost_start = await _inbound_packets(room)
    buffer_drops_start = _udp_receive_buffer_errors()
    wall_start = time.monotonic()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - wall_start
    cpu = cpu_seconds() - cpu_start
    peers_cpu = sum(_process_cpu_seconds(pid) for pid in peer_pids) - peers_start
    bytes_received = await _transport_bytes(room) - bytes_start
    packets_end, lost_end = await _inbound_packets(room)
    buffer_drops = _udp_receive_buffer_errors() - buffer_drops_start
    packets, lost = packets_end - packets_start, lost_end - lost_start
    for probe in probes.values():
        probe.window_open = False
    rss = rss_mb()

    fps: list[float] = []
    received = expected = 0
    widths: Counter[int] = Counter()
    off_layer = 0
    for probe in probes.values():
        distinct = set(probe.counters)
        fps.append(len(distinct) / wall)
        if distinct:
            received += len(distinct)
            expected += max(distinct) - min(distinct) + 1
        widths.update(probe.widths)
        modal = probe.widths.most_common(1)
        if not modal or modal[0][0] != width:
            off_layer += 1
    dropped = 100.0 * (1 - received / expected) if expected else 100.0
    latencies = [x for probe in probes.values() for x in probe.latencies_ms]
    return PhaseFigures(
        requested_width=width,
        requested_height=height,
        seconds=round(wall, 2),
        cpu_percent=round(cpu / wall * 100, 1),
        peers_cpu_percent=round(peers_cpu / wall * 100, 1),
        fps_received_min=round(min(fps, default=0.0), 2),
        fps_received_mean=round(statistics.fmean(fps) if fps else 0.0, 2),
        frames_dropped_percent=round(dropped, 2),
        glass_to_glass_ms_p50=round(percentile(latencies, 0.5), 1),
        glass_to_glass_ms_p95=round(percentile(latencies, 0.95), 1),
        received_width=widths.most_common(1)[0][0] if widths else 0,
        tracks_off_layer=off_layer,
        receive_bitrate_kbps=round(bytes_received * 8 / wall / 1000, 1),
        packets_lost_percent=round(100.0 * lost / max(1, packets + lost), 2),
        udp_receive_buffer_drops=buffer_drops,
        rss_mb=round(rss, 1),
    )


async def run_scale(
    peers: int, seconds: float, fps: float, *, congestion_control: bool = False, log: bool = True
) -> dict[str, PhaseFigures]:
    def say(text: str) -> None:
        if log:
            print(text, file=sys.stderr, flush=True)

    await asyncio.to_thread(ensure_server_binary)
    extra = {} if congestion_control else {"rtc": {"congestion_control": {"enabled": False}}}
    server = LiveKitServer(extra_config=extra)
    await asyncio.to_thread(server.start)
    processes: list[subprocess.Popen[str]] = []
    try:

        def token(identity: str) -> str:
            return mint_token(server.api_key, server.api_secret, identity=identity, room=ROOM)

        tokens = [token(f"peer-{i}") for i in range(peers)]
        say(f"starting {peers} simulcast SDK peers at {fps:g} fps, {SPEAKERS} with a microphone")
        speakers, muted = tokens[:SPEAKERS], tokens[SPEAKERS:]
        for group, audio in ((speakers, True), (muted, False)):
            if group:
                processes.append(
                    await asyncio.to_thread(
                        start_simulcast_peers, server.ws_url, group, fps, audio=audio
                    )
                )
        say("peers publishing; joining")

        room = Room(RoomOptions(ice_servers=[]))
        probes: dict[str, _TrackProbe] = {}

        def on_subscribed(event: ev.TrackSubscribed) -> None:
            if event.publication.kind != "video":
                return
            probe = _TrackProbe()
            probes[event.publication.sid] = probe
            event.track.add_sink(probe)

        room.events.on(ev.TrackSubscribed, on_subscribed)
        await room.connect(server.ws_url, token("visio-desktop"))
        deadline = time.monotonic() + 30
        while len(probes) < peers and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        say(f"{len(probes)} video tracks subscribed; warming up")
        await asyncio.sleep(WARMUP_S)
        pids = [process.pid for process in processes]
        figures = {
            "thumbnail": await _measure_phase(room, probes, THUMBNAIL, seconds, pids, say),
            "full": await _measure_phase(room, probes, FULL, seconds, pids, say),
        }
        await room.disconnect()
    finally:
        for process in processes:
            _stop(process)
        await asyncio.to_thread(server.stop)
    return figures


def main_scale(
    peers: int, seconds: float, fps: float, as_json: bool, congestion_control: bool = False
) -> int:
    from devtools.sandbox.livekit_server import enter_sandbox_with_server

    if peers < 1 or fps <= 0:
        print("the scale benchmark needs at least one peer and a positive frame rate")
        return 2
    enter_sandbox_with_server()
    figures = asyncio.run(run_scale(peers, seconds, fps, congestion_control=congestion_control))
    result: dict[str, Any] = {
        "peers": peers,
        "peer_fps": fps,
        "congestion_control": congestion_control,
    }
    for mode, phase in figures.items():
        result[mode] = asdict(phase)
    if not as_json:
        for mode, phase in figures.items():
            for key, value in asdict(phase).items():
                print(f"{mode:10} {key:24} {value}")
    print(json.dumps(result))
    return 0
