"""A local demo meeting: a real livekit-server in a private network namespace and
a demo participant (our own core) that publishes a moving pattern, a tone, chat
messages and captions.  ``make run`` (``python -m devtools.demo``) runs it with our
client joined, so a newcomer sees the whole client work without a server of their own.
It needs root: it creates the network namespace.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

from client.chat import Chat
from client.livekit.participant import TrackSource
from client.livekit.room import Room, RoomOptions
from client.media.test_sources import TestPatternTrack, ToneTrack
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.sandbox.tokens import mint_token

log = logging.getLogger(__name__)

DEMO_ROOM = "demo"
DEMO_PHRASES = (
    "Bienvenue dans la réunion de démonstration de Visio Desktop.",
    "Les sous-titres arrivent en direct, mot après mot.",
    "Welcome to the Visio Desktop demo meeting.",
)


@dataclass(frozen=True)
class DemoMeeting:
    server: LiveKitServer
    url: str

    def token(
        self,
        identity: str,
        name: str,
        *,
        agent: bool = False,
        attributes: dict[str, str] | None = None,
    ) -> str:
        return mint_token(
            self.server.api_key,
            self.server.api_secret,
            identity=identity,
            room=DEMO_ROOM,
            name=name,
            agent=agent,
            attributes=attributes,
            # Raising a hand sets one's own attribute (handRaisedAt) on plain LiveKit.
            can_update_own_metadata=True,
        )

    def link(self, identity: str, name: str) -> str:
        """A meeting link for our client, as a user would paste it."""
        return f"{self.url}?token={self.token(identity, name)}"


#: Colleagues in the demo meeting: (identity, name, colour, camera on, raises a hand).
DEMO_COLLEAGUES = (
    ("camille", "Camille Martin", "hsl(330, 55%, 42%)", True, True),
    ("yacine", "Yacine Benali", "hsl(150, 45%, 35%)", False, False),
)


async def run_colleague(
    meeting: DemoMeeting,
    stop: asyncio.Event,
    identity: str,
    name: str,
    colour: str,
    camera_on: bool,
    raises_hand: bool,
) -> None:
    """Another participant: a camera (or none), a hand raised, a chat line."""
    room = Room(RoomOptions(ice_servers=[]))
    await room.connect(meeting.url, meeting.token(identity, name, attributes={"color": colour}))
    chat = Chat(room)
    try:
        camera = await room.publish_track(
            TestPatternTrack(), TrackSource.CAMERA, width=640, height=360
        )
        if not camera_on:
            await room.set_muted(camera, True)
        microphone = await room.publish_track(
            ToneTrack(440.0, amplitude=0.0), TrackSource.MICROPHONE
        )
        await room.set_muted(microphone, True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 4.0)
        if not stop.is_set():
            await chat.send(f"Bonjour, ici {name.split()[0]} 👋")
        if raises_hand and not stop.is_set():
            await room.set_own_attributes({"handRaisedAt": "2026-12-01T09:00:00.000+00:00"})
        await stop.wait()
    finally:
        chat.close()
        await room.disconnect()


async def run_demo_participant(meeting: DemoMeeting, stop: asyncio.Event) -> None:
    """Join as « Démo », publish pattern and tone, then talk in chat and captions."""
    room = Room(RoomOptions(ice_servers=[]))
    # An agent token: the server forwards transcription packets only from agents.
    await room.connect(meeting.url, meeting.token("demo-bot", "Démo", agent=True))
    chat = Chat(room)
    try:
        await room.publish_track(TestPatternTrack(), TrackSource.CAMERA, width=640, height=360)
        microphone = await room.publish_track(ToneTrack(440.0), TrackSource.MICROPHONE)
        turn = 0
        while not stop.is_set():
            phrase = DEMO_PHRASES[turn % len(DEMO_PHRASES)]
            words = phrase.split()
            segment_id = f"demo-{turn}"
            for count in range(1, len(words) + 1):
                await room.send_transcription(
                    participant_identity=room.local_participant.identity,
                    track_sid=microphone.sid,
                    segment_id=segment_id,
                    text=" ".join(words[:count]),
                    final=count == len(words),
                )
                await asyncio.sleep(0.3)
            await chat.send(f"Message de démonstration n° {turn + 1}")
            turn += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 3.0)
    finally:
        chat.close()
        await room.disconnect()


@contextlib.asynccontextmanager
async def demo_meeting() -> AsyncIterator[DemoMeeting]:
    """Start the sandbox server (in its own network namespace) and a demo participant."""
    from devtools.sandbox.livekit_server import ensure_server_binary, enter_sandbox_with_server

    enter_sandbox_with_server()
    await asyncio.to_thread(ensure_server_binary)
    server = LiveKitServer()
    await asyncio.to_thread(server.start)
    meeting = DemoMeeting(server, server.ws_url)
    stop = asyncio.Event()
    participants = [asyncio.create_task(run_demo_participant(meeting, stop))]
    participants += [
        asyncio.create_task(run_colleague(meeting, stop, *colleague))
        for colleague in DEMO_COLLEAGUES
    ]
    try:
        yield meeting
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*participants, return_exceptions=True), 10)
        await asyncio.to_thread(server.stop)


async def run_demo(seconds: float | None) -> int:
    """The demo meeting with our client joined to it, printing events."""
    from client.cli import run_headless

    print("starting the local demo meeting (livekit-server in a private network namespace)…")
    async with demo_meeting() as meeting:
        token = meeting.token("visio-desktop", "Visio Desktop")
        task = asyncio.create_task(
            run_headless(
                meeting.url, token, publish_test_pattern=False, ice_servers_from_server=False
            )
        )
        if seconds is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), seconds)
            if not task.done():
                signal.raise_signal(signal.SIGTERM)
        return await task


def run_windowed(verbose: bool) -> int:
    """The demo meeting on a thread of its own; the app's window joins it."""
    import concurrent.futures
    import threading

    from client.livekit.room import RoomOptions as AppRoomOptions
    from client.ui.app import run

    print("starting the local demo meeting (livekit-server in a private network namespace)…")
    link: concurrent.futures.Future[str] = concurrent.futures.Future()
    stop_demo = threading.Event()

    async def host() -> None:
        try:
            async with demo_meeting() as meeting:
                link.set_result(meeting.link("visio-desktop", "Vous"))
                while not stop_demo.is_set():
                    await asyncio.sleep(0.2)
        except Exception as exc:
            if not link.done():
                link.set_exception(exc)
            raise

    thread = threading.Thread(target=lambda: asyncio.run(host()), name="demo-meeting")
    thread.start()
    try:
        url = link.result(timeout=120)
        arguments = [url, "--no-prejoin", "--name", "Vous"] + (["-v"] if verbose else [])
        # The sandbox server's candidates are all the client may use.
        return run(arguments, room_options=AppRoomOptions(ice_servers=[]))
    finally:
        stop_demo.set()
        thread.join(20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__)
    parser.add_argument("--seconds", type=float, default=None, help="leave after this long")
    parser.add_argument("--headless", action="store_true", help="print events, no window")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aioice").setLevel(logging.ERROR)
    # Before asyncio starts any thread: the namespace applies to threads born later.
    from devtools.sandbox.livekit_server import enter_sandbox_with_server

    enter_sandbox_with_server()
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not args.headless and not has_display:
        print("no display here (DISPLAY and WAYLAND_DISPLAY are unset): running headless")
    try:
        if not args.headless and has_display:
            return run_windowed(args.verbose)
        return asyncio.run(run_demo(args.seconds))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
