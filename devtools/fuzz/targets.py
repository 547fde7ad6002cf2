"""Every call the fuzzers make into the client, and the properties they check.

This is the only module of ``devtools.fuzz`` that imports ``client``: when the
client's internals move, this is the one place to adapt.  The calls follow what
the running client does with bytes from the network:

* a signaling frame is parsed by ``SignalClient._parse`` (which counts garbage),
  pongs go to ``SignalClient._handle_pong``, and every other message goes through
  ``route_signal`` to the engine (``Engine.on_*``) or the room (``Room.on_*``), as
  ``Engine._on_signal`` does; offers and answers need live PeerConnections (SDP
  is aiortc's parser) and stop at the parse; a trickle's ``candidateInit`` goes
  to ``parse_candidate_init``, which the live engine calls on its transports;
* a data packet is parsed by ``parse_data_packet``, as the engine's data channel
  handler does, and given to ``Room.on_data_packet``, with the ``Chat`` and
  ``Captions`` models attached;
* JSON payloads go to ``client.chat.decode_json`` and, inside a legacy chat
  packet, through the chat model.

The room never connects: it gets a join snapshot through ``Room.on_joined`` (from
the input when its first frame is a join), and the engine it is given is never
started nor held by the room, so a server asking it to reconnect cannot make it
dial out.  When the server makes it give up (a leave), the harness starts a fresh
room for the rest of the input.

A bug is reported by letting an exception escape, as fuzzers expect: an exception
the client does not document, or a ``FuzzFinding`` for a broken property.  The
room's event emitter and task helpers log and swallow exceptions (raised by the
chat and caption models, or by a background task); those error records are
turned back into findings, so nothing is hidden.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from google.protobuf.message import DecodeError
from livekit.protocol import models, rtc

from client.captions import MAX_SEGMENTS, Captions, CaptionUpdated
from client.chat import MAX_MESSAGES, Chat, ChatMessageReceived, decode_json
from client.livekit import events as ev
from client.livekit import vp9_depacketizer
from client.livekit.data_packets import parse_data_packet
from client.livekit.data_streams import MAX_OPEN_STREAMS, MAX_OPEN_STREAMS_PER_SENDER
from client.livekit.engine import Engine, EngineOptions
from client.livekit.pc_transport import parse_candidate_init
from client.livekit.room import Room, RoomOptions
from client.livekit.signal_client import SignalClient
from client.livekit.signal_messages import route_signal
from devtools.fuzz import inputs
from devtools.fuzz import messages as m
from devtools.fuzz.findings import FuzzFinding, frame_signature

#: What ``parse_candidate_init`` may raise: the errors its tests document as handled
#: (its caller, ``PCTransport.add_candidate``, logs any Exception and goes on).
ICE_DOCUMENTED_ERRORS: tuple[type[Exception], ...] = (ValueError, KeyError, IndexError, TypeError)
#: Signaling messages that need negotiated PeerConnections (SDP is aiortc's parser).
_NEEDS_PEER_CONNECTIONS = frozenset({"offer", "answer"})
_PONGS = frozenset({"pong", "pong_resp"})

CLIENT_LOGGER = "client"


# --- logs: what the room swallows must still be seen ---------------------------------------


class _ErrorCapture(logging.Handler):
    """Keeps the client's error records (logged exceptions) until the harness looks."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.installed = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_capture = _ErrorCapture()


@contextlib.contextmanager
def captured_client_logs() -> Iterator[None]:
    """Silence the client's warnings (one per garbage input) and capture its errors.

    The targets refuse to run outside this: the per-input cost of changing logger
    levels is too high, so it is entered once per process (or per property).  It
    nests: only the outermost use configures and restores the logger.
    """
    logger = logging.getLogger(CLIENT_LOGGER)
    saved = (logger.level, logger.propagate)
    outermost = _capture.installed == 0
    if outermost:
        logger.setLevel(logging.ERROR)
        logger.propagate = False
        logger.addHandler(_capture)
    _capture.installed += 1
    try:
        yield
    finally:
        _capture.installed -= 1
        if outermost:
            logger.removeHandler(_capture)
            logger.setLevel(saved[0])
            logger.propagate = saved[1]
            _capture.records.clear()


