"""Small real media files made by the tests themselves (PyAV + numpy), so no test needs outside data."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

SR = 48000


def noise_floor(seconds: float, level_db: float = -50.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SR)) * 10 ** (level_db / 20)).astype(np.float32)


def knock(seed: int = 1, length_s: float = 0.12) -> np.ndarray:
    """A percussive knock: a damped resonance plus a short noise burst."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(length_s * SR)) / SR
    env = np.exp(-t / 0.02)
    tone = np.sin(2 * np.pi * 180 * t) + 0.5 * np.sin(2 * np.pi * 410 * t)
    return (0.5 * env * (tone + 0.6 * rng.standard_normal(t.size))).astype(np.float32)


def place(base: np.ndarray, clip: np.ndarray, at_s: Sequence[float], gain: float = 1.0) -> np.ndarray:
    out = base.copy()
    for t in at_s:
        i = int(t * SR)
        n = min(clip.size, out.size - i)
        out[i:i + n] += gain * clip[:n]
    return out


def write_audio(path: Path, samples: np.ndarray, *, codec: str | None = None, sr: int = SR) -> Path:
    """Write float samples, shape=(n,) mono or shape=(2, n) stereo, to ``path``; the codec follows the suffix."""
    codec = codec or {".wav": "pcm_s16le", ".mp3": "libmp3lame", ".flac": "flac", ".ogg": "libopus",
                      ".m4a": "aac"}[path.suffix]
    fmt = "s16" if codec in ("pcm_s16le", "flac") else "fltp"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=sr)
        stream.layout = "stereo" if samples.ndim == 2 else "mono"
        _encode_audio(out, stream, samples, sr, fmt)
    return path


def _encode_audio(out: av.container.OutputContainer, stream: av.AudioStream, samples: np.ndarray, sr: int,
                  fmt: str) -> None:
    frame_size = stream.codec_context.frame_size or 1024
    pcm = np.clip(samples, -1, 1).reshape(-1, samples.shape[-1])  # (channels, n)
    layout = "stereo" if pcm.shape[0] == 2 else "mono"
    for k in range(0, pcm.shape[1], frame_size):
        block = pcm[:, k:k + frame_size]
        if fmt == "s16":  # packed: interleave the channels
            frame = av.AudioFrame.from_ndarray((block.T.reshape(1, -1) * 32767).astype(np.int16), format="s16",
                                               layout=layout)
        else:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block, dtype=np.float32), format="fltp",
                                               layout=layout)
        frame.sample_rate = sr
        frame.pts = k
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def write_video(path: Path, samples: np.ndarray | None, seconds: float, *, fps: int = 10) -> Path:
    """An MP4/MKV/WebM/MOV/AVI with small moving frames and (optionally) an audio track."""
    vcodec, acodec = {".mp4": ("libx264", "aac"), ".mov": ("libx264", "aac"), ".mkv": ("libx264", "libopus"),
                      ".webm": ("libvpx", "libopus"), ".avi": ("mpeg4", "libmp3lame")}[path.suffix]
    with av.open(str(path), "w") as out:
        vs = out.add_stream(vcodec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        as_ = None
        if samples is not None:
            as_ = out.add_stream(acodec, rate=SR)
            as_.layout = "mono"
        for i in range(int(seconds * fps)):
            img = np.full((48, 64, 3), (i * 7) % 255, np.uint8)
            for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if as_ is not None and samples is not None:
            _encode_audio(out, as_, samples, SR, "fltp")
    return path
