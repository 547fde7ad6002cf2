"""Hypothesis strategies: valid LiveKit messages with adversarial contents.

Every message here serialises and parses: what is adversarial is its contents.
Identifiers come from the small pools of ``messages`` (so streams, senders and
segments collide), enum fields take values past the ones this protocol package
names (a newer server sends those), strings take any Unicode and byte fields any
bytes, including invalid UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from livekit.protocol import models, rtc

from devtools.fuzz import messages as m

short_text = st.text(max_size=12)
senders = st.sampled_from(m.SENDERS)
sessions = st.sampled_from(m.SESSIONS)
stream_ids = st.sampled_from(m.STREAM_IDS)
topics = st.sampled_from(m.TOPICS)
segment_ids = st.sampled_from(m.SEGMENT_IDS)
track_sids = st.sampled_from(m.TRACK_SIDS)


def enum_values(enum: Any, beyond: int = 3) -> st.SearchStrategy[int]:
    """The values an enum names, and a few it does not (yet)."""
    known = sorted(enum.values())
    return st.sampled_from(known) | st.integers(max(known) + 1, max(known) + beyond)


# --- data packets ------------------------------------------------------------------------

attributes = st.dictionaries(
    st.sampled_from([m.SEGMENT_ID_ATTR, m.TRACK_ID_ATTR, m.FINAL_ATTR, "x"]) | short_text,
    st.sampled_from(["true", "false", "TRUE", "", *m.SEGMENT_IDS, *m.TRACK_SIDS]) | short_text,
    max_size=4,
)
#: Chunk bytes: text cut anywhere (inside characters too) or arbitrary bytes.
contents = st.binary(max_size=40) | st.text(max_size=20).map(lambda t: t.encode("utf-8"))
chunk_indexes = st.integers(0, 70) | st.just(2**64 - 1)

stream_headers = st.builds(
    m.stream_header,
    stream_ids,
    senders,
    topics,
    attributes=attributes,
    total_length=st.integers(0, 200) | st.integers(0, 2**64 - 1),
    text=st.booleans() | st.just(True),
)
stream_chunks = st.builds(m.stream_chunk, stream_ids, senders, chunk_indexes, contents)
stream_trailers = st.builds(
    m.stream_trailer,
    stream_ids,
    senders,
    reason=st.sampled_from(["", "cancelled", "too large"]),
    attributes=attributes,
)
transcriptions = st.builds(
    m.transcription,
    senders,
    track_sids,
    st.lists(st.tuples(segment_ids, short_text, st.booleans()), max_size=3),
    transcribed=senders,
)
chat_packets = st.builds(m.chat_packet, senders, stream_ids, short_text, deleted=st.booleans())


def _whole_stream(args: tuple[str, str, str, str, dict[str, str]]) -> list[models.DataPacket]:
    stream_id, sender, topic, text, attrs = args
    return m.text_stream(stream_id, sender, topic, text, attrs)


def _on_behalf(packets: list[models.DataPacket]) -> list[models.DataPacket]:
    """The agent writes the stream: its header names someone, the rest is the agent's."""
    for packet in packets:
        if packet.WhichOneof("value") != "stream_header":
            packet.participant_identity = m.AGENT
        packet.participant_sid = m.SESSION_OF[m.AGENT]
    return packets


whole_streams = st.tuples(stream_ids, senders, topics, st.text(max_size=30), attributes).map(
    _whole_stream
)
whole_streams = whole_streams | whole_streams.map(_on_behalf)


def _restamp(args: tuple[models.DataPacket, str | None]) -> models.DataPacket:
    packet, sid = args
    if sid is not None:
        packet.participant_sid = sid
    return packet


# --- JSON --------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | short_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(short_text, inner, max_size=4),
    max_leaves=12,
)


def dumps(value: object, ascii_only: bool = False) -> bytes:
    # allow_nan: Python (and some servers) write NaN and Infinity, which json.loads reads.
    return json.dumps(value, allow_nan=True, ensure_ascii=ascii_only).encode("utf-8")


