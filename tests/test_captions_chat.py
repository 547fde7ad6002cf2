"""Captions and chat, fed through a never-connected Room with server-like packets."""

from __future__ import annotations

import itertools
import json
import logging
import random

import pytest
from livekit.protocol import models

from client.captions import (
    ATTR_FINAL,
    ATTR_SEGMENT_ID,
    ATTR_TRACK_ID,
    MAX_SEGMENTS,
    TRANSCRIPTION_TOPIC,
    Captions,
    CaptionUpdated,
)
from client.chat import CHAT_TOPIC, LEGACY_CHAT_TOPIC, Chat, ChatMessageReceived
from client.livekit import events as ev
from client.livekit.data_streams import text_stream_packets
from client.livekit.room import Room

ALICE_MIC = "TR_alice_mic"
AGENT_VOICE = "TR_agent_voice"


def make_room() -> Room:
    room = Room()
    room.reconciler.update(
        models.ParticipantInfo(
            sid="PA_alice",
            identity="alice",
            name="Alice",
            state=models.ParticipantInfo.ACTIVE,
            tracks=[
                models.TrackInfo(
                    sid=ALICE_MIC,
                    type=models.TrackType.AUDIO,
                    source=models.TrackSource.MICROPHONE,
                    name="mic",
                )
            ],
        )
    )
    room.reconciler.update(
        models.ParticipantInfo(
            sid="PA_agent",
            identity="agent-1",
            name="Transcriber",
            state=models.ParticipantInfo.ACTIVE,
            kind=models.ParticipantInfo.AGENT,
            tracks=[
                models.TrackInfo(
                    sid=AGENT_VOICE,
                    type=models.TrackType.AUDIO,
                    source=models.TrackSource.MICROPHONE,
                    name="voice",
                )
            ],
        )
    )
    assert set(room.remote_participants) == {"alice", "agent-1"}
    return room


def stamped(packets: list[models.DataPacket], sender: str) -> list[models.DataPacket]:
    """The server stamps the sender's identity on every packet it forwards."""
    out = []
    for packet in packets:
        copy = models.DataPacket()
        copy.CopyFrom(packet)
        copy.participant_identity = sender
        out.append(copy)
    return out


def transcription_packet(
    segment_id: str,
    text: str,
    final: bool,
    *,
    track_sid: str = ALICE_MIC,
    transcribed: str = "alice",
    sender: str = "agent-1",
    language: str = "",
) -> models.DataPacket:
    return models.DataPacket(
        kind=models.DataPacket.RELIABLE,
        participant_identity=sender,
        transcription=models.Transcription(
            transcribed_participant_identity=transcribed,
            track_id=track_sid,
            segments=[
                models.TranscriptionSegment(
                    id=segment_id,
                    text=text,
                    final=final,
                    start_time=1,
                    end_time=2,
                    language=language,
                )
            ],
        ),
    )


def transcription_stream(
    segment_id: str,
    text: str,
    final: bool,
    *,
    track_sid: str = ALICE_MIC,
    sender: str = "agent-1",
) -> list[models.DataPacket]:
    _, packets = text_stream_packets(
        text,
        topic=TRANSCRIPTION_TOPIC,
        attributes={
            ATTR_SEGMENT_ID: segment_id,
            ATTR_TRACK_ID: track_sid,
            ATTR_FINAL: "true" if final else "false",
        },
    )
    return stamped(packets, sender)


def feed(room: Room, packets: list[models.DataPacket]) -> None:
    for packet in packets:
        room.on_data_packet(packet)


# --- captions -----------------------------------------------------------------------------

INTERIM = "Hello wor"
FINAL = "Hello world, this is final."


def deliveries(segment_id: str = "SG_1") -> dict[str, list[models.DataPacket]]:
    return {
        "packet-interim": [transcription_packet(segment_id, INTERIM, False)],
        "stream-interim": transcription_stream(segment_id, INTERIM, False),
        "packet-final": [transcription_packet(segment_id, FINAL, True)],
        "stream-final": transcription_stream(segment_id, FINAL, True),
    }


def check_single_final(room: Room, captions: Captions, updates: list[CaptionUpdated]) -> None:
    assert list(captions.segments) == ["SG_1"]
    segment = captions.segments["SG_1"]
    assert segment.final
    assert segment.text == FINAL
    assert segment.participant_identity == "alice"  # the track owner, not the agent
    assert segment.participant_name == "Alice"
    assert segment.track_sid == ALICE_MIC
    # Once final, a segment is never reported interim again.
    finals = [i for i, u in enumerate(updates) if u.segment.final]
    assert finals, "no final update was emitted"
    assert all(u.segment.final and u.segment.text == FINAL for u in updates[finals[0] :])
    assert room.text_streams.open_streams == 0


