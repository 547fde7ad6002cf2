"""Microphone level in dBFS, for the pre-join meter and "muted but speaking"."""

from __future__ import annotations

import math

import av
import numpy as np

SILENCE_DBFS = -90.0


class LevelMeter:
    """Fed audio frames on the media loop; read from anywhere (one float)."""

    def __init__(self, decay_db_per_frame: float = 1.5) -> None:
        self.level_dbfs = SILENCE_DBFS
        self.peak_dbfs = SILENCE_DBFS
        self._decay = decay_db_per_frame

    def feed(self, frame: av.AudioFrame | av.VideoFrame) -> None:
        if not isinstance(frame, av.AudioFrame):
            return
        samples = frame.to_ndarray()
        if samples.size == 0:
            return
        scale = 32768.0 if samples.dtype == np.int16 else 1.0
        rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float32) / scale))))
        level = 20 * math.log10(rms) if rms > 1e-9 else SILENCE_DBFS
        # Rise at once, fall slowly: a meter that flickers is unreadable.
        self.level_dbfs = max(level, self.level_dbfs - self._decay)
        self.peak_dbfs = max(self.peak_dbfs - self._decay / 4, level)
