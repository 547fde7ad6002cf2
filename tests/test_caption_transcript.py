"""The captions transcript: order, updates in place, lines, WebVTT and text export, search.

Pure Python: a fake clock stands in for the wall clock.
"""

from __future__ import annotations

import re
import time

import pytest

from client.caption_transcript import (
    CUE_LINGER_S,
    CaptionTranscript,
    ChangeKind,
    TranscriptEntry,
    clean_text,
    clock_time,
    fold,
    group_lines,
    to_text,
    to_webvtt,
)
from client.captions import CaptionSegment

START = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def at(self, seconds: float) -> FakeClock:
        self.now = START + seconds
        return self


def seg(
    segment_id: str,
    text: str,
    final: bool = True,
    identity: str = "alice",
    name: str = "Alice",
    received_at: float = 0.0,
) -> CaptionSegment:
    return CaptionSegment(
        id=segment_id,
        text=text,
        final=final,
        participant_identity=identity,
        participant_name=name,
        track_sid=f"TR_{identity}",
        received_at=received_at,
    )


def transcript(**kwargs: float) -> tuple[CaptionTranscript, FakeClock]:
    clock = FakeClock()
    return CaptionTranscript(clock=clock, **kwargs), clock  # type: ignore[arg-type]


# --- history ------------------------------------------------------------------------------


def test_segments_keep_the_order_they_started_in_and_update_in_place() -> None:
    log, clock = transcript()
    clock.at(1)
    assert log.add(seg("a", "bonjour", final=False)).kind is ChangeKind.ADDED
    clock.at(2)
    log.add(seg("b", "salut", identity="bob", name="Bob"))
    clock.at(3)
    change = log.add(seg("a", "bonjour à tous", final=True))
    assert change.kind is ChangeKind.UPDATED and change.row == 0
    entries = log.entries()
    assert [e.id for e in entries] == ["a", "b"]
    assert entries[0].text == "bonjour à tous" and entries[0].final
    # The time an entry is stamped with is when it was first seen, not its last update.
    assert entries[0].started_at == START + 1
    assert entries[0].updated_at == START + 3
    assert log.get("b") is entries[1] and log.row_of("b") == 1 and log.row_of("zz") == -1


def test_a_late_interim_copy_never_undoes_the_final_text() -> None:
    log, _ = transcript()
    log.add(seg("a", "the final words", final=True))
    assert log.add(seg("a", "the fin", final=False)).kind is ChangeKind.UNCHANGED
    entry = log.get("a")
    assert entry is not None and entry.final and entry.text == "the final words"


def test_a_copy_of_what_is_known_changes_nothing() -> None:
    log, _ = transcript()
    log.add(seg("a", "hello", received_at=1.0))
    # The other form of the same update: only the receive time differs.
    assert not log.add(seg("a", "hello", received_at=2.0)).changed
    # An update without text keeps the text it had (streams may end with no chunk).
    assert not log.add(seg("a", "", final=True)).changed
    assert not log.add(seg("empty", "   ")).changed  # nothing to show yet
    assert len(log) == 1


def test_the_history_is_bounded_and_says_what_it_dropped() -> None:
    log, clock = transcript(max_entries=3)
    changes = []
    for i in range(5):
        clock.at(i)
        changes.append(log.add(seg(f"s{i}", f"segment {i}")))
    assert [e.id for e in log.entries()] == ["s2", "s3", "s4"]
    assert [e.id for e in changes[3].evicted] == ["s0"]
    assert changes[4].row == 2 and log.row_of("s2") == 0 and log.get("s0") is None
    # Time zero of the exports stays when the first segment was seen.
    assert log.start_time == START
    assert log.add(seg("s3", "segment 3, corrected")).row == 1