def _raise_logged_errors() -> None:
    if not _capture.records:
        return
    record = _capture.records[0]
    _capture.records.clear()
    message = record.getMessage()
    if record.exc_info is not None and record.exc_info[0] is not None:
        kind = record.exc_info[0].__name__
        # Same signature as when the exception escapes: one bug, one line.
        signature = frame_signature(kind, record.exc_info[2])
        raise FuzzFinding(signature, f"swallowed and logged: {message}: {record.exc_info[1]!r}")
    raise FuzzFinding(f"error logged by {record.name}", message)


# --- the event loop the async handlers run on ------------------------------------------------

_loop: asyncio.AbstractEventLoop | None = None


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """One loop per process; the handlers rarely suspend, so this stays cheap."""
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    _loop.run_until_complete(coroutine)


# --- the room under test -----------------------------------------------------------------


class RoomHarness:
    """A never-connected room with its chat and captions, checked after every message."""

    def __init__(self, join: rtc.JoinResponse | None = None) -> None:
        if not _capture.installed:
            raise RuntimeError("run fuzz targets inside targets.captured_client_logs()")
        self.rooms_started = 0
        self._start(join or m.join_response())

    def _start(self, join: rtc.JoinResponse) -> None:
        self.rooms_started += 1
        self.room = Room(RoomOptions(ice_servers=[], reconnect=False))
        # An engine that is never connected: it routes signaling as a live one does,
        # and the room does not hold it, so nothing can dial out.
        self.engine = Engine(self.room, EngineOptions(ice_servers=[]))
        self.signal = SignalClient(_no_message, _no_close)
        self._violations: list[tuple[str, str]] = []  # (signature, detail)
        # (identity, session sid) the server stamped on the data packet being handled.
        self._sender: tuple[str, str] | None = None
        self._kind: str | None = None
        # stream id -> (identity, sid) of every header delivered for it.
        self._headers: dict[str, set[tuple[str, str]]] = {}
        self._finals: set[str] = set()  # segment ids final before the caption update
        events = self.room.events
        # Registered before the models, so these run before the models see the event.
        events.on(ev.TranscriptionReceived, self._snapshot_finals)
        events.on(ev.TextStreamUpdated, self._snapshot_finals)
        events.on(ev.TextStreamUpdated, self._check_stream_sender)
        self.chat = Chat(self.room)
        self.captions = Captions(self.room)
        events.on(ChatMessageReceived, self._check_chat_sender)
        events.on(CaptionUpdated, self._check_caption_finality)
        # As Room.connect does around the engine's join.
        self.room.state = ev.ConnectionState.CONNECTING
        self.room.on_joined(self.engine, join)
        self.room.state = ev.ConnectionState.CONNECTED

    # --- inputs ---------------------------------------------------------------------------

    def signal_frame(self, data: bytes) -> None:
        """One binary WebSocket frame from the signaling server."""
        before = self.signal.garbage_frames
        response = self.signal._parse(data)
        counted = self.signal.garbage_frames - before
        if (response is None) != (counted == 1) or counted > 1:
            raise FuzzFinding("garbage count", f"parse gave {response!r}, counted {counted}")
        if response is None:
            return
        kind = response.WhichOneof("message")
        if kind in _PONGS:
            self.signal._handle_pong(response)
        elif kind == "trickle":
            self.ice_candidate(response.trickle.candidateInit)
        elif kind not in _NEEDS_PEER_CONNECTIONS:
            _run(route_signal(response, self.engine, self.room))
        self._after_message()

    def data_frame(self, data: bytes, identity: str | None = None, sid: str | None = None) -> None:
        """One data channel message; ``identity`` and ``sid`` stand for the server's stamp."""
        packet = parse_data_packet(data)
        if packet is None:
            return
        if identity is not None:
            packet.participant_identity = identity
        if sid is not None:
            packet.participant_sid = sid
        self.deliver(packet)

    def deliver(self, packet: models.DataPacket) -> None:
        """A parsed data packet, as the engine hands it to the room."""
        self._sender = (packet.participant_identity, packet.participant_sid)
        self._kind = packet.WhichOneof("value")
        if self._kind == "stream_header":
            opened = self._headers.setdefault(packet.stream_header.stream_id, set())
            opened.add(self._sender)
        try:
            self.room.on_data_packet(packet)
        finally:
            self._sender = self._kind = None
        self._after_message()

    def chat_json(self, payload: bytes, sender: str = m.ALICE) -> None:
        """A legacy chat payload: the decoder's contract, then the whole chat path."""
        value = decode_json(payload)
        if value is not None and not isinstance(value, dict):
            raise FuzzFinding("decode_json type", f"returned {type(value).__name__}")
        self.deliver(m.user_packet(sender, m.LEGACY_CHAT_TOPIC, payload))

    @staticmethod
    def ice_candidate(candidate_init: str) -> None:
        ice_candidate(candidate_init)

    def rejoin(self, join: rtc.JoinResponse) -> None:
        """A join snapshot after a rejoin, as Room._reconnect gets it from a new engine.

        A rejoin keeps our identity (it is in our token); a join under another
        identity is another connection, so it gets a fresh room.
        """
        if join.participant.identity != self.room.local_participant.identity:
            self._start(join)
        else:
            self.room.state = ev.ConnectionState.RECONNECTING
            self.room.on_joined(self.engine, join)
            self.room.state = ev.ConnectionState.CONNECTED
        self._after_message()

    def _after_message(self) -> None:
        self._check()
        # A room the server sent away gets no more messages: start a fresh one.
        if self.room.state == ev.ConnectionState.DISCONNECTED:
            self._start(m.join_response())

    # --- what the harness can see ---------------------------------------------------------

    def chat_messages(self) -> list[tuple[str, str, str]]:
        """(id, sender identity, text) of every chat message kept."""
        return [(msg.id, msg.sender_identity, msg.text) for msg in self.chat.messages]

    @property
    def local_identity(self) -> str:
        return self.room.local_participant.identity

    def participants(self) -> dict[str, tuple[str, frozenset[str]]]:
        """identity -> (sid, published track sids) of every remote participant."""
        return {
            identity: (p.sid, frozenset(p.track_publications))
            for identity, p in self.room.remote_participants.items()
        }

    # --- properties -----------------------------------------------------------------------

    def _snapshot_finals(self, _event: ev.Event) -> None:
        self._finals = {sid for sid, seg in self.captions.segments.items() if seg.final}

    def _openers(self, stream_id: str) -> list[tuple[str, str]]:
        """Headers of ``stream_id`` sent in the session of the packet being handled.

        The session is the sid the server stamps (an agent writes a stream on
        someone's behalf: the header names them, the chunks come as the agent,
        the sid is the agent's); a stream opened without a sid goes by identity.
        """
        if self._sender is None:
            return []
        identity, sid = self._sender
        return [
            (opener, opener_sid)
            for opener, opener_sid in self._headers.get(stream_id, ())
            if (sid == opener_sid if opener_sid else identity == opener)
        ]

    def _check_stream_sender(self, event: ev.TextStreamUpdated) -> None:
        if self._sender is None:
            return
        if event.stream_id not in self._headers:
            self._violations.append(
                (
                    "property: a stream without a header",
                    f"stream {event.stream_id!r} reported for {event.sender_identity!r}",
                )
            )
        elif event.sender_identity not in {who for who, _ in self._openers(event.stream_id)}:
            self._violations.append(
                (
                    "property: a stream updated by another sender",
                    f"stream {event.stream_id!r} of {event.sender_identity!r} updated by "
                    f"a packet from {self._sender!r}; headers from "
                    f"{sorted(self._headers[event.stream_id])!r}",
                )
            )

    def _check_chat_sender(self, event: ChatMessageReceived) -> None:
        """A chat message is attributed to who sent it (a stream's: who opened it)."""
        message = event.message
        if self._sender is None:
            return
        if self._kind is not None and self._kind.startswith("stream_"):
            allowed = {who for who, _ in self._openers(message.id)}
        else:
            allowed = {self._sender[0]}
        if message.sender_identity not in allowed:
            self._violations.append(
                (
                    "property: a chat message attributed to someone else",
                    f"chat message {message.id!r} attributed to {message.sender_identity!r}, "
                    f"sent by {self._sender!r}",
                )
            )

    def _check_caption_finality(self, event: CaptionUpdated) -> None:
        segment = event.segment
        if segment.id in self._finals and not segment.final:
            self._violations.append(
                ("property: a final caption back to interim", f"caption {segment.id!r}")
            )
        if segment.final:
            self._finals.add(segment.id)

    def _check(self) -> None:
        _raise_logged_errors()
        if self._violations:
            signature, detail = self._violations[0]
            self._violations.clear()
            raise FuzzFinding(signature, detail)
        room = self.room
        assembler = room.text_streams
        if assembler.open_streams > MAX_OPEN_STREAMS:
            raise FuzzFinding("cap: open streams", f"{assembler.open_streams} open")
        per_sender: dict[str, int] = {}
        for stream in assembler._open.values():
            owner = stream.sender_sid or stream.sender_identity  # as the assembler counts
            per_sender[owner] = per_sender.get(owner, 0) + 1
        if per_sender and max(per_sender.values()) > MAX_OPEN_STREAMS_PER_SENDER:
            raise FuzzFinding("cap: open streams per sender", repr(per_sender))
        if len(self.chat.messages) > MAX_MESSAGES:
            raise FuzzFinding("cap: chat messages", f"{len(self.chat.messages)} kept")
        if len(self.captions.segments) > MAX_SEGMENTS:
            raise FuzzFinding("cap: caption segments", f"{len(self.captions.segments)} kept")
        local = room.local_participant
        for identity, participant in room.remote_participants.items():
            if participant.identity != identity or identity == local.identity:
                raise FuzzFinding("model: participant key", f"{identity!r}")
        members = {id(local), *(id(p) for p in room.remote_participants.values())}
        if any(id(speaker) not in members for speaker in room.active_speakers):
            raise FuzzFinding("model: speaker", "an active speaker is not in the room")


