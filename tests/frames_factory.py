"""Frames the visual tests draw themselves: textured scenes, moving shapes, cuts, and a real container round trip."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from captioning.analysis.types import VideoFrame


def texture(height: int, width: int, *, seed: int, tint: tuple[float, float, float] = (1.0, 1.0, 1.0),
            grain_px: int = 12) -> np.ndarray:
    """A smooth random RGB texture, shape=(height, width, 3) uint8 (blobs about ``grain_px`` wide)."""
    rng = np.random.default_rng(seed)
    small = rng.random((max(2, height // grain_px), max(2, width // grain_px), 3)).astype(np.float32)
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip((40 + 180 * big) * np.asarray(tint, np.float32), 0, 255).astype(np.uint8)


def with_noise(rgb: np.ndarray, rng: np.random.Generator, sigma: float = 3.0) -> np.ndarray:
    """``rgb`` plus Gaussian sensor noise of ``sigma`` grey levels."""
    return np.clip(rgb.astype(np.float32) + rng.normal(0, sigma, rgb.shape), 0, 255).astype(np.uint8)


def disc(rgb: np.ndarray, x: float, y: float, radius: float, colour: tuple[int, int, int] = (240, 240, 40),
         ) -> np.ndarray:
    """A copy of ``rgb`` with a filled, anti-aliased disc centred at (x, y) pixels."""
    out = rgb.copy()
    shift = 4  # sub-pixel centre, as a moving object would fall between pixels
    cv2.circle(out, (round(x * (1 << shift)), round(y * (1 << shift))), round(radius * (1 << shift)), colour, -1,
               cv2.LINE_AA, shift)
    return out


def frames_at(times: Sequence[float], draw: Callable[[int, float], np.ndarray]) -> Iterator[VideoFrame]:
    """VideoFrames at ``times`` (s), frame ``i`` drawn by ``draw(i, t)``."""
    for i, t in enumerate(times):
        yield VideoFrame(index=i, t=float(t), rgb=draw(i, float(t)))


def regular(fps: float, seconds: float, start: float = 0.0) -> list[float]:
    """Frame times of a constant frame rate."""
    return [start + i / fps for i in range(int(round(seconds * fps)))]


def write_mp4(path: Path, frames: Iterable[VideoFrame], *, time_base: Fraction = Fraction(1, 90000)) -> Path:
    """An H.264 MP4 holding ``frames`` at their own times (so variable spacing survives the container)."""
    with av.open(str(path), "w") as out:
        vs: av.VideoStream | None = None
        for f in frames:
            if vs is None:
                vs = out.add_stream("libx264", rate=30)
                vs.height, vs.width = f.rgb.shape[:2]
                vs.pix_fmt = "yuv420p"
                vs.time_base = time_base
                vs.codec_context.time_base = time_base
                vs.options = {"crf": "12", "bf": "0"}
            vf = av.VideoFrame.from_ndarray(f.rgb, format="rgb24")
            vf.pts = round(f.t / time_base)
            vf.time_base = time_base
            for packet in vs.encode(vf):
                out.mux(packet)
        if vs is not None:
            for packet in vs.encode():
                out.mux(packet)
    return path


def read_frames(path: Path) -> Iterator[VideoFrame]:
    """Decode a video file back into VideoFrames timed by their presentation timestamps (s)."""
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            assert f.pts is not None and f.time_base is not None
            yield VideoFrame(index=i, t=float(f.pts * f.time_base), rgb=f.to_ndarray(format="rgb24"))


def sprite(background: np.ndarray, patch: np.ndarray, x: float, y: float) -> np.ndarray:
    """``background`` with a round textured object (``patch``, square, its inscribed disc) centred at (x, y)
    pixels, placed with sub-pixel precision (bilinear), as a camera would see a moving object."""
    h, w = background.shape[:2]
    size = patch.shape[0]
    yy, xx = np.mgrid[0:size, 0:size]
    r = size / 2
    alpha = np.clip(r - np.hypot(xx + 0.5 - r, yy + 0.5 - r), 0, 1).astype(np.float32)  # anti-aliased disc
    move = np.array([[1, 0, x - r], [0, 1, y - r]], np.float32)
    obj = np.asarray(cv2.warpAffine(patch.astype(np.float32), move, (w, h), flags=cv2.INTER_LINEAR))
    a = np.asarray(cv2.warpAffine(alpha, move, (w, h), flags=cv2.INTER_LINEAR))[..., None]
    out: np.ndarray = np.clip(background * (1 - a) + obj * a, 0, 255).astype(np.uint8)
    return out


def falling(t: float, *, top: float, floor: float, t_contact: float, fall_s: float = 0.4,
            bounce: float = 0.0) -> float:
    """Height (y pixels, downwards) at ``t`` (s) of a thing dropped from rest at ``top`` that falls for
    ``fall_s`` under constant acceleration and reaches ``floor`` at ``t_contact``; then it stays there
    (``bounce`` 0) or leaves upwards at ``bounce`` times its arrival speed and falls back."""
    g = 2 * (floor - top) / fall_s ** 2  # px/s^2
    t0 = t_contact - fall_s
    if t <= t0:
        return top
    if t <= t_contact:
        return top + 0.5 * g * (t - t0) ** 2
    v_up = bounce * g * fall_s
    return min(floor, floor - v_up * (t - t_contact) + 0.5 * g * (t - t_contact) ** 2)
