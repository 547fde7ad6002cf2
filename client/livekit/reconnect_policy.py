"""When and how often the room tries to rejoin after its session failed.

The first attempt is immediate (most failures are a socket that dropped), then
the delays grow to a few seconds and stay there: a meeting-room screen must come
back by itself whenever the network does.  Only a refusal that retrying cannot
change (token expired or revoked, removed from the room) ends the attempts.
"""

from __future__ import annotations

from dataclasses import dataclass

from client.livekit import errors

RECONNECT_DELAYS_S = (0.0, 0.3, 1.0, 2.0, 3.0, 5.0)


@dataclass(frozen=True)
class ReconnectPolicy:
    delays_s: tuple[float, ...] = RECONNECT_DELAYS_S

    def delay_s(self, attempt: int) -> float:
        """The wait before attempt number ``attempt`` (1 for the first)."""
        return self.delays_s[min(max(attempt, 1), len(self.delays_s)) - 1]

    @staticmethod
    def gives_up_on(exc: BaseException) -> bool:
        return isinstance(exc, errors.ConnectError) and exc.permanent