chat_objects = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(m.STREAM_IDS) | json_values,
        "timestamp": st.integers() | st.floats(allow_nan=True) | json_values,
        "message": short_text | json_values,
        "ignoreLegacy": st.booleans() | json_values,
    },
)
#: Numbers past what a float holds (309 digits) and past int parsing (4300 digits).
huge_numbers = st.integers(300, 5000).map(
    lambda digits: b'{"message":"x","timestamp":' + b"9" * digits + b"}"
)
#: Nesting deeper than the JSON decoder's recursion limit.
deep_nesting = st.integers(100, 3000).map(
    lambda depth: b'{"message":"x","id":' + b"[" * depth + b"]" * depth + b"}"
)
chat_payloads = st.one_of(
    st.tuples(chat_objects, st.booleans()).map(lambda args: dumps(*args)),
    json_values.map(dumps),
    st.binary(max_size=60),
    huge_numbers,
    deep_nesting,
)
legacy_chats = st.builds(m.user_packet, senders, st.just(m.LEGACY_CHAT_TOPIC), chat_payloads)

#: Loose packets; half of them carry a session sid that is not their identity's own.
data_packets = st.tuples(
    st.one_of(
        stream_headers,
        stream_chunks,
        stream_trailers,
        transcriptions,
        legacy_chats,
        chat_packets,
    ),
    st.none() | sessions,
).map(_restamp)


def _flatten(groups: list[list[models.DataPacket]]) -> list[models.DataPacket]:
    return [packet for group in groups for packet in group]


#: Whole streams and loose packets, in the order generated or shuffled entirely.
packet_sequences = (
    st.lists(whole_streams | data_packets.map(lambda packet: [packet]), max_size=12)
    .map(_flatten)
    .flatmap(lambda packets: st.just(packets) | st.permutations(packets))
)

# --- ICE candidates ----------------------------------------------------------------------

valid_ints = st.integers(0, 65535).map(str)
int_text = (
    valid_ints
    | valid_ints
    | st.integers(-5, 2**70).map(str)
    | st.sampled_from(["", "x", "1e3", "0x10", "٣", "+1"])
)
#: JSON numbers and look-alikes an index may be (Python reads Infinity and NaN).
odd_indexes = st.sampled_from(
    [float("inf"), float("-inf"), float("nan"), 1e300, -0.0, 2.5, True, "0", [0], {}]
)
candidate_lines = st.tuples(
    st.booleans(),
    st.lists(
        st.one_of(
            int_text,
            st.sampled_from(["udp", "tcp", "typ", "host", "srflx", "relay", "10.0.0.1", "::1"]),
            short_text,
        ),
        min_size=6,
        max_size=14,
    ),
).map(lambda args: ("candidate:" if args[0] else "") + " ".join(args[1]))
well_formed_lines = st.tuples(
    int_text,
    int_text,
    st.sampled_from(["udp", "tcp", "UDP", "sctp"]),
    int_text,
    st.sampled_from(["10.0.0.2", "::1", "host.local", ""]) | short_text,
    int_text,
    st.sampled_from(["host", "srflx", "prflx", "relay", "x"]),
    st.lists(
        st.tuples(
            st.sampled_from(["raddr", "rport", "tcptype", "generation", "ufrag", "x"]),
            int_text | short_text,
        ),
        max_size=3,
    ),
).map(
    lambda f: (
        "candidate:"
        + " ".join([f[0], f[1], f[2], f[3], f[4], f[5], "typ", f[6]])
        + "".join(f" {key} {value}" for key, value in f[7])
    )
)
candidate_inits = st.one_of(
    st.fixed_dictionaries(
        {"candidate": well_formed_lines | candidate_lines | json_values},
        optional={
            "sdpMid": st.sampled_from(["0", "1"]) | json_values,
            "sdpMLineIndex": st.integers(-1, 3) | odd_indexes | json_values,
        },
    ).map(lambda value: dumps(value).decode("utf-8")),
    json_values.map(lambda value: dumps(value).decode("utf-8")),
    st.text(max_size=40),
    deep_nesting.map(lambda payload: payload.decode("ascii")),
)

# --- signaling ---------------------------------------------------------------------------