@pytest.mark.parametrize("order", list(itertools.permutations(deliveries())))
def test_caption_both_forms_any_order_give_one_final_segment(order: tuple[str, ...]) -> None:
    room = make_room()
    captions = Captions(room)
    updates: list[CaptionUpdated] = []
    room.events.on(CaptionUpdated, updates.append)
    forms = deliveries()
    for name in order:
        feed(room, forms[name])
    check_single_final(room, captions, updates)


def test_caption_forms_interleaved_packet_by_packet() -> None:
    rng = random.Random(2024)
    for _ in range(200):
        room = make_room()
        captions = Captions(room)
        updates: list[CaptionUpdated] = []
        room.events.on(CaptionUpdated, updates.append)
        queues = [list(packets) for packets in deliveries().values()]
        # Merge the four deliveries at random, each keeping its own packet order.
        while any(queues):
            queue = rng.choice([q for q in queues if q])
            room.on_data_packet(queue.pop(0))
        check_single_final(room, captions, updates)


def test_late_interim_after_final_does_not_revert() -> None:
    room = make_room()
    captions = Captions(room)
    forms = deliveries()
    feed(room, forms["packet-final"])
    feed(room, forms["stream-final"])
    updates: list[CaptionUpdated] = []
    room.events.on(CaptionUpdated, updates.append)
    feed(room, forms["packet-interim"])
    feed(room, forms["stream-interim"])
    feed(room, [transcription_packet("SG_1", "something else", False)])
    segment = captions.segments["SG_1"]
    assert segment.final and segment.text == FINAL
    assert updates == []


def test_stream_only_caption_is_attributed_to_the_track_owner() -> None:
    room = make_room()
    captions = Captions(room)
    feed(room, transcription_stream("SG_s", "Bonjour", True))
    segment = captions.segments["SG_s"]
    assert (segment.participant_identity, segment.participant_name) == ("alice", "Alice")
    assert segment.final and segment.text == "Bonjour"


def test_agent_own_speech_is_attributed_to_the_agent() -> None:
    room = make_room()
    captions = Captions(room)
    feed(room, transcription_stream("SG_a", "How can I help?", True, track_sid=AGENT_VOICE))
    segment = captions.segments["SG_a"]
    assert segment.participant_identity == "agent-1"
    assert segment.participant_name == "Transcriber"


# What a livekit-agents worker (AgentSession + RoomIO text output) really sends for the
# user's speech (see tests/test_interop_captions_agent.py): for every update of a sentence,
# one legacy packet and one whole new stream, each form under its OWN segment id; the
# final text goes once more as interim, then as final.
AGENT_SENTENCES = ("Bonjour à tous.", "Nous parlons des sous-titres.", "Une seule fois.")


def agent_updates(number: int, sentence: str) -> list[tuple[str, bool]]:
    words = sentence.split()
    interims = [(" ".join(words[:count]), False) for count in range(1, len(words))]
    return [*interims, (sentence, False), (sentence, True)]


def agent_sentence(
    number: int, sentence: str, *, stream_sender: str = "agent-1"
) -> list[list[models.DataPacket]]:
    """Per update, the packets of both forms: [legacy packet, stream packets...]."""
    return [
        [
            transcription_packet(f"SG_packet{number}", text, final),
            *transcription_stream(f"SG_stream{number}", text, final, sender=stream_sender),
        ]
        for text, final in agent_updates(number, sentence)
    ]


def check_agent_captions(room: Room, captions: Captions, updates: list[CaptionUpdated]) -> None:
    segments = list(captions.segments.values())
    assert [(s.text, s.final) for s in segments] == [(t, True) for t in AGENT_SENTENCES]
    assert all((s.participant_identity, s.track_sid) == ("alice", ALICE_MIC) for s in segments)
    for segment in segments:
        history = [u.segment for u in updates if u.segment.id == segment.id]
        assert [h.final for h in history].count(True) == 1, "final emitted twice"
        assert history[-1].final, "a final caption went back to interim"
    assert room.text_streams.open_streams == 0


