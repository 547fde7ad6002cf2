"""The call's captions as a transcript: every segment in order, searchable, exportable.

``client.captions`` keeps only the last few segments, for live display.  The transcript
keeps the whole history (bounded), stamps each segment with the wall-clock time it was
first seen, and is what the history panel lists and what is exported as WebVTT or plain
text.  A segment keeps its place when it is updated (interim text growing, then final),
so the transcript reads in the order people started speaking.

Qt-free, so it is tested as plain Python and usable from the core or a CLI.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

from client.captions import CaptionSegment

#: A long meeting's worth of segments (a segment is a sentence or two).
MAX_ENTRIES = 5000
#: How long a cue stays up after its segment was last updated, unless the next starts.
CUE_LINGER_S = 3.0


def fold(text: str) -> str:
    """``text`` for matching: case, accents and spacing do not count.

    NFKD splits "é" into "e" and a combining accent, which is dropped; casefold handles
    "ß" -> "ss"; compatibility forms ("ﬁ", full-width letters) decompose to plain ones.
    """
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


#: Control characters and bidi embeddings/overrides/isolates: invisible, and an override
#: in a name would reverse everything after it.  (LRM/RLM marks and joiners are kept.)
_STRIP: dict[int, str | None] = {c: None for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_STRIP.update({c: None for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})
_STRIP.update({c: " " for c in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85)})


def clean_text(text: str) -> str:
    """One caption line: line breaks and runs of spaces mean nothing in speech."""
    return " ".join(text.translate(_STRIP).split())


def speaker_name(segment: CaptionSegment) -> str:
    return clean_text(segment.participant_name or segment.participant_identity)


@dataclass(frozen=True)
class TranscriptEntry:
    segment: CaptionSegment
    #: Wall-clock time (``time.time()`` scale) the segment was first seen.
    started_at: float
    #: Wall-clock time of its last change (for a final segment: when it became final).
    updated_at: float
    #: Its position in the transcript: increases by one per new segment, never reused.
    seq: int
    #: The text and speaker's name as shown (``clean_text``), computed once per change:
    #: lists read them at every paint.
    text: str = ""
    speaker: str = ""
    #: Speaker and text folded for search.
    search_key: str = field(default="", repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.segment.id

    @property
    def final(self) -> bool:
        return self.segment.final

    @property
    def speaker_key(self) -> str:
        """Who spoke, for grouping: the identity, else the name."""
        return self.segment.participant_identity or self.segment.participant_name


class ChangeKind(Enum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class TranscriptChange:
    """What one ``add`` did, so that a list model can mirror it row by row.

    ``evicted`` entries were dropped from the front (the oldest), then the entry was
    appended (ADDED) or replaced at ``row`` (UPDATED); ``row`` counts after the eviction.
    """

    kind: ChangeKind
    entry: TranscriptEntry | None
    row: int
    evicted: tuple[TranscriptEntry, ...] = ()

    @property
    def changed(self) -> bool:
        return self.kind is not ChangeKind.UNCHANGED


_UNCHANGED = TranscriptChange(ChangeKind.UNCHANGED, None, -1)


@dataclass(frozen=True)
class CaptionLine:
    """Consecutive segments of one speaker, shown as one line."""

    speaker_key: str
    speaker: str
    entries: tuple[TranscriptEntry, ...]

    @property
    def text(self) -> str:
        return " ".join(e.text for e in self.entries if e.text)

    @property
    def final(self) -> bool:
        return all(e.final for e in self.entries)

    @property
    def started_at(self) -> float:
        return self.entries[0].started_at


class CaptionTranscript:
    def __init__(
        self,
        max_entries: int = MAX_ENTRIES,
        *,
        clock: Callable[[], float] = time.time,
        start_time: float | None = None,
    ) -> None:
        self._max = max(1, max_entries)
        self._clock = clock
        self._start_time = start_time
        self._entries: list[TranscriptEntry] = []
        self._seq_by_id: dict[str, int] = {}
        self._next_seq = 0

    # --- reading --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[TranscriptEntry]:
        return iter(list(self._entries))

    def entries(self) -> list[TranscriptEntry]:
        return list(self._entries)

    def get(self, segment_id: str) -> TranscriptEntry | None:
        row = self.row_of(segment_id)
        return self._entries[row] if row >= 0 else None

    def row_of(self, segment_id: str) -> int:
        seq = self._seq_by_id.get(segment_id)
        if seq is None:
            return -1
        # Sequence numbers are contiguous (only the oldest are ever dropped).
        return seq - self._entries[0].seq

    @property
    def start_time(self) -> float:
        """Time zero of exported cues: the given start, else when the first segment came."""
        if self._start_time is not None:
            return self._start_time
        return self._entries[0].started_at if self._entries else self._clock()

    def lines(self, entries: Sequence[TranscriptEntry] | None = None) -> list[CaptionLine]:
        return group_lines(self._entries if entries is None else entries)

    def search(self, query: str) -> list[TranscriptEntry]:
        """Entries whose speaker or text contains ``query`` (case and accents ignored)."""
        folded = fold(query)
        return [e for e in self._entries if matches(e, folded)]

    # --- writing --------------------------------------------------------------------

    def add(self, segment: CaptionSegment) -> TranscriptChange:
        """Record a new segment or an update of one already seen (same id)."""
        now = self._clock()
        row = self.row_of(segment.id)
        if row >= 0:
            return self._update(row, segment, now)
        if not clean_text(segment.text):
            return _UNCHANGED  # nothing to show or export yet
        if self._start_time is None:
            self._start_time = now  # stays the origin when the first entry is dropped
        entry = _entry(segment, now, now, self._next_seq)
        self._next_seq += 1
        self._entries.append(entry)
        self._seq_by_id[segment.id] = entry.seq
        evicted: tuple[TranscriptEntry, ...] = ()
        if len(self._entries) > self._max:
            cut = len(self._entries) - self._max
            evicted = tuple(self._entries[:cut])
            del self._entries[:cut]
            for old in evicted:
                del self._seq_by_id[old.id]
        return TranscriptChange(ChangeKind.ADDED, entry, len(self._entries) - 1, evicted)

    def clear(self) -> None:
        self._entries.clear()
        self._seq_by_id.clear()

    def _update(self, row: int, segment: CaptionSegment, now: float) -> TranscriptChange:
        old = self._entries[row]
        if old.final and not segment.final:
            return _UNCHANGED  # a late interim copy must not undo the final text
        if not clean_text(segment.text):
            segment = replace(segment, text=old.segment.text)
        if replace(segment, received_at=old.segment.received_at) == old.segment:
            return _UNCHANGED
        entry = _entry(segment, old.started_at, now, old.seq)
        self._entries[row] = entry
        return TranscriptChange(ChangeKind.UPDATED, entry, row)


def _entry(segment: CaptionSegment, started: float, updated: float, seq: int) -> TranscriptEntry:
    text, speaker = clean_text(segment.text), speaker_name(segment)
    key = fold(speaker) + "\n" + fold(text)
    return TranscriptEntry(segment, started, updated, seq, text, speaker, key)


def matches(entry: TranscriptEntry, folded_query: str) -> bool:
    """Whether ``entry`` matches a query already passed through ``fold``."""
    if not folded_query:
        return True
    return folded_query in (entry.search_key or fold(entry.speaker) + "\n" + fold(entry.text))


def group_lines(entries: Iterable[TranscriptEntry]) -> list[CaptionLine]:
    """Consecutive entries of the same speaker, joined into lines."""
    lines: list[CaptionLine] = []
    for entry in entries:
        if not entry.text:
            continue
        if lines and lines[-1].speaker_key == entry.speaker_key:
            last = lines[-1]
            # The latest name wins: a rename mid-meeting shows the new one.
            lines[-1] = CaptionLine(last.speaker_key, entry.speaker, (*last.entries, entry))
        else:
            lines.append(CaptionLine(entry.speaker_key, entry.speaker, (entry,)))
    return lines


# --- export ---------------------------------------------------------------------------


def clock_time(wall: float) -> str:
    """``HH:MM:SS`` in local time."""
    return time.strftime("%H:%M:%S", time.localtime(wall))


def _vtt_timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def vtt_escape(text: str) -> str:
    """Escape for WebVTT cue text and voice annotations.

    ``&`` and ``<`` would start an entity or a tag, and ``>`` is escaped as well because
    it ends a voice annotation and because ``-->`` must never appear in a cue.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(
    entries: Iterable[TranscriptEntry], start_time: float, *, include_interim: bool = False
) -> str:
    """A WebVTT file: one cue per segment, the speaker as a ``<v>`` voice.

    A cue starts when its segment was first seen (relative to ``start_time``) and ends
    ``CUE_LINGER_S`` after its last update, or earlier when the next segment starts in
    between; when speech overlaps (the next segment began before this one was final) the
    cues overlap too, as WebVTT allows, rather than cutting this one short.
    """
    chosen = [e for e in entries if (e.final or include_interim) and e.text]
    starts: list[int] = []
    for entry in chosen:
        start = max(0, round((entry.started_at - start_time) * 1000))
        # A wall clock stepped backwards must not put cues out of order.
        starts.append(max(start, starts[-1]) if starts else start)
    out = ["WEBVTT", ""]
    for i, entry in enumerate(chosen):
        start = starts[i]
        updated = max(start, round((entry.updated_at - start_time) * 1000))
        end = updated + round(CUE_LINGER_S * 1000)
        if i + 1 < len(chosen):
            end = max(updated, min(end, starts[i + 1]))
        end = max(end, start + 1)  # an end must come after the start
        voice = entry.speaker
        tag = f"<v {vtt_escape(voice)}>" if voice else ""
        out.append(f"{_vtt_timestamp(start)} --> {_vtt_timestamp(end)}")
        out.append(tag + vtt_escape(entry.text))
        out.append("")
    return "\n".join(out)


def to_text(entries: Iterable[TranscriptEntry], *, include_interim: bool = False) -> str:
    """``[HH:MM:SS] Name: text`` lines, local wall-clock time."""
    lines = [
        f"[{clock_time(e.started_at)}] {e.speaker}: {e.text}"
        for e in entries
        if (e.final or include_interim) and e.text
    ]
    return "".join(line + "\n" for line in lines)
