"""The camera: listing, one capture for many consumers, off releases the device, a
device in use, hot-plug, and a call without any camera.

This machine has no /dev/video* and no v4l2loopback module (no kernel modules at
all to load), so capture runs on ``VirtualCameraBackend``: FFmpeg sources opened
through the same ``av.open`` path, with a device's exclusivity and errors.  The
real V4L2 backend is exercised as far as a machine without cameras allows: its
listing, its ioctl, and its errors for a device that is not there.
"""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import av
import av.error
import numpy as np
import pytest

from client.call_session import CallSession, LocalMediaChanged
from client.livekit import events as ev
from client.livekit.room import RoomOptions
from client.local_media import DeviceProblem
from client.media.camera import (
    DEFAULT_MODES,
    Camera,
    CameraError,
    CameraProblem,
    CamerasChanged,
    CameraStateChanged,
    CameraTrack,
    PyAVCameraBackend,
    camera_error,
)
from client.media.camera_devices import (
    CameraDevice,
    V4l2Capability,
    linux_cameras,
    parse_avfoundation_list,
    parse_dshow_list,
    query_v4l2,
)
from client.media.test_sources import ToneTrack
from client.media.virtual_camera import VirtualCamera, VirtualCameraBackend
from devtools.sandbox.livekit_server import LiveKitServer
from devtools.waiting import wait_for
from tests.conftest import TokenFactory
from tests.sdk_peer import SdkPeer

pytestmark = pytest.mark.devices


def virtual(
    name: str,
    source: str = "testsrc2",
    sizes: tuple[tuple[int, int], ...] = ((1280, 720), (640, 360)),
) -> VirtualCamera:
    return VirtualCamera(CameraDevice(f"virtual:{name}", name, name), source, sizes)


def mean_rgb(frame: av.VideoFrame) -> np.ndarray:
    pixels: np.ndarray = frame.to_ndarray(format="rgb24")
    mean: np.ndarray = pixels.reshape(-1, 3).mean(axis=0)
    return mean


async def next_frame(track: CameraTrack, timeout: float = 5.0) -> av.VideoFrame:
    return await asyncio.wait_for(track.recv(), timeout)


# --- listing --------------------------------------------------------------------------


def _sysfs_node(root: Path, node: str, name: str, index: int) -> None:
    (root / node).mkdir(parents=True)
    (root / node / "name").write_text(name + "\n")
    (root / node / "index").write_text(f"{index}\n")


def test_linux_listing_keeps_capture_nodes_with_their_names(tmp_path: Path) -> None:
    sys_root = tmp_path / "sys"
    dev = tmp_path / "dev"
    (dev / "v4l" / "by-id").mkdir(parents=True)
    # A UVC webcam: a capture node and a metadata node; a second camera.
    _sysfs_node(sys_root, "video0", "Integrated Camera: Integrated C", 0)
    _sysfs_node(sys_root, "video1", "Integrated Camera: Integrated C", 1)
    _sysfs_node(sys_root, "video10", "USB Camera", 0)
    for node in ("video0", "video1", "video10"):
        (dev / node).touch()
    (dev / "v4l" / "by-id" / "usb-Acme_USB_Camera-video-index0").symlink_to(dev / "video10")

    # Not allowed to ask the nodes (no ioctl on plain files): sysfs decides.
    unreadable = linux_cameras(sys_root, dev, query=lambda _path: None)
    assert [(d.name, d.url) for d in unreadable] == [
        ("Integrated Camera: Integrated C", str(dev / "video0")),
        ("USB Camera", str(dev / "video10")),
    ]
    assert unreadable[1].id == "v4l2:usb-Acme_USB_Camera-video-index0"

    # Allowed: the node's own capabilities decide (a capture node may have index 1).
    def query(path: Path) -> V4l2Capability:
        return V4l2Capability("card", "usb-0000:00:14.0-1", path.name != "video0")

    readable = linux_cameras(sys_root, dev, query=query)
    assert [d.url for d in readable] == [str(dev / "video1"), str(dev / "video10")]


def test_this_machines_v4l2_listing_and_ioctl() -> None:
    nodes = sorted(Path("/sys/class/video4linux").glob("video*"))
    listed = linux_cameras()
    assert len(listed) <= len(nodes)
    assert all(Path(d.url).name in {n.name for n in nodes} for d in listed)
    # The capability ioctl on something that is not a V4L2 node is refused, not fatal.
    assert query_v4l2(Path("/dev/null")) is None
    assert query_v4l2(Path("/dev/video-that-is-not-there")) is None


