"""Small real media files made by the tests themselves (PyAV + numpy), so no test needs outside data."""

from __future__ import annotations

import wave
from collections.abc import Sequence
from dataclasses import dataclass
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
                  fmt: str, *, start_s: float = 0.0, holes: Sequence[tuple[float, float]] = ()) -> None:
    """Encode and mux ``samples``; frame timestamps start at ``start_s`` and jump at ``holes`` (see Track)."""
    frame_size = stream.codec_context.frame_size or 1024
    pcm = np.clip(samples, -1, 1).reshape(-1, samples.shape[-1])  # (channels, n)
    layout = "stereo" if pcm.shape[0] == 2 else "mono"
    for k in range(0, pcm.shape[1], frame_size):
        skip_s = start_s + sum(hole_s for content_s, hole_s in holes if k >= content_s * sr)
        block = pcm[:, k:k + frame_size]
        if fmt == "s16":  # packed: interleave the channels
            frame = av.AudioFrame.from_ndarray((block.T.reshape(1, -1) * 32767).astype(np.int16), format="s16",
                                               layout=layout)
        else:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block, dtype=np.float32), format="fltp",
                                               layout=layout)
        frame.sample_rate = sr
        frame.pts = k + round(skip_s * sr)
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


@dataclass(frozen=True)
class Track:
    """One audio track of a file made by :func:`write_media`.

    Attributes:
        samples: shape=(n,) mono or shape=(channels, n) float samples at SR.
        start_s: container time of the first sample, as ffmpeg ``-itsoffset`` gives it.
        holes: (content_s, hole_s) pairs: after ``content_s`` seconds of samples the timestamps jump ahead
            by ``hole_s`` (ffmpeg ``asetpts`` adding to every later timestamp).
        default: the track's default disposition.
        title: the track's title metadata (e.g. "Commentary").
    """

    samples: np.ndarray
    start_s: float = 0.0
    holes: Sequence[tuple[float, float]] = ()
    default: bool = True
    title: str | None = None


#: (container format, video codec, audio codec) per suffix for write_media.
MEDIA_FORMATS = {".mp4": ("mp4", "libx264", "aac"), ".mov": ("mov", "libx264", "aac"),
                 ".mkv": ("matroska", "libx264", "aac"), ".mka": ("matroska", None, "aac"),
                 ".ts": ("mpegts", "libx264", "aac"), ".webm": ("webm", "libvpx", "libopus"),
                 ".mp3": ("mp3", None, "libmp3lame"), ".m4a": ("mp4", None, "aac")}


def write_media(path: Path, tracks: Sequence[Track], *, video_s: float | None = None, video_start_s: float = 0.0,
                fps: int = 25, cover_art: bool = False) -> Path:
    """A file with any number of audio tracks placed on the container's timeline, as real muxers leave them.

    ``video_s`` adds a video of that length (small moving frames) starting at ``video_start_s``;
    ``cover_art`` adds an attached picture (MP3 ID3 APIC, M4A covr). The codecs follow the suffix
    (MEDIA_FORMATS).
    """
    fmt, vcodec, acodec = MEDIA_FORMATS[path.suffix]
    with av.open(str(path), "w", format=fmt) as out:
        vs = None
        if video_s is not None:
            assert vcodec is not None, f"{path.suffix} holds no video"
            vs = out.add_stream(vcodec, rate=fps)
            vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        streams = []
        for track in tracks:
            st = out.add_stream(acodec, rate=SR)
            st.layout = "stereo" if track.samples.ndim == 2 else "mono"
            st.disposition = av.stream.Disposition.default if track.default else av.stream.Disposition(0)
            if track.title:
                st.metadata["title"] = track.title
            streams.append(st)
        if cover_art:
            _mux_cover_art(out)
        if vs is not None and video_s is not None:
            first = round(video_start_s * fps)
            for i in range(int(video_s * fps)):
                img = np.full((48, 64, 3), (i * 7) % 255, np.uint8)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = first + i
                for packet in vs.encode(frame):
                    out.mux(packet)
            for packet in vs.encode():
                out.mux(packet)
        for st, track in zip(streams, tracks, strict=True):
            _encode_audio(out, st, track.samples, SR, "fltp", start_s=track.start_s, holes=track.holes)
    return path


def _mux_cover_art(out: av.container.OutputContainer) -> None:
    """A 32x32 JPEG attached picture (cover art), muxed before any audio as MP3's ID3 tag needs.

    The stream is added last: the header is written with the first packet, once every stream exists.
    """
    pic = out.add_stream("mjpeg")
    pic.width, pic.height, pic.pix_fmt = 32, 32, "yuvj420p"
    pic.disposition = av.stream.Disposition.attached_pic
    img = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 200, np.uint8), format="rgb24").reformat(format="yuvj420p")
    for packet in [*pic.encode(img), *pic.encode()]:
        out.mux(packet)


def write_multichannel_wav(path: Path, planes: np.ndarray) -> Path:
    """A plain PCM WAV of shape=(channels, n) samples with no channel mask (FFmpeg: unknown layout)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(planes.shape[0])
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(planes, -1, 1).T * 32767).astype("<i2").tobytes())
    return path
