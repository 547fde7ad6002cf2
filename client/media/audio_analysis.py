"""Measure received audio: pitch of a test tone and its level.

The tests and the benchmark publish a pure tone and check on the far side that
the same tone comes out (right frequency, sensible level), which proves the
audio path end to end without a human listening.
"""

from __future__ import annotations

from typing import Any

import av
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _to_float(samples: npt.NDArray[Any]) -> FloatArray:
    """Samples as float64 in [-1, 1], whatever their integer or float type."""
    # Float input may come back as the caller's own array (no copy), so it is
    # never modified in place; integer input is always a fresh copy here.
    values: FloatArray = np.asarray(samples, dtype=np.float64)
    if samples.dtype == np.uint8:
        # Unsigned 8-bit PCM is offset binary around 128.
        values -= 128.0
        values /= 128.0
    elif np.issubdtype(samples.dtype, np.integer):
        values /= float(-np.iinfo(samples.dtype).min)
    return values


def _to_mono(samples: FloatArray, channels: int) -> FloatArray:
    if channels < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    mono: FloatArray
    if samples.ndim == 2:
        # (samples, channels) layout.
        mono = samples.mean(axis=1)
        return mono
    if samples.ndim != 1:
        raise ValueError(f"expected a 1-D or 2-D array, got shape {samples.shape}")
    if channels == 1:
        return samples
    usable = samples.size - samples.size % channels
    mono = samples[:usable].reshape(-1, channels).mean(axis=1)
    return mono


def dominant_frequency(samples: npt.NDArray[Any], sample_rate: int, channels: int = 1) -> float:
    """Frequency (Hz) of the strongest spectral peak.

    ``samples`` is int or float PCM, either 1-D (mono, or interleaved when
    ``channels`` > 1) or 2-D shaped ``(samples, channels)``; channels are
    averaged.  Returns 0.0 for silence.  With a Hann window the FFT peak is
    about three bins wide and its log-magnitude is close to a parabola, so
    fitting one through the top three bins locates a pure tone to a small
    fraction of a bin (well under 1 Hz for one second of signal).
    """
    mono = _to_mono(_to_float(np.asarray(samples)), channels)
    if mono.size < 4:
        raise ValueError("need at least 4 samples to estimate a frequency")
    # Remove DC so an offset does not win over the tone at bin 0.
    mono = mono - mono.mean()
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    spectrum[0] = 0.0
    peak = int(np.argmax(spectrum))
    if spectrum[peak] <= 0.0:
        return 0.0
    offset = 0.0
    if 0 < peak < spectrum.size - 1:
        # Floor the neighbours so log() stays finite next to a perfect null.
        tiny = spectrum[peak] * 1e-12
        left, centre, right = np.log(np.maximum(spectrum[peak - 1 : peak + 2], tiny))
        denominator = left - 2.0 * centre + right
        if denominator < 0.0:
            offset = 0.5 * (left - right) / denominator
    return float((peak + offset) * sample_rate / mono.size)


def rms_dbfs(samples: npt.NDArray[Any]) -> float:
    """RMS level in dB relative to full scale (1.0, or the integer type's range).

    A full-scale sine measures -3.01 dBFS in this convention; silence is -inf.
    Channels are not separated: the RMS is over every sample given.
    """
    values = _to_float(np.asarray(samples))
    if values.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(values))))
    if rms == 0.0:
        return float("-inf")
    return 20.0 * float(np.log10(rms))


def samples_of(frame: av.AudioFrame) -> npt.NDArray[np.float32]:
    """The frame's samples as mono float32 in [-1, 1] (channels averaged).

    Handles packed (e.g. s16 interleaved stereo, which is what aiortc's Opus
    decoder produces) and planar (s16p, fltp, ...) frames of any channel count.
    """
    data = frame.to_ndarray()
    channels = frame.layout.nb_channels
    values = _to_float(data)
    if frame.format.is_planar:
        # One row per channel.
        mono = values.mean(axis=0) if channels > 1 else values.reshape(-1)
    else:
        # A single row of interleaved samples.
        mono = _to_mono(values.reshape(-1), channels)
    return mono.astype(np.float32)
