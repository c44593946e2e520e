"""Class-agnostic segmentation: where does something happen, whatever it is (issue 2).

1. **Background model.** Per mel band, a running median of the power over a few seconds is the file's
   steady background (wind, rain, birdsong, room tone). A frame's *rise* is the mean over bands of its power
   relative to that background, so a sound is found in the bands where it is, not drowned by a loud
   background elsewhere in the spectrum.
2. **Segments.** The rise is smoothed and thresholded with hysteresis; short gaps are bridged, tiny blips
   dropped, segments split where the level jumps (a new sound). Each onset is placed on the 10 ms grid at
   the end of the first analysis window that already holds the sound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from captioning.analysis.audio import Features, FrameStore


@dataclass(frozen=True)
class DetectionOptions:
    """Detection parameters. Units are in the names.

    Attributes:
        background_window_s: span of the running background estimate.
        background_percentile: percentile of each band's level taken as background.
        on_db / off_db: hysteresis thresholds on mean per-band rise above background.
        peak_db: a segment must rise at least this far above background somewhere.
        bridge_gap_s: gaps shorter than this inside a sound are bridged.
        min_event_s: shortest event reported.
        merge_gap_s: same-label (or similar-sounding, see merge_similarity) events closer than this merge.
        merge_similarity: cosine similarity of tagger profiles above which neighbouring fragments merge.
        merge_similarity_split: the same, for two pieces of one segment split at a strong onset (stricter).
        repeat_gap_s / repeat_similarity: fragments this close whose background-relative spectra are this
            alike (cosine) are strokes of one repeated sound (chopping, footsteps) and merge.
        spread_weight: how much a class's own wandering in the background damps its contrast.
        music_min_s: spans shorter than this have their music classes weighed down (music is sustained).
        max_backtrack_s: how far an onset may move back to where its energy starts rising.
        min_label_contrast: a class must beat its file-level background score by this much to label.
        ambience_presence: fraction of the file a class must be present in to be an ambience bed...
        ambience_min_s: ...or this many seconds in one run, whichever is shorter.
        music_threshold: smoothed score of the strongest music class above which music is playing.
        music_bed_s: shortest stretch of music reported as one music event.
        speech_threshold: mean Silero probability above which a segment is treated as dialogue.
        split_db: a level jump this large within 50 ms starts a new segment (a new sound).
        min_split_s: shortest piece a split may leave.
        onset_window_s: span over which a level jump counts as one onset.
        onset_lag_s: how far before the end of the first loud analysis window the onset is placed.
        min_level_over_bg_db: the loudest 50 ms of an event must be this far above the running median level.
    """

    background_window_s: float = 4.0
    background_percentile: float = 50.0
    on_db: float = 8.0
    off_db: float = 3.0
    peak_db: float = 8.0
    bridge_gap_s: float = 0.15
    min_event_s: float = 0.05
    merge_gap_s: float = 0.6
    max_backtrack_s: float = 0.08
    min_label_contrast: float = 0.1
    ambience_presence: float = 0.5
    ambience_min_s: float = 30.0
    music_threshold: float = 0.35
    music_bed_s: float = 4.0
    speech_threshold: float = 0.5
    split_db: float = 12.0
    min_level_over_bg_db: float = 9.0
    merge_similarity: float = 0.5
    merge_similarity_split: float = 0.85
    onset_window_s: float = 0.15
    onset_lag_s: float = 0.01
    repeat_gap_s: float = 1.0
    music_min_s: float = 1.0
    repeat_similarity: float = 0.9
    spread_weight: float = 2.0
    min_split_s: float = 0.25


# Weights that make a specific class ("Bark") beat its ontology root ("Animal") at similar scores.


@dataclass(frozen=True)
class Segment:
    """A class-agnostic stretch of foreground activity, in seconds."""

    start: float
    end: float
    peak_db: float  # peak rise above background


@dataclass(frozen=True)
class Background:
    """The running background spectrum: per-band log power, one row per 100 ms block."""

    floor: np.ndarray | FrameStore  # shape=(n_blocks, MEL_BANDS), natural log of mel power
    block: int  # frames per block

    def at(self, i0: int, i1: int) -> np.ndarray:
        """Background log power for frames [i0, i1): shape=(i1 - i0, MEL_BANDS)."""
        last = self.floor.shape[0] - 1
        b0 = min(i0 // self.block, last)
        idx = np.minimum(np.arange(i0, i1) // self.block, last) - b0
        rows = self.floor[b0:min(last, (max(i1, i0 + 1) - 1) // self.block) + 1]
        return np.asarray(rows[idx], np.float64)


def background_model(feat: Features, opts: DetectionOptions) -> Background:
    """Per band, a running percentile of the mel power over ``background_window_s``.

    Computed in chunks of 5 minutes that overlap by a window, so memory does not grow with duration
    (the floor of a long file is kept in a :class:`FrameStore`).
    """
    block = 10  # frames (100 ms) per block for a cheap running percentile
    n_bands = feat.logmel.shape[1]
    n_blocks = feat.n_frames // block
    if n_blocks == 0:
        return Background(np.full((1, n_bands), -50.0), block)
    size = max(3, int(round(opts.background_window_s / (block * feat.frame_s))) | 1)
    step = 3000  # blocks per chunk (5 min)
    floor = FrameStore(n_bands, np.float32)
    for b0 in range(0, n_blocks, step):
        b1 = min(n_blocks, b0 + step)
        a0, a1 = max(0, b0 - size), min(n_blocks, b1 + size)  # a whole window either side: edges slide inside
        power = np.exp(2.0 * feat.logmel[a0 * block:a1 * block].astype(np.float64))
        blocks = np.log(power.reshape(a1 - a0, block, n_bands).mean(axis=1) + 1e-20)
        # Inside, the overlap gives the same values as one pass over the whole file.
        part = _running_percentile(blocks, opts.background_percentile, size, a0, n_blocks)
        floor.append(part[b0 - a0:b1 - a0])
    return Background(floor, block)


def _running_percentile(blocks: np.ndarray, q: float, size: int, first: int, n_total: int) -> np.ndarray:
    """Running ``q``-th percentile along axis 0 over ``size`` blocks (centred), of ``blocks`` = rows
    ``first .. first + len(blocks)`` of a series of ``n_total`` rows; shape as ``blocks``.

    Near the series' ends the window slides inside it (same length, real rows only): padding by repeating the
    first (last) row, as ``mode="nearest"`` does, would make a sound that opens (closes) a file its own
    background, so it would never be found. A series shorter than the window is one window, and its percentile
    is scaled down by how much of the window it fills (``q * n_total / size``): the median of a full window
    lets a sound fill half of it and still be foreground, while a short clip that one sound fills (a sound
    effect, a door knock cut out of a longer recording) would otherwise be its own background.
    """
    if n_total < size:
        q = q * n_total / size
    size = min(size, n_total)
    half = size // 2
    out: np.ndarray = ndimage.percentile_filter(
        blocks, q, size=(size,) + (1,) * (blocks.ndim - 1), mode="nearest")
    last = first + blocks.shape[0]
    for k in [*range(0, min(half, n_total)), *range(max(half, n_total - half), n_total)]:
        lo = min(max(0, k - half), n_total - size)
        if first <= k < last and first <= lo and lo + size <= last:
            out[k - first] = np.percentile(blocks[lo - first:lo - first + size], q, axis=0)
    return out


def background_rise(feat: Features, opts: DetectionOptions, bg: Background | None = None) -> np.ndarray:
    """How far each frame rises above the running background, in dB: shape=(n_frames,).

    A frame's rise is the mean over bands of its power relative to the background. Averaging *ratios*
    (not levels) lets a sound that is 20 dB up in a few bands stand out against a background that is loud
    elsewhere, while the random fluctuation of a steady background averages out over 64 bands.
    """
    if feat.n_frames == 0:
        return np.zeros(0, np.float32)
    bg = bg or background_model(feat, opts)
    out = np.empty(feat.n_frames, np.float32)
    step = 30000  # frames per chunk (5 min), overlapping by one frame for the 3-frame smoothing
    for i0 in range(0, feat.n_frames, step):
        i1 = min(feat.n_frames, i0 + step)
        a0, a1 = max(0, i0 - 1), min(feat.n_frames, i1 + 1)
        power = np.exp(2.0 * feat.logmel[a0:a1].astype(np.float64))
        power = ndimage.uniform_filter1d(power, 3, axis=0, mode="nearest")[i0 - a0:i0 - a0 + (i1 - i0)]
        ratio = (power / np.exp(bg.at(i0, i1))).mean(axis=1)
        out[i0:i1] = 10.0 * np.log10(ratio + 1e-12)
    return out


def find_segments(rise: np.ndarray, feat: Features, opts: DetectionOptions) -> list[Segment]:
    """Hysteresis segmentation of the background rise curve into foreground segments."""
    if rise.size == 0:
        return []
    raw = rise
    smooth = ndimage.uniform_filter1d(rise, size=3, mode="nearest")
    on = smooth > opts.on_db
    keep = smooth > opts.off_db
    labels, n = ndimage.label(keep)
    if n == 0:
        return []
    has_on = ndimage.maximum(on, labels, index=np.arange(1, n + 1)).astype(bool)
    active = np.isin(labels, np.nonzero(has_on)[0] + 1)
    gap = int(round(opts.bridge_gap_s / feat.frame_s))
    if gap > 0:
        active = ndimage.binary_closing(np.pad(active, gap), structure=np.ones(gap)) [gap:-gap]
    labels, n = ndimage.label(active)
    segs: list[Segment] = []
    max_back = int(round(opts.max_backtrack_s / feat.frame_s))
    splits = _strong_onsets(rise, feat, opts)
    for sl in ndimage.find_objects(labels):
        i0, i1 = sl[0].start, sl[0].stop
        if float(smooth[i0:i1].max()) < opts.peak_db:
            continue
        inner = [k for k in splits if i0 + _frames(opts.min_split_s, feat) <= k < i1 - _frames(opts.min_event_s, feat)]
        bounds = [i0] + _spaced(inner, _frames(opts.min_split_s, feat)) + [i1]
        for a, b in zip(bounds[:-1], bounds[1:], strict=False):
            peak = float(smooth[a:b].max())
            if peak < opts.peak_db:
                continue
            j = _backtrack(rise, a, max_back)
            start = _onset_time(raw, j, b, feat, opts)
            end = float(feat.frame_time(b - 1)) + 0.5 * feat.frame_s
            if end - start >= opts.min_event_s:
                segs.append(Segment(max(0.0, start), min(feat.duration, end), peak))
    return segs


def _onset_time(raw: np.ndarray, j: int, stop: int, feat: Features, opts: DetectionOptions) -> float:
    """Onset in seconds: the end of the first 25 ms window that already holds the sound.

    A frame's level jumps as soon as a loud sound enters the tail of its window, so the onset lies near the
    end of the first window whose (unsmoothed) rise crosses the threshold, not at its centre.
    """
    k = j
    while k < min(stop, j + 5) and raw[k] < opts.on_db:
        k += 1
    if k >= min(stop, j + 5):
        k = j
    window_end = k * feat.frame_s + feat.window_s
    return max(0.0, window_end - opts.onset_lag_s)


def _frames(seconds: float, feat: Features) -> int:
    return max(1, int(round(seconds / feat.frame_s)))


def _spaced(idx: list[int], min_gap: int) -> list[int]:
    out: list[int] = []
    for k in idx:
        if not out or k - out[-1] >= min_gap:
            out.append(k)
    return out


def _backtrack(rise: np.ndarray, i: int, max_back: int) -> int:
    """Move an onset back while the level keeps falling: the sound started where its rise began."""
    j = i
    while j > 0 and i - j < max_back and rise[j - 1] < rise[j] and rise[j - 1] > 0.5:
        j -= 1
    return j


def _strong_onsets(rise: np.ndarray, feat: Features, opts: DetectionOptions) -> list[int]:
    """Frames where the level jumps by ``split_db`` over ``onset_window_s``: a new sound inside a segment."""
    w = _frames(opts.onset_window_s, feat)
    prev_min = ndimage.minimum_filter1d(rise, size=w, origin=(w - 1) // 2, mode="nearest")
    prev_min = np.concatenate([np.full(1, rise[0] if rise.size else 0.0), prev_min[:-1]])
    jump = rise - prev_min
    local_max = jump == ndimage.maximum_filter1d(jump, size=2 * w + 1, mode="nearest")
    peak_ahead = ndimage.maximum_filter1d(rise, size=w, origin=-(w // 2), mode="nearest")
    strong = local_max & (jump >= opts.split_db) & (peak_ahead >= opts.peak_db)
    return [int(k) for k in np.nonzero(strong)[0]]




def running_level(feat: Features, opts: DetectionOptions) -> np.ndarray:
    """Running median of the frame level (dBFS) over ``2 * background_window_s``: shape=(n_frames,)."""
    block = min(10, max(1, feat.n_frames))  # clips shorter than 100 ms are one block
    n_blocks = max(1, feat.n_frames // block)
    power = 10 ** (feat.level_db[: n_blocks * block].astype(np.float64) / 10)
    blocks = 10 * np.log10(power.reshape(n_blocks, block).mean(axis=1) + 1e-12)
    size = max(3, int(round(2 * opts.background_window_s / (block * feat.frame_s))) | 1)
    med = _running_percentile(blocks, 50.0, size, 0, n_blocks)
    out: np.ndarray = med[np.minimum(np.arange(feat.n_frames) // block, n_blocks - 1)].astype(np.float32)
    return out


def peak_50ms(level_db: np.ndarray) -> float:
    if level_db.size == 0:
        return -120.0
    power = 10 ** (level_db.astype(np.float64) / 10)
    w = min(5, power.size)
    return float(10 * np.log10(np.convolve(power, np.ones(w) / w, mode="valid").max() + 1e-12))
