"""Waiting in a Visio room's lobby until a host lets us in (or not).

The server forgets a waiting guest 3 s after its last poll, so we poll every second
and resend the lobby cookie each time (``VisioApi`` does).  A network blip shorter
than a minute is ridden out: the next poll, with the same cookie, puts us back in
the list under the same id.  The web app gives up after 10 minutes; so do we.
Cancelling is cancelling the task that awaits ``wait()``: the server drops us 3 s
later, as it does for a closed browser tab.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from client.livekit import events as ev
from client.visio.api import EntryStatus, LiveKitAccess, VisioApi, VisioError

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0
GIVE_UP_AFTER_S = 600.0
#: Failed polls are retried for this long before the wait fails.
OUTAGE_TOLERANCE_S = 60.0


class LobbyDenied(Exception):
    """A host refused us."""


class LobbyTimedOut(Exception):
    """Nobody let us in in time."""


@dataclass(frozen=True)
class LobbyWaiting(ev.Event):
    """We are in the lobby (emitted once, when the host can see us)."""

    participant_id: str
    room: str


class Lobby:
    def __init__(
        self,
        api: VisioApi,
        room: str,
        username: str,
        *,
        events: ev.EventEmitter | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
        give_up_after_s: float = GIVE_UP_AFTER_S,
        outage_tolerance_s: float = OUTAGE_TOLERANCE_S,
    ) -> None:
        self.api = api
        self.room = room
        self.username = username
        self.events = events if events is not None else ev.EventEmitter()
        self.poll_interval_s = poll_interval_s
        self.give_up_after_s = give_up_after_s
        self.outage_tolerance_s = outage_tolerance_s
        self.polls = 0

    async def wait(self) -> LiveKitAccess:
        """Return the meeting's access once admitted; raise ``LobbyDenied``,
        ``LobbyTimedOut`` or ``VisioError``."""
        started = time.monotonic()
        announced = False
        failing_since: float | None = None
        while True:
            ticked = time.monotonic()
            try:
                entry = await self.api.request_entry(self.room, self.username)
            except VisioError as exc:
                if exc.kind not in (VisioError.UNREACHABLE, VisioError.SERVER_ERROR):
                    raise
                failing_since = failing_since or ticked
                if ticked - failing_since > self.outage_tolerance_s:
                    raise
                log.info("lobby poll failed (%s); trying again", exc.kind)
            else:
                failing_since = None
                self.polls += 1
                if entry.status == EntryStatus.ACCEPTED and entry.livekit is not None:
                    return entry.livekit
                if entry.status == EntryStatus.DENIED:
                    raise LobbyDenied(self.room)
                if not announced:
                    announced = True
                    self.events.emit(LobbyWaiting(entry.participant_id, self.room))
            if time.monotonic() - started >= self.give_up_after_s:
                raise LobbyTimedOut(self.room)
            # Every interval from the start of the last poll: a slow answer does not
            # stretch the gap the server measures.
            await asyncio.sleep(max(0.0, self.poll_interval_s - (time.monotonic() - ticked)))
