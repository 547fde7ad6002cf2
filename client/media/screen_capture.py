"""Sharing a screen or one window: what can be shared, and its capture as a video track.

X11 only: screens (RandR monitors) and top-level windows are listed through
libX11 and libXrandr (ctypes: they are on every X desktop, no Python binding to
install), and captured by FFmpeg's ``x11grab`` (through PyAV, as the camera is).
A window is grabbed by its id, so it is its content, not what covers it, that
is shared on a compositing desktop, and its end is noticed: the grab fails, the
window is looked up, and the share ends with ``window_closed``.

Wayland keeps other programs' pixels private; sharing there needs the desktop
portal's ScreenCast interface and a PipeWire consumer, and the FFmpeg that PyAV
ships has no PipeWire input: on Wayland the share reports ``unavailable``.

Shares favour detail over motion: at most 1080p (scaled down with area
averaging, which keeps text legible), 5 to 15 frames per second, and their track
says how to encode them (``ScreenEncoding``: a bitrate for text, screen-content
VP8; see ``client.livekit.screen_encoding``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import av
from av.video.reformatter import Interpolation, VideoReformatter

from client.livekit import events as ev
from client.livekit.screen_encoding import ScreenEncoding
from client.media.camera import VIDEO_TIME_BASE, LatestFrameTrack, PyAVCapture, open_input

log = logging.getLogger(__name__)

MAX_SIZE = (1920, 1080)
MIN_FPS, MAX_FPS, DEFAULT_FPS = 5, 15, 10

ShareProblemKind = Literal["unavailable", "missing", "failed"]
DisplayServer = Literal["x11", "wayland", "none"]
EndReason = Literal["stopped", "window_closed", "failed"]


class ScreenShareError(Exception):
    """Sharing cannot start; ``kind`` is stable (the UI's message), ``reason`` says why."""

    def __init__(self, kind: ShareProblemKind, reason: str, detail: str = "") -> None:
        self.kind: ShareProblemKind = kind
        #: ``wayland``, ``no_display``, ``platform``, ``window_gone``, ``capture``.
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


def display_server(env: Mapping[str, str] | None = None) -> DisplayServer:
    """Which display server this session draws on."""
    env = os.environ if env is None else env
    session = env.get("XDG_SESSION_TYPE", "").lower()
    # Under XWayland DISPLAY is set too, but x11grab would only see X clients'
    # windows (and a black desktop): a Wayland session is a Wayland session.
    if session == "wayland" or (env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY")):
        return "wayland"
    if env.get("DISPLAY"):
        return "x11"
    return "none"


def check_available(env: Mapping[str, str] | None = None) -> str:
    """The X display to capture; raises ScreenShareError when sharing is impossible."""
    env = os.environ if env is None else env
    server = display_server(env)
    if server == "wayland":
        raise ScreenShareError(
            "unavailable", "wayland", "screen sharing on Wayland is not available"
        )
    if server == "none":
        raise ScreenShareError("unavailable", "no_display", "no X display to capture")
    try:
        av.ContainerFormat("x11grab", "r")
    except ValueError:
        raise ScreenShareError(
            "unavailable", "platform", "this FFmpeg build cannot capture X11"
        ) from None
    return env["DISPLAY"]


# --- what can be shared (libX11 through ctypes) ---------------------------------------


@dataclass(frozen=True)
class ShareTarget:
    kind: Literal["screen", "window"]
    #: ``screen:<index>`` or ``window:<X id>``.
    id: str
    #: The monitor's output name ("HDMI-1") or the window's title.
    name: str
    x: int
    y: int
    width: int
    height: int
    window_id: int = 0
    #: The window's process (to leave our own windows out), 0 when unknown.
    pid: int = 0
    primary: bool = False


class _XWindowAttributes(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("border_width", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("visual", ctypes.c_void_p),
        ("root", ctypes.c_ulong),
        ("class_", ctypes.c_int),
        ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int),
        ("backing_store", ctypes.c_int),
        ("backing_planes", ctypes.c_ulong),
        ("backing_pixel", ctypes.c_ulong),
        ("save_under", ctypes.c_int),
        ("colormap", ctypes.c_ulong),
        ("map_installed", ctypes.c_int),
        ("map_state", ctypes.c_int),
        ("all_event_masks", ctypes.c_long),
        ("your_event_mask", ctypes.c_long),
        ("do_not_propagate_mask", ctypes.c_long),
        ("override_redirect", ctypes.c_int),
        ("screen", ctypes.c_void_p),
    ]


class _XRRMonitorInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_ulong),
        ("primary", ctypes.c_int),
        ("automatic", ctypes.c_int),
        ("noutput", ctypes.c_int),
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("mwidth", ctypes.c_int),
        ("mheight", ctypes.c_int),
        ("outputs", ctypes.c_void_p),
    ]