def test_consecutive_segments_of_one_speaker_form_one_line() -> None:
    log, _ = transcript()
    log.add(seg("1", "Bonjour."))
    log.add(seg("2", "On commence ?", final=False))
    log.add(seg("3", "Oui.", identity="bob", name="Bob"))
    log.add(seg("4", "Parfait."))
    lines = log.lines()
    assert [(line.speaker, line.text) for line in lines] == [
        ("Alice", "Bonjour. On commence ?"),
        ("Bob", "Oui."),
        ("Alice", "Parfait."),
    ]
    assert not lines[0].final and lines[1].final
    assert [e.id for e in lines[0].entries] == ["1", "2"]


def test_a_rename_mid_line_shows_the_new_name() -> None:
    log, _ = transcript()
    log.add(seg("1", "one", name="Alice"))
    log.add(seg("2", "two", name="Alice M."))
    assert [line.speaker for line in group_lines(log.entries())] == ["Alice M."]


def test_text_is_one_clean_line() -> None:
    # Line breaks mean nothing in speech, and invisible controls (a bidi override in a
    # name would reverse what follows it) are dropped.
    assert clean_text("  two\n\nlines\tand\r\nmore ") == "two lines and more"
    assert clean_text("Eve\u202e evil\u2066") == "Eve evil"
    assert clean_text("a\x00b\x1b[31m") == "ab[31m"


# --- WebVTT -------------------------------------------------------------------------------

_TIMING = re.compile(
    r"^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$"
)
_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
_PAYLOAD = re.compile(r"(?:<v [^<>\n]+>)?[^<>\n]+")


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    """Check the WebVTT syntax we produce and return the cues (start, end, payload)."""
    assert text.startswith("WEBVTT\n"), "a WebVTT file starts with its signature line"
    assert "\r" not in text
    blocks = text.split("\n\n")
    assert blocks[0] == "WEBVTT"
    cues = []
    for block in blocks[1:]:
        if not block.strip():
            continue
        lines = block.strip("\n").split("\n")
        match = _TIMING.match(lines[0])
        assert match, f"bad cue timing line {lines[0]!r}"
        numbers = [int(g) for g in match.groups()]
        start = numbers[0] * 3600 + numbers[1] * 60 + numbers[2] + numbers[3] / 1000
        end = numbers[4] * 3600 + numbers[5] * 60 + numbers[6] + numbers[7] / 1000
        assert end > start, "a cue ends after it starts"
        payload = "\n".join(lines[1:])
        assert payload, "a cue has text"
        assert "-->" not in payload
        assert _PAYLOAD.fullmatch(payload), f"unexpected markup in {payload!r}"
        assert not _ENTITY.search(payload), f"unescaped & in {payload!r}"
        cues.append((start, end, payload))
    starts = [c[0] for c in cues]
    assert starts == sorted(starts), "cues are in order of their start"
    return cues


def test_webvtt_is_valid_and_escapes_names_and_text() -> None:
    log, clock = transcript()
    clock.at(1)
    log.add(seg("1", "<script>alert('x')</script> & co --> done", name="Bob <script>&"))
    clock.at(5)
    log.add(seg("2", "Tom & Jerry <3", identity="tom", name="Tom"))
    vtt = to_webvtt(log.entries(), START)
    cues = parse_vtt(vtt)
    assert [c[2] for c in cues] == [
        "<v Bob &lt;script&gt;&amp;>&lt;script&gt;alert('x')&lt;/script&gt; &amp; co --&gt; done",
        "<v Tom>Tom &amp; Jerry &lt;3",
    ]
    assert "<script" not in vtt


def test_webvtt_cue_times() -> None:
    log, clock = transcript()
    # First seen 0.5 s in, final at 2 s; the next starts at 3 s: the cue ends there.
    clock.at(0.5)
    log.add(seg("1", "one", final=False))
    clock.at(2)
    log.add(seg("1", "one."))
    clock.at(3)
    log.add(seg("2", "two", identity="bob", name="Bob"))
    # Final at 3 s, nothing until 20 s: the cue stays CUE_LINGER_S after, no more.
    clock.at(20)
    log.add(seg("3", "three", final=False))
    clock.at(22)
    log.add(seg("4", "four"))  # began before "three" was final: they overlap
    clock.at(23)
    log.add(seg("3", "three."))
    clock.at(3725.25)
    log.add(seg("5", "much later"))
    cues = parse_vtt(to_webvtt(log.entries(), START))
    assert [(c[0], c[1]) for c in cues] == [
        (0.5, 3.0),
        (3.0, 3.0 + CUE_LINGER_S),
        (20.0, 23.0),  # "three" was being spoken until 23 s, over "four"'s start
        (22.0, 22.0 + CUE_LINGER_S),
        (3725.25, 3725.25 + CUE_LINGER_S),
    ]
    assert "01:02:05.250 --> 01:02:08.250" in to_webvtt(log.entries(), START)


