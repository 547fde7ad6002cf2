"""Our client and a real web client in one room: headless Chromium running
livekit-client 2.21 with Visio's options (devtools/browser_peer), on a real server.

The browser publishes VP9 with a VP8 backup, simulcast, from Chromium's fake camera
and microphone; we publish VP8 and Opus.  Chat, reactions and the raised hand use
the formats of Visio's web app.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import av
import numpy as np
import pytest

from client.livekit import events as ev
from client.livekit import vp9_codec
from client.livekit.participant import RemoteTrackPublication
from client.notifications import Notifications, ReactionReceived
from devtools.browser_peer import BrowserPeer, InboundStats, PeerStats
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.our_client import OurClient, TrackProbe

pytestmark = pytest.mark.browser

BROWSER = "browser"
#: Chromium's start, the join and the first keyframes on a loaded 2-core machine.
JOIN_TIMEOUT_S = 60.0
FLOW_TIMEOUT_S = 30.0


@dataclass
class Call:
    ours: OurClient
    browser: BrowserPeer
    notifications: Notifications


@pytest.fixture
async def call(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> AsyncIterator[Call]:
    """Our client (publishing a VP8 pattern and a tone) and the browser in one room."""
    ours = OurClient(livekit_server.ws_url, token_factory("ours", room_name, name="Nous"))
    notifications = Notifications(ours.room)
    browser = BrowserPeer()
    try:
        await ours.connect()
        await ours.publish_pattern()
        await ours.publish_tone(440.0)
        await browser.start()
        # The page sets its own `handRaisedAt`, as Visio's backend does for the web app.
        token = token_factory(BROWSER, room_name, name="Navigateur", can_update_own_metadata=True)
        await asyncio.wait_for(browser.connect(livekit_server.ws_url, token), JOIN_TIMEOUT_S)
        await wait_for(
            lambda: BROWSER in ours.room.remote_participants, JOIN_TIMEOUT_S, "the browser"
        )
        await until_browser_data_flows(ours, browser)
        yield Call(ours, browser, notifications)
    finally:
        await browser.close()
        notifications.close()
        await ours.close()


async def until_browser_data_flows(ours: OurClient, browser: BrowserPeer) -> None:
    """The server forwards data only once the browser's data channels are up."""
    start = time.monotonic()
    while not (await browser.stats()).raw.get("dataByTopic", {}).get("warmup"):
        if time.monotonic() - start > FLOW_TIMEOUT_S:
            raise AssertionError(f"no data reached the browser within {FLOW_TIMEOUT_S} s")
        await ours.room.publish_data(b"warmup", topic="warmup")
        await asyncio.sleep(0.2)


async def poll_browser(
    browser: BrowserPeer, predicate: Callable[[PeerStats], bool], timeout: float, what: str
) -> PeerStats:
    """Ask the page for its stats until ``predicate`` holds on them."""
    start = time.monotonic()
    while True:
        stats = await browser.stats()
        if predicate(stats):
            return stats
        if time.monotonic() - start > timeout:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what}; page log:\n"
                + "\n".join(stats.raw.get("log", []))
            )
        await asyncio.sleep(0.25)


def inbound(stats: PeerStats, kind: str) -> InboundStats | None:
    return stats.inbound("ours", kind)


def browser_publication(ours: OurClient, kind: str) -> RemoteTrackPublication | None:
    participant = ours.room.remote_participants.get(BROWSER)
    if participant is None:
        return None
    for publication in participant.track_publications.values():
        if publication.kind == kind:
            return publication
    return None


def layers(stats: PeerStats) -> str:
    published = stats.local("video") or {"outbound": []}
    return ", ".join(
        f"{layer['rid'] or '-'} {layer['mimeType']} {layer['scalabilityMode']} "
        f"{layer['frameWidth']}x{layer['frameHeight']}@{layer['framesPerSecond']}"
        f" (limited by {layer['qualityLimitationReason'] or '-'})"
        for layer in published["outbound"]
    )


