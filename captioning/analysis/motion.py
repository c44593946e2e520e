"""Impacts from optical flow: :class:`MotionOnsetDetector`.

A moving thing that stops or turns back abruptly (a stick on a bar, a barbell on the floor, a door that slams)
makes the motion of the picture fall suddenly in the direction it was going. Following Davis & Agrawala's
"visual impact envelope" (Visual Rhythm and Beat, SIGGRAPH 2018: a spectral-flux-like measure on the
*directogram*, the flow magnitude binned by direction), each frame interval gets a directogram, and each
frame the motion it lost:

    u(t_k) = sum over directions of max(0, D_{k}(direction) - D_{k+1}(direction))

where ``D_k`` is the mean speed (short sides per second) of the picture moving in that direction over the
interval ending at frame ``k``. Motion that continues in its direction loses nothing; a stop or a reversal
loses all of it.

* Camera motion (pans, zooms, shake) is a global affine flow: it is fitted robustly on every interval and
  removed before the directogram.
* An impact is a local maximum of ``u`` over the frames beside it whose loss, with the larger of its two
  neighbours' (a contact between two frames splits its loss between them), reaches ``min_loss`` (an
  absolute floor, short sides per second averaged over the picture), and which is ``loss_ratio`` times the
  mean of ``u`` over the ``context_s`` seconds around it (the adaptive part: a shot full of motion needs a
  sharper stop).
  Slow swaying (trees, water) and a walker's body lose their motion gradually or a little at a time, and
  stay below both. The motion lost must also have been moving through the two intervals before the contact
  (at least :data:`MIN_APPROACH_SHARE` of it): motion that appears for one interval and vanishes (flickering
  lights, a picture that jumps for one frame) is not a stop.
* Timing: a contact inside a frame interval splits the loss between the frames on either side in
  proportion to where it fell (constant speed in, constant speed out), so the loss-weighted mean of the frame
  times gives the contact time between frames.
* Position: where the lost motion was at the frame of the contact (the loss-weighted pixels of the
  directions that lost it, at their end points), as fractions of width and height.
* A cut (a large change of the whole picture, :func:`~captioning.analysis.shots.signature_distance`) resets
  the state: nothing is measured across it. A frame repeated by frame-rate conversion (pulldown) is skipped,
  so its zero motion is not taken for a stop.

The state is two small grey frames, one flow field and about ``context_s`` seconds of loss values.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from captioning.analysis.shots import SMALL_SHORT_SIDE, FrameSignature, signature_distance, signature_of, small_picture
from captioning.analysis.types import VideoFrame, VisualOnset

#: Short side (px) of the grey frames the flow is computed on (the small copy shot cuts also use).
FLOW_SHORT_SIDE = SMALL_SHORT_SIDE
#: Direction bins of the directogram (4: right, down, left, up).
N_DIRECTIONS = 4
#: Frames closer than this (s) to the last analysed one are skipped (caps the cost at 30 frames a second).
MIN_STEP_S = 1 / 30 - 1e-3
#: Change score (0..1, :func:`signature_distance`) from which two consecutive frames are a cut.
CUT_DISTANCE = 0.45
#: A frame is a repeat of the previous one when its grey levels differ by less than this on average and
#: in 99.5 % of pixels by less than REPEAT_MAX_LEVEL (0..255 scale).
REPEAT_MEAN_LEVEL = 0.6
REPEAT_MAX_LEVEL = 6.0
#: Speed (short sides per second) that maps to strength 1 - 1/e.
STRENGTH_SPEED = 1.5
#: Share of a contact's loss that must have been moving through both intervals before it: something that moves
#: for one interval only and vanishes (lights flickering in a time-lapse, a picture that jumps for one frame) is
#: not a stop. Every drumstick hit of the Greatest Hits dev clips clears it (the lowest about 0.2); 5 of the 11
#: false stops of a night time-lapse (cityCC0, docs/benchmarks.md) do not.
MIN_APPROACH_SHARE = 0.15


def _dis() -> cv2.DISOpticalFlow:
    """OpenCV's DIS flow at its MEDIUM preset without variational refinement: 1.8 ms for a 228x128 pair on
    this machine, and on the dev clips as good at this as MEDIUM with it (3 ms) and better than FAST."""
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    dis.setVariationalRefinementIterations(0)
    return dis


@functools.lru_cache(maxsize=8)
def _affine_grid(h: int, w: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel coordinates of an (h, w) field (-0.5..0.5): x shape=(w,), y shape=(h,), and the affine basis
    (x, y, 1) at every ``step``-th pixel, shape=(n, 3) float64; read-only, made once per field size."""
    gx = (np.arange(w, dtype=np.float32) / w - 0.5)  # (w,)
    gy = (np.arange(h, dtype=np.float32) / h - 0.5)  # (h,)
    xs, ys = np.meshgrid(gx[::step], gy[::step])
    basis = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size, np.float32)], axis=1).astype(np.float64)  # (n, 3)
    for a in (gx, gy, basis):
        a.setflags(write=False)
    return gx, gy, basis


