"""``python -m bench aec [--seconds S] [--json]``: echo cancellers on a synthetic room.

The far end (one espeak-ng voice) is played, delayed 50, 100 or 150 ms and run
through a synthetic room (exponentially decaying noise, RT60 300 ms, -6 dB), over a
low noise floor: that is the echo the microphone hears.  The near end (another
voice, another text) talks over it for a quarter of the scenario.  Every candidate
processes the same scenario with its echo canceller (and the high-pass filter it
implies) only, told the true delay, and:

- ``erle_db``: echo return loss enhancement, ``10 log10(E[mic] / E[out])`` over the
  far-end-only part after ``CONVERGENCE_S`` (frames where the echo is active), before
  the near end first speaks.  The noise floor caps it (about 50 dB here).
- ``double_talk_near_end_attenuation_db``: how much the near-end voice is turned down
  while both talk.  The same processing is run a second time on the same render
  signal with the echo absent from the microphone; over the double-talk part,
  ``-20 log10(<out, ref> / <ref, ref>)`` where ``out`` is the real run's output and
  ``ref`` the echo-free run's.  That least-squares gain ignores the residual echo
  (uncorrelated with the near voice) and, for a gain that varies with time, it
  overstates the attenuation a little rather than understating it.
- ``cpu_us_per_frame``: the processing thread's CPU time for one 10 ms render plus
  capture block.

The last line is JSON, for the chosen backend (``client.media.audio_processing``).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import av
import numpy as np
import numpy.typing as npt

from client.media.audio_processing import AudioProcessingSettings, AudioProcessor

FloatArray = npt.NDArray[np.float64]
Int16Array = npt.NDArray[np.int16]

RATE = 48000
FRAME = 480
DELAYS_MS = (50, 100, 150)
RT60_S = 0.3
ECHO_GAIN_DB = -6.0
SPEECH_DBFS = -20.0
NOISE_DBFS = -75.0
#: Far end alone before anything is measured: AEC3 needs several seconds of speech
#: on this path before its suppressor trusts its filter (see docs/audio_processing.md).
CONVERGENCE_S = 15.0
#: The near end talks over the far end between these fractions of the measured part.
DOUBLE_TALK = (0.5, 0.8)

FAR_TEXT = (
    "Good morning everyone, thank you for joining the weekly planning meeting. "
    "Today we will review the release schedule, the open issues on the desktop client, "
    "and the results of the latest performance measurements. Please keep your "
    "microphone muted when you are not speaking, and raise your hand if you have a "
    "question. The first topic is the audio pipeline, which now cancels the echo of "
    "the loudspeaker before the voice is sent to the other participants. "
)
NEAR_TEXT = (
    "Sorry to interrupt, I have a quick remark about the second point on the agenda. "
    "Could we move the deadline to next Thursday, because the tests on the new laptops "
    "are not finished yet, and several colleagues are travelling this week. "
)


@cache
def speech(voice: str, text: str, pitch: int) -> FloatArray:
    """espeak-ng reading ``text`` at 48 kHz, float in [-1, 1], active level SPEECH_DBFS."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", "165", "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        source_rate = reader.getframerate()
        pcm = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = source_rate
    chunks = [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    samples = np.concatenate(chunks).astype(np.float64) / 32768.0
    return _at_level(samples, SPEECH_DBFS)


def _active_rms(samples: FloatArray) -> float:
    """RMS over the 10 ms frames within 40 dB of the loudest (speech, not pauses)."""
    usable = samples[: samples.size - samples.size % FRAME].reshape(-1, FRAME)
    energies = np.mean(usable**2, axis=1)
    active = energies[energies > energies.max() * 1e-4]
    return float(np.sqrt(np.mean(active)))


def _at_level(samples: FloatArray, dbfs: float) -> FloatArray:
    scaled: FloatArray = samples * (10 ** (dbfs / 20) / _active_rms(samples))
    return scaled


def _looped(samples: FloatArray, length: int) -> FloatArray:
    repeats = length // samples.size + 1
    looped: FloatArray = np.tile(samples, repeats)[:length]
    return looped


def room_response(rt60_s: float, gain_db: float, rng: np.random.Generator) -> FloatArray:
    """Exponentially decaying noise: -60 dB after ``rt60_s``, total energy ``gain_db``."""
    n = np.arange(int(rt60_s * RATE))
    # Amplitude falls 60 dB (a factor 1000) over RT60.
    response: FloatArray = rng.standard_normal(n.size) * np.exp(-math.log(1000.0) * n / n.size)
    response *= math.sqrt(10 ** (gain_db / 10) / float(np.sum(response**2)))
    return response


@dataclass
class EchoScenario:
    """One synthetic call: what is played and what the microphone hears."""

    delay_ms: int
    far: Int16Array  # played (the canceller's reference)
    mic: Int16Array  # echo + near + noise
    mic_without_echo: Int16Array  # near + noise: the double-talk reference
    echo: FloatArray
    near: FloatArray
    warmup: int  # samples before the measurement starts
    double_talk: tuple[int, int]  # sample range where the near end talks

    @property
    def frames(self) -> int:
        return self.far.size // FRAME


def _to_int16(samples: FloatArray) -> Int16Array:
    scaled = np.clip(np.round(samples * 32768.0), -32768, 32767)
    result: Int16Array = scaled.astype(np.int16)
    return result


def build_scenario(
    seconds: float, delay_ms: int, warmup_s: float = CONVERGENCE_S, seed: int = 1
) -> EchoScenario:
    """``warmup_s`` then ``seconds`` of far-end speech and its echo at ``delay_ms``.

    The near end talks over it from half to four fifths of the measured part.
    """
    rng = np.random.default_rng(seed)
    length = int((warmup_s + seconds) * RATE) // FRAME * FRAME
    far = _looped(speech("en-us", FAR_TEXT, 40), length)
    echo_path = np.concatenate(
        [np.zeros(delay_ms * RATE // 1000), room_response(RT60_S, ECHO_GAIN_DB, rng)]
    )
    echo = np.convolve(far, echo_path)[:length]
    start, end = (
        int((warmup_s + seconds * fraction) * RATE) // FRAME * FRAME for fraction in DOUBLE_TALK
    )
    near_voice = speech("en-gb+f4", NEAR_TEXT, 60)
    near = np.zeros(length)
    near[start:end] = _looped(near_voice, end - start)
    noise = rng.standard_normal(length) * 10 ** (NOISE_DBFS / 20)
    return EchoScenario(
        delay_ms=delay_ms,
        far=_to_int16(far),
        mic=_to_int16(echo + near + noise),
        mic_without_echo=_to_int16(near + noise),
        echo=echo,
        near=near,
        warmup=int(warmup_s * RATE) // FRAME * FRAME,
        double_talk=(start, end),
    )


class Canceller(Protocol):
    """One backend, one 10 ms block at a time: render first, then capture."""

    def process(self, far: Int16Array, mic: Int16Array) -> Int16Array: ...


class Ours:
    """The client's ``AudioProcessor`` (echo cancellation and high-pass only)."""

    def __init__(
        self,
        delay_ms: int,
        settings: AudioProcessingSettings | None = None,
        linear_filter: bool = True,
    ) -> None:
        self._processor = AudioProcessor(
            settings or AudioProcessingSettings(noise_suppression=False, auto_gain=False),
            linear_filter=linear_filter,
        )
        self._processor.set_stream_delay_ms(delay_ms)

    def process(self, far: Int16Array, mic: Int16Array) -> Int16Array:
        self._processor.process_render(far)
        return self._processor.process_capture(mic)


class Aec3Alone(Ours):
    """The same bindings with AEC3 only, without our linear filter in front."""

    def __init__(self, delay_ms: int) -> None:
        super().__init__(delay_ms, linear_filter=False)


class Livekit:
    """libwebrtc's APM in the official SDK's wheel: a reference, never in the app."""

    def __init__(self, delay_ms: int) -> None:
        from livekit import rtc

        self._rtc = rtc
        self._apm = rtc.AudioProcessingModule(echo_cancellation=True, high_pass_filter=True)
        self._delay_ms = delay_ms

    def process(self, far: Int16Array, mic: Int16Array) -> Int16Array:
        rtc = self._rtc
        render = rtc.AudioFrame(far.tobytes(), RATE, 1, FRAME)
        self._apm.process_reverse_stream(render)
        capture = rtc.AudioFrame(mic.tobytes(), RATE, 1, FRAME)
        self._apm.set_stream_delay_ms(self._delay_ms)
        self._apm.process_stream(capture)
        result: Int16Array = np.frombuffer(capture.data, dtype=np.int16).copy()
        return result


class LegacyWebrtc:
    """``webrtc-audio-processing`` 0.1.3: 2016 libwebrtc, the pre-AEC3 canceller."""

    def __init__(self, delay_ms: int) -> None:
        from webrtc_audio_processing import AudioProcessingModule  # type: ignore[import-untyped]

        # aec_type 2 is the desktop AEC (1 is the mobile AECM).
        self._apm = AudioProcessingModule(2, False, 0, False)
        self._apm.set_stream_format(RATE, 1, RATE, 1)
        self._apm.set_reverse_stream_format(RATE, 1)
        self._apm.set_system_delay(delay_ms)

    def process(self, far: Int16Array, mic: Int16Array) -> Int16Array:
        self._apm.process_reverse_stream(far.tobytes())
        result: Int16Array = np.frombuffer(self._apm.process_stream(mic.tobytes()), dtype=np.int16)
        return result


class Speex:
    """``speexdsp``'s MDF canceller (linear only), the reference aligned by the delay."""

    TAIL_S = 0.25

    def __init__(self, delay_ms: int) -> None:
        from speexdsp import EchoCanceller  # type: ignore[import-untyped]

        self._aec = EchoCanceller.create(FRAME, int(self.TAIL_S * RATE), RATE)
        # Speex has no delay estimator: its filter covers the room's tail only, so
        # the reference is delayed by the reported delay first.
        self._line = np.zeros(delay_ms * RATE // 1000 + FRAME, dtype=np.int16)
        self._delay = delay_ms * RATE // 1000

    def process(self, far: Int16Array, mic: Int16Array) -> Int16Array:
        self._line = np.concatenate([self._line[FRAME:], far]) if self._delay else far
        aligned = self._line[:FRAME]
        result: Int16Array = np.frombuffer(
            self._aec.process(mic.tobytes(), aligned.tobytes()), dtype=np.int16
        )
        return result


@dataclass
class Figures:
    erle_db: float
    double_talk_near_end_attenuation_db: float
    cpu_us_per_frame: float
    extra: dict[str, float] = field(default_factory=dict)


def run(canceller: Canceller, far: Int16Array, mic: Int16Array) -> tuple[Int16Array, float]:
    """The canceller's output for the whole scenario and its CPU µs per block."""
    out = np.empty_like(mic)
    cpu = 0.0
    for index in range(far.size // FRAME):
        block = slice(index * FRAME, (index + 1) * FRAME)
        started = time.thread_time()
        out[block] = canceller.process(far[block], mic[block])
        cpu += time.thread_time() - started
    return out, cpu * 1e6 / (far.size // FRAME)


def erle_db(scenario: EchoScenario, out: Int16Array) -> float:
    """ERLE over the far-end-only frames after the warm-up, where the echo is active."""
    first = scenario.warmup // FRAME
    last = scenario.double_talk[0] // FRAME
    return _erle(scenario, out, first, last)


def _erle(scenario: EchoScenario, out: Int16Array, first: int, last: int) -> float:
    mic = scenario.mic[first * FRAME : last * FRAME].astype(np.float64).reshape(-1, FRAME)
    echo = scenario.echo[first * FRAME : last * FRAME].reshape(-1, FRAME)
    processed = out[first * FRAME : last * FRAME].astype(np.float64).reshape(-1, FRAME)
    echo_energy = np.mean(echo**2, axis=1)
    active = echo_energy > echo_energy.max() * 1e-3
    return float(
        10 * math.log10(np.sum(mic[active] ** 2) / max(np.sum(processed[active] ** 2), 1e-9))
    )


def near_end_attenuation_db(
    scenario: EchoScenario, out: Int16Array, reference: Int16Array
) -> float:
    """-20 log10 of the least-squares gain of ``out`` onto ``reference`` in double talk."""
    start, end = scenario.double_talk
    got = out[start:end].astype(np.float64)
    ref = reference[start:end].astype(np.float64)
    gain = float(np.dot(got, ref) / np.dot(ref, ref))
    return -20 * math.log10(max(gain, 1e-6))


def _processing_lag(reference: Int16Array, near: FloatArray, start: int, end: int) -> int:
    """The processing's own latency (filter banks), in samples, from the echo-free run."""
    got = reference[start:end].astype(np.float64)
    scores = [float(np.dot(got[lag:], near[start : end - lag])) for lag in range(FRAME)]
    return int(np.argmax(scores))


def measure(factory: Callable[[int], Canceller], scenario: EchoScenario) -> Figures:
    out, cpu = run(factory(scenario.delay_ms), scenario.far, scenario.mic)
    reference, _ = run(factory(scenario.delay_ms), scenario.far, scenario.mic_without_echo)
    after = scenario.double_talk[1] // FRAME
    return Figures(
        erle_db=erle_db(scenario, out),
        double_talk_near_end_attenuation_db=near_end_attenuation_db(scenario, out, reference),
        cpu_us_per_frame=cpu,
        extra={
            "erle_after_double_talk_db": _erle(scenario, out, after, scenario.frames),
            "attenuation_vs_input_db": _versus_input(scenario, out, reference),
        },
    )


def _versus_input(scenario: EchoScenario, out: Int16Array, reference: Int16Array) -> float:
    """The attenuation against the near-end voice as it entered, latency compensated."""
    start, end = scenario.double_talk
    lag = _processing_lag(reference, scenario.near, start, end)
    got = out[start + lag : end].astype(np.float64)
    near = scenario.near[start : end - lag] * 32768.0
    return -20 * math.log10(max(float(np.dot(got, near) / np.dot(near, near)), 1e-6))


def candidates() -> dict[str, Callable[[int], Canceller]]:
    """The chosen backend first, then every other one importable here."""
    found: dict[str, Callable[[int], Canceller]] = {
        "ours: linear + AEC3": Ours,
        f"{AudioProcessor.name} AEC3 alone": Aec3Alone,
    }
    optional: list[tuple[str, str, Callable[[int], Canceller]]] = [
        ("livekit APM (reference)", "livekit.rtc", Livekit),
        ("webrtc-audio-processing", "webrtc_audio_processing", LegacyWebrtc),
        ("speexdsp", "speexdsp", Speex),
    ]
    for label, module, factory in optional:
        try:
            __import__(module)
        except ImportError:
            continue
        found[label] = factory
    return found


def _unreported(factory: Callable[[int], Canceller]) -> Callable[[int], Canceller]:
    return lambda _delay: factory(0)


def main_aec(args: argparse.Namespace) -> int:
    seconds = float(args.seconds)
    quiet = bool(args.json)

    def say(line: str) -> None:
        if not quiet:
            print(line, flush=True)

    if seconds < 5:
        print("--seconds must be at least 5 (far end only, both, far end only again)")
        return 2
    found = candidates()
    say(
        f"{CONVERGENCE_S:.0f} s warm-up + {seconds:.0f} s measured per scenario: echo at -6 dB "
        f"through an RT60 {RT60_S * 1000:.0f} ms room, noise floor {NOISE_DBFS:.0f} dBFS, "
        f"double talk {CONVERGENCE_S + DOUBLE_TALK[0] * seconds:.0f}-"
        f"{CONVERGENCE_S + DOUBLE_TALK[1] * seconds:.0f} s"
    )
    say(
        f"{'delay':>6} {'candidate':<28} {'ERLE dB':>8} {'after DT':>8} "
        f"{'DT att dB':>9} {'vs input':>8} {'µs/frame':>9}"
    )
    chosen: list[Figures] = []
    unreported: dict[str, float] = {}
    for delay in DELAYS_MS:
        scenario = build_scenario(seconds, delay)
        for label, factory in found.items():
            figures = measure(factory, scenario)
            if factory is Ours:
                chosen.append(figures)
            say(
                f"{delay:>4}ms {label:<28} {figures.erle_db:>8.1f} "
                f"{figures.extra['erle_after_double_talk_db']:>8.1f} "
                f"{figures.double_talk_near_end_attenuation_db:>9.1f} "
                f"{figures.extra['attenuation_vs_input_db']:>8.1f} "
                f"{figures.cpu_us_per_frame:>9.0f}"
            )
    # The delay left unreported (0 ms) at the longest delay: who copes without it.
    scenario = build_scenario(seconds, DELAYS_MS[-1])
    for label, factory in found.items():
        out, _ = run(_unreported(factory)(0), scenario.far, scenario.mic)
        unreported[label] = erle_db(scenario, out)
        say(f"{DELAYS_MS[-1]:>4}ms {label:<28} {unreported[label]:>8.1f}  (delay unreported)")
    full = Ours(DELAYS_MS[-1], AudioProcessingSettings())
    _, full_cpu = run(full, scenario.far, scenario.mic)
    say(f"ours, every stage on (AEC, HPF, NS, AGC): {full_cpu:.0f} µs/frame")
    result: dict[str, Any] = {
        "backend": AudioProcessor.name,
        "erle_db": round(min(f.erle_db for f in chosen), 1),
        "double_talk_near_end_attenuation_db": round(
            max(f.double_talk_near_end_attenuation_db for f in chosen), 1
        ),
        "cpu_us_per_frame": round(max(f.cpu_us_per_frame for f in chosen), 1),
        "cpu_us_per_frame_all_stages": round(full_cpu, 1),
        "erle_db_by_delay": {
            str(d): round(f.erle_db, 1) for d, f in zip(DELAYS_MS, chosen, strict=True)
        },
        "double_talk_attenuation_db_by_delay": {
            str(d): round(f.double_talk_near_end_attenuation_db, 1)
            for d, f in zip(DELAYS_MS, chosen, strict=True)
        },
        "erle_db_delay_unreported": round(unreported[next(iter(found))], 1),
        "targets": {"erle_db_min": 40.0, "double_talk_attenuation_db_max": 6.0},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main_aec(argparse.Namespace(seconds=20.0, json=False)))
