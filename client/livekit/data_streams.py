"""LiveKit text streams: splitting outgoing text into packets, reassembling incoming.

A stream is a header, numbered chunks of at most 15000 bytes, and a trailer.  The
assembler accepts streams only on topics somebody listens to, checks that every
chunk and trailer comes from the participant that sent the header, and bounds
what a peer can make it hold: the size of a stream, the number of streams open
per sender and in all, and how long a stream may stay open.  Assembly is linear:
each chunk is decoded once, and the whole text is joined only when a listener
asks for it (at the end, or on every chunk for topics that show progress).
"""

from __future__ import annotations

import codecs
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from livekit.protocol import models

log = logging.getLogger(__name__)

MAX_CHUNK_BYTES = 15000
MAX_OPEN_STREAMS = 64
MAX_OPEN_STREAMS_PER_SENDER = 16
MAX_STREAM_BYTES = 4 * 1024 * 1024
#: Chunks arrive on an ordered channel; a few out of order is tolerated, not more.
MAX_PENDING_CHUNKS = 64
STREAM_IDLE_TIMEOUT_S = 30.0
STREAM_MAX_LIFETIME_S = 300.0
#: Ids of dropped streams remembered so their remaining chunks are ignored silently.
MAX_DROPPED_IDS = 256


def split_utf8(data: bytes, limit: int) -> list[bytes]:
    """Split UTF-8 bytes into pieces of at most ``limit`` bytes, never inside a character."""
    pieces: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        # Step back over continuation bytes (10xxxxxx) so a character stays whole.
        while end < len(data) and end > start and (data[end] & 0xC0) == 0x80:
            end -= 1
        if end == start:
            # The limit is smaller than this character: send it whole.
            end = start + 1
            while end < len(data) and (data[end] & 0xC0) == 0x80:
                end += 1
        pieces.append(data[start:end])
        start = end
    return pieces


def text_stream_packets(
    text: str,
    *,
    topic: str,
    attributes: dict[str, str] | None = None,
    stream_id: str | None = None,
    destination_identities: tuple[str, ...] = (),
    timestamp_ms: int | None = None,
) -> tuple[str, list[models.DataPacket]]:
    """Build the packets of one text stream; returns (stream_id, packets)."""
    stream_id = stream_id or str(uuid.uuid4())
    data = text.encode("utf-8")
    header = models.DataStream.Header(
        stream_id=stream_id,
        timestamp=timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
        topic=topic,
        mime_type="text/plain",
        total_length=len(data),
        attributes=attributes or {},
        text_header=models.DataStream.TextHeader(
            operation_type=models.DataStream.OperationType.CREATE
        ),
    )
    packets = [
        models.DataPacket(
            kind=models.DataPacket.RELIABLE,
            destination_identities=list(destination_identities),
            stream_header=header,
        )
    ]
    for index, piece in enumerate(split_utf8(data, MAX_CHUNK_BYTES)):
        packets.append(
            models.DataPacket(
                kind=models.DataPacket.RELIABLE,
                destination_identities=list(destination_identities),
                stream_chunk=models.DataStream.Chunk(
                    stream_id=stream_id, chunk_index=index, content=piece
                ),
            )
        )
    packets.append(
        models.DataPacket(
            kind=models.DataPacket.RELIABLE,
            destination_identities=list(destination_identities),
            stream_trailer=models.DataStream.Trailer(stream_id=stream_id),
        )
    )
    return stream_id, packets


@dataclass(frozen=True)
class TopicListener:
    """Who listens to a topic: with ``progress``, every chunk is reported."""

    progress: bool = False
    max_bytes: int = MAX_STREAM_BYTES


@dataclass
class IncomingTextStream:
    stream_id: str
    topic: str
    sender_identity: str
    attributes: dict[str, str]
    timestamp_ms: int
    total_length: int
    max_bytes: int = MAX_STREAM_BYTES
    #: The session that sent the header, as the server stamps it on every packet.
    #: The identity alone would not do: an agent writing on someone's behalf
    #: (captions) keeps that someone's identity on the header only.
    sender_sid: str = ""
    size: int = 0
    opened_at: float = field(default_factory=time.monotonic)
    last_activity: float = field(default_factory=time.monotonic)
    _next: int = 0
    _out_of_order: dict[int, bytes] = field(default_factory=dict)
    _pieces: list[str] = field(default_factory=list)
    _joined: str | None = ""
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )

    def add(self, index: int, content: bytes) -> bool:
        """Take one chunk; False if it is a duplicate or too far out of order."""
        if index < self._next or index in self._out_of_order:
            return False
        if index != self._next:
            if len(self._out_of_order) >= MAX_PENDING_CHUNKS:
                return False
            self._out_of_order[index] = content
            return True
        self._append(content)
        while self._next in self._out_of_order:
            self._append(self._out_of_order.pop(self._next))
        return True

    def _append(self, content: bytes) -> None:
        self._pieces.append(self._decoder.decode(content))
        self._next += 1
        self._joined = None

    def text(self) -> str:
        """Everything received so far (chunks after a gap are not shown yet)."""
        if self._joined is None:
            self._joined = "".join(self._pieces)
            # One piece from now on: the next join copies only what is new.
            self._pieces = [self._joined]
        # A stream still growing may end inside a character: show it as replaced.
        pending = self._decoder.getstate()[0]
        return self._joined + pending.decode("utf-8", errors="replace") if pending else self._joined

    def final_text(self) -> str:
        """The whole text at the trailer; chunks after a gap are kept, in order."""
        for index in sorted(self._out_of_order):
            self._pieces.append(self._decoder.decode(self._out_of_order.pop(index)))
            self._joined = None
        self._pieces.append(self._decoder.decode(b"", final=True))
        self._joined = None
        return self.text()