def camera_motion(flow: np.ndarray, step: int = 2, iterations: int = 4) -> np.ndarray:
    """The global affine flow (camera pan, zoom, rotation, shake) of a flow field, fitted robustly.

    Parameters:
        flow: shape=(h, w, 2) float32 displacement (dx, dy) in pixels.
        step: the fit reads every ``step``-th pixel in each direction.
        iterations: reweighted least-squares rounds (Huber weights: moving objects count less and less).

    Returns:
        shape=(h, w, 2) float32, the affine flow at every pixel.
    """
    h, w = flow.shape[:2]
    gx, gy, basis = _affine_grid(h, w, step)
    target = flow[::step, ::step].reshape(-1, 2).astype(np.float64)  # (n, 2)
    weights = np.ones(len(target))
    params: np.ndarray = np.zeros((3, 2))
    ridge = 1e-9 * np.eye(3)
    for _ in range(iterations):
        bw = basis * weights[:, None]
        params = np.linalg.solve(bw.T @ basis + ridge, bw.T @ target)  # (3, 2)
        d = target - basis @ params  # (n, 2)
        resid = np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2)
        scale = 2.0 * float(np.median(resid)) + 0.05
        weights = 1.0 / np.maximum(1.0, resid / scale)
    p = params.astype(np.float32)
    out: np.ndarray = gx[None, :, None] * p[0] + gy[:, None, None] * p[1] + p[2]  # (h, w, 2)
    return out


@dataclass
class _Interval:
    """The motion of the picture between two analysed frames (camera motion removed)."""

    t0: float
    t1: float
    hist: np.ndarray  # shape=(N_DIRECTIONS,) mean speed (short sides/s) moving in each direction
    bins: np.ndarray  # shape=(h, w) int the direction bin just below each pixel's direction
    frac: np.ndarray  # shape=(h, w) float32 share of the pixel's speed in the next bin up (soft binning)
    speed: np.ndarray  # shape=(h, w) float32 speed (short sides/s)
    end_x: np.ndarray  # shape=(h, w) float32 where each pixel's content is at t1, fraction of width
    end_y: np.ndarray  # shape=(h, w) float32 likewise, fraction of height


@dataclass
class _Loss:
    """The motion lost at one frame (time ``t``) and where."""

    t: float
    loss: float  # short sides/s, averaged over the picture
    x: float
    y: float
    lost_speed: float  # speed lost by what lost it (short sides/s), loss-weighted over its pixels
    approach: float | None = None  # of the loss, the motion that had lasted two intervals (None: no interval before)


