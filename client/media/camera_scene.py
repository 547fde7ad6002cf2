"""A synthetic webcam picture that costs an encoder what a real camera does.

A flat frame with one moving bar encodes to ~110 kb/s at 360p: every inter
frame is almost free, so decoders, packetisers and jitter buffers downstream
look far cheaper than with a real camera (400-800 kb/s at 360p30).  What makes
a real camera expensive is detail the encoder cannot predict: sensor noise that
changes every frame, a textured room, a person who moves and uncovers the room
behind them, a hand-held camera that shakes, exposure that drifts.

:class:`CameraScene` draws all of that into an I420 buffer from precomputed
pieces, so each frame is only a handful of numpy slice copies and additions
(about 0.3 ms at 640x360, no random numbers drawn per frame):

* a room larger than the frame (walls with a lighting gradient, shelves and
  frames with edges, fine grain), sliced at a moving offset for the pan and shake;
* a person (head and shoulders, a striped textured shirt) composited through a
  precomputed mask, walking slowly back and forth;
* sensor noise: a few precomputed noise planes larger than the frame, cycled and
  sliced at a pseudo-random offset each frame, so consecutive frames never share
  the same noise (and the offset never follows the room's, so motion search
  cannot predict it);
* exposure drift: a slow offset added to the whole luma plane.

Values are kept inside [8, 247] before noise and drift are added, so the
additions are done in wrapping uint8 arithmetic (two's complement offsets)
without ever wrapping for real: no clipping pass, no wider dtype.

The top rows stay free for a :mod:`client.media.frame_stamp`, which the caller
draws after :meth:`CameraScene.render` (the stamp carries the capture time,
which only the caller knows).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]

# Sensor noise amplitude (luma levels), clipped Gaussian: what a webcam's
# denoiser leaves in indoor light.  Chroma noise is smaller, as after an ISP.
LUMA_NOISE_SIGMA = 3.0
LUMA_NOISE_MAX = 8
CHROMA_NOISE_MAX = 3
# Exposure drift (luma levels) and its period.
DRIFT_LEVELS = 6
DRIFT_PERIOD_S = 11.0
NOISE_PLANES = 4
# Room and person values stay in this range, so that noise and drift additions
# (at most LUMA_NOISE_MAX + DRIFT_LEVELS) never leave [0, 255].
_LOW, _HIGH = 16, 235
# Pseudo-random per-frame offsets (camera shake, noise slicing) repeat after
# this many frames: long enough that no pattern shows in a test.
_TABLE = 1009


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cell: float) -> F32:
    """Random values on a grid of ``cell`` pixels, bilinearly interpolated: blobs
    of about that size, in [0, 1].  Separable, so two small matrix products; fine
    grain (cells under 4 pixels) is box-filtered white noise, far cheaper."""
    if cell < 4:
        white = rng.random((height + 1, width + 1), dtype=np.float32)
        grain = white[:-1, :-1] + white[1:, :-1] + white[:-1, 1:] + white[1:, 1:]
        # Rescaled to span [0, 1] like the interpolated noise, not bunched at 0.5
        # (the sum of four is centred on 2).
        spread: F32 = np.clip((grain - 2) * np.float32(0.6) + np.float32(0.5), 0, 1)
        return spread

    def weights(size: int) -> F32:
        knots = max(2, math.ceil(size / cell) + 1)
        position = np.linspace(0, knots - 1, size, dtype=np.float32)
        left = np.minimum(position.astype(np.int64), knots - 2)
        fraction = position - left
        matrix = np.zeros((size, knots), np.float32)
        matrix[np.arange(size), left] = 1 - fraction
        matrix[np.arange(size), left + 1] = fraction
        return matrix

    rows, columns = weights(height), weights(width)
    grid = rng.random((rows.shape[1], columns.shape[1]), dtype=np.float32)
    result: F32 = (rows @ grid @ columns.T).astype(np.float32, copy=False)
    return result


def _room(rng: np.random.Generator, height: int, width: int) -> F32:
    """A photo-like room in [0, 1]: lit walls, furniture edges, fine texture."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    light_x, light_y = rng.uniform(0.1, 0.9), rng.uniform(0.0, 0.4)
    lighting = 1 - 0.6 * np.sqrt((x - light_x) ** 2 + (y - light_y) ** 2)
    scale = min(height, width)
    walls = 0.45 * lighting + 0.25 * _smooth_noise(rng, height, width, scale / 3)
    room: F32 = walls.astype(np.float32)
    room += 0.15 * _smooth_noise(rng, height, width, scale / 24)
    # Shelves, picture frames, a door: rectangles with hard edges and a texture
    # of their own, the detail a real background has.
    for _ in range(9):
        h = int(rng.uniform(0.08, 0.4) * height)
        w = int(rng.uniform(0.05, 0.35) * width)
        top, left = int(rng.integers(0, height - h)), int(rng.integers(0, width - w))
        shade = rng.uniform(-0.3, 0.3)
        grain = _smooth_noise(rng, h, w, rng.uniform(2, 8))
        room[top : top + h, left : left + w] += shade + 0.2 * (grain - 0.5)
    room += 0.12 * (_smooth_noise(rng, height, width, 1.5) - 0.5)
    return room


