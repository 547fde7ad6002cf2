"""The captions benchmark: from an agent sending a caption to the overlay painting it.

A local livekit-server runs in the test network namespace; an official-SDK peer with
an agent token (the server forwards transcriptions only from agents) joins on a loop
of its own in this process and publishes a tone; our application window (1920x1080
on a private Xvfb) joins as ``--no-prejoin`` does.  The agent then captions its own
speech as a transcription agent does: sentences growing word by word (interim
updates) then final, each update in both forms agents send (the legacy transcription
packet and the ``lk.transcription`` text stream, concurrently).  Every update ends
with a sequence number (``#0007``), and the agent notes the monotonic time just
before sending it.

In the window, ``CaptionsOverlay.add_segment`` and ``CaptionsOverlay.paintEvent``
are wrapped (monkeypatching, in this process only): the latency of an update is the
time from its sending to the end of the first overlay paint whose displayed text
holds its number.  The same clock serves both sides (one process), and the core's
own receive time (``CaptionSegment.received_at``) splits it into the network and
core part, the hop to the UI thread, and the layout and paint.

``--video-peers N`` adds N official-SDK peers publishing video (another process), so
the overlay is measured over a grid that repaints, as in a real call.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from bench.measures import percentile
from bench.render import (
    WINDOW_H,
    WINDOW_W,
    start_sdk_peers,
    stop_process,
    token_for,
    window_sandbox,
)

if TYPE_CHECKING:
    from client.captions import CaptionSegment
    from client.ui.app import Application
    from devtools.app_driver import PeerLoop
    from devtools.sandbox.livekit_server import LiveKitServer
    from tests.sdk_peer import SdkPeer

ROOM = "bench-captions"
INTERIM_STEPS = 3
#: Between two updates of a sentence, and between sentences: an agent's pace.
UPDATE_GAP_S = 0.25
SENTENCE_GAP_S = 0.6
PAINT_TIMEOUT_S = 3.0
TAG = re.compile(r"#(\d{4})")

SENTENCES = (
    "Le comité se réunira jeudi à dix heures dans la grande salle",
    "Merci à toutes et à tous d'être présents ce matin",
    "Nous commençons par le point budgétaire du trimestre",
    "Les chiffres définitifs seront publiés la semaine prochaine",
    "La direction propose de reporter le projet au printemps",
    "Quelqu'un souhaite-t-il intervenir sur ce point",
    "Je voudrais revenir sur le calendrier des recrutements",
    "Le compte rendu sera envoyé à chacun par courriel",
    "Passons maintenant aux questions diverses",
    "La séance est levée, bonne fin de journée à tous",
)


@dataclass
class CaptionClock:
    """When each numbered update was sent, reached the core, the UI, and was painted."""

    sent: dict[int, float] = field(default_factory=dict)
    finals: set[int] = field(default_factory=set)
    core: dict[int, float] = field(default_factory=dict)
    ui: dict[int, float] = field(default_factory=dict)
    laid_out: dict[int, float] = field(default_factory=dict)
    painted: dict[int, float] = field(default_factory=dict)
    overlay_paints: int = 0

    def is_painted(self, seq: int) -> Callable[[], bool]:
        return lambda: seq in self.painted

    def install(self) -> Callable[[], None]:
        """Wrap the overlay's slot and paint; returns what undoes it."""
        from PySide6.QtGui import QPaintEvent

        from client.ui.captions_overlay import CaptionsOverlay

        add_segment = CaptionsOverlay.add_segment
        paint = CaptionsOverlay.paintEvent

        def timed_add(overlay: CaptionsOverlay, segment: CaptionSegment) -> None:
            now = time.monotonic()
            numbers = [int(match.group(1)) for match in TAG.finditer(segment.text)]
            for seq in numbers:
                self.ui.setdefault(seq, now)
                self.core.setdefault(seq, segment.received_at)
            add_segment(overlay, segment)
            done = time.monotonic()
            for seq in numbers:
                self.laid_out.setdefault(seq, done)

        def timed_paint(overlay: CaptionsOverlay, event: QPaintEvent) -> None:
            paint(overlay, event)
            self.overlay_paints += 1
            if overlay._pixmap is None:
                return
            now = time.monotonic()
            for match in TAG.finditer(overlay.displayed_text()):
                self.painted.setdefault(int(match.group(1)), now)

        CaptionsOverlay.add_segment = timed_add  # type: ignore[method-assign,assignment]
        CaptionsOverlay.paintEvent = timed_paint  # type: ignore[method-assign,assignment]

        def restore() -> None:
            CaptionsOverlay.add_segment = add_segment  # type: ignore[method-assign]
            CaptionsOverlay.paintEvent = paint  # type: ignore[method-assign]

        return restore