class MotionOnsetDetector:
    """Impacts seen in the motion of the picture (a :class:`~captioning.analysis.types.FrameAnalyzer`).

    Parameters:
        fps: frames per second wanted; None (default) takes every decoded frame (frames closer than
            MIN_STEP_S are skipped inside).
        min_loss: absolute floor of the loss of a contact (short sides per second, averaged over the
            picture, over the two frames that share it): an object covering a tenth of the picture that
            stops from 1.5 short sides per second loses 0.15.
        loss_ratio: the loss must also be this many times the mean loss over ``context_s`` around it.
        context_s: length (s) of that window, centred; decisions wait ``context_s / 2``.

    ``finish()`` returns :class:`VisualOnset` objects (``kind="impact"``, ``analyzer="motion"``, ``track``
    None) in time order: ``t`` the contact time (s, between frames), ``x``/``y`` its position (0..1 of width
    and height), ``strength`` 0..1 from the speed lost (1 - exp(-speed / STRENGTH_SPEED)), ``confidence``
    0.5..1 from how far the loss passes both thresholds.

    Raises:
        ValueError: (constructor) a parameter is out of range; (``push``) a frame is not an RGB uint8 image.
    """

    name = "motion"

    def __init__(self, fps: float | None = None, *, min_loss: float = 0.15, loss_ratio: float = 2.5,
                 context_s: float = 1.0) -> None:
        if fps is not None and fps <= 0:
            raise ValueError(f"fps must be positive or None, got {fps}")
        if min_loss <= 0 or loss_ratio < 1 or context_s <= 0:
            raise ValueError(f"bad motion detector parameters: min_loss={min_loss} loss_ratio={loss_ratio} "
                             f"context_s={context_s}")
        self.fps = fps
        self.min_loss = min_loss
        self.loss_ratio = loss_ratio
        self.context_s = context_s
        self._dis = _dis()
        self._grey: np.ndarray | None = None  # last analysed frame, shape=(h, w) uint8
        self._t = float("-inf")
        self._sig: FrameSignature | None = None
        self._repeats = 0  # consecutive frames skipped as repeats
        self._interval: _Interval | None = None  # the last interval
        self._earlier: np.ndarray | None = None  # directogram of the interval before it
        self._losses: deque[_Loss] = deque()  # losses not yet decided, and context_s / 2 of decided ones
        self._decided_until = float("-inf")
        self._onsets: list[VisualOnset] = []

    # ---- frames ------------------------------------------------------------------------------------------

    def push(self, frame: VideoFrame) -> None:
        rgb = frame.rgb
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or min(rgb.shape[:2]) < 2:
            raise ValueError(f"expected an (h, w, 3) uint8 RGB frame, got shape={rgb.shape} dtype={rgb.dtype}")
        if frame.t - self._t < MIN_STEP_S and frame.t >= self._t:
            return
        grey = cv2.cvtColor(small_picture(frame), cv2.COLOR_RGB2GRAY)
        sig = signature_of(frame)  # shared with the shot detector
        prev = self._grey
        if prev is None or prev.shape != grey.shape or frame.t <= self._t or (
                self._sig is not None and signature_distance(self._sig, sig) >= CUT_DISTANCE):
            self._restart(grey, frame.t, sig)
            return
        if self._is_repeat(prev, grey):
            self._repeats += 1
            return
        self._repeats = 0
        interval = self._motion(prev, grey, self._t, frame.t)
        if self._interval is not None:
            self._losses.append(self._loss(self._interval, interval, self._earlier))
            self._decide(final=False)
        self._earlier = self._interval.hist if self._interval is not None else None
        self._interval = interval
        self._grey, self._t, self._sig = grey, frame.t, sig

    def finish(self) -> tuple[VisualOnset, ...]:
        self._decide(final=True)
        self._losses.clear()
        return tuple(self._onsets)

    def _restart(self, grey: np.ndarray, t: float, sig: FrameSignature) -> None:
        """Start afresh (first frame, cut, new size, time going back): decide what came before."""
        self._decide(final=True)
        self._losses.clear()
        self._interval = None
        self._earlier = None
        self._repeats = 0
        self._grey, self._t, self._sig = grey, t, sig

    def _is_repeat(self, prev: np.ndarray, grey: np.ndarray) -> bool:
        """A frame repeated by frame-rate conversion: the picture is the same while things were moving.

        Only one repeat in a row is skipped, so a picture that really stops is analysed from its second
        frame on.
        """
        if self._repeats >= 1 or self._interval is None or float(self._interval.hist.sum()) < 0.05:
            return False
        diff = cv2.absdiff(prev, grey)
        return float(diff.mean()) < REPEAT_MEAN_LEVEL and float(np.percentile(diff, 99.5)) < REPEAT_MAX_LEVEL

    def _motion(self, a: np.ndarray, b: np.ndarray, t0: float, t1: float) -> _Interval:
        full = np.asarray(self._dis.calc(a, b, None))  # type: ignore[call-overload]  # (h, w, 2) px, a -> b
        # the directogram is an average over the picture: every other pixel of the (smooth) flow is enough
        flow = np.ascontiguousarray(full[::2, ::2])  # (h/2, w/2, 2), still in pixels of a
        resid = flow - camera_motion(flow)
        h, w = flow.shape[:2]
        v = resid / (min(a.shape) * (t1 - t0))  # short sides per second
        speed = np.sqrt(v[..., 0] ** 2 + v[..., 1] ** 2)
        angle = np.arctan2(v[..., 1], v[..., 0])  # y down: pi/2 is downwards
        # soft binning (bin centres at left, up, right, down, ...): a diagonal is shared by its two
        # neighbours, so a motion along a bin edge is not split at random between them
        pos = (angle + np.pi) * (N_DIRECTIONS / (2 * np.pi))
        lower = np.floor(pos)
        frac = (pos - lower).astype(np.float32)
        bins = lower.astype(np.int64) % N_DIRECTIONS
        hist = (np.bincount(bins.ravel(), (speed * (1 - frac)).ravel(), N_DIRECTIONS)
                + np.bincount(((bins + 1) % N_DIRECTIONS).ravel(), (speed * frac).ravel(), N_DIRECTIONS)) / speed.size
        end_x = (2 * np.arange(w, dtype=np.float32)[None, :] + flow[..., 0]) / max(1, a.shape[1] - 1)
        end_y = (2 * np.arange(h, dtype=np.float32)[:, None] + flow[..., 1]) / max(1, a.shape[0] - 1)
        return _Interval(t0, t1, hist, bins, frac, speed.astype(np.float32), end_x, end_y)

    def _loss(self, before: _Interval, after: _Interval, earlier: np.ndarray | None) -> _Loss:
        """The motion lost at the frame between two intervals, and where it was; ``earlier``: the directogram
        of the interval before ``before`` (None after a restart)."""
        drop = np.maximum(0.0, before.hist - after.hist)  # (N_DIRECTIONS,)
        loss = float(drop.sum())
        # the part of the loss that was moving through both intervals before the frame (not a one-interval burst)
        approach = None if earlier is None else float(
            np.maximum(0.0, np.minimum(earlier, before.hist) - after.hist).sum())
        share = np.where(before.hist > 0, drop / np.maximum(before.hist, 1e-12), 0.0)  # lost share per direction
        px_share = (share[before.bins] * (1 - before.frac)
                    + share[(before.bins + 1) % N_DIRECTIONS] * before.frac)  # (h, w)
        lost = before.speed * px_share  # (h, w) speed each pixel lost
        wsum = float(lost.sum())
        if loss <= 0 or wsum <= 0:
            return _Loss(before.t1, 0.0, 0.5, 0.5, 0.0, approach)
        x = float(np.clip((lost * before.end_x).sum() / wsum, 0, 1))
        y = float(np.clip((lost * before.end_y).sum() / wsum, 0, 1))
        return _Loss(before.t1, loss, x, y, float((lost * lost).sum() / wsum), approach)

    # ---- decisions -----------------------------------------------------------------------------------------

    def _decide(self, *, final: bool) -> None:
        """Decide every loss whose context (``context_s / 2`` after it) has arrived, or all when ``final``."""
        losses = list(self._losses)
        if not losses:
            return
        half = self.context_s / 2
        latest = losses[-1].t
        times = np.array([p.t for p in losses])
        values = np.array([p.loss for p in losses])
        for i, p in enumerate(losses):
            if p.t <= self._decided_until:
                continue
            if not final and (p.t + half > latest or i + 1 >= len(losses)):
                break
            self._decided_until = p.t
            onset = self._onset_at(i, times, values, losses)
            if onset is not None:
                self._onsets.append(onset)
        while self._losses and self._losses[0].t < self._decided_until - half:
            self._losses.popleft()

    def _onset_at(self, i: int, times: np.ndarray, values: np.ndarray, losses: list[_Loss]) -> VisualOnset | None:
        lo, hi = max(0, i - 1), min(len(values), i + 2)
        if values[i] < values[lo:hi].max() or (i > 0 and values[i - 1] == values[i]):  # a plateau counts once
            return None
        # a contact between two frames splits its loss between them: judge the pair
        j = max((k for k in (i - 1, i + 1) if 0 <= k < len(values)), key=lambda k: values[k], default=i)
        u = float(values[i] + values[j]) if j != i else float(values[i])
        if u < self.min_loss:
            return None
        near = np.abs(times - times[i]) <= self.context_s / 2
        base = float(values[near].mean())
        if values[i] < self.loss_ratio * base:
            return None
        approach = losses[i].approach
        if approach is not None and approach < MIN_APPROACH_SHARE * values[i]:
            return None  # motion that came and went within one interval: a flicker or a jump, not a stop
        # the contact falls between the frames that share the loss: their loss-weighted mean time
        w = values[lo:hi]
        t = float((w * times[lo:hi]).sum() / w.sum())
        p = losses[i]
        certainty = (u / (u + self.min_loss)) * ((u / base) / (u / base + self.loss_ratio))
        return VisualOnset(
            t=round(t, 4), kind="impact", x=round(p.x, 3), y=round(p.y, 3),
            strength=round(float(1 - np.exp(-(p.lost_speed + (losses[j].lost_speed if j != i else 0.0))
                                             / STRENGTH_SPEED)), 3),
            confidence=round(float(np.sqrt(certainty)), 3), analyzer=self.name)
