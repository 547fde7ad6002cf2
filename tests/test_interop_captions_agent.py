"""Captions from a real livekit-agents worker (devtools.caption_agent) on a real server.

The framework publishes each user transcript twice, as legacy ``Transcription`` packets and
as ``lk.transcription`` text streams, under segment ids that differ between the two forms.
Our captions must still show each sentence once, interim text replaced in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.captions import ATTR_FINAL, TRANSCRIPTION_TOPIC, CaptionSegment, CaptionUpdated
from client.livekit import events as ev
from devtools.caption_agent import CaptionAgentProcess
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.waiting import wait_for
from tests.caption_agents import running_caption_agent
from tests.conftest import TokenFactory
from tests.our_client import OurClient

SENTENCES = (
    "Bonjour à tous et bienvenue.",
    "Nous allons parler des sous-titres aujourd'hui.",
    "Chaque phrase doit apparaître une seule fois.",
)


@pytest.fixture
async def caption_agent(
    livekit_server: LiveKitServer, tmp_path: Path
) -> AsyncIterator[CaptionAgentProcess]:
    # Its own name: the worker only ever joins the room this test dispatches it to.
    name = f"visio-caption-agent-{uuid.uuid4().hex[:8]}"
    async with running_caption_agent(
        livekit_server, tmp_path / "caption-agent.log", name, SENTENCES
    ) as agent:
        yield agent


async def test_real_agent_captions_each_sentence_once(
    livekit_server: LiveKitServer,
    token_factory: TokenFactory,
    room_name: str,
    caption_agent: CaptionAgentProcess,
) -> None:
    ours = OurClient(livekit_server.ws_url, token_factory("ours", room_name, name="Nous"))
    updates: list[CaptionUpdated] = []
    violations: list[str] = []

    def on_caption(event: CaptionUpdated) -> None:
        updates.append(event)
        segments = list(ours.captions.segments.values())
        finals = sum(1 for s in segments if s.final)
        # One segment per sentence: at most the finished ones plus the one being spoken.
        if len(segments) > min(finals + 1, len(SENTENCES)):
            violations.append(f"{len(segments)} segments after {finals} finals: {segments}")

    ours.room.events.on(CaptionUpdated, on_caption)
    await ours.connect()
    try:
        microphone = await ours.publish_tone()
        await caption_agent.dispatch(room_name, participant="ours")
        await wait_for(
            lambda: sum(s.final for s in ours.captions.segments.values()) >= len(SENTENCES),
            30,
            "a final caption for every scripted sentence",
        )
        # The other form may still be in flight; its late copies must not add anything.
        with contextlib.suppress(AssertionError):
            await wait_for(
                lambda: min(map(len, finals_of(ours))) >= len(SENTENCES),
                5,
                "the last sentence in both forms",
            )
        await asyncio.sleep(0.5)

        segments = list(ours.captions.segments.values())
        assert violations == []
        assert [s.text for s in segments] == list(SENTENCES)
        assert all(s.final for s in segments)
        for segment in segments:
            # The speaker is the owner of the transcribed track, not the agent.
            assert (segment.participant_identity, segment.participant_name) == ("ours", "Nous")
            assert segment.track_sid == microphone.sid

        # Interim text was replaced in place: every update of a segment is a prefix of its
        # final text, and once final it stays final.
        by_id: dict[str, list[CaptionSegment]] = {}
        for update in updates:
            by_id.setdefault(update.segment.id, []).append(update.segment)
        assert list(by_id) == [s.id for s in segments]
        for segment in segments:
            history = by_id[segment.id]
            assert len(history) > 1, "no interim caption before the final one"
            assert all(segment.text.startswith(h.text) for h in history)
            first_final = next(i for i, h in enumerate(history) if h.final)
            assert all(h.final and h.text == segment.text for h in history[first_final:])
            assert sum(h.final for h in history) == 1, "the final caption was emitted twice"

        # Both forms really arrived, each with every sentence, so the test did exercise the
        # double delivery (the ids are printed: the two forms draw their own).
        print(_summary(ours, updates))
        packet_finals, stream_finals = finals_of(ours)
        assert packet_finals == list(SENTENCES), "legacy packets did not carry every sentence"
        assert stream_finals == list(SENTENCES), (
            "lk.transcription streams did not deliver every sentence: the agent publishes "
            "them on behalf of the transcribed participant (header stamped with her identity, "
            "chunks with the agent's); the room must accept such streams"
        )
    finally:
        await ours.close()


def finals_of(ours: OurClient) -> tuple[list[str], list[str]]:
    """The final texts that arrived as legacy packets, and as lk.transcription streams."""
    packets: list[str] = []
    streams: list[str] = []
    for event in ours.events:
        if isinstance(event, ev.TranscriptionReceived):
            packets += [s.text for s in event.segments if s.final]
        elif (
            isinstance(event, ev.TextStreamUpdated)
            and event.topic == TRANSCRIPTION_TOPIC
            and event.done
            and not event.interrupted
            and event.attributes.get(ATTR_FINAL) == "true"
        ):
            streams.append(event.text)
    return packets, streams


def _summary(ours: OurClient, updates: list[CaptionUpdated]) -> str:
    """Every transcription event in arrival order (shown when the test fails, or with -s)."""
    lines: list[str] = []
    packets = streams = 0
    stream_ids: set[str] = set()
    for event in ours.events:
        if isinstance(event, ev.TranscriptionReceived):
            packets += 1
            for s in event.segments:
                lines.append(
                    f"packet from {event.sender_identity} track={event.track_sid} "
                    f"id={s.id} final={s.final} {s.text!r}"
                )
        elif isinstance(event, ev.TextStreamUpdated) and event.topic == TRANSCRIPTION_TOPIC:
            streams += 1
            stream_ids.add(event.stream_id)
            lines.append(
                f"stream {event.stream_id[:8]} from {event.sender_identity} done={event.done} "
                f"attrs={event.attributes} {event.text!r}"
            )
    head = (
        f"{packets} legacy packets, {streams} stream updates in {len(stream_ids)} streams, "
        f"{len(updates)} caption updates"
    )
    shown = [f"caption {u.segment.id} final={u.segment.final} {u.segment.text!r}" for u in updates]
    return "\n".join([head, *lines, *shown])
