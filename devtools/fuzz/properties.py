"""Property-based fuzzing (hypothesis): structured inputs, stronger properties.

The byte targets check what must hold after any input (no undocumented exception,
caps, a stream only ever reported for its own sender).  Here the inputs are valid
messages, so the properties can say more: a stream is assembled exactly whatever
other senders interleave, the participant list follows the server's updates as a
reference model says, the assembler's caps hold against many senders.

Every message is fed through its wire form (serialised, then parsed by the
client), so a failing example is also an input of a byte target: each finding
carries that input in hex, replayable with ``targets.run_alone``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.reporting import with_reporter
from livekit.protocol import models, rtc

from devtools.fuzz import findings as fnd
from devtools.fuzz import inputs, targets
from devtools.fuzz import messages as m
from devtools.fuzz import strategies as s
from devtools.fuzz.timing import HANG_S, InputTimer, is_hang

#: Distinct failures one property may report before it stops.
MAX_ROUNDS = 8
#: Decides from its signature whether a finding is a known, already reported bug
#: (tests use it to keep checking everything else); ``make fuzz`` tolerates nothing.
Tolerate = Callable[[str], bool]


def tolerate_nothing(_signature: str) -> bool:
    return False


class Feed:
    """One example's harness, fed through the wire form, remembering what it fed."""

    def __init__(self, target: str, tolerate: Tolerate) -> None:
        self.target = target
        self.harness = targets.RoomHarness()
        self.frames: list[tuple[int, bytes]] = []
        self.tolerate = tolerate
        self.restarts = 0

    def _guard(self, action: Callable[[], None]) -> bool:
        """Run one delivery; False when a tolerated bug forced a fresh harness."""
        try:
            action()
        except Exception as exc:
            if not self.tolerate(fnd.signature_of(exc)):
                raise
            self.harness = targets.RoomHarness()
            self.restarts += 1
            return False
        return True

    def packet(self, packet: models.DataPacket) -> bool:
        data = packet.SerializeToString()
        self.frames.append((inputs.ctl_for(None), data))
        return self._guard(lambda: self.harness.data_frame(data))

    def signal(self, response: rtc.SignalResponse) -> bool:
        data = response.SerializeToString()
        self.frames.append((0, data))
        return self._guard(lambda: self.harness.signal_frame(data))

    def rejoin(self, join: rtc.JoinResponse) -> bool:
        self.frames.append((0, rtc.SignalResponse(join=join).SerializeToString()))
        return self._guard(lambda: self.harness.rejoin(join))

    def raw(self, payload: bytes, action: Callable[[], None]) -> bool:
        self.frames = [(0, payload)]
        return self._guard(action)

    def reproducer(self) -> bytes:
        """The byte-target input that replays this example."""
        if self.target in ("chat_json", "ice"):
            return self.frames[0][1] if self.frames else b""
        return inputs.join_frames(self.frames)


# --- the properties --------------------------------------------------------------------


def any_packets(packets: list[models.DataPacket], feed: Feed) -> None:
    """Any mix of valid packets: the harness's checks hold after every one."""
    for packet in packets:
        feed.packet(packet)


SOLO_ID = "solo-stream"  # not in the pools: only the stream under test uses it


def _solo_case(draw: st.DrawFn) -> tuple[str, str, list[models.DataPacket]]:
    sender = draw(s.senders)
    text = draw(st.text(max_size=60))
    data = text.encode("utf-8")
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    own = [m.stream_header(SOLO_ID, sender, "lk.chat", total_length=len(data))]
    own += [m.stream_chunk(SOLO_ID, sender, i, piece) for i, piece in enumerate(pieces)]
    own.append(m.stream_trailer(SOLO_ID, sender))
    # Others may use the same stream id; the sender's session sends nothing else on
    # streams, so the stream under test is never extended nor dropped as the oldest.
    noise = draw(st.lists(s.data_packets | s.stream_chunks.map(_retarget), max_size=20))
    noise = [p for p in noise if not _same_session(p, sender)]
    slots = draw(st.lists(st.integers(0, len(own)), min_size=len(noise), max_size=len(noise)))
    merged: list[models.DataPacket] = []
    for index, packet in enumerate(own):
        merged += [n for n, slot in zip(noise, slots, strict=True) if slot == index]
        merged.append(packet)
    merged += [n for n, slot in zip(noise, slots, strict=True) if slot == len(own)]
    return sender, text, merged


