"""In-call chat, compatible with Visio's web app and other LiveKit clients.

Messages arrive as ``lk.chat`` text streams (current clients), as legacy user
packets on ``lk-chat-topic`` (JSON), or as legacy ``ChatMessage`` packets.  Web
clients send both a stream and a legacy packet marked ``ignoreLegacy``; each
message is kept once, whatever mix of forms carries it.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass

from client.livekit import events as ev
from client.livekit.room import Room

CHAT_TOPIC = "lk.chat"
LEGACY_CHAT_TOPIC = "lk-chat-topic"
MAX_MESSAGES = 1000
MAX_REMEMBERED_IDS = 5000
#: Longer messages are dropped whole: a chat line is not a file transfer.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: Larger single packets are not delivered reliably through LiveKit; clients that
#: read only the legacy form never got long messages from web clients either.
MAX_LEGACY_BYTES = 15000


#: A legacy packet fits in one data packet; anything larger is not one of ours.
MAX_JSON_BYTES = 64 * 1024


def decode_json(payload: bytes) -> dict[str, object] | None:
    """Parse a JSON object payload; None for anything else (too big, too deep,
    numbers too long for Python, invalid UTF-8)."""
    if len(payload) > MAX_JSON_BYTES:
        return None
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _plausible_ms(value: object) -> int | None:
    """A timestamp in ms a sender could mean (finite, within a few centuries)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value) if abs(value) < 1e13 else None


@dataclass(frozen=True)
class ChatMessage:
    id: str
    timestamp_ms: int
    text: str
    sender_identity: str
    sender_name: str
    local: bool = False


@dataclass(frozen=True)
class ChatMessageReceived(ev.Event):
    message: ChatMessage


class Chat:
    def __init__(self, room: Room, max_messages: int = MAX_MESSAGES) -> None:
        self._room = room
        self.messages: deque[ChatMessage] = deque(maxlen=max_messages)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._unsubscribe = [
            room.listen_text_streams(CHAT_TOPIC, max_bytes=MAX_MESSAGE_BYTES),
            room.events.on(ev.TextStreamUpdated, self._on_stream),
            room.events.on(ev.DataReceived, self._on_data),
            room.events.on(ev.ChatPacketReceived, self._on_chat_packet),
        ]

    def close(self) -> None:
        for off in self._unsubscribe:
            off()

    async def send(self, text: str) -> ChatMessage:
        """Send to everyone in the room, in both the current and the legacy form."""
        message_id = str(uuid.uuid4())
        now = int(time.time() * 1000)
        local = self._room.local_participant
        await self._room.send_text(text, topic=CHAT_TOPIC, stream_id=message_id)
        legacy = {"id": message_id, "timestamp": now, "message": text, "ignoreLegacy": True}
        payload = json.dumps(legacy, ensure_ascii=False).encode("utf-8")
        if len(payload) <= MAX_LEGACY_BYTES:
            await self._room.publish_data(payload, topic=LEGACY_CHAT_TOPIC)
        message = ChatMessage(message_id, now, text, local.identity, local.display_name, local=True)
        self._add(message)
        return message

    def _remember(self, message_id: str) -> bool:
        """True the first time an id is seen."""
        if message_id in self._seen:
            return False
        self._seen[message_id] = None
        if len(self._seen) > MAX_REMEMBERED_IDS:
            self._seen.popitem(last=False)
        return True

    def _add(self, message: ChatMessage) -> None:
        if not self._remember(message.id):
            return
        self.messages.append(message)
        self._room.events.emit(ChatMessageReceived(message))

    def _sender_name(self, identity: str) -> str:
        participant = self._room.remote_participants.get(identity)
        return participant.display_name if participant is not None else identity

    def _on_stream(self, event: ev.TextStreamUpdated) -> None:
        if event.topic != CHAT_TOPIC or not event.done or event.interrupted:
            return
        self._add(
            ChatMessage(
                id=event.stream_id,
                timestamp_ms=event.timestamp_ms or int(time.time() * 1000),
                text=event.text,
                sender_identity=event.sender_identity,
                sender_name=self._sender_name(event.sender_identity),
            )
        )

    def _on_data(self, event: ev.DataReceived) -> None:
        if event.topic != LEGACY_CHAT_TOPIC:
            return
        body = decode_json(event.payload)
        if body is None or body.get("ignoreLegacy") is True:
            return
        text = body.get("message")
        if not isinstance(text, str):
            return
        identity = event.sender_identity or (
            event.participant.identity if event.participant else ""
        )
        raw_id = body.get("id")
        raw_time = body.get("timestamp")
        when = _plausible_ms(raw_time)
        self._add(
            ChatMessage(
                id=str(raw_id) if raw_id else str(uuid.uuid4()),
                timestamp_ms=int(when) if when is not None else int(time.time() * 1000),
                text=text,
                sender_identity=identity,
                sender_name=self._sender_name(identity),
            )
        )

    def _on_chat_packet(self, event: ev.ChatPacketReceived) -> None:
        if event.deleted:
            return
        self._add(
            ChatMessage(
                id=event.id or str(uuid.uuid4()),
                timestamp_ms=event.timestamp_ms or int(time.time() * 1000),
                text=event.message,
                sender_identity=event.sender_identity,
                sender_name=self._sender_name(event.sender_identity),
            )
        )
