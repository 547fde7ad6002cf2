"""Live captions: one model fed by both forms LiveKit transcribers publish.

A transcriber (a livekit-agents worker) sends each segment as legacy ``Transcription``
packets and as ``lk.transcription`` text streams, repeatedly while it grows (interim) and
once more when final.  The two forms come from separate outputs that each draw their own
segment id, so ids cannot pair them up.  Instead, once an ``lk.transcription`` stream has
delivered text for a transcribed track, legacy packets for that track are ignored: the
streams carry the same speech (the segment the packets had begun is continued in place).
Transcribers that only send the legacy form (older agents) keep working.  Within a form,
segments are keyed by id, so a segment appears once, its text is replaced in place, and a
final segment never goes back to interim.  Only the most recent segments are kept.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TypeVar

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
        # Transcribed tracks whose captions arrive as streams: their packets are copies.
        self._streamed_tracks: OrderedDict[str, None] = OrderedDict()
        # The last segment each track's packets made, which its first stream may adopt.
        self._last_packet_segment: OrderedDict[str, str] = OrderedDict()
        # Stream segment id -> the id of the (packet-made) segment it updates.
        self._aliases: OrderedDict[str, str] = OrderedDict()
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
        if event.track_sid in self._streamed_tracks:
            return  # the lk.transcription streams carry this speech already
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
            if event.track_sid:
                _remember(self._last_packet_segment, event.track_sid, segment.id, self._max)

    def _on_stream(self, event: ev.TextStreamUpdated) -> None:
        if event.topic != TRANSCRIPTION_TOPIC or event.interrupted:
            return
        attributes = event.attributes
        track_sid = attributes.get(ATTR_TRACK_ID, "")
        segment_id = attributes.get(ATTR_SEGMENT_ID) or event.stream_id
        final = event.done and attributes.get(ATTR_FINAL, "false").lower() == "true"
        if not event.text and not final:
            return
        if track_sid and track_sid not in self._streamed_tracks:
            # Only a stream that delivers text retires the packets: a header alone proves
            # nothing, and the packets must keep the captions going if streams never finish.
            _remember(self._streamed_tracks, track_sid, None, self._max)
            packet_segment = self._last_packet_segment.pop(track_sid, None)
            if packet_segment is not None:
                self._adopt(packet_segment, segment_id, event.text)
        identity, name = self._speaker(track_sid, event.sender_identity)
        self._update(
            CaptionSegment(
                id=self._aliases.get(segment_id, segment_id),
                text=event.text,
                final=final,
                participant_identity=identity,
                participant_name=name,
                track_sid=track_sid,
            )
        )

    def _adopt(self, packet_segment: str, segment_id: str, text: str) -> None:
        """Let a track's first stream continue the segment its packets began.

        The first packet of a sentence can beat the first stream of it: the stream then
        replaces that segment in place rather than showing the sentence a second time.  A
        final segment is taken over only by the same text, so that a new sentence is never
        swallowed by the previous one.
        """
        existing = self.segments.get(packet_segment)
        if existing is None or packet_segment == segment_id:
            return
        if not existing.final or existing.text == text:
            _remember(self._aliases, segment_id, packet_segment, self._max)

    def _update(self, segment: CaptionSegment) -> None:
        existing = self.segments.get(segment.id)
        if existing is not None:
            if existing.final and not segment.final:
                return  # a late interim copy must not undo the final text
            # Fill in what this copy lacks before comparing: a copy that only lacks the
            # language (streams carry none) is the update already shown.
            if not segment.text and existing.text:
                segment = replace(segment, text=existing.text)
            if not segment.language and existing.language:
                segment = replace(segment, language=existing.language)
            if replace(segment, received_at=existing.received_at) == existing:
                return  # the other form of the same update
            segment = replace(segment, received_at=time.monotonic())
            self.segments[segment.id] = segment
        else:
            segment = replace(segment, received_at=time.monotonic())
            self.segments[segment.id] = segment
            while len(self.segments) > self._max:
                self.segments.popitem(last=False)
        self._room.events.emit(CaptionUpdated(segment))


K = TypeVar("K")
V = TypeVar("V")


def _remember(memory: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    """Insert as most recent, forgetting the oldest entries beyond ``limit``."""
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > limit:
        memory.popitem(last=False)
