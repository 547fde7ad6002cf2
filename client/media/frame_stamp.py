"""Machine-readable stamps drawn into video frames.

A stamp carries a frame counter and the capture time (wall clock, ms) as large
black/white blocks in the top rows of the luma plane, so that it survives a lossy
codec.  The receiver reads it back to measure frame rate, ordering and
glass-to-glass latency without any side channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BLOCKS_PER_ROW = 40
ROWS = 3
COUNTER_BITS = 32
TIME_BITS = 48
CHECK_BITS = 8
PAYLOAD_BITS = COUNTER_BITS + TIME_BITS + CHECK_BITS
LUMA_ONE = 235
LUMA_ZERO = 16
_THRESHOLD = (LUMA_ONE + LUMA_ZERO) / 2

assert PAYLOAD_BITS <= BLOCKS_PER_ROW * ROWS


@dataclass(frozen=True, slots=True)
class FrameStamp:
    counter: int
    capture_time_ms: int


def block_size(width: int) -> int:
    """Side of one square block, in pixels, for a frame of that width."""
    return max(2, width // BLOCKS_PER_ROW)


def stamp_height(width: int) -> int:
    """Rows at the top of the frame that the stamp covers."""
    return block_size(width) * ROWS


def _checksum(counter: int, capture_time_ms: int) -> int:
    value = (counter << TIME_BITS) | capture_time_ms
    acc = 0x5A
    while value:
        acc ^= value & 0xFF
        acc = ((acc << 1) | (acc >> 7)) & 0xFF
        value >>= 8
    return acc


def _bits(stamp: FrameStamp) -> npt.NDArray[np.bool_]:
    counter = stamp.counter & ((1 << COUNTER_BITS) - 1)
    when = stamp.capture_time_ms & ((1 << TIME_BITS) - 1)
    value = (counter << (TIME_BITS + CHECK_BITS)) | (when << CHECK_BITS) | _checksum(counter, when)
    return np.array(
        [(value >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)],
        dtype=np.bool_,
    )


def draw(luma: npt.NDArray[np.uint8], stamp: FrameStamp) -> None:
    """Draw the stamp into a 2-D luma plane (modified in place)."""
    height, width = luma.shape
    size = block_size(width)
    if height < size * ROWS:
        raise ValueError(f"frame too small for a stamp: {width}x{height}")
    cells = np.zeros(BLOCKS_PER_ROW * ROWS, dtype=np.bool_)
    cells[:PAYLOAD_BITS] = _bits(stamp)
    grid = np.where(cells.reshape(ROWS, BLOCKS_PER_ROW), LUMA_ONE, LUMA_ZERO)
    blocks = np.repeat(np.repeat(grid.astype(np.uint8), size, axis=0), size, axis=1)
    luma[: size * ROWS, : size * BLOCKS_PER_ROW] = blocks


def read(luma: npt.NDArray[np.uint8]) -> FrameStamp | None:
    """Read a stamp back from a 2-D luma plane; None if absent or damaged."""
    height, width = luma.shape
    size = block_size(width)
    if height < size * ROWS or width < size * BLOCKS_PER_ROW:
        return None  # too small to hold a stamp (a thumbnail, a damaged frame)
    # Sample five pixels around the centre of each block (codecs smear the
    # edges): strided slices cost microseconds, so every frame can be read.
    grid = luma[: size * ROWS, : size * BLOCKS_PER_ROW]
    centre, reach = size // 2, max(1, size // 4)
    total = np.zeros((ROWS, BLOCKS_PER_ROW), dtype=np.uint16)
    for dy, dx in ((0, 0), (-reach, -reach), (-reach, reach), (reach, -reach), (reach, reach)):
        total += grid[centre + dy :: size, centre + dx :: size][:ROWS, :BLOCKS_PER_ROW]
    bits = total.reshape(-1)[:PAYLOAD_BITS] > _THRESHOLD * 5
    value = int.from_bytes(np.packbits(bits).tobytes(), "big") >> (-PAYLOAD_BITS % 8)
    check = value & ((1 << CHECK_BITS) - 1)
    when = (value >> CHECK_BITS) & ((1 << TIME_BITS) - 1)
    counter = value >> (TIME_BITS + CHECK_BITS)
    if _checksum(counter, when) != check:
        return None
    return FrameStamp(counter=counter, capture_time_ms=when)


def luma_of_i420(
    data: bytes | bytearray | memoryview, width: int, height: int
) -> npt.NDArray[np.uint8]:
    """View the luma plane of a tightly packed I420 buffer."""
    return np.frombuffer(data, dtype=np.uint8, count=width * height).reshape(height, width)