identities = st.sampled_from([m.ALICE, m.BOB, m.AGENT, "carol", m.LOCAL_IDENTITY, ""]) | short_text
participant_sids = st.sampled_from(["PA_alice", "PA_bob", "PA_agent", "PA_me", "PA_x", ""])
track_infos = st.builds(
    models.TrackInfo,
    sid=st.sampled_from([*m.TRACK_SIDS, "TR_x"]),
    name=short_text,
    type=enum_values(models.TrackType),
    source=enum_values(models.TrackSource),
    muted=st.booleans(),
    width=st.integers(0, 2**32 - 1),
    height=st.integers(0, 2**32 - 1),
    mime_type=st.sampled_from(["audio/opus", "video/VP8", ""]) | short_text,
)
participant_infos = st.builds(
    m.participant,
    identities,
    participant_sids,
    name=short_text,
    state=enum_values(models.ParticipantInfo.State),
    kind=enum_values(models.ParticipantInfo.Kind),
    tracks=st.lists(track_infos, max_size=3).map(tuple),
    metadata=short_text,
    attributes=st.dictionaries(short_text, short_text, max_size=3),
)


def _signal(**fields: Any) -> rtc.SignalResponse:
    return rtc.SignalResponse(**fields)


updates = st.lists(participant_infos, max_size=4).map(
    lambda infos: _signal(update=rtc.ParticipantUpdate(participants=infos))
)
speakers = st.lists(
    st.builds(
        models.SpeakerInfo,
        sid=participant_sids,
        level=st.floats(width=32, allow_nan=True),
        active=st.booleans(),
    ),
    max_size=4,
).map(lambda infos: _signal(speakers_changed=rtc.SpeakersChanged(speakers=infos)))
qualities = st.lists(
    st.builds(
        rtc.ConnectionQualityInfo,
        participant_sid=participant_sids,
        quality=enum_values(models.ConnectionQuality),
        score=st.floats(width=32, allow_nan=True),
    ),
    max_size=4,
).map(lambda infos: _signal(connection_quality=rtc.ConnectionQualityUpdate(updates=infos)))
leaves = st.builds(
    rtc.LeaveRequest,
    can_reconnect=st.booleans(),
    reason=enum_values(models.DisconnectReason),
    action=enum_values(rtc.LeaveRequest.Action),
).map(lambda leave: _signal(leave=leave))
others = st.one_of(
    short_text.map(
        lambda text: _signal(room_update=rtc.RoomUpdate(room=models.Room(metadata=text)))
    ),
    short_text.map(lambda token: _signal(refresh_token=token)),
    short_text.map(lambda token: _signal(room_moved=rtc.RoomMovedResponse(token=token))),
    st.builds(rtc.MuteTrackRequest, sid=track_sids, muted=st.booleans()).map(
        lambda mute: _signal(mute=mute)
    ),
    track_sids.map(
        lambda sid: _signal(track_unpublished=rtc.TrackUnpublishedResponse(track_sid=sid))
    ),
    st.builds(
        rtc.RequestResponse,
        request_id=st.integers(0, 2**32 - 1),
        reason=enum_values(rtc.RequestResponse.Reason),
        message=short_text,
    ).map(lambda response: _signal(request_response=response)),
    st.builds(rtc.TrackPublishedResponse, cid=short_text, track=track_infos).map(
        lambda published: _signal(track_published=published)
    ),
    candidate_inits.map(lambda text: _signal(trickle=rtc.TrickleRequest(candidateInit=text))),
    st.integers(0, 2**63 - 1).map(
        lambda sent: _signal(pong_resp=rtc.Pong(last_ping_timestamp=sent, timestamp=sent))
    ),
)
joins = st.builds(
    rtc.JoinResponse,
    room=st.builds(models.Room, sid=short_text, name=short_text, metadata=short_text),
    participant=st.builds(m.participant, identities, participant_sids),
    other_participants=st.lists(participant_infos, max_size=4),
    server_version=short_text,
)
#: An optional join first (a rejoin), then mostly participant updates.
signal_sequences = st.tuples(
    st.none() | joins,
    st.lists(st.one_of(updates, updates, speakers, qualities, leaves, others), max_size=16),
)
