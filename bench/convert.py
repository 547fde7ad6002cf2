"""The conversion micro-benchmark: a decoded frame to a paintable image, two ways.

(a) What the app does (``client/ui/video_frames.py``): PyAV ``frame.reformat`` scales
    and converts the 640x360 yuv420p frame to the tile's size in BGRA in one
    libswscale call, then the bytes are wrapped in a ``QImage`` and copied.
(b) What Qt Multimedia's ``QVideoSink`` path would do: a ``QVideoFrame`` in
    ``Format_YUV420P`` is mapped and filled from the decoded planes, then
    ``QVideoFrame.toImage()`` converts it (through a QRhi when Qt finds one, else on
    the CPU); the image is the source's size, so it must still be scaled to the tile
    (``QImage.scaled``, smooth) before it is painted.

Both run on a worker thread, as a converter thread would, over frames decoded from a
short VP8 clip of a moving test pattern with sensor-like noise (flat frames compress
and convert unrealistically well).  Path (b) runs twice, in child processes: on the
Xvfb display (``xcb``: Qt picks an OpenGL QRhi, which on a machine without a GPU is
Mesa's software rasteriser) and on the ``offscreen`` platform (no QRhi: Qt's CPU
conversion, the software fallback).  Per path and size: process CPU per frame (the
converters may use threads of their own), wall time per frame, and how late a 1 ms
Python sleeper thread woke meanwhile (a conversion that holds the GIL would stall
the UI thread the same way).

``python -m bench convert [--frames N] [--json]``
"""

from __future__ import annotations

import argparse
import fractions
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bench.measures import cpu_seconds

SOURCE_W, SOURCE_H = 640, 360
SIZES = ((320, 180), (640, 360), (1280, 720))
CLIP_FRAMES = 90


@dataclass(frozen=True)
class PathFigures:
    path: str
    platform: str
    width: int
    height: int
    frames: int
    cpu_ms_per_frame: float
    wall_ms_p50: float
    wall_ms_p95: float
    sleeper_late_ms_p99: float
    sleeper_late_ms_max: float


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def camera_like_clip(count: int = CLIP_FRAMES) -> list[Any]:
    """Decoded 640x360 yuv420p frames: a moving pattern with noise, through VP8."""
    from bench.codec_floor import make_vp8_decoder, make_vp8_encoder
    from client.media.test_sources import PatternSource
    from client.media.video_analysis import plane_rows

    source = PatternSource(SOURCE_W, SOURCE_H, 30)
    encoder = make_vp8_encoder(SOURCE_W, SOURCE_H, 800_000)
    decoder = make_vp8_decoder()
    rng = np.random.default_rng(7)
    decoded: list[Any] = []
    for index in range(count):
        frame = source.next_frame()
        for plane_index, sigma in ((0, 6.0), (1, 3.0), (2, 3.0)):
            plane = frame.planes[plane_index]
            rows = plane_rows(plane)
            noisy = rows[:, : plane.width].astype(np.int16)
            noisy += rng.normal(0, sigma, noisy.shape).astype(np.int16)
            rows[:, : plane.width] = np.clip(noisy, 0, 255).astype(np.uint8)
        frame.pts = index * 3000
        frame.time_base = fractions.Fraction(1, 90_000)
        for packet in encoder.encode(frame):
            decoded.extend(decoder.decode(packet))
    for packet in encoder.encode(None):
        decoded.extend(decoder.decode(packet))
    if not decoded:
        raise RuntimeError("the VP8 clip decoded to nothing")
    return decoded


def _fit(width: int, height: int) -> tuple[int, int]:
    """The tile's image size for a 16:9 source: the app's ``_fit``, even sizes."""
    from client.ui.video_frames import _fit as fit

    return fit(SOURCE_W, SOURCE_H, width, height)


def pyav_converter(width: int, height: int) -> Callable[[Any], object]:
    """Path (a), exactly as ``FrameSlot._convert`` does it."""
    from PySide6.QtGui import QImage

    w, h = _fit(width, height)

    def convert(frame: Any) -> object:
        converted = frame.reformat(width=w, height=h, format="bgra")
        plane = converted.planes[0]
        return QImage(bytes(plane), w, h, plane.line_size, QImage.Format.Format_RGB32).copy()

    return convert