async def _no_message(_response: rtc.SignalResponse) -> None:
    raise AssertionError("the fuzz signal client never dispatches")


def _no_close(_reason: str) -> None:
    raise AssertionError("the fuzz signal client never closes")


def ice_candidate(candidate_init: str) -> None:
    """A trickle's candidateInit: only the documented errors may come out."""
    try:
        parse_candidate_init(candidate_init)
    except ICE_DOCUMENTED_ERRORS:
        return


# --- byte targets (atheris) ----------------------------------------------------------------
#
# A fuzzer calls a target hundreds of thousands of times; building and joining a room
# costs more than most inputs, so a session keeps one harness for many inputs (and the
# long-lived state is what the memory caps are about).  Every finding is replayed on
# a fresh harness, which says whether the input alone reproduces it.

#: Inputs a harness lives for before a fresh one: long enough to fill the caps,
#: short enough that the participant list the fuzzer invents stays small.
RESET_EVERY = 2000


def fuzz_signal(harness: RoomHarness, data: bytes) -> None:
    """Signaling frames; a first frame holding a join is applied as a (re)join."""
    frames = inputs.split_frames(data)
    if frames:
        first = rtc.SignalResponse()
        with contextlib.suppress(DecodeError):
            first.ParseFromString(frames[0][1])
            if first.WhichOneof("message") == "join":
                harness.rejoin(first.join)
                frames = frames[1:]
    for _ctl, payload in frames:
        harness.signal_frame(payload)


