"""LiveKit text streams: splitting outgoing text into packets, reassembling incoming.

A stream is a header, numbered chunks of at most 15000 bytes, and a trailer.  The
assembler keeps a bounded number of open streams and a bounded size per stream,
so a peer that never closes its streams cannot exhaust memory.
"""

from __future__ import annotations

import codecs
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from livekit.protocol import models

log = logging.getLogger(__name__)

MAX_CHUNK_BYTES = 15000
MAX_OPEN_STREAMS = 64
MAX_STREAM_BYTES = 4 * 1024 * 1024
STREAM_IDLE_TIMEOUT_S = 120.0


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


@dataclass
class IncomingTextStream:
    stream_id: str
    topic: str
    sender_identity: str
    attributes: dict[str, str]
    timestamp_ms: int
    total_length: int
    chunks: dict[int, bytes] = field(default_factory=dict)
    size: int = 0
    last_activity: float = field(default_factory=time.monotonic)
    # Chunks 0.._next-1 decoded once each, so a growing stream is not decoded
    # again from its start on every chunk.
    _next: int = 0
    _pieces: list[str] = field(default_factory=list)
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )

    def add(self, index: int, content: bytes) -> None:
        self.chunks[index] = content
        while self._next in self.chunks:
            self._pieces.append(self._decoder.decode(self.chunks[self._next]))
            self._next += 1

    def text(self) -> str:
        if self._next != len(self.chunks):
            # Chunks came out of order: join what is there, gaps and all.
            data = b"".join(self.chunks[i] for i in sorted(self.chunks))
            return data.decode("utf-8", errors="replace")
        # A stream still growing may end inside a character; never fail on it.
        pending = self._decoder.getstate()[0].decode("utf-8", errors="replace")
        return "".join(self._pieces) + pending


@dataclass(frozen=True)
class StreamProgress:
    stream: IncomingTextStream
    done: bool
    interrupted: bool = False


class TextStreamAssembler:
    def __init__(self) -> None:
        self._open: OrderedDict[str, IncomingTextStream] = OrderedDict()

    @property
    def open_streams(self) -> int:
        return len(self._open)

    def handle(self, packet: models.DataPacket) -> StreamProgress | None:
        kind = packet.WhichOneof("value")
        self._expire()
        if kind == "stream_header":
            return self._header(packet.stream_header, packet.participant_identity)
        if kind == "stream_chunk":
            return self._chunk(packet.stream_chunk)
        if kind == "stream_trailer":
            return self._trailer(packet.stream_trailer)
        return None

    def _header(self, header: models.DataStream.Header, sender: str) -> StreamProgress | None:
        if header.WhichOneof("content_header") != "text_header":
            return None  # byte streams (files) are not handled yet
        if header.encryption_type or header.compression:
            log.warning("ignoring an encrypted or compressed text stream on %r", header.topic)
            return None
        if len(self._open) >= MAX_OPEN_STREAMS:
            dropped_id, _ = self._open.popitem(last=False)
            log.warning("too many open text streams; dropping %s", dropped_id)
        stream = IncomingTextStream(
            stream_id=header.stream_id,
            topic=header.topic,
            sender_identity=sender,
            attributes=dict(header.attributes),
            timestamp_ms=header.timestamp,
            total_length=header.total_length,
        )
        self._open[header.stream_id] = stream
        return StreamProgress(stream, done=False)

    def _chunk(self, chunk: models.DataStream.Chunk) -> StreamProgress | None:
        stream = self._open.get(chunk.stream_id)
        if stream is None:
            return None
        if chunk.iv:
            return None
        stream.size += len(chunk.content)
        if stream.size > MAX_STREAM_BYTES:
            log.warning(
                "text stream %s exceeds %d bytes; dropped", chunk.stream_id, MAX_STREAM_BYTES
            )
            del self._open[chunk.stream_id]
            return StreamProgress(stream, done=True, interrupted=True)
        stream.add(chunk.chunk_index, bytes(chunk.content))
        stream.last_activity = time.monotonic()
        self._open.move_to_end(chunk.stream_id)
        return StreamProgress(stream, done=False)

    def _trailer(self, trailer: models.DataStream.Trailer) -> StreamProgress | None:
        stream = self._open.pop(trailer.stream_id, None)
        if stream is None:
            return None
        stream.attributes.update(dict(trailer.attributes))
        return StreamProgress(stream, done=True, interrupted=bool(trailer.reason))

    def _expire(self) -> None:
        cutoff = time.monotonic() - STREAM_IDLE_TIMEOUT_S
        while self._open:
            first = next(iter(self._open.values()))
            if first.last_activity >= cutoff:
                break
            self._open.popitem(last=False)
