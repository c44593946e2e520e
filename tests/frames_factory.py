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
            assert f.pts is not None
            yield VideoFrame(index=i, t=float(f.pts * f.time_base), rgb=f.to_ndarray(format="rgb24"))
