"""The start-up benchmark: launching the app to the first remote video frame on screen.

A local livekit-server runs in the test network namespace with one official-SDK peer
(another process) already publishing 640x360 VP8 and a tone.  ``visio-desktop <link>
--no-prejoin --name Banc`` is then launched as a new process, on a private Xvfb, each
run with fresh settings.  The child is the console script's code behind a small
wrapper (``_CHILD``, run with ``python -c``): it imports what ``visio-desktop`` imports
(``client.cli``, then ``client.ui.app``), wraps ``VideoTile.paintEvent`` so that the
first remote image painted prints a ``time.time()`` stamp, and calls
``client.ui.app.run(argv)``.  It also prints when its own code starts, when the
imports are done, when the window opens, when the call is joined and when the first
remote video track is subscribed, all on the wall clock that the parent reads just
before ``subprocess.Popen``.

The sandbox sets ``PYTHONDONTWRITEBYTECODE``, so the project's modules would be
compiled from source at every launch, which an installed application never does.
The children therefore keep their bytecode in a private cache
(``PYTHONPYCACHEPREFIX``): a first launch, reported on its own, compiles it; the runs
counted start with it compiled, as an installed application does.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.render import die_with_parent, start_sdk_peers, stop_process, token_for, window_sandbox

ROOM = "bench-startup"
MARK = "VISIO_BENCH"
FIRST_FRAME_TIMEOUT_S = 60.0

#: The child: visio-desktop's own code, with stamps.  Keep its imports to what the app
#: imports (no bench, no devtools), so that the import time is the app's.
_CHILD = f"""
import time
started = time.time()
import sys
print("{MARK} started", started, flush=True)
import client.cli
import client.ui.app as app
print("{MARK} imported", time.time(), flush=True)
from client.livekit import events as ev
from client.ui.call_model import CallViewModel
from client.ui.video_tile import VideoTile

seen = set()

def mark(name):
    if name not in seen:
        seen.add(name)
        print("{MARK}", name, time.time(), flush=True)

paint = VideoTile.paintEvent
def first_paint(tile, event):
    before = tile.images_painted
    paint(tile, event)
    if not tile.participant.is_local and tile.images_painted > before:
        mark("first_remote_frame")
VideoTile.paintEvent = first_paint

apply = CallViewModel._apply
def stamped_apply(model, event):
    apply(model, event)
    if isinstance(event, ev.Connected):
        mark("joined")
    elif isinstance(event, ev.TrackSubscribed) and event.publication.kind == "video":
        mark("video_subscribed")
CallViewModel._apply = stamped_apply

open_window = app.Application.open
def stamped_open(application, *args, **kwargs):
    mark("window_opening")
    open_window(application, *args, **kwargs)
app.Application.open = stamped_open