def test_webvtt_takes_final_segments_unless_asked() -> None:
    log, clock = transcript()
    log.add(seg("1", "done"))
    clock.at(1)
    log.add(seg("2", "still talk", final=False))
    assert [c[2] for c in parse_vtt(to_webvtt(log.entries(), START))] == ["<v Alice>done"]
    with_interim = parse_vtt(to_webvtt(log.entries(), START, include_interim=True))
    assert [c[2] for c in with_interim] == ["<v Alice>done", "<v Alice>still talk"]
    assert to_webvtt([], START) == "WEBVTT\n"


def test_webvtt_keeps_cues_in_order_when_the_wall_clock_steps_back() -> None:
    log, clock = transcript()
    clock.at(10)
    log.add(seg("1", "before"))
    clock.at(4)  # NTP stepped the clock back
    log.add(seg("2", "after"))
    cues = parse_vtt(to_webvtt(log.entries(), START))
    assert [c[2] for c in cues] == ["<v Alice>before", "<v Alice>after"]
    # And an entry before time zero starts at zero.
    assert parse_vtt(to_webvtt(log.entries(), START + 100))[0][0] == 0.0


def test_webvtt_without_a_speaker_has_no_voice() -> None:
    log, _ = transcript()
    log.add(seg("1", "who said that", identity="", name=""))
    assert parse_vtt(to_webvtt(log.entries(), START))[0][2] == "who said that"


# --- text ---------------------------------------------------------------------------------


def test_text_export_lines() -> None:
    log, clock = transcript()
    clock.at(1)
    log.add(seg("1", "Bonjour\nà tous"))
    clock.at(65)
    log.add(seg("2", "half a sent", final=False, identity="bob", name="Bob"))
    clock.at(70)
    log.add(seg("3", "<b>Salut</b>", identity="bob", name="Bob"))
    stamp1 = time.strftime("%H:%M:%S", time.localtime(START + 1))
    stamp3 = time.strftime("%H:%M:%S", time.localtime(START + 70))
    assert to_text(log.entries()) == (
        f"[{stamp1}] Alice: Bonjour à tous\n[{stamp3}] Bob: <b>Salut</b>\n"
    )
    assert "half a sent" in to_text(log.entries(), include_interim=True)
    assert clock_time(START + 1) == stamp1
    assert to_text([]) == ""


# --- search -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("La réunion commence", "reunion"),
        ("La reunion commence", "réunion"),
        ("LA RÉUNION", "Réunion"),
        ("Straße", "strasse"),
        ("ﬁnal", "final"),
        ("deux   espaces", "deux espaces"),
        ("Ça va ?", "ca va"),
    ],
)
def test_search_ignores_case_and_accents(text: str, query: str) -> None:
    log, _ = transcript()
    log.add(seg("1", text))
    log.add(seg("2", "autre chose"))
    assert [e.text for e in log.search(query)] == [clean_text(text)]


def test_search_matches_speakers_and_returns_entries_in_order() -> None:
    log, _ = transcript()
    log.add(seg("1", "one", identity="zoe", name="Zoé"))
    log.add(seg("2", "two"))
    log.add(seg("3", "three", identity="zoe", name="Zoé", final=False))
    found = log.search("zoe")
    assert [e.id for e in found] == ["1", "3"]
    assert all(isinstance(e, TranscriptEntry) for e in found)
    assert len(log.search("")) == 3
    assert log.search("nothing like it") == []
    assert fold("Élan  VITAL") == "elan vital"
