"""Microphones and speakers: listing with human names, the default, hot-plug.

Two back ends behind one interface:

- ``PulseDevices`` (Linux: PulseAudio or PipeWire's pulse server).  PortAudio
  enumerates ALSA devices only when it is initialised, which cannot happen again while
  a stream is open, so a headset plugged in mid-call would stay invisible to it.  The
  sound server itself is asked instead (``pactl -f json list``, ``pactl subscribe``),
  and a stream is opened on ALSA's ``pulse`` device with ``PULSE_SINK`` /
  ``PULSE_SOURCE`` naming the chosen device (libpulse reads them when the stream
  connects).  With no choice, neither is set: the server's default is used and
  followed when it changes, and if a chosen device vanishes the server moves our
  stream to another one by itself (no gap), which the watcher reports.
- ``PortAudioDevices`` (macOS, Windows, or Linux without a pulse server): what
  sounddevice lists; a device is opened by its PortAudio index.

Device ids are strings: the pulse name (``alsa_output.usb-...``) or the PortAudio
device name.  ``None`` everywhere means "the system default, followed".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

import sounddevice as sd

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]


class DeviceError(RuntimeError):
    """A device could not be found or opened."""


@dataclass(frozen=True)
class AudioDevice:
    kind: Kind
    #: What to pass back to open it (pulse name or PortAudio name).
    id: str
    #: What the user reads ("Jabra Evolve 65 Analog Stereo").
    name: str
    is_default: bool = False


@dataclass(frozen=True)
class DeviceList:
    inputs: tuple[AudioDevice, ...] = ()
    outputs: tuple[AudioDevice, ...] = ()

    def of(self, kind: Kind) -> tuple[AudioDevice, ...]:
        return self.inputs if kind == "input" else self.outputs

    def find(self, kind: Kind, device_id: str) -> AudioDevice | None:
        return next((d for d in self.of(kind) if d.id == device_id), None)

    def default(self, kind: Kind) -> AudioDevice | None:
        return next((d for d in self.of(kind) if d.is_default), None)


@dataclass(frozen=True)
class StreamTarget:
    """How to open a sounddevice stream on a device: its ``device`` argument and the
    environment that must hold while it is opened (None: variable unset)."""

    device: int | str | None
    env: tuple[tuple[str, str | None], ...] = ()


class AudioDevices(Protocol):
    def list(self) -> DeviceList: ...

    def target(self, kind: Kind, device_id: str | None) -> StreamTarget: ...

    def watch(self, on_change: Callable[[DeviceList], None]) -> Callable[[], None]: ...


# Environment variables are process-wide: streams are opened one at a time.
_open_lock = threading.Lock()


@contextlib.contextmanager
def opening(target: StreamTarget) -> Iterator[int | str | None]:
    """Hold ``target``'s environment while a stream is constructed in the block."""
    with _open_lock:
        saved = {key: os.environ.get(key) for key, _ in target.env}
        try:
            for key, value in target.env:
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            yield target.device
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def reinitialize_portaudio() -> None:
    """Re-enumerate PortAudio's devices (only with no stream open)."""
    sd._terminate()
    sd._initialize()


def _portaudio_pulse_index() -> int | None:
    for index, info in enumerate(sd.query_devices()):
        if info["name"] == "pulse":
            return index
    return None


# --- PulseAudio / PipeWire ----------------------------------------------------------