def fuzz_data(harness: RoomHarness, data: bytes) -> None:
    """Data channel messages, each optionally re-stamped with a sender and sid from the pools."""
    for ctl, payload in inputs.split_frames(data):
        harness.data_frame(payload, *inputs.sender_override(ctl))


def fuzz_streams(harness: RoomHarness, data: bytes) -> None:
    """Scripted valid packets: stream pieces, transcriptions, chat, from any sender."""
    for op in inputs.decode_script(data):
        harness.deliver(inputs.packet_of(op))


def fuzz_chat_json(harness: RoomHarness, data: bytes) -> None:
    """One legacy chat payload."""
    harness.chat_json(data)


def fuzz_ice(_harness: RoomHarness, data: bytes) -> None:
    """One candidateInit (a protobuf string: always valid Unicode)."""
    ice_candidate(data.decode("utf-8", errors="replace"))


def vp9_payloads(data: bytes) -> None:
    """A picture's RTP payloads as the depayloader framed them (2-byte lengths): each
    descriptor, the keyframe test and the picture assembly may refuse the input with
    ``Vp9FormatError`` only (the decoder then asks for a keyframe)."""
    try:
        payloads = vp9_depacketizer.split_chunks(data)
    except vp9_depacketizer.Vp9FormatError:
        return
    for payload in payloads:
        with contextlib.suppress(vp9_depacketizer.Vp9FormatError):
            vp9_depacketizer.parse_descriptor(payload)
        with contextlib.suppress(vp9_depacketizer.Vp9FormatError):
            vp9_depacketizer.packet_starts(payload)
    with contextlib.suppress(vp9_depacketizer.Vp9FormatError):
        picture = vp9_depacketizer.assemble_picture(payloads)
        vp9_depacketizer.superframe_frames(picture.data)


