"""How the bytes of one fuzz input become several messages.

A coverage-guided fuzzer hands a target one byte string; a bug in a stateful
parser needs several messages (a stream header, then chunks from someone else).
Two encodings do that, each total (every byte string decodes to something):

* frames: ``[ctl][len lo][len hi][payload]...``, a length past the end taking
  whatever is left; each payload is one wire message (a signaling frame, a data
  packet) and ``ctl`` may override who the server says sent it;
* scripts: fixed-size operations that build valid packets from small pools of
  stream ids, senders, topics and segment ids, so that the fuzzer spends its time
  on the orders and collisions that matter rather than on protobuf syntax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from livekit.protocol import models

from devtools.fuzz import messages as m

MAX_FRAMES = 64
MAX_OPS = 128
_FRAME_HEADER = 3
_OP_HEADER = 5


def split_frames(data: bytes, max_frames: int = MAX_FRAMES) -> list[tuple[int, bytes]]:
    """Cut an input into (ctl, payload) frames; never fails."""
    frames: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data) and len(frames) < max_frames:
        ctl = data[pos]
        size = int.from_bytes(data[pos + 1 : pos + _FRAME_HEADER], "little")
        start = pos + _FRAME_HEADER
        end = len(data) if len(frames) == max_frames - 1 else min(len(data), start + size)
        frames.append((ctl, data[start:end]))
        pos = end
    return frames


def join_frames(frames: Sequence[tuple[int, bytes]]) -> bytes:
    """The inverse of ``split_frames``, to write seed inputs."""
    out = bytearray()
    for ctl, payload in frames:
        out += bytes([ctl & 0xFF]) + len(payload).to_bytes(2, "little") + payload
    return bytes(out)


def sender_override(ctl: int) -> tuple[str | None, str | None]:
    """(identity, sid) a frame's ``ctl`` stamps; None keeps the packet's own.

    Bits 0-2 pick an identity from SENDERS, bits 3-5 a sid from SESSIONS (from 1);
    0 and values past either pool keep what the packet says.
    """
    identity, sid = ctl & 0x07, (ctl >> 3) & 0x07
    return (
        m.SENDERS[identity] if identity < len(m.SENDERS) else None,
        m.SESSIONS[sid - 1] if 0 < sid <= len(m.SESSIONS) else None,
    )


def ctl_for(identity: str | None, sid: str | None = None) -> int:
    """The ``ctl`` byte that stamps ``identity`` and ``sid`` (None: keep the packet's)."""
    low = m.SENDERS.index(identity) if identity is not None else 7
    high = m.SESSIONS.index(sid) + 1 if sid is not None else 0
    return low | high << 3


# --- scripts ---------------------------------------------------------------------------

HEADER, CHUNK, TRAILER, TRANSCRIPTION, LEGACY_CHAT, CHAT_PACKET, USER, BYTE_HEADER = range(8)


@dataclass(frozen=True)
class Op:
    """One scripted packet: what, from whom, about which stream or segment.

    ``param`` holds the kind-specific small choices (topic, attributes, chunk index,
    final flag, trailer reason); ``content`` the free bytes (chunk content, text,
    JSON payload).
    """

    kind: int
    sender: int  # bits 0-2: identity; 3-5: sid from SESSIONS (from 1; 0: the identity's own)
    ident: int
    param: int
    content: bytes = b""

    def encode(self) -> bytes:
        content = self.content[:255]
        return bytes([self.kind, self.sender, self.ident, self.param, len(content)]) + content


def encode_script(ops: Sequence[Op]) -> bytes:
    return b"".join(op.encode() for op in ops)


def decode_script(data: bytes) -> list[Op]:
    ops: list[Op] = []
    pos = 0
    while pos + _OP_HEADER <= len(data) and len(ops) < MAX_OPS:
        kind, sender, ident, param, size = data[pos : pos + _OP_HEADER]
        content = data[pos + _OP_HEADER : pos + _OP_HEADER + size]
        ops.append(Op(kind % 8, sender, ident, param, content))
        pos += _OP_HEADER + size
    return ops


def _text(content: bytes) -> str:
    # Protobuf string fields hold valid Unicode only: the wire form of invalid
    # UTF-8 is covered by the frame targets, which parse raw bytes.
    return content.decode("utf-8", errors="replace")


def packet_of(op: Op) -> models.DataPacket:
    """Build the valid packet an operation describes (every operation builds one)."""
    sender = m.SENDERS[(op.sender & 0x07) % len(m.SENDERS)]
    sid_index = (op.sender >> 3) & 0x07
    sid = m.SESSIONS[sid_index - 1] if 0 < sid_index <= len(m.SESSIONS) else None
    return m.stamped(_packet_of(op, sender), sender, sid)


def _packet_of(op: Op, sender: str) -> models.DataPacket:
    stream_id = m.STREAM_IDS[op.ident % len(m.STREAM_IDS)]
    segment_id = m.SEGMENT_IDS[op.ident % len(m.SEGMENT_IDS)]
    track_sid = m.TRACK_SIDS[(op.param >> 4) % len(m.TRACK_SIDS)]
    final = bool(op.param & 0x08)
    if op.kind in (HEADER, BYTE_HEADER):
        topic = m.TOPICS[(op.param & 0x03) % len(m.TOPICS)]
        attributes = m.caption_attributes(segment_id, track_sid, final) if op.param & 0x04 else {}
        if op.content:
            attributes["x-" + _text(op.content[:8])] = _text(op.content[8:])
        # Sometimes announce more than any listener accepts.
        total = 1 << 40 if op.param & 0x80 else len(op.content)
        return m.stream_header(
            stream_id,
            sender,
            topic,
            attributes=attributes,
            total_length=total,
            text=op.kind == HEADER,
        )
    if op.kind == CHUNK:
        return m.stream_chunk(stream_id, sender, op.param % 80, op.content)
    if op.kind == TRAILER:
        attributes = m.caption_attributes(segment_id, track_sid, final) if op.param & 0x04 else {}
        reason = "cancelled" if op.param & 0x01 else ""
        return m.stream_trailer(stream_id, sender, reason=reason, attributes=attributes)
    if op.kind == TRANSCRIPTION:
        segments = [(segment_id, _text(op.content), final)]
        if op.param & 0x01:
            other = m.SEGMENT_IDS[(op.ident + 1) % len(m.SEGMENT_IDS)]
            segments.append((other, _text(op.content[::-1]), not final))
        return m.transcription(sender, track_sid, segments)
    if op.kind == LEGACY_CHAT:
        return m.user_packet(sender, m.LEGACY_CHAT_TOPIC, op.content)
    if op.kind == CHAT_PACKET:
        return m.chat_packet(sender, stream_id, _text(op.content), deleted=bool(op.param & 1))
    return m.user_packet(sender, m.TOPICS[op.param % len(m.TOPICS)], op.content)
