"""Seed inputs: a few valid conversations per target, so fuzzing starts from meaning.

Random bytes almost never parse as a SignalResponse that names a participant, or
as a stream header followed by its chunks; mutating real messages does.  The
seeds are built here at start (not stored) so they follow the protocol package.
"""

from __future__ import annotations

import json

from livekit.protocol import models, rtc

from devtools.fuzz import inputs
from devtools.fuzz import messages as m
from devtools.fuzz.inputs import CHAT_PACKET, CHUNK, HEADER, LEGACY_CHAT, TRAILER, TRANSCRIPTION, Op


def _signal(*responses: rtc.SignalResponse) -> bytes:
    return inputs.join_frames([(0, r.SerializeToString()) for r in responses])


def _packets(packets: list[models.DataPacket], *, keep_sender: bool = True) -> bytes:
    frames = []
    for packet in packets:
        ctl = inputs.ctl_for(None if keep_sender else packet.participant_identity)
        frames.append((ctl, packet.SerializeToString()))
    return inputs.join_frames(frames)


def signal_seeds() -> list[bytes]:
    join = rtc.SignalResponse(join=m.join_response())
    carol = m.participant(
        "carol", "PA_carol", name="Carol", tracks=(m.track("TR_carol_mic", muted=True),)
    )
    carol_gone = m.participant("carol", "PA_carol", state=models.ParticipantInfo.DISCONNECTED)
    alice_new_session = m.participant("alice", "PA_alice2", name="Alice (phone)")
    update = rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[carol]))
    speakers = rtc.SignalResponse(
        speakers_changed=rtc.SpeakersChanged(
            speakers=[
                models.SpeakerInfo(sid="PA_alice", level=0.8, active=True),
                models.SpeakerInfo(sid="PA_me", level=0.2, active=True),
            ]
        )
    )
    quality = rtc.SignalResponse(
        connection_quality=rtc.ConnectionQualityUpdate(
            updates=[
                rtc.ConnectionQualityInfo(
                    participant_sid="PA_bob", quality=models.ConnectionQuality.POOR, score=2.0
                )
            ]
        )
    )
    room_update = rtc.SignalResponse(
        room_update=rtc.RoomUpdate(room=models.Room(sid="RM_fuzz", metadata='{"x":1}'))
    )
    trickle = rtc.SignalResponse(
        trickle=rtc.TrickleRequest(
            candidateInit=json.dumps(
                {
                    "candidate": "candidate:1 1 udp 2130706431 10.0.0.2 7882 typ host",
                    "sdpMid": "0",
                    "sdpMLineIndex": 0,
                }
            ),
            target=rtc.SignalTarget.SUBSCRIBER,
        )
    )
    leave = rtc.SignalResponse(
        leave=rtc.LeaveRequest(
            reason=models.DisconnectReason.ROOM_DELETED,
            action=rtc.LeaveRequest.Action.DISCONNECT,
        )
    )
    refused = rtc.SignalResponse(
        request_response=rtc.RequestResponse(
            request_id=3, reason=rtc.RequestResponse.Reason.NOT_FOUND, message="no such track"
        )
    )
    return [
        _signal(join, update, speakers, quality),
        _signal(
            update, rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[carol_gone]))
        ),
        _signal(
            rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[alice_new_session])),
            speakers,
        ),
        _signal(room_update, rtc.SignalResponse(refresh_token="eyJ.new.token"), trickle),
        _signal(
            rtc.SignalResponse(mute=rtc.MuteTrackRequest(sid="TR_x", muted=True)),
            rtc.SignalResponse(track_unpublished=rtc.TrackUnpublishedResponse(track_sid="TR_x")),
            rtc.SignalResponse(pong_resp=rtc.Pong(last_ping_timestamp=1, timestamp=2)),
        ),
        _signal(leave, update),
        _signal(refused, rtc.SignalResponse(room_moved=rtc.RoomMovedResponse(token="t"))),
        b"\x00\x02\x00\xff\xff",
    ]


