"""The render benchmark: the window in a call, what showing video costs the UI thread.

A local livekit-server runs in the test network namespace; ``tiles - 1`` peers (another
process) each publish a stamped camera-like 640x360 VP8 stream at ``fps`` (800 kb/s, 250
kb/s beyond 4 tiles, the rate of a thumbnail layer) and a tone; our application window
(1920x1080 on a private Xvfb) joins as ``--no-prejoin`` does, publishing its own test
pattern, so the grid holds ``tiles`` tiles (ours included).

The peers are, by default (``peers="replay"``), ``devtools.replay_peers``: loops of the
camera scene encoded once (and cached), replayed in real time through our core, so that
the peers cost the machine little more than their packets.  What is measured is our
window's cost to show streams; the peers only have to deliver realistic ones, and eight
official-SDK peers encoding eight cameras live (``peers="sdk"``, ``devtools.sdk_peers``)
starve a 2-core machine (a few frames per second per stream at 9 tiles).

After a warm-up, two phases of the same length in the same call:

``show``
    what a user sees: every frame is converted to its tile's size off the UI thread
    and painted.  Every tile's ``paintEvent`` is timed (wrapped here, by
    monkeypatching, only in this process), as is each window update cycle (paints
    plus the flush to the X server); a 10 ms timer measures the UI thread's worst
    stall; our process's CPU is read from ``resource`` and, per thread, ``/proc``.
``decode``
    the same subscriptions, the same streams decoded (frames still reach the tiles'
    ``FrameSlot``), but each slot is configured as not visible *without telling the
    server* (``FrameSlot.configure`` only, never ``set_track_settings``), so nothing is
    converted or painted.

``cpu_percent - cpu_percent_decode_only`` is what showing costs above decoding (the
aim: at most 25 % of the decode-only figure), read alongside the frames received and
painted per second in both phases.  The machine's total CPU and load are reported
too: on 2 cores the peers, the server and Xvfb compete with us.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from bench.measures import cpu_seconds, percentile

if TYPE_CHECKING:
    from client.ui.app import Application
    from devtools.sandbox.livekit_server import LiveKitServer

ROOM = "bench-render"
WARMUP_S = 4.0
WINDOW_W, WINDOW_H = 1920, 1080
_PR_SET_PDEATHSIG = 1


# --- what the window benchmarks share --------------------------------------------------------


def die_with_parent() -> None:
    """A ``preexec_fn``: the child gets SIGTERM if the benchmark dies (even SIGKILLed)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_process(process: subprocess.Popen[Any] | None, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it does not go."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    if process.poll() is None:
        process.kill()
        process.wait()


PEER_KINDS = ("replay", "sdk")


def start_sdk_peers(
    server: LiveKitServer, tokens: list[str], fps: int, max_bitrate: int = 800_000
) -> subprocess.Popen[str]:
    """Official-SDK peers (``devtools.sdk_peers``) publishing video and a tone each."""
    flags = ["--fps", str(fps), "--max-bitrate", str(max_bitrate)]
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.sdk_peers", *flags, server.ws_url, *tokens],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent,
    )
    assert process.stdout is not None
    try:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SDK peers did not start")
    except BaseException:
        stop_process(process)
        raise
    return process


@contextlib.contextmanager
def window_sandbox(*, congestion_control: bool = True) -> Iterator[LiveKitServer]:
    """A private X server, settings in a throw-away folder, a livekit-server; all stopped
    on the way out, whatever happens (SIGTERM included).  The caller has entered the test
    network namespace already (``enter_sandbox_with_server()``, first thing in its main).

    ``congestion_control=False`` turns the SFU's off: it then forwards every stream
    whatever bandwidth our client's receiver estimates (see ``run_render``)."""
    from devtools.sandbox.livekit_server import LiveKitServer, ensure_server_binary
    from devtools.xvfb import xvfb

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    config_before = os.environ.get("VISIO_DESKTOP_CONFIG_DIR")
    try:
        with tempfile.TemporaryDirectory(prefix="visio-bench-") as config, xvfb(WINDOW_W, WINDOW_H):
            # Never the user's settings: defaults, and nothing remembered afterwards.
            os.environ["VISIO_DESKTOP_CONFIG_DIR"] = config
            ensure_server_binary()
            extra = (
                {} if congestion_control else {"rtc": {"congestion_control": {"enabled": False}}}
            )
            server = LiveKitServer(extra_config=extra)
            server.start()
            try:
                yield server
            finally:
                server.close()
    finally:
        if config_before is None:
            os.environ.pop("VISIO_DESKTOP_CONFIG_DIR", None)
        else:
            os.environ["VISIO_DESKTOP_CONFIG_DIR"] = config_before
        signal.signal(signal.SIGTERM, previous)