def test_avfoundation_and_dshow_listings_are_parsed() -> None:
    avfoundation = [
        "AVFoundation video devices:",
        "[0] FaceTime HD Camera",
        "[1] Capture screen 0",
        "[2] OBS Virtual Camera",
        "AVFoundation audio devices:",
        "[0] MacBook Pro Microphone",
    ]
    assert parse_avfoundation_list(avfoundation) == (
        CameraDevice("avfoundation:FaceTime HD Camera", "FaceTime HD Camera", "0:none"),
        CameraDevice("avfoundation:OBS Virtual Camera", "OBS Virtual Camera", "2:none"),
    )
    dshow = [
        '"Integrated Camera" (video)',
        '  Alternative name "@device_pnp_\\\\?\\usb#vid_04f2&pid_b6d9"',
        '"Microphone Array (Realtek)" (audio)',
        '  Alternative name "@device_cm_{33D9A762}\\wave_{A1}"',
        '"OBS Virtual Camera" (video)',
    ]
    assert parse_dshow_list(dshow) == (
        CameraDevice(
            "dshow:@device_pnp_\\\\?\\usb#vid_04f2&pid_b6d9",
            "Integrated Camera",
            "video=@device_pnp_\\\\?\\usb#vid_04f2&pid_b6d9",
        ),
        CameraDevice(
            "dshow:name:OBS Virtual Camera", "OBS Virtual Camera", "video=OBS Virtual Camera"
        ),
    )
    older = ["DirectShow video devices", ' "Webcam C270"', "DirectShow audio devices", ' "Mic"']
    assert [d.name for d in parse_dshow_list(older)] == ["Webcam C270"]


# --- errors -----------------------------------------------------------------------------


async def test_real_v4l2_backend_reports_a_missing_camera() -> None:
    device = CameraDevice("v4l2:gone", "Gone Camera", "/dev/video-that-is-not-there")

    class OneListed(PyAVCameraBackend):
        def list_devices(self) -> tuple[CameraDevice, ...]:
            return (device,)

    camera = Camera(OneListed("v4l2"))
    with pytest.raises(CameraError) as raised:
        await camera.start(device.id)
    assert raised.value.kind == "missing"
    assert "Gone Camera" in raised.value.message
    assert not camera.running


def test_ffmpeg_errors_map_to_stable_kinds() -> None:
    kinds = {}
    for code in (errno.EBUSY, errno.ENOENT, errno.ENODEV, errno.EACCES, errno.EIO):
        with pytest.raises(av.FFmpegError) as raised:
            av.error.err_check(-code, "/dev/video0")  # the exception PyAV raises
        kinds[code] = camera_error(raised.value, "Cam").kind
    assert kinds == {
        errno.EBUSY: "in_use",
        errno.ENOENT: "missing",
        errno.ENODEV: "missing",
        errno.EACCES: "denied",
        errno.EIO: "failed",
    }
    assert camera_error(OSError(errno.EBUSY, "busy"), "Cam").message == (
        "The camera “Cam” is being used by another application."
    )


# --- capture ---------------------------------------------------------------------------


async def test_one_capture_thread_feeds_every_consumer() -> None:
    backend = VirtualCameraBackend((virtual("Cam A"),))
    camera = Camera(backend)
    preview, published = camera.track(), camera.track()
    try:
        device = await camera.start()
        assert device.name == "Cam A"
        assert camera.size == (1280, 720)  # the first preferred mode
        assert camera.capture_threads == 1
        pairs = [(await next_frame(preview), await next_frame(published)) for _ in range(10)]
        for a, b in pairs:
            assert a is b, "both consumers get the same captured picture"
            assert (a.width, a.height, a.format.name) == (1280, 720, "yuv420p")
        stamps = [int(a.pts or 0) for a, _ in pairs]
        assert stamps == sorted(set(stamps))
        assert camera.capture_threads == 1
        assert backend.in_use(device.id)
    finally:
        await camera.close()
    assert camera.capture_threads == 0
    assert not backend.in_use("virtual:Cam A")


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        (((640, 360),), (640, 360)),  # 720p refused: the 360p mode
        (((640, 480), (320, 240)), (640, 480)),  # no preferred size: a near one
        (((1920, 1080),), (1920, 1080)),  # only bigger: what it has
    ],
)
async def test_capture_mode_falls_back(
    sizes: tuple[tuple[int, int], ...], expected: tuple[int, int]
) -> None:
    backend = VirtualCameraBackend((virtual("Cam", sizes=sizes),))
    camera = Camera(backend)
    track = camera.track()
    try:
        await camera.start()
        assert camera.size == expected
        frame = await next_frame(track)
        assert (frame.width, frame.height) == expected
    finally:
        await camera.close()
    assert not backend.in_use("virtual:Cam")


