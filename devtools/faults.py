"""The network-fault benchmark: our client behind a really faulty link.

``python -m devtools.faults [--cuts 20] [--cut-seconds 30] [--short-cuts 5] [--json]``

A livekit-server (TURN/UDP and TURN/TLS with a throwaway certificate) runs in a
network namespace of its own, joined to the sandbox by a veth on which
`devtools.netfaults.LinkFaults` breaks the traffic.  On the server's side, an
official-SDK participant (`devtools.watching_peer`) publishes stamped video and a
660 Hz tone and reports what it receives; on ours, our client (`client.livekit.Room`)
publishes the test pattern (640x360) and a 440 Hz tone.  Only our path is broken.

Scenarios, each proving its fault with the packet counters of its rules:

loss   10 % random loss each way plus 100 ± 30 ms of delay each way: audio frames per
       second we decode from the watcher (aiortc hands out 20 ms frames: 50/s is
       everything), whether its tone is still recognisable, the longest freeze of its
       video, the video latency, and the same seen from the watcher's side.
short  short cuts (5 s): the server still holds our session when the link returns.
cuts   long cuts (30 s): the server drops our participant.  Per cut: detection (cut
       start -> our room RECONNECTING), media back both ways (link restored -> fresh
       video from the watcher in our client and from us in the watcher), and the
       joins and leaves the watcher saw.  Our RSS before and after, per rejoin.
udp    all UDP dropped from the start: connect() to media both ways (TURN over TLS).

Progress goes to stderr; a summary to stdout (unless --json), and the last line of
stdout is always one JSON object.  It needs root (network namespaces).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measures import percentile, rss_mb
from bench.rejoin import trimmed_rss_mb
from client.livekit import events as ev
from client.livekit.participant import TrackSource
from client.livekit.room import Room, RoomOptions
from client.media.test_sources import TestPatternTrack, ToneTrack
from devtools.netfaults import LinkFaults, ServerNamespace
from devtools.netfaults.certificates import write_self_signed_cert
from devtools.netfaults.fault_process import FaultProcess
from devtools.reception import ReceptionLog, receiver_stats
from devtools.sandbox.livekit_server import LiveKitServer, ensure_server_binary
from devtools.sandbox.tokens import mint_token
from devtools.watching_peer import WatchingPeer

ROOM = "bench-faults"
OURS = "ours"
WATCHER = "watcher"
WATCHER_TONE_HZ = 660.0  # what devtools.watching_peer sends
OUR_TONE_HZ = 440.0
#: livekit-server advertises TURN/TLS as `turns:<domain>:443` whatever its tls_port.
TURN_TLS_PORT = 443
#: How long media may take to come back both ways before a cut counts as not recovered.
RECOVERY_TIMEOUT_S = 60.0
#: A fault's first second is left out of the loss figures: the delay shaper holds what
#: is in flight when it starts, a one-off gap rather than the steady lossy link.
LOSS_SETTLE_S = 1.0
CLEAN_S = 4.0
WARMUP_S = 4.0


#: In-process rules, or rules held by a child process (see `fault_process`).
Faults = LinkFaults | FaultProcess


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _rounded(value: float | None, digits: int = 3) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(value, digits)


# --------------------------------------------------------------------- the two ends


class OurSide:
    """Our client: a Room publishing pattern and tone, with what it receives logged."""

    def __init__(self, url: str, token: str, certificate: Path) -> None:
        self.url = url
        self.token = token
        self.room = Room(RoomOptions(ice_servers=None, extra_ca_file=certificate))
        self.received = ReceptionLog(self.room, {WATCHER: WATCHER_TONE_HZ})
        self.states: list[tuple[float, ev.ConnectionState]] = []
        self.reconnect_attempts = 0
        self.room.events.on(ev.ConnectionStateChanged, self._state)
        self.room.events.on(ev.Reconnecting, self._attempt)

    def _state(self, event: ev.ConnectionStateChanged) -> None:
        self.states.append((time.time(), event.state))

    def _attempt(self, _: ev.Reconnecting) -> None:
        self.reconnect_attempts += 1

    async def join(self) -> None:
        await self.room.connect(self.url, self.token)
        await self.room.publish_track(
            TestPatternTrack(640, 360), TrackSource.CAMERA, width=640, height=360
        )
        await self.room.publish_track(ToneTrack(OUR_TONE_HZ), TrackSource.MICROPHONE)

    def resumes(self) -> int:
        """Reconnections that kept the session (0 for a client that cannot resume)."""
        return int(getattr(self.room, "resume_count", 0))

    def first_state(self, state: ev.ConnectionState, since: float) -> float | None:
        return next((at for at, s in self.states if at >= since and s == state), None)

    async def close(self) -> None:
        self.received.close()
        await self.room.disconnect()


def watcher_audio_rate(watcher: WatchingPeer, identity: str, start: float, end: float) -> float:
    """Audio frames per second the watcher counted from `identity` in [start, end]."""
    inside = [s for s in watcher.samples if start <= s.at <= end]
    if len(inside) < 2 or inside[-1].at <= inside[0].at:
        return 0.0
    frames = inside[-1].audio.get(identity, 0) - inside[0].audio.get(identity, 0)
    return frames / (inside[-1].at - inside[0].at)


def watcher_video_rate(watcher: WatchingPeer, identity: str, start: float, end: float) -> float:
    inside = [s for s in watcher.samples if start <= s.at <= end]
    if len(inside) < 2 or inside[-1].at <= inside[0].at:
        return 0.0
    frames = inside[-1].video.get(identity, 0) - inside[0].video.get(identity, 0)
    return frames / (inside[-1].at - inside[0].at)


async def media_both_ways(
    ours: OurSide, watcher: WatchingPeer, since: float, timeout_s: float
) -> tuple[float | None, float | None]:
    """Wall times at which fresh video after `since` reached us and reached the
    watcher (each None if it did not within `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    ours_at = theirs_at = None
    while time.monotonic() < deadline:
        ours_at = ours_at or ours.received.first_fresh_video(WATCHER, since)
        theirs_at = theirs_at or watcher.receiving_since(OURS, since)
        if ours_at is not None and theirs_at is not None:
            break
        await asyncio.sleep(0.02)
    return ours_at, theirs_at


# --------------------------------------------------------------------- scenarios


@dataclass
class CutFigures:
    seconds: float
    dropped_packets: int
    detect_s: float | None
    ours_media_s: float | None
    theirs_media_s: float | None
    recover_media_s: float | None
    connected_s: float | None
    peer_saw_leave: int
    peer_saw_join: int
    rejoin_attempts: int
    #: The session was carried on (resumed), not replaced by a new one.
    resumed: bool


async def one_cut(
    ours: OurSide, watcher: WatchingPeer, faults: Faults, seconds: float
) -> CutFigures:
    before = await media_both_ways(ours, watcher, time.time(), RECOVERY_TIMEOUT_S)
    if None in before:
        raise RuntimeError(f"media was not flowing both ways before the cut: {before}")
    attempts = ours.reconnect_attempts
    resumes = ours.resumes()
    cut_at = time.time()
    cut = faults.cut()
    try:
        while time.time() < cut_at + seconds:
            await asyncio.sleep(0.02)
    finally:
        dropped = cut.remove()
    restored = time.time()
    ours_at, theirs_at = await media_both_ways(ours, watcher, restored, RECOVERY_TIMEOUT_S)
    end = time.time()
    detected = ours.first_state(ev.ConnectionState.RECONNECTING, cut_at)
    connected = ours.first_state(ev.ConnectionState.CONNECTED, cut_at)
    mine = [(e[0], e[2]) for e in watcher.events if e[1] == OURS and cut_at <= e[2] <= end]
    recovered = None
    if ours_at is not None and theirs_at is not None:
        recovered = max(ours_at, theirs_at) - restored
    return CutFigures(
        seconds=seconds,
        dropped_packets=dropped,
        detect_s=None if detected is None or detected > restored else detected - cut_at,
        ours_media_s=None if ours_at is None else ours_at - restored,
        theirs_media_s=None if theirs_at is None else theirs_at - restored,
        recover_media_s=recovered,
        connected_s=None if connected is None else connected - restored,
        peer_saw_leave=sum(1 for kind, _ in mine if kind == "left"),
        peer_saw_join=sum(1 for kind, _ in mine if kind == "joined"),
        rejoin_attempts=ours.reconnect_attempts - attempts,
        resumed=ours.resumes() > resumes,
    )


def summarise_cuts(prefix: str, cuts: list[CutFigures]) -> dict[str, Any]:
    def stats(name: str, values: list[float | None]) -> dict[str, Any]:
        known = [v for v in values if v is not None]
        return {
            f"{prefix}{name}_p50": _rounded(percentile(known, 0.5)),
            f"{prefix}{name}_max": _rounded(max(known)) if known else None,
            f"{prefix}{name}_missing": len(values) - len(known),
        }

    return {
        f"{prefix}cuts": len(cuts),
        f"{prefix}cut_seconds": cuts[0].seconds if cuts else None,
        **stats("detect_s", [c.detect_s for c in cuts]),
        **stats("recover_media_s", [c.recover_media_s for c in cuts]),
        **stats("ours_media_s", [c.ours_media_s for c in cuts]),
        **stats("theirs_media_s", [c.theirs_media_s for c in cuts]),
        **stats("connected_s", [c.connected_s for c in cuts]),
        f"{prefix}peer_saw_leave": sum(c.peer_saw_leave for c in cuts),
        f"{prefix}peer_saw_join": sum(c.peer_saw_join for c in cuts),
        f"{prefix}rejoin_attempts": sum(c.rejoin_attempts for c in cuts),
        f"{prefix}resumed": sum(c.resumed for c in cuts),
        f"{prefix}dropped_packets": sum(c.dropped_packets for c in cuts),
    }


async def run_cuts(
    ours: OurSide, watcher: WatchingPeer, faults: Faults, count: int, seconds: float
) -> list[CutFigures]:
    figures = []
    for index in range(count):
        cut = await one_cut(ours, watcher, faults, seconds)
        figures.append(cut)
        progress(
            f"  cut {index + 1}/{count} of {seconds:.0f} s: dropped {cut.dropped_packets}, "
            f"detected {_fmt(cut.detect_s)}, media back {_fmt(cut.recover_media_s)} "
            f"(ours {_fmt(cut.ours_media_s)}, theirs {_fmt(cut.theirs_media_s)}), "
            f"peer saw {cut.peer_saw_leave} leave / {cut.peer_saw_join} join"
            f"{', resumed' if cut.resumed else ''}"
        )
    return figures


def _fmt(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def _concealment(ours: OurSide) -> dict[str, dict[str, int]]:
    """Counters of the receivers of the current session, per kind."""
    totals: dict[str, dict[str, int]] = {}
    for track in ours.received.sender(WATCHER).tracks:
        stats = receiver_stats(ours.room, track)
        if stats is not None:
            fields = dataclasses.asdict(stats)
            kind = fields.pop("kind")
            totals[kind] = {k: v for k, v in fields.items() if v}
    return totals


def _delta(after: dict[str, dict[str, int]], before: dict[str, dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind, counters in after.items():
        for name, value in counters.items():
            change = value - before.get(kind, {}).get(name, 0)
            if change:
                out[name] = change
    return out


async def run_loss(
    ours: OurSide,
    watcher: WatchingPeer,
    faults: Faults,
    *,
    seconds: float,
    percent: float,
    delay_ms: float,
    jitter_ms: float,
) -> dict[str, Any]:
    # The first seconds of a call are not a steady state (decoders start, the
    # sender's bandwidth estimate ramps up): the clean reference comes after them.
    await asyncio.sleep(WARMUP_S)
    clean_start = time.time()
    await asyncio.sleep(CLEAN_S)
    clean_end = time.time()
    before = _concealment(ours)
    lossy = faults.loss(percent) if percent > 0 else None
    delayed = faults.delay(delay_ms, jitter_ms, direction="both") if delay_ms > 0 else None
    on = time.time()
    try:
        await asyncio.sleep(LOSS_SETTLE_S + seconds)
    finally:
        end = time.time()
        concealed = _delta(_concealment(ours), before)
        lost = lossy.packets_by_direction() if lossy is not None else {}
        held = delayed.packets_by_direction() if delayed is not None else {}
        for fault in (lossy, delayed):
            if fault is not None:
                fault.remove()
    start = on + LOSS_SETTLE_S
    return {
        "loss_percent": percent,
        "delay_ms": delay_ms,
        "jitter_ms": jitter_ms,
        "loss_seconds": round(end - start, 1),
        "loss_dropped_packets": lost,
        "delay_delayed_packets": held,
        **window_figures(ours, watcher, "clean", clean_start, clean_end),
        **window_figures(ours, watcher, "at_loss", start, end),
        "concealment_at_loss": concealed,
    }


def window_figures(
    ours: OurSide, watcher: WatchingPeer, suffix: str, start: float, end: float
) -> dict[str, Any]:
    """What each side received within [start, end], keys ending in `_<suffix>`."""
    got = ours.received
    latency = got.video_latency_ms(WATCHER, start, end)
    figures = {
        "audio_frames_per_s": _rounded(got.audio_frames_per_s(WATCHER, start, end), 1),
        "audio_seconds_per_s": _rounded(got.audio_seconds_per_s(WATCHER, start, end)),
        "tone_share": _rounded(got.tone_share(WATCHER, start, end, WATCHER_TONE_HZ)),
        "tone_fit": _rounded(got.mean_tone_fit(WATCHER, start, end)),
        "tone_hz": _rounded(got.median_frequency(WATCHER, start, end), 1),
        "longest_video_freeze_s": _rounded(got.longest_video_gap(WATCHER, start, end)),
        "video_fps": _rounded(got.video_frames(WATCHER, start, end) / (end - start), 1),
        "video_latency_ms_p50": _rounded(percentile(latency, 0.5), 0),
        "video_latency_ms_p95": _rounded(percentile(latency, 0.95), 0),
        "peer_audio_frames_per_s": _rounded(watcher_audio_rate(watcher, OURS, start, end), 1),
        "peer_video_fps": _rounded(watcher_video_rate(watcher, OURS, start, end), 1),
        "peer_longest_video_freeze_s": _rounded(watcher.longest_video_gap(OURS, start, end)),
    }
    return {f"{key}_{suffix}": value for key, value in figures.items()}


async def run_udp_blocked(
    url: str, token: str, certificate: Path, watcher: WatchingPeer, faults: Faults
) -> dict[str, Any]:
    blocked = faults.block_udp()
    ours = OurSide(url, token, certificate)
    try:
        started = time.time()
        try:
            await ours.join()
        except Exception as exc:
            progress(f"  UDP blocked: connect failed: {exc!r}")
            return {"udp_blocked_media": False, "udp_blocked_connect_s": None,
                    "udp_blocked_dropped_packets": blocked.packets}  # fmt: skip
        engine = ours.room.engine
        relayed = engine is not None and engine.udp_blocked is True
        ours_at, theirs_at = await media_both_ways(ours, watcher, started, RECOVERY_TIMEOUT_S)
        media = ours_at is not None and theirs_at is not None
        return {
            "udp_blocked_media": media,
            "udp_blocked_connect_s": _rounded(max(ours_at, theirs_at) - started)
            if ours_at is not None and theirs_at is not None
            else None,
            "udp_blocked_detected": relayed,
            "udp_blocked_dropped_packets": blocked.packets,
        }
    finally:
        blocked.remove()
        await ours.close()


# --------------------------------------------------------------------- the run


@dataclass
class Settings:
    cuts: int = 20
    cut_seconds: float = 30.0
    short_cuts: int = 5
    short_cut_seconds: float = 5.0
    loss_seconds: float = 20.0
    loss_percent: float = 10.0
    delay_ms: float = 100.0
    jitter_ms: float = 30.0
    scenarios: tuple[str, ...] = ("loss", "short", "cuts", "udp")


@dataclass
class Sandbox:
    """The server side: its namespace, the server, the faults on the link."""

    namespace: ServerNamespace
    server: LiveKitServer
    faults: Faults
    certificate: Path

    def token(self, identity: str) -> str:
        return mint_token(self.server.api_key, self.server.api_secret, identity=identity, room=ROOM)


@contextlib.contextmanager
def sandbox(*, faults_in_process: bool = False) -> Iterator[Sandbox]:
    """Namespace, certificate, server and faults; all gone on every way out.

    The faults are made by a child process unless `faults_in_process`: the delay
    shaper then shares this process's interpreter lock with our client, and holds
    packets longer than asked whenever the client is busy."""
    from devtools.sandbox.livekit_server import enter_sandbox_with_server

    enter_sandbox_with_server()
    ensure_server_binary()
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="visio-faults-")))
        namespace = stack.enter_context(ServerNamespace())
        certificate, key = write_self_signed_cert(folder, namespace.server_ip)
        server = LiveKitServer(
            host_ip=namespace.server_ip,
            netns=namespace.name,
            turn_tls_port=TURN_TLS_PORT,
            turn_cert_file=certificate,
            turn_key_file=key,
        )
        stack.callback(server.close)
        server.start()
        faults: Faults
        if faults_in_process:
            faults = stack.enter_context(namespace.link_faults())
        else:
            faults = stack.enter_context(
                FaultProcess(namespace.client_interface, namespace.server_ip)
            )
        yield Sandbox(namespace, server, faults, certificate)


async def run(box: Sandbox, settings: Settings) -> dict[str, Any]:
    # SIGTERM ends the run like Ctrl-C: through every `finally` below.
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    url = box.server.ws_url
    figures: dict[str, Any] = {}
    watcher = await asyncio.to_thread(
        WatchingPeer, url, box.token(WATCHER), netns=box.namespace.name
    )
    try:
        ours = OurSide(url, box.token(OURS), box.certificate)
        try:
            await ours.join()
            first = await media_both_ways(ours, watcher, time.time(), RECOVERY_TIMEOUT_S)
            if None in first:
                raise RuntimeError(f"no media both ways on a clean link: {first}")
            progress("joined; media flows both ways")
            if "loss" in settings.scenarios:
                progress(
                    f"loss: {settings.loss_percent:g} % each way, "
                    f"{settings.delay_ms:g} ± {settings.jitter_ms:g} ms each way, "
                    f"{settings.loss_seconds:g} s"
                )
                figures |= await run_loss(
                    ours, watcher, box.faults, seconds=settings.loss_seconds,
                    percent=settings.loss_percent, delay_ms=settings.delay_ms,
                    jitter_ms=settings.jitter_ms,
                )  # fmt: skip
                shown = ("audio_", "tone_", "video_", "longest_", "peer_", "conceal")
                progress(f"  {_pairs(figures, *shown)}")
            rejoins_before = ours.room.reconnect_count
            if "short" in settings.scenarios and settings.short_cuts > 0:
                progress(f"short cuts: {settings.short_cuts} x {settings.short_cut_seconds:g} s")
                short = await run_cuts(
                    ours, watcher, box.faults, settings.short_cuts, settings.short_cut_seconds
                )
                figures |= summarise_cuts("short_cut_", short)
            if "cuts" in settings.scenarios and settings.cuts > 0:
                progress(f"cuts: {settings.cuts} x {settings.cut_seconds:g} s")
                rss_start, trimmed_start = rss_mb(), trimmed_rss_mb()
                rejoins_start = ours.room.reconnect_count
                cuts = await run_cuts(
                    ours, watcher, box.faults, settings.cuts, settings.cut_seconds
                )
                rejoins = ours.room.reconnect_count - rejoins_start
                rss_end, trimmed_end = rss_mb(), trimmed_rss_mb()
                summary = summarise_cuts("", cuts)
                figures |= {
                    "detect_s": summary.pop("detect_s_p50"),
                    **summary,
                    "rejoins": rejoins,
                    "rss_start_mb": round(rss_start, 1),
                    "rss_end_mb": round(rss_end, 1),
                    "rss_growth_mb_per_rejoin": _rounded((rss_end - rss_start) / rejoins)
                    if rejoins
                    else None,
                    "rss_trimmed_growth_mb_per_rejoin": _rounded(
                        (trimmed_end - trimmed_start) / rejoins
                    )
                    if rejoins
                    else None,
                }
            figures["reconnects_total"] = ours.room.reconnect_count - rejoins_before
            figures["engines_started"] = ours.room.engines_started
        finally:
            await ours.close()
        if "udp" in settings.scenarios:
            progress("UDP blocked: connecting from scratch")
            # The watcher must see our old session leave before the new one joins.
            await asyncio.sleep(1.0)
            figures |= await run_udp_blocked(
                url, box.token(OURS), box.certificate, watcher, box.faults
            )
            progress(f"  {_pairs(figures, 'udp_')}")
    finally:
        await asyncio.to_thread(watcher.close)
    figures["fault_counters"] = box.faults.counters()
    return figures


def _pairs(figures: dict[str, Any], *prefixes: str) -> str:
    return ", ".join(f"{k}={v}" for k, v in figures.items() if k.startswith(prefixes))


SUMMARY_KEYS = (
    "detect_s",
    "detect_s_max",
    "recover_media_s_p50",
    "recover_media_s_max",
    "audio_frames_per_s_at_loss",
    "longest_video_freeze_s_at_loss",
    "udp_blocked_media",
    "udp_blocked_connect_s",
    "rss_growth_mb_per_rejoin",
)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.faults", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--cuts", type=int, default=20, help="long cuts")
    parser.add_argument("--cut-seconds", type=float, default=30.0)
    parser.add_argument("--short-cuts", type=int, default=5)
    parser.add_argument("--short-cut-seconds", type=float, default=5.0)
    parser.add_argument("--loss-seconds", type=float, default=20.0)
    parser.add_argument("--loss-percent", type=float, default=10.0, help="each way")
    parser.add_argument("--delay-ms", type=float, default=100.0, help="each way")
    parser.add_argument("--jitter-ms", type=float, default=30.0)
    parser.add_argument(
        "--scenarios", default="loss,short,cuts,udp", help="comma-separated subset, in this order"
    )
    parser.add_argument(
        "--faults-in-process",
        action="store_true",
        help="shape the link from this process (as the tests do), not a child process",
    )
    parser.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    args = parser.parse_args(argv)
    settings = Settings(
        cuts=args.cuts,
        cut_seconds=args.cut_seconds,
        short_cuts=args.short_cuts,
        short_cut_seconds=args.short_cut_seconds,
        loss_seconds=args.loss_seconds,
        loss_percent=args.loss_percent,
        delay_ms=args.delay_ms,
        jitter_ms=args.jitter_ms,
        scenarios=tuple(s.strip() for s in args.scenarios.split(",") if s.strip()),
    )
    started = time.monotonic()
    # Outside the event loop (setting up, tearing down) SIGTERM unwinds like an
    # exception, so the sandbox is still cleaned up; inside it, `run` cancels itself.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with sandbox(faults_in_process=args.faults_in_process) as box:
        try:
            figures = asyncio.run(run(box, settings))
        except asyncio.CancelledError:
            progress("stopped by SIGTERM: cleaning up")
            return 128 + signal.SIGTERM
        finally:
            # The loop resets SIGTERM to its default action when it closes.
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
    figures["faults_in_process"] = args.faults_in_process
    figures["run_seconds"] = round(time.monotonic() - started)
    ordered = {key: figures.get(key) for key in SUMMARY_KEYS} | figures
    if not args.json:
        for key, value in ordered.items():
            print(f"{key:40} {value}")
    print(json.dumps(ordered))
    return 0


if __name__ == "__main__":
    sys.exit(main())