def _to_levels(values: F32, low: float, high: float) -> U8:
    """Map [0, 1] (clipped) to integer levels in [low, high]."""
    clipped = np.clip(values, 0.0, 1.0)
    levels: U8 = np.rint(low + (high - low) * clipped).astype(np.uint8)
    return levels


def _noise_planes(
    rng: np.random.Generator, count: int, height: int, width: int, sigma: float, limit: int
) -> list[U8]:
    """Clipped Gaussian noise as uint8 two's complement (-3 is stored as 253)."""
    planes = []
    for _ in range(count):
        normal = rng.standard_normal((height, width), dtype=np.float32)
        noise = np.clip(np.rint(normal * sigma), -limit, limit)
        planes.append(noise.astype(np.int8).view(np.uint8))
    return planes


class _Person:
    """Head and shoulders with a striped shirt: a luma sprite, its mask, and the
    same at half resolution for the chroma planes."""

    def __init__(self, rng: np.random.Generator, frame_height: int, frame_width: int) -> None:
        # Sized like a person a metre from a laptop camera; even sizes keep the
        # half-resolution chroma sprite aligned with the luma one.
        height = (int(frame_height * 0.8) + 1) // 2 * 2
        width = (int(frame_height * 0.6) + 1) // 2 * 2
        y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
        x = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
        head = ((x / 0.38) ** 2 + ((y - 0.25) / 0.2) ** 2) <= 1
        neck = (np.abs(x) < 0.15) & (y > 0.4) & (y < 0.55)
        shoulders = ((x / 0.95) ** 2 + ((y - 1.05) / 0.55) ** 2) <= 1
        body = (neck | shoulders) & ~head
        self.mask: npt.NDArray[np.bool_] = head | body
        skin = 0.6 + 0.15 * _smooth_noise(rng, height, width, height / 10)
        stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (x * width / 14 + y * height / 40))
        shirt = 0.15 + 0.35 * stripes + 0.2 * _smooth_noise(rng, height, width, 3)
        hair = (y < 0.17) & head
        luma = np.where(head, skin, shirt)
        luma = np.where(hair, 0.1 + 0.1 * _smooth_noise(rng, height, width, 2), luma)
        self.luma = _to_levels(luma.astype(np.float32), _LOW, _HIGH)
        half_mask = self.mask[::2, ::2]
        half_head = head[::2, ::2]
        shirt_hue = rng.uniform(-1, 1, 2)
        self.u = np.where(half_head, 112, 128 + 40 * shirt_hue[0]).astype(np.uint8)
        self.v = np.where(half_head, 150, 128 + 40 * shirt_hue[1]).astype(np.uint8)
        self.half_mask: npt.NDArray[np.bool_] = half_mask
        self.height, self.width = height, width


