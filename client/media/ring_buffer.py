"""A preallocated single-producer single-consumer ring of int16 samples.

Audio callbacks run on PortAudio's real-time thread: they must not wait for a lock
another thread may hold, allocate sample buffers or log.  This ring needs no lock
because each side owns one index: only the producer advances ``_written`` and only
the consumer advances ``_read``.  Both are ever-growing Python ints (no wrap-around
ambiguity), each stored with one assignment, which the interpreter makes atomic; the
samples are copied in *before* the producer publishes the new index and copied out
*before* the consumer publishes its own, so neither side ever sees a half-written
block.

Exactly one thread may write and exactly one (other) thread may read.  ``capacity``
samples are allocated once; reads and writes copy into and out of that array with
numpy slice assignment (small view objects, no sample buffers).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]


class Int16Ring:
    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self._data: Int16Array = np.zeros(capacity, dtype=np.int16)
        # Total samples ever written / read: only the producer / consumer stores them.
        self._written = 0
        self._read = 0

    @property
    def available(self) -> int:
        """Samples ready to read (a lower bound for the consumer, exact when idle)."""
        return self._written - self._read

    @property
    def free(self) -> int:
        """Room for writing (a lower bound for the producer)."""
        return self.capacity - (self._written - self._read)

    # --- producer side ----------------------------------------------------------

    def write(self, samples: Int16Array) -> int:
        """Copy as many of ``samples`` as fit; returns how many were written."""
        written = self._written
        count = min(len(samples), self.capacity - (written - self._read))
        if count <= 0:
            return 0
        start = written % self.capacity
        first = min(count, self.capacity - start)
        self._data[start : start + first] = samples[:first]
        if count > first:
            self._data[: count - first] = samples[first:count]
        self._written = written + count
        return count

    # --- consumer side ----------------------------------------------------------

    def read_into(self, out: Int16Array) -> int:
        """Fill ``out`` from the ring; returns how many samples were copied (the rest
        of ``out`` is left untouched)."""
        read = self._read
        count = min(len(out), self._written - read)
        if count <= 0:
            return 0
        start = read % self.capacity
        first = min(count, self.capacity - start)
        out[:first] = self._data[start : start + first]
        if count > first:
            out[first:count] = self._data[: count - first]
        self._read = read + count
        return count

    def discard(self, count: int) -> int:
        """Drop up to ``count`` of the oldest samples (consumer side); returns how many."""
        read = self._read
        dropped = max(0, min(count, self._written - read))
        self._read = read + dropped
        return dropped
