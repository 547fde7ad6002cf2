"""A private X server (Xvfb) for the GUI tests, benchmarks and screenshots."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


class XvfbError(RuntimeError):
    pass


@contextlib.contextmanager
def xvfb(width: int = 1920, height: int = 1080, depth: int = 24) -> Iterator[str]:
    """Start Xvfb on a free display, point DISPLAY at it, yield the display name."""
    binary = shutil.which("Xvfb")
    if binary is None:
        raise XvfbError("Xvfb is not installed (make deps installs it)")
    display = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    process = subprocess.Popen(
        [binary, f":{display}", "-screen", "0", f"{width}x{height}x{depth}", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = Path(f"/tmp/.X11-unix/X{display}")
    deadline = time.monotonic() + 10
    while not socket.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise XvfbError(f"Xvfb :{display} did not start")
        time.sleep(0.05)
    previous = {key: os.environ.get(key) for key in ("DISPLAY", "QT_QPA_PLATFORM")}
    os.environ["DISPLAY"] = f":{display}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        yield f":{display}"
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