class PulseDevices:
    """Devices as the pulse server sees them, watched with ``pactl subscribe``."""

    _VARIABLE: ClassVar[dict[str, str]] = {"input": "PULSE_SOURCE", "output": "PULSE_SINK"}

    def __init__(self) -> None:
        index = _portaudio_pulse_index()
        if index is None:
            raise DeviceError("PortAudio has no ALSA 'pulse' device (libasound2-plugins)")
        self._pulse_device = index

    @staticmethod
    def available() -> bool:
        if shutil.which("pactl") is None or _portaudio_pulse_index() is None:
            return False
        try:
            result = subprocess.run(["pactl", "info"], capture_output=True, timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return result.returncode == 0

    def _pactl_json(self, *args: str) -> Any:
        result = subprocess.run(
            ["pactl", "-f", "json", *args], capture_output=True, text=True, timeout=5
        )
        if result.returncode != 0:
            raise DeviceError(f"pactl {' '.join(args)} failed: {result.stderr.strip()}")
        return json.loads(result.stdout or "null")

    def _defaults(self) -> tuple[str, str]:
        info = self._pactl_json("info")
        return str(info.get("default_source_name", "")), str(info.get("default_sink_name", ""))

    def list(self) -> DeviceList:
        default_source, default_sink = self._defaults()
        inputs = tuple(
            AudioDevice("input", s["name"], _pulse_label(s), s["name"] == default_source)
            for s in self._pactl_json("list", "sources")
            # A monitor is what a sink plays, not a microphone.
            if not _is_monitor(s)
        )
        outputs = tuple(
            AudioDevice("output", s["name"], _pulse_label(s), s["name"] == default_sink)
            for s in self._pactl_json("list", "sinks")
        )
        return DeviceList(inputs, outputs)

    def target(self, kind: Kind, device_id: str | None) -> StreamTarget:
        if device_id is not None and self.list().find(kind, device_id) is None:
            raise DeviceError(f"no {kind} device {device_id!r}")
        return StreamTarget(self._pulse_device, ((self._VARIABLE[kind], device_id),))

    def watch(self, on_change: Callable[[DeviceList], None]) -> Callable[[], None]:
        watcher = _PulseWatcher(self, on_change)
        watcher.start()
        return watcher.stop


def _is_monitor(source: dict[str, Any]) -> bool:
    properties = source.get("properties") or {}
    return bool(properties.get("device.class") == "monitor") or str(
        source.get("name", "")
    ).endswith(".monitor")


def _pulse_label(device: dict[str, Any]) -> str:
    description = str(device.get("description") or device.get("name") or "?")
    return description.replace("_", " ")


class _PulseWatcher:
    """Reads ``pactl subscribe`` on a thread; re-lists on device or default changes and
    reports a list that differs from the last one."""

    def __init__(self, devices: PulseDevices, on_change: Callable[[DeviceList], None]) -> None:
        self._devices = devices
        self._on_change = on_change
        self._process: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._last: DeviceList | None = None

    def start(self) -> None:
        self._last = self._devices.list()
        self._process = subprocess.Popen(
            ["pactl", "subscribe"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self._thread = threading.Thread(target=self._run, name="audio-devices", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            # "Event 'new' on sink #3", "Event 'change' on server #-1", ...
            if not any(f" on {what}" in line for what in ("sink #", "source #", "server")):
                continue
            if " on sink-input" in line or " on source-output" in line:
                continue
            try:
                current = self._devices.list()
            except (DeviceError, OSError, subprocess.TimeoutExpired, ValueError):
                log.warning("could not list audio devices", exc_info=True)
                continue
            if current != self._last:
                self._last = current
                try:
                    self._on_change(current)
                except Exception:
                    log.exception("audio device listener failed")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(3)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(3)


# --- PortAudio (portable) -------------------------------------------------------------


class PortAudioDevices:
    """What PortAudio lists.  It sees new devices only after a re-initialisation, which
    the watcher cannot do under open streams, so ``watch`` reports nothing here."""

    def list(self) -> DeviceList:
        devices = sd.query_devices()
        default_in, default_out = sd.default.device
        inputs = tuple(
            AudioDevice("input", str(d["name"]), str(d["name"]), i == default_in)
            for i, d in enumerate(devices)
            if d["max_input_channels"] > 0
        )
        outputs = tuple(
            AudioDevice("output", str(d["name"]), str(d["name"]), i == default_out)
            for i, d in enumerate(devices)
            if d["max_output_channels"] > 0
        )
        return DeviceList(inputs, outputs)

    def target(self, kind: Kind, device_id: str | None) -> StreamTarget:
        if device_id is None:
            return StreamTarget(None)
        channels = "max_input_channels" if kind == "input" else "max_output_channels"
        for index, info in enumerate(sd.query_devices()):
            if info["name"] == device_id and info[channels] > 0:
                return StreamTarget(index)
        raise DeviceError(f"no {kind} device {device_id!r}")

    def watch(self, on_change: Callable[[DeviceList], None]) -> Callable[[], None]:
        return lambda: None


def system_devices() -> AudioDevices:
    """The pulse server's view where there is one, else PortAudio's."""
    if PulseDevices.available():
        return PulseDevices()
    return PortAudioDevices()
