"""The camera: one device opened through FFmpeg, one capture thread, many consumers.

A ``Camera`` lives as long as the app.  ``track()`` hands out a video track per
consumer (the self view, the published camera); every track gets the freshest
frame of the one capture thread, so a slow consumer skips frames instead of
delaying the others.  Tracks outlive the device: turning the camera off closes
it (another program may take it, its LED goes off) and the tracks just wait for
the next frame, so a publication survives off/on and a switch of device.

Devices are opened by a ``CameraBackend``: ``PyAVCameraBackend`` for the real
ones (``v4l2`` on Linux, ``avfoundation`` on macOS, ``dshow`` on Windows), or
``client.media.virtual_camera`` for tests and demos, which opens FFmpeg sources
through the same ``av.open`` path with the same exclusivity and errors.

Frames leave in yuv420p (what the VP8 encoder and the preview take), converted
once on the capture thread rather than once per consumer, and are stamped on one
90 kHz clock that keeps running across devices, so a switch never sends the
encoder backwards in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fractions
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.container import InputContainer
from av.video.reformatter import VideoReformatter

from client.livekit import events as ev
from client.livekit.tasks import spawn
from client.media.camera_devices import (
    CameraDevice,
    CameraLister,
    CameraWatcher,
    system_lister,
)

log = logging.getLogger(__name__)

VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)

#: Why a camera cannot be used, for the UI's message (translated there).
CameraProblemKind = Literal["missing", "in_use", "denied", "failed"]

_MESSAGES: dict[CameraProblemKind, str] = {
    "missing": "The camera {name} is not connected.",
    "in_use": "The camera {name} is being used by another application.",
    "denied": "Access to the camera {name} is not allowed.",
    "failed": "The camera {name} could not be started.",
}


class CameraError(Exception):
    """A camera could not be opened or stopped working; ``kind`` is stable."""

    def __init__(self, kind: CameraProblemKind, device: str, detail: str = "") -> None:
        self.kind: CameraProblemKind = kind
        #: The device's human name ("" when there is no camera at all).
        self.device = device
        self.detail = detail
        super().__init__(f"{self.message}{f' ({detail})' if detail else ''}")

    @property
    def message(self) -> str:
        """An English sentence for logs and the headless client (the UI uses ``kind``)."""
        if not self.device and self.kind == "missing":
            return "No camera is connected."
        return _MESSAGES[self.kind].format(name=f"“{self.device}”" if self.device else "")


def camera_error(exc: BaseException, device: str) -> CameraError:
    """What an error from opening or reading a device means to the user."""
    if isinstance(exc, CameraError):
        return exc
    code = getattr(exc, "errno", None)
    if code == errno.EBUSY:
        kind: CameraProblemKind = "in_use"
    elif code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        kind = "missing"
    elif code in (errno.EACCES, errno.EPERM):
        kind = "denied"
    else:
        kind = "failed"
    return CameraError(kind, device, str(exc))


# --- what a backend opens ---------------------------------------------------------------


@dataclass(frozen=True)
class CaptureMode:
    width: int
    height: int
    fps: int
    #: ``mjpeg``: compressed by the camera (the only way most USB 2 cameras reach
    #: 720p at 30 fps); ``raw``: uncompressed (no decoding at all, fine up to 640x480).
    encoding: Literal["mjpeg", "raw"]


#: Tried in order until the device delivers the size and rate asked for.
DEFAULT_MODES: tuple[CaptureMode, ...] = (
    CaptureMode(1280, 720, 30, "mjpeg"),
    CaptureMode(1280, 720, 30, "raw"),
    CaptureMode(640, 360, 30, "raw"),
    CaptureMode(640, 360, 30, "mjpeg"),
    CaptureMode(640, 480, 30, "raw"),
    CaptureMode(640, 480, 30, "mjpeg"),
)


class CaptureHandle(Protocol):
    """An open device: frames come from ``read`` (blocking), ``close`` releases it."""

    width: int
    height: int
    #: The frame rate the device settled on (0 when it does not say).
    fps: float

    def read(self) -> av.VideoFrame: ...

    def close(self) -> None: ...


class CameraBackend(CameraLister, Protocol):
    def open(self, device: CameraDevice, mode: CaptureMode | None) -> CaptureHandle:
        """Open ``device`` (``mode=None``: as the device likes); raise CameraError or
        the FFmpeg error (classified by :func:`camera_error`)."""
        ...


class PyAVCapture:
    """An FFmpeg input container on a device, read one decoded frame at a time."""

    def __init__(self, container: InputContainer) -> None:
        self.container = container
        stream = container.streams.video[0]
        self._stream = stream
        context = stream.codec_context
        self.width = context.width
        self.height = context.height
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else 0.0
        self._frames = container.decode(stream)

    def read(self) -> av.VideoFrame:
        try:
            frame = next(self._frames)
        except StopIteration:
            raise CameraError("missing", "", "the device ended its stream") from None
        assert isinstance(frame, av.VideoFrame)
        return frame

    def close(self) -> None:
        self.container.close()


def open_input(url: str, format_name: str, options: dict[str, str]) -> PyAVCapture:
    """``av.open`` of a capture input; the container is closed if it has no video."""
    container = av.open(url, format=format_name, options=options, timeout=(10.0, 5.0))
    if not container.streams.video:
        container.close()
        raise CameraError("failed", "", "the device has no video stream")
    return PyAVCapture(container)


class PyAVCameraBackend:
    """The machine's cameras through FFmpeg's capture device for this platform."""

    def __init__(self, format_name: str, lister: CameraLister | None = None) -> None:
        self.format_name = format_name
        self._lister = lister or system_lister()

    def list_devices(self) -> tuple[CameraDevice, ...]:
        return self._lister.list_devices()

    def options(self, mode: CaptureMode | None) -> dict[str, str] | None:
        """FFmpeg options asking for ``mode`` (None: this device cannot ask for it)."""
        if mode is None:
            return {}
        options = {"video_size": f"{mode.width}x{mode.height}", "framerate": str(mode.fps)}
        if self.format_name == "v4l2":
            options["input_format"] = "mjpeg" if mode.encoding == "mjpeg" else "yuyv422"
        elif self.format_name == "dshow":
            if mode.encoding == "mjpeg":
                options["vcodec"] = "mjpeg"
            else:
                options["pixel_format"] = "yuyv422"
        elif self.format_name == "avfoundation":
            # AVFoundation hands out decoded pictures only; nv12 is what Apple's
            # cameras produce natively (no conversion in the framework).
            if mode.encoding == "mjpeg":
                return None
            options["pixel_format"] = "nv12"
        return options

    def open(self, device: CameraDevice, mode: CaptureMode | None) -> CaptureHandle:
        options = self.options(mode)
        if options is None:
            raise CameraError("failed", device.name, f"{self.format_name} cannot ask for {mode}")
        try:
            return open_input(device.url, self.format_name, options)
        except av.FFmpegError as exc:
            if self.format_name == "dshow" and getattr(exc, "errno", None) == errno.EIO:
                # DirectShow's "could not run graph": another application has it.
                raise CameraError("in_use", device.name, str(exc)) from exc
            raise


def system_backend() -> PyAVCameraBackend:
    if sys.platform == "darwin":
        return PyAVCameraBackend("avfoundation")
    if sys.platform == "win32":
        return PyAVCameraBackend("dshow")
    return PyAVCameraBackend("v4l2")


# --- events -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CamerasChanged(ev.Event):
    """The cameras that can be chosen, and the one capturing ("" = none)."""

    devices: tuple[CameraDevice, ...]
    active: str


@dataclass(frozen=True)
class CameraStateChanged(ev.Event):
    """The camera started (on a device, at a size) or stopped."""

    running: bool
    device: CameraDevice | None
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class CameraProblem(ev.Event):
    """A camera stopped working, or vanished and another one (or none) took over."""

    problem: CameraProblemKind | Literal["fell_back"]
    #: The device's name as the user knows it.
    device: str
    #: What took over, for ``fell_back`` ("" = no camera: it is off).
    replacement: str = ""


# --- the camera ---------------------------------------------------------------------------


class LatestFrameTrack(MediaStreamTrack):
    """A live source's consumer: the freshest frame, whenever the source runs.

    ``push`` is called on the loop; a consumer slower than the source skips the
    frames it had no time for instead of falling behind.
    """

    kind = "video"

    def __init__(self, on_stop: Callable[[LatestFrameTrack], None] | None = None) -> None:
        super().__init__()
        self.frames_received = 0
        self._on_stop = on_stop
        self._frame: av.VideoFrame | None = None
        self._ready = asyncio.Event()

    def push(self, frame: av.VideoFrame) -> None:
        self._frame = frame
        self._ready.set()

    async def recv(self) -> av.VideoFrame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            frame = self._frame
            if frame is not None:
                self._frame = None
                self.frames_received += 1
                return frame
            self._ready.clear()
            await self._ready.wait()

    def stop(self) -> None:
        super().stop()
        if self._on_stop is not None:
            self._on_stop(self)
        self._ready.set()


class CameraTrack(LatestFrameTrack):
    """One consumer of the camera; it survives the camera's off, on and switches."""

    def __init__(self, camera: Camera) -> None:
        super().__init__(camera._remove)
        self.camera = camera


