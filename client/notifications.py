"""In-call notifications shared with Visio's web app: reactions and the like.

They travel as reliable user packets with no topic, a JSON object
``{"type": ..., "data"?: ...}``.  Unknown types are ignored; a reaction names one of
a fixed set of emoji, anything else is dropped (it is shown to everyone).
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass

from client.chat import decode_json
from client.livekit import events as ev
from client.livekit.participant import RemoteParticipant
from client.livekit.room import Room

REACTION_TYPE = "reactionReceived"
#: The reactions the web app offers, by name, with the character shown.
REACTIONS = {
    "thumbs-up": "👍",
    "thumbs-down": "👎",
    "clapping-hands": "👏",
    "red-heart": "❤️",
    "face-with-tears-of-joy": "😂",
    "face-with-open-mouth": "😮",
    "party-popper": "🎉",
    "folded-hands": "🙏",
}
#: Per sender, as the web app limits sending: more in a second are dropped.
MAX_REACTIONS_PER_S = 10


@dataclass(frozen=True)
class ReactionReceived(ev.Event):
    participant: RemoteParticipant | None
    sender_identity: str
    name: str

    @property
    def emoji(self) -> str:
        return REACTIONS[self.name]


class Notifications:
    def __init__(self, room: Room) -> None:
        self._room = room
        self._recent: dict[str, deque[float]] = {}
        self._off = room.events.on(ev.DataReceived, self._on_data)

    def close(self) -> None:
        self._off()

    async def send_reaction(self, name: str) -> None:
        if name not in REACTIONS:
            raise ValueError(f"unknown reaction {name!r}")
        payload = json.dumps({"type": REACTION_TYPE, "data": {"emoji": name}}).encode()
        await self._room.publish_data(payload)

    def _allowed(self, sender: str) -> bool:
        now = time.monotonic()
        recent = self._recent.setdefault(sender, deque())
        while recent and now - recent[0] > 1.0:
            recent.popleft()
        if len(recent) >= MAX_REACTIONS_PER_S:
            return False
        recent.append(now)
        if len(self._recent) > 1000:  # forget senders long gone
            self._recent = {k: v for k, v in self._recent.items() if v}
        return True

    def _on_data(self, event: ev.DataReceived) -> None:
        if event.topic:
            return
        body = decode_json(event.payload)
        if body is None or body.get("type") != REACTION_TYPE:
            return
        data = body.get("data")
        name = data.get("emoji") if isinstance(data, dict) else None
        if not isinstance(name, str) or name not in REACTIONS:
            return
        if not self._allowed(event.sender_identity):
            return
        self._room.events.emit(ReactionReceived(event.participant, event.sender_identity, name))