@dataclass(frozen=True)
class CaptionFigures:
    captions_sent: int
    captions_painted: int
    interim: int
    final: int
    video_peers: int
    caption_latency_ms_p50: float
    caption_latency_ms_p95: float
    caption_latency_ms_max: float
    final_latency_ms_p50: float
    interim_latency_ms_p50: float
    network_and_core_ms_p50: float
    core_to_ui_ms_p50: float
    ui_to_paint_ms_p50: float
    ui_to_paint_ms_p95: float
    layout_ms_p50: float
    laid_out_to_painted_ms_p50: float
    laid_out_to_painted_ms_p95: float
    overlay_paints: int


async def _send_update(
    agent: SdkPeer,
    clock: CaptionClock,
    seq: int,
    track_sid: str,
    ids: tuple[str, str],
    text: str,
    final: bool,
) -> None:
    """One caption update in both forms, as an agent sends them (on the agent's loop)."""
    from livekit import rtc

    packet_id, stream_id = ids
    participant = agent.room.local_participant
    packet = rtc.Transcription(
        participant_identity=agent.identity,
        track_sid=track_sid,
        segments=[
            rtc.TranscriptionSegment(
                id=packet_id, text=text, start_time=0, end_time=0, language="fr", final=final
            )
        ],
    )
    clock.sent[seq] = time.monotonic()
    await asyncio.gather(
        participant.publish_transcription(packet),
        participant.send_text(
            text,
            topic="lk.transcription",
            attributes={
                "lk.segment_id": stream_id,
                "lk.transcribed_track_id": track_sid,
                "lk.transcription_final": "true" if final else "false",
            },
        ),
    )