def data_seeds() -> list[bytes]:
    chat = m.text_stream("s-1", m.ALICE, "lk.chat", "hello there, café ☕")
    caption = m.text_stream(
        "s-2",
        m.AGENT,
        "lk.transcription",
        "so we agree",
        m.caption_attributes("SG_1", m.ALICE_MIC, True),
    )
    legacy = json.dumps({"id": "c-1", "timestamp": 1700000000000, "message": "hi"}).encode()
    interleaved = [chat[0], caption[0], chat[1], caption[1], caption[2], chat[2], caption[3]]
    stolen = [chat[0], m.stream_chunk("s-1", "mallory", 0, b"pwned"), chat[1]]
    stolen += [m.stream_trailer("s-1", "mallory"), chat[2], chat[3]]
    # An agent captioning alice: the header names her, the rest comes as the agent,
    # all in the agent's session; a forgery names alice from another session.
    behalf = m.text_stream(
        "s-3",
        m.ALICE,
        "lk.transcription",
        "on her behalf",
        m.caption_attributes("SG_2", m.ALICE_MIC, True),
    )
    for packet in behalf:
        if packet.WhichOneof("value") != "stream_header":
            m.stamped(packet, m.AGENT)
        packet.participant_sid = m.SESSION_OF[m.AGENT]
    forged = m.stamped(m.stream_chunk("s-3", m.ALICE, 0, b"pwned"), m.ALICE, "PA_mallory")
    behalf = [behalf[0], forged, *behalf[1:]]
    return [
        _packets(chat),
        _packets(caption),
        _packets(interleaved),
        _packets(stolen, keep_sender=False),
        _packets(behalf),
        _packets(
            [
                m.transcription(m.AGENT, m.ALICE_MIC, [("SG_1", "so we", False)]),
                m.transcription(m.AGENT, m.ALICE_MIC, [("SG_1", "so we agree", True)]),
            ]
        ),
        _packets(
            [
                m.user_packet(m.BOB, m.LEGACY_CHAT_TOPIC, legacy),
                m.chat_packet(m.BOB, "c-2", "legacy packet"),
                m.user_packet(m.BOB, "game", b"\x00\x01binary"),
            ]
        ),
    ]


def stream_seeds() -> list[bytes]:
    alice, mallory, agent = 0, 3, 2
    chat_stream = [
        Op(HEADER, alice, 0, 0, b""),
        Op(CHUNK, alice, 0, 0, b"bonjour "),
        Op(CHUNK, alice, 0, 1, "à tous".encode()),
        Op(TRAILER, alice, 0, 0),
    ]
    captions = [
        Op(HEADER, agent, 1, 0x01 | 0x04 | 0x08, b""),
        Op(CHUNK, agent, 1, 1, b"world"),
        Op(CHUNK, agent, 1, 0, b"hello "),
        Op(TRAILER, agent, 1, 0x04 | 0x08),
        Op(TRANSCRIPTION, agent, 1, 0x01, b"hello world"),
    ]
    attack = [
        Op(HEADER, alice, 0, 0, b""),
        Op(HEADER, mallory, 0, 0, b""),
        Op(CHUNK, mallory, 0, 0, b"not alice"),
        Op(TRAILER, mallory, 0, 0),
        Op(CHUNK, alice, 0, 0, b"alice"),
        Op(TRAILER, alice, 0, 0),
    ]
    # Bits 3-5 of the sender byte pick a sid: 3 is the agent's session.
    agent_session = 3 << 3
    behalf = [
        Op(HEADER, alice | agent_session, 2, 0x01 | 0x04, b""),
        Op(CHUNK, agent | agent_session, 2, 0, b"for alice"),
        Op(CHUNK, alice | (4 << 3), 2, 1, b"forged"),
        Op(TRAILER, agent | agent_session, 2, 0x04 | 0x08),
    ]
    legacy = [
        Op(LEGACY_CHAT, mallory, 0, 0, b'{"id":"s-1","message":"first"}'),
        Op(CHAT_PACKET, alice, 0, 0, b"packet"),
    ]
    scripts = (chat_stream, captions, attack, behalf, legacy)
    return [inputs.encode_script(ops) for ops in scripts]


