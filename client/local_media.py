"""This machine's microphone and speakers (and, through a camera source, its camera)
for the app's whole life: the pre-join meter and the call use the same ones.

Qt-free; lives on the core loop.  The audio engine's own threads (PortAudio's
callbacks, the processing thread, the device watcher) never touch the loop's
objects: what they report is handed over with ``call_soon_threadsafe``.  Opening a
sound device can block for seconds (a sound server starting a sink), so it happens
in a worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from aiortc.mediastreams import MediaStreamTrack

from client.livekit import events as ev
from client.livekit.remote_track import RemoteTrack
from client.media.audio_devices import AudioDevice, AudioDevices, DeviceError, DeviceList
from client.media.audio_engine import AudioEngine
from client.media.audio_processing import AudioProcessingSettings, AudioProcessor
from client.media.level_meter import SILENCE_DBFS

log = logging.getLogger(__name__)

DeviceKind = Literal["camera", "microphone", "speaker", "screen"]
#: What went wrong with a device, for the UI's message (translated there).
Problem = Literal["missing", "in_use", "denied", "failed", "fell_back", "unavailable"]


@dataclass(frozen=True)
class DeviceChoice:
    id: str
    name: str
    is_default: bool = False


@dataclass(frozen=True)
class LocalDevicesChanged(ev.Event):
    """The devices that can be chosen, and those in use ("" = the system default)."""

    cameras: tuple[DeviceChoice, ...]
    microphones: tuple[DeviceChoice, ...]
    speakers: tuple[DeviceChoice, ...]
    camera: str
    microphone: str
    speaker: str


@dataclass(frozen=True)
class DeviceProblem(ev.Event):
    """A device could not be used, or vanished and another took over."""

    kind: DeviceKind
    problem: Problem
    #: The device's name as the user knows it ("" when there is none).
    device: str
    #: What took over, for ``fell_back`` ("" = nothing).
    replacement: str = ""


@dataclass(frozen=True)
class SpeakingWhileMuted(ev.Event):
    """The user talks with the microphone off (at most every few seconds)."""


def _choices(devices: tuple[AudioDevice, ...]) -> tuple[DeviceChoice, ...]:
    return tuple(DeviceChoice(d.id, d.name, d.is_default) for d in devices)


class LocalAudio:
    """The microphone and speakers: one engine, opened once, switched in place."""

    def __init__(
        self,
        processing: AudioProcessingSettings,
        *,
        microphone: str = "",
        speaker: str = "",
        devices: AudioDevices | None = None,
    ) -> None:
        self.events = ev.EventEmitter()
        self.processor = AudioProcessor(processing)
        # Built at once (cheap: nothing is opened), so the call can publish the
        # microphone track before the devices run; ``start`` opens them.
        self.engine = AudioEngine(
            self.processor,
            devices,
            input_device=microphone or None,
            output_device=speaker or None,
        )
        self.engine.capture.on_speaking_while_muted = lambda: self._post(self._speaking_while_muted)
        self.engine.on_devices_changed = lambda found: self._post(self._devices_changed, found)
        self._wanted: dict[str, str | None] = {
            "input": microphone or None,
            "output": speaker or None,
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._list = DeviceList()
        self._starting: asyncio.Future[None] | None = None
        self.started = False
        #: Why the microphone or the speaker is not working ("" when they are).
        self.microphone_error = ""
        self.speaker_error = ""

    # --- lifecycle (core loop) -----------------------------------------------------------

    async def start(self) -> None:
        """Open the devices (once; later calls wait for the first); a missing device
        is reported, not raised."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        engine = self.engine
        await asyncio.to_thread(engine.start)
        self.started = True
        self.microphone_error = engine.input_error or ""
        self.speaker_error = engine.output_error or ""
        if self.microphone_error:
            self.events.emit(DeviceProblem("microphone", "missing", self._wanted["input"] or ""))
        if self.speaker_error:
            self.events.emit(DeviceProblem("speaker", "missing", self._wanted["output"] or ""))
        devices = await asyncio.to_thread(engine.devices.list)
        self._devices_changed(devices)

    async def close(self) -> None:
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await self._starting
        if self.started:
            self.started = False
            await asyncio.to_thread(self.engine.close)

    # --- what the call and the pre-join use --------------------------------------------

    @property
    def microphone(self) -> MediaStreamTrack:
        return self.engine.microphone

    @property
    def level_dbfs(self) -> float:
        """The meter's value; read from any thread (one float)."""
        return self.engine.capture.level_dbfs if self.started else SILENCE_DBFS

    def set_muted(self, muted: bool) -> None:
        self.engine.capture.set_muted(muted)

    def set_push_to_talk(self, pressed: bool) -> None:
        self.engine.capture.set_push_to_talk(pressed)

    def play(self, identity: str, track: RemoteTrack) -> None:
        if track.kind == "audio":
            self.engine.mixer.add_track(identity, track)

    def stop_playing(self, track: RemoteTrack) -> None:
        self.engine.mixer.remove_track(track.sid)

    def stop_playing_participant(self, identity: str) -> None:
        self.engine.mixer.remove_participant(identity)

    def stop_playing_all(self) -> None:
        self.engine.mixer.clear()

    def set_volume(self, identity: str, volume: float) -> None:
        self.engine.mixer.set_volume(identity, volume)

    def configure(self, processing: AudioProcessingSettings) -> None:
        """Turn processing stages on or off, live."""
        self.processor.configure(processing)

    # --- choosing devices --------------------------------------------------------------

    @property
    def devices(self) -> DeviceList:
        return self._list

    @property
    def microphone_id(self) -> str:
        return self._wanted["input"] or ""

    @property
    def speaker_id(self) -> str:
        return self._wanted["output"] or ""

    async def select_microphone(self, device_id: str) -> bool:
        return await self._select("input", device_id)

    async def select_speaker(self, device_id: str) -> bool:
        return await self._select("output", device_id)

    async def _select(self, kind: Literal["input", "output"], device_id: str) -> bool:
        """Switch atomically: on failure the device in use keeps running; True if done."""
        await self.start()  # the list a choice comes from exists once devices are open
        engine = self.engine
        wanted = device_id or None
        switch = engine.set_input_device if kind == "input" else engine.set_output_device
        try:
            await asyncio.to_thread(switch, wanted)
        except DeviceError as exc:
            log.warning("cannot switch the %s device: %s", kind, exc)
            name = self._name(kind, device_id)
            self.events.emit(
                DeviceProblem("microphone" if kind == "input" else "speaker", "failed", name)
            )
            self._announce()  # menus go back to the device still in use
            return False
        self._wanted[kind] = wanted
        if kind == "input":
            self.microphone_error = ""
        else:
            self.speaker_error = ""
        self._announce()
        return True

    def _name(self, kind: Literal["input", "output"], device_id: str) -> str:
        device = self._list.find(kind, device_id) if device_id else None
        return device.name if device is not None else device_id

    # --- reports from the engine's threads, on the loop -----------------------------------

    def _devices_changed(self, devices: DeviceList) -> None:
        previous = self._list
        self._list = devices
        engine = self.engine
        for kind, label in (("input", "microphone"), ("output", "speaker")):
            chosen = self._wanted[kind]
            if chosen is None or devices.find(kind, chosen) is not None:  # type: ignore[arg-type]
                continue
            # The engine has fallen back to the default already: say so, and follow it.
            gone = previous.find(kind, chosen)  # type: ignore[arg-type]
            default = devices.default(kind)  # type: ignore[arg-type]
            following = engine.input_device if kind == "input" else engine.output_device
            if following is None:
                self._wanted[kind] = None
            self.events.emit(
                DeviceProblem(
                    label,  # type: ignore[arg-type]
                    "fell_back",
                    gone.name if gone is not None else chosen,
                    default.name if default is not None else "",
                )
            )
        self._announce()

    def _announce(self) -> None:
        self.events.emit(
            LocalDevicesChanged(
                cameras=(),
                microphones=_choices(self._list.inputs),
                speakers=_choices(self._list.outputs),
                camera="",
                microphone=self.microphone_id,
                speaker=self.speaker_id,
            )
        )

    def _speaking_while_muted(self) -> None:
        self.events.emit(SpeakingWhileMuted())

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback, *args)

    def _from_thread(self, callback: Callable[[], None]) -> Callable[[], None]:
        return lambda: self._post(callback)
