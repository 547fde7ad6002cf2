"""Command line entry point: ``visio-desktop``.

``visio-desktop [link] [--no-prejoin]`` opens the window (home, or pre-join with a
link); ``visio-desktop join --url ... --token ... --headless`` joins a room without
a window and prints one line per event.  The application never needs root: the
local demo meeting, which runs a server in a private network namespace, is a
developer tool (``python -m devtools.demo``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable

from client.captions import Captions, CaptionUpdated
from client.chat import Chat, ChatMessageReceived
from client.gc_tuning import settle_after_startup
from client.livekit import errors
from client.livekit import events as ev
from client.livekit.participant import TrackSource
from client.livekit.remote_track import RemoteTrack
from client.livekit.room import Room, RoomOptions
from client.livekit.tasks import spawn

log = logging.getLogger("client")


def describe(event: ev.Event) -> str | None:
    """One human-readable line for an event, or None for events not worth a line."""
    match event:
        case ev.Connected(room_name=name, local_identity=identity):
            return f"joined room {name!r} as {identity}"
        case ev.Reconnecting(reason=reason, attempt=attempt):
            return f"reconnecting (attempt {attempt}): {reason}"
        case ev.Reconnected():
            return "reconnected"
        case ev.Disconnected(reason=reason):
            return f"disconnected: {reason}"
        case ev.ParticipantConnected(participant=p):
            return f"participant joined: {p.display_name} ({p.identity})"
        case ev.ParticipantDisconnected(participant=p):
            return f"participant left: {p.display_name} ({p.identity})"
        case ev.TrackSubscribed(participant=p, publication=pub):
            return f"track subscribed: {p.display_name} {pub.source.value} {pub.kind} {pub.sid}"
        case ev.TrackUnsubscribed(participant=p, publication=pub):
            return f"track unsubscribed: {p.display_name} {pub.source.value} {pub.sid}"
        case ev.TrackMuted(participant=p, sid=sid):
            return f"muted: {p.display_name} {sid}"
        case ev.TrackUnmuted(participant=p, sid=sid):
            return f"unmuted: {p.display_name} {sid}"
        case ev.LocalTrackPublished(publication=pub):
            return f"published: {pub.source.value} {pub.kind} {pub.sid}"
        case ev.ActiveSpeakersChanged(speakers=speakers):
            names = ", ".join(p.display_name for p in speakers) or "nobody"
            return f"speaking: {names}"
        case ChatMessageReceived(message=m):
            return f"chat: {m.sender_name}: {m.text}"
        case CaptionUpdated(segment=s):
            mark = "final" if s.final else "interim"
            return f"caption [{mark}] {s.participant_name}: {s.text}"
    return None


STATS_INTERVAL_S = 10.0


class TrackRates:
    """Frames per second of each subscribed track between two samples.

    Counts are kept per track object, not per publication sid: after a rejoin the
    publication keeps its sid while a new track starts counting from zero."""

    def __init__(self) -> None:
        self._previous: dict[int, tuple[RemoteTrack, int]] = {}

    def sample(self, room: Room, interval_s: float) -> list[str]:
        parts: list[str] = []
        current: dict[int, tuple[RemoteTrack, int]] = {}
        for participant in room.remote_participants.values():
            for publication in participant.track_publications.values():
                track = publication.track
                if track is None:
                    continue
                frames = track.frames_received
                _, before = self._previous.get(id(track), (track, 0))
                current[id(track)] = (track, frames)
                rate = (frames - before) / interval_s
                parts.append(f"{participant.display_name} {publication.source.value} {rate:.0f}/s")
        # Holding the track keeps its id() from being reused by a new one.
        self._previous = current
        return parts


async def print_media_stats(room: Room, out: Callable[[str], None]) -> None:
    """Every few seconds, one line with what each subscribed track delivers."""
    rates = TrackRates()
    while True:
        await asyncio.sleep(STATS_INTERVAL_S)
        parts = rates.sample(room, STATS_INTERVAL_S)
        if parts:
            out("receiving: " + ", ".join(parts))


async def run_headless(
    url: str,
    token: str,
    *,
    publish_test_pattern: bool,
    ice_servers_from_server: bool = True,
    out: Callable[[str], None] = print,
) -> int:
    room = Room(RoomOptions(ice_servers=None if ice_servers_from_server else []))
    done = asyncio.Event()

    def show(event: ev.Event) -> None:
        line = describe(event)
        if line is not None:
            out(line)
        if isinstance(event, ev.Disconnected):
            done.set()

    room.events.on_any(show)
    ended: list[ev.Disconnected] = []
    room.events.on(ev.Disconnected, ended.append)
    chat = Chat(room)
    captions = Captions(room)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, done.set)
    settle_after_startup()
    try:
        await room.connect(url, token)
    except errors.ConnectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if publish_test_pattern:
            from client.media.test_sources import TestPatternTrack, ToneTrack

            await room.publish_track(TestPatternTrack(), TrackSource.CAMERA, width=640, height=360)
            await room.publish_track(ToneTrack(440.0), TrackSource.MICROPHONE)
        stats = spawn(print_media_stats(room, out), "media-stats")
        try:
            await done.wait()
        finally:
            stats.cancel()
    finally:
        chat.close()
        captions.close()
        if room.state != ev.ConnectionState.DISCONNECTED:
            await room.disconnect()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    # Ended by the server (removed, room closed, token refused on rejoin): not a success.
    return 1 if any(e.error is not None for e in ended) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visio-desktop", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command")
    join = sub.add_parser("join", help="join a LiveKit room")
    join.add_argument("--url", required=True, help="server address (ws://, wss://, https://)")
    join.add_argument(
        "--token",
        default=os.environ.get("VISIO_DESKTOP_TOKEN"),
        help="LiveKit access token (default: $VISIO_DESKTOP_TOKEN, which keeps it out of ps)",
    )
    join.add_argument("--headless", action="store_true", help="no window: print events")
    join.add_argument(
        "--publish-test-pattern",
        action="store_true",
        help="publish a moving test pattern and a 440 Hz tone",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if not arguments or arguments[0] != "join" or "--headless" not in arguments:
        # The window: the home screen, or straight to pre-join with a link.
        from client.ui.app import run

        return run(arguments)
    args = build_parser().parse_args(arguments)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aioice/aiortc are chatty at INFO and above about expected network noise.
    logging.getLogger("aioice").setLevel(logging.ERROR)
    if not args.token:
        print("error: no access token: pass --token or set VISIO_DESKTOP_TOKEN", file=sys.stderr)
        return 2
    try:
        return asyncio.run(
            run_headless(args.url, args.token, publish_test_pattern=args.publish_test_pattern)
        )
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