def chat_json_seeds() -> list[bytes]:
    return [
        json.dumps({"id": "c-1", "timestamp": 1700000000000, "message": "hi"}).encode(),
        json.dumps({"id": 7, "timestamp": 1.5e12, "message": "é", "ignoreLegacy": False}).encode(),
        b'{"message":"x","ignoreLegacy":true}',
        b'{"message":["not","text"],"timestamp":"now"}',
        b'[{"message":"not an object"}]',
    ]


def ice_seeds() -> list[bytes]:
    return [
        json.dumps(
            {
                "candidate": "candidate:1 1 udp 2130706431 10.0.0.2 7882 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            }
        ).encode(),
        json.dumps(
            {
                "candidate": "2 1 tcp 1694498815 203.0.113.7 7881 typ srflx raddr 10.0.0.1 "
                "rport 9 tcptype passive generation 0",
                "sdpMid": "1",
                "sdpMLineIndex": 1,
            }
        ).encode(),
        b'{"candidate":""}',
        b'{"candidate":"candidate:1 1 udp 1 10.0.0.1 7882 typ"}',
    ]


def dictionary() -> list[bytes]:
    """Tokens libFuzzer may splice into any input: the names the parsers look for."""
    words = [
        *m.TOPICS,
        m.LEGACY_CHAT_TOPIC,
        *(s for s in m.STREAM_IDS if s),
        *(s for s in m.SENDERS if s),
        *(s for s in m.SEGMENT_IDS if s),
        *(s for s in m.TRACK_SIDS if s),
        m.SEGMENT_ID_ATTR,
        m.TRACK_ID_ATTR,
        m.FINAL_ATTR,
        "true",
        "false",
        "text/plain",
        "PA_alice",
        "PA_bob",
        "PA_me",
        '"message"',
        '"id"',
        '"timestamp"',
        '"ignoreLegacy"',
        '"candidate"',
        '"sdpMid"',
        '"sdpMLineIndex"',
        "candidate:",
        " typ ",
        "host",
        "srflx",
        "relay",
        " raddr ",
        " rport ",
        " tcptype ",
        " generation ",
        "udp",
        "tcp",
        "Infinity",
        "NaN",
        "1e999",
    ]
    return [word.encode("utf-8") for word in words]


def vp9_seeds() -> list[bytes]:
    """Pictures as the depayloader frames them: a keyframe start with and without a
    scalability structure, a two-packet picture, a flexible-mode delta frame."""
    key_header = bytes([0x82, 0x49, 0x83, 0x42, 0x00, 0x27, 0xF0, 0x16, 0x70]) + bytes(24)
    whole_key = bytes([0xAC, 0x80, 0x01, 0x00, 0x00]) + key_header
    with_ss = bytes([0xAE, 0x80, 0x02, 0x00, 0x00, 0x10, 0x02, 0x80, 0x01, 0x68]) + key_header
    first_half = bytes([0xA8, 0x80, 0x03, 0x00, 0x00]) + key_header
    second_half = bytes([0xA4, 0x80, 0x03, 0x00, 0x00]) + bytes(40)
    flexible_delta = bytes([0xDC, 0x80, 0x04, 0x00, 0x02]) + bytes([0x86, 0x00]) + bytes(20)

    def framed(*payloads: bytes) -> bytes:
        return b"".join(len(p).to_bytes(2, "big") + p for p in payloads)

    return [
        framed(whole_key),
        framed(with_ss),
        framed(first_half, second_half),
        framed(flexible_delta),
        framed(whole_key, flexible_delta),
    ]


SEEDS = {
    "signal": signal_seeds,
    "data": data_seeds,
    "streams": stream_seeds,
    "chat_json": chat_json_seeds,
    "ice": ice_seeds,
    "vp9": vp9_seeds,
}