async def test_turning_off_releases_the_device_and_on_resumes_the_same_tracks() -> None:
    backend = VirtualCameraBackend((virtual("Cam"),))
    camera = Camera(backend, modes=DEFAULT_MODES[2:3])
    track = camera.track()
    states: list[CameraStateChanged] = []
    camera.events.on(CameraStateChanged, states.append)
    try:
        await camera.start()
        await next_frame(track)
        await camera.stop()
        assert not backend.in_use("virtual:Cam")
        assert camera.capture_threads == 0
        # Another program can take it now.
        other = Camera(backend)
        await other.start()
        await other.close()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(track.recv(), 0.5)
        assert track.readyState == "live"
        await camera.start()
        before = track.frames_received
        await next_frame(track)
        assert track.frames_received == before + 1
        assert [s.running for s in states] == [True, False, True]
    finally:
        await camera.close()


async def test_a_camera_in_use_elsewhere_is_a_clear_error() -> None:
    backend = VirtualCameraBackend((virtual("Cam"),))
    other_program = object()
    backend.hold("virtual:Cam", other_program)
    camera = Camera(backend)
    track = camera.track()
    try:
        with pytest.raises(CameraError) as raised:
            await camera.start()
        assert raised.value.kind == "in_use"
        assert raised.value.device == "Cam"
        assert not camera.running
        assert track.readyState == "live"
        backend.let_go("virtual:Cam", other_program)
        await camera.start()
        await next_frame(track)
    finally:
        await camera.close()


async def test_no_camera_at_all() -> None:
    camera = Camera(VirtualCameraBackend())
    try:
        assert await camera.watch() == ()
        with pytest.raises(CameraError) as raised:
            await camera.start()
        assert (raised.value.kind, raised.value.device) == ("missing", "")
        assert raised.value.message == "No camera is connected."
    finally:
        await camera.close()


async def test_hot_plug_updates_the_list_and_the_active_camera_falls_back() -> None:
    backend = VirtualCameraBackend((virtual("Pattern"),))
    camera = Camera(backend, modes=DEFAULT_MODES[2:3], watch_interval=0.1)
    track = camera.track()
    lists: list[CamerasChanged] = []
    problems: list[CameraProblem] = []
    camera.events.on(CamerasChanged, lists.append)
    camera.events.on(CameraProblem, problems.append)
    try:
        assert [d.name for d in await camera.watch()] == ["Pattern"]
        await camera.start()
        backend.plug(virtual("Red", "color=c=red"))
        await wait_for(lambda: len(camera.devices) == 2, 5, "the new camera listed")
        assert [d.name for d in lists[-1].devices] == ["Pattern", "Red"]
        assert lists[-1].active == "virtual:Pattern"

        backend.unplug("virtual:Pattern")
        await wait_for(lambda: bool(problems), 5, "the fallback")
        assert problems == [CameraProblem("fell_back", "Pattern", "Red")]
        assert camera.device is not None and camera.device.name == "Red"
        red, green, blue = mean_rgb(await next_frame(track))
        for _ in range(3):  # a pattern frame may still have been in flight
            red, green, blue = mean_rgb(await next_frame(track))
        assert red > 200 and green < 40 and blue < 40, (red, green, blue)
        assert camera.capture_threads == 1

        backend.unplug("virtual:Red")
        await wait_for(lambda: len(problems) == 2, 5, "no camera left")
        assert problems[1] == CameraProblem("fell_back", "Red", "")
        assert not camera.running
        assert lists[-1].devices == () and lists[-1].active == ""
        await wait_for(lambda: camera.capture_threads == 0, 5, "the capture thread ended")
        assert track.readyState == "live"
    finally:
        await camera.close()


# --- in a call --------------------------------------------------------------------------