def qvideoframe_converter(width: int, height: int, scale: bool) -> Callable[[Any], object]:
    """Path (b): a mapped ``QVideoFrame`` filled from the planes, ``toImage()``, and
    (``scale``) the smooth scaling to the tile's size the sink's image still needs."""
    from PySide6.QtCore import QSize, Qt
    from PySide6.QtMultimedia import QVideoFrame, QVideoFrameFormat

    from client.media.video_analysis import plane_rows

    frame_format = QVideoFrameFormat(
        QSize(SOURCE_W, SOURCE_H), QVideoFrameFormat.PixelFormat.Format_YUV420P
    )
    w, h = _fit(width, height)

    def convert(frame: Any) -> object:
        # A fresh QVideoFrame per frame, as a sink gets: toImage() caches per frame.
        video = QVideoFrame(frame_format)
        if not video.map(QVideoFrame.MapMode.WriteOnly):
            raise RuntimeError("cannot map a QVideoFrame")
        for index in range(3):
            plane = frame.planes[index]
            rows = plane_rows(plane)
            stride = video.bytesPerLine(index)
            target = np.frombuffer(video.bits(index), np.uint8).reshape(-1, stride)
            target[: plane.height, : plane.width] = rows[: plane.height, : plane.width]
        video.unmap()
        image = video.toImage()
        if scale and (image.width(), image.height()) != (w, h):
            image = image.scaled(
                w,
                h,
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        return image

    return convert


def paint_converter(width: int, height: int, prescaled: bool) -> Callable[[Any], object]:
    """What the paint then costs the UI thread: the tile-size image drawn 1:1 (path a),
    or the source-size image scaled smoothly by the painter (a sink's image unscaled)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    w, h = _fit(width, height)
    to_image = pyav_converter(width, height) if prescaled else pyav_converter(SOURCE_W, SOURCE_H)
    images: dict[int, QImage] = {}
    target = QImage(w, h, QImage.Format.Format_RGB32)

    def paint(frame: Any) -> object:
        image = images.get(id(frame))
        if image is None:
            made = to_image(frame)
            assert isinstance(made, QImage)
            image = images[id(frame)] = made
        painter = QPainter(target)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF(0, 0, w, h), image)
        painter.end()
        return target

    return paint


def measure(
    name: str,
    platform: str,
    convert: Callable[[Any], object],
    clip: list[Any],
    size: tuple[int, int],
    frames: int,
    *,
    contended: bool = False,
) -> PathFigures:
    """Run ``convert`` over ``frames`` frames on a worker thread, a sleeper beside it.

    ``contended``: a third thread runs pure Python meanwhile, as the core thread does in
    a call (RTP, SRTP, the jitter buffer): each time the conversion gives the GIL up
    (libswscale, a Qt call) it may then wait for that thread's switch interval."""
    for frame in clip:
        convert(frame)  # warm-up: contexts, pools, the QRhi (and the paint's images)
    walls: list[float] = []
    late: list[float] = []
    done = threading.Event()

    def sleeper() -> None:
        while not done.is_set():
            start = time.perf_counter()
            time.sleep(0.001)
            late.append((time.perf_counter() - start) * 1000 - 1)

    def work() -> None:
        for index in range(frames):
            start = time.perf_counter()
            convert(clip[index % len(clip)])
            walls.append(time.perf_counter() - start)

    spinner_cpu: list[float] = []

    def spin() -> None:
        start = time.thread_time()
        while not done.is_set():
            sum(range(200))
        spinner_cpu.append(time.thread_time() - start)

    probe = threading.Thread(target=sleeper, name="sleeper")
    worker = threading.Thread(target=work, name="convert")
    spinner = threading.Thread(target=spin, name="spinner") if contended else None
    probe.start()
    if spinner is not None:
        spinner.start()
    cpu_start = cpu_seconds()
    worker.start()
    worker.join()
    done.set()
    probe.join()
    if spinner is not None:
        spinner.join()
    cpu = cpu_seconds() - cpu_start - sum(spinner_cpu)
    return PathFigures(
        path=name + (" +busy_python_thread" if contended else ""),
        platform=platform,
        width=size[0],
        height=size[1],
        frames=frames,
        cpu_ms_per_frame=round(cpu / frames * 1000, 3),
        wall_ms_p50=round(_percentile(walls, 0.5) * 1000, 3),
        wall_ms_p95=round(_percentile(walls, 0.95) * 1000, 3),
        sleeper_late_ms_p99=round(_percentile(late, 0.99), 2),
        sleeper_late_ms_max=round(max(late, default=0.0), 2),
    )


def _gl_renderer() -> str:
    """The OpenGL renderer Qt gets on this platform ("" if none): what a QRhi would use."""
    from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

    context = QOpenGLContext()
    if not context.create():
        return ""
    surface = QOffscreenSurface()
    surface.create()
    if not context.makeCurrent(surface):
        return ""
    functions = context.functions()
    renderer = str(functions.glGetString(0x1F01) or "")  # GL_RENDERER
    context.doneCurrent()
    return renderer


def child(platform: str, frames: int) -> int:
    """One platform's measurements, as JSON lines on stdout."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    from PySide6.QtGui import QGuiApplication

    messages: list[str] = []

    def handler(kind: QtMsgType, context: object, text: str) -> None:
        messages.append(text)

    qInstallMessageHandler(handler)
    app = QGuiApplication([sys.argv[0], "-platform", platform])
    clip = camera_like_clip()
    results: list[PathFigures] = []
    for size in SIZES:
        w, h = size
        scaled = size != (SOURCE_W, SOURCE_H)
        paths: list[tuple[str, Callable[[Any], object]]] = []
        if platform == "xcb":
            paths.append(("pyav_reformat", pyav_converter(w, h)))
            paths.append(("paint_1to1", paint_converter(w, h, True)))
            if scaled:
                paths.append(("paint_scaling", paint_converter(w, h, False)))
        paths.append(("qvideoframe_toimage", qvideoframe_converter(w, h, False)))
        if scaled:
            paths.append(("qvideoframe_toimage_scaled", qvideoframe_converter(w, h, True)))
        for name, convert in paths:
            results.append(measure(name, platform, convert, clip, size, frames))
        contended = "pyav_reformat" if platform == "xcb" else "qvideoframe_toimage"
        for name, convert in paths:
            if name == contended:
                results.append(measure(name, platform, convert, clip, size, frames, contended=True))
    renderer = _gl_renderer() if platform != "offscreen" else ""
    cpu_conversion = any("Using CPU conversion" in m for m in messages)
    print(
        json.dumps(
            {
                "platform": platform,
                "gl_renderer": renderer,
                "toimage_backend": "cpu" if cpu_conversion else f"rhi ({renderer or 'unknown'})",
                "results": [asdict(r) for r in results],
            }
        ),
        flush=True,
    )
    del app
    return 0


def main_convert(frames: int, as_json: bool) -> int:
    from devtools.xvfb import xvfb

    def say(text: str) -> None:
        print(text, file=sys.stderr if as_json else sys.stdout, flush=True)

    reports: list[dict[str, Any]] = []
    with xvfb(1920, 1080):
        for platform in ("xcb", "offscreen"):
            say(f"measuring on the {platform} platform ({frames} frames per path and size)")
            env = dict(os.environ, QT_QPA_PLATFORM=platform)
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.convert",
                    "--child",
                    platform,
                    "--frames",
                    str(frames),
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode != 0 or not lines:
                say(done.stderr[-2000:])
                raise RuntimeError(f"the {platform} measurement failed ({done.returncode})")
            reports.append(json.loads(lines[-1]))
    rows = [row for report in reports for row in report["results"]]
    if not as_json:
        for report in reports:
            say(
                f"{report['platform']}: toImage() backend {report['toimage_backend']}"
                + (f", GL renderer {report['gl_renderer']}" if report["gl_renderer"] else "")
            )
        say(
            f"{'path':48} {'platform':9} {'size':>9} {'cpu ms':>8} {'p50 ms':>8} "
            f"{'p95 ms':>8} {'late p99':>8} {'max':>6}"
        )
        for row in rows:
            say(
                f"{row['path']:48} {row['platform']:9} {row['width']:>4}x{row['height']:<4} "
                f"{row['cpu_ms_per_frame']:8.2f} {row['wall_ms_p50']:8.2f} "
                f"{row['wall_ms_p95']:8.2f} {row['sleeper_late_ms_p99']:8.2f} "
                f"{row['sleeper_late_ms_max']:6.2f}"
            )
    summary = {
        "source": f"{SOURCE_W}x{SOURCE_H} yuv420p, VP8-decoded pattern with noise",
        "cpu_count": os.cpu_count(),
        "platforms": {
            r["platform"]: {
                "toimage_backend": r["toimage_backend"],
                "gl_renderer": r["gl_renderer"],
            }
            for r in reports
        },
        "results": rows,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.convert")
    parser.add_argument("--child", choices=("xcb", "offscreen"), required=True)
    parser.add_argument("--frames", type=int, default=300)
    arguments = parser.parse_args()
    sys.exit(child(arguments.child, arguments.frames))
