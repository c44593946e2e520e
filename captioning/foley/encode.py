"""Stream-encode float blocks to WAV (16-bit PCM), MP3 or AAC (in .m4a) with PyAV, atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

#: audio format -> (PyAV container format, codec, suggested file suffix)
FORMATS: dict[str, tuple[str, str, str]] = {
    "wav": ("wav", "pcm_s16le", ".wav"),
    "mp3": ("mp3", "libmp3lame", ".mp3"),
    "aac": ("ipod", "aac", ".m4a"),
}
#: Bit rate of the lossy formats, bits per second (per stream).
LOSSY_BIT_RATE = {1: 128_000, 2: 192_000}


def suffix_for(audio_format: str) -> str:
    """The file suffix of a format: ``.wav``, ``.mp3`` or ``.m4a``."""
    return FORMATS[audio_format][2]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it when the block succeeds (removed when it fails)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Encoder:
    """Encode float blocks (shape ``(n, channels)``, -1..1) into ``path`` with PyAV.

    WAV is 16-bit PCM (rounded, clipped to the int16 range); MP3 (LAME) and AAC (FFmpeg's encoder, in an
    MPEG-4 audio file) at :data:`LOSSY_BIT_RATE`. Use as a context manager; ``write`` blocks in order.
    """

    def __init__(self, path: Path, audio_format: str, sample_rate: int, channels: int) -> None:
        container_format, codec, _ = FORMATS[audio_format]
        self.channels = channels
        self.sample_rate = sample_rate
        self.layout = "mono" if channels == 1 else "stereo"
        self.pcm = audio_format == "wav"
        self.container = av.open(str(path), "w", format=container_format)
        stream = self.container.add_stream(codec, rate=sample_rate, layout=self.layout)
        assert isinstance(stream, av.AudioStream)
        self.stream = stream
        if not self.pcm:
            self.stream.bit_rate = LOSSY_BIT_RATE[channels]
        self.samples = 0

    def write(self, block: np.ndarray) -> None:
        n = block.shape[0]
        if n == 0:
            return
        if self.pcm:
            pcm = np.clip(np.rint(block * 32768.0), -32768, 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout=self.layout)
        else:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block.T, dtype=np.float32), format="fltp",
                                               layout=self.layout)
        frame.sample_rate = self.sample_rate
        frame.pts = self.samples
        self.samples += n
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()

    def __enter__(self) -> Encoder:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.container.close()