@pytest.mark.parametrize("stream_sender", ["agent-1", "alice"])
@pytest.mark.parametrize("packet_first", [True, False])
def test_agent_forms_with_distinct_ids_show_each_sentence_once(
    packet_first: bool, stream_sender: str
) -> None:
    # The stream sender is the agent, or the transcribed participant as the server
    # leaves it on streams an agent publishes on her behalf: either way, one caption.
    room = make_room()
    captions = Captions(room)
    updates: list[CaptionUpdated] = []
    room.events.on(CaptionUpdated, updates.append)
    for number, sentence in enumerate(AGENT_SENTENCES):
        for packet, *stream in agent_sentence(number, sentence, stream_sender=stream_sender):
            feed(room, [packet, *stream] if packet_first else [*stream, packet])
            # Interim text is replaced in place: never more segments than sentences so far.
            assert len(captions.segments) <= number + 1
    check_agent_captions(room, captions, updates)


def test_agent_forms_interleaved_packet_by_packet() -> None:
    # The agent publishes both forms of an update concurrently: within one update, any
    # interleaving of the legacy packet and the stream's header, chunk and trailer.
    rng = random.Random(7)
    for _ in range(200):
        room = make_room()
        captions = Captions(room)
        updates: list[CaptionUpdated] = []
        room.events.on(CaptionUpdated, updates.append)
        for number, sentence in enumerate(AGENT_SENTENCES):
            for packet, *stream in agent_sentence(number, sentence):
                position = rng.randrange(len(stream) + 1)
                feed(room, [*stream[:position], packet, *stream[position:]])
                assert len(captions.segments) <= number + 1
        check_agent_captions(room, captions, updates)


def on_behalf(packets: list[models.DataPacket]) -> list[models.DataPacket]:
    """An agent's stream for Alice as the server forwards it: the header keeps her
    identity (marked generated), the chunks and trailer carry the agent's."""
    header, *rest = packets
    header = stamped([header], "alice")[0]
    header.stream_header.text_header.generated = True
    return [header, *stamped(rest, "agent-1")]


def test_agent_on_behalf_streams_show_each_sentence_once() -> None:
    # Whether or not the room can assemble such streams, each sentence shows once: the
    # packets stay in charge until a stream delivers text.
    room = make_room()
    captions = Captions(room)
    updates: list[CaptionUpdated] = []
    room.events.on(CaptionUpdated, updates.append)
    for number, sentence in enumerate(AGENT_SENTENCES):
        for packet, *stream in agent_sentence(number, sentence):
            feed(room, [packet, *on_behalf(stream)])
            assert len(captions.segments) <= number + 1
    segments = list(captions.segments.values())
    assert [(s.text, s.final, s.participant_identity) for s in segments] == [
        (t, True, "alice") for t in AGENT_SENTENCES
    ]
    for segment in segments:
        history = [u.segment for u in updates if u.segment.id == segment.id]
        assert [h.final for h in history].count(True) == 1


def test_stream_header_alone_does_not_silence_packets() -> None:
    room = make_room()
    captions = Captions(room)
    header = transcription_stream("SG_s", "never delivered", False)[0]
    feed(room, [header])
    feed(room, [transcription_packet("SG_p", "Bonjour", True)])
    assert [(s.text, s.final) for s in captions.segments.values()] == [("Bonjour", True)]


def test_first_packet_before_first_stream_is_replaced_in_place() -> None:
    room = make_room()
    captions = Captions(room)
    updates: list[CaptionUpdated] = []
    room.events.on(CaptionUpdated, updates.append)
    feed(room, [transcription_packet("SG_p", "Bonjour", False)])
    assert [s.text for s in captions.segments.values()] == ["Bonjour"]
    feed(room, transcription_stream("SG_s", "Bonjour à", False))
    feed(room, [transcription_packet("SG_p", "Bonjour à", False)])  # a copy: ignored
    feed(room, transcription_stream("SG_s", "Bonjour à tous.", True))
    assert [(s.id, s.text, s.final) for s in captions.segments.values()] == [
        ("SG_p", "Bonjour à tous.", True)
    ]
    # The final stream grows as interim first (its chunk), then ends final.
    assert [(u.segment.id, u.segment.text, u.segment.final) for u in updates] == [
        ("SG_p", "Bonjour", False),
        ("SG_p", "Bonjour à", False),
        ("SG_p", "Bonjour à tous.", False),
        ("SG_p", "Bonjour à tous.", True),
    ]


def test_packet_final_before_streams_is_not_taken_over_by_a_new_sentence() -> None:
    room = make_room()
    captions = Captions(room)
    feed(room, [transcription_packet("SG_p", "Première phrase.", True)])
    feed(room, transcription_stream("SG_s", "Deuxième", False))
    feed(room, transcription_stream("SG_s", "Deuxième phrase.", True))
    assert [(s.text, s.final) for s in captions.segments.values()] == [
        ("Première phrase.", True),
        ("Deuxième phrase.", True),
    ]


