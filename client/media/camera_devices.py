"""Which cameras this machine has, by the names their users know, and when that changes.

Linux lists the Video4Linux nodes in sysfs and keeps only those that capture video
(a UVC webcam also shows a metadata node, which cannot be opened as a camera).
macOS and Windows have no such listing outside their media frameworks, so there
we ask FFmpeg's own device (``avfoundation``, ``dshow``) to list them: it logs
them, and the log is parsed.

Nothing here opens a camera for capture: asking a V4L2 node for its capabilities
neither takes the device from another program nor lights its LED.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import struct
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import av
import av.logging

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraDevice:
    #: Stable while the camera stays plugged in (and across replugging where the
    #: platform allows it): what a setting remembers.
    id: str
    #: The name the user knows ("Integrated Camera").
    name: str
    #: What the capture backend opens (``/dev/video0``, ``0:none``, ``video=...``).
    url: str


class CameraLister(Protocol):
    def list_devices(self) -> tuple[CameraDevice, ...]: ...


# --- Linux: Video4Linux in sysfs ------------------------------------------------------

SYS_VIDEO4LINUX = Path("/sys/class/video4linux")
DEV = Path("/dev")

# struct v4l2_capability: driver[16] card[32] bus_info[32] version capabilities
# device_caps reserved[3]; VIDIOC_QUERYCAP = _IOR('V', 0, struct v4l2_capability).
_V4L2_CAPABILITY = struct.Struct("16s32s32sIII12x")
_VIDIOC_QUERYCAP = (2 << 30) | (_V4L2_CAPABILITY.size << 16) | (ord("V") << 8) | 0
_V4L2_CAP_VIDEO_CAPTURE = 0x00000001
_V4L2_CAP_DEVICE_CAPS = 0x80000000


@dataclass(frozen=True)
class V4l2Capability:
    card: str
    bus_info: str
    can_capture: bool


def query_v4l2(path: Path) -> V4l2Capability | None:
    """The node's own capabilities, or None when it cannot be asked (no permission)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        buffer = bytearray(_V4L2_CAPABILITY.size)
        fcntl.ioctl(fd, _VIDIOC_QUERYCAP, buffer)
    except OSError:
        return None
    finally:
        os.close(fd)
    _driver, card, bus, _version, capabilities, device_caps = _V4L2_CAPABILITY.unpack(buffer)
    # A device with several nodes reports the union in ``capabilities`` and each
    # node's own in ``device_caps``.
    caps = device_caps if capabilities & _V4L2_CAP_DEVICE_CAPS else capabilities
    return V4l2Capability(
        card=card.split(b"\0", 1)[0].decode(errors="replace").strip(),
        bus_info=bus.split(b"\0", 1)[0].decode(errors="replace").strip(),
        can_capture=bool(caps & _V4L2_CAP_VIDEO_CAPTURE),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _stable_names(dev: Path) -> dict[str, str]:
    """/dev/videoN -> its udev by-id name: the same camera keeps it across ports."""
    names: dict[str, str] = {}
    by_id = dev / "v4l" / "by-id"
    with contextlib.suppress(OSError):
        for link in sorted(by_id.iterdir()):
            with contextlib.suppress(OSError):
                names[os.path.realpath(link)] = link.name
    return names


def linux_cameras(
    sys_root: Path = SYS_VIDEO4LINUX,
    dev: Path = DEV,
    query: Callable[[Path], V4l2Capability | None] = query_v4l2,
) -> tuple[CameraDevice, ...]:
    """The V4L2 capture nodes, in node order."""
    stable = _stable_names(dev)
    found: list[tuple[int, CameraDevice]] = []
    try:
        entries = list(sys_root.iterdir())
    except OSError:
        return ()
    for entry in entries:
        match = re.fullmatch(r"video(\d+)", entry.name)
        if match is None:
            continue
        node = dev / entry.name
        capability = query(node)
        if capability is not None:
            if not capability.can_capture:
                continue
        elif _read(entry / "index") not in ("", "0"):
            # Not allowed to ask the node itself: the first node of a device is the
            # capture one (the others are metadata), which sysfs tells.
            continue
        name = _read(entry / "name") or (capability.card if capability else "") or entry.name
        real = os.path.realpath(node)
        device_id = stable.get(real) or (
            f"{capability.bus_info}/{name}" if capability and capability.bus_info else str(node)
        )
        found.append((int(match.group(1)), CameraDevice(f"v4l2:{device_id}", name, str(node))))
    return tuple(device for _, device in sorted(found, key=lambda item: item[0]))


class LinuxCameraLister:
    def __init__(self, sys_root: Path = SYS_VIDEO4LINUX, dev: Path = DEV) -> None:
        self.sys_root = sys_root
        self.dev = dev

    def list_devices(self) -> tuple[CameraDevice, ...]:
        return linux_cameras(self.sys_root, self.dev)


# --- macOS and Windows: FFmpeg's own listing -----------------------------------------


def logged_device_list(format_name: str) -> list[str]:
    """What FFmpeg's ``format_name`` input logs when asked to list its devices."""
    try:
        av.ContainerFormat(format_name, "r")
    except ValueError:
        return []
    previous = av.logging.get_level()
    # PyAV silences FFmpeg by default; the listing is logged at INFO.
    av.logging.set_level(av.logging.INFO)
    try:
        # Opening always "fails": listing is all it does.
        with av.logging.Capture() as logs, contextlib.suppress(av.FFmpegError, OSError):
            av.open(
                "dummy" if format_name == "dshow" else "",
                format=format_name,
                options={"list_devices": "true"},
            ).close()
    finally:
        av.logging.set_level(previous)
    lines: list[str] = []
    for _level, _name, message in logs:
        lines.extend(part for part in str(message).splitlines() if part.strip())
    return lines


def parse_avfoundation_list(lines: Iterable[str]) -> tuple[CameraDevice, ...]:
    """``AVFoundation video devices:`` then ``[0] FaceTime HD Camera`` lines."""
    devices: list[CameraDevice] = []
    in_video = False
    for line in lines:
        if "AVFoundation video devices" in line:
            in_video = True
            continue
        if "AVFoundation audio devices" in line:
            in_video = False
            continue
        match = re.search(r"\[(\d+)\]\s+(.+?)\s*$", line)
        if in_video and match is not None:
            index, name = match.groups()
            # Screens are listed as video devices too; they are shared, not cameras.
            if name.startswith("Capture screen"):
                continue
            devices.append(CameraDevice(f"avfoundation:{name}", name, f"{index}:none"))
    return tuple(devices)


def parse_dshow_list(lines: Iterable[str]) -> tuple[CameraDevice, ...]:
    """``"Name" (video)`` lines, each followed by its ``Alternative name "@device..."``.

    Older FFmpeg builds put the devices under ``DirectShow video devices`` headers
    without the ``(video)`` suffix; both layouts are read.
    """
    devices: list[CameraDevice] = []
    section = ""
    for line in lines:
        if "DirectShow video devices" in line:
            section = "video"
            continue
        if "DirectShow audio devices" in line:
            section = "audio"
            continue
        alternative = re.search(r'Alternative name\s+"(.+)"', line)
        if alternative is not None:
            if devices and devices[-1].id.startswith("dshow:name:"):
                last = devices[-1]
                # The alternative (PnP) name is unique even for two identical cameras.
                devices[-1] = CameraDevice(
                    f"dshow:{alternative.group(1)}", last.name, f"video={alternative.group(1)}"
                )
            continue
        match = re.search(r'"(.+)"(?:\s+\((\w+)\))?\s*$', line)
        if match is None:
            continue
        name, kind = match.groups()
        if (kind or section) != "video":
            continue
        devices.append(CameraDevice(f"dshow:name:{name}", name, f"video={name}"))
    return tuple(devices)


class FFmpegCameraLister:
    """Listing through an FFmpeg input device that can list (avfoundation, dshow)."""

    def __init__(self, format_name: str) -> None:
        self.format_name = format_name

    def list_devices(self) -> tuple[CameraDevice, ...]:
        lines = logged_device_list(self.format_name)
        if self.format_name == "avfoundation":
            return parse_avfoundation_list(lines)
        return parse_dshow_list(lines)


def system_lister() -> CameraLister:
    if sys.platform == "darwin":
        return FFmpegCameraLister("avfoundation")
    if sys.platform == "win32":
        return FFmpegCameraLister("dshow")
    return LinuxCameraLister()


# --- hot-plug --------------------------------------------------------------------------


class CameraWatcher:
    """Polls a listing on its own thread and reports each change.

    Polling (sysfs once a second is a few directory reads) works the same on every
    platform and needs no udev or notification service; ``on_change`` runs on the
    watcher's thread and must hand over to its own loop.
    """

    def __init__(
        self,
        lister: CameraLister,
        on_change: Callable[[tuple[CameraDevice, ...]], None],
        *,
        interval: float = 1.0,
    ) -> None:
        self.lister = lister
        self.interval = interval
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.devices: tuple[CameraDevice, ...] = ()

    def start(self) -> tuple[CameraDevice, ...]:
        """List once (the caller gets the first listing at once), then keep watching."""
        self.devices = self._list()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="camera-watcher", daemon=True)
            self._thread.start()
        return self.devices

    def _list(self) -> tuple[CameraDevice, ...]:
        try:
            return self.lister.list_devices()
        except Exception as exc:
            # A listing that failed once must not end the watching.
            if not (isinstance(exc, OSError) and exc.errno == errno.ENOENT):
                log.warning("cannot list the cameras: %s", exc)
            return self.devices

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            devices = self._list()
            if devices != self.devices:
                self.devices = devices
                try:
                    self._on_change(devices)
                except Exception:
                    log.exception("camera listing observer failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