_IS_VIEWABLE = 2
_ANY_PROPERTY_TYPE = 0
_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class _Xlib:
    """The few libX11 / libXrandr calls needed, on displays of our own.

    Xlib's default error handler ends the process, and a window may vanish
    between listing it and asking for its size: ours ignores errors on our own
    displays (the call then reports failure) and hands any other display's to the
    handler that was there before.
    """

    def __init__(self) -> None:
        x11 = ctypes.util.find_library("X11")
        if x11 is None:
            raise ScreenShareError("unavailable", "platform", "libX11 is not installed")
        self.x = ctypes.CDLL(x11)
        xrandr = ctypes.util.find_library("Xrandr")
        self.xrandr = ctypes.CDLL(xrandr) if xrandr else None
        self.lock = threading.Lock()
        self._ours: set[int] = set()
        self._declare()
        # Kept referenced: libX11 holds only the C pointer.
        self._handler = _ERROR_HANDLER(self._on_error)
        self._previous = self.x.XSetErrorHandler(self._handler)

    def _declare(self) -> None:
        x = self.x
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XDefaultScreen.argtypes = [ctypes.c_void_p]
        x.XDisplayWidth.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x.XInternAtom.restype = ctypes.c_ulong
        x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x.XGetAtomName.restype = ctypes.c_void_p
        x.XGetAtomName.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        x.XFree.argtypes = [ctypes.c_void_p]
        x.XGetWindowProperty.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulong,
            ctypes.c_ulong,
            ctypes.c_long,
            ctypes.c_long,
            ctypes.c_int,
            ctypes.c_ulong,
            ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.c_void_p),
        ]
        x.XQueryTree.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulong,
            ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.POINTER(ctypes.c_uint),
        ]
        x.XGetWindowAttributes.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulong,
            ctypes.POINTER(_XWindowAttributes),
        ]
        x.XTranslateCoordinates.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulong,
            ctypes.c_ulong,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_ulong),
        ]
        x.XSetErrorHandler.restype = ctypes.c_void_p
        x.XSetErrorHandler.argtypes = [_ERROR_HANDLER]
        if self.xrandr is not None:
            self.xrandr.XRRGetMonitors.restype = ctypes.POINTER(_XRRMonitorInfo)
            self.xrandr.XRRGetMonitors.argtypes = [
                ctypes.c_void_p,
                ctypes.c_ulong,
                ctypes.c_int,
                ctypes.POINTER(ctypes.c_int),
            ]
            self.xrandr.XRRFreeMonitors.argtypes = [ctypes.c_void_p]

    def _on_error(self, display: int | None, event: int | None) -> int:
        if display in self._ours or self._previous is None:
            return 0
        previous = _ERROR_HANDLER(self._previous)
        return int(previous(display, event))

    @contextlib.contextmanager
    def display(self, name: str) -> Iterator[_Display]:
        """A connection of our own to ``name``, for the time of one question.

        Not kept open: a connection to a server that went away makes Xlib end the
        process at its next use.
        """
        with self.lock:
            handle = self._connect(name)
            try:
                yield _Display(self, handle)
            finally:
                self.x.XCloseDisplay(handle)
                self._ours.discard(handle)

    def _connect(self, name: str) -> int:
        # Xvfb was seen refusing about one connection in twenty when they come and
        # go quickly (a listing polled by the UI): a refusal is retried.
        for attempt in range(6):
            handle = self.x.XOpenDisplay(name.encode())
            if handle:
                self._ours.add(handle)
                return int(handle)
            time.sleep(0.01 * (attempt + 1))
        raise ScreenShareError("failed", "no_display", f"cannot open display {name!r}")