def probe(ours: OurClient, kind: str) -> TrackProbe:
    found = ours.probe_of(BROWSER, kind)
    assert found is not None
    return found


async def test_video_and_audio_both_ways(call: Call) -> None:
    ours, browser = call.ours, call.browser
    vp9_before = vp9_codec.stats.frames_out

    # Browser → ours: its VP9 camera and its microphone, subscribed and decoded.
    await wait_for(
        lambda: (
            ours.probe_of(BROWSER, "video") is not None
            and ours.probe_of(BROWSER, "audio") is not None
        ),
        JOIN_TIMEOUT_S,
        "the browser's camera and microphone at ours",
    )
    camera = browser_publication(ours, "video")
    assert camera is not None
    assert camera.mime_type.lower() == "video/vp9"
    sizes: set[tuple[int, int]] = set()

    def note_size(frame: av.VideoFrame | av.AudioFrame) -> None:
        if isinstance(frame, av.VideoFrame):
            sizes.add((frame.width, frame.height))

    probe(ours, "video").track.add_sink(note_size)
    await wait_for(lambda: probe(ours, "video").frames >= 30, FLOW_TIMEOUT_S, "browser video")
    await wait_for(lambda: probe(ours, "audio").frames >= 100, FLOW_TIMEOUT_S, "browser audio")
    # What the SFU forwards to us is VP9 itself (our answer accepts it), not the backup.
    assert vp9_codec.stats.frames_out - vp9_before >= 30

    # Ours → browser: our VP8 pattern and Opus tone, decoded by Chromium.
    def decoding(stats: PeerStats) -> bool:
        video, audio = inbound(stats, "video"), inbound(stats, "audio")
        return (
            video is not None
            and video.frames_decoded >= 30
            and audio is not None
            and audio.total_samples_received > 48000
        )

    first = await poll_browser(
        browser,
        decoding,
        FLOW_TIMEOUT_S,
        "our video and audio decoded in the browser",
    )
    video_in, audio_in = inbound(first, "video"), inbound(first, "audio")
    assert video_in is not None and audio_in is not None
    assert video_in.mime_type.lower() == "video/vp8"
    assert audio_in.mime_type.lower() == "audio/opus"
    published = first.local("video")
    assert published is not None
    sent_codecs = {layer["mimeType"].lower() for layer in published["outbound"]}
    assert "video/vp9" in sent_codecs, published

    # Both directions keep flowing: measure over a few seconds.
    window_s = 5.0
    ours_video, ours_audio = probe(ours, "video"), probe(ours, "audio")
    ours_video_start, ours_audio_start = ours_video.frames, ours_audio.frames
    started = time.monotonic()
    await asyncio.sleep(window_s)
    second = await browser.stats()
    elapsed = time.monotonic() - started
    video_later, audio_later = inbound(second, "video"), inbound(second, "audio")
    assert video_later is not None and audio_later is not None
    browser_fps = (video_later.frames_decoded - video_in.frames_decoded) / elapsed
    our_fps = (ours_video.frames - ours_video_start) / elapsed
    print(
        f"\nbrowser receives our VP8 at {browser_fps:.1f} fps "
        f"({video_later.frame_width}x{video_later.frame_height}), Opus "
        f"{(audio_later.bytes_received - audio_in.bytes_received) / elapsed / 125:.0f} kb/s "
        f"(level {audio_later.audio_level:.2f}); "
        f"we receive the browser's VP9 at {our_fps:.1f} fps ({sorted(sizes)}), "
        f"audio {(ours_audio.frames - ours_audio_start) / elapsed:.0f} frames/s; "
        f"the browser sends {layers(second)}"
    )
    assert video_later.frames_decoded > video_in.frames_decoded
    assert video_later.bytes_received > video_in.bytes_received
    assert audio_later.bytes_received > audio_in.bytes_received
    assert audio_later.total_samples_received > audio_in.total_samples_received
    # Our tone is heard, not concealment of lost packets.
    concealed = audio_later.concealed_samples - audio_in.concealed_samples
    played = audio_later.total_samples_received - audio_in.total_samples_received
    assert concealed < played / 2, (concealed, played)
    assert audio_later.audio_level > 0.01
    assert ours_video.frames > ours_video_start
    assert ours_audio.frames > ours_audio_start
    # Chromium's fake microphone beeps: what reaches us is not silence.
    recent = np.concatenate(ours_audio.audio[-150:])
    assert float(np.abs(recent).max()) > 0.05


