"""Streaming feature extraction: one pass over 16 kHz audio feeds every audio analyzer.

For each 10 ms frame we keep a few scalars (level, spectral centroid, onset strength) and the 64-band
log-mel (needed for the background model); YAMNet runs on dense 0.96 s patches as frames arrive and
Silero VAD on 32 ms chunks. Only these compact per-frame features are kept, never the audio itself.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from models import vad as vad_model
from models import yamnet as yam

FRAME_S = yam.FRAME_S  # 10 ms between feature frames
_EPS = 1e-10
#: Rows a FrameStore keeps in memory before it moves them to a temporary file (bytes).
SPILL_BYTES = 16 * 2**20


class FrameStore:
    """Rows appended in time order (one per frame or patch), kept in memory up to ``spill_bytes`` and then
    in an anonymous temporary file, so a long file's features do not grow the process's memory.

    Reads return numpy arrays: ``store[i0:i1]`` (rows), ``store[i0:i1, cols]``, ``store[mask]`` (a boolean
    mask or index array over rows, read in bounded chunks). Read rows of a spilled store come from the OS
    page cache, which is not the process's resident memory.

    Parameters:
        width: values per row (e.g. 64 mel bands, 521 classes).
        dtype: numpy dtype of the values.
        spill_bytes: in-memory size above which rows move to disk.
    """

    def __init__(self, width: int, dtype: np.dtype[Any] | type = np.float16, *,
                 spill_bytes: int = SPILL_BYTES) -> None:
        self.width = width
        self.dtype = np.dtype(dtype)
        self._spill = spill_bytes
        self._parts: list[np.ndarray] = []
        self._mem_rows = 0
        self._file: IO[bytes] | None = None
        self._file_rows = 0

    @classmethod
    def of(cls, rows: np.ndarray, **kw: Any) -> FrameStore:
        """A store holding ``rows``, shape=(n, width)."""
        store = cls(rows.shape[1], rows.dtype, **kw)
        store.append(rows)
        return store

    @property
    def shape(self) -> tuple[int, int]:
        return (self._file_rows + self._mem_rows, self.width)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def append(self, rows: np.ndarray) -> None:
        assert rows.ndim == 2 and rows.shape[1] == self.width, rows.shape
        if rows.shape[0] == 0:
            return
        self._parts.append(np.ascontiguousarray(rows, dtype=self.dtype))
        self._mem_rows += rows.shape[0]
        if self._mem_rows * self.width * self.dtype.itemsize > self._spill:
            if self._file is None:
                # open for the store's life, closed by close() (or when collected): no with-block fits
                self._file = tempfile.TemporaryFile(prefix="soundcue-features-")  # noqa: SIM115
            self._file.seek(0, os.SEEK_END)
            for part in self._parts:
                self._file.write(part.tobytes())
            self._file_rows += self._mem_rows
            self._parts, self._mem_rows = [], 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _rows(self, i0: int, i1: int) -> np.ndarray:
        n = self.shape[0]
        i0, i1 = max(0, min(i0, n)), max(0, min(i1, n))
        if i1 <= i0:
            return np.zeros((0, self.width), self.dtype)
        pieces = []
        if i0 < self._file_rows:
            assert self._file is not None
            f1 = min(i1, self._file_rows)
            row_bytes = self.width * self.dtype.itemsize
            self._file.seek(i0 * row_bytes)
            data = self._file.read((f1 - i0) * row_bytes)
            pieces.append(np.frombuffer(data, self.dtype).reshape(f1 - i0, self.width))
        if i1 > self._file_rows:
            if len(self._parts) > 1:
                self._parts = [np.concatenate(self._parts)]
            mem = self._parts[0] if self._parts else np.zeros((0, self.width), self.dtype)
            pieces.append(mem[max(0, i0 - self._file_rows):i1 - self._file_rows])
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def __getitem__(self, key: Any) -> np.ndarray:
        cols: Any = slice(None)
        if isinstance(key, tuple):
            key, cols = key
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            assert step == 1, "FrameStore reads contiguous rows"
            return self._rows(start, stop)[:, cols]
        idx = np.asarray(key)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        out = np.empty((idx.size, self.width), self.dtype)[:, cols]
        step = max(1, (4 * 2**20) // max(1, self.width * self.dtype.itemsize))  # read 4 MB at a time
        k = 0
        for r0 in range(0, self.shape[0], step):
            sel = idx[(idx >= r0) & (idx < r0 + step)]
            if sel.size:
                out[k:k + sel.size] = self._rows(r0, r0 + step)[sel - r0][:, cols]
                k += sel.size
        return out

    def chunks(self, rows: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, rows) in order, ``rows`` at a time."""
        for r0 in range(0, self.shape[0], rows):
            yield r0, self._rows(r0, r0 + rows)



