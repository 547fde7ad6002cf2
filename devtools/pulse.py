"""A private PulseAudio daemon for the audio tests and the audio benchmark.

It runs with its own runtime, state and home folders and a socket of its own, loads
only the modules named here (no hardware, no D-Bus, no session services) and is
reached through ``PULSE_SERVER``; so it never touches a user's sound session, and it
works as root inside the test network namespace.  ``sounddevice`` (PortAudio) reaches
it through ALSA's pulse plugin (Debian's ``libasound2-plugins``), which is how the
client sees a real desktop's PulseAudio or PipeWire.

Devices:

- ``add_sink(name)``: a null sink (an output that goes nowhere; its ``.monitor``
  source is what was played into it, which ``record`` captures).
- ``add_virtual_microphone(name)``: a null sink ``<name>_feed`` plus a remapped source
  ``<name>`` on its monitor: whatever is played into the feed (``play_file``,
  ``play_stream``) comes out of the source, as from a microphone, with no extra
  buffering (the remap filter is synchronous).

- ``add_probe(name)``: one stereo null sink whose two channels are a mouth and an
  ear, for latency measurements: what is played into ``<name>_mouth`` comes out of
  the microphone ``<name>_mic`` (left channel), what is played into
  ``<name>_speaker`` lands on the right channel, and one recording of the sink's
  monitor (``record(..., channels=2)``) holds both on one clock.

Everything is 48 kHz s16 (mono but for the probe), the client's own format, so the
server resamples nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

SAMPLE_RATE = 48000
_FORMAT = ["--format=s16le", f"--rate={SAMPLE_RATE}", "--channels=1"]


class PulseError(RuntimeError):
    pass


@dataclass
class VirtualMicrophone:
    source: str
    feed_sink: str
    modules: list[int] = field(default_factory=list)


@dataclass
class Probe:
    """A mouth and an ear on the two channels of one sink (see ``add_probe``)."""

    #: The stereo sink; its ``.monitor``: left = what the microphone hears, right =
    #: what was played into the speaker.
    sink: str
    mouth: str
    microphone: str
    speaker: str
    modules: list[int] = field(default_factory=list)


class Recorder:
    """``parec`` writing raw s16 mono into a file; ``samples()`` reads it back."""

    def __init__(self, process: subprocess.Popen[bytes], path: Path) -> None:
        self.process = process
        self.path = path
        self.started_at = time.monotonic()

    def samples(self) -> Any:
        import numpy as np

        data = self.path.read_bytes()
        return np.frombuffer(data[: len(data) // 2 * 2], dtype=np.int16).copy()

    def stop(self) -> Any:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.samples()


class PulseDaemon:
    """``with PulseDaemon() as pulse:`` a running private daemon; ``pulse.env`` is what
    a client process needs, ``pulse.apply_env()`` sets it in this process."""

    def __init__(self, root: Path | None = None) -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="visio-pulse-")) if root is None else root
        self.socket = self.root / "native"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._saved_env: dict[str, str | None] = {}
        self._children: list[subprocess.Popen[bytes]] = []

    # --- lifecycle ----------------------------------------------------------------

    @property
    def server(self) -> str:
        return f"unix:{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        """Variables that point a PulseAudio client (libpulse, ALSA's pulse plugin) at
        this daemon and at nothing else: no autospawn, no session bus."""
        return {
            "PULSE_SERVER": self.server,
            "PULSE_RUNTIME_PATH": str(self.root / "runtime"),
            "PULSE_STATE_PATH": str(self.root / "state"),
            "PULSE_CLIENTCONFIG": str(self.root / "client.conf"),
            "PULSE_COOKIE": str(self.root / "cookie"),
        }

    def _daemon_env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PULSE_")}
        env.update(self.env)
        env["HOME"] = str(self.root)
        env["XDG_RUNTIME_DIR"] = str(self.root / "runtime")
        env["XDG_CONFIG_HOME"] = str(self.root / "config")
        # No session bus and no X display: the daemon must not find a user session.
        env["DBUS_SESSION_BUS_ADDRESS"] = "disabled:"
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        return env

    def start(self, timeout_s: float = 10.0) -> None:
        if shutil.which("pulseaudio") is None:
            raise PulseError("pulseaudio is not installed (scripts/install-debian-deps.sh)")
        for folder in ("runtime", "state", "config"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / "runtime").chmod(0o700)
        (self.root / "client.conf").write_text("autospawn = no\n")
        script = self.root / "daemon.pa"
        script.write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}\n"
        )
        self._log = (self.root / "daemon.log").open("wb")
        self._process = subprocess.Popen(
            [
                "pulseaudio",
                "--daemonize=no",
                "--system=false",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--use-pid-file=no",
                "--realtime=yes",
                "--high-priority=yes",
                "--log-target=stderr",
                *(["-vvvv"] if os.environ.get("VISIO_PULSE_DEBUG") else []),
                "-n",
                "-F",
                str(script),
            ],
            env=self._daemon_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            if self._process.poll() is not None:
                raise PulseError(f"pulseaudio exited: {self.log_tail()}")
            if self.socket.exists() and self._ping():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise PulseError(f"pulseaudio did not come up: {self.log_tail()}")
            time.sleep(0.05)

    def _ping(self) -> bool:
        result = subprocess.run(
            ["pactl", "info"], env=self._client_env(), capture_output=True, timeout=5
        )
        return result.returncode == 0

    def log_tail(self, lines: int = 20) -> str:
        path = self.root / "daemon.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for child in self._children:
            if child.poll() is None:
                child.kill()
                child.wait(5)
        self._children.clear()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self.restore_env()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def apply_env(self) -> None:
        """Point this process's PulseAudio clients at the daemon (undone by ``stop``).

        PortAudio enumerates ALSA devices once, when it is initialised: a process that
        imported sounddevice before the daemon ran must re-initialise it
        (``client.media.audio_devices.reinitialize_portaudio``)."""
        for key, value in self.env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def __enter__(self) -> PulseDaemon:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- commands -----------------------------------------------------------------

    def _client_env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PULSE_")}
        env.update(self.env)
        return env

    def pactl(self, *args: str) -> str:
        result = subprocess.run(
            ["pactl", *args], env=self._client_env(), capture_output=True, text=True, timeout=10
        )
        if result.returncode != 0:
            raise PulseError(f"pactl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def list(self, kind: str) -> list[dict[str, Any]]:
        """``pactl -f json list <kind>`` (sinks, sources, sink-inputs, source-outputs)."""
        entries: list[dict[str, Any]] = json.loads(self.pactl("-f", "json", "list", kind) or "[]")
        return entries

    def load_module(self, name: str, *arguments: str) -> int:
        return int(self.pactl("load-module", name, *arguments).strip())

    def unload_module(self, module: int) -> None:
        self.pactl("unload-module", str(module))

    def add_sink(
        self,
        name: str,
        description: str | None = None,
        *,
        keep_awake: bool = True,
        channels: int = 1,
    ) -> int:
        """A null sink at 48 kHz mono; returns its module index (to remove it).

        An idle null sink renders two seconds ahead (its default latency) and does not
        wake up early when a stream connects, so a new stream would wait up to that
        long before its first samples are taken; a hardware sink rewinds instead.
        ``keep_awake`` plays silence into it at 10 ms latency, which keeps it close
        to a real device's behaviour."""
        label = (description or name).replace(" ", "_")
        module = self.load_module(
            "module-null-sink",
            f"sink_name={name}",
            f"rate={SAMPLE_RATE}",
            f"channels={channels}",
            *(["channel_map=front-left,front-right"] if channels == 2 else []),
            f"sink_properties=device.description={label}",
        )
        if keep_awake:
            with open(os.devnull, "rb") as _unused, open("/dev/zero", "rb") as zeros:
                process = subprocess.Popen(
                    [
                        "pacat",
                        "--playback",
                        f"--device={name}",
                        "--latency-msec=10",
                        "--raw",
                        "--client-name=keep-awake",
                        *_FORMAT,
                    ],
                    env=self._client_env(),
                    stdin=zeros,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            self._children.append(process)
        return module

    def add_virtual_microphone(
        self, name: str, description: str | None = None
    ) -> VirtualMicrophone:
        feed = f"{name}_feed"
        label = (description or name).replace(" ", "_")
        sink_module = self.add_sink(feed, f"{label}_feed")
        source_module = self.load_module(
            "module-remap-source",
            f"source_name={name}",
            f"master={feed}.monitor",
            "channels=1",
            f"source_properties=device.description={label}",
        )
        return VirtualMicrophone(name, feed, [source_module, sink_module])

    def add_probe(self, name: str) -> Probe:
        """A stereo sink ``name`` with a mouth (``<name>_mouth`` -> left channel ->
        source ``<name>_mic``) and an ear (sink ``<name>_speaker`` -> right channel).

        The remap filters are synchronous, so a sample reaches the microphone when
        the sink renders it, which is also when its monitor records it: the left
        channel is the sound at the microphone, the right one the sound out of the
        speaker, on one clock."""
        sink_module = self.add_sink(name, f"{name}_probe", channels=2)
        modules = [sink_module]

        def remap(kind: str, module_name: str, side: str) -> None:
            role = "sink" if kind == "module-remap-sink" else "source"
            master = name if role == "sink" else f"{name}.monitor"
            modules.append(
                self.load_module(
                    kind,
                    f"{role}_name={module_name}",
                    f"master={master}",
                    "channels=1",
                    "channel_map=mono",
                    f"master_channel_map={side}",
                    "remix=no",
                    f"{role}_properties=device.description={module_name}",
                )
            )

        remap("module-remap-sink", f"{name}_mouth", "front-left")
        remap("module-remap-source", f"{name}_mic", "front-left")
        remap("module-remap-sink", f"{name}_speaker", "front-right")
        # Unloaded in reverse: the remaps before the sink they sit on.
        modules.reverse()
        return Probe(name, f"{name}_mouth", f"{name}_mic", f"{name}_speaker", modules)

    def remove_virtual_microphone(self, microphone: VirtualMicrophone) -> None:
        for module in microphone.modules:
            self.unload_module(module)

    def set_default_sink(self, name: str) -> None:
        self.pactl("set-default-sink", name)

    def set_default_source(self, name: str) -> None:
        self.pactl("set-default-source", name)

    # --- sound in and out -----------------------------------------------------------

    def play_file(self, sink: str, path: Path) -> subprocess.Popen[bytes]:
        """Play a sound file (WAV, ...) into ``sink`` in real time."""
        process = subprocess.Popen(
            [
                "pacat",
                "--playback",
                f"--device={sink}",
                "--latency-msec=20",
                "--file-format",
                str(path),
            ],
            env=self._client_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._children.append(process)
        return process

    def play_stream(self, sink: str) -> subprocess.Popen[bytes]:
        """A ``pacat`` playing raw s16 48 kHz mono written to its stdin into ``sink``."""
        process = subprocess.Popen(
            ["pacat", "--playback", f"--device={sink}", "--latency-msec=20", "--raw", *_FORMAT],
            env=self._client_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._children.append(process)
        return process

    def record(self, source: str, path: Path, *, channels: int = 1) -> Recorder:
        """Record ``source`` (e.g. ``speaker.monitor``) as raw s16 48 kHz, mono or
        interleaved stereo."""
        handle = path.open("wb")
        layout = [f"--channels={channels}"]
        if channels == 2:
            layout.append("--channel-map=front-left,front-right")
        process = subprocess.Popen(
            [
                "parec",
                f"--device={source}",
                "--latency-msec=10",
                "--raw",
                "--format=s16le",
                f"--rate={SAMPLE_RATE}",
                *layout,
            ],
            env=self._client_env(),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.DEVNULL,
        )
        handle.close()
        self._children.append(process)
        return Recorder(process, path)

    def loopback(
        self,
        source: str,
        sink: str,
        latency_ms: int = 50,
        *,
        volume: float | None = None,
        adjust_rate: bool = True,
    ) -> int:
        """Play ``source`` into ``sink`` continuously (an acoustic echo path), about
        ``latency_ms`` late and at ``volume`` (linear; None: unchanged).  Returns the
        module index.

        The loopback keeps its latency by resampling a little faster or slower, so
        the delay drifts by a few milliseconds, as a real echo path's clocks do;
        ``adjust_rate=False`` keeps its rate fixed (a steady delay: both ends of a
        null-sink loop run on the same clock)."""
        module = self.load_module(
            "module-loopback",
            f"source={source}",
            f"sink={sink}",
            f"latency_msec={latency_ms}",
            "source_dont_move=true",
            "sink_dont_move=true",
            *([] if adjust_rate else ["adjust_time=0"]),
        )
        if volume is not None:
            deadline = time.monotonic() + 5
            while True:
                inputs = [
                    i for i in self.list("sink-inputs") if str(i.get("owner_module")) == str(module)
                ]
                if inputs:
                    break
                if time.monotonic() > deadline:
                    raise PulseError(f"loopback {module} has no sink input")
                time.sleep(0.05)
            for sink_input in inputs:
                self.pactl("set-sink-input-volume", str(sink_input["index"]), f"{volume:.4f}")
        return module


@contextlib.contextmanager
def pulse_daemon(*, apply_env: bool = True) -> Iterator[PulseDaemon]:
    """A private daemon for the block; this process's clients point at it meanwhile."""
    daemon = PulseDaemon()
    daemon.start()
    try:
        if apply_env:
            daemon.apply_env()
        yield daemon
    finally:
        daemon.stop()


def speak(text: str, path: Path, *, voice: str = "en", words_per_minute: int = 160) -> Path:
    """Speech from espeak-ng, as a 48 kHz mono s16 WAV at ``path``."""
    import wave

    import numpy as np

    raw = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    with wave.open(_BytesReader(raw)) as source:
        rate = source.getframerate()
        samples = np.frombuffer(source.readframes(source.getnframes()), dtype=np.int16)
    # espeak-ng speaks at 22050 Hz: linear interpolation is plenty for a test signal.
    times = np.arange(int(len(samples) * SAMPLE_RATE / rate)) / SAMPLE_RATE
    resampled = np.interp(times, np.arange(len(samples)) / rate, samples.astype(np.float64))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.rint(resampled).astype(np.int16).tobytes())
    return path


def _BytesReader(data: bytes) -> IO[bytes]:
    import io

    # espeak-ng writes a streaming WAV header (sizes 0xFFFFFFFF): fix them for `wave`.
    buffer = bytearray(data)
    if buffer[:4] == b"RIFF":
        buffer[4:8] = (len(buffer) - 8).to_bytes(4, "little")
        data_at = buffer.find(b"data")
        if data_at >= 0:
            buffer[data_at + 4 : data_at + 8] = (len(buffer) - data_at - 8).to_bytes(4, "little")
    return io.BytesIO(bytes(buffer))