class CameraScene:
    """Webcam-like I420 frames at ``width`` x ``height`` (both even).

    ``seed`` picks the room, the person and the motion phases, so that peers
    built with different seeds look (and encode) differently; ``chroma`` tints
    the room (both chroma planes centred on it, like the flat frames it
    replaces).  ``fps`` only converts frame indices to scene time, so motion per
    second is the same at any frame rate.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 360,
        *,
        seed: int = 0,
        chroma: int = 128,
        fps: float = 30,
    ) -> None:
        if width < 16 or height < 16 or width % 2 or height % 2:
            raise ValueError(
                f"a camera scene needs an even size of 16 or more, not {width}x{height}"
            )
        if fps <= 0:
            raise ValueError(f"bad frame rate {fps}")
        self.width, self.height, self.fps = width, height, fps
        rng = np.random.default_rng(seed)
        # The room is larger than the frame by the pan-and-shake range (even,
        # so the chroma planes shift by whole pixels with the luma plane).
        self._margin = max(4, width // 40) // 2 * 2
        room_h, room_w = height + 2 * self._margin, width + 2 * self._margin
        self._room = _to_levels(_room(rng, room_h, room_w), _LOW, _HIGH)
        tint = _smooth_noise(rng, room_h // 2, room_w // 2, min(room_h, room_w) / 8) - 0.5
        self._room_u = np.clip(chroma + 24 * tint, _LOW, 240).astype(np.uint8)
        self._room_v = np.clip(chroma - 18 * tint, _LOW, 240).astype(np.uint8)
        self._person = _Person(rng, height, width)
        # Noise planes are larger than the frame so each frame can take its
        # slice at another offset.
        slack = 64
        self._noise_slack = slack
        self._noise = _noise_planes(
            rng, NOISE_PLANES, height + slack, width + slack, LUMA_NOISE_SIGMA, LUMA_NOISE_MAX
        )
        self._chroma_noise = _noise_planes(
            rng, NOISE_PLANES, height // 2 + slack, width // 2 + slack, 1.2, CHROMA_NOISE_MAX
        )
        self._noise_offsets = rng.integers(0, slack, (_TABLE, 2))
        # Shake: a smooth random wobble of a pixel or two (a laptop on a desk
        # being typed on), in steps of 2 pixels so that chroma follows exactly.
        # Wrapped smoothing keeps the table seamless where it repeats.
        jolts = rng.standard_normal((_TABLE, 2))
        kernel = np.hanning(15)
        smooth = np.stack(
            [
                np.real(np.fft.ifft(np.fft.fft(jolts[:, axis]) * np.fft.fft(kernel, _TABLE)))
                for axis in (0, 1)
            ],
            axis=1,
        )
        wobble = 1.6 * smooth / smooth.std()
        self._shake = (np.rint(wobble / 2) * 2).astype(np.int64)
        self._phase = rng.uniform(0, 2 * np.pi, 4)
        self._buffer = np.empty(width * height * 3 // 2, np.uint8)
        luma_size, chroma_size = width * height, (width // 2) * (height // 2)
        self.luma: U8 = self._buffer[:luma_size].reshape(height, width)
        self.u: U8 = self._buffer[luma_size : luma_size + chroma_size].reshape(
            height // 2, width // 2
        )
        self.v: U8 = self._buffer[luma_size + chroma_size :].reshape(height // 2, width // 2)

    @property
    def buffer(self) -> U8:
        """The tightly packed I420 buffer (Y, then U, then V) that ``render`` fills;
        ``luma``, ``u`` and ``v`` are 2-D views of its planes."""
        return self._buffer

    def render(self, index: int) -> U8:
        """Draw frame ``index`` into :attr:`buffer` and return it.  The buffer is
        reused: copy it (or hand it to an encoder) before the next call."""
        t = index / self.fps
        slot = index % _TABLE
        margin = self._margin
        # Camera: slow pan within the margin, plus shake (even offsets).
        pan_x = 0.5 * margin * math.sin(2 * math.pi * t / 17 + self._phase[0])
        pan_y = 0.3 * margin * math.sin(2 * math.pi * t / 13 + self._phase[1])
        shake_y, shake_x = (int(v) for v in self._shake[slot])
        ox = min(2 * margin, max(0, margin + int(pan_x) // 2 * 2 + shake_x))
        oy = min(2 * margin, max(0, margin + int(pan_y) // 2 * 2 + shake_y))
        height, width = self.height, self.width
        self.luma[:] = self._room[oy : oy + height, ox : ox + width]
        self.u[:] = self._room_u[oy // 2 : oy // 2 + height // 2, ox // 2 : ox // 2 + width // 2]
        self.v[:] = self._room_v[oy // 2 : oy // 2 + height // 2, ox // 2 : ox // 2 + width // 2]
        self._draw_person(t, ox - margin, oy - margin)
        # Sensor noise: another plane and another offset every frame.
        ny, nx = (int(v) for v in self._noise_offsets[slot])
        noise = self._noise[index % NOISE_PLANES]
        np.add(self.luma, noise[ny : ny + height, nx : nx + width], out=self.luma)
        cny, cnx = ny // 2, nx // 2
        chroma_noise = self._chroma_noise[index % NOISE_PLANES]
        np.add(self.u, chroma_noise[cny : cny + height // 2, cnx : cnx + width // 2], out=self.u)
        chroma_noise = self._chroma_noise[(index + 1) % NOISE_PLANES]
        np.add(self.v, chroma_noise[cny : cny + height // 2, cnx : cnx + width // 2], out=self.v)
        drift = round(DRIFT_LEVELS * math.sin(2 * math.pi * t / DRIFT_PERIOD_S + self._phase[2]))
        if drift:
            np.add(self.luma, np.uint8(drift % 256), out=self.luma)
        return self._buffer

    def _draw_person(self, t: float, camera_x: int, camera_y: int) -> None:
        person = self._person
        # Walks slowly across the middle of the frame and sways a little; even
        # positions keep the chroma sprite on the luma one.
        centre_x = self.width / 2 + 0.22 * self.width * math.sin(
            2 * math.pi * t / 9 + self._phase[3]
        )
        bob = 0.02 * self.height * math.sin(2 * math.pi * t * 0.8)
        left = int(centre_x - person.width / 2 - camera_x) // 2 * 2
        top = int(self.height - person.height + bob + 0.02 * self.height - camera_y) // 2 * 2
        # Clip the sprite to the frame.
        x0, y0 = max(0, left), max(0, top)
        x1, y1 = min(self.width, left + person.width), min(self.height, top + person.height)
        if x1 <= x0 or y1 <= y0:
            return
        sx, sy = x0 - left, y0 - top
        region = (slice(y0, y1), slice(x0, x1))
        sprite = (slice(sy, sy + y1 - y0), slice(sx, sx + x1 - x0))
        np.copyto(self.luma[region], person.luma[sprite], where=person.mask[sprite])
        half_region = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
        half_sprite = (
            slice(sy // 2, sy // 2 + (y1 - y0) // 2),
            slice(sx // 2, sx // 2 + (x1 - x0) // 2),
        )
        mask = person.half_mask[half_sprite]
        np.copyto(self.u[half_region], person.u[half_sprite], where=mask)
        np.copyto(self.v[half_region], person.v[half_sprite], where=mask)