def test_legacy_only_transcriber_still_works() -> None:
    # Older agents send packets only; a stream for another track changes nothing here.
    room = make_room()
    captions = Captions(room)
    feed(room, transcription_stream("SG_a", "How can I help?", True, track_sid=AGENT_VOICE))
    for number, sentence in enumerate(AGENT_SENTENCES):
        for text, final in agent_updates(number, sentence):
            feed(room, [transcription_packet(f"SG_{number}", text, final)])
    alice = [s for s in captions.segments.values() if s.track_sid == ALICE_MIC]
    assert [(s.text, s.final, s.participant_identity) for s in alice] == [
        (t, True, "alice") for t in AGENT_SENTENCES
    ]


@pytest.mark.parametrize("final", [False, True])
def test_stream_copy_without_language_is_not_a_second_update(final: bool) -> None:
    room = make_room()
    captions = Captions(room)
    updates: list[CaptionUpdated] = []
    room.events.on(CaptionUpdated, updates.append)
    feed(room, [transcription_packet("SG_1", FINAL, final, language="fr")])
    feed(room, transcription_stream("SG_1", FINAL, final))
    assert [(u.segment.text, u.segment.final, u.segment.language) for u in updates] == [
        (FINAL, final, "fr")
    ]
    assert captions.segments["SG_1"].language == "fr"


def test_ten_thousand_segments_stay_bounded() -> None:
    room = make_room()
    captions = Captions(room)
    for i in range(10_000):
        if i % 2:
            # Packets for another track: Alice's streams make packets for hers copies.
            packet = transcription_packet(
                f"SG_{i}", f"segment {i}", True, track_sid=AGENT_VOICE, transcribed="agent-1"
            )
            feed(room, [packet])
        else:
            feed(room, transcription_stream(f"SG_{i}", f"segment {i}", True))
        assert len(captions.segments) <= MAX_SEGMENTS
    assert len(captions.segments) == MAX_SEGMENTS
    assert "SG_9999" in captions.segments and "SG_0" not in captions.segments
    assert [s.id for s in captions.recent(2)] == ["SG_9998", "SG_9999"]
    assert room.text_streams.open_streams == 0


# --- chat ---------------------------------------------------------------------------------


def chat_stream(
    text: str, message_id: str, sender: str = "alice", timestamp_ms: int = 1_700_000_000_000
) -> list[models.DataPacket]:
    _, packets = text_stream_packets(
        text, topic=CHAT_TOPIC, stream_id=message_id, timestamp_ms=timestamp_ms
    )
    return stamped(packets, sender)


def legacy_packet(body: object | bytes, sender: str = "alice") -> models.DataPacket:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return models.DataPacket(
        kind=models.DataPacket.RELIABLE,
        participant_identity=sender,
        user=models.UserPacket(payload=payload, topic=LEGACY_CHAT_TOPIC),
    )


@pytest.fixture
def chat_room() -> tuple[Room, Chat, list[ChatMessageReceived]]:
    room = make_room()
    chat = Chat(room)
    received: list[ChatMessageReceived] = []
    room.events.on(ChatMessageReceived, received.append)
    return room, chat, received


@pytest.mark.parametrize("stream_first", [True, False])
def test_chat_stream_plus_ignored_legacy_is_one_message(
    chat_room: tuple[Room, Chat, list[ChatMessageReceived]], stream_first: bool
) -> None:
    room, chat, received = chat_room
    stream = chat_stream("Salut 👋 à tous", "msg-1")
    legacy = legacy_packet(
        {"id": "msg-1", "timestamp": 1, "message": "Salut 👋 à tous", "ignoreLegacy": True}
    )
    feed(room, [*stream, legacy] if stream_first else [legacy, *stream])
    assert len(chat.messages) == 1 and len(received) == 1
    message = chat.messages[0]
    assert message.id == "msg-1"
    assert message.text == "Salut 👋 à tous"
    assert message.sender_identity == "alice"
    assert message.sender_name == "Alice"
    assert message.timestamp_ms == 1_700_000_000_000
    assert not message.local


