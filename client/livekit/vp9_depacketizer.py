"""The VP9 RTP payload format (RFC 9628): descriptors in, decodable pictures out.

A VP9 RTP packet starts with a payload descriptor (RFC 9628 section 4.2)::

    |I|P|L|F|B|E|V|Z|            always
    |M| PICTURE ID  |            I: 7 bits, or 15 when M is set
    | EXTENDED PID  |
    | TID |U| SID |D|            L: layer indices
    |   TL0PICIDX   |            L and not F (non-flexible mode)
    | P_DIFF      |N|            P and F: up to 3 reference differences
    |  SS ...       |            V: scalability structure

and then a piece of one *layer frame*: B marks its first packet, E its last.  A
picture (one RTP timestamp) holds one layer frame per spatial layer, lowest
first; the marker bit ends the picture.  An SFU forwarding spatial layer S of an
SVC stream (L3T3 as browsers send it) forwards the frames of layers 0..S and sets
the marker on the last packet of layer S.

libvpx decodes all the layer frames of one picture in one call when they form a
*superframe*: the frames back to back followed by an index of their sizes (VP9
bitstream spec, annex B).  It then outputs only the last (highest) layer, which is
the picture to show.  Plain concatenation is not enough in general: the last tile
of a VP9 frame has no size and would run into the next frame.

The receive path (``client.livekit.vp9_codec``) cannot see packet boundaries once
aiortc's jitter buffer has joined the payloads of one picture, so
:func:`frame_chunk` keeps each payload whole behind a 2-byte length and
:func:`assemble_picture` rebuilds the layer frames from those chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Spatial layers a descriptor's scalability structure can announce (N_S is 3 bits).
MAX_SPATIAL_LAYERS = 8
#: A superframe index can list at most this many frames (3 bits).
MAX_SUPERFRAME_FRAMES = 8
#: References a flexible-mode descriptor can list.
MAX_REFERENCES = 3
_CHUNK_HEADER = 2


class Vp9FormatError(ValueError):
    """A payload that does not follow RFC 9628 (or a picture that cannot be rebuilt)."""


@dataclass(frozen=True, slots=True)
class PictureGroupEntry:
    """One picture of the SS's group of frames (GOF): its temporal layer, its
    switching-up point flag and its references (picture id differences)."""

    tid: int
    switching_up: bool
    p_diffs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ScalabilityStructure:
    """The SS (V bit): the stream's spatial layers, their sizes, its picture group."""

    spatial_layers: int  # N_S + 1
    #: (width, height) per spatial layer, lowest first; empty when Y is 0.
    resolutions: tuple[tuple[int, int], ...]
    #: The group of frames; empty when G is 0.
    picture_group: tuple[PictureGroupEntry, ...]


@dataclass(frozen=True, slots=True)
class Vp9Descriptor:
    """A parsed payload descriptor; ``size`` is its length in bytes."""

    inter_picture: bool  # P: uses inter-picture prediction (0 on a keyframe)
    flexible: bool  # F
    begins_frame: bool  # B: first packet of a layer frame
    ends_frame: bool  # E: last packet of a layer frame
    not_upper_reference: bool  # Z: not a reference for upper spatial layers
    picture_id: int | None
    #: 7 or 15 (0 without a picture id); picture ids wrap at 2**bits.
    picture_id_bits: int
    #: Layer indices (L); without them, the stream has one layer (0, 0).
    has_layers: bool
    tid: int
    switching_up: bool  # U
    sid: int
    inter_layer: bool  # D: depends on the spatial layer below
    tl0picidx: int | None  # non-flexible mode only
    p_diffs: tuple[int, ...]  # flexible mode only
    ss: ScalabilityStructure | None
    size: int

    @property
    def reference_ids(self) -> tuple[int, ...]:
        """The picture ids this frame references (flexible mode), wrapped."""
        if self.picture_id is None:
            return ()
        modulo = 1 << self.picture_id_bits
        return tuple((self.picture_id - diff) % modulo for diff in self.p_diffs)


def _byte(data: bytes, pos: int, what: str) -> int:
    if pos >= len(data):
        raise Vp9FormatError(f"VP9 descriptor truncated in its {what}")
    return data[pos]


