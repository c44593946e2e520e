"""Silero VAD (MIT): speech probability every 32 ms of 16 kHz audio, ONNX weights from ``silero-vad``.

We run the packaged ``silero_vad.onnx`` with onnxruntime directly (importing the ``silero_vad`` package
would import torch for nothing). The model is recurrent: each 512-sample chunk is fed together with the
last 64 samples of the previous chunk and the carried state, as the reference ``OnnxWrapper`` does.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from models._resources import onnx_session, package_file, package_version

if TYPE_CHECKING:
    import onnxruntime

SAMPLE_RATE = 16000  # Hz
CHUNK = 512  # samples per VAD step (32 ms)
CONTEXT = 64  # samples of the previous chunk prepended to each step
CHUNK_S = CHUNK / SAMPLE_RATE


class SileroVAD:
    """A loaded Silero VAD session; create a :class:`VADStream` per audio stream."""

    def __init__(self, session: onnxruntime.InferenceSession, version: str) -> None:
        self._session = session
        self.version = version

    def stream(self) -> VADStream:
        return VADStream(self._session)

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        """Speech probabilities for a whole 16 kHz clip: shape=(n_samples,) -> shape=(ceil(n/512),)."""
        s = self.stream()
        probs = s.push(audio)
        return np.concatenate([probs, s.flush()])


class VADStream:
    """Streaming state: push any number of samples, get one probability per completed 512-sample chunk."""

    def __init__(self, session: onnxruntime.InferenceSession) -> None:
        self._session = session
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)

    def push(self, audio: np.ndarray) -> np.ndarray:
        assert audio.ndim == 1 and audio.dtype == np.float32, (audio.shape, audio.dtype)
        buf = np.concatenate([self._pending, audio]) if self._pending.size else audio
        n = buf.shape[0] // CHUNK
        out = np.empty(n, np.float32)
        for i in range(n):
            chunk = buf[i * CHUNK:(i + 1) * CHUNK]
            x = np.concatenate([self._context, chunk])[None, :]
            prob, self._state = self._session.run(None, {"input": x, "state": self._state, "sr": self._sr})
            out[i] = float(np.asarray(prob).reshape(-1)[0])
            self._context = chunk[-CONTEXT:]
        self._pending = buf[n * CHUNK:].copy()
        return out

    def flush(self) -> np.ndarray:
        if self._pending.size == 0:
            return np.zeros(0, np.float32)
        tail = np.zeros(CHUNK - self._pending.size, np.float32)
        return self.push(tail)


@functools.lru_cache(maxsize=1)
def load_vad() -> SileroVAD:
    """Load Silero VAD once per process (cached).

    Raises:
        ModelLoadError: onnxruntime or the silero-vad package (which carries the weights) is missing.
    """
    path = package_file("silero_vad", "data/silero_vad.onnx", pip_name="silero-vad==6.2.3")
    session = onnx_session(path, threads=1, what="Silero VAD")
    return SileroVAD(session, f"silero-vad {package_version('silero-vad')}")
