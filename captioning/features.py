"""Streaming feature extraction: one pass over 16 kHz audio feeds every audio analyzer.

For each 10 ms frame we keep a few scalars (level, spectral centroid, onset strength) and the 64-band
log-mel (needed for the background model); YAMNet runs on dense 0.96 s patches as frames arrive and
Silero VAD on 32 ms chunks. Only these compact per-frame features are kept, never the audio itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models import vad as vad_model
from models import yamnet as yam

FRAME_S = yam.FRAME_S  # 10 ms between feature frames
_EPS = 1e-10


@dataclass(frozen=True)
class Features:
    """Everything detection needs about one file's audio.

    Attributes:
        duration: seconds of decoded audio.
        frame_s: seconds between frames (frame ``i`` is centred at ``(i + 0.5 * win) * frame_s``).
        level_db: shape=(n_frames,), frame RMS in dBFS.
        centroid_hz: shape=(n_frames,), spectral centroid.
        logmel: shape=(n_frames, 64), float16 log-mel (natural log, YAMNet's front end).
        patch_hop: frames between successive YAMNet patches.
        scores: shape=(n_patches, 521), float16 YAMNet probabilities; patch ``j`` covers frames
            ``[j * patch_hop, j * patch_hop + 96)``.
        speech: shape=(n_vad,), Silero speech probability per 32 ms chunk.
        lr_power: shape=(2, n_frames), left/right power per frame for stereo sources, else None.
    """

    duration: float
    frame_s: float
    level_db: np.ndarray
    centroid_hz: np.ndarray
    logmel: np.ndarray
    patch_hop: int
    scores: np.ndarray
    speech: np.ndarray
    lr_power: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.level_db.shape[0])

    def frame_time(self, i: np.ndarray | int) -> np.ndarray:
        """Centre time (s) of frame(s) ``i``."""
        return (np.asarray(i) * yam.STFT_HOP + yam.STFT_WINDOW / 2) / yam.SAMPLE_RATE

    def patch_span(self, j: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) seconds covered by YAMNet patch(es) ``j``."""
        start = np.asarray(j) * self.patch_hop * FRAME_S
        return start, start + (yam.PATCH_FRAMES - 1) * FRAME_S + yam.STFT_WINDOW / yam.SAMPLE_RATE


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
        self._mels: list[np.ndarray] = []
        self._mel_ring = np.zeros((0, yam.MEL_BANDS), np.float32)  # frames not yet fully patched
        self._ring_start = 0  # frame index of _mel_ring[0]
        self._next_patch = 0  # frame index where the next patch starts
        self._scores: list[np.ndarray] = []
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
        self._mels.append(mel.astype(np.float16))  # half precision: an hour of log-mel is 46 MB
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
            logmel=cat(self._mels, (0, yam.MEL_BANDS)),
            patch_hop=self._hop,
            scores=cat(self._scores, (0, yam.N_CLASSES)),
            speech=cat(self._speech, (0,)),
            lr_power=_cat_balance(self._balance),
        )


def _cat_balance(parts: list[np.ndarray]) -> np.ndarray | None:
    out = np.concatenate(parts, axis=1) if parts else None
    parts.clear()
    return out
