"""Signed-in sessions: an opaque cookie value mapped to a user, for a limited time.

As with Django's session framework, the cookie carries only a random key; the server
forgets the session after its lifetime (12 h on Visio) or when the person signs out.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DEFAULT_SESSION_TTL_S", "Session", "Sessions"]

DEFAULT_SESSION_TTL_S = 12 * 3600.0


@dataclass(frozen=True)
class Session:
    key: str = field(repr=False)
    sub: str
    expires_at: float


class Sessions:
    def __init__(
        self,
        ttl_s: float = DEFAULT_SESSION_TTL_S,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._by_key: dict[str, Session] = {}

    def open(self, sub: str) -> Session:
        session = Session(secrets.token_urlsafe(32), sub, self._clock() + self.ttl_s)
        with self._lock:
            self._by_key[session.key] = session
        return session

    def sub_for(self, key: str | None) -> str | None:
        """Whose session ``key`` is, or None once it has ended or expired."""
        if not key:
            return None
        with self._lock:
            session = self._by_key.get(key)
            if session is None:
                return None
            if session.expires_at <= self._clock():
                del self._by_key[key]
                return None
            return session.sub

    def close(self, key: str | None) -> bool:
        with self._lock:
            return self._by_key.pop(key or "", None) is not None

    def expire_all(self) -> int:
        """End every session at once, as if their lifetime had run out; returns how many."""
        with self._lock:
            count = len(self._by_key)
            self._by_key.clear()
        return count

    def count(self) -> int:
        now = self._clock()
        with self._lock:
            for key in [k for k, s in self._by_key.items() if s.expires_at <= now]:
                del self._by_key[key]
            return len(self._by_key)