class _Display:
    def __init__(self, xlib: _Xlib, handle: int) -> None:
        self.xlib = xlib
        self.x = xlib.x
        self.handle = handle
        self.root = int(self.x.XDefaultRootWindow(handle))

    def atom(self, name: str) -> int:
        return int(self.x.XInternAtom(self.handle, name.encode(), 0))

    def atom_name(self, atom: int) -> str:
        pointer = self.x.XGetAtomName(self.handle, atom)
        if not pointer:
            return ""
        try:
            return (ctypes.string_at(pointer) or b"").decode(errors="replace")
        finally:
            self.x.XFree(pointer)

    def property(self, window: int, name: str) -> tuple[int, bytes] | None:
        """(format, raw data) of a window property, or None."""
        actual_type = ctypes.c_ulong()
        actual_format = ctypes.c_int()
        items = ctypes.c_ulong()
        after = ctypes.c_ulong()
        data = ctypes.c_void_p()
        status = self.x.XGetWindowProperty(
            self.handle,
            window,
            self.atom(name),
            0,
            1 << 20,
            0,
            _ANY_PROPERTY_TYPE,
            ctypes.byref(actual_type),
            ctypes.byref(actual_format),
            ctypes.byref(items),
            ctypes.byref(after),
            ctypes.byref(data),
        )
        if status != 0 or not data.value:
            return None
        try:
            # Xlib returns 32-bit items as C longs.
            unit = {8: 1, 16: 2, 32: ctypes.sizeof(ctypes.c_long)}.get(actual_format.value, 1)
            return actual_format.value, ctypes.string_at(data.value, items.value * unit)
        finally:
            self.x.XFree(data)

    def windows_property(self, window: int, name: str) -> list[int]:
        found = self.property(window, name)
        if found is None or found[0] != 32:
            return []
        array = (
            ctypes.c_ulong * (len(found[1]) // ctypes.sizeof(ctypes.c_ulong))
        ).from_buffer_copy(found[1])
        return [int(value) for value in array]

    def title(self, window: int) -> str:
        for name in ("_NET_WM_NAME", "WM_NAME"):
            found = self.property(window, name)
            if found is not None and found[1]:
                encoding = "utf-8" if name == "_NET_WM_NAME" else "latin-1"
                return found[1].decode(encoding, errors="replace")
        return ""

    def attributes(self, window: int) -> _XWindowAttributes | None:
        attributes = _XWindowAttributes()
        if not self.x.XGetWindowAttributes(self.handle, window, ctypes.byref(attributes)):
            return None
        return attributes

    def children(self, window: int) -> list[int]:
        root = ctypes.c_ulong()
        parent = ctypes.c_ulong()
        children = ctypes.c_void_p()
        count = ctypes.c_uint()
        if not self.x.XQueryTree(
            self.handle,
            window,
            ctypes.byref(root),
            ctypes.byref(parent),
            ctypes.byref(children),
            ctypes.byref(count),
        ):
            return []
        if not children.value:
            return []
        try:
            array = ctypes.cast(children, ctypes.POINTER(ctypes.c_ulong))
            return [int(array[i]) for i in range(count.value)]
        finally:
            self.x.XFree(children)

    def root_position(self, window: int) -> tuple[int, int]:
        x = ctypes.c_int()
        y = ctypes.c_int()
        child = ctypes.c_ulong()
        self.x.XTranslateCoordinates(
            self.handle,
            window,
            self.root,
            0,
            0,
            ctypes.byref(x),
            ctypes.byref(y),
            ctypes.byref(child),
        )
        return x.value, y.value

    def screens(self) -> list[ShareTarget]:
        screens: list[ShareTarget] = []
        xrandr = self.xlib.xrandr
        if xrandr is not None:
            count = ctypes.c_int()
            monitors = xrandr.XRRGetMonitors(self.handle, self.root, 1, ctypes.byref(count))
            if monitors:
                try:
                    for index in range(count.value):
                        monitor = monitors[index]
                        screens.append(
                            ShareTarget(
                                "screen",
                                f"screen:{index}",
                                self.atom_name(monitor.name) or f"Screen {index + 1}",
                                monitor.x,
                                monitor.y,
                                monitor.width,
                                monitor.height,
                                primary=bool(monitor.primary),
                            )
                        )
                finally:
                    xrandr.XRRFreeMonitors(ctypes.cast(monitors, ctypes.c_void_p))
        if not screens:
            number = self.x.XDefaultScreen(self.handle)
            width = self.x.XDisplayWidth(self.handle, number)
            height = self.x.XDisplayHeight(self.handle, number)
            screens.append(
                ShareTarget("screen", "screen:0", "Screen 1", 0, 0, width, height, primary=True)
            )
        return screens

    def window(self, window: int) -> ShareTarget | None:
        """The window as a target if it is shown and has a title."""
        attributes = self.attributes(window)
        if attributes is None or attributes.map_state != _IS_VIEWABLE:
            return None
        if attributes.override_redirect or attributes.width < 2 or attributes.height < 2:
            return None  # menus, tooltips, 1x1 helper windows
        title = self.title(window)
        if not title:
            return None
        x, y = self.root_position(window)
        pids = self.windows_property(window, "_NET_WM_PID")
        return ShareTarget(
            "window",
            f"window:{window}",
            title,
            x,
            y,
            attributes.width,
            attributes.height,
            window_id=window,
            pid=pids[0] if pids else 0,
        )

    def windows(self) -> list[ShareTarget]:
        # A window manager lists the application windows (not its frames) in
        # _NET_CLIENT_LIST, in stacking order; without one, they are the root's children.
        ids = self.windows_property(self.root, "_NET_CLIENT_LIST") or self.children(self.root)
        targets = [self.window(window) for window in ids]
        return [target for target in targets if target is not None]


_xlib: _Xlib | None = None
_xlib_lock = threading.Lock()


def _x() -> _Xlib:
    global _xlib
    with _xlib_lock:
        if _xlib is None:
            _xlib = _Xlib()
        return _xlib


def list_targets(display: str | None = None) -> tuple[ShareTarget, ...]:
    """The screens, then the windows that can be shared; raises ScreenShareError."""
    name = display or check_available()
    with _x().display(name) as x:
        return (*x.screens(), *x.windows())


def window_state(window_id: int, display: str | None = None) -> Literal["shown", "hidden", "gone"]:
    name = display or check_available()
    with _x().display(name) as x:
        attributes = x.attributes(window_id)
        if attributes is None:
            return "gone"
        return "shown" if attributes.map_state == _IS_VIEWABLE else "hidden"


# --- the share ----------------------------------------------------------------------------


def fit_size(width: int, height: int, limit: tuple[int, int] = MAX_SIZE) -> tuple[int, int]:
    """``width`` x ``height`` scaled down (never up) to fit ``limit``, aspect kept, even."""
    scale = min(1.0, limit[0] / width, limit[1] / height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


class ScreenShareTrack(LatestFrameTrack):
    """A share's frames, with how they are to be encoded (its publication reads it)."""

    def __init__(self, encoding: ScreenEncoding) -> None:
        super().__init__()
        self.encoding = encoding


@dataclass(frozen=True)
class ScreenShareEnded(ev.Event):
    target: ShareTarget
    reason: EndReason


class ScreenShare:
    """One share: a capture thread feeding ``track`` until stopped or the window closes.

    ``events`` emits one ScreenShareEnded (on the loop) when it ends for any reason.
    """

    def __init__(
        self,
        target: ShareTarget,
        *,
        fps: int = DEFAULT_FPS,
        max_size: tuple[int, int] = MAX_SIZE,
        display: str | None = None,
    ) -> None:
        self.target = target
        self.fps = max(MIN_FPS, min(MAX_FPS, fps))
        self.max_size = max_size
        self.display = display
        self.events = ev.EventEmitter()
        #: What is sent (the publication's width and height).
        self.size = fit_size(target.width, target.height, max_size)
        self.track = ScreenShareTrack(ScreenEncoding.for_share(*self.size, self.fps))
        self.frames = 0
        self.ended: EndReason | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _options(self) -> dict[str, str]:
        options = {"framerate": str(self.fps), "draw_mouse": "1"}
        if self.target.kind == "window":
            options["window_id"] = str(self.target.window_id)
        else:
            options.update(
                video_size=f"{self.target.width}x{self.target.height}",
                grab_x=str(self.target.x),
                grab_y=str(self.target.y),
            )
        return options

    def _open(self) -> PyAVCapture:
        assert self.display is not None
        for attempt in range(3):
            try:
                return open_input(self.display, "x11grab", self._options())
            except Exception as exc:
                gone = self.target.kind == "window" and (
                    window_state(self.target.window_id, self.display) == "gone"
                )
                if gone:
                    raise ScreenShareError("missing", "window_gone", str(exc)) from exc
                if attempt == 2:
                    raise ScreenShareError("failed", "capture", str(exc)) from exc
                # An X server may refuse a connection now and then (see _Xlib).
                time.sleep(0.05)
        raise AssertionError("unreachable")

    async def start(self) -> None:
        """Open the capture (raises ScreenShareError) and start sending frames."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self.display = self.display or check_available()
        capture = await asyncio.to_thread(self._open)
        self._thread = threading.Thread(
            target=self._run, args=(capture,), name=f"screen-capture {self.target.id}", daemon=True
        )
        self._thread.start()

    async def stop(self) -> None:
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join, 5.0)
        self._end("stopped")

    def _run(self, capture: PyAVCapture | None) -> None:
        reformatter = VideoReformatter()
        reason: EndReason = "failed"
        try:
            while not self._stopping.is_set():
                if capture is None:
                    capture = self._reopen()
                    if capture is None:
                        reason = "window_closed"
                        break
                    continue
                try:
                    frame = capture.read()
                except Exception as exc:
                    capture.close()
                    capture = None
                    if self.target.kind != "window":
                        log.warning("screen capture failed: %s", exc)
                        break
                    continue  # gone, hidden or resized: _reopen finds out
                picture = reformatter.reformat(
                    frame,
                    width=self.size[0],
                    height=self.size[1],
                    format="yuv420p",
                    interpolation=Interpolation.AREA,
                )
                picture.pts = int(time.monotonic() * 90_000)
                picture.time_base = VIDEO_TIME_BASE
                self.frames += 1
                self._post(self.track.push, picture)
        except Exception:
            log.exception("screen capture thread failed")
        finally:
            if capture is not None:
                capture.close()
        if not self._stopping.is_set():
            self._post(self._end, reason)

    def _reopen(self) -> PyAVCapture | None:
        """The shared window's grab failed: None if it was closed, else a new grab once
        it can be grabbed again (minimised windows cannot)."""
        assert self.display is not None
        while not self._stopping.is_set():
            try:
                state = window_state(self.target.window_id, self.display)
            except ScreenShareError:
                return None
            if state == "gone":
                return None
            if state == "shown":
                try:
                    # A resized window is grabbed at its new size, sent at the old one.
                    return open_input(self.display, "x11grab", self._options())
                except Exception as exc:
                    log.info("window %s cannot be grabbed yet: %s", self.target.id, exc)
            self._stopping.wait(0.5)
        return None

    def _end(self, reason: EndReason) -> None:
        if self.ended is not None:
            return
        self.ended = reason
        self.track.stop()
        self.events.emit(ScreenShareEnded(self.target, reason))

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback, *args)