async def test_chat_both_ways_once(call: Call) -> None:
    ours, browser = call.ours, call.browser
    sent = await ours.chat.send("bonjour du bureau")
    await poll_browser(
        browser,
        lambda s: len(s.messages) >= 1,
        FLOW_TIMEOUT_S,
        "our chat message in the browser",
    )
    message_id = await browser.chat("bonjour du navigateur 🎉")
    await wait_for(
        lambda: any(not m.local for m in ours.chat.messages), FLOW_TIMEOUT_S, "browser chat"
    )
    # Give duplicates (the legacy forms) time to arrive before counting.
    await asyncio.sleep(1.0)
    stats = await browser.stats()
    assert [(m["sender"], m["id"], m["message"]) for m in stats.messages] == [
        ("ours", sent.id, "bonjour du bureau")
    ]
    # Both forms reached the browser: the stream and the legacy packet that says to
    # ignore it.
    assert [m["id"] for m in stats.chat_streams] == [sent.id]
    assert [(m["id"], m["ignoreLegacy"]) for m in stats.legacy_chat] == [(sent.id, True)]
    incoming = [m for m in ours.chat.messages if not m.local]
    assert [(m.id, m.text, m.sender_identity, m.sender_name) for m in incoming] == [
        (message_id, "bonjour du navigateur 🎉", BROWSER, "Navigateur")
    ]


async def test_reactions_both_ways(call: Call) -> None:
    ours, browser = call.ours, call.browser
    received: list[ReactionReceived] = []
    off = ours.room.events.on(ReactionReceived, received.append)
    try:
        await call.notifications.send_reaction("party-popper")
        stats = await poll_browser(
            browser,
            lambda s: any(n["type"] == "reactionReceived" for n in s.notifications),
            FLOW_TIMEOUT_S,
            "our reaction in the browser",
        )
        assert stats.notifications == [
            {"sender": "ours", "type": "reactionReceived", "data": {"emoji": "party-popper"}}
        ]
        await browser.react("thumbs-up")
        await wait_for(lambda: bool(received), FLOW_TIMEOUT_S, "the browser's reaction")
        await asyncio.sleep(0.5)
        assert [(r.sender_identity, r.name) for r in received] == [(BROWSER, "thumbs-up")]
        assert received[0].participant is ours.room.remote_participants[BROWSER]
    finally:
        off()


async def test_browser_hand_raise_seen_by_us(call: Call) -> None:
    ours, browser = call.ours, call.browser
    participant = ours.room.remote_participants[BROWSER]
    assert not participant.attributes.get("handRaisedAt")
    raised_at = await browser.raise_hand()
    await wait_for(
        lambda: participant.attributes.get("handRaisedAt") == raised_at,
        FLOW_TIMEOUT_S,
        "the browser's raised hand",
    )
    changed = [
        e
        for e in ours.events_of(ev.ParticipantUpdated)
        if isinstance(e, ev.ParticipantUpdated)
        and e.participant is participant
        and "attributes" in e.changed
    ]
    assert changed, "no ParticipantUpdated event for the attribute"
    # Lowering sets "", which the server stores as no attribute at all.
    await browser.raise_hand(False)
    await wait_for(
        lambda: not participant.attributes.get("handRaisedAt"),
        FLOW_TIMEOUT_S,
        "the browser's lowered hand",
    )
