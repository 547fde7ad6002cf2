"""Chat and captions across our client and the official SDK, on a real server."""

from __future__ import annotations

import asyncio
import json

from livekit import rtc

from devtools.sandbox.livekit_server import LiveKitServer
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.our_client import OurClient, until_data_flows
from tests.sdk_peer import SdkPeer

LONG_TEXT = ("Visio — réunion « sous-titrée » 会議 اجتماع Συνάντηση 🎉 " * 700)[:40000]
NON_LATIN = "会議を始めましょう — اجتماع — Συνάντηση — встреча 🎉"


async def test_chat_both_ways_long_and_non_latin(
    ours_and_sdk: tuple[OurClient, SdkPeer],
) -> None:
    ours, peer = ours_and_sdk
    peer.watch_text("lk.chat")
    await wait_for(lambda: "sdk" in ours.room.remote_participants, 5, "peer")
    await until_data_flows(ours, peer.data)
    # Ours → SDK
    for text in ("bonjour", NON_LATIN, LONG_TEXT):
        await ours.chat.send(text)
    await wait_for(lambda: len(peer.texts("lk.chat")) >= 3, 10, "chat at peer")
    received = [text for _, text in peer.texts("lk.chat")]
    assert received == ["bonjour", NON_LATIN, LONG_TEXT]
    assert all(identity == "ours" for identity, _ in peer.texts("lk.chat"))
    legacy = [json.loads(p) for topic, p in peer.data if topic == "lk-chat-topic"]
    # The legacy packet goes with messages small enough to be delivered in one packet.
    assert [m["message"] for m in legacy] == received[:2]
    assert all(m["ignoreLegacy"] is True for m in legacy)

    # SDK → ours, in the current form and the legacy one (as the web app sends both).
    before = len(ours.chat.messages)
    for text in (NON_LATIN, LONG_TEXT):
        info = await peer.room.local_participant.send_text(text, topic="lk.chat")
        legacy_body = {
            "id": info.stream_id,
            "timestamp": 0,
            "message": text,
            "ignoreLegacy": True,
        }
        if len(text) < 1000:
            await peer.room.local_participant.publish_data(
                json.dumps(legacy_body), topic="lk-chat-topic"
            )
    # An old client that only knows the legacy packet.
    await peer.room.local_participant.publish_data(
        json.dumps({"id": "legacy-1", "timestamp": 1, "message": "ancien client"}),
        topic="lk-chat-topic",
    )
    await wait_for(lambda: len(ours.chat.messages) >= before + 3, 10, "chat at ours")
    await asyncio.sleep(0.5)
    incoming = [m for m in ours.chat.messages if not m.local]
    assert [m.text for m in incoming] == [NON_LATIN, LONG_TEXT, "ancien client"]
    assert all(m.sender_identity == "sdk" and m.sender_name == "SDK" for m in incoming)


async def test_captions_from_an_agent_in_both_forms(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    ours = OurClient(livekit_server.ws_url, token_factory("ours", room_name))
    speaker = SdkPeer(livekit_server.ws_url, token_factory("alice", room_name, name="Alice"))
    agent = SdkPeer(
        livekit_server.ws_url, token_factory("captioner", room_name, agent=True, name="Captions")
    )
    await ours.connect()
    await speaker.connect()
    await agent.connect()
    try:
        microphone = await speaker.publish_tone(440.0)
        await wait_for(lambda: ours.probe_of("alice", "audio") is not None, 10, "alice's mic")
        segment_id = "seg-1"
        steps = [("Bonjour", False), ("Bonjour à tous", False), ("Bonjour à tous.", True)]
        for text, final in steps:
            segment = rtc.TranscriptionSegment(
                id=segment_id,
                text=text,
                start_time=0,
                end_time=0,
                language="fr",
                final=final,
            )
            await agent.room.local_participant.publish_transcription(
                rtc.Transcription(
                    participant_identity="alice",
                    track_sid=microphone.sid,
                    segments=[segment],
                )
            )
            writer = await agent.room.local_participant.stream_text(
                topic="lk.transcription",
                attributes={
                    "lk.segment_id": segment_id,
                    "lk.transcribed_track_id": microphone.sid,
                    "lk.transcription_final": "true" if final else "false",
                },
            )
            await writer.write(text)
            await writer.aclose()
            await asyncio.sleep(0.2)
        await wait_for(
            lambda: any(s.final for s in ours.captions.segments.values()), 10, "final caption"
        )
        await asyncio.sleep(1.0)
        segments = list(ours.captions.segments.values())
        assert len(segments) == 1, segments
        (only,) = segments
        assert only.id == segment_id
        assert only.final
        assert only.text == "Bonjour à tous."
        assert only.participant_identity == "alice"
        assert only.participant_name == "Alice"
    finally:
        await agent.close()
        await speaker.close()
        await ours.close()
