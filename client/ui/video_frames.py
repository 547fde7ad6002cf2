"""Decoded frames to paintable images, off the UI thread, latest frame wins.

A remote track's sink runs on the core thread: it only drops the frame into the
tile's ``FrameSlot`` (replacing any frame not yet converted).  One converter
thread scales and converts the newest frame of each visible tile to that tile's
size in one libswscale call (PyAV ``reformat``, which releases the GIL) and hands
the image to the tile.  The tile is told at most once per paint that an image is
waiting, so a UI thread that froze finds one image, not a backlog to replay.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)

#: Called on the converter thread when a new image is ready; must only post.
ImageReady = Callable[[], None]


class FrameSlot:
    """The newest decoded frame of one track, and what became of the others."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: av.VideoFrame | None = None
        self._image: QImage | None = None
        self._size = (0, 0)
        self._visible = True
        self._notify: ImageReady | None = None
        self._notified = False
        self.frames_in = 0
        self.frames_dropped = 0
        self.images_out = 0
        self.last_frame_at = 0.0
        self.source_size = (0, 0)
        self._wake: Callable[[], None] | None = None
        # Kept per slot: ``frame.reformat`` builds a new libswscale context for every
        # frame, which cost as much again as the conversion itself (1.4 against 0.5 ms
        # at 472x264); a kept reformatter reuses its context while the sizes hold.
        self._reformatter = VideoReformatter()

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    # --- core thread ---------------------------------------------------------------

    def put(self, frame: av.VideoFrame | av.AudioFrame) -> None:
        """The track sink: keep the newest frame, count the one it replaces."""
        if not isinstance(frame, av.VideoFrame):
            return
        with self._lock:
            if self._frame is not None:
                self.frames_dropped += 1
            self._frame = frame
            self.frames_in += 1
            self.last_frame_at = time.monotonic()
            wake = self._wake if self._visible else None
        if wake is not None:
            wake()

    # --- UI thread ---------------------------------------------------------------------

    def configure(self, width: int, height: int, visible: bool) -> None:
        with self._lock:
            self._size = (max(0, width), max(0, height))
            self._visible = visible
            wake = self._wake if visible and self._frame is not None else None
        if wake is not None:
            wake()

    def set_notify(self, notify: ImageReady | None) -> None:
        with self._lock:
            self._notify = notify

    def take_image(self) -> QImage | None:
        """The latest converted image (the UI calls this when told one is ready)."""
        with self._lock:
            image, self._image = self._image, None
            self._notified = False
            return image

    # --- converter thread --------------------------------------------------------------

    def _convert(self) -> bool:
        """Convert the pending frame if any; True if something was done."""
        with self._lock:
            frame, self._frame = self._frame, None
            width, height = self._size
            visible = self._visible
        if frame is None:
            return False
        if not visible or width < 2 or height < 2:
            return True  # hidden: the frame is dropped, nothing is converted
        self.source_size = (frame.width, frame.height)
        w, h = _fit(frame.width, frame.height, width, height)
        try:
            converted = self._reformatter.reformat(frame, width=w, height=h, format="bgra")
        except (ValueError, av.FFmpegError) as exc:
            log.debug("cannot convert a %dx%d frame: %s", frame.width, frame.height, exc)
            return True
        image = _to_image(converted, w, h)
        with self._lock:
            self._image = image
            self.images_out += 1
            notify = self._notify if not self._notified else None
            self._notified = True
        if notify is not None:
            notify()
        return True


def _to_image(frame: av.VideoFrame, width: int, height: int) -> QImage:
    """Copy a bgra frame into a new QImage: one copy, row by row (either side may pad
    its rows), straight into the image's own memory."""
    plane = frame.planes[0]
    image = QImage(width, height, QImage.Format.Format_RGB32)
    row = width * 4
    source = np.frombuffer(memoryview(plane), np.uint8).reshape(height, plane.line_size)
    target = np.frombuffer(image.bits(), np.uint8).reshape(height, image.bytesPerLine())
    target[:, :row] = source[:, :row]
    return image


def _fit(src_w: int, src_h: int, box_w: int, box_h: int) -> tuple[int, int]:
    """The largest even size with the source's aspect ratio that fits the box."""
    if src_w <= 0 or src_h <= 0:
        return box_w, box_h
    scale = min(box_w / src_w, box_h / src_h)
    w = max(2, int(src_w * scale) // 2 * 2)
    h = max(2, int(src_h * scale) // 2 * 2)
    return w, h


class VideoConverter:
    """One thread converting, for every slot, its newest frame."""

    def __init__(self) -> None:
        self._slots: list[FrameSlot] = []
        self._lock = threading.Lock()
        self._work = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="video-convert", daemon=True)
        self.conversions = 0
        self.busy_s = 0.0

    def start(self) -> None:
        self._thread.start()

    def add(self, slot: FrameSlot) -> None:
        with self._lock:
            self._slots.append(slot)
        slot._wake = self._work.set

    def remove(self, slot: FrameSlot) -> None:
        slot._wake = None
        with self._lock:
            if slot in self._slots:
                self._slots.remove(slot)

    def stop(self) -> None:
        self._stop = True
        self._work.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _run(self) -> None:
        while not self._stop:
            self._work.wait(0.5)
            self._work.clear()
            with self._lock:
                slots = list(self._slots)
            started = time.perf_counter()
            done = 0
            for slot in slots:
                try:
                    done += slot._convert()
                except Exception:
                    log.exception("video conversion failed")
            if done:
                self.conversions += done
                self.busy_s += time.perf_counter() - started