def token_for(server: LiveKitServer, identity: str, room: str, **grants: Any) -> str:
    from devtools.sandbox.tokens import mint_token

    return mint_token(server.api_key, server.api_secret, identity=identity, room=room, **grants)


def udp_receive_errors() -> int:
    """UDP datagrams dropped because a socket's receive buffer was full, in this network
    namespace (every socket of the sandbox: ours, the peers', the server's)."""
    with open("/proc/net/snmp", encoding="ascii") as snmp:
        rows = [line.split() for line in snmp if line.startswith("Udp:")]
    return int(dict(zip(rows[0][1:], rows[1][1:], strict=True)).get("RcvbufErrors", 0))


def thread_cpu() -> dict[str, float]:
    """CPU seconds per thread of this process, by Python thread name when there is one
    (digits dropped, so aiortc's many decoder threads add up), else by the OS name."""
    import re
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as stat:
                text = stat.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(tid) == os.getpid():
            name = "main"
        else:
            name = names.get(int(tid)) or text[text.index("(") + 1 : text.rindex(")")]
            name = re.sub(r"[-_ ]?\d+|\s*\(.*\)", "", name) or "thread"
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return totals


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds another process (all its threads) has used so far; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            text = stat.read()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class SystemCpu:
    """The whole machine's busy share (all cores, 100 % = one core), from /proc/stat."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    def percent(self) -> float:
        busy, total = self._read()
        busy0, total0 = self._start
        return (busy - busy0) / max(1, total - total0) * 100 * (os.cpu_count() or 1)


# --- timing the paints ---------------------------------------------------------------------


@dataclass
class PaintTimer:
    """Wraps ``VideoTile.paintEvent`` and the window's update cycles (monkeypatching, in
    this process only, before the window exists)."""

    active: bool = False
    #: Duration (s) of each tile paint that drew a new video frame (while active).
    frame_paints: list[float] = field(default_factory=list)
    #: (duration s, new frames painted) of each window update cycle (paints and flush).
    cycles: list[tuple[float, int]] = field(default_factory=list)
    #: New frames painted while active.
    images: int = 0
    #: Always counted: paints that drew a new frame, and that drew the same one again
    #: (the tile repainted for its label, a border, an overlay above it).
    new_frames_total: int = 0
    repaints_total: int = 0
    _last: dict[int, object] = field(default_factory=dict)
    _restore: list[Callable[[], None]] = field(default_factory=list)

    def install(self) -> None:
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QPaintEvent

        from client.ui.main_window import MainWindow
        from client.ui.video_tile import VideoTile

        paint = VideoTile.paintEvent
        own_event = MainWindow.__dict__.get("event")
        window_event = MainWindow.event

        def timed_paint(tile: VideoTile, event: QPaintEvent) -> None:
            before = tile.images_painted
            start = time.perf_counter()
            paint(tile, event)
            spent = time.perf_counter() - start
            if tile.images_painted == before:
                return  # initials, no video
            image = tile._image
            if self._last.get(id(tile)) is image:
                self.repaints_total += 1
                return
            self._last[id(tile)] = image
            self.new_frames_total += 1
            if self.active:
                self.frame_paints.append(spent)
                self.images += 1

        def timed_event(window: MainWindow, event: QEvent) -> bool:
            if event.type() != QEvent.Type.UpdateRequest:
                return window_event(window, event)
            images = self.images
            start = time.perf_counter()
            handled = window_event(window, event)
            if self.active:
                self.cycles.append((time.perf_counter() - start, self.images - images))
            return handled

        VideoTile.paintEvent = timed_paint  # type: ignore[method-assign,assignment]
        MainWindow.event = timed_event  # type: ignore[assignment,method-assign]
        self._restore = [
            lambda: setattr(VideoTile, "paintEvent", paint),
            lambda: (
                delattr(MainWindow, "event")
                if own_event is None
                else setattr(MainWindow, "event", own_event)
            ),
        ]

    def uninstall(self) -> None:
        for restore in self._restore:
            restore()
        self._restore = []

    def reset(self) -> None:
        self.frame_paints.clear()
        self.cycles.clear()
        self.images = 0


# --- the benchmark ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseFigures:
    seconds: float
    cpu_percent: float
    remote_frames_received_per_s: float
    remote_fps_per_stream: list[float]
    video_packets_received_per_s: float
    video_packets_lost: int
    udp_receive_buffer_drops: int
    frames_painted_per_s: float
    repaints_per_s: float
    conversions_per_s: float
    converter_busy_percent: float
    max_ui_stall_ms: float
    system_cpu_percent: float
    #: The peers' process (all its threads), 100 % = one core.
    peers_cpu_percent: float
    #: Window update cycles that painted at least one new frame, per second.
    update_cycles_per_s: float
    threads_percent: dict[str, float]


@dataclass(frozen=True)
class RenderFigures:
    tiles: int
    #: Who sends the streams: "replay" (pre-encoded loops) or "sdk" (live encoders).
    peers: str
    peer_fps: int
    peer_max_bitrate: int
    seconds: float
    tile_size: str
    ui_thread_ms_per_frame_p50: float
    ui_thread_ms_per_frame_p95: float
    ui_update_cycle_ms_p95: float
    ui_update_ms_per_frame_mean: float
    ui_thread_cpu_ms_per_frame: float
    #: Window update cycles that painted new frames, per second, and frames per cycle.
    ui_update_cycles_per_s: float
    frames_per_update_cycle: float
    max_ui_stall_ms: float
    cpu_percent: float
    cpu_percent_decode_only: float
    cpu_percent_beyond_decode: float
    beyond_decode_share_percent: float
    remote_frames_received_per_s: float
    frames_painted_per_s: float
    remote_frames_received_per_s_decode_only: float
    frames_painted_per_s_decode_only: float
    remote_fps_per_stream_min: float
    #: Every remote stream delivered at least half its frame rate in both phases.
    streams_flowing: bool
    system_cpu_percent: float
    #: What the peers' process took (show phase): the load generator's share.
    peers_cpu_percent: float
    load_average_1m: float
    phases: dict[str, PhaseFigures]


async def _video_packets(app: Application) -> tuple[int, int]:
    """Video RTP packets received and lost so far, over every subscribed track."""
    session = app.window.session
    if session is None:
        return 0, 0

    async def read() -> tuple[int, int]:
        engine = session.room.engine
        if engine is None or engine.subscriber is None:
            return 0, 0
        report = await engine.subscriber.pc.getStats()
        inbound = [s for s in report.values() if s.type == "inbound-rtp" and s.kind == "video"]
        return (
            sum(int(getattr(s, "packetsReceived", 0) or 0) for s in inbound),
            sum(int(getattr(s, "packetsLost", 0) or 0) for s in inbound),
        )

    return await app.bridge.run(read())


async def _phase(
    app: Application, seconds: float, timer: PaintTimer, *, timed: bool, peers_pid: int
) -> tuple[PhaseFigures, dict[str, int]]:
    """Measure ``seconds`` of the call as it is; returns the figures and, per remote
    participant, the frames its slot received."""
    import asyncio

    from devtools.app_driver import StallMeter

    page = app.window.call_page
    assert page is not None
    tiles = page.stage.grid.tiles

    def received() -> dict[str, tuple[int, int]]:
        # (which slot, its count): a track subscribed anew during the phase brings a
        # new slot counting from zero.
        return {
            identity: (id(slot), slot.frames_in)
            for identity, tile in tiles.items()
            if not tile.participant.is_local and (slot := tile.participant.camera_slot) is not None
        }

    def painted() -> tuple[int, int]:
        return timer.new_frames_total, timer.repaints_total

    converter = app.converter
    meter = StallMeter()
    received_start, painted_start = received(), painted()
    conversions_start, busy_start = converter.conversions, converter.busy_s
    packets_start = await _video_packets(app)
    drops_start = udp_receive_errors()
    threads_start = thread_cpu()
    system = SystemCpu()
    peers_start = process_cpu_seconds(peers_pid)
    if timed:
        timer.reset()
        timer.active = True
    meter.start()
    cpu_start, wall_start = cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - wall_start
    cpu = cpu_seconds() - cpu_start
    meter.stop()
    timer.active = False
    system_percent = system.percent()
    peers_cpu = process_cpu_seconds(peers_pid) - peers_start
    # Cycles are recorded only while timed.
    painting_cycles = sum(1 for _, count in timer.cycles if count > 0) if timed else 0
    threads_end = thread_cpu()
    packets_end = await _video_packets(app)
    drops = udp_receive_errors() - drops_start
    received_end = received()
    per_stream = {
        identity: count - received_start[identity][1]
        if received_start.get(identity, (None, 0))[0] == slot
        else count
        for identity, (slot, count) in received_end.items()
    }
    threads = {
        name: round((spent - threads_start.get(name, 0.0)) / wall * 100, 1)
        for name, spent in sorted(threads_end.items(), key=lambda item: -item[1])
        if spent - threads_start.get(name, 0.0) > 0.05
    }
    return (
        PhaseFigures(
            seconds=round(wall, 2),
            cpu_percent=round(cpu / wall * 100, 1),
            remote_frames_received_per_s=round(sum(per_stream.values()) / wall, 1),
            remote_fps_per_stream=sorted(round(v / wall, 1) for v in per_stream.values()),
            video_packets_received_per_s=round((packets_end[0] - packets_start[0]) / wall, 1),
            video_packets_lost=packets_end[1] - packets_start[1],
            udp_receive_buffer_drops=drops,
            frames_painted_per_s=round((painted()[0] - painted_start[0]) / wall, 1),
            repaints_per_s=round((painted()[1] - painted_start[1]) / wall, 1),
            conversions_per_s=round((converter.conversions - conversions_start) / wall, 1),
            converter_busy_percent=round((converter.busy_s - busy_start) / wall * 100, 1),
            max_ui_stall_ms=round(meter.longest_ms, 1),
            system_cpu_percent=round(system_percent, 1),
            peers_cpu_percent=round(peers_cpu / wall * 100, 1),
            update_cycles_per_s=round(painting_cycles / wall, 1),
            threads_percent=threads,
        ),
        per_stream,
    )


async def _scenario(
    app: Application,
    server: LiveKitServer,
    tiles: int,
    seconds: float,
    timer: PaintTimer,
    say: Callable[[str], None],
    out: dict[str, Any],
    peers_pid: int,
) -> None:
    import asyncio

    from client.meeting_link import MeetingLink
    from devtools.waiting import wait_for

    window = app.window
    window.move(0, 0)
    window.resize(WINDOW_W, WINDOW_H)
    link = MeetingLink(server.ws_url, token_for(server, "ours", ROOM, name="Banc"))
    app.open(link, "Banc", prejoin=False)
    await wait_for(lambda: window.call_page is not None, 20, "the call page")
    page = window.call_page
    assert page is not None
    grid = page.stage.grid
    await wait_for(lambda: len(grid.tiles) == tiles, 60, f"{tiles} tiles")
    await wait_for(
        lambda: all(t.images_painted > 2 for t in grid.tiles.values()), 60, "video in every tile"
    )
    sizes = sorted({f"{t.width()}x{t.height()}" for t in grid.tiles.values()})
    say(f"{tiles} tiles of {', '.join(sizes)} px; warming up {WARMUP_S:.0f} s")
    await asyncio.sleep(WARMUP_S)

    say(f"show phase: {seconds:.0f} s, every frame converted and painted")
    show, show_streams = await _phase(app, seconds, timer, timed=True, peers_pid=peers_pid)
    frame_paints, cycles, images = list(timer.frame_paints), list(timer.cycles), timer.images
    main_cpu_s = show.threads_percent.get("main", 0.0) / 100 * show.seconds

    say(f"decode phase: {seconds:.0f} s, same streams decoded, nothing converted or painted")
    hidden = []
    for tile in grid.tiles.values():
        slot = tile.participant.camera_slot
        if slot is not None:
            ratio = tile.devicePixelRatioF()
            size = (int(tile.width() * ratio), int(tile.height() * ratio))
            slot.configure(size[0], size[1], False)  # the server is not told
            hidden.append((slot, size))
    try:
        decode, _ = await _phase(app, seconds, timer, timed=False, peers_pid=peers_pid)
    finally:
        for slot, (w, h) in hidden:
            slot.configure(w, h, True)

    out["show"], out["decode"] = show, decode
    out["frame_paints"], out["cycles"], out["images"] = frame_paints, cycles, images
    out["main_cpu_s"] = main_cpu_s
    out["tile_size"] = sizes[len(sizes) // 2] if sizes else ""
    out["streams"] = show_streams


def peer_bitrate_for(tiles: int) -> int:
    """What each camera costs a receiver at this grid size.  Beyond 4 tiles a real
    meeting sends each tile a simulcast thumbnail layer (~250 kb/s), not the full
    camera; the peers here send one layer, so they send it at that rate."""
    return 800_000 if tiles <= 4 else 250_000


def start_render_peers(
    kind: str, server: LiveKitServer, tokens: list[str], fps: int, bitrate: int
) -> subprocess.Popen[str]:
    if kind == "sdk":
        return start_sdk_peers(server, tokens, fps, bitrate)
    from devtools.replay_peers import start_replay_peers

    return start_replay_peers(
        server.ws_url, tokens, fps, max_bitrate=bitrate, preexec_fn=die_with_parent
    )


def run_render(
    tiles: int,
    seconds: float,
    fps: int,
    log: bool = True,
    peer_bitrate: int | None = None,
    peers: str = "replay",
) -> RenderFigures:
    from devtools.app_driver import run_app

    def say(text: str) -> None:
        if log:
            print(text, file=sys.stderr, flush=True)

    if tiles < 2:
        raise ValueError("the grid needs at least 2 tiles (ours and a peer)")
    if peers not in PEER_KINDS:
        raise ValueError(f"peers are one of {', '.join(PEER_KINDS)}, not {peers!r}")
    timer = PaintTimer()
    out: dict[str, Any] = {}
    with window_sandbox(congestion_control=False) as server:
        tokens = [
            token_for(server, f"peer-{i}", ROOM, name=f"Pair {i + 1}") for i in range(tiles - 1)
        ]
        bitrate = peer_bitrate or peer_bitrate_for(tiles)
        out["peer_bitrate"] = bitrate
        who = "replay peers (pre-encoded loops)" if peers == "replay" else "SDK peers"
        say(f"{tiles - 1} {who}: encoding or loading their streams")
        process = start_render_peers(peers, server, tokens, fps, bitrate)
        say(
            f"{tiles - 1} {who} publishing a 640x360 camera-like scene in VP8 at {fps} fps, "
            f"{bitrate // 1000} kb/s; opening the window"
        )
        timer.install()
        try:
            run_app(
                lambda app: _scenario(app, server, tiles, seconds, timer, say, out, process.pid)
            )
        finally:
            timer.uninstall()
            stop_process(process)

    show: PhaseFigures = out["show"]
    decode: PhaseFigures = out["decode"]
    frame_paints: list[float] = out["frame_paints"]
    cycles: list[tuple[float, int]] = out["cycles"]
    images: int = out["images"]
    streams: dict[str, int] = out["streams"]
    painting_cycles = [duration for duration, count in cycles if count > 0]
    beyond = show.cpu_percent - decode.cpu_percent
    flowing = all(
        min(phase.remote_fps_per_stream, default=0.0) >= fps / 2 for phase in (show, decode)
    )
    if not flowing:
        say(
            "the remote streams did not all flow (see remote_fps_per_stream, video_packets_lost,"
            " udp_receive_buffer_drops): the figures do not show a sustained call"
        )
    return RenderFigures(
        tiles=tiles,
        peers=peers,
        peer_fps=fps,
        peer_max_bitrate=out["peer_bitrate"],
        seconds=show.seconds,
        tile_size=out["tile_size"],
        ui_thread_ms_per_frame_p50=round(percentile(frame_paints, 0.5) * 1000, 2),
        ui_thread_ms_per_frame_p95=round(percentile(frame_paints, 0.95) * 1000, 2),
        ui_update_cycle_ms_p95=round(percentile(painting_cycles, 0.95) * 1000, 2),
        ui_update_ms_per_frame_mean=round(sum(painting_cycles) / max(1, images) * 1000, 2),
        ui_thread_cpu_ms_per_frame=round(out["main_cpu_s"] / max(1, images) * 1000, 2),
        ui_update_cycles_per_s=show.update_cycles_per_s,
        frames_per_update_cycle=round(images / max(1, len(painting_cycles)), 2),
        max_ui_stall_ms=show.max_ui_stall_ms,
        cpu_percent=show.cpu_percent,
        cpu_percent_decode_only=decode.cpu_percent,
        cpu_percent_beyond_decode=round(beyond, 1),
        beyond_decode_share_percent=round(beyond / decode.cpu_percent * 100, 1),
        remote_frames_received_per_s=show.remote_frames_received_per_s,
        frames_painted_per_s=show.frames_painted_per_s,
        remote_frames_received_per_s_decode_only=decode.remote_frames_received_per_s,
        frames_painted_per_s_decode_only=decode.frames_painted_per_s,
        remote_fps_per_stream_min=round(min(streams.values(), default=0) / show.seconds, 1),
        streams_flowing=flowing,
        system_cpu_percent=show.system_cpu_percent,
        peers_cpu_percent=show.peers_cpu_percent,
        load_average_1m=round(os.getloadavg()[0], 2),
        phases={"show": show, "decode": decode},
    )


def main_render(tiles: int, seconds: float, fps: int, as_json: bool, peers: str = "replay") -> int:
    from devtools.sandbox.livekit_server import enter_sandbox_with_server

    enter_sandbox_with_server()
    figures = run_render(tiles, seconds, fps, peers=peers)
    if not as_json:
        for key, value in asdict(figures).items():
            if key != "phases":
                print(f"{key:42} {value}")
        for name, phase in asdict(figures)["phases"].items():
            print(f"{name} phase: {json.dumps(phase)}")
    print(json.dumps(asdict(figures)))
    return 0