def _parse_ss(data: bytes, pos: int) -> tuple[ScalabilityStructure, int]:
    octet = _byte(data, pos, "scalability structure")
    pos += 1
    spatial_layers = (octet >> 5) + 1
    has_resolutions = bool(octet & 0x10)
    has_group = bool(octet & 0x08)
    resolutions: list[tuple[int, int]] = []
    if has_resolutions:
        for _ in range(spatial_layers):
            if pos + 4 > len(data):
                raise Vp9FormatError("VP9 scalability structure truncated in its sizes")
            width = int.from_bytes(data[pos : pos + 2], "big")
            height = int.from_bytes(data[pos + 2 : pos + 4], "big")
            resolutions.append((width, height))
            pos += 4
    group: list[PictureGroupEntry] = []
    if has_group:
        count = _byte(data, pos, "picture group size")
        pos += 1
        for _ in range(count):
            entry = _byte(data, pos, "picture group")
            pos += 1
            references = (entry >> 2) & 0x03
            diffs = []
            for _ in range(references):
                diffs.append(_byte(data, pos, "picture group references"))
                pos += 1
            group.append(PictureGroupEntry(entry >> 5, bool(entry & 0x10), tuple(diffs)))
    return ScalabilityStructure(spatial_layers, tuple(resolutions), tuple(group)), pos


def parse_descriptor(payload: bytes) -> Vp9Descriptor:
    """Parse the descriptor at the start of a VP9 RTP payload."""
    first = _byte(payload, 0, "first byte")
    has_pid = bool(first & 0x80)
    inter_picture = bool(first & 0x40)
    has_layers = bool(first & 0x20)
    flexible = bool(first & 0x10)
    pos = 1
    picture_id: int | None = None
    bits = 0
    if has_pid:
        octet = _byte(payload, pos, "picture id")
        if octet & 0x80:
            picture_id = ((octet & 0x7F) << 8) | _byte(payload, pos + 1, "extended picture id")
            bits = 15
            pos += 2
        else:
            picture_id = octet
            bits = 7
            pos += 1
    tid = sid = 0
    switching_up = inter_layer = False
    tl0picidx: int | None = None
    if has_layers:
        octet = _byte(payload, pos, "layer indices")
        tid, switching_up, sid, inter_layer = (
            octet >> 5,
            bool(octet & 0x10),
            (octet >> 1) & 0x07,
            bool(octet & 0x01),
        )
        pos += 1
        if not flexible:
            tl0picidx = _byte(payload, pos, "TL0PICIDX")
            pos += 1
    p_diffs: list[int] = []
    if inter_picture and flexible:
        while True:
            octet = _byte(payload, pos, "reference indices")
            pos += 1
            p_diffs.append(octet >> 1)
            if not octet & 0x01:
                break
            if len(p_diffs) == MAX_REFERENCES:
                raise Vp9FormatError("VP9 descriptor lists more than 3 references")
    ss: ScalabilityStructure | None = None
    if first & 0x02:
        ss, pos = _parse_ss(payload, pos)
    return Vp9Descriptor(
        inter_picture=inter_picture,
        flexible=flexible,
        begins_frame=bool(first & 0x08),
        ends_frame=bool(first & 0x04),
        not_upper_reference=bool(first & 0x01),
        picture_id=picture_id,
        picture_id_bits=bits,
        has_layers=has_layers,
        tid=tid,
        switching_up=switching_up,
        sid=sid,
        inter_layer=inter_layer,
        tl0picidx=tl0picidx,
        p_diffs=tuple(p_diffs),
        ss=ss,
        size=pos,
    )


def header_is_keyframe(frame: bytes) -> bool | None:
    """Whether a VP9 frame's uncompressed header says KEY_FRAME (spec 6.2); None
    when the bytes are not the start of a VP9 frame."""
    if not frame:
        return None
    octet = frame[0]
    if octet >> 6 != 0b10:  # frame_marker
        return None
    profile = ((octet >> 5) & 1) | (((octet >> 4) & 1) << 1)
    bit = 4  # next bit, counted from the most significant one of the first byte
    if profile == 3:
        bit += 1  # reserved_zero
    if (octet >> (7 - bit)) & 1:  # show_existing_frame: shows an old frame, decodes nothing
        return False
    bit += 1
    return (octet >> (7 - bit)) & 1 == 0  # frame_type: 0 is KEY_FRAME


def packet_starts(payload: bytes) -> tuple[bool, bool]:
    """(starts a layer frame, starts a keyframe picture) for one RTP payload.

    A keyframe picture begins with the base spatial layer's frame, which uses no
    inter-picture prediction (P is 0) and whose header says KEY_FRAME: P is 0 on
    upper layers of a keyframe and on intra-only frames too.
    """
    try:
        descriptor = parse_descriptor(payload)
    except Vp9FormatError:
        return False, False
    if not descriptor.begins_frame:
        return False, False
    key = not descriptor.inter_picture and descriptor.sid == 0
    if key:
        key = header_is_keyframe(payload[descriptor.size :]) is not False
    return True, key


# --- chunks between depayloading and decoding ------------------------------------------


