"""The microphone processing chain: its frame contract, each stage and its switches.

The echo tests run the synthetic room of ``bench/aec.py`` (espeak-ng speech, a
decaying-noise room response at -6 dB, a delay): real speech through the real native
stages, no mock.  They assert behaviour with wide margins, never speed.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from bench.aec import FRAME, EchoScenario, build_scenario
from client.media.audio_processing import AudioProcessingSettings, AudioProcessor

RATE = AudioProcessor.SAMPLE_RATE
ONLY_ECHO = AudioProcessingSettings(noise_suppression=False, auto_gain=False)
NOTHING = AudioProcessingSettings(False, False, False, False)


def _db(energy: float) -> float:
    return 10 * math.log10(max(energy, 1e-12))


def _run(
    processor: AudioProcessor, far: npt.NDArray[np.int16], mic: npt.NDArray[np.int16]
) -> npt.NDArray[np.int16]:
    out = np.empty_like(mic)
    for index in range(mic.size // FRAME):
        block = slice(index * FRAME, (index + 1) * FRAME)
        processor.process_render(far[block])
        out[block] = processor.process_capture(mic[block])
    return out


def _echo_reduction_db(scenario: EchoScenario, out: npt.NDArray[np.int16], start_s: float) -> float:
    """Mic energy over output energy in the far-end-only part after ``start_s``."""
    first = int(start_s * RATE)
    last = scenario.double_talk[0]
    mic = scenario.mic[first:last].astype(np.float64)
    got = out[first:last].astype(np.float64)
    return _db(float(np.dot(mic, mic))) - _db(float(np.dot(got, got)))


@pytest.fixture(scope="module")
def scenario() -> EchoScenario:
    return build_scenario(8.0, 100, warmup_s=6.0)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(479, dtype=np.int16),
        np.zeros(960, dtype=np.int16),
        np.zeros(480, dtype=np.float32),
        np.zeros((480, 2), dtype=np.int16),
        np.zeros((1, 480), dtype=np.int16),
    ],
    ids=["short", "20ms", "float", "stereo", "2d"],
)
def test_wrong_frames_are_refused_before_native_code(bad: npt.NDArray[np.generic]) -> None:
    processor = AudioProcessor()
    with pytest.raises(ValueError):
        processor.process_capture(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        processor.process_render(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        processor.process_capture([0] * 480)  # type: ignore[arg-type]
    # Still usable afterwards, and a strided (non-contiguous) view is accepted.
    strided = np.zeros(960, dtype=np.int16)[::2]
    processor.process_render(strided)
    assert processor.process_capture(strided).shape == (480,)


def test_all_stages_off_passes_audio_through_untouched() -> None:
    processor = AudioProcessor(NOTHING)
    frame = (np.arange(480) % 200 - 100).astype(np.int16) * 50
    out = processor.process_capture(frame)
    assert np.array_equal(out, frame)
    assert out is not frame


def test_delay_is_reported_and_negative_refused() -> None:
    processor = AudioProcessor(ONLY_ECHO)
    processor.set_stream_delay_ms(120)
    assert processor.delay_ms == 120
    frame = np.zeros(480, dtype=np.int16)
    processor.process_render(frame)
    processor.process_render(frame)
    processor.process_capture(frame)
    # One played block still waits: the native canceller is told 10 ms less.
    assert processor.stats.native_delay_ms == 110
    with pytest.raises(ValueError):
        processor.set_stream_delay_ms(-1)


def test_render_queue_is_bounded_and_underruns_are_counted() -> None:
    processor = AudioProcessor(ONLY_ECHO)
    frame = np.zeros(480, dtype=np.int16)
    for _ in range(80):
        processor.process_render(frame)
    stats = processor.stats
    assert stats.render_overruns == 30
    for _ in range(51):
        processor.process_capture(frame)
    assert processor.stats.render_underruns == 1


def test_echo_passes_when_cancellation_is_off(scenario: EchoScenario) -> None:
    out = _run(
        AudioProcessor(AudioProcessingSettings(False, False, False, False)),
        scenario.far,
        scenario.mic,
    )
    assert abs(_echo_reduction_db(scenario, out, 6.0)) < 1.0


def test_echo_is_cancelled_when_on(scenario: EchoScenario) -> None:
    processor = AudioProcessor(ONLY_ECHO)
    processor.set_stream_delay_ms(scenario.delay_ms)
    out = _run(processor, scenario.far, scenario.mic)
    assert _echo_reduction_db(scenario, out, 6.0) > 20.0


def test_echo_cancellation_switched_on_live(scenario: EchoScenario) -> None:
    processor = AudioProcessor(NOTHING)
    processor.set_stream_delay_ms(scenario.delay_ms)
    half = 3 * RATE
    first = _run(processor, scenario.far[:half], scenario.mic[:half])
    processor.configure(ONLY_ECHO)
    second = _run(processor, scenario.far[half:], scenario.mic[half:])
    out = np.concatenate([first, second])
    early = slice(FRAME, half)
    mic_early = scenario.mic[early].astype(np.float64)
    assert (
        abs(
            _db(float(np.dot(mic_early, mic_early)))
            - _db(float(np.sum(out[early].astype(np.float64) ** 2)))
        )
        < 1.0
    )
    assert _echo_reduction_db(scenario, out, 7.0) > 15.0


def test_high_pass_removes_rumble_and_dc() -> None:
    # WebRTC's high-pass is a rumble and DC filter: 10 Hz loses about 30 dB, while
    # 50 Hz mains hum loses under 2 dB (docs/audio_processing.md, left out).
    t = np.arange(RATE * 2) / RATE
    hum = (8000 * np.sin(2 * np.pi * 10 * t) + 2000).astype(np.int16)
    silence = np.zeros(480, dtype=np.int16)

    def residual(settings: AudioProcessingSettings) -> float:
        processor = AudioProcessor(settings)
        out = np.concatenate(
            [processor.process_capture(hum[i : i + 480]) for i in range(0, hum.size, 480)]
        )
        processor.process_render(silence)
        tail = out[RATE:].astype(np.float64)
        return _db(float(np.dot(tail, tail)))

    passed = residual(NOTHING)
    filtered = residual(AudioProcessingSettings(False, False, False, True))
    assert passed - filtered > 20.0


def test_noise_suppression_lowers_stationary_noise() -> None:
    rng = np.random.default_rng(3)
    noise = (rng.standard_normal(RATE * 3) * 600).astype(np.int16)

    def energy(settings: AudioProcessingSettings) -> float:
        processor = AudioProcessor(settings)
        out = np.concatenate(
            [processor.process_capture(noise[i : i + 480]) for i in range(0, noise.size, 480)]
        )
        tail = out[RATE:].astype(np.float64)
        return _db(float(np.dot(tail, tail)))

    assert energy(NOTHING) - energy(AudioProcessingSettings(False, True, False, False)) > 10.0


def test_auto_gain_raises_a_quiet_talker(scenario: EchoScenario) -> None:
    quiet = (scenario.near * 32768 * 0.05).astype(np.int16)
    processor = AudioProcessor(AudioProcessingSettings(False, False, True, False))
    out = np.concatenate(
        [processor.process_capture(quiet[i : i + 480]) for i in range(0, quiet.size - 479, 480)]
    )
    start, end = scenario.double_talk
    got = out[start:end].astype(np.float64)
    before = quiet[start:end].astype(np.float64)
    assert _db(float(np.dot(got, got))) - _db(float(np.dot(before, before))) > 6.0
    gain = processor.stats.agc_gain_db
    assert gain is not None
