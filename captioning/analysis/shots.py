"""Shot cuts from frame differences: :class:`ShotDetector`.

Each frame is reduced to a small signature (:func:`frame_signature`): a hue-saturation-value histogram (what
colours the shot has) and a brightness-normalised grey thumbnail (where things are). Two signatures give a
change score 0..1 (:func:`signature_distance`): about 0 for the next frame of the same shot, about 1 for an
unrelated picture.

A cut is a change that stands out (the adaptive rule of PySceneDetect's ``AdaptiveDetector``: the score must
be ``ratio`` times the mean score of the ``window`` frames on each side, and above an absolute floor), so:

* camera motion (pans, shake) raises the scores of many frames in a row and gives no cut;
* a fade or dissolve changes the picture a little on every frame and gives no cut; frames that are nearly
  one flat colour (the black or white middle of a fade) are skipped, so a fade through black to another
  scene gives one cut at the first picture of the new scene, and a fade back to the same scene none;
* a flash (a frame or two whose picture then comes back) gives no cut;
* cuts closer than ``min_shot_s`` are one cut (the first).

Decisions wait for ``window`` frames after the candidate; the state is a handful of signatures.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from captioning.analysis.types import ShotCut, VideoFrame

#: Short side (px) frames are reduced to before their histogram is taken.
SIGNATURE_SHORT_SIDE = 64
#: Short side (px) of the small copy of each frame that shot cuts and motion share (the signature is taken
#: from it, the optical flow computed on its grey levels).
SMALL_SHORT_SIDE = 128
#: Size (width, height) of the grey layout thumbnail.
THUMB_SIZE = (24, 16)
#: Histogram bins of hue, saturation, value (OpenCV hue spans 0..180).
HSV_BINS = (12, 4, 4)
#: A thumbnail whose grey levels spread less than this (standard deviation, 0..255 scale) is "flat": the
#: black or white middle of a fade, a blank frame.
FLAT_STD = 5.0

#: PySceneDetect AdaptiveDetector defaults (scenedetect.detectors.adaptive_detector: adaptive_threshold=3.0,
#: window_width=2).
DEFAULT_RATIO = 3.0
DEFAULT_WINDOW = 2


@dataclass(frozen=True)
class FrameSignature:
    """What a frame looks like, small.

    Attributes:
        hist: shape=(HSV_BINS product,) float32, the HSV histogram, summing to 1.
        thumb: shape=(THUMB_SIZE[1], THUMB_SIZE[0]) float32, the grey thumbnail with zero mean and unit
            standard deviation (all zeros when the frame is flat).
        flat: the frame is nearly one flat colour (its grey standard deviation is below FLAT_STD).
    """

    hist: np.ndarray
    thumb: np.ndarray
    flat: bool


def frame_signature(rgb: np.ndarray) -> FrameSignature:
    """The signature of one frame.

    Parameters:
        rgb: shape=(height, width, 3) uint8 RGB, any size (a few hundred pixels is plenty).

    Raises:
        ValueError: ``rgb`` is not an (h, w, 3) uint8 image with h, w >= 1.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or min(rgb.shape[:2]) < 1:
        raise ValueError(f"expected an (h, w, 3) uint8 RGB image, got shape={rgb.shape} dtype={rgb.dtype}")
    h, w = rgb.shape[:2]
    scale = min(1.0, SIGNATURE_SHORT_SIDE / min(h, w))
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(HSV_BINS), [0, 180, 0, 256, 0, 256]).ravel()
    hist = (hist / max(float(hist.sum()), 1.0)).astype(np.float32)
    grey = cv2.resize(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), THUMB_SIZE, interpolation=cv2.INTER_AREA)
    grey = grey.astype(np.float32)
    std = float(grey.std())
    flat = std < FLAT_STD
    thumb = np.zeros_like(grey) if flat else (grey - float(grey.mean())) / std
    return FrameSignature(hist=hist, thumb=thumb, flat=flat)


def small_picture(frame: VideoFrame) -> np.ndarray:
    """The frame reduced (area average) so its short side is at most SMALL_SHORT_SIDE, at least 2 px a side;
    made once per frame (:meth:`VideoFrame.derived`). Shape=(h, w, 3) uint8."""
    def make(f: VideoFrame) -> np.ndarray:
        h, w = f.rgb.shape[:2]
        scale = min(1.0, SMALL_SHORT_SIDE / min(h, w))
        size = (max(2, round(w * scale)), max(2, round(h * scale)))
        if size == (w, h):
            return f.rgb
        out: np.ndarray = cv2.resize(f.rgb, size, interpolation=cv2.INTER_AREA)
        return out
    return frame.derived("small", make)