def frame_chunk(payload: bytes) -> bytes:
    """One RTP payload, kept whole (descriptor included) behind its length, so that
    a picture's packets can be told apart again after they are joined."""
    parse_descriptor(payload)  # refuse what the decoder could not use, at once
    if len(payload) >= 1 << (8 * _CHUNK_HEADER):
        raise Vp9FormatError("VP9 payload too large")
    return len(payload).to_bytes(_CHUNK_HEADER, "big") + payload


def split_chunks(data: bytes) -> list[bytes]:
    """The RTP payloads joined by the jitter buffer, in order."""
    payloads: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + _CHUNK_HEADER > len(data):
            raise Vp9FormatError("VP9 chunk header truncated")
        size = int.from_bytes(data[pos : pos + _CHUNK_HEADER], "big")
        pos += _CHUNK_HEADER
        if pos + size > len(data):
            raise Vp9FormatError("VP9 chunk truncated")
        payloads.append(data[pos : pos + size])
        pos += size
    return payloads


@dataclass(frozen=True, slots=True)
class Vp9Picture:
    """One picture ready for libvpx: a frame, or a superframe of its layer frames."""

    data: bytes
    keyframe: bool
    picture_id: int | None
    spatial_layers: tuple[int, ...]
    ss: ScalabilityStructure | None


def assemble_picture(payloads: Sequence[bytes]) -> Vp9Picture:
    """Rebuild one picture from the RTP payloads of one timestamp, in sequence order.

    Every layer frame must be whole (B on its first packet, E on its last, nothing
    in between), the layers must rise, and all packets must carry the same picture
    id: anything else means a packet is missing or foreign, and the picture is
    refused (``Vp9FormatError``) rather than handed to the decoder damaged.
    """
    if not payloads:
        raise Vp9FormatError("empty VP9 picture")
    frames: list[bytes] = []
    layers: list[int] = []
    current: list[bytes] | None = None
    picture_id: int | None = None
    ss: ScalabilityStructure | None = None
    keyframe = False
    for index, payload in enumerate(payloads):
        descriptor = parse_descriptor(payload)
        body = payload[descriptor.size :]
        if index == 0:
            picture_id = descriptor.picture_id
            keyframe = packet_starts(payload)[1]
        elif descriptor.picture_id != picture_id:
            raise Vp9FormatError("VP9 picture mixes picture ids")
        if descriptor.ss is not None:
            ss = descriptor.ss
        if descriptor.begins_frame:
            if current is not None:
                raise Vp9FormatError("VP9 layer frame without its end")
            if layers and descriptor.sid <= layers[-1]:
                raise Vp9FormatError("VP9 spatial layers out of order")
            current = []
            layers.append(descriptor.sid)
        elif current is None:
            raise Vp9FormatError("VP9 layer frame without its beginning")
        current.append(body)
        if descriptor.ends_frame:
            frames.append(b"".join(current))
            current = None
    if current is not None:
        raise Vp9FormatError("VP9 layer frame without its end")
    return Vp9Picture(build_superframe(frames), keyframe, picture_id, tuple(layers), ss)


def build_superframe(frames: Sequence[bytes]) -> bytes:
    """One frame as is; several as a superframe (frames, then their size index)."""
    if not frames or any(not f for f in frames):
        raise Vp9FormatError("empty VP9 layer frame")
    if len(frames) == 1:
        return frames[0]
    if len(frames) > MAX_SUPERFRAME_FRAMES:
        raise Vp9FormatError("more than 8 VP9 frames in one picture")
    largest = max(len(f) for f in frames)
    size_bytes = next(n for n in (1, 2, 3, 4) if largest < 1 << (8 * n))
    marker = 0b11000000 | ((size_bytes - 1) << 3) | (len(frames) - 1)
    index = bytearray([marker])
    for frame in frames:
        index += len(frame).to_bytes(size_bytes, "little")
    index.append(marker)
    return b"".join(frames) + bytes(index)


def superframe_frames(data: bytes) -> list[bytes]:
    """Split a superframe back into its frames (one frame: itself)."""
    if not data:
        return []
    marker = data[-1]
    if marker & 0xE0 != 0xC0:
        return [data]
    count = (marker & 0x07) + 1
    size_bytes = ((marker >> 3) & 0x03) + 1
    index_size = 2 + size_bytes * count
    if len(data) < index_size or data[-index_size] != marker:
        return [data]
    frames: list[bytes] = []
    pos = 0
    sizes = data[-index_size + 1 : -1]
    for i in range(count):
        size = int.from_bytes(sizes[i * size_bytes : (i + 1) * size_bytes], "little")
        frames.append(data[pos : pos + size])
        pos += size
    return frames


def picture_id_distance(older: int, newer: int, bits: int) -> int:
    """How many pictures ``newer`` follows ``older`` by, across the wrap."""
    return (newer - older) % (1 << bits)
