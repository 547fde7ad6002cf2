"""Screenshots of the window as users see it, for people to look at.

``python -m devtools.screenshots [--out screenshots]`` runs a real server in the
sandbox, fills a meeting with 1, 4, 9 and 16 participants (official-SDK peers in
another process, at a low frame rate), has a hidden transcription agent caption
our speech, and saves the window at 1280x720 and 1920x1080 in French and
English, plus the home and pre-join screens.  Needs root (network namespace).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from client.meeting_link import MeetingLink
from client.ui.app import Application
from devtools import sdk_peers
from devtools.app_driver import PeerLoop, run_app
from devtools.waiting import wait_for

SIZES = ((1280, 720), (1920, 1080))
COUNTS = (1, 4, 9, 16)
LANGUAGES = ("fr", "en")
ROOM = "screenshots"
CAPTIONS = {
    "fr": "Bonjour à toutes et à tous, nous commençons la réunion du comité de pilotage.",
    "en": "Good morning everyone, let us start the steering committee meeting.",
}
NAMES = (
    "Camille Martin", "Yacine Benali", "Sophie Durand", "Lucas Bernard", "Chloé Petit",
    "Mehdi Haddad", "Emma Leroy", "Hugo Moreau", "Léa Fournier", "Nathan Girard",
    "Inès Lambert", "Louis Bonnet", "Manon Mercier", "Gabriel Faure", "Zoé Rousseau",
)  # fmt: skip


@contextlib.contextmanager
def language(code: str) -> Iterator[None]:
    """Run the app with a settings folder of its own, in ``code``."""
    previous = os.environ.get("VISIO_DESKTOP_CONFIG_DIR")
    with tempfile.TemporaryDirectory() as folder:
        settings = {"language": code, "display_name": "Claire Dubois"}
        Path(folder, "settings.json").write_text(json.dumps(settings), encoding="utf-8")
        os.environ["VISIO_DESKTOP_CONFIG_DIR"] = folder
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("VISIO_DESKTOP_CONFIG_DIR", None)
            else:
                os.environ["VISIO_DESKTOP_CONFIG_DIR"] = previous


def start_peers(url: str, tokens: list[str]) -> subprocess.Popen[str] | None:
    # A grid's tiles get thumbnail layers in a real meeting; a full camera each would
    # only starve the machine the screenshots are taken on.
    bitrate = 800_000 if len(tokens) <= 3 else 250_000
    return sdk_peers.start_peers(url, tokens, fps=5, max_bitrate=bitrate) if tokens else None


def shoot(out: Path, counts: tuple[int, ...] = COUNTS) -> list[Path]:
    from devtools.sandbox.livekit_server import LiveKitServer, ensure_server_binary
    from devtools.sandbox.tokens import mint_token
    from tests.sdk_peer import SdkPeer

    ensure_server_binary()
    server = LiveKitServer()
    server.start()
    saved: list[Path] = []
    peers_loop = PeerLoop()

    def token(identity: str, name: str, *, agent: bool = False, hidden: bool = False) -> str:
        return mint_token(
            server.api_key,
            server.api_secret,
            identity=identity,
            room=ROOM,
            name=name,
            agent=agent,
            hidden=hidden,
        )

    try:
        agent_token = token("transcriber", "Transcription", agent=True, hidden=True)

        async def make_agent() -> SdkPeer:
            agent = SdkPeer(server.ws_url, agent_token)
            await agent.connect(subscribe=False)
            return agent

        agent = peers_loop.run(make_agent())
        for count in counts:
            tokens = [token(f"peer-{i}", NAMES[i]) for i in range(count - 1)]
            peers = start_peers(server.ws_url, tokens)
            try:
                for code in LANGUAGES:
                    with language(code):
                        for width, height in SIZES:
                            name = f"call-{count}p-{width}x{height}-{code}.png"
                            link = MeetingLink(server.ws_url, token("me", "Claire Dubois"))
                            shot = _attempt(
                                _call,
                                out / name,
                                link,
                                count,
                                (width, height),
                                agent,
                                peers_loop,
                                CAPTIONS[code],
                            )
                            if shot is not None:
                                saved.append(shot)
            finally:
                if peers is not None:
                    sdk_peers.stop_peers(peers)
        for code in LANGUAGES:
            with language(code):
                saved += _screens(
                    out, code, MeetingLink(server.ws_url, token("me", "Claire Dubois"))
                )
        peers_loop.run(agent.close())
    finally:
        peers_loop.stop()
        server.close()
    return saved


def _attempt(shoot_one: Callable[..., Path], *args: object) -> Path | None:
    """One screenshot; a failure is reported and the others still get taken."""
    try:
        return shoot_one(*args)
    except Exception as exc:
        print(f"screenshot failed: {args[0]}: {exc}", file=sys.stderr)
        return None


def _call(
    path: Path,
    link: MeetingLink,
    count: int,
    size: tuple[int, int],
    agent: object,
    peers_loop: PeerLoop,
    caption: str,
) -> Path:
    from tests.sdk_peer import SdkPeer

    assert isinstance(agent, SdkPeer)

    async def scenario(app: Application) -> None:
        app.window.resize(*size)
        app.open(link, None, prejoin=False)
        await wait_for(lambda: app.window.call_page is not None, 15, "the call page")
        page = app.window.call_page
        assert page is not None and app.window.session is not None
        grid = page.stage.grid
        await wait_for(lambda: len(grid.tiles) == count, 30, f"{count} tiles")
        await wait_for(
            lambda: all(t.images_painted > 0 for k, t in grid.tiles.items() if k != "me"),
            30,
            "video in every tile",
        )
        session = app.window.session
        await wait_for(
            lambda: session.camera is not None and bool(session.camera.sid), 15, "our tracks"
        )
        microphone = session.microphone
        assert microphone is not None
        await peers_loop.run_async(_caption(agent, "me", microphone.sid, caption))
        overlay = page.stage.captions
        # The caption wraps over rows: compare words, not lines.
        await wait_for(
            lambda: caption in " ".join(overlay.displayed_text().split()), 30, "the caption"
        )
        await asyncio.sleep(0.5)
        path.parent.mkdir(parents=True, exist_ok=True)
        app.window.grab().save(str(path))

    run_app(scenario)
    return path


async def _caption(agent: object, identity: str, track_sid: str, sentence: str) -> None:
    from livekit import rtc

    from tests.sdk_peer import SdkPeer

    assert isinstance(agent, SdkPeer)
    words = sentence.split()
    for count in (len(words) // 2, len(words)):
        await agent.room.local_participant.publish_transcription(
            rtc.Transcription(
                participant_identity=identity,
                track_sid=track_sid,
                segments=[
                    rtc.TranscriptionSegment(
                        id=f"shot-{track_sid}-{sentence[:8]}",
                        text=" ".join(words[:count]),
                        start_time=0,
                        end_time=0,
                        language="",
                        final=count == len(words),
                    )
                ],
            )
        )
        await asyncio.sleep(0.2)


def _screens(out: Path, code: str, link: MeetingLink) -> list[Path]:
    paths = [out / f"home-{code}.png", out / f"prejoin-{code}.png"]

    async def scenario(app: Application) -> None:
        app.window.resize(1280, 720)
        app.open(None, None)
        await asyncio.sleep(0.5)
        app.window.grab().save(str(paths[0]))
        app.window.open_prejoin(link, "Claire Dubois")
        await wait_for(lambda: app.window.prejoin.preview.images_painted > 3, 10, "the preview")
        app.window.grab().save(str(paths[1]))
        app.window.show_home()

    run_app(scenario)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument(
        "--counts", type=int, nargs="*", default=list(COUNTS), help="participants per meeting"
    )
    args = parser.parse_args(argv)
    from devtools.sandbox.livekit_server import enter_sandbox_with_server
    from devtools.translations import ensure_compiled
    from devtools.xvfb import xvfb

    ensure_compiled()
    enter_sandbox_with_server()
    with xvfb(1920, 1080):
        for path in shoot(args.out, tuple(args.counts)):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
