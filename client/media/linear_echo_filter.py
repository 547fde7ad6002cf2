"""A long linear echo filter that runs before AEC3, so that AEC3 has less to suppress.

AEC3's own linear filter is short (about 50 ms at its default settings); the rest of
a room's echo is left to its suppressor, which cannot tell a reverberant echo tail
from the local talker and turns the local voice down during double talk (10 dB and
more), and the bindings we use give no access to its tuning.  This filter models
the whole room (400 ms from just before the reported delay) and subtracts its echo
estimate first; AEC3 then sees an echo 20-30 dB weaker, its suppressor has far less
to hide and the local voice comes through while both talk.  ``docs/audio_processing.md``
has the measurements.

It is a partitioned-block frequency-domain NLMS filter (overlap-save, one 10 ms
block per partition) with two copies, as echo cancellers commonly do for double
talk: a background filter that always adapts, and the foreground filter whose output
is used.  The background is copied into the foreground only while it cancels
clearly better, and is reset from the foreground when it diverges (the local talker
or an echo-path change disturbs its adaptation), so double talk never makes the
output worse than the last good filter.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

#: Normalised step of the background filter, shared over all partitions.
_STEP: Final = 0.5
#: Per-frame smoothing of the error energies that compare the two filters.
_SMOOTHING: Final = 0.7
#: The background replaces the foreground when its error is this much lower...
_COPY_RATIO: Final = 0.7
#: ...and is reset from the foreground when its error is this much higher.
_RESET_RATIO: Final = 4.0
#: ...but only while its error is this far below the microphone's energy: the filter
#: is then removing echo.  In double talk a filter that adapted to the local voice
#: can have a lower error too, by cancelling part of that voice; copying it would
#: leave an echo path corrupted for seconds after the double talk.
_COPY_MAX_ERROR_SHARE: Final = 0.25
#: Below this reference power (-65 dBFS) nothing is learnt: there is no echo to model.
_MIN_REFERENCE_POWER: Final = 10 ** (-65 / 10)


class LinearEchoFilter:
    """Subtracts a linear estimate of the echo of ``far`` from ``mic``, 10 ms at a time.

    ``far`` must be aligned by the caller (delayed so that the echo starts at or after
    the first partition); samples are floats in [-1, 1].
    """

    def __init__(self, block: int = 480, partitions: int = 40) -> None:
        self._block = block
        self._partitions = partitions
        bins = block + 1
        # The reference spectra, newest first, written twice so that
        # ``_history[head : head + partitions]`` is always contiguous in lag order.
        self._history: ComplexArray = np.zeros((2 * partitions, bins), dtype=np.complex128)
        self._head = 0
        self._previous_far: FloatArray = np.zeros(block)
        self._background: ComplexArray = np.zeros((partitions, bins), dtype=np.complex128)
        self._foreground: ComplexArray = np.zeros((partitions, bins), dtype=np.complex128)
        # Each reference spectrum's power, and their sum over the filter's length.
        self._powers: FloatArray = np.zeros((partitions, bins))
        self._far_power: FloatArray = np.zeros(bins)
        self._zeros: FloatArray = np.zeros(block)
        self._background_error = 0.0
        self._foreground_error = 0.0
        self._mic_energy = 0.0
        self._next_constrained = 0
        # Keeps the normalisation finite in silence (about -90 dBFS per bin).
        self._regularisation = 2 * block * 10 ** (-90 / 10)
        self.copies = 0
        self.resets = 0

    def reset(self) -> None:
        self._background[:] = 0
        self._foreground[:] = 0
        self._history[:] = 0
        self._powers[:] = 0
        self._far_power[:] = 0
        self._background_error = self._foreground_error = self._mic_energy = 0.0

    def process(self, far: FloatArray, mic: FloatArray) -> FloatArray:
        """``mic`` minus the foreground filter's echo estimate; adapts the background."""
        block = self._block
        spectrum = np.fft.rfft(np.concatenate((self._previous_far, far)))
        self._previous_far = far
        self._head = (self._head - 1) % self._partitions
        self._history[self._head] = spectrum
        self._history[self._head + self._partitions] = spectrum
        power = spectrum.real**2 + spectrum.imag**2
        self._far_power += power - self._powers[self._head]
        self._powers[self._head] = power
        lagged = self._history[self._head : self._head + self._partitions]

        foreground_error = mic - self._estimate(self._foreground, lagged)
        background_error = mic - self._estimate(self._background, lagged)
        far_energy = float(np.dot(far, far)) / block
        self._compare(
            float(np.dot(mic, mic)),
            float(np.dot(foreground_error, foreground_error)),
            float(np.dot(background_error, background_error)),
        )
        if far_energy > _MIN_REFERENCE_POWER:
            self._adapt(lagged, background_error)
        return foreground_error

    def _estimate(self, weights: ComplexArray, lagged: ComplexArray) -> FloatArray:
        echo_spectrum = np.einsum("pk,pk->k", weights, lagged)
        # Overlap-save: only the second half of the circular convolution is valid.
        estimate: FloatArray = np.fft.irfft(echo_spectrum)[self._block :]
        return estimate

    def _compare(self, mic: float, foreground: float, background: float) -> None:
        alpha = _SMOOTHING
        self._mic_energy = alpha * self._mic_energy + (1 - alpha) * mic
        self._foreground_error = alpha * self._foreground_error + (1 - alpha) * foreground
        self._background_error = alpha * self._background_error + (1 - alpha) * background
        if (
            self._background_error < _COPY_RATIO * self._foreground_error
            and self._background_error < _COPY_MAX_ERROR_SHARE * self._mic_energy
        ):
            self._foreground[:] = self._background
            self._foreground_error = self._background_error
            self.copies += 1
        elif self._background_error > _RESET_RATIO * self._foreground_error:
            self._background[:] = self._foreground
            self._background_error = self._foreground_error
            self.resets += 1

    def _adapt(self, lagged: ComplexArray, error: FloatArray) -> None:
        error_spectrum = np.fft.rfft(np.concatenate((self._zeros, error)))
        # Every partition's gradient is normalised by the reference power summed over
        # the filter's length (what the filter's memory holds now, not a smoothed
        # guess: after a loud word that sum stays high while the current block is
        # quiet), which keeps the whole update's step at _STEP.
        step = _STEP / (np.maximum(self._far_power, 0.0) + self._regularisation)
        self._background += np.conj(lagged) * (error_spectrum * step)
        # The gradient's circular wrap-around is removed from one partition per block
        # (all of them every 400 ms): constraining all 40 each time costs 80 FFTs.
        index = self._next_constrained
        taps = np.fft.irfft(self._background[index])
        taps[self._block :] = 0.0
        self._background[index] = np.fft.rfft(taps)
        self._next_constrained = (index + 1) % self._partitions
