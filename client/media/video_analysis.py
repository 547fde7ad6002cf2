"""Read measurement data back out of decoded video frames.

The helpers here sit on the receive hot path of the benchmark and the tests (one
call per decoded frame), so they look at the luma plane in place instead of
converting the whole picture with ``to_ndarray``.
"""

from __future__ import annotations

import av
import numpy as np
import numpy.typing as npt
from av.video.plane import VideoPlane

from client.media import frame_stamp
from client.media.frame_stamp import FrameStamp

# Pixel formats whose plane 0 is an 8-bit luma plane, one byte per pixel.  For
# these the luma samples can be viewed directly; full-range (yuvj*) variants
# work as well because the stamp threshold sits in the middle of both ranges.
LUMA_FIRST_FORMATS: frozenset[str] = frozenset(
    {
        "gray",
        "nv12",
        "nv16",
        "nv21",
        "nv24",
        "nv42",
        "yuv410p",
        "yuv411p",
        "yuv420p",
        "yuv422p",
        "yuv440p",
        "yuv444p",
        "yuva420p",
        "yuva422p",
        "yuva444p",
        "yuvj411p",
        "yuvj420p",
        "yuvj422p",
        "yuvj440p",
        "yuvj444p",
    }
)


def plane_rows(plane: VideoPlane) -> npt.NDArray[np.uint8]:
    """A ``(rows, line_size)`` view of a plane's bytes, padding included.

    Shares memory with the frame (no copy); slice ``[:, :plane.width]`` for the
    pixels of an 8-bit plane.
    """
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8, count=plane.line_size * plane.height)
    return rows.reshape(plane.height, plane.line_size)


def luma_plane(frame: av.VideoFrame) -> npt.NDArray[np.uint8] | None:
    """A ``(height, width)`` view of the frame's luma plane, without copying.

    Returns None when the frame's format does not keep 8-bit luma in plane 0
    (RGB, high bit depth, hardware frames, ...).  The view shares memory with the
    frame: writing through it changes the frame, which the test sources rely on
    to draw stamps in place; call ``frame.make_writable()`` first when the
    buffer may be shared.
    """
    if frame.format.name not in LUMA_FIRST_FORMATS:
        return None
    plane = frame.planes[0]
    width, height, stride = frame.width, frame.height, plane.line_size
    # A negative or short stride means a flipped or unusual layout: let the
    # caller take the slow, always-correct path instead of guessing.
    if stride < width or plane.buffer_size < stride * height:
        return None
    # Rows are padded to line_size bytes (alignment), so drop the padding.
    return plane_rows(plane)[:height, :width]


def read_stamp(frame: av.VideoFrame) -> FrameStamp | None:
    """The stamp drawn by :func:`client.media.frame_stamp.draw`, or None.

    Works on any pixel format: formats with a luma plane are read in place,
    others are converted to gray first (a full-frame conversion, but only for
    formats our pipeline does not normally produce).
    """
    luma = luma_plane(frame)
    if luma is None:
        gray = frame.to_ndarray(format="gray")
        luma = np.asarray(gray, dtype=np.uint8)
    return frame_stamp.read(luma)
