"""The waiting room of rooms a guest may not enter at once.

Visio keeps each lobby entry in a cache with a lifetime that depends on its state:
a waiting entry lives 3 s and each poll renews it (so a guest who stops polling soon
disappears from the hosts' list), a denial lives 5 s (long enough for the guest's next
poll to learn of it, after which asking again starts over) and an admission lives as
long as a meeting token (6 h).  Entries are keyed by room and lobby participant id,
the value of the guest's ``lobbyParticipantId`` cookie.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

__all__ = [
    "ACCEPTED_TTL_S",
    "DENIED_TTL_S",
    "WAITING_TTL_S",
    "Lobby",
    "LobbyEntry",
    "LobbyStatus",
]

WAITING_TTL_S = 3.0
DENIED_TTL_S = 5.0
ACCEPTED_TTL_S = 6 * 3600.0


class LobbyStatus(StrEnum):
    WAITING = "waiting"
    ACCEPTED = "accepted"
    DENIED = "denied"


@dataclass(frozen=True)
class LobbyEntry:
    id: str
    username: str
    color: str
    status: LobbyStatus
    expires_at: float

    def to_api(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "username": self.username,
            "id": self.id,
            "color": self.color,
        }


class Lobby:
    def __init__(
        self,
        *,
        waiting_ttl_s: float = WAITING_TTL_S,
        denied_ttl_s: float = DENIED_TTL_S,
        accepted_ttl_s: float = ACCEPTED_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.waiting_ttl_s = waiting_ttl_s
        self.denied_ttl_s = denied_ttl_s
        self.accepted_ttl_s = accepted_ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        # Insertion order: the hosts' list shows guests in the order they came.
        self._entries: dict[tuple[str, str], LobbyEntry] = {}

    def _live(self, key: tuple[str, str], now: float) -> LobbyEntry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= now:
            del self._entries[key]
            return None
        return entry

    def get(self, room_id: str, participant_id: str) -> LobbyEntry | None:
        with self._lock:
            return self._live((room_id, participant_id), self._clock())

    def wait(
        self, room_id: str, participant_id: str, username: str, color: str
    ) -> tuple[LobbyEntry, bool]:
        """Put the guest in the waiting list, or renew their wait if already there.

        Returns the entry and whether the guest is new to the list: only a newcomer is
        announced to the hosts, not every poll.
        """
        key = (room_id, participant_id)
        with self._lock:
            now = self._clock()
            entry = self._live(key, now)
            if entry is not None:
                if entry.status is LobbyStatus.WAITING:
                    entry = replace(entry, expires_at=now + self.waiting_ttl_s)
                    self._entries[key] = entry
                return entry, False
            entry = LobbyEntry(
                participant_id, username, color, LobbyStatus.WAITING, now + self.waiting_ttl_s
            )
            self._entries[key] = entry
            return entry, True

    def decide(self, room_id: str, participant_id: str, *, allow: bool) -> LobbyEntry | None:
        """A host's answer; None when the guest is no longer in the lobby."""
        key = (room_id, participant_id)
        with self._lock:
            now = self._clock()
            entry = self._live(key, now)
            if entry is None:
                return None
            if allow:
                entry = replace(
                    entry, status=LobbyStatus.ACCEPTED, expires_at=now + self.accepted_ttl_s
                )
            else:
                entry = replace(
                    entry, status=LobbyStatus.DENIED, expires_at=now + self.denied_ttl_s
                )
            self._entries[key] = entry
            return entry

    def waiting(self, room_id: str) -> list[LobbyEntry]:
        with self._lock:
            now = self._clock()
            found = []
            for key in [k for k in self._entries if k[0] == room_id]:
                entry = self._live(key, now)
                if entry is not None and entry.status is LobbyStatus.WAITING:
                    found.append(entry)
            return found
