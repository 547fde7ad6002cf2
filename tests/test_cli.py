"""The headless command, as a user runs it: a real process, real signals."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from livekit import api

from devtools.sandbox.livekit_server import LiveKitServer
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.sdk_peer import SdkPeer


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "client", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )


def test_malformed_url_is_a_clear_error_without_traceback() -> None:
    result = run_cli("join", "--url", "visio.example", "--token", "abc", "--headless")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error: invalid server address" in result.stderr


def test_missing_token_is_a_clear_error() -> None:
    env = {k: v for k, v in os.environ.items() if k != "VISIO_DESKTOP_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "client", "join", "--url", "ws://h", "--headless"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert result.returncode == 2
    assert "no access token" in result.stderr


async def test_headless_join_prints_events_and_leaves_on_sigterm(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    token = token_factory("cli", room_name, name="Poste")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "client",
        "join",
        "--url",
        livekit_server.ws_url,
        "--headless",
        "--publish-test-pattern",
        env={**os.environ, "VISIO_DESKTOP_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    lines: list[str] = []

    async def read() -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            lines.append(raw.decode().rstrip())

    reader = asyncio.create_task(read())
    peer = SdkPeer(livekit_server.ws_url, token_factory("sdk", room_name, name="Pair"))
    lkapi = api.LiveKitAPI(
        livekit_server.http_url, livekit_server.api_key, livekit_server.api_secret
    )
    try:
        await wait_for(lambda: any(line.startswith("joined room") for line in lines), 15)
        await peer.connect()
        await peer.publish_video()
        await wait_for(lambda: "participant joined: Pair (sdk)" in lines, 10, "join line")
        await wait_for(
            lambda: any(line.startswith("track subscribed: Pair camera video") for line in lines),
            10,
            "track line",
        )
        await wait_for(lambda: len(peer.video) > 0, 10, "our test pattern at the peer")
        await peer.room.local_participant.send_text("Salut !", topic="lk.chat")
        await wait_for(lambda: "chat: Pair: Salut !" in lines, 10, "chat line")

        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 10)
        assert code == 0
        left_at = time.monotonic()
        while True:
            response = await lkapi.room.list_participants(
                api.ListParticipantsRequest(room=room_name)
            )
            if "cli" not in {p.identity for p in response.participants}:
                break
            assert time.monotonic() - left_at < 2, "the command did not leave the room"
            await asyncio.sleep(0.05)
        assert process.stderr is not None
        errors_text = (await process.stderr.read()).decode()
        assert "Traceback" not in errors_text
        assert token not in errors_text and all(token not in line for line in lines)
    finally:
        if process.returncode is None:
            process.kill()
        reader.cancel()
        await peer.close()
        await lkapi.aclose()


async def test_receiving_rates_restart_with_a_new_track_after_a_rejoin() -> None:
    """After a rejoin the publication keeps its sid but its track is new and counts
    from zero: the rate must not go negative."""
    from livekit.protocol import models

    from client.cli import TrackRates
    from client.livekit.remote_track import RemoteTrack
    from client.livekit.room import Room
    from tests.test_room_model import CountingTrack

    room = Room()
    room.reconciler.update(
        models.ParticipantInfo(
            sid="PA_1",
            identity="alice",
            state=models.ParticipantInfo.ACTIVE,
            tracks=[models.TrackInfo(sid="TR_1", type=models.TrackType.AUDIO)],
        )
    )
    publication = room.remote_participants["alice"].track_publications["TR_1"]
    rates = TrackRates()
    first = RemoteTrack("TR_1", "audio", CountingTrack())
    publication.track = first
    first.frames_received = 500
    assert rates.sample(room, 10) == ["alice unknown 50/s"]
    await first.stop()
    second = RemoteTrack("TR_1", "audio", CountingTrack())  # the same sid, a new track
    publication.track = second
    second.frames_received = 100
    assert rates.sample(room, 10) == ["alice unknown 10/s"]
    await second.stop()
