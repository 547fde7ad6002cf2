"""Keep the garbage collector's pauses short on the media loop.

Everything imported at startup (Qt, aiortc, PyAV, protobuf descriptors) lives as
long as the process; a full collection would walk all of it, blocking the loop
for several milliseconds each time.  Once the application is set up, those
objects are moved out of the collector's sight (``gc.freeze``).
"""

from __future__ import annotations

import gc


def settle_after_startup() -> None:
    gc.collect()
    gc.freeze()