class _Capture:
    """The thread reading one open device until told to stop."""

    def __init__(
        self,
        handle: CaptureHandle,
        device: CameraDevice,
        clock: _Clock,
        deliver: Callable[[_Capture, av.VideoFrame], None],
        failed: Callable[[_Capture, BaseException], None],
    ) -> None:
        self.handle = handle
        self.device = device
        self._clock = clock
        self._deliver = deliver
        self._failed = failed
        self.stopping = threading.Event()
        self.frames = 0
        self.thread = threading.Thread(
            target=self._run, name=f"camera-capture {device.name}", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        reformatter = VideoReformatter()
        try:
            while not self.stopping.is_set():
                frame = self.handle.read()
                if self.stopping.is_set():
                    break
                picture = reformatter.reformat(frame, format="yuv420p")
                picture.pts = self._clock.now()
                picture.time_base = VIDEO_TIME_BASE
                self.frames += 1
                self._deliver(self, picture)
        except Exception as exc:
            if not self.stopping.is_set():
                self._failed(self, exc)
        finally:
            # Closed here, by the thread reading it: FFmpeg contexts are not safe to
            # close under a read in progress on another thread.
            try:
                self.handle.close()
            except Exception:
                log.exception("closing the camera %s failed", self.device.name)

    def stop(self) -> None:
        self.stopping.set()

    def join(self, timeout: float = 5.0) -> None:
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)