class CameraSources:
    def __init__(self, camera: Camera) -> None:
        self._camera = camera

    def camera(self) -> CameraTrack:
        return self._camera.track()

    def microphone(self) -> ToneTrack:
        return ToneTrack(440.0)

    async def set_camera_running(self, on: bool) -> None:
        if on:
            await self._camera.start()
        else:
            await self._camera.stop()


async def test_a_call_without_any_camera(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    camera = Camera(VirtualCameraBackend())
    assert await camera.watch() == ()  # the pre-join shows "no camera"
    session = CallSession(RoomOptions(ice_servers=[]), media=CameraSources(camera))
    peer = SdkPeer(livekit_server.ws_url, token_factory("sdk", room_name, name="SDK"))
    try:
        await session.join(
            livekit_server.ws_url,
            token_factory("ours", room_name, name="Nous"),
            camera_on=False,
            microphone_on=True,
        )
        await peer.connect()
        with pytest.raises(CameraError) as raised:
            await camera.start()
        assert raised.value.kind == "missing"
        assert session.room.state == ev.ConnectionState.CONNECTED
        assert session.microphone is not None
        sid = session.microphone.sid
        await wait_for(lambda: peer.audio_frequency(sid) > 0, 15, "our microphone heard")
        assert abs(peer.audio_frequency(sid) - 440.0) <= 5
    finally:
        await peer.close()
        await session.leave()
        await camera.close()


async def test_a_call_sends_the_camera_and_off_frees_it(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    backend = VirtualCameraBackend((virtual("Red", "color=c=red"),))
    camera = Camera(backend, modes=DEFAULT_MODES[2:3])
    session = CallSession(RoomOptions(ice_servers=[]), media=CameraSources(camera))
    peer = SdkPeer(livekit_server.ws_url, token_factory("sdk", room_name, name="SDK"))
    seen: list[av.VideoFrame] = []

    def observe(frame: av.VideoFrame | av.AudioFrame) -> None:
        if isinstance(frame, av.VideoFrame) and len(seen) < 5:
            seen.append(frame)

    session.camera_feed.add_observer(observe)
    try:
        await camera.start()
        await session.join(
            livekit_server.ws_url,
            token_factory("ours", room_name, name="Nous"),
            camera_on=True,
            microphone_on=False,
        )
        await peer.connect()
        assert session.camera is not None
        sid = session.camera.sid
        await wait_for(lambda: peer.video.get(sid) is not None, 15, "our camera subscribed")
        await wait_for(lambda: peer.video[sid].frames >= 20, 15, "our camera's frames")
        assert seen and all(f.width == 640 for f in seen)  # the self view, same source
        await session.set_camera_on(False)  # the session releases the device itself
        assert not backend.in_use("virtual:Red")
        assert camera.device is None
        assert session.room.state == ev.ConnectionState.CONNECTED
        await session.set_camera_on(True)
        assert camera.device is not None
        received = peer.video[sid].frames
        await wait_for(lambda: peer.video[sid].frames >= received + 10, 15, "frames after on")
    finally:
        await peer.close()
        await session.leave()
        await camera.close()


async def test_a_camera_in_use_elsewhere_is_reported_and_the_call_goes_on(
    livekit_server: LiveKitServer, token_factory: TokenFactory, room_name: str
) -> None:
    backend = VirtualCameraBackend((virtual("Red", "color=c=red"),))
    other_program = Camera(backend, modes=DEFAULT_MODES[2:3])
    camera = Camera(backend, modes=DEFAULT_MODES[2:3])
    session = CallSession(RoomOptions(ice_servers=[]), media=CameraSources(camera))
    problems: list[DeviceProblem] = []
    changes: list[LocalMediaChanged] = []
    session.events.on(DeviceProblem, problems.append)
    session.events.on(LocalMediaChanged, changes.append)
    try:
        await other_program.start()
        await session.join(
            livekit_server.ws_url,
            token_factory("ours", room_name, name="Nous"),
            camera_on=True,
            microphone_on=False,
        )
        assert session.room.state == ev.ConnectionState.CONNECTED
        assert [(p.kind, p.problem) for p in problems] == [("camera", "in_use")]
        assert not session.camera_on and changes[-1].camera_on is False
        await session.set_camera_on(True)  # still busy: said again, still off
        assert len(problems) == 2 and not session.camera_on
        await other_program.stop()
        await session.set_camera_on(True)
        assert session.camera_on and camera.device is not None
    finally:
        await session.leave()
        await other_program.close()
        await camera.close()
