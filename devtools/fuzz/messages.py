"""Valid LiveKit protobuf messages with adversarial contents, shared by every fuzzer.

Identifiers come from small pools so that independently generated packets collide:
two senders using one stream id, a chunk arriving for a stream another sender
opened, a segment id reused across forms.  Nothing here calls the client.
"""

from __future__ import annotations

from livekit.protocol import models, rtc

#: Who is in the fuzz room: the local participant, two people and a transcriber.
LOCAL_IDENTITY = "me"
ALICE, BOB, AGENT = "alice", "bob", "agent-1"
ALICE_MIC, BOB_CAM, AGENT_VOICE = "TR_alice_mic", "TR_bob_cam", "TR_agent_voice"
#: Senders of data packets: the room's members, a stranger, the server ("").
SENDERS = (ALICE, BOB, AGENT, "mallory", "", LOCAL_IDENTITY)
#: The session sid the server stamps next to each sender's identity ("": an old server).
SESSION_OF = {ALICE: "PA_alice", BOB: "PA_bob", AGENT: "PA_agent", "mallory": "PA_mallory"}
#: Sids a packet may carry, whoever its identity says sent it (an agent writes on
#: someone's behalf under its own session).
SESSIONS = ("PA_alice", "PA_bob", "PA_agent", "PA_mallory", "")
STREAM_IDS = ("s-1", "s-2", "s-3", "")
TOPICS = ("lk.chat", "lk.transcription", "other")
LEGACY_CHAT_TOPIC = "lk-chat-topic"
SEGMENT_IDS = ("SG_1", "SG_2", "SG_3", "")
TRACK_SIDS = (ALICE_MIC, BOB_CAM, AGENT_VOICE, "TR_unknown", "")
SEGMENT_ID_ATTR = "lk.segment_id"
TRACK_ID_ATTR = "lk.transcribed_track_id"
FINAL_ATTR = "lk.transcription_final"


def track(sid: str, *, video: bool = False, muted: bool = False) -> models.TrackInfo:
    return models.TrackInfo(
        sid=sid,
        name="cam" if video else "mic",
        type=models.TrackType.VIDEO if video else models.TrackType.AUDIO,
        source=models.TrackSource.CAMERA if video else models.TrackSource.MICROPHONE,
        muted=muted,
    )


def participant(
    identity: str,
    sid: str,
    *,
    name: str = "",
    state: int = models.ParticipantInfo.ACTIVE,
    kind: int = models.ParticipantInfo.STANDARD,
    tracks: tuple[models.TrackInfo, ...] = (),
    metadata: str = "",
    attributes: dict[str, str] | None = None,
) -> models.ParticipantInfo:
    return models.ParticipantInfo(
        identity=identity,
        sid=sid,
        name=name,
        state=state,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        tracks=list(tracks),
        metadata=metadata,
        attributes=attributes or {},
    )


def join_response() -> rtc.JoinResponse:
    """The snapshot every fuzz room starts from: alice, bob and a transcriber."""
    return rtc.JoinResponse(
        room=models.Room(sid="RM_fuzz", name="fuzz", metadata="{}"),
        participant=participant(LOCAL_IDENTITY, "PA_me", name="Me"),
        other_participants=[
            participant(ALICE, "PA_alice", name="Alice", tracks=(track(ALICE_MIC),)),
            participant(BOB, "PA_bob", name="Bob", tracks=(track(BOB_CAM, video=True),)),
            participant(
                AGENT,
                "PA_agent",
                name="Transcriber",
                kind=models.ParticipantInfo.AGENT,
                tracks=(track(AGENT_VOICE),),
            ),
        ],
        server_version="1.9.0",
    )


def stamped(packet: models.DataPacket, sender: str, sid: str | None = None) -> models.DataPacket:
    """The server stamps the sender's identity and session sid on every packet it forwards."""
    packet.participant_identity = sender
    packet.participant_sid = SESSION_OF.get(sender, "") if sid is None else sid
    return packet


def stream_header(
    stream_id: str,
    sender: str,
    topic: str,
    *,
    attributes: dict[str, str] | None = None,
    total_length: int = 0,
    text: bool = True,
) -> models.DataPacket:
    header = models.DataStream.Header(
        stream_id=stream_id,
        timestamp=1_700_000_000_000,
        topic=topic,
        mime_type="text/plain",
        total_length=total_length,
        attributes=attributes or {},
    )
    if text:
        header.text_header.operation_type = models.DataStream.OperationType.CREATE
    else:
        header.byte_header.name = "file.bin"
    return stamped(models.DataPacket(kind=models.DataPacket.RELIABLE, stream_header=header), sender)


def stream_chunk(stream_id: str, sender: str, index: int, content: bytes) -> models.DataPacket:
    chunk = models.DataStream.Chunk(stream_id=stream_id, chunk_index=index, content=content)
    return stamped(models.DataPacket(kind=models.DataPacket.RELIABLE, stream_chunk=chunk), sender)


def stream_trailer(
    stream_id: str, sender: str, *, reason: str = "", attributes: dict[str, str] | None = None
) -> models.DataPacket:
    trailer = models.DataStream.Trailer(
        stream_id=stream_id, reason=reason, attributes=attributes or {}
    )
    return stamped(
        models.DataPacket(kind=models.DataPacket.RELIABLE, stream_trailer=trailer), sender
    )


def transcription(
    sender: str,
    track_sid: str,
    segments: list[tuple[str, str, bool]],
    *,
    transcribed: str = ALICE,
) -> models.DataPacket:
    """A legacy Transcription packet; ``segments`` are (id, text, final)."""
    return stamped(
        models.DataPacket(
            kind=models.DataPacket.RELIABLE,
            transcription=models.Transcription(
                transcribed_participant_identity=transcribed,
                track_id=track_sid,
                segments=[
                    models.TranscriptionSegment(
                        id=segment_id, text=text, final=final, start_time=1, end_time=2
                    )
                    for segment_id, text, final in segments
                ],
            ),
        ),
        sender,
    )


def user_packet(sender: str, topic: str, payload: bytes) -> models.DataPacket:
    return stamped(
        models.DataPacket(
            kind=models.DataPacket.RELIABLE,
            user=models.UserPacket(payload=payload, topic=topic),
        ),
        sender,
    )


def chat_packet(
    sender: str, message_id: str, text: str, *, deleted: bool = False
) -> models.DataPacket:
    return stamped(
        models.DataPacket(
            kind=models.DataPacket.RELIABLE,
            chat_message=models.ChatMessage(
                id=message_id, timestamp=1_700_000_000_000, message=text, deleted=deleted
            ),
        ),
        sender,
    )


def text_stream(
    stream_id: str, sender: str, topic: str, text: str, attributes: dict[str, str] | None = None
) -> list[models.DataPacket]:
    """A whole, well-formed text stream in two chunks."""
    data = text.encode("utf-8")
    half = len(data) // 2
    return [
        stream_header(stream_id, sender, topic, attributes=attributes, total_length=len(data)),
        stream_chunk(stream_id, sender, 0, data[:half]),
        stream_chunk(stream_id, sender, 1, data[half:]),
        stream_trailer(stream_id, sender),
    ]


def caption_attributes(segment_id: str, track_sid: str, final: bool) -> dict[str, str]:
    return {
        SEGMENT_ID_ATTR: segment_id,
        TRACK_ID_ATTR: track_sid,
        FINAL_ATTR: "true" if final else "false",
    }
