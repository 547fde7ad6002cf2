"""Reactions as Visio's web app sends them."""

from __future__ import annotations

import json

from livekit.protocol import models

from client.livekit.room import Room
from client.notifications import MAX_REACTIONS_PER_S, Notifications, ReactionReceived


def packet(body: object, sender: str = "alice", topic: str = "") -> models.DataPacket:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return models.DataPacket(
        kind=models.DataPacket.RELIABLE,
        participant_identity=sender,
        user=models.UserPacket(payload=payload, topic=topic),
    )


def test_known_reactions_are_events_and_the_rest_is_ignored() -> None:
    room = Room()
    notifications = Notifications(room)
    seen: list[ReactionReceived] = []
    room.events.on(ReactionReceived, seen.append)
    room.on_data_packet(packet({"type": "reactionReceived", "data": {"emoji": "party-popper"}}))
    for junk in (
        {"type": "reactionReceived", "data": {"emoji": "<script>"}},
        {"type": "reactionReceived", "data": "thumbs-up"},
        {"type": "somethingElse"},
        b"\xff\xfe",
        [1, 2],
    ):
        room.on_data_packet(packet(junk))
    room.on_data_packet(
        packet({"type": "reactionReceived", "data": {"emoji": "thumbs-up"}}, topic="lk-chat-topic")
    )
    assert [(r.sender_identity, r.emoji) for r in seen] == [("alice", "🎉")]
    notifications.close()


def test_a_flood_of_reactions_is_limited_per_sender() -> None:
    room = Room()
    notifications = Notifications(room)
    seen: list[ReactionReceived] = []
    room.events.on(ReactionReceived, seen.append)
    body = {"type": "reactionReceived", "data": {"emoji": "red-heart"}}
    for _ in range(100):
        room.on_data_packet(packet(body, sender="mallory"))
    room.on_data_packet(packet(body, sender="bob"))
    assert len([r for r in seen if r.sender_identity == "mallory"]) == MAX_REACTIONS_PER_S
    assert [r.sender_identity for r in seen][-1] == "bob"
    notifications.close()
