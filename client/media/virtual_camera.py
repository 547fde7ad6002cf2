"""Cameras that behave like devices without hardware: for tests, demos and machines
with no camera (and no ``v4l2loopback`` module to fake one in the kernel).

Each virtual camera is an FFmpeg ``lavfi`` source opened through ``av.open`` as a
real device is, paced in real time by FFmpeg's ``realtime`` filter (a camera
blocks until its next frame), and it keeps a device's rules: one program at a
time (a second opener gets EBUSY, as V4L2 answers), a size it does not have is
replaced by the nearest one it has (as V4L2 drivers do), and once unplugged its
reads fail with ENODEV and it is gone from the listing.
"""

from __future__ import annotations

import errno
import threading
from dataclasses import dataclass, field

import av
import av.error

from client.media.camera import CaptureHandle, CaptureMode, PyAVCapture, open_input
from client.media.camera_devices import CameraDevice


def _raise_errno(code: int, url: str) -> None:
    # The very exception class PyAV raises for a device answering ``code``.
    av.error.err_check(-code, url)


@dataclass
class VirtualCamera:
    device: CameraDevice
    #: A lavfi source filter with its own arguments: ``testsrc2``, ``color=c=red``.
    source: str = "testsrc2"
    sizes: tuple[tuple[int, int], ...] = ((1280, 720), (640, 360))
    fps: int = 30
    opens: int = field(default=0, compare=False)

    def nearest_size(self, width: int, height: int) -> tuple[int, int]:
        fitting = [s for s in self.sizes if s[0] <= width and s[1] <= height]
        if fitting:
            return max(fitting, key=lambda s: s[0] * s[1])
        return min(self.sizes, key=lambda s: s[0] * s[1])

    def graph(self, width: int, height: int) -> str:
        joiner = ":" if "=" in self.source else "="
        return f"{self.source}{joiner}size={width}x{height}:rate={self.fps},realtime"


class _VirtualCapture:
    def __init__(self, backend: VirtualCameraBackend, camera: VirtualCamera, inner: PyAVCapture):
        self._backend = backend
        self._camera = camera
        self._inner = inner
        self.width = inner.width
        self.height = inner.height
        self.fps = inner.fps
        self._closed = False

    def read(self) -> av.VideoFrame:
        if not self._backend.plugged(self._camera.device.id):
            _raise_errno(errno.ENODEV, self._camera.device.url)
        return self._inner.read()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._inner.close()
            self._backend._release(self._camera.device.id, self)


class VirtualCameraBackend:
    """A set of virtual cameras that can be plugged, unplugged and held by others."""

    def __init__(self, cameras: tuple[VirtualCamera, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._cameras: dict[str, VirtualCamera] = {}
        self._owners: dict[str, object] = {}
        for camera in cameras:
            self.plug(camera)

    @classmethod
    def single(cls, name: str = "Virtual Camera", source: str = "testsrc2") -> VirtualCameraBackend:
        return cls((VirtualCamera(CameraDevice(f"virtual:{name}", name, name), source),))

    def plug(self, camera: VirtualCamera) -> None:
        with self._lock:
            self._cameras[camera.device.id] = camera

    def unplug(self, device_id: str) -> None:
        with self._lock:
            self._cameras.pop(device_id, None)

    def plugged(self, device_id: str) -> bool:
        with self._lock:
            return device_id in self._cameras

    def in_use(self, device_id: str) -> bool:
        with self._lock:
            return device_id in self._owners

    def hold(self, device_id: str, owner: object) -> None:
        """Another program takes the device (until ``let_go``)."""
        with self._lock:
            if device_id in self._owners:
                _raise_errno(errno.EBUSY, device_id)
            self._owners[device_id] = owner

    def let_go(self, device_id: str, owner: object) -> None:
        self._release(device_id, owner)

    def _release(self, device_id: str, owner: object) -> None:
        with self._lock:
            if self._owners.get(device_id) is owner:
                del self._owners[device_id]

    def list_devices(self) -> tuple[CameraDevice, ...]:
        with self._lock:
            return tuple(camera.device for camera in self._cameras.values())

    def open(self, device: CameraDevice, mode: CaptureMode | None) -> CaptureHandle:
        with self._lock:
            camera = self._cameras.get(device.id)
            if camera is None:
                _raise_errno(errno.ENOENT, device.url)
            assert camera is not None
            if device.id in self._owners:
                _raise_errno(errno.EBUSY, device.url)
            width, height = camera.nearest_size(
                *((mode.width, mode.height) if mode is not None else camera.sizes[0])
            )
            # Claimed before the (slow) open, as a driver does at its first ioctl.
            claim = object()
            self._owners[device.id] = claim
            camera.opens += 1
        try:
            inner = open_input(camera.graph(width, height), "lavfi", {})
        except BaseException:
            self._release(device.id, claim)
            raise
        handle = _VirtualCapture(self, camera, inner)
        with self._lock:
            self._owners[device.id] = handle
        return handle
