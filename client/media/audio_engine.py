"""The audio engine: the microphone and speaker streams and the one processing thread.

Threads and who touches what:

- PortAudio's callbacks (real-time): the input callback copies captured samples into
  its ``capture`` ring; the output callback copies the mix from its ``playout`` ring
  to the device and the very same samples into its ``played`` ring.  Nothing else:
  no lock, no logging, no sample buffer allocated (counters are int stores).
- The ``audio-processing`` thread, every couple of milliseconds: tops the playout
  ring up from the mixer, hands what was *played* to
  ``AudioProcessor.process_render`` (so the echo canceller's reference is exactly
  what left, underrun silence included), then runs every captured block through
  ``process_capture`` and the ``CaptureChain`` (mute, level, push-to-talk) into the
  microphone track.  It reports the render-to-capture delay from the streams'
  latencies and the rings' depths to ``set_stream_delay_ms``.
- The core loop: the microphone track's ``recv``, the mixer's track sinks.
- Device changes (``set_input_device`` / ``set_output_device``, the hot-plug
  watcher): a new stream with its own rings is opened and started first; only then is
  it swapped in (one attribute store the processing thread reads) and the old one
  closed.  If the new one cannot be opened, ``DeviceError`` is raised and the old one
  keeps running.

All audio is 48 kHz mono int16 in 10 ms blocks (480 samples).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import sounddevice as sd

from client.media.audio_devices import (
    AudioDevices,
    DeviceError,
    DeviceList,
    Kind,
    opening,
    system_devices,
)
from client.media.audio_processing import AudioProcessingSettings
from client.media.microphone import CaptureChain, MicrophoneTrack
from client.media.ring_buffer import Int16Array, Int16Ring
from client.media.speaker_output import Mixer

log = logging.getLogger(__name__)

SAMPLE_RATE = 48000
BLOCK = 480
#: How much mixed audio waits for the output device: enough to ride out the
#: processing thread being late by a scheduling hiccup on a busy machine.
PLAYOUT_TARGET = 3 * BLOCK
#: Played blocks handed to the processor ahead of the captures.  The two devices'
#: callbacks come at their own moments (pulse delivers them in pairs, now and
#: then); a capture processed with no played block waiting would be paired with
#: silence, and every such slip moves the echo by 10 ms in the canceller's eyes,
#: which must then learn it again.  A few blocks' lead absorbs that jitter; the
#: processor accounts for the lead in the delay it reports.
RENDER_LEAD_BLOCKS = 3
_POLL_S = 0.002
#: A pass of the processing thread this long after the previous one is a stall
#: (the thread was not scheduled, or waited for the GIL): the playout ring holds
#: ``PLAYOUT_TARGET`` (30 ms), so such a stall may starve the speaker.
STALL_S = 0.025


class AudioProcessorLike(Protocol):
    """What the engine needs of ``client.media.audio_processing.AudioProcessor``."""

    def configure(self, settings: AudioProcessingSettings) -> None: ...

    def set_stream_delay_ms(self, delay_ms: int) -> None: ...

    def process_render(self, frame: npt.NDArray[np.int16]) -> None: ...

    def process_capture(self, frame: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]: ...


class _Stream:
    """One open sounddevice stream and its rings (replaced whole on a device change)."""

    def __init__(self, kind: Kind, device_id: str | None) -> None:
        self.kind = kind
        self.device_id = device_id
        self.stream: sd.RawInputStream | sd.RawOutputStream | None = None
        self.blocks = 0
        self.underflows = 0  # PortAudio's own status flags
        self.overflows = 0
        self.retired = False

    @property
    def latency_s(self) -> float:
        if self.stream is None:
            return 0.0
        latency = self.stream.latency
        return float(latency if isinstance(latency, float) else latency[0])

    @property
    def active(self) -> bool:
        if self.stream is None:
            return False
        try:
            return bool(self.stream.active)
        except sd.PortAudioError:
            # PortAudio was reinitialised or lost the device under us: the stream is
            # dead, and saying so lets the processing thread reopen it.
            return False

    def close(self) -> None:
        self.retired = True
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except sd.PortAudioError:
                log.debug("closing a %s stream failed", self.kind, exc_info=True)


class _InputStream(_Stream):
    def __init__(self, device_id: str | None) -> None:
        super().__init__("input", device_id)
        self.capture = Int16Ring(SAMPLE_RATE // 2)
        self.dropped = 0

    def callback(self, indata: Any, frames: int, time_info: Any, status: sd.CallbackFlags) -> None:
        if status.input_overflow:
            self.overflows += 1
        samples = np.frombuffer(indata, dtype=np.int16)
        written = self.capture.write(samples)
        self.dropped += frames - written
        self.blocks += 1


class _OutputStream(_Stream):
    def __init__(self, device_id: str | None) -> None:
        super().__init__("output", device_id)
        self.playout = Int16Ring(SAMPLE_RATE // 2)
        self.played = Int16Ring(SAMPLE_RATE // 2)
        self._zeros = np.zeros(4 * BLOCK, dtype=np.int16)
        #: Output blocks the mix was not ready for (silence played), after priming.
        self.starved_blocks = 0
        self.primed = False

    def callback(self, outdata: Any, frames: int, time_info: Any, status: sd.CallbackFlags) -> None:
        if status.output_underflow:
            self.underflows += 1
        out = np.frombuffer(outdata, dtype=np.int16)
        got = self.playout.read_into(out)
        if got < frames:
            out[got:] = self._zeros[: frames - got]
            if self.primed and not self.retired:
                self.starved_blocks += 1
        elif got:
            self.primed = True
        self.played.write(out)
        self.blocks += 1


@dataclass(frozen=True)
class AudioStats:
    """The engine's counters since it started (``since`` gives an interval's)."""

    input_device: str | None
    output_device: str | None
    input_latency_ms: float
    output_latency_ms: float
    stream_delay_ms: int
    #: Blocks the output device played, and those it played silence in because the
    #: mix was not ready (after priming), and PortAudio's own underflow reports.
    output_blocks: int
    output_starved_blocks: int
    portaudio_underflows: int
    input_blocks: int
    input_dropped_samples: int
    #: Remote streams running dry mid-spurt: times, and blocks of silence they cost.
    jitter_underruns: int
    jitter_underrun_blocks: int
    jitter_overruns: int
    jitter_trimmed_samples: int
    concealed_samples: int
    played_samples: int
    #: Microphone audio dropped after stalls of its reader, and how many stalls.
    microphone_frames_sent: int
    microphone_dropped_samples: int
    microphone_stalls: int
    #: Passes of the processing thread that came late enough to starve the speaker.
    processing_stalls: int

    @property
    def output_underrun_blocks(self) -> int:
        """Blocks in which the speaker lacked audio that was due: a remote stream ran
        dry, the mix was late for the device, or the device itself underflowed."""
        return self.jitter_underrun_blocks + self.output_starved_blocks + self.portaudio_underflows

    @property
    def output_underrun_percent(self) -> float:
        """Underrun blocks as a share of the blocks the output device played."""
        return 100.0 * self.output_underrun_blocks / max(1, self.output_blocks)

    @property
    def concealed_percent(self) -> float:
        """Silence put in for missing remote audio, as a share of remote audio played."""
        return 100.0 * self.concealed_samples / max(1, self.played_samples)

    def since(self, earlier: AudioStats) -> AudioStats:
        """The counters of the interval from ``earlier`` to this one."""
        counted = {name: getattr(self, name) - getattr(earlier, name) for name in _COUNTERS}
        return replace(self, **counted)


@dataclass(frozen=True)
class BufferDepths:
    """What waits in the engine's rings at one moment, in ms: captured audio not yet
    processed, processed audio not yet sent, and mixed audio not yet played."""

    capture_ms: float
    microphone_ms: float
    playout_ms: float


_COUNTERS = tuple(
    f.name for f in fields(AudioStats) if f.type in ("int", int) and f.name != "stream_delay_ms"
)


class AudioEngine:
    """Owns the microphone and speaker streams and the processing thread.

    ``processor`` is the echo canceller / noise suppressor (``AudioProcessor``), or
    None for raw audio.  ``devices`` defaults to the system's (pulse where there is
    one).  Device ids are ``AudioDevice.id``; None follows the system default."""

    def __init__(
        self,
        processor: AudioProcessorLike | None = None,
        devices: AudioDevices | None = None,
        *,
        input_device: str | None = None,
        output_device: str | None = None,
        latency: str | float = "low",
    ) -> None:
        self.processor = processor
        self._devices = devices
        self.microphone = MicrophoneTrack()
        self.capture = CaptureChain(self.microphone)
        self.mixer = Mixer()
        #: Called (on the watcher's thread) with the new list when devices change.
        self.on_devices_changed: Callable[[DeviceList], None] | None = None
        self._latency = latency
        self._wanted: dict[Kind, str | None] = {"input": input_device, "output": output_device}
        self._input: _InputStream | None = None
        self._output: _OutputStream | None = None
        self._switch_lock = threading.Lock()
        self._running = False
        self._thread: threading.Thread | None = None
        self._stop_watching: Callable[[], None] | None = None
        self._stream_delay_ms = -1
        # Totals of streams already closed, so stats span device switches.
        self._closed: dict[str, int] = {}
        self.processing_errors = 0
        #: Passes of the processing thread that came more than ``STALL_S`` late.
        self.processing_stalls = 0
        # Handed to the processing thread, which alone may touch the processor.
        self._new_settings: AudioProcessingSettings | None = None
        # Blocks given to the processor (processing thread only): their difference
        # is the render lead.
        self._rendered = 0
        self._captured = 0

    @property
    def devices(self) -> AudioDevices:
        """The system's devices, found on first use (in ``start``, off the UI thread:
        finding them asks the sound server, which can take a while)."""
        if self._devices is None:
            self._devices = system_devices()
        return self._devices

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Open both streams and start processing (blocks up to a few seconds, until
        they run).  A missing device is logged, not raised: the call goes on without
        it (``input_error`` / ``output_error``)."""
        self._running = True
        self.input_error: str | None = None
        self.output_error: str | None = None
        try:
            self._input = self._open_input(self._wanted["input"])
        except DeviceError as exc:
            self.input_error = str(exc)
            log.warning("no microphone: %s", exc)
        try:
            self._output = self._open_output(self._wanted["output"])
        except DeviceError as exc:
            self.output_error = str(exc)
            log.warning("no speaker: %s", exc)
        self._thread = threading.Thread(target=self._run, name="audio-processing", daemon=True)
        self._thread.start()
        # Returns once the streams really run (a sound server can hold them back a
        # while), so that what follows meets working devices.
        for stream in (self._input, self._output):
            if stream is not None:
                self._wait_running(stream)
        self._stop_watching = self.devices.watch(self._devices_changed)

    def close(self) -> None:
        self._running = False
        if self._stop_watching is not None:
            self._stop_watching()
            self._stop_watching = None
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        with self._switch_lock:
            for stream in (self._input, self._output):
                if stream is not None:
                    self._retire(stream)
            self._input = self._output = None
        self.mixer.clear()
        self.microphone.stop()

    def configure_processing(self, settings: AudioProcessingSettings) -> None:
        """Switch processing stages (echo cancellation, noise suppression, gain,
        high-pass) live, from any thread: the processing thread applies them before
        its next block."""
        self._new_settings = settings

    # --- devices --------------------------------------------------------------------

    @property
    def input_device(self) -> str | None:
        """The microphone the user chose (None: the system default)."""
        return self._wanted["input"]

    @property
    def output_device(self) -> str | None:
        return self._wanted["output"]

    def set_input_device(self, device_id: str | None) -> None:
        """Switch the microphone; on failure the current one keeps running."""
        with self._switch_lock:
            new = self._open_input(device_id)
            if self._input is not None and self._input.active:
                self._wait_running(new)
            old, self._input = self._input, new
            self._wanted["input"] = device_id
            if old is not None:
                self._retire(old)

    def set_output_device(self, device_id: str | None) -> None:
        """Switch the speaker; on failure the current one keeps running."""
        with self._switch_lock:
            new = self._open_output(device_id)
            if self._output is not None and self._output.active:
                self._wait_running(new)
            old, self._output = self._output, new
            self._wanted["output"] = device_id
            if old is not None:
                self._retire(old)

    def _open(self, stream: _InputStream | _OutputStream) -> None:
        target = self.devices.target(stream.kind, stream.device_id)
        factory = sd.RawInputStream if stream.kind == "input" else sd.RawOutputStream
        try:
            with opening(target) as device:
                stream.stream = factory(
                    samplerate=SAMPLE_RATE,
                    blocksize=BLOCK,
                    channels=1,
                    dtype="int16",
                    device=device,
                    latency=self._latency,
                    callback=stream.callback,
                )
            stream.stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            stream.close()
            name = stream.device_id or "default"
            raise DeviceError(f"cannot open {stream.kind} device {name}: {exc}") from exc

    @staticmethod
    def _wait_running(stream: _Stream, timeout_s: float = 4.0) -> None:
        """Wait until a new stream's callbacks come at their pace.  A sound server may
        take a first burst and then hold a fresh stream back for a while (PulseAudio's
        null sinks do, up to their previous buffer length): the old stream keeps
        playing until this one really runs."""
        deadline = time.monotonic() + timeout_s
        mark, marked_at = stream.blocks, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            now = time.monotonic()
            if now - marked_at >= 0.3:
                # Most of the 30 blocks 300 ms bring: it runs.
                if stream.blocks - mark >= 24:
                    return
                mark, marked_at = stream.blocks, now

    def _open_input(self, device_id: str | None) -> _InputStream:
        stream = _InputStream(device_id)
        self._open(stream)
        return stream

    def _open_output(self, device_id: str | None) -> _OutputStream:
        stream = _OutputStream(device_id)
        self._open(stream)
        return stream

    def _retire(self, stream: _InputStream | _OutputStream) -> None:
        stream.close()
        totals = self._closed
        totals["blocks_" + stream.kind] = totals.get("blocks_" + stream.kind, 0) + stream.blocks
        if isinstance(stream, _OutputStream):
            totals["underflows"] = totals.get("underflows", 0) + stream.underflows
            totals["starved"] = totals.get("starved", 0) + stream.starved_blocks
        else:
            totals["dropped"] = totals.get("dropped", 0) + stream.dropped

    def _devices_changed(self, devices: DeviceList) -> None:
        """A chosen device that vanished falls back to the default (the sound server
        may have moved the stream already: this makes it ours again, atomically)."""
        for kind in ("input", "output"):
            chosen = self._wanted[kind]  # type: ignore[index]
            if chosen is not None and devices.find(kind, chosen) is None:  # type: ignore[arg-type]
                log.info("%s device %s vanished: back to the default", kind, chosen)
                try:
                    if kind == "input":
                        self.set_input_device(None)
                    else:
                        self.set_output_device(None)
                except DeviceError:
                    log.warning("no %s device to fall back to", kind, exc_info=True)
        callback = self.on_devices_changed
        if callback is not None:
            callback(devices)

    def _reopen_dead_streams(self) -> None:
        """A stream PortAudio stopped by itself (its device gone, on back ends that do
        not move streams) is reopened on the default device."""
        if not self._switch_lock.acquire(blocking=False):
            return
        try:
            dead = [s for s in (self._input, self._output) if s is not None and not s.active]
        finally:
            self._switch_lock.release()
        for stream in dead:
            log.info("%s stream stopped: reopening on the default device", stream.kind)
            try:
                if stream.kind == "input":
                    self.set_input_device(None)
                else:
                    self.set_output_device(None)
            except DeviceError:
                log.debug("reopening %s failed", stream.kind, exc_info=True)

    # --- processing thread ------------------------------------------------------------

    def _run(self) -> None:
        mixed = np.zeros(BLOCK, dtype=np.int16)
        played = np.zeros(BLOCK, dtype=np.int16)
        captured = np.zeros(BLOCK, dtype=np.int16)
        last_check = last_pass = time.monotonic()
        while self._running:
            now = time.monotonic()
            if now - last_pass > STALL_S:
                self.processing_stalls += 1
            last_pass = now
            settings, self._new_settings = self._new_settings, None
            if settings is not None and self.processor is not None:
                self.processor.configure(settings)
                # A new canceller starts with no played blocks waiting.
                self._rendered = self._captured
            output, input_ = self._output, self._input
            if output is not None:
                while output.playout.available < PLAYOUT_TARGET:
                    self.mixer.mix(mixed)
                    output.playout.write(mixed)
                # The reference goes in before the captures it may echo into.
                while output.played.available >= BLOCK:
                    output.played.read_into(played)
                    self._render(played)
            if input_ is not None:
                while input_.capture.available >= BLOCK:
                    input_.capture.read_into(captured)
                    if output is not None and self._rendered <= self._captured:
                        self._restore_render_lead()
                    self.capture.handle(self._process(captured))
            if now - last_check >= 0.5:
                last_check = now
                self._update_delay()
                self._reopen_dead_streams()
            time.sleep(_POLL_S)

    def _restore_render_lead(self) -> None:
        silence = np.zeros(BLOCK, dtype=np.int16)
        while self._rendered < self._captured + RENDER_LEAD_BLOCKS:
            self._render(silence)

    def _render(self, block: Int16Array) -> None:
        self._rendered += 1
        if self.processor is None:
            return
        try:
            self.processor.process_render(block)
        except Exception:
            self.processing_errors += 1
            if self.processing_errors == 1:
                log.exception("audio render processing failed")

    def _process(self, block: Int16Array) -> Int16Array:
        self._captured += 1
        if self.processor is None:
            return block
        try:
            return self.processor.process_capture(block)
        except Exception:
            self.processing_errors += 1
            if self.processing_errors == 1:
                log.exception("audio capture processing failed")
            return block

    @property
    def stream_delay_ms(self) -> int:
        """Render-to-capture delay as last reported to the processor."""
        return self._stream_delay_ms

    def _update_delay(self) -> None:
        output, input_ = self._output, self._input
        if output is None or input_ is None:
            return
        # A block handed to process_render has just left the playout ring: it is heard
        # after the output stream's latency, and its echo is processed after the
        # input stream's latency plus whatever waits in the capture ring.
        delay_s = output.latency_s + input_.latency_s + input_.capture.available / SAMPLE_RATE
        delay_ms = round(delay_s * 1000)
        if abs(delay_ms - self._stream_delay_ms) >= 2:
            self._stream_delay_ms = delay_ms
            if self.processor is not None:
                self.processor.set_stream_delay_ms(delay_ms)

    # --- figures ------------------------------------------------------------------

    def depths(self) -> BufferDepths:
        """The rings' current depths (from any thread: each is one read)."""
        output, input_ = self._output, self._input
        return BufferDepths(
            capture_ms=1000 * input_.capture.available / SAMPLE_RATE if input_ else 0.0,
            microphone_ms=1000 * self.microphone.queued_samples / SAMPLE_RATE,
            playout_ms=1000 * output.playout.available / SAMPLE_RATE if output else 0.0,
        )

    def stats(self) -> AudioStats:
        output, input_ = self._output, self._input
        closed = self._closed
        mix = self.mixer.totals()
        return AudioStats(
            input_device=self._wanted["input"],
            output_device=self._wanted["output"],
            input_latency_ms=1000 * input_.latency_s if input_ else 0.0,
            output_latency_ms=1000 * output.latency_s if output else 0.0,
            stream_delay_ms=self._stream_delay_ms,
            output_blocks=closed.get("blocks_output", 0) + (output.blocks if output else 0),
            output_starved_blocks=closed.get("starved", 0)
            + (output.starved_blocks if output else 0),
            portaudio_underflows=closed.get("underflows", 0) + (output.underflows if output else 0),
            input_blocks=closed.get("blocks_input", 0) + (input_.blocks if input_ else 0),
            input_dropped_samples=closed.get("dropped", 0) + (input_.dropped if input_ else 0),
            jitter_underruns=mix.underruns,
            jitter_underrun_blocks=mix.underrun_blocks,
            jitter_overruns=mix.overruns,
            jitter_trimmed_samples=mix.trimmed_samples,
            concealed_samples=mix.concealed_samples,
            played_samples=mix.played_samples,
            microphone_frames_sent=self.microphone.frames_sent,
            microphone_dropped_samples=self.microphone.samples_dropped,
            microphone_stalls=self.microphone.stalls,
            processing_stalls=self.processing_stalls,
        )
