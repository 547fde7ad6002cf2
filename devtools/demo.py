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

    def token(self, identity: str, name: str, *, agent: bool = False) -> str:
        return mint_token(
            self.server.api_key,
            self.server.api_secret,
            identity=identity,
            room=DEMO_ROOM,
            name=name,
            agent=agent,
        )


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
    from devtools.sandbox.livekit_server import ensure_server_binary
    from devtools.sandbox.netns import enter_test_netns

    enter_test_netns()
    await asyncio.to_thread(ensure_server_binary)
    server = LiveKitServer()
    await asyncio.to_thread(server.start)
    meeting = DemoMeeting(server, server.ws_url)
    stop = asyncio.Event()
    participant = asyncio.create_task(run_demo_participant(meeting, stop))
    try:
        yield meeting
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(participant, 10)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__)
    parser.add_argument("--seconds", type=float, default=None, help="leave after this long")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aioice").setLevel(logging.ERROR)
    # Before asyncio starts any thread: the namespace applies to threads born later.
    from devtools.sandbox.netns import enter_test_netns

    enter_test_netns()
    try:
        return asyncio.run(run_demo(args.seconds))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
