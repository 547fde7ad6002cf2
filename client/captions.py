"""Live captions: one model fed by both forms LiveKit transcribers publish.

Agents send each segment as a legacy ``Transcription`` packet and as an
``lk.transcription`` text stream, repeatedly while it grows (interim) and once
more when final, always under the same segment id.  Segments are keyed by that
id, so a segment appears once, its text is replaced in place, and a final
segment never goes back to interim.  Only the most recent segments are kept.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace

from client.livekit import events as ev
from client.livekit.room import Room

TRANSCRIPTION_TOPIC = "lk.transcription"
ATTR_SEGMENT_ID = "lk.segment_id"
ATTR_TRACK_ID = "lk.transcribed_track_id"
ATTR_FINAL = "lk.transcription_final"
MAX_SEGMENTS = 300
#: A caption segment is a sentence or two; each interim update carries all of it.
MAX_SEGMENT_BYTES = 64 * 1024


@dataclass(frozen=True)
class CaptionSegment:
    id: str
    text: str
    final: bool
    participant_identity: str
    participant_name: str
    track_sid: str
    language: str = ""
    received_at: float = 0.0


@dataclass(frozen=True)
class CaptionUpdated(ev.Event):
    segment: CaptionSegment


class Captions:
    def __init__(self, room: Room, max_segments: int = MAX_SEGMENTS) -> None:
        self._room = room
        self._max = max_segments
        self.segments: OrderedDict[str, CaptionSegment] = OrderedDict()
        self._unsubscribe = [
            room.listen_text_streams(
                TRANSCRIPTION_TOPIC, progress=True, max_bytes=MAX_SEGMENT_BYTES
            ),
            room.events.on(ev.TranscriptionReceived, self._on_packet),
            room.events.on(ev.TextStreamUpdated, self._on_stream),
        ]

    def close(self) -> None:
        for off in self._unsubscribe:
            off()

    def recent(self, count: int = 3) -> list[CaptionSegment]:
        return list(self.segments.values())[-count:]

    def _speaker(self, track_sid: str, fallback_identity: str) -> tuple[str, str]:
        """Who spoke: the owner of the transcribed track, else what the sender said."""
        local = self._room.local_participant
        if track_sid and track_sid in local.track_publications:
            return local.identity, local.display_name
        found = self._room.publication_by_track_sid(track_sid) if track_sid else None
        if found is not None:
            return found[0].identity, found[0].display_name
        if fallback_identity == local.identity:
            return local.identity, local.display_name
        participant = self._room.remote_participants.get(fallback_identity)
        name = participant.display_name if participant is not None else fallback_identity
        return fallback_identity, name

    def _on_packet(self, event: ev.TranscriptionReceived) -> None:
        identity, name = self._speaker(event.track_sid, event.participant_identity)
        for segment in event.segments:
            self._update(
                CaptionSegment(
                    id=segment.id,
                    text=segment.text,
                    final=segment.final,
                    participant_identity=identity,
                    participant_name=name,
                    track_sid=event.track_sid,
                    language=segment.language,
                )
            )

    def _on_stream(self, event: ev.TextStreamUpdated) -> None:
        if event.topic != TRANSCRIPTION_TOPIC or event.interrupted:
            return
        attributes = event.attributes
        track_sid = attributes.get(ATTR_TRACK_ID, "")
        identity, name = self._speaker(track_sid, event.sender_identity)
        final = event.done and attributes.get(ATTR_FINAL, "false").lower() == "true"
        if not event.text and not final:
            return
        self._update(
            CaptionSegment(
                id=attributes.get(ATTR_SEGMENT_ID) or event.stream_id,
                text=event.text,
                final=final,
                participant_identity=identity,
                participant_name=name,
                track_sid=track_sid,
            )
        )

    def _update(self, segment: CaptionSegment) -> None:
        segment = replace(segment, received_at=time.monotonic())
        existing = self.segments.get(segment.id)
        if existing is not None:
            if existing.final and not segment.final:
                return  # a late interim copy must not undo the final text
            if existing == replace(segment, received_at=existing.received_at):
                return  # the other form of the same update
            if not segment.text and existing.text:
                segment = replace(segment, text=existing.text)
            if not segment.language and existing.language:
                segment = replace(segment, language=existing.language)
            self.segments[segment.id] = segment
        else:
            self.segments[segment.id] = segment
            while len(self.segments) > self._max:
                self.segments.popitem(last=False)
        self._room.events.emit(CaptionUpdated(segment))