def test_legacy_packet_without_ignore_legacy_is_one_message(
    chat_room: tuple[Room, Chat, list[ChatMessageReceived]],
) -> None:
    room, chat, received = chat_room
    feed(room, [legacy_packet({"id": "old-1", "timestamp": 42, "message": "from an old client"})])
    assert [(m.id, m.text, m.timestamp_ms) for m in chat.messages] == [
        ("old-1", "from an old client", 42)
    ]
    assert chat.messages[0].sender_identity == "alice"
    assert len(received) == 1
    # The same legacy message again (e.g. resent) is not duplicated.
    feed(room, [legacy_packet({"id": "old-1", "timestamp": 42, "message": "from an old client"})])
    assert len(chat.messages) == 1


def test_chat_message_packet_is_one_message(
    chat_room: tuple[Room, Chat, list[ChatMessageReceived]],
) -> None:
    room, chat, received = chat_room
    packet = models.DataPacket(
        kind=models.DataPacket.RELIABLE,
        participant_identity="alice",
        chat_message=models.ChatMessage(id="cm-1", timestamp=77, message="proto chat"),
    )
    feed(room, [packet])
    assert [(m.id, m.text, m.timestamp_ms, m.sender_identity) for m in chat.messages] == [
        ("cm-1", "proto chat", 77, "alice")
    ]
    assert len(received) == 1
    # A deleted-message packet does not add anything.
    deleted = models.DataPacket(
        participant_identity="alice",
        chat_message=models.ChatMessage(id="cm-2", message="", deleted=True),
    )
    feed(room, [deleted])
    assert len(chat.messages) == 1


def test_same_text_stream_twice_is_one_message(
    chat_room: tuple[Room, Chat, list[ChatMessageReceived]],
) -> None:
    room, chat, received = chat_room
    stream = chat_stream("only once", "dup-1")
    feed(room, stream)
    feed(room, stream)
    assert [m.text for m in chat.messages] == ["only once"]
    assert len(received) == 1
    # And a different stream id is a different message.
    feed(room, chat_stream("only once", "dup-2"))
    assert len(chat.messages) == 2


def test_other_topics_are_not_chat(
    chat_room: tuple[Room, Chat, list[ChatMessageReceived]],
) -> None:
    room, chat, _ = chat_room
    _, packets = text_stream_packets("not chat", topic="lk.transcription")
    feed(room, stamped(packets, "alice"))
    feed(
        room,
        [
            models.DataPacket(
                participant_identity="alice",
                user=models.UserPacket(payload=b'{"message":"x"}', topic="other-topic"),
            )
        ],
    )
    assert len(chat.messages) == 0


MALFORMED = [
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"",
    b"[1, 2, 3]",
    b'"just a string"',
    b"null",
    b"42",
    b'{"message": 5}',
    b'{"message": null, "id": "m"}',
    b'{"id": "no-message"}',
    b'{"message": ["a"]}',
]


def test_malformed_legacy_chat_is_ignored(
    chat_room: tuple[Room, Chat, list[ChatMessageReceived]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    room, chat, received = chat_room
    with caplog.at_level(logging.WARNING):
        for payload in MALFORMED:
            room.on_data_packet(legacy_packet(payload))
    assert len(chat.messages) == 0 and received == []
    # The event emitter swallows handler exceptions: make sure none was raised.
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("timestamp", [b"1e400", b"NaN", b"-Infinity"])
def test_non_finite_legacy_timestamp_falls_back(
    chat_room: tuple[Room, Chat, list[ChatMessageReceived]],
    caplog: pytest.LogCaptureFixture,
    timestamp: bytes,
) -> None:
    room, chat, _ = chat_room
    payload = b'{"id": "t-1", "message": "hi", "timestamp": ' + timestamp + b"}"
    with caplog.at_level(logging.WARNING):
        room.on_data_packet(legacy_packet(payload))
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [m.text for m in chat.messages] == ["hi"]


def test_legacy_chat_from_not_yet_known_sender_keeps_identity(
    chat_room: tuple[Room, Chat, list[ChatMessageReceived]],
) -> None:
    room, chat, _ = chat_room
    feed(room, [legacy_packet({"id": "c-1", "message": "early bird"}, sender="carol")])
    assert [m.sender_identity for m in chat.messages] == ["carol"]


def test_room_reports_data_sender(
    chat_room: tuple[Room, Chat, list[ChatMessageReceived]],
) -> None:
    room, _, _ = chat_room
    got: list[ev.DataReceived] = []
    room.events.on(ev.DataReceived, got.append)
    room.on_data_packet(legacy_packet({"message": "x"}, sender="alice"))
    assert got[0].participant is room.remote_participants["alice"]
    assert got[0].reliable and got[0].topic == LEGACY_CHAT_TOPIC