@dataclass(frozen=True)
class Features:
    """Everything detection needs about one file's audio.

    Attributes:
        duration: seconds of decoded audio.
        frame_s: seconds between frames (frame ``i`` is centred at ``(i + 0.5 * win) * frame_s``).
        level_db: shape=(n_frames,), frame RMS in dBFS.
        centroid_hz: shape=(n_frames,), spectral centroid.
        logmel: shape=(n_frames, 64), float16 log-mel (natural log, YAMNet's front end); an array or a
            :class:`FrameStore` (long media).
        patch_hop: frames between successive YAMNet patches.
        scores: shape=(n_patches, 521), float16 YAMNet probabilities (an array or a :class:`FrameStore`);
            patch ``j`` covers frames ``[j * patch_hop, j * patch_hop + 96)``.
        speech: shape=(n_vad,), speech probability per ``speech_hop_s`` chunk.
        lr_power: shape=(2, n_frames), left/right power per frame for stereo sources, else None.
        window_s: length of each frame's analysis window (s); frame ``i`` spans
            ``[i * frame_s, i * frame_s + window_s)``.
        patch_frames: frames per tagger patch.
        class_names: the tagger's class for each column of ``scores`` (AudioSet display names).
        class_ids: the same classes' AudioSet ids ("/m/..."), or empty.
        speech_hop_s: seconds per ``speech`` value.
    """

    duration: float
    frame_s: float
    level_db: np.ndarray
    centroid_hz: np.ndarray
    logmel: np.ndarray | FrameStore
    patch_hop: int
    scores: np.ndarray | FrameStore
    speech: np.ndarray
    lr_power: np.ndarray | None = None
    window_s: float = 0.025
    patch_frames: int = 96
    class_names: tuple[str, ...] = ()
    class_ids: tuple[str, ...] = ()
    speech_hop_s: float = 0.032

    def close(self) -> None:
        """Release the temporary files of spilled stores (the features are unusable afterwards)."""
        for store in (self.logmel, self.scores):
            if isinstance(store, FrameStore):
                store.close()

    @property
    def n_frames(self) -> int:
        return int(self.level_db.shape[0])

    def frame_time(self, i: np.ndarray | int) -> np.ndarray:
        """Centre time (s) of frame(s) ``i``."""
        return np.asarray(np.asarray(i) * self.frame_s + self.window_s / 2)

    def patch_span(self, j: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) seconds covered by YAMNet patch(es) ``j``."""
        start = np.asarray(j) * self.patch_hop * self.frame_s
        return start, start + (self.patch_frames - 1) * self.frame_s + self.window_s


class FeatureExtractor:
    """Push 16 kHz mono chunks in order; call :meth:`finish` once for the :class:`Features`."""

    def __init__(self, tagger: yam.YamNet, vad: vad_model.SileroVAD | None, *, patch_hop: int = 5) -> None:
        self._tagger = tagger
        self._vad = vad.stream() if vad is not None else None
        self._hop = patch_hop
        self._tail = np.zeros(0, np.float32)  # samples not yet framed
        self._n_samples = 0
        self._levels: list[np.ndarray] = []
        self._centroids: list[np.ndarray] = []
        self._mels = FrameStore(yam.MEL_BANDS, np.float16)  # an hour of log-mel is 46 MB: spilled to disk
        self._mel_ring = np.zeros((0, yam.MEL_BANDS), np.float32)  # frames not yet fully patched
        self._ring_start = 0  # frame index of _mel_ring[0]
        self._next_patch = 0  # frame index where the next patch starts
        self._scores = FrameStore(yam.N_CLASSES, np.float16)  # an hour of scores is 75 MB: spilled to disk
        self._speech: list[np.ndarray] = []
        self._stereo_tail = np.zeros((2, 0), np.float32)
        self._balance: list[np.ndarray] = []
        self._freqs = np.fft.rfftfreq(yam.FFT_SIZE, 1 / yam.SAMPLE_RATE).astype(np.float32)

    def push(self, samples: np.ndarray, stereo: np.ndarray | None = None) -> None:
        """Feed the next mono samples (and, for a stereo source, its left/right planes shape=(2, n))."""
        assert samples.ndim == 1 and samples.dtype == np.float32, (samples.shape, samples.dtype)
        if stereo is not None:
            self._push_balance(stereo)
        self._n_samples += samples.shape[0]
        if self._vad is not None:
            self._speech.append(self._vad.push(samples))
        buf = np.concatenate([self._tail, samples])
        frames = yam.frame_audio(buf)
        if frames.shape[0] == 0:
            self._tail = buf
            return
        self._tail = buf[frames.shape[0] * yam.STFT_HOP:]
        mag = yam.magnitude_frames(frames)  # (n, 257)
        power = mag.astype(np.float64) ** 2
        rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
        self._levels.append((20 * np.log10(rms + _EPS)).astype(np.float32))
        self._centroids.append(((power @ self._freqs) / (power.sum(axis=1) + _EPS)).astype(np.float32))
        mel = yam.log_mel(mag)
        self._mels.append(mel.astype(np.float16))
        self._run_patches(mel)

    def _push_balance(self, stereo: np.ndarray) -> None:
        """Left and right power per 10 ms frame (same framing as the log-mel), for each event's pan."""
        buf = np.concatenate([self._stereo_tail, stereo], axis=1) if self._stereo_tail.size else stereo
        n = 0 if buf.shape[1] < yam.STFT_WINDOW else 1 + (buf.shape[1] - yam.STFT_WINDOW) // yam.STFT_HOP
        if n:
            hop = yam.STFT_HOP
            # power over each frame's hop (10 ms): a cheap, aligned stand-in for the 25 ms window
            sq = buf[:, : n * hop].astype(np.float64) ** 2
            self._balance.append(sq.reshape(2, n, hop).mean(axis=2).astype(np.float32))
        self._stereo_tail = buf[:, n * yam.STFT_HOP:]

    def _run_patches(self, mel: np.ndarray, *, final: bool = False) -> None:
        ring = np.concatenate([self._mel_ring, mel]) if self._mel_ring.size else mel
        starts = []
        p = self._next_patch
        end_frame = self._ring_start + ring.shape[0]
        while p + yam.PATCH_FRAMES <= end_frame:
            starts.append(p - self._ring_start)
            p += self._hop
        if final and not starts and p == 0 and ring.shape[0] > 0:
            # Shorter than one patch: pad with silence (log of the offset) so short clips are tagged.
            pad = np.full((yam.PATCH_FRAMES - ring.shape[0], yam.MEL_BANDS), np.log(yam.LOG_OFFSET), np.float32)
            ring = np.concatenate([ring, pad])
            starts.append(0)
            p = self._hop
        if starts:
            patches = np.stack([ring[s:s + yam.PATCH_FRAMES] for s in starts])  # (n, 96, 64)
            self._scores.append(self._tagger(patches).astype(np.float16))
        self._next_patch = p
        keep_from = p - self._ring_start
        empty = np.zeros((0, yam.MEL_BANDS), np.float32)
        self._mel_ring = ring[keep_from:].copy() if keep_from < ring.shape[0] else empty
        self._ring_start += min(keep_from, ring.shape[0])

    def finish(self) -> Features:
        self._run_patches(np.zeros((0, yam.MEL_BANDS), np.float32), final=True)
        if self._vad is not None:
            self._speech.append(self._vad.flush())

        def cat(parts: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
            out = np.concatenate(parts) if parts else np.zeros(shape, np.float32)
            parts.clear()  # the pieces are not needed twice (an hour of scores is ~75 MB)
            return out

        return Features(
            duration=self._n_samples / yam.SAMPLE_RATE,
            frame_s=FRAME_S,
            level_db=cat(self._levels, (0,)),
            centroid_hz=cat(self._centroids, (0,)),
            logmel=self._mels,
            patch_hop=self._hop,
            scores=self._scores,
            speech=cat(self._speech, (0,)),
            lr_power=_cat_balance(self._balance),
            window_s=yam.STFT_WINDOW / yam.SAMPLE_RATE,
            patch_frames=yam.PATCH_FRAMES,
            class_names=tuple(self._tagger.class_names),
            class_ids=tuple(c.mid for c in self._tagger.classes),
            speech_hop_s=vad_model.CHUNK_S,
        )


def _cat_balance(parts: list[np.ndarray]) -> np.ndarray | None:
    out = np.concatenate(parts, axis=1) if parts else None
    parts.clear()
    return out
