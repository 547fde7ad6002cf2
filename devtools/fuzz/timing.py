"""How long one input took, and whether that makes it a hang.

Wall time alone cannot tell: another process on a busy machine, or a full
collection of the fuzzer's own heap, can stretch a fast input past the limit.
An input is a hang when its CPU time minus garbage collection is over the limit,
or when it is slow again replayed alone on a fresh harness; otherwise it is a
stall, counted apart and not a finding.
"""

from __future__ import annotations

import gc
import time
from typing import Any

HANG_S = 1.0


class InputTimer:
    """Wall time, and CPU time net of garbage collection, of the input being run."""

    def __init__(self) -> None:
        self._gc_started = 0.0
        self._gc_s = 0.0
        self._wall = 0.0
        self._cpu = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._gc_s += time.perf_counter() - self._gc_started

    def start(self) -> None:
        self._gc_s = 0.0
        self._wall, self._cpu = time.perf_counter(), time.thread_time()

    def stop(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds not spent collecting garbage) since ``start``."""
        wall = time.perf_counter() - self._wall
        cpu = time.thread_time() - self._cpu - self._gc_s
        return wall, max(0.0, cpu)

    def close(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)


def is_hang(cpu_s: float, alone_s: float) -> bool:
    """Slow on the CPU itself, or slow again alone: not the machine, the input."""
    return cpu_s > HANG_S or alone_s > HANG_S