class _Clock:
    """Monotonic 90 kHz timestamps, strictly increasing, shared by every device."""

    def __init__(self) -> None:
        self._epoch = time.monotonic()
        self._last = -1
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            pts = max(self._last + 1, int((time.monotonic() - self._epoch) * VIDEO_CLOCK_RATE))
            self._last = pts
            return pts


class Camera:
    """The app's camera: listing, hot-plug, one capture at a time, many tracks.

    Lives on the core loop; ``start``/``stop``/``select`` are serialised.  The
    capture and watcher threads only hand over to the loop.
    """

    def __init__(
        self,
        backend: CameraBackend | None = None,
        *,
        modes: Sequence[CaptureMode] = DEFAULT_MODES,
        watch_interval: float = 1.0,
        min_fps_ratio: float = 0.8,
    ) -> None:
        self.backend: CameraBackend = backend or system_backend()
        self.modes = tuple(modes)
        self.min_fps_ratio = min_fps_ratio
        self.events = ev.EventEmitter()
        self.devices: tuple[CameraDevice, ...] = ()
        #: The device capturing (None while off).
        self.device: CameraDevice | None = None
        self.size: tuple[int, int] = (0, 0)
        self._watch_interval = watch_interval
        self._watcher: CameraWatcher | None = None
        self._tracks: list[CameraTrack] = []
        self._capture: _Capture | None = None
        self._clock = _Clock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    # --- consumers ---------------------------------------------------------------------

    def track(self) -> CameraTrack:
        """A new consumer; stop it when done (the device stays as it is)."""
        track = CameraTrack(self)
        self._tracks.append(track)
        return track

    def _remove(self, track: LatestFrameTrack) -> None:
        if isinstance(track, CameraTrack) and track in self._tracks:
            self._tracks.remove(track)

    @property
    def running(self) -> bool:
        return self._capture is not None

    @property
    def capture_threads(self) -> int:
        """Capture threads alive (one at most, however many tracks)."""
        return sum(1 for t in threading.enumerate() if t.name.startswith("camera-capture "))

    # --- listing and hot-plug ----------------------------------------------------------

    async def watch(self) -> tuple[CameraDevice, ...]:
        """List the cameras and keep watching for plugged and unplugged ones."""
        self._loop = asyncio.get_running_loop()
        if self._watcher is None:
            self._watcher = CameraWatcher(
                self.backend, self._from_watcher, interval=self._watch_interval
            )
            self.devices = await asyncio.to_thread(self._watcher.start)
            self._announce()
        return self.devices

    async def refresh(self) -> tuple[CameraDevice, ...]:
        devices = await asyncio.to_thread(self.backend.list_devices)
        self._devices_changed(devices)
        return devices

    def _from_watcher(self, devices: tuple[CameraDevice, ...]) -> None:
        self._post(self._devices_changed, devices)

    def _devices_changed(self, devices: tuple[CameraDevice, ...]) -> None:
        if devices == self.devices:
            return
        self.devices = devices
        self._announce()
        capture = self._capture
        if capture is not None and all(d.id != capture.device.id for d in devices):
            # Unplugged: its reads may take a while to fail (or never, on some
            # drivers); the listing is proof enough.
            self._lost(capture, CameraError("missing", capture.device.name))

    def _announce(self) -> None:
        self.events.emit(CamerasChanged(self.devices, self.device.id if self.device else ""))

    def find(self, device_id: str) -> CameraDevice | None:
        return next((d for d in self.devices if d.id == device_id), None)

    # --- on and off ----------------------------------------------------------------------

    async def start(self, device_id: str = "") -> CameraDevice:
        """Capture from ``device_id`` ("" = the one in use, else the first listed).

        Raises CameraError (the camera stays as it was).  Already capturing from
        that device: nothing happens.  Another device: switched without a gap in
        the tracks (the new one is opened before the old one is closed).
        """
        async with self._lock:
            self._loop = asyncio.get_running_loop()
            if self._watcher is None:
                self.devices = await asyncio.to_thread(self.backend.list_devices)
            current = self._capture
            if not device_id and current is not None:
                return current.device
            device = self.find(device_id) if device_id else (self.devices or (None,))[0]
            if device is None:
                raise CameraError("missing", "", f"no camera {device_id!r}" if device_id else "")
            if current is not None and current.device.id == device.id:
                return device
            handle = await asyncio.to_thread(self._open, device)
            self._replace(handle, device)
            return device

    async def stop(self) -> None:
        """Release the device (its LED goes off); the tracks wait for the next start."""
        async with self._lock:
            capture = self._capture
            if capture is None:
                return
            self._capture = None
            self.device = None
            self.size = (0, 0)
            capture.stop()
            # Until its thread has closed it, the device is not free for others.
            await asyncio.to_thread(capture.join)
            self._state_changed()

    async def close(self) -> None:
        await self.stop()
        if self._watcher is not None:
            await asyncio.to_thread(self._watcher.stop)
            self._watcher = None
        for track in tuple(self._tracks):
            track.stop()

    def _open(self, device: CameraDevice) -> CaptureHandle:
        """The first mode the device delivers as asked, else the first near miss.

        Each attempt is closed before the next: a device is open once at a time
        (V4L2 answers EBUSY to a second stream on the same node).
        """
        near_miss: CaptureMode | None = None
        last_error: CameraError | None = None
        for mode in self.modes:
            try:
                handle = self.backend.open(device, mode)
            except Exception as exc:
                error = camera_error(exc, device.name)
                if error.kind in ("missing", "in_use", "denied"):
                    raise error from exc  # no other mode will do better
                last_error = error
                log.info("camera %s: %s refused: %s", device.name, mode, exc)
                continue
            got = f"{handle.width}x{handle.height}@{handle.fps:.3g}"
            if self._delivers(handle, mode):
                log.info("camera %s opened at %s", device.name, got)
                return handle
            log.info("camera %s: asked %s, got %s", device.name, mode, got)
            handle.close()
            # What the device chose for the size we liked best: the fallback.
            near_miss = near_miss or mode
        try:
            # None (no mode was accepted at all): as the device likes.
            return self.backend.open(device, near_miss)
        except Exception as exc:
            error = camera_error(exc, device.name)
            raise (last_error if error.kind == "failed" and last_error else error) from exc

    def _delivers(self, handle: CaptureHandle, mode: CaptureMode) -> bool:
        if (handle.width, handle.height) != (mode.width, mode.height):
            return False
        return not handle.fps or handle.fps >= mode.fps * self.min_fps_ratio

    def _replace(self, handle: CaptureHandle, device: CameraDevice) -> None:
        old = self._capture
        capture = _Capture(handle, device, self._clock, self._from_capture, self._capture_failed)
        self._capture = capture
        self.device = device
        self.size = (handle.width, handle.height)
        capture.start()
        if old is not None:
            # Its thread closes it on its next frame; the new device already runs.
            old.stop()
        self._state_changed()

    def _state_changed(self) -> None:
        self.events.emit(CameraStateChanged(self.running, self.device, *self.size))
        self._announce()

    # --- reports from the capture thread, on the loop ----------------------------------

    def _from_capture(self, capture: _Capture, frame: av.VideoFrame) -> None:
        self._post(self._deliver, capture, frame)

    def _deliver(self, capture: _Capture, frame: av.VideoFrame) -> None:
        if capture is not self._capture:
            return
        for track in self._tracks:
            track.push(frame)

    def _capture_failed(self, capture: _Capture, exc: BaseException) -> None:
        self._post(self._lost, capture, camera_error(exc, capture.device.name))

    def _lost(self, capture: _Capture, error: CameraError) -> None:
        if capture is not self._capture:
            return
        log.warning("camera %s stopped: %s", capture.device.name, error)
        capture.stop()
        self._capture = None
        self.device = None
        self.size = (0, 0)
        spawn(self._recover(capture.device, error), "camera-fallback")

    async def _recover(self, lost: CameraDevice, error: CameraError) -> None:
        """A device that stopped: if it is gone, the next one takes over (or none)."""
        async with self._lock:
            if self._capture is not None:
                return  # the user started one meanwhile
            try:
                devices = await asyncio.to_thread(self.backend.list_devices)
            except Exception:
                devices = self.devices
            if devices != self.devices:
                self.devices = devices
            still_there = any(d.id == lost.id for d in devices)
            if still_there and error.kind != "missing":
                self._state_changed()
                self.events.emit(CameraProblem(error.kind, lost.name))
                return
            for candidate in devices:
                if candidate.id == lost.id:
                    continue
                try:
                    handle = await asyncio.to_thread(self._open, candidate)
                except CameraError as exc:
                    log.info("camera %s cannot take over: %s", candidate.name, exc)
                    continue
                self._replace(handle, candidate)
                self.events.emit(CameraProblem("fell_back", lost.name, candidate.name))
                return
            self._state_changed()
            self.events.emit(CameraProblem("fell_back", lost.name, ""))

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(callback, *args)