sys.exit(app.run(sys.argv[1:]))
"""


@dataclass(frozen=True)
class LaunchFigures:
    """One launch, in ms from just before ``Popen``."""

    interpreter_ms: float
    imported_ms: float
    window_opening_ms: float
    joined_ms: float
    video_subscribed_ms: float
    first_remote_frame_ms: float

    @property
    def import_ms(self) -> float:
        return self.imported_ms - self.interpreter_ms


@dataclass(frozen=True)
class StartupFigures:
    runs: int
    cold_start_to_first_remote_frame_ms: float
    cold_start_to_first_remote_frame_ms_median: float
    cold_start_to_first_remote_frame_ms_max: float
    first_launch_compiling_bytecode_ms: float
    interpreter_start_ms_median: float
    import_ms_median: float
    import_share_percent: float
    to_window_opening_ms_median: float
    to_joined_ms_median: float
    to_video_subscribed_ms_median: float
    launches: list[LaunchFigures]


def launch(link: str, env: dict[str, str], log_dir: Path) -> LaunchFigures:
    """Start ``visio-desktop`` (wrapped), wait for its first remote frame, stop it."""
    command = [sys.executable, "-c", _CHILD, link, "--no-prejoin", "--name", "Banc"]
    stamps: dict[str, float] = {}
    lines: queue.Queue[str | None] = queue.Queue()
    with (
        tempfile.TemporaryDirectory(prefix="visio-bench-settings-") as settings,
        open(log_dir / "child.log", "a", encoding="utf-8") as errors,
    ):
        child_env = dict(env, VISIO_DESKTOP_CONFIG_DIR=settings)
        launched = time.time()
        child = subprocess.Popen(
            command,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            preexec_fn=die_with_parent,
        )
        try:
            assert child.stdout is not None
            out = child.stdout

            def read() -> None:
                for line in out:
                    lines.put(line)
                lines.put(None)

            threading.Thread(target=read, name="child-stdout", daemon=True).start()
            deadline = time.monotonic() + FIRST_FRAME_TIMEOUT_S
            while "first_remote_frame" not in stamps:
                try:
                    line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise RuntimeError("no remote frame painted in time") from None
                if line is None:
                    raise RuntimeError(f"visio-desktop ended early ({child.wait()})")
                parts = line.split()
                if len(parts) == 3 and parts[0] == MARK:
                    stamps[parts[1]] = float(parts[2])
        finally:
            stop_process(child, timeout=5)

    def ms(name: str) -> float:
        return round((stamps.get(name, float("nan")) - launched) * 1000, 1)

    return LaunchFigures(
        interpreter_ms=ms("started"),
        imported_ms=ms("imported"),
        window_opening_ms=ms("window_opening"),
        joined_ms=ms("joined"),
        video_subscribed_ms=ms("video_subscribed"),
        first_remote_frame_ms=ms("first_remote_frame"),
    )


def run_startup(runs: int, log: bool = True) -> StartupFigures:
    def say(text: str) -> None:
        if log:
            print(text, file=sys.stderr, flush=True)

    launches: list[LaunchFigures] = []
    with (
        window_sandbox() as server,
        tempfile.TemporaryDirectory(prefix="visio-bench-pycache-") as pycache,
        tempfile.TemporaryDirectory(prefix="visio-bench-logs-") as logs,
    ):
        peer = start_sdk_peers(server, [token_for(server, "peer", ROOM, name="Pair")], 30)
        try:
            time.sleep(2.0)  # publishing, not merely joined
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env.update(PYTHONPYCACHEPREFIX=pycache, QT_QPA_PLATFORM="xcb")
            for index in range(runs + 1):
                token = token_for(server, f"ours-{index}", ROOM, name="Banc")
                figures = launch(f"{server.ws_url}?token={token}", env, Path(logs))
                what = "first launch (compiling bytecode)" if index == 0 else f"run {index}"
                say(
                    f"{what}: first remote frame at {figures.first_remote_frame_ms:.0f} ms "
                    f"(python {figures.interpreter_ms:.0f}, imports {figures.import_ms:.0f}, "
                    f"window {figures.window_opening_ms:.0f}, joined {figures.joined_ms:.0f}, "
                    f"video subscribed {figures.video_subscribed_ms:.0f})"
                )
                launches.append(figures)
                time.sleep(1.0)
        except BaseException:
            with contextlib.suppress(OSError):
                say((Path(logs) / "child.log").read_text(encoding="utf-8")[-3000:])
            raise
        finally:
            stop_process(peer)

    first, counted = launches[0], launches[1:]

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 1)

    totals = [f.first_remote_frame_ms for f in counted]
    import_median = median([f.import_ms for f in counted])
    total_median = median(totals)
    return StartupFigures(
        runs=len(counted),
        cold_start_to_first_remote_frame_ms=total_median,
        cold_start_to_first_remote_frame_ms_median=total_median,
        cold_start_to_first_remote_frame_ms_max=round(max(totals), 1),
        first_launch_compiling_bytecode_ms=first.first_remote_frame_ms,
        interpreter_start_ms_median=median([f.interpreter_ms for f in counted]),
        import_ms_median=import_median,
        import_share_percent=round(import_median / total_median * 100, 1),
        to_window_opening_ms_median=median([f.window_opening_ms for f in counted]),
        to_joined_ms_median=median([f.joined_ms for f in counted]),
        to_video_subscribed_ms_median=median([f.video_subscribed_ms for f in counted]),
        launches=counted,
    )


def main_startup(runs: int, as_json: bool) -> int:
    from devtools.sandbox.livekit_server import enter_sandbox_with_server

    if runs < 1:
        print("at least one run", file=sys.stderr)
        return 2
    enter_sandbox_with_server()
    figures = run_startup(runs)
    if not as_json:
        for key, value in asdict(figures).items():
            if key != "launches":
                print(f"{key:44} {value}")
    print(json.dumps(asdict(figures)))
    return 0
