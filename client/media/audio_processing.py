"""Echo cancellation, noise suppression, gain control and high-pass on the microphone.

The stages are libwebrtc's (AEC3, NS, AGC2 and its high-pass filter) through the
``pywebrtc-audio`` bindings; ``docs/audio_processing.md`` has the measurements that
chose them over the other packages.  The audio engine calls us from its one
processing thread, never from a sound-card callback:

- ``process_render(frame)`` with every 10 ms block that was actually played (the
  canceller's reference must be exactly what left the speaker, silence included);
- ``process_capture(frame)`` with every 10 ms microphone block, which returns the
  processed block;
- ``set_stream_delay_ms(ms)`` whenever its estimate of the render-to-capture delay
  (output plus input latency plus ring depths) changes.

The bindings are not thread-safe and only offer a combined ``process(near, far)``
call, so render blocks wait in a short queue and each capture block is processed
with the oldest one.  A block that waits in that queue reaches the canceller later
than it was handed to us, so the delay reported to the native side is the caller's
delay minus that wait.  The queue is bounded: if the caller stops capturing while
rendering, old reference blocks are dropped rather than piling up, and a capture
block with no reference waiting is processed against silence.

Each stage is its own native object, so a stage switched on or off in the settings
changes nothing in the others: turning noise suppression off does not throw away the
echo canceller's converged filter.  One stage has a dependency: AEC3 always
high-passes the capture signal first (a DC offset ruins the echo estimate), so the
high-pass filter is only optional while echo cancellation is off.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from client.media.linear_echo_filter import LinearEchoFilter

Int16Frame = npt.NDArray[np.int16]

#: Reference blocks kept waiting at most: more than any sane playout buffer (0.5 s).
_MAX_PENDING_RENDER: Final = 50
#: Captures over which the render queue's depth is averaged for the delay report.
_DEPTH_WINDOW: Final = 50
#: The linear filter starts this long before the reported delay: the report is an
#: estimate from the streams' latencies, and a filter starting late misses the echo.
_ALIGNMENT_MARGIN_MS: Final = 30
#: A reported delay moving more than this realigns (and restarts) the linear filter.
_REALIGN_MS: Final = 20
#: Longest delay the linear filter can align to (reference blocks kept).
_MAX_ALIGNMENT_FRAMES: Final = 100
#: Browsers' setting (WebRTC ``kHigh``, about 18 dB of noise reduction).
_NS_LEVEL: Final = 2


@dataclass(frozen=True)
class AudioProcessingSettings:
    """Which stages run on the microphone (all on by default, as in a browser)."""

    echo_cancellation: bool = True
    noise_suppression: bool = True
    auto_gain: bool = True
    high_pass: bool = True


@dataclass(frozen=True)
class AudioProcessingStats:
    """Counters of one ``AudioProcessor`` (read on the processing thread)."""

    capture_frames: int
    render_frames: int
    #: Capture blocks processed against silence: no played block was waiting.
    render_underruns: int
    #: Played blocks dropped because too many waited (capture stalled).
    render_overruns: int
    #: The delay the native echo canceller is told (caller's minus queue wait).
    native_delay_ms: int
    #: The gain control's current gain, or None when it is off.
    agc_gain_db: float | None


def _pywebrtc() -> Any:
    # Imported lazily so that importing this module (settings screens, tests of
    # other parts) does not load the native library.
    import pywebrtc_audio

    return pywebrtc_audio


class AudioProcessor:
    """The microphone processing chain; one instance per capture stream.

    Not thread-safe: ``process_render``, ``process_capture``, ``configure`` and
    ``set_stream_delay_ms`` must all be called from the same thread (the audio
    engine's processing thread), which the native bindings require too.
    """

    SAMPLE_RATE: Final = 48000
    FRAME_SAMPLES: Final = 480
    #: The package doing the work (its PyPI name).
    name: Final = "pywebrtc-audio"

    def __init__(
        self,
        settings: AudioProcessingSettings = AudioProcessingSettings(),
        *,
        linear_filter: bool = True,
    ) -> None:
        """``linear_filter=False`` leaves AEC3 alone (for comparisons: it ducks more)."""
        self._native = _pywebrtc()
        self._use_linear = linear_filter
        self._linear: LinearEchoFilter | None = None
        self._far_history: deque[npt.NDArray[np.float64]] = deque(maxlen=_MAX_ALIGNMENT_FRAMES)
        self._aligned_ms = -1
        self._silent_far: npt.NDArray[np.float64] = np.zeros(self.FRAME_SAMPLES)
        self._settings = AudioProcessingSettings(False, False, False, False)
        self._echo: Any = None
        self._high_pass: Any = None
        self._noise: Any = None
        self._gain: Any = None
        self._delay_ms = 0
        self._native_delay_ms = 0
        self._pending: deque[Int16Frame] = deque()
        self._depths: deque[int] = deque(maxlen=_DEPTH_WINDOW)
        self._depth_sum = 0
        self._silence = np.zeros(self.FRAME_SAMPLES, dtype=np.int16)
        self._capture_frames = 0
        self._render_frames = 0
        self._underruns = 0
        self._overruns = 0
        self.configure(settings)

    @property
    def settings(self) -> AudioProcessingSettings:
        return self._settings

    @property
    def delay_ms(self) -> int:
        """The render-to-capture delay last reported by the caller."""
        return self._delay_ms

    @property
    def stats(self) -> AudioProcessingStats:
        gain = float(self._gain.gain_db) if self._gain is not None else None
        return AudioProcessingStats(
            capture_frames=self._capture_frames,
            render_frames=self._render_frames,
            render_underruns=self._underruns,
            render_overruns=self._overruns,
            native_delay_ms=self._native_delay_ms,
            agc_gain_db=gain,
        )

    def configure(self, settings: AudioProcessingSettings) -> None:
        """Switch stages on or off now; stages left as they were keep their state."""
        native = self._native
        rate = self.SAMPLE_RATE
        old = self._settings
        if settings.echo_cancellation != old.echo_cancellation:
            self._echo = (
                native.EchoCanceller(sample_rate=rate, num_channels=1, stream_delay_ms=0)
                if settings.echo_cancellation
                else None
            )
            # A fresh canceller must hear the current delay; a stale queue of
            # reference blocks would only mislead it.
            self._pending.clear()
            self._far_history.clear()
            self._native_delay_ms = -1
            self._aligned_ms = -1
            self._linear = (
                LinearEchoFilter(self.FRAME_SAMPLES)
                if settings.echo_cancellation and self._use_linear
                else None
            )
        # AEC3 high-passes the capture itself, so a separate filter would only
        # filter twice; it is needed when high-pass is wanted without the canceller.
        want_high_pass = settings.high_pass and not settings.echo_cancellation
        if want_high_pass != (self._high_pass is not None):
            self._high_pass = (
                native.AudioProcessor(sample_rate=rate, num_channels=1, high_pass_filter=True)
                if want_high_pass
                else None
            )
        if settings.noise_suppression != old.noise_suppression:
            self._noise = (
                native.NoiseSuppressor(sample_rate=rate, num_channels=1, level=_NS_LEVEL)
                if settings.noise_suppression
                else None
            )
        if settings.auto_gain != old.auto_gain:
            self._gain = (
                native.GainController(sample_rate=rate, num_channels=1)
                if settings.auto_gain
                else None
            )
        self._settings = settings

    def set_stream_delay_ms(self, delay_ms: int) -> None:
        """How long after ``process_render`` gets a block its echo reaches ``process_capture``."""
        if delay_ms < 0:
            raise ValueError(f"stream delay must be >= 0 ms, got {delay_ms}")
        self._delay_ms = int(delay_ms)

    def process_render(self, frame: Int16Frame) -> None:
        """One 10 ms block exactly as it was played (int16, 480 samples)."""
        block = self._checked(frame, "render")
        self._render_frames += 1
        if self._echo is None:
            return
        if len(self._pending) >= _MAX_PENDING_RENDER:
            self._pending.popleft()
            self._overruns += 1
        # A copy: the caller's ring buffer views are reused for the next block.
        self._pending.append(block.copy())

    def process_capture(self, frame: Int16Frame) -> Int16Frame:
        """One 10 ms microphone block (int16, 480 samples); returns the processed block."""
        out = self._checked(frame, "capture")
        self._capture_frames += 1
        if self._echo is not None:
            if self._pending:
                far = self._pending.popleft()
            else:
                far = self._silence
                self._underruns += 1
            self._report_delay(len(self._pending))
            if self._linear is not None:
                out = self._linear_stage(far, out)
            out = self._echo.process(out, far)
        elif self._high_pass is not None:
            out = self._high_pass.process(out)
        if self._noise is not None:
            out = self._noise.process(out)
        if self._gain is not None:
            # The noise suppressor's speech probability is a better voice detector
            # than AGC2's own when the signal is noisy, and it is already computed.
            speech = float(self._noise.speech_probability) if self._noise is not None else None
            out = self._gain.process(out, speech)
        if out is frame:
            # Every stage off: never hand back the caller's own (reused) buffer.
            out = out.copy()
        result: Int16Frame = out
        return result

    def _report_delay(self, depth: int) -> None:
        # Blocks still queued after this capture were handed to us earlier than the
        # canceller will see them: its delay is shorter by their wait, averaged so
        # that bursty rendering (20 ms device periods) does not jitter the value.
        if len(self._depths) == self._depths.maxlen:
            self._depth_sum -= self._depths[0]
        self._depths.append(depth)
        self._depth_sum += depth
        wait_ms = round(10 * self._depth_sum / len(self._depths))
        native = max(0, self._delay_ms - wait_ms)
        if native != self._native_delay_ms:
            self._echo.stream_delay_ms = native
            self._native_delay_ms = native

    def _linear_stage(self, far: Int16Frame, mic: Int16Frame) -> Int16Frame:
        assert self._linear is not None
        self._far_history.append(far.astype(np.float64) / 32768.0)
        if abs(self._native_delay_ms - self._aligned_ms) > _REALIGN_MS:
            # The filter's taps are tied to one alignment: after a real change of
            # delay they model the wrong lags, so it learns again from zero (AEC3,
            # with its own delay estimator, carries on meanwhile).
            self._aligned_ms = self._native_delay_ms
            self._linear.reset()
        lag = max(0, self._aligned_ms - _ALIGNMENT_MARGIN_MS) // 10
        history = self._far_history
        aligned = history[-1 - lag] if lag < len(history) else self._silent_far
        cleaned = self._linear.process(aligned, mic.astype(np.float64) / 32768.0)
        result: Int16Frame = np.clip(np.round(cleaned * 32768.0), -32768, 32767).astype(np.int16)
        return result

    def _checked(self, frame: Int16Frame, what: str) -> Int16Frame:
        # Native code reads exactly one 10 ms block's worth of memory: anything else
        # must stop here, as a Python error, not as garbage or a crash there.
        if not isinstance(frame, np.ndarray):
            raise ValueError(f"{what} frame must be a numpy array, got {type(frame).__name__}")
        if frame.dtype != np.int16:
            raise ValueError(f"{what} frame must be int16, got {frame.dtype}")
        if frame.shape != (self.FRAME_SAMPLES,):
            raise ValueError(
                f"{what} frame must be {self.FRAME_SAMPLES} mono samples (10 ms at "
                f"{self.SAMPLE_RATE} Hz), got shape {frame.shape}"
            )
        if not frame.flags.c_contiguous:
            return np.ascontiguousarray(frame)
        return frame
