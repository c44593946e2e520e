"""Media I/O: probe and validate an input, then decode its audio ONCE as a stream of 16 kHz mono chunks.

This is the only module that touches PyAV containers and time bases; everything downstream sees float
seconds and float32 samples. Decoding streams: a 1-hour file is never held in memory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from captioning.errors import MediaDecodeError, MediaNotFoundError, NoAudioStreamError
from captioning.events import MediaInfo, StreamInfo

logger = logging.getLogger("captioning")

ANALYSIS_SAMPLE_RATE = 16000  # Hz, what the audio models expect
CHUNK_S = 10.0  # seconds of audio per yielded chunk
#: A file whose decoded audio is shorter than this fraction of its declared duration is truncated.
TRUNCATION_RATIO = 0.9
#: More undecodable audio packets than this and the file is refused as damaged.
MAX_DAMAGED_PACKETS = 50


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def probe(path: str | Path) -> MediaInfo:
    """Open ``path`` and describe it, without decoding.

    Raises:
        MediaNotFoundError: no such file.
        MediaDecodeError: the file is not a media file PyAV can open.
    """
    p = Path(path)
    if p.is_dir():
        raise MediaNotFoundError(f"{p}: is a directory, not a media file")
    if not p.is_file():
        raise MediaNotFoundError(f"{p}: no such file")
    try:
        with av.open(str(p)) as container:
            streams = tuple(_stream_info(s) for s in container.streams)
            duration = container.duration / av.time_base if container.duration else None
            fmt = container.format.name
    except av.FFmpegError as e:
        raise MediaDecodeError(f"{p}: not a readable media file ({_reason(e)})") from e
    if duration is None:
        known = [s.duration for s in streams if s.duration]
        duration = max(known) if known else 0.0
    if not streams:
        raise MediaDecodeError(f"{p}: the file holds no audio or video streams")
    if fmt == "wav":
        declared = _wav_declared_seconds(p)
        if declared is not None and declared > duration * (1 / TRUNCATION_RATIO):
            raise MediaDecodeError(f"{p}: file is truncated (holds {duration:.1f} s of audio, its header "
                                   f"declares {declared:.1f} s)")
    return MediaInfo(path=str(p), duration=float(duration), format=fmt, streams=streams,
                     size_bytes=os.path.getsize(p))


def _wav_declared_seconds(path: Path) -> float | None:
    """Duration a RIFF/WAVE header declares (FFmpeg sizes WAVs from the file length, hiding truncation)."""
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = 0
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if cid == b"fmt ":
                fmt = f.read(size)
                byte_rate = int.from_bytes(fmt[8:12], "little") if len(fmt) >= 12 else 0
                continue
            if cid == b"data":
                if byte_rate <= 0 or size in (0, 0xFFFFFFFF):
                    return None  # streamed WAVs leave the size unset
                return size / byte_rate
            f.seek(size + (size & 1), os.SEEK_CUR)


def _reason(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    return str(msg).rstrip(".")


def _stream_info(s: av.stream.Stream) -> StreamInfo:
    codec = s.codec_context.name if s.codec_context is not None else "unknown"
    duration = _seconds(s.duration, s.time_base)
    if isinstance(s, av.AudioStream):
        a = s.codec_context
        return StreamInfo(index=s.index, type="audio", codec=codec, duration=duration,
                          sample_rate=a.sample_rate or None, channels=a.channels or None)
    if isinstance(s, av.VideoStream):
        v = s.codec_context
        rate = s.average_rate or s.guessed_rate
        return StreamInfo(index=s.index, type="video", codec=codec, duration=duration,
                          width=v.width or None, height=v.height or None,
                          fps=round(float(rate), 3) if rate else None)
    return StreamInfo(index=s.index, type=s.type, codec=codec, duration=duration)


@dataclass(frozen=True)
class AudioChunk:
    """A run of decoded analysis audio: ``samples`` start at ``start`` seconds of media time."""

    start: float
    samples: np.ndarray  # shape=(n,), float32, mono, ANALYSIS_SAMPLE_RATE
    stereo: np.ndarray | None = None  # shape=(2, n) left/right for stereo sources (for pan), else None


def iter_audio(
    info: MediaInfo, *, sample_rate: int = ANALYSIS_SAMPLE_RATE, chunk_s: float = CHUNK_S
) -> Iterator[AudioChunk]:
    """Decode the first audio stream of a probed file into contiguous mono float32 chunks.

    Chunks are contiguous: sample ``i`` of the stream is at ``i / sample_rate`` s from the start of the
    audio stream. Memory stays bounded by ``chunk_s``.

    Raises:
        NoAudioStreamError: the file has no audio stream.
        MediaDecodeError: decoding fails, or the file is truncated (far less audio than declared).
    """
    if info.audio is None:
        raise NoAudioStreamError(f"{info.path}: no audio stream (streams: "
                                 f"{', '.join(s.type for s in info.streams) or 'none'})")
    chunk_len = int(round(chunk_s * sample_rate))
    n_ch = 2 if (info.audio.channels or 1) >= 2 else 1
    pending: list[np.ndarray] = []  # each shape=(n_ch, n)
    pending_n = 0
    emitted = 0  # samples yielded so far
    try:
        with av.open(info.path) as container:
            stream = container.streams.audio[0]
            stream.codec_context.thread_type = "AUTO"
            layout = "stereo" if n_ch == 2 else "mono"
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
            for frame in _decoded_frames(container, stream):
                for out in resampler.resample(frame):
                    pending.append(out.to_ndarray().reshape(n_ch, -1))
                    pending_n += out.samples
                while pending_n >= chunk_len:
                    buf = np.concatenate(pending, axis=1)
                    yield _chunk(emitted / sample_rate, buf[:, :chunk_len])
                    emitted += chunk_len
                    rest = buf[:, chunk_len:]
                    pending, pending_n = ([rest] if rest.shape[1] else []), rest.shape[1]
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().reshape(n_ch, -1))
                pending_n += out.samples
    except av.FFmpegError as e:
        raise MediaDecodeError(f"{info.path}: audio cannot be decoded ({_reason(e)})") from e
    if pending_n:
        yield _chunk(emitted / sample_rate, np.concatenate(pending, axis=1))
        emitted += pending_n
    decoded_s = emitted / sample_rate
    declared = info.audio.duration or info.duration
    if declared > 1.0 and decoded_s < TRUNCATION_RATIO * declared:
        raise MediaDecodeError(
            f"{info.path}: file is truncated or damaged (decoded {decoded_s:.1f} s of audio, "
            f"the file declares {declared:.1f} s)"
        )


def _chunk(start: float, planes: np.ndarray) -> AudioChunk:
    """Mono mix (and the stereo planes, when there are two) of shape=(n_channels, n) float samples."""
    planes = np.ascontiguousarray(planes, dtype=np.float32)
    if planes.shape[0] == 1:
        return AudioChunk(start, planes[0])
    return AudioChunk(start, planes.mean(axis=0, dtype=np.float32), planes)


def _decoded_frames(container: av.container.InputContainer, stream: av.AudioStream) -> Iterator[av.AudioFrame]:
    """Audio frames in order; a damaged packet is skipped with a warning, as players do."""
    bad = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            bad += 1
            if bad > MAX_DAMAGED_PACKETS:
                raise MediaDecodeError(f"{container.name}: the audio is damaged (more than "
                                       f"{MAX_DAMAGED_PACKETS} undecodable packets)") from None
            continue
        yield from frames
    if bad:
        logger.warning("%s: skipped %d damaged audio packet(s); the result may miss sounds there",
                       container.name, bad)