def fuzz_vp9(_harness: RoomHarness, data: bytes) -> None:
    """One VP9 picture's payloads (video from web clients)."""
    vp9_payloads(data)


ByteTarget = Callable[[RoomHarness, bytes], None]

TARGETS: dict[str, ByteTarget] = {
    "signal": fuzz_signal,
    "data": fuzz_data,
    "streams": fuzz_streams,
    "chat_json": fuzz_chat_json,
    "ice": fuzz_ice,
    "vp9": fuzz_vp9,
}


class FuzzSession:
    """One target as a fuzzer drives it: a long-lived harness, renewed now and then."""

    def __init__(self, target: str, reset_every: int = RESET_EVERY) -> None:
        self.target = target
        self._feed = TARGETS[target]
        self._reset_every = reset_every
        self._harness: RoomHarness | None = None
        self._inputs = 0

    def __call__(self, data: bytes) -> None:
        if self._harness is None or self._inputs >= self._reset_every:
            self._harness = RoomHarness()
            self._inputs = 0
        self._inputs += 1
        try:
            self._feed(self._harness, data)
        except BaseException:
            self._harness = None  # a finding may leave the model half-updated
            raise

    def replay_alone(self, data: bytes) -> BaseException | None:
        """Run ``data`` on a fresh harness; the exception it raises, if any."""
        try:
            self._feed(RoomHarness(), data)
        except Exception as exc:
            return exc
        return None


def run_alone(target: str, data: bytes) -> None:
    """One input on a fresh harness (tests, reproducers)."""
    TARGETS[target](RoomHarness(), data)


def timed_replay(target: str, data: bytes, repeats: int = 3, *, warm_up: bool = True) -> float:
    """Best wall time of ``data`` alone on a fresh harness (after a warm-up on the seeds).

    A machine busy with other work can stretch one input past the timeout; a hang
    is an input that is slow every time, from a fresh start.
    """
    from devtools.fuzz import seeds  # only here: seeds are not needed to fuzz

    best = float("inf")
    with captured_client_logs():
        for seed in seeds.SEEDS[target]() if warm_up else ():
            run_alone(target, seed)
        for _ in range(repeats):
            start = time.perf_counter()
            with contextlib.suppress(Exception):
                run_alone(target, data)
            best = min(best, time.perf_counter() - start)
    return best