def _retarget(packet: models.DataPacket) -> models.DataPacket:
    packet.stream_chunk.stream_id = SOLO_ID
    return packet


def _same_session(packet: models.DataPacket, sender: str) -> bool:
    """Stream packets the assembler would take as the sender's own (by identity or sid)."""
    kind = packet.WhichOneof("value")
    if kind is None or not kind.startswith("stream_"):
        return False
    sid = m.SESSION_OF.get(sender, "")
    return packet.participant_identity == sender or (bool(sid) and packet.participant_sid == sid)


solo_streams = st.composite(_solo_case)()


def solo_stream_survives_interleaving(
    case: tuple[str, str, list[models.DataPacket]], feed: Feed
) -> None:
    """A sender's chat stream arrives exactly, whatever others send in between."""
    sender, text, packets = case
    for packet in packets:
        if not feed.packet(packet):
            return  # a tolerated bug reset the room: nothing more to check here
    received = [(who, body) for mid, who, body in feed.harness.chat_messages() if mid == SOLO_ID]
    if received[:1] != [(sender, text)]:
        raise fnd.FuzzFinding(
            "property: a stream not assembled exactly",
            f"sent {text!r} as {sender!r}, chat holds {received!r}",
        )


many_headers = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 100), s.topics),
    max_size=300,
)


def stream_caps_hold(headers: list[tuple[int, int, str]], feed: Feed) -> None:
    """Many senders opening many streams: the assembler's caps hold (checked per packet)."""
    for sender, stream, topic in headers:
        feed.packet(m.stream_header(f"s-{stream}", f"peer-{sender}", topic))


many_segments = st.lists(
    st.tuples(st.integers(0, 500).map(lambda n: f"SG_{n}"), s.short_text, st.booleans()),
    max_size=400,
)


def caption_cap_holds(segments: list[tuple[str, str, bool]], feed: Feed) -> None:
    """One transcription packet with hundreds of segments: the captions keep their cap."""
    feed.packet(m.transcription(m.AGENT, m.ALICE_MIC, segments))


def _apply_reference(
    reference: dict[str, tuple[str, frozenset[str]]],
    infos: list[models.ParticipantInfo],
    local_identity: str,
) -> None:
    """What the server's participant updates mean, as a model of the room's list."""
    for info in infos:
        if info.identity == local_identity:
            continue
        current = reference.get(info.identity)
        if info.state == models.ParticipantInfo.DISCONNECTED:
            if current is not None and current[0] == info.sid:
                del reference[info.identity]
            continue
        reference[info.identity] = (info.sid, frozenset(t.sid for t in info.tracks))


def participants_follow_updates(
    case: tuple[rtc.JoinResponse | None, list[rtc.SignalResponse]], feed: Feed
) -> None:
    """The remote participant list is what the join and updates say, message by message."""
    join, responses = case

    def fresh_reference() -> dict[str, tuple[str, frozenset[str]]]:
        return feed.harness.participants()

    reference = fresh_reference()
    if join is not None:
        if join.participant.identity != feed.harness.local_identity:
            reference = {}  # another identity: a fresh room (see RoomHarness.rejoin)
        present = {info.identity for info in join.other_participants}
        reference = {k: v for k, v in reference.items() if k in present}
        _apply_reference(reference, list(join.other_participants), join.participant.identity)
        if not feed.rejoin(join):
            reference = fresh_reference()
    for response in responses:
        rooms = feed.harness.rooms_started
        if not feed.signal(response):
            reference = fresh_reference()
            continue
        if feed.harness.rooms_started != rooms:
            reference = fresh_reference()  # the server sent us away: a fresh room
            continue
        if response.WhichOneof("message") == "update":
            _apply_reference(
                reference, list(response.update.participants), feed.harness.local_identity
            )
        actual = feed.harness.participants()
        if actual != reference:
            raise fnd.FuzzFinding(
                "property: the participant list does not follow the updates",
                f"expected {reference!r}, room has {actual!r}",
            )


def chat_json_is_handled(payload: bytes, feed: Feed) -> None:
    """Any legacy chat payload: decoded or refused, never an exception."""
    feed.raw(payload, lambda: feed.harness.chat_json(payload))


