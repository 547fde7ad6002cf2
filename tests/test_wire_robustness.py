"""Inputs the fuzzer found, kept as plain regression tests on the parsers."""

from __future__ import annotations

import json
import time

import pytest
from livekit.protocol import models, rtc

from client.chat import Chat, decode_json
from client.livekit.pc_transport import parse_candidate_init
from client.livekit.proto_enums import enum_name
from client.livekit.room import Room
from client.livekit.signal_client import leave_error


def test_unknown_enum_values_have_a_name() -> None:
    assert enum_name(models.DisconnectReason, 108) == "UNKNOWN_108"
    assert enum_name(models.DisconnectReason, 0) == "UNKNOWN_REASON"
    error = leave_error(rtc.LeaveRequest(reason=108))  # type: ignore[arg-type]
    assert "UNKNOWN_108" in str(error)


def test_an_absurd_chat_timestamp_falls_back_to_now() -> None:
    room = Room()
    chat = Chat(room)
    payload = b'{"message":"x","timestamp":' + b"9" * 4200 + b"}"
    room.on_data_packet(
        models.DataPacket(
            participant_identity="mallory",
            user=models.UserPacket(payload=payload, topic="lk-chat-topic"),
        )
    )
    assert [m.text for m in chat.messages] == ["x"]
    assert abs(chat.messages[0].timestamp_ms - time.time() * 1000) < 60_000
    chat.close()


@pytest.mark.parametrize(
    "payload",
    [
        b'{"message":"x","id":' + b"[" * 5000 + b"]" * 5000 + b"}",
        b"x" * 100_000,
    ],
)
def test_hostile_json_is_refused_not_raised(payload: bytes) -> None:
    assert decode_json(payload) is None


@pytest.mark.parametrize(
    "text",
    [
        '{"candidate":"candidate:1 1 udp 1 10.0.0.1 7882 typ host","sdpMLineIndex":1e999}',
        '{"candidate":"candidate:1 1 udp 1 10.0.0.1 7882 typ host","sdpMLineIndex":[1]}',
        "[" * 5000 + "]" * 5000,
        json.dumps({"candidate": "candidate:1 1 udp x 10.0.0.1 7882 typ host extra"}),
    ],
)
def test_hostile_candidates_raise_value_error_only(text: str) -> None:
    with pytest.raises(ValueError):
        parse_candidate_init(text)