def signature_of(frame: VideoFrame) -> FrameSignature:
    """:func:`frame_signature` of the frame's :func:`small_picture`, made once per frame.

    Raises:
        ValueError: the frame is not an (h, w, 3) uint8 RGB image.
    """
    rgb = frame.rgb
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or min(rgb.shape[:2]) < 1:
        raise ValueError(f"expected an (h, w, 3) uint8 RGB image, got shape={rgb.shape} dtype={rgb.dtype}")
    return frame.derived("signature", lambda f: frame_signature(small_picture(f)))


def signature_distance(a: FrameSignature, b: FrameSignature) -> float:
    """How much the picture changed from ``a`` to ``b``, 0 (same) .. 1 (unrelated).

    The mean of the colour change (half the L1 distance of the histograms) and the layout change (1 minus the
    correlation of the thumbnails, clipped to 0..1); a flat frame's layout counts as unrelated to a non-flat
    one and the same as another flat one.
    """
    colour = 0.5 * float(np.abs(a.hist - b.hist).sum())
    if a.flat or b.flat:
        layout = 0.0 if a.flat and b.flat else 1.0
    else:
        layout = float(np.clip(1.0 - float(np.mean(a.thumb * b.thumb)), 0.0, 1.0))
    return 0.5 * (colour + layout)


@dataclass
class _Entry:
    t: float
    sig: FrameSignature
    score: float | None  # change from the previous non-flat frame (None for the first)


class ShotDetector:
    """Shot cuts in a stream of frames (a :class:`~captioning.analysis.types.FrameAnalyzer`).

    Parameters:
        fps: frames per second wanted; None (default) takes every decoded frame, so a cut is placed on the
            exact first frame of the new shot.
        ratio: a cut's score must be this many times the mean score of its neighbours.
        window: neighbours on each side (frames) for that mean; decisions wait this many frames.
        min_score: a cut's score must also reach this (0..1).
        min_shot_s: cuts closer than this (s) are one cut.

    ``finish()`` returns the cuts in time order; ``ShotCut.t`` is the time of the first frame of the new
    shot and ``strength`` its change score (0..1).

    Raises:
        ValueError: (constructor) a parameter is out of range; (``push``) a frame is not an RGB uint8 image.
    """

    name = "shots"

    def __init__(self, fps: float | None = None, *, ratio: float = DEFAULT_RATIO, window: int = DEFAULT_WINDOW,
                 min_score: float = 0.3, min_shot_s: float = 0.3) -> None:
        if fps is not None and fps <= 0:
            raise ValueError(f"fps must be positive or None, got {fps}")
        if ratio < 1 or window < 1 or not 0 < min_score <= 1 or min_shot_s < 0:
            raise ValueError(f"bad shot detector parameters: ratio={ratio} window={window} "
                             f"min_score={min_score} min_shot_s={min_shot_s}")
        self.fps = fps
        self.ratio = ratio
        self.window = window
        self.min_score = min_score
        self.min_shot_s = min_shot_s
        self._recent: deque[_Entry] = deque(maxlen=2 * window + 1)  # non-flat frames around the candidate
        self._last: FrameSignature | None = None  # last non-flat signature
        self._full = False  # the window has filled once (its middle frames are decided as they pass)
        self._last_cut = float("-inf")
        self._cuts: list[ShotCut] = []

    def push(self, frame: VideoFrame) -> None:
        sig = signature_of(frame)  # shared with the motion analyzer
        if sig.flat:  # the middle of a fade: compared with nothing, the next picture is compared across it
            return
        score = signature_distance(self._last, sig) if self._last is not None else None
        self._last = sig
        self._recent.append(_Entry(frame.t, sig, score))
        if len(self._recent) == self._recent.maxlen:
            self._full = True
            self._decide(self.window)

    def finish(self) -> tuple[ShotCut, ...]:
        # the frames not decided yet have fewer neighbours after them
        for i in range(self.window + 1 if self._full else 1, len(self._recent)):
            self._decide(i)
        self._recent.clear()
        self._full = False
        return tuple(self._cuts)

    def _decide(self, i: int) -> None:
        """Is the frame at position ``i`` of the recent window the first of a new shot?"""
        entries = list(self._recent)
        cand = entries[i]
        if cand.score is None or cand.score < self.min_score or cand.t - self._last_cut < self.min_shot_s:
            return
        lo, hi = max(0, i - self.window), min(len(entries), i + self.window + 1)
        others = [e.score for j, e in enumerate(entries[lo:hi], lo) if j != i and e.score is not None]
        mean = float(np.mean(others)) if others else 0.0
        if cand.score < self.ratio * max(mean, 0.02):
            return
        before = entries[i - 1].sig
        after = [signature_distance(before, e.sig) for e in entries[i + 1:hi]]
        if after and min(after) < 0.5 * cand.score:  # the picture came back: a flash, not a cut
            return
        self._cuts.append(ShotCut(t=cand.t, strength=float(min(1.0, cand.score))))
        self._last_cut = cand.t
