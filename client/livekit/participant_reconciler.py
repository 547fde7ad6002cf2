"""The remote participants and their tracks, kept in line with the server's view.

The server describes participants in full (``ParticipantInfo``) in the join
response and in every update; this module turns the difference between what it
said and what we hold into events: joined, left, renamed, track published,
muted, subscribed.  A media track may arrive before the update that announces
its publication: it waits here, already drained by its reader, until then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiortc.mediastreams import MediaStreamTrack
from livekit.protocol import models, rtc

from client.livekit import events as ev
from client.livekit.participant import (
    LocalParticipant,
    Participant,
    RemoteParticipant,
    RemoteTrackPublication,
)
from client.livekit.remote_track import RemoteTrack
from client.livekit.tasks import TaskGroup

log = logging.getLogger(__name__)

PENDING_TRACK_TIMEOUT_S = 10.0

_QUALITY = {
    models.ConnectionQuality.LOST: ev.ConnectionQuality.LOST,
    models.ConnectionQuality.POOR: ev.ConnectionQuality.POOR,
    models.ConnectionQuality.GOOD: ev.ConnectionQuality.GOOD,
    models.ConnectionQuality.EXCELLENT: ev.ConnectionQuality.EXCELLENT,
}


@dataclass
class _PendingTrack:
    track: RemoteTrack
    since: float = field(default_factory=time.monotonic)


class ParticipantReconciler:
    def __init__(
        self,
        events: ev.EventEmitter,
        local: LocalParticipant,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._events = events
        self._local = local
        self._clock = clock
        self.remote: dict[str, RemoteParticipant] = {}
        self.active_speakers: tuple[Participant, ...] = ()
        self._pending: dict[str, _PendingTrack] = {}
        self._tasks = TaskGroup("participants")

    @property
    def pending_tracks(self) -> int:
        return len(self._pending)

    # --- queries ----------------------------------------------------------------

    def by_sid(self, sid: str) -> RemoteParticipant | None:
        for participant in self.remote.values():
            if participant.sid == sid:
                return participant
        return None

    def publication(
        self, track_sid: str
    ) -> tuple[RemoteParticipant, RemoteTrackPublication] | None:
        for participant in self.remote.values():
            publication = participant.track_publications.get(track_sid)
            if publication is not None:
                return participant, publication
        return None

    # --- the server's view --------------------------------------------------------

    def apply_join(self, join: rtc.JoinResponse) -> None:
        """The join's snapshot: whoever we hold and it does not list has left."""
        self._local.identity = join.participant.identity
        self._local.apply_info(join.participant)
        present = {info.identity for info in join.other_participants}
        for identity in list(self.remote):
            if identity not in present:
                self.remove(identity)
        for info in join.other_participants:
            self.update(info)

    def update(self, info: models.ParticipantInfo) -> None:
        if info.identity == self._local.identity:
            if info.sid == self._local.sid or not self._local.sid:
                changed = self._local.apply_info(info)
                if changed:
                    self._events.emit(ev.ParticipantUpdated(self._local, changed))
            return
        existing = self.remote.get(info.identity)
        if info.state == models.ParticipantInfo.DISCONNECTED:
            if existing is not None and existing.sid == info.sid:
                self.remove(info.identity)
            return
        if existing is not None and existing.sid != info.sid:
            # Same person, new session: the old one is gone.
            self.remove(info.identity)
            existing = None
        if existing is None:
            participant = RemoteParticipant(sid=info.sid, identity=info.identity)
            participant.apply_info(info)
            self.remote[info.identity] = participant
            self._events.emit(ev.ParticipantConnected(participant))
            self._sync_tracks(participant, info)
            return
        changed = existing.apply_info(info)
        if changed:
            self._events.emit(ev.ParticipantUpdated(existing, changed))
        self._sync_tracks(existing, info)

    def _sync_tracks(self, participant: RemoteParticipant, info: models.ParticipantInfo) -> None:
        current = {track.sid: track for track in info.tracks}
        for sid in list(participant.track_publications):
            if sid not in current:
                publication = participant.track_publications.pop(sid)
                self._unsubscribe(participant, publication)
                self._events.emit(ev.TrackUnpublished(participant, publication))
        for sid, track_info in current.items():
            existing = participant.track_publications.get(sid)
            if existing is None:
                publication = RemoteTrackPublication.from_info(track_info)
                participant.track_publications[sid] = publication
                self._events.emit(ev.TrackPublished(participant, publication))
                pending = self._pending.pop(sid, None)
                if pending is not None:
                    self._attach(participant, publication, pending.track)
                continue
            was_muted = existing.muted
            existing.update_from(track_info)
            if existing.muted != was_muted:
                event = ev.TrackMuted if existing.muted else ev.TrackUnmuted
                self._events.emit(event(participant, sid))
        self._expire_pending()

    def remove(self, identity: str) -> None:
        participant = self.remote.pop(identity, None)
        if participant is None:
            return
        for publication in list(participant.track_publications.values()):
            self._unsubscribe(participant, publication)
            self._events.emit(ev.TrackUnpublished(participant, publication))
        participant.track_publications.clear()
        if participant in self.active_speakers:
            self.active_speakers = tuple(p for p in self.active_speakers if p is not participant)
            self._events.emit(ev.ActiveSpeakersChanged(self.active_speakers))
        self._events.emit(ev.ParticipantDisconnected(participant))

    # --- media tracks ---------------------------------------------------------------

    def track_arrived(self, track_sid: str, incoming: MediaStreamTrack) -> None:
        """A subscribed track arrived from the engine (maybe before its publication)."""
        # Its reader starts now: aiortc queues frames without bound until read.
        remote = RemoteTrack(track_sid, str(incoming.kind), incoming)
        found = self.publication(track_sid)
        if found is None:
            old = self._pending.pop(track_sid, None)
            if old is not None:
                self._tasks.spawn(old.track.stop(), "stop-pending")
            self._pending[track_sid] = _PendingTrack(remote, self._clock())
            self._expire_pending()
            return
        self._attach(found[0], found[1], remote)

    def _attach(
        self,
        participant: RemoteParticipant,
        publication: RemoteTrackPublication,
        remote: RemoteTrack,
    ) -> None:
        if publication.track is not None:
            old = publication.track
            publication.track = None
            self._tasks.spawn(old.stop(), "stop-replaced")
            self._events.emit(ev.TrackUnsubscribed(participant, publication, old))
        publication.track = remote
        self._tasks.spawn(self._watch_end(participant, publication, remote), "watch-track")
        self._events.emit(ev.TrackSubscribed(participant, publication, remote))

    async def _watch_end(
        self,
        participant: RemoteParticipant,
        publication: RemoteTrackPublication,
        remote: RemoteTrack,
    ) -> None:
        await remote.ended.wait()
        if publication.track is remote:
            publication.track = None
            self._events.emit(ev.TrackUnsubscribed(participant, publication, remote))

    def _expire_pending(self) -> None:
        cutoff = self._clock() - PENDING_TRACK_TIMEOUT_S
        for sid in [s for s, p in self._pending.items() if p.since < cutoff]:
            log.warning("track %s never matched a publication; dropped", sid)
            self._tasks.spawn(self._pending.pop(sid).track.stop(), "stop-expired")

    def _unsubscribe(
        self, participant: RemoteParticipant, publication: RemoteTrackPublication
    ) -> None:
        remote = publication.track
        if remote is None:
            return
        publication.track = None
        self._tasks.spawn(remote.stop(), "stop-unsubscribed")
        self._events.emit(ev.TrackUnsubscribed(participant, publication, remote))

    def drop_all_tracks(self) -> None:
        """The session's media is gone (rejoin): tracks will come back anew."""
        for participant in self.remote.values():
            for publication in participant.track_publications.values():
                self._unsubscribe(participant, publication)
        for pending in self._pending.values():
            self._tasks.spawn(pending.track.stop(), "stop-pending")
        self._pending.clear()

    def drop_all(self) -> None:
        """Everyone is gone (we left, or never got in): each departure is an event."""
        self.drop_all_tracks()
        for identity in list(self.remote):
            self.remove(identity)

    async def close(self) -> None:
        await self._tasks.close()

    # --- speakers and quality ---------------------------------------------------------

    def update_speakers(self, speakers: Sequence[models.SpeakerInfo]) -> None:
        by_sid: dict[str, Participant] = {}
        for member in (self._local, *self.remote.values()):
            by_sid[member.sid] = member
        for info in speakers:
            speaker = by_sid.get(info.sid)
            if speaker is not None:
                speaker.is_speaking = info.active
                speaker.audio_level = info.level
        active = tuple(
            sorted(
                (p for p in by_sid.values() if p.is_speaking),
                key=lambda p: p.audio_level,
                reverse=True,
            )
        )
        if active != self.active_speakers:
            self.active_speakers = active
            self._events.emit(ev.ActiveSpeakersChanged(active))

    def update_quality(self, updates: Sequence[rtc.ConnectionQualityInfo]) -> None:
        for update in updates:
            participant: Participant | None = (
                self._local
                if update.participant_sid == self._local.sid
                else self.by_sid(update.participant_sid)
            )
            if participant is None:
                continue
            quality = _QUALITY.get(update.quality, ev.ConnectionQuality.UNKNOWN)
            if quality != participant.connection_quality:
                participant.connection_quality = quality
                self._events.emit(ev.ConnectionQualityChanged(participant, quality))
