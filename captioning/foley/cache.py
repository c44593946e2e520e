"""Cache of rendered one-shot sounds: bounded memory (LRU) in front of a bounded disk store.

A one-shot is a pure function of its :class:`SoundKey` (engine version, family, resolved parameters, profile
shape, sample rate and the take's seed); the key's canonical JSON is hashed (SHA-256) to name the entry, and the
full JSON is stored with the samples and compared on every read, so an entry is never returned for different
parameters (even on a hash collision or a damaged file, which is dropped and re-rendered).

Disk entries live under ``$SOUNDCUE_CACHE_DIR/foley`` or ``$XDG_CACHE_HOME/soundcue/foley`` (default
``~/.cache/soundcue/foley``) as ``<hash>.npz``, written atomically; the oldest are removed past ``max_disk_bytes``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


def _engine_version() -> str:
    """``foley-<hash of the synthesis code>``: any change to what a key renders (captioning/foley/synth.py)
    changes every key, so entries rendered by older code are never reused."""
    source = Path(__file__).with_name("synth.py").read_bytes()
    return "foley-" + hashlib.sha256(source).hexdigest()[:16]


ENGINE_VERSION = _engine_version()


@dataclass(frozen=True)
class SoundKey:
    """Everything a one-shot render depends on."""

    family: str
    params: Mapping[str, Any]
    shape: Mapping[str, float]
    sample_rate: int
    seed: int
    version: str = ENGINE_VERSION

    def canonical(self) -> str:
        return json.dumps({"family": self.family, "params": dict(self.params), "shape": dict(self.shape),
                           "sample_rate": self.sample_rate, "seed": self.seed, "version": self.version},
                          sort_keys=True, separators=(",", ":"), default=list)

    def digest(self) -> str:
        return hashlib.sha256(self.canonical().encode()).hexdigest()


@dataclass
class CacheStats:
    """Counters since the cache was made (or :meth:`OneShotCache.reset_stats`)."""

    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    disk_writes: int = 0
    rejected: int = 0  # disk entries whose stored key did not match (collision or damage)

    @property
    def hits(self) -> int:
        return self.memory_hits + self.disk_hits


def default_cache_dir() -> Path:
    """``$SOUNDCUE_CACHE_DIR/foley``, else ``$XDG_CACHE_HOME/soundcue/foley``, else ``~/.cache/soundcue/foley``."""
    explicit = os.environ.get("SOUNDCUE_CACHE_DIR")
    if explicit:
        return Path(explicit) / "foley"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "soundcue" / "foley"


@dataclass
class OneShotCache:
    """Memory LRU (``max_memory_bytes``) over a disk store (``directory``, ``max_disk_bytes``; None: memory only).

    Thread-safe. ``get_or_render(key, render)`` returns the cached float32 samples or calls ``render()`` and
    stores its result.
    """

    directory: Path | None = None
    max_memory_bytes: int = 64 << 20
    max_disk_bytes: int = 256 << 20
    stats: CacheStats = field(default_factory=CacheStats)

    def __post_init__(self) -> None:
        self._memory: OrderedDict[str, tuple[str, np.ndarray]] = OrderedDict()
        self._memory_bytes = 0
        self._lock = threading.Lock()
        self._writes_since_prune = 0

    def reset_stats(self) -> None:
        self.stats = CacheStats()

    def clear_memory(self) -> None:
        with self._lock:
            self._memory.clear()
            self._memory_bytes = 0

    def get_or_render(self, key: SoundKey, render: Callable[[], np.ndarray]) -> np.ndarray:
        canonical = key.canonical()
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        with self._lock:
            hit = self._memory.get(digest)
            if hit is not None and hit[0] == canonical:
                self._memory.move_to_end(digest)
                self.stats.memory_hits += 1
                return hit[1]
        samples = self._read_disk(digest, canonical)
        if samples is not None:
            self.stats.disk_hits += 1
        else:
            self.stats.misses += 1
            samples = np.ascontiguousarray(render(), dtype=np.float32)
            samples.setflags(write=False)
            self._write_disk(digest, canonical, samples)
        self._remember(digest, canonical, samples)
        return samples

    def _remember(self, digest: str, canonical: str, samples: np.ndarray) -> None:
        with self._lock:
            old = self._memory.pop(digest, None)
            if old is not None:
                self._memory_bytes -= old[1].nbytes
            if samples.nbytes > self.max_memory_bytes:
                return
            self._memory[digest] = (canonical, samples)
            self._memory_bytes += samples.nbytes
            while self._memory_bytes > self.max_memory_bytes:
                _, (_, dropped) = self._memory.popitem(last=False)
                self._memory_bytes -= dropped.nbytes

    def _path(self, digest: str) -> Path | None:
        return None if self.directory is None else self.directory / f"{digest}.npz"

    def _read_disk(self, digest: str, canonical: str) -> np.ndarray | None:
        path = self._path(digest)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                stored = str(data["key"])
                samples = np.asarray(data["samples"], np.float32)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            self.stats.rejected += 1
            path.unlink(missing_ok=True)
            return None
        if stored != canonical or not np.isfinite(samples).all():
            self.stats.rejected += 1
            return None
        samples.setflags(write=False)
        return samples

    def _write_disk(self, digest: str, canonical: str, samples: np.ndarray) -> None:
        path = self._path(digest)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{digest[:16]}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(f, key=np.array(canonical), samples=samples)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return  # a read-only or full cache directory only costs speed
        self.stats.disk_writes += 1
        self._writes_since_prune += 1
        if self._writes_since_prune >= 50:
            self._writes_since_prune = 0
            self.prune()

    def prune(self) -> None:
        """Remove the least recently written disk entries until the store fits ``max_disk_bytes``."""
        if self.directory is None or not self.directory.is_dir():
            return
        entries = []
        for p in self.directory.glob("*.npz"):
            try:
                st = p.stat()
            except OSError:
                continue
            entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        for _, size, p in sorted(entries):
            if total <= self.max_disk_bytes:
                break
            p.unlink(missing_ok=True)
            total -= size


_shared: OneShotCache | None = None
_shared_lock = threading.Lock()


def shared_cache() -> OneShotCache:
    """The process-wide cache (disk store at :func:`default_cache_dir`, resolved at first use and again whenever
    the environment names another directory)."""
    global _shared
    with _shared_lock:
        directory = default_cache_dir()
        if _shared is None or _shared.directory != directory:
            _shared = OneShotCache(directory=directory)
        return _shared
