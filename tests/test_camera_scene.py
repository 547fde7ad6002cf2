"""The webcam-like test scene: it must cost a VP8 encoder what a camera does, keep
its frame stamps readable through the codec, and move."""

from __future__ import annotations

import fractions

import av
import numpy as np
import numpy.typing as npt
import pytest

from bench.codec_floor import make_vp8_decoder, make_vp8_encoder
from client.media import camera_scene, frame_stamp
from client.media.camera_scene import CameraScene
from client.media.frame_stamp import FrameStamp
from client.media.video_analysis import luma_plane, plane_rows, read_stamp

TIME_BASE = fractions.Fraction(1, 90_000)
CAPTURE_MS = 1_700_000_000_000


def _frame(scene: CameraScene, index: int, *, stamp: bool = True) -> av.VideoFrame:
    scene.render(index)
    if stamp:
        frame_stamp.draw(scene.luma, FrameStamp(index, CAPTURE_MS + index))
    frame = av.VideoFrame(scene.width, scene.height, "yuv420p")
    for plane, values in zip(frame.planes, (scene.luma, scene.u, scene.v), strict=True):
        plane_rows(plane)[:, : plane.width] = values
    frame.pts = round(index * 90_000 / scene.fps)
    frame.time_base = TIME_BASE
    return frame


def _encode(frames: list[av.VideoFrame], bitrate: int) -> tuple[int, list[FrameStamp | None]]:
    """Bytes out of an aiortc-configured VP8 encoder, and the stamps read back
    from the decoded frames, in order."""
    width, height = frames[0].width, frames[0].height
    encoder = make_vp8_encoder(width, height, bitrate)
    decoder = make_vp8_decoder()
    size = 0
    stamps: list[FrameStamp | None] = []
    for frame in frames:
        for packet in encoder.encode(frame):
            size += packet.size
            for decoded in decoder.decode(packet):
                assert isinstance(decoded, av.VideoFrame)
                stamps.append(read_stamp(decoded))
    return size, stamps


def test_360p30_costs_what_a_camera_costs() -> None:
    scene = CameraScene(640, 360, seed=3, chroma=140, fps=30)
    seconds = 3
    frames = [_frame(scene, i) for i in range(30 * seconds)]
    size, _ = _encode(frames, 1_000_000)
    kbps = size * 8 / seconds / 1000
    # A real 360p30 webcam: 400-800 kb/s (a flat frame with a bar: ~40).
    assert kbps >= 400, f"{kbps:.0f} kb/s"


@pytest.mark.parametrize(
    ("width", "height", "bitrate"),
    [(640, 360, 800_000), (1280, 720, 1_700_000)],
)
def test_stamps_survive_vp8(width: int, height: int, bitrate: int) -> None:
    scene = CameraScene(width, height, seed=1, fps=30)
    count = 45
    _, stamps = _encode([_frame(scene, i) for i in range(count)], bitrate)
    assert stamps == [FrameStamp(i, CAPTURE_MS + i) for i in range(count)]


def test_stamps_survive_the_smallest_simulcast_layer() -> None:
    # A 720p source scaled down 4x, as the 180p layer of a simulcast camera is,
    # at that layer's bitrate.
    scene = CameraScene(1280, 720, seed=2, fps=30)
    count = 45
    small = []
    for i in range(count):
        frame = _frame(scene, i).reformat(320, 180, interpolation="AREA")
        frame.pts, frame.time_base = round(i * 3000), TIME_BASE
        small.append(frame)
    _, stamps = _encode(small, 150_000)
    assert stamps == [FrameStamp(i, CAPTURE_MS + i) for i in range(count)]


def _luma(frame: av.VideoFrame) -> npt.NDArray[np.int16]:
    luma = luma_plane(frame)
    assert luma is not None
    below_stamp = frame_stamp.stamp_height(frame.width)
    return luma[below_stamp:].astype(np.int16)


def test_frames_change_over_time_and_between_seeds() -> None:
    scene = CameraScene(640, 360, seed=0)
    first, next_one, later = (_luma(_frame(scene, i)) for i in (0, 1, 90))
    # Sensor noise alone changes every frame a little; three seconds later the
    # person, the camera and the exposure have moved much more.
    assert np.abs(next_one - first).mean() > 1.5
    assert np.abs(later - first).mean() > 2 * np.abs(next_one - first).mean()
    other = _luma(_frame(CameraScene(640, 360, seed=1), 0))
    assert np.abs(other - first).mean() > 10


def test_chroma_tints_the_picture() -> None:
    reddish = CameraScene(640, 360, seed=0, chroma=170)
    greenish = CameraScene(640, 360, seed=0, chroma=90)
    reddish.render(0)
    greenish.render(0)
    assert reddish.v.mean() > 150 > 110 > greenish.v.mean()


def test_noise_and_drift_never_wrap_around(monkeypatch: pytest.MonkeyPatch) -> None:
    # The additions are done in wrapping uint8 arithmetic; the value ranges are
    # what keeps them from wrapping.  Against the same scene without noise or
    # drift, no pixel may move by more than the noise plus the drift (a wrap
    # would move it by over 200).
    noisy = CameraScene(640, 360, seed=5)
    flat = CameraScene(640, 360, seed=5)
    for plane in flat._noise + flat._chroma_noise:
        plane[:] = 0
    limit = camera_scene.LUMA_NOISE_MAX + camera_scene.DRIFT_LEVELS
    for index in range(0, 600, 7):
        noisy.render(index)
        with monkeypatch.context() as patch:
            patch.setattr(camera_scene, "DRIFT_LEVELS", 0)
            flat.render(index)
        luma_change = np.abs(noisy.luma.astype(np.int16) - flat.luma)
        assert luma_change.max() <= limit, index
        for noisy_plane, flat_plane in ((noisy.u, flat.u), (noisy.v, flat.v)):
            chroma_change = np.abs(noisy_plane.astype(np.int16) - flat_plane)
            assert chroma_change.max() <= camera_scene.CHROMA_NOISE_MAX, index


def test_render_fills_a_tight_i420_buffer() -> None:
    scene = CameraScene(320, 180)
    buffer = scene.render(0)
    assert buffer is scene.buffer
    assert buffer.shape == (320 * 180 * 3 // 2,)
    assert np.shares_memory(buffer, scene.luma) and np.shares_memory(buffer, scene.v)
    with pytest.raises(ValueError):
        CameraScene(321, 180)
