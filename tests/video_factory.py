"""Videos the tests draw themselves (numpy pictures encoded with PyAV), with exact frame times."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from media_factory import SR


def write_frames(path: Path, draw: Callable[[int, float], np.ndarray], times: Sequence[float], *,
                 audio: np.ndarray | None = None, rotate: int | None = None, codec: str = "libx264") -> Path:
    """Encode ``draw(i, t) -> (h, w, 3) uint8`` at presentation times ``times`` (s; irregular allowed).

    ``audio``: mono float samples at media_factory.SR from time 0. ``rotate``: display rotation in degrees
    counter-clockwise, as phones write it. Timestamps are in milliseconds, so ``times`` keep 1 ms precision.
    """
    first = draw(0, times[0]) if times else np.zeros((48, 64, 3), np.uint8)
    h, w = first.shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=30)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.time_base = Fraction(1, 1000)
        vs.codec_context.time_base = Fraction(1, 1000)
        if rotate is not None:
            vs.set_display_rotation(rotate)  # the same display matrix as ffmpeg's `-metadata:s:v rotate=90`
        as_ = None
        if audio is not None:
            as_ = out.add_stream("aac", rate=SR)
            as_.layout = "mono"
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(first if i == 0 else draw(i, t), format="rgb24")
            frame.pts = int(round(t * 1000))
            frame.time_base = Fraction(1, 1000)
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if as_ is not None and audio is not None:
            fs = as_.codec_context.frame_size or 1024
            for k in range(0, audio.size, fs):
                block = np.ascontiguousarray(audio[k:k + fs], np.float32)[None]
                af = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
                af.sample_rate, af.pts = SR, k
                for packet in as_.encode(af):
                    out.mux(packet)
            for packet in as_.encode():
                out.mux(packet)
    return path


def solid(color: tuple[int, int, int], size: tuple[int, int] = (96, 128)) -> Callable[[int, float], np.ndarray]:
    """A drawer of one flat colour, shape=(size[0], size[1], 3)."""
    img = np.zeros((*size, 3), np.uint8)
    img[:] = color
    return lambda i, t: img