@dataclass(frozen=True)
class StreamProgress:
    stream: IncomingTextStream
    done: bool
    interrupted: bool = False
    #: The text so far: final at the trailer, growing for progress topics.
    text: str = ""


class TextStreamAssembler:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._open: OrderedDict[str, IncomingTextStream] = OrderedDict()
        self._listeners: dict[str, TopicListener] = {}
        self._dropped: OrderedDict[str, None] = OrderedDict()
        self.dropped_streams = 0

    @property
    def open_streams(self) -> int:
        return len(self._open)

    def listen(self, topic: str, listener: TopicListener | None = None) -> Callable[[], None]:
        """Accept streams on ``topic``; returns a function that stops listening."""
        self._listeners[topic] = listener or TopicListener()

        def stop() -> None:
            self._listeners.pop(topic, None)

        return stop

    def handle(self, packet: models.DataPacket) -> StreamProgress | None:
        kind = packet.WhichOneof("value")
        self._expire()
        sender = (packet.participant_identity, packet.participant_sid)
        if kind == "stream_header":
            return self._header(packet.stream_header, *sender)
        if kind == "stream_chunk":
            return self._chunk(packet.stream_chunk, sender)
        if kind == "stream_trailer":
            return self._trailer(packet.stream_trailer, sender)
        return None

    def _drop(self, stream_id: str, why: str, *args: object) -> None:
        """Forget a stream for good: one log line, later packets ignored silently."""
        self._open.pop(stream_id, None)
        self.dropped_streams += 1
        self._dropped[stream_id] = None
        if len(self._dropped) > MAX_DROPPED_IDS:
            self._dropped.popitem(last=False)
        log.warning("text stream %.64r dropped: " + why, stream_id, *args)

    def _header(
        self, header: models.DataStream.Header, sender: str, sender_sid: str
    ) -> StreamProgress | None:
        listener = self._listeners.get(header.topic)
        if listener is None:
            return None  # nobody shows this topic: nothing is kept
        if header.WhichOneof("content_header") != "text_header":
            return None  # byte streams (files) are not handled yet
        if header.encryption_type or header.compression:
            log.warning("ignoring an encrypted or compressed text stream on %.64r", header.topic)
            return None
        if (
            not header.stream_id
            or header.stream_id in self._open
            or header.stream_id in self._dropped
        ):
            return None  # a second header must not reset, steal or revive a stream
        if header.total_length > listener.max_bytes:
            self._drop(header.stream_id, "announced %d bytes", header.total_length)
            return None
        owner = sender_sid or sender
        mine = [s for s in self._open.values() if (s.sender_sid or s.sender_identity) == owner]
        if len(mine) >= MAX_OPEN_STREAMS_PER_SENDER:
            self._drop(mine[0].stream_id, "too many open streams from %.64r", sender)
        elif len(self._open) >= MAX_OPEN_STREAMS:
            self._drop(next(iter(self._open)), "too many open streams")
        now = self._clock()
        stream = IncomingTextStream(
            stream_id=header.stream_id,
            topic=header.topic,
            sender_identity=sender,
            sender_sid=sender_sid,
            attributes=dict(header.attributes),
            timestamp_ms=header.timestamp,
            total_length=header.total_length,
            max_bytes=listener.max_bytes,
            opened_at=now,
            last_activity=now,
        )
        self._open[header.stream_id] = stream
        return StreamProgress(stream, done=False) if listener.progress else None

    def _stream_of(self, stream_id: str, sender: tuple[str, str]) -> IncomingTextStream | None:
        stream = self._open.get(stream_id)
        if stream is None:
            return None
        identity, sid = sender
        # The server stamps the sending session's sid on every packet; without one
        # (an old server), the identity is what we have.
        same = sid == stream.sender_sid if stream.sender_sid else identity == stream.sender_identity
        if not same:
            # Someone else's stream: never let them complete or extend it.
            log.warning("ignoring a packet for stream %.64r from %.64r", stream_id, identity)
            return None
        return stream

    def _chunk(
        self, chunk: models.DataStream.Chunk, sender: tuple[str, str]
    ) -> StreamProgress | None:
        stream = self._stream_of(chunk.stream_id, sender)
        if stream is None or chunk.iv:
            return None
        content = chunk.content
        if stream.size + len(content) > stream.max_bytes:
            self._drop(chunk.stream_id, "larger than %d bytes", stream.max_bytes)
            return StreamProgress(stream, done=True, interrupted=True)
        if not stream.add(chunk.chunk_index, bytes(content)):
            return None
        stream.size += len(content)
        stream.last_activity = self._clock()
        self._open.move_to_end(chunk.stream_id)
        listener = self._listeners.get(stream.topic)
        if listener is None or not listener.progress:
            return None
        return StreamProgress(stream, done=False, text=stream.text())

    def _trailer(
        self, trailer: models.DataStream.Trailer, sender: tuple[str, str]
    ) -> StreamProgress | None:
        stream = self._stream_of(trailer.stream_id, sender)
        if stream is None:
            return None
        del self._open[trailer.stream_id]
        stream.attributes.update(dict(trailer.attributes))
        return StreamProgress(
            stream, done=True, interrupted=bool(trailer.reason), text=stream.final_text()
        )

    def _expire(self) -> None:
        now = self._clock()
        idle_cutoff = now - STREAM_IDLE_TIMEOUT_S
        age_cutoff = now - STREAM_MAX_LIFETIME_S
        for stream in list(self._open.values()):
            if stream.last_activity < idle_cutoff:
                self._drop(stream.stream_id, "idle for %.0f s", STREAM_IDLE_TIMEOUT_S)
            elif stream.opened_at < age_cutoff:
                self._drop(stream.stream_id, "open for over %.0f s", STREAM_MAX_LIFETIME_S)