async def _scenario(
    app: Application,
    server: LiveKitServer,
    peers: PeerLoop,
    agent: SdkPeer,
    track_sid: str,
    count: int,
    clock: CaptionClock,
    say: Callable[[str], None],
) -> None:
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
    await wait_for(lambda: agent.identity in page.stage.grid.tiles, 30, "the agent's tile")
    await asyncio.sleep(1.0)
    say(f"the agent sends {count} caption updates ({INTERIM_STEPS - 1} interim, then final)")
    seq = 0
    sentence = 0
    while seq < count:
        words = SENTENCES[sentence % len(SENTENCES)].split()
        sentence += 1
        ids = (f"SG_pkt_{uuid.uuid4().hex[:8]}", f"SG_str_{uuid.uuid4().hex[:8]}")
        cuts = sorted({max(1, len(words) * (i + 1) // INTERIM_STEPS) for i in range(INTERIM_STEPS)})
        for index, cut in enumerate(cuts):
            if seq >= count:
                break
            seq += 1
            final = index == len(cuts) - 1
            if final:
                clock.finals.add(seq)
            text = " ".join(words[:cut]) + f" #{seq:04d}"
            await peers.run_async(_send_update(agent, clock, seq, track_sid, ids, text, final))
            try:
                await wait_for(clock.is_painted(seq), PAINT_TIMEOUT_S, f"caption #{seq}")
            except AssertionError:
                say(f"caption #{seq} was not painted within {PAINT_TIMEOUT_S:.0f} s")
            await asyncio.sleep(UPDATE_GAP_S)
        await asyncio.sleep(SENTENCE_GAP_S)


def run_captions(count: int, video_peers: int = 0, log: bool = True) -> CaptionFigures:
    from devtools.app_driver import PeerLoop, run_app
    from tests.sdk_peer import SdkPeer

    def say(text: str) -> None:
        if log:
            print(text, file=sys.stderr, flush=True)

    clock = CaptionClock()
    with window_sandbox() as server:
        videos: subprocess.Popen[str] | None = None
        peers = PeerLoop()
        agent: SdkPeer | None = None
        restore: Callable[[], None] | None = None
        try:
            if video_peers:
                tokens = [
                    token_for(server, f"peer-{i}", ROOM, name=f"Pair {i}")
                    for i in range(video_peers)
                ]
                videos = start_sdk_peers(server, tokens, 15)
            token = token_for(server, "agent", ROOM, name="Agent", agent=True)

            async def join() -> tuple[SdkPeer, str]:
                from livekit import rtc

                joined = SdkPeer(server.ws_url, token)
                # Not subscribed: decoding our video would compete for the CPU we measure.
                await joined.room.connect(
                    server.ws_url, token, rtc.RoomOptions(auto_subscribe=False)
                )
                microphone = await joined.publish_tone(330.0)
                return joined, str(microphone.sid)

            agent, track_sid = peers.run(join())
            say(f"agent joined, publishing a tone; {video_peers} video peers; opening the window")
            restore = clock.install()
            joined_agent = agent
            run_app(
                lambda app: _scenario(
                    app, server, peers, joined_agent, track_sid, count, clock, say
                )
            )
        finally:
            if restore is not None:
                restore()
            try:
                if agent is not None:
                    peers.run(agent.close())
            finally:
                peers.stop()
                stop_process(videos)

    latencies = {
        s: (clock.painted[s] - t) * 1000 for s, t in clock.sent.items() if s in clock.painted
    }
    values = list(latencies.values())
    finals = [v for s, v in latencies.items() if s in clock.finals]
    interims = [v for s, v in latencies.items() if s not in clock.finals]
    network = [(clock.core[s] - clock.sent[s]) * 1000 for s in latencies if s in clock.core]
    hop = [
        (clock.ui[s] - clock.core[s]) * 1000 for s in latencies if s in clock.ui and s in clock.core
    ]
    paint = [(clock.painted[s] - clock.ui[s]) * 1000 for s in latencies if s in clock.ui]
    layout = [(clock.laid_out[s] - clock.ui[s]) * 1000 for s in latencies if s in clock.laid_out]
    wait = [(clock.painted[s] - clock.laid_out[s]) * 1000 for s in latencies if s in clock.laid_out]

    def ms(values: list[float], fraction: float) -> float:
        return round(percentile(values, fraction), 1)

    return CaptionFigures(
        captions_sent=len(clock.sent),
        captions_painted=len(latencies),
        interim=len(clock.sent) - len(clock.finals),
        final=len(clock.finals),
        video_peers=video_peers,
        caption_latency_ms_p50=ms(values, 0.5),
        caption_latency_ms_p95=ms(values, 0.95),
        caption_latency_ms_max=round(max(values, default=float("nan")), 1),
        final_latency_ms_p50=ms(finals, 0.5),
        interim_latency_ms_p50=ms(interims, 0.5),
        network_and_core_ms_p50=ms(network, 0.5),
        core_to_ui_ms_p50=ms(hop, 0.5),
        ui_to_paint_ms_p50=ms(paint, 0.5),
        ui_to_paint_ms_p95=ms(paint, 0.95),
        layout_ms_p50=ms(layout, 0.5),
        laid_out_to_painted_ms_p50=ms(wait, 0.5),
        laid_out_to_painted_ms_p95=ms(wait, 0.95),
        overlay_paints=clock.overlay_paints,
    )


def main_captions(count: int, as_json: bool, video_peers: int = 0) -> int:
    from devtools.sandbox.livekit_server import enter_sandbox_with_server

    enter_sandbox_with_server()
    figures = run_captions(count, video_peers)
    if not as_json:
        for key, value in asdict(figures).items():
            print(f"{key:28} {value}")
    print(json.dumps(asdict(figures)))
    return 0