def ice_candidates_are_handled(text: str, feed: Feed) -> None:
    """Any candidateInit: a candidate, None, or one of the documented errors."""
    feed.raw(text.encode("utf-8"), lambda: targets.ice_candidate(text))


@dataclass(frozen=True)
class Property:
    name: str
    #: The byte target whose input format replays a failing example.
    target: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any, Feed], None]


PROPERTIES = (
    Property("packets", "data", s.packet_sequences, any_packets),
    Property("solo_stream", "data", solo_streams, solo_stream_survives_interleaving),
    Property("stream_caps", "data", many_headers, stream_caps_hold),
    Property("caption_cap", "data", many_segments, caption_cap_holds),
    Property("participants", "signal", s.signal_sequences, participants_follow_updates),
    Property("chat_json", "chat_json", s.chat_payloads, chat_json_is_handled),
    Property("ice", "ice", s.candidate_inits, ice_candidates_are_handled),
)
BY_NAME = {prop.name: prop for prop in PROPERTIES}


# --- running them ----------------------------------------------------------------------


def _slow_example(
    prop: Property, feed: Feed, elapsed: float, cpu: float, result: PropertyResult
) -> None:
    """Over 1 s: a hang if it was the CPU or it is slow again alone, else a busy machine."""
    reproducer = feed.reproducer()
    again = targets.timed_replay(prop.target, reproducer, 2, warm_up=False)
    hang = is_hang(cpu, again)
    if hang:
        result.hangs += 1
    else:
        result.stalls += 1
    result.findings.append(
        fnd.Finding(
            prop.target,
            "hang" if hang else "stall",
            f"slow {prop.name} example",
            f"{elapsed:.2f} s ({cpu:.2f} s of CPU outside GC, {again:.2f} s alone)",
            reproducer.hex(),
            seconds=round(elapsed, 3),
        )
    )


@dataclass
class PropertyResult:
    name: str
    examples: int = 0
    crashes: int = 0
    hangs: int = 0
    stalls: int = 0
    seconds: float = 0.0
    tolerated: int = 0
    findings: list[fnd.Finding] = field(default_factory=list)


def run_property(
    prop: Property,
    examples: int,
    *,
    tolerate: Tolerate = tolerate_nothing,
    derandomize: bool = False,
) -> PropertyResult:
    """Run about ``examples`` examples; each distinct (shrunk) failure becomes a finding.

    Hypothesis stops at the first failing example.  To find more than one bug per
    property, each failure's signature is then tolerated and the property runs on
    for the examples left, up to ``MAX_ROUNDS`` failures.
    """
    result = PropertyResult(prop.name)
    found: set[str] = set()
    started = time.monotonic()

    def tolerated(signature: str) -> bool:
        return signature in found or tolerate(signature)

    with targets.captured_client_logs(), with_reporter(lambda _text: None):
        for _ in range(MAX_ROUNDS):
            left = examples - result.examples
            if left <= 0:
                break
            finding = _run_once(prop, left, tolerated, derandomize, result)
            if finding is None:
                break
            found.add(finding.signature)
            result.crashes += 1
            result.findings.append(finding)
    result.seconds = round(time.monotonic() - started, 2)
    return result


def _run_once(
    prop: Property,
    examples: int,
    tolerate: Tolerate,
    derandomize: bool,
    result: PropertyResult,
) -> fnd.Finding | None:
    last: list[Feed] = []
    timer = InputTimer()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(prop.strategy)
    def check(value: Any) -> None:
        result.examples += 1
        feed = Feed(prop.target, tolerate)
        last[:] = [feed]
        timer.start()
        try:
            prop.check(value, feed)
        finally:
            result.tolerated += feed.restarts
            elapsed, cpu = timer.stop()
            if elapsed > HANG_S:
                _slow_example(prop, feed, elapsed, cpu, result)

    try:
        check()
    except Exception as exc:
        # Hypothesis notes the shrunk example on the exception; the hex input replays it.
        example = " ".join(getattr(exc, "__notes__", ()))
        return fnd.Finding(
            prop.target,
            "crash",
            fnd.signature_of(exc),
            f"{fnd.describe(exc)} [property {prop.name}] {example[:1000]}",
            last[0].reproducer().hex() if last else "",
        )
    finally:
        timer.close()
    return None
