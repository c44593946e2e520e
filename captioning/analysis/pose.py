"""Footsteps and hand claps from human pose: :class:`PoseStepDetector` over MediaPipe landmarks (:mod:`models.pose`).

The decisions are pure functions of a short landmark sequence (:func:`heel_strikes`, :func:`hand_claps`), so
they are tested on hand-built sequences; the analyzer only runs the model, keeps a sliding window of samples
and emits each event once.

Landmark sequences: ``t`` shape=(n,) media seconds, increasing (spacing may be irregular); ``landmarks``
shape=(n, 33, 4) (x, y, z, visibility) in MediaPipe's normalised image coordinates (x 0..1 of the width, y
0..1 of the height, downwards), NaN rows where no person was found; ``aspect`` = width / height of the
frames. Internally positions are in frame heights (x scaled by ``aspect``) and distances in torso lengths
(shoulder midpoint to hip midpoint), so thresholds do not depend on how large the person appears.

MediaPipe's video mode follows ONE person, so this sees one walker at a time (``track`` 0 on every onset).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from captioning.analysis.types import VideoFrame, VisualOnset
from captioning.errors import ModelLoadError
from models.pose import (
    LEFT_ANKLE,
    LEFT_FOOT_INDEX,
    LEFT_HEEL,
    LEFT_HIP,
    LEFT_INDEX,
    LEFT_PINKY,
    LEFT_SHOULDER,
    LEFT_WRIST,
    N_POSE_LANDMARKS,
    RIGHT_ANKLE,
    RIGHT_FOOT_INDEX,
    RIGHT_HEEL,
    RIGHT_HIP,
    RIGHT_INDEX,
    RIGHT_PINKY,
    RIGHT_SHOULDER,
    RIGHT_WRIST,
)

logger = logging.getLogger("captioning")

#: Frames per second the analyzer asks for: 12 fps puts 5-7 samples in a 0.5 s step at walking cadence and
#: bounds the heel-strike time to 83 ms before interpolation; the pose model costs 20-40 ms a frame.
DEFAULT_FPS = 12.0

# --- which samples describe a person well enough ---
MIN_BODY_VISIBILITY = 0.5  # shoulders and hips (MediaPipe visibility 0..1)
MIN_FOOT_VISIBILITY = 0.3  # mean of heel, ankle, toe: an occluded foot is still placed well (one outside the
# picture is not: see FRAME_MARGIN)
MIN_HAND_VISIBILITY = 0.5  # wrists
MIN_TORSO = 0.03  # frame heights: a smaller person (8 px torso at 256 px) is too few pixels for feet
MAX_TORSO = 0.6  # frame heights: a larger "person" is a close-up (feet not in the picture) or a hallucination
FRAME_MARGIN = 0.05  # landmarks further outside the picture (fraction of height) are the model's guesses
MAX_GAP_S = 0.6  # a longer hole between samples starts a new segment (nothing is tracked across it)
TELEPORT_TORSOS = 1.0  # a hip jump this large in one sample: a cut, or the tracker switched person
MAX_SCALE_RATIO = 1.4  # torso length changing by more than this between samples: the same
SCALE_WINDOW_S = 1.0  # the torso length used at a sample is the median over +-this (s) in its segment

# --- heel strikes ---
# Gait figures (Perry & Burnfield, "Gait Analysis", 2nd ed. 2010): stance is ~60 % of a stride, swing ~40 %;
# the swinging foot moves at ~2-3x walking speed. Free walking cadence is ~100-120 steps/min (0.5-0.6 s a
# step; Tudor-Locke et al. 2018, "How fast is fast enough?", Br J Sports Med 52:776), running ~160-190.
# Chaplin's shuffle in chaplin.mp4 puts 0.28 s between alternating steps, hence 0.25 s, not 0.3 s, below.
SWING_SPEED = 2.0  # torso lengths/s: peak speed of a real swing (walking: 4-8)
SETTLE_TORSOS = 0.2  # a foot is down where the next samples stay this close (landmark jitter: up to ~0.15)
# Durations, not sample counts, so the rules read the same walk alike at 8, 10, 15 or 30 fps (at 30 fps a
# swinging foot moves less than SETTLE_TORSOS from one sample to the next; over STANCE_S it does not).
STANCE_S = 0.15  # ... for this long (s; stance lasts 0.2 s running, 0.3-0.6 s walking; 2 samples at 10 fps);
STANCE_S_BETWEEN = 0.075  # both feet are down together for only ~0.1 s a step (walking; never when running)
SWING_TORSOS = 0.3  # a swing moves one foot at least this far (torso lengths) against the other
MIN_SWING_S = 0.15  # a swing lasts at least this long from start to landing (s; a swing lasts ~0.4 s) ...
MIN_STRAIGHTNESS = 0.6  # a swing's net displacement over its path length (a foot's arc: ~0.95)
MIN_SWING_S_BETWEEN = 0.25  # ... read between the feet, where MediaPipe's left/right flicker (a frontal
# person) looks like a swing: the feet trade places on screen, as they do for a walker the camera follows
LAND_TORSOS = 0.15  # at landing the foot is within this of its lowest point in the swing
MIN_STEP_S = 0.25  # two strikes closer than this (a sprint's 240 steps/min): only the larger swing counts
MAX_STEP_S = 1.2  # a strike needs the other foot's strike within this (50 steps/min): walking, not a shift
STRONG_SWING_SPEED = 8.0  # torso lengths/s: a swing this fast gives full strength from speed
FULL_SIZE_TORSO = 0.3  # frame heights: a walker this large (filling the picture) gives full strength from size

# --- claps ---
# Our estimates, not measured figures: a torso (shoulder to hip) is ~50 cm; clapping hands meet at ~1-3 m/s.
CLAP_CLOSE_TORSOS = 0.4  # hand centres closer than this (torso lengths) touch (palms ~5 cm apart, plus noise)
CLAP_SPEED = 3.0  # torso lengths/s: the hands close at least this fast
CLAP_OPEN_TORSOS = 0.3  # the hands were, and open again, at least this much further apart
CLAP_LOOK_S = 0.6  # how far back and ahead (s) the opening is looked for
CLAP_SHARE = 0.2  # each hand covers at least this fraction of the closing (a hand landmark jumping
# onto the other hand moves one hand only)
STRONG_CLAP_SPEED = 10.0  # torso lengths/s of closing for full strength

# --- the analyzer's window ---
WINDOW_S = 7.0  # seconds of samples kept
SETTLE_S = 2.0  # an event is final once this much later media time has been seen
HOP_S = 1.0  # the window is re-examined every this many seconds of media
PROBE_S = 0.5  # with nobody in the picture, the model looks again after this many seconds
ACTIVE_TORSOS = 0.3  # a foot moving, or the hands closing in, this far (torso lengths) between runs, or ...
ACTIVE_SPEED = 2.5  # ... this fast (torso lengths/s; a swing: 4-8), keep the model on every frame ...
ACTIVE_KEEP_S = 0.75  # ... for this long (s): through the still moments of a stride
MOVED_S = 0.2  # a person with still limbs whose box changes (gesturing, turning) is looked at this often (s)
IDLE_S = 0.25  # a person with still limbs is looked at this often (s) while the picture changes ...
HOLD_S = 0.5  # ... and this often while it does not
GATE_LEVEL = 12  # grey levels (0..255): a pixel changed by more than this moved ...
GATE_FRACTION = 0.02  # ... and the picture changed when this fraction of the person's box moved ...
GATE_CONTRAST = 2.0  # ... and the person moved when that is this many times what moved outside the box


@dataclass(frozen=True)
class Step:
    """One heel strike. ``foot``: 0 or 1, MediaPipe's left or right label (it mixes them up at times).

    ``x``, ``y``: the heel on screen (0..1 of width, height); ``strength``, ``confidence``: 0..1.
    """

    t: float
    foot: int
    x: float
    y: float
    strength: float
    confidence: float


@dataclass(frozen=True)
class Clap:
    """One hand clap at ``t``; ``x``, ``y``: where the hands meet (0..1); ``strength``, ``confidence``: 0..1."""

    t: float
    x: float
    y: float
    strength: float
    confidence: float


@dataclass(frozen=True)
class _Body:
    xy: np.ndarray  # (n, 33, 2) frame heights
    vis: np.ndarray  # (n, 33) visibility, 0 where missing
    ok: np.ndarray  # (n,) bool: a usable person
    segment: np.ndarray  # (n,) int segment id, -1 where not ok
    scale: np.ndarray  # (n,) torso length (frame heights), smoothed, NaN where not ok


def _body(t: np.ndarray, landmarks: np.ndarray, aspect: float) -> _Body:
    if landmarks.ndim != 3 or landmarks.shape[1:] != (N_POSE_LANDMARKS, 4) or landmarks.shape[0] != t.shape[0]:
        raise ValueError(f"expected landmarks of shape ({t.shape[0]}, 33, 4), got {landmarks.shape}")
    lm = landmarks.astype(np.float64)
    xy = lm[..., :2] * np.array([aspect, 1.0])  # (n, 33, 2)
    vis = np.nan_to_num(lm[..., 3], nan=0.0)
    hips = xy[:, [LEFT_HIP, RIGHT_HIP]].mean(axis=1)  # (n, 2)
    torso = np.linalg.norm(xy[:, [LEFT_SHOULDER, RIGHT_SHOULDER]].mean(axis=1) - hips, axis=1)
    with np.errstate(invalid="ignore"):
        ok = (np.isfinite(torso) & (vis[:, [LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP]].min(axis=1)
              >= MIN_BODY_VISIBILITY) & (torso >= MIN_TORSO) & (torso <= MAX_TORSO))
    segment = np.full(t.shape[0], -1)
    current, prev = -1, -1
    for i in map(int, np.flatnonzero(ok)):
        jump = prev >= 0 and (
            prev != i - 1 or t[i] - t[prev] > MAX_GAP_S
            or np.linalg.norm(hips[i] - hips[prev]) > TELEPORT_TORSOS * min(torso[i], torso[prev])
            or max(torso[i], torso[prev]) > MAX_SCALE_RATIO * min(torso[i], torso[prev]))
        if prev < 0 or jump:
            current += 1
        segment[i] = current
        prev = i
    scale = np.full(t.shape[0], np.nan)
    for i in map(int, np.flatnonzero(ok)):
        near = (segment == segment[i]) & (np.abs(t - t[i]) <= SCALE_WINDOW_S)
        scale[i] = float(np.median(torso[near]))
    return _Body(xy, vis, ok, segment, scale)


def _in_picture(p: np.ndarray, aspect: float) -> np.ndarray:
    """(n, 2) positions in frame heights -> (n,) bool: inside the picture, within FRAME_MARGIN."""
    m = FRAME_MARGIN
    with np.errstate(invalid="ignore"):
        return (p[:, 0] >= -m * aspect) & (p[:, 0] <= (1 + m) * aspect) & (p[:, 1] >= -m) & (p[:, 1] <= 1 + m)


def _feet(t: np.ndarray, body: _Body, aspect: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per foot: where it is, where its heel is (n, 2 feet, 2) and whether it is usable (n, 2).

    A foot's position is the mean of its heel, ankle and toe landmarks (steadier than the heel alone); a
    single unusable sample between two usable ones (a visibility dip) is interpolated. Labels are kept as
    MediaPipe gives them: its left/right mix-ups (a person facing the camera) flip them for single frames,
    which the swing rules reject (one-interval jumps, or out and back), and relabelling by continuity would
    also swap the feet of a walker whom the camera follows, whose feet cross symmetrically on screen.
    """
    legs = np.array([[LEFT_HEEL, LEFT_ANKLE, LEFT_FOOT_INDEX], [RIGHT_HEEL, RIGHT_ANKLE, RIGHT_FOOT_INDEX]])
    pts = body.xy[:, legs]  # (n, 2, 3, 2)
    usable = np.stack([
        body.ok & (body.vis[:, legs[f]].mean(axis=1) >= MIN_FOOT_VISIBILITY)
        & _in_picture(pts[:, f, 0], aspect) & _in_picture(pts[:, f, 2], aspect)
        for f in (0, 1)], axis=1)  # (n, 2)
    feet, heels = pts.mean(axis=2), pts[:, :, 0].copy()
    # one doubtful sample between two good ones of the same segment: interpolate rather than cut the run
    for i in range(1, pts.shape[0] - 1):
        for f in (0, 1):
            if (not usable[i, f] and usable[i - 1, f] and usable[i + 1, f]
                    and body.segment[i - 1] == body.segment[i + 1] >= 0 and body.segment[i] == body.segment[i - 1]):
                w = (t[i] - t[i - 1]) / (t[i + 1] - t[i - 1])
                feet[i, f] = (1 - w) * feet[i - 1, f] + w * feet[i + 1, f]
                heels[i, f] = (1 - w) * heels[i - 1, f] + w * heels[i + 1, f]
                usable[i, f] = True
    return feet, heels, usable


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of True in a 1-D bool array, as (first, last) inclusive index pairs."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


@dataclass(frozen=True)
class _Strike:
    t: float
    foot: int
    x: float
    y: float
    travel: float  # torso lengths the swing moved one foot against the other
    paired: bool  # read on the vector between the feet (right under any camera motion)
    speed: float  # peak swing speed, torso lengths/s
    visibility: float
    scale: float


def _settled(t: np.ndarray, track: np.ndarray, scale: np.ndarray, i: int, way: int, settle_s: float) -> bool:
    """Whether the samples within ``settle_s`` seconds after (``way`` 1) or before (-1) sample i, up to the
    first one at least that far, stay within SETTLE_TORSOS of it; False when no sample is that far."""
    if way > 0:
        j = int(np.searchsorted(t, t[i] + settle_s - 1e-6))  # first sample at or after t[i] + settle_s
        if j >= t.shape[0]:
            return False
        near = track[i:j + 1]
    else:
        j = int(np.searchsorted(t, t[i] - settle_s + 1e-6, side="right")) - 1  # last at or before t[i] - settle_s
        if j < 0:
            return False
        near = track[j:i + 1]
    return bool(np.linalg.norm(near - track[i], axis=1).max() <= SETTLE_TORSOS * scale[i])


def _landings(t: np.ndarray, track: np.ndarray, scale: np.ndarray, min_swing_s: float, settle_s: float,
              ) -> list[tuple[int, int, float]]:
    """Swings along a trajectory (m, 2) in frame heights: (start sample, landing sample, peak speed).

    A swing peaks at SWING_SPEED torso lengths/s or more, between two settled places: it starts at the last
    sample before the peak and lands at the first sample after it that the samples of the next ``settle_s``
    seconds stay near (SETTLE_TORSOS; landmark jitter does not unsettle a planted foot). It lasts at least
    ``min_swing_s`` from start to landing and goes somewhere (net displacement at least MIN_STRAIGHTNESS of its path:
    landmarks flickering between two places go back and forth). Swings whose start or landing is not seen
    are left out, so a swing is found alike in any window of samples that holds it.
    """
    step = np.linalg.norm(np.diff(track, axis=0), axis=1)  # (m - 1,) interval j joins samples j and j + 1
    speed = step / np.maximum(np.diff(t), 1e-6) / scale[1:]
    n = speed.shape[0]
    best: dict[int, tuple[int, int, float]] = {}
    for j in range(n):
        if speed[j] < SWING_SPEED or (j > 0 and speed[j - 1] > speed[j]) or (j + 1 < n and speed[j + 1] >= speed[j]):
            continue  # not a peak
        k = next((i for i in range(j + 1, n + 1) if _settled(t, track, scale, i, 1, settle_s)), None)
        a = next((i for i in range(j, -1, -1) if _settled(t, track, scale, i, -1, settle_s)), None)
        if k is None or a is None or t[k] - t[a] < min_swing_s - 1e-6:
            continue
        if np.linalg.norm(track[k] - track[a]) < MIN_STRAIGHTNESS * step[a:k].sum():
            continue  # back and forth: landmarks flickering between two places, not a foot going somewhere
        if k not in best or best[k][2] < speed[j]:
            best[k] = (a, k, float(speed[j]))
    return [best[k] for k in sorted(best)]


def _contact(t: np.ndarray, track: np.ndarray, k: int) -> float:
    """Contact time between samples k-1 and k: the last stretch covered at the speed the track came in with."""
    last = float(np.linalg.norm(track[k] - track[k - 1]))
    incoming = float(np.linalg.norm(track[k - 1] - track[k - 2])) / (t[k - 1] - t[k - 2])
    dt = t[k] - t[k - 1]
    return float(t[k - 1] + (min(1.0, last / incoming / dt) if incoming > 0 else 0.5) * dt)


def _pieces(mask: np.ndarray, segment: np.ndarray) -> list[np.ndarray]:
    """Index arrays of the runs of True in ``mask`` (n,), split where the segment id changes."""
    out = []
    for a, b in _runs(mask):
        idx = np.arange(a, b + 1)
        out += [idx[segment[idx] == seg] for seg in np.unique(segment[idx])]
    return out


def _strikes(t: np.ndarray, body: _Body, feet: np.ndarray, heels: np.ndarray, usable: np.ndarray,
             aspect: float) -> list[_Strike]:
    """Candidate strikes: feet and heels (n, 2 feet, 2) in frame heights, usable (n, 2).

    Two readings, merged by the caller: each foot's own trajectory (a still camera: the foot settles on the
    ground, even when running with no moment with both feet down), and the vector between the feet, which
    a camera pan, zoom or a camera following the walker leaves alone (it holds while both feet are down).
    Either way the swing must move one foot SWING_TORSOS or more against the other (a pan moves both alike),
    and the foot must land at its lowest point of the swing (its downward motion ended on the ground).
    """
    between = feet[:, 0] - feet[:, 1]  # (n, 2)
    both: np.ndarray = np.all(usable, axis=1)  # (n,)
    heel_vis = body.vis[:, [LEFT_HEEL, RIGHT_HEEL]]
    found: list[tuple[int, int, float, int, np.ndarray]] = []  # (start, landing, peak speed, foot, track)
    for foot in (0, 1):
        for idx in _pieces(usable[:, foot], body.segment):
            found += [(idx[a], idx[k], peak, foot, feet[:, foot])
                      for a, k, peak in _landings(t[idx], feet[idx, foot], body.scale[idx], MIN_SWING_S,
                                                  STANCE_S)]
    for idx in _pieces(both, body.segment):
        for a, k, peak in _landings(t[idx], between[idx], body.scale[idx], MIN_SWING_S_BETWEEN,
                                    STANCE_S_BETWEEN):
            # the swinging foot moved more on screen (exactly so with a still camera)
            foot = int(np.argmax(np.linalg.norm(feet[idx[k]] - feet[idx[a]], axis=1)))
            found.append((idx[a], idx[k], peak, foot, between))
    out = []
    for a, k, peak, foot, track in found:
        scale = body.scale[k]
        if not (both[a] and both[k]):
            continue  # the other foot unseen: a pan could pass for a swing
        travel = float(np.linalg.norm(between[k] - between[a]) / scale)
        if travel < SWING_TORSOS or feet[k, foot, 1] < np.max(feet[a:k + 1, foot, 1]) - LAND_TORSOS * scale:
            continue  # a shuffle, or the foot is not down at its lowest point
        out.append(_Strike(_contact(t, track, k), foot, float(heels[k, foot, 0] / aspect), float(heels[k, foot, 1]),
                           travel, track is between, peak, float(heel_vis[k - 1:k + 1, foot].mean()), float(scale)))
    return out


def heel_strikes(t: np.ndarray, landmarks: np.ndarray, aspect: float) -> list[Step]:
    """Heel strikes of a walking person in a landmark sequence.

    A foot strikes where its swing ends: a trajectory leaves a settled place, moves fast (peak >= SWING_SPEED
    torso lengths/s, lasting at least MIN_SWING_S) and somewhere, and settles again (see
    :func:`_landings`). Each foot's trajectory is read, and the vector between the feet (camera motion
    leaves it alone; see :func:`_strikes`); the swing must move one foot SWING_TORSOS or more against the
    other, and the foot land at its lowest point of the swing. The strike time is interpolated between
    the two samples around the landing, assuming the foot covered the last stretch at the speed it came
    in with.
    Walking evidence: a strike counts only with a strike of the OTHER foot MIN_STEP_S..MAX_STEP_S
    (0.25-1.2 s) before or after it (alternating feet at a plausible cadence); of two strikes closer than
    MIN_STEP_S, one is kept (see the ranking below). A person standing still, shifting weight or
    gesturing, or whose legs MediaPipe mixes up for a frame, gives no steps.

    Parameters:
        t: shape=(n,) media seconds, increasing.
        landmarks: shape=(n, 33, 4) MediaPipe pose landmarks (x, y, z, visibility), normalised image
            coordinates; NaN rows (or low visibility) where there is no usable person.
        aspect: frame width / height.

    Returns:
        Steps in time order; ``x`` follows the striking heel (pan), ``strength`` grows with the swing's speed
        and the walker's size on screen, ``confidence`` with the heel's visibility and alternating neighbours.

    Raises:
        ValueError: ``landmarks`` does not have shape (n, 33, 4).
    """
    body = _body(t, landmarks, aspect)
    feet, heels, usable = _feet(t, body, aspect)
    cands = sorted(_strikes(t, body, feet, heels, usable, aspect), key=lambda c: c.t)
    # a total order: a reading between the feet first (a foot's own reading is off when the camera moves),
    # then the larger swing
    rank = {id(c): (c.paired, c.travel, -c.t, -i) for i, c in enumerate(cands)}
    kept = [c for c in cands if not any(
        abs(o.t - c.t) < MIN_STEP_S and rank[id(o)] > rank[id(c)] for o in cands)]
    steps = []
    for c in kept:
        partners = [o for o in kept if o.foot != c.foot and MIN_STEP_S <= abs(o.t - c.t) <= MAX_STEP_S]
        if not partners:
            continue
        sides = len({o.t > c.t for o in partners})  # 1: a neighbour on one side, 2: on both
        speed_term = min(1.0, c.speed / STRONG_SWING_SPEED)
        size_term = min(1.0, c.scale / FULL_SIZE_TORSO)
        strength = min(1.0, 0.2 + 0.5 * speed_term + 0.3 * size_term)
        confidence = min(1.0, c.visibility) * (0.5 + 0.25 * sides)
        steps.append(Step(c.t, c.foot, c.x, c.y, round(strength, 3), round(confidence, 3)))
    return steps


def _hand_centres(body: _Body) -> np.ndarray:
    """(n, 2 hands, 2) frame heights: the mean of each hand's wrist, index and pinky landmarks."""
    return np.stack([body.xy[:, [LEFT_WRIST, LEFT_INDEX, LEFT_PINKY]].mean(axis=1),
                     body.xy[:, [RIGHT_WRIST, RIGHT_INDEX, RIGHT_PINKY]].mean(axis=1)], axis=1)


def hand_claps(t: np.ndarray, landmarks: np.ndarray, aspect: float) -> list[Clap]:
    """Hand claps in a landmark sequence.

    Each hand's centre is the mean of its wrist, index and pinky landmarks. A clap is a minimum of the
    distance between the centres (torso lengths) below CLAP_CLOSE_TORSOS, reached after two sampled
    intervals of closing (the faster at >= CLAP_SPEED torso lengths/s, the slower at a third of that), with
    both hands moving in (CLAP_SHARE each), and the hands at least CLAP_OPEN_TORSOS further apart both
    within CLAP_LOOK_S before and after (they came together, then opened). Hands that drift together
    slowly, meet and stay, or one hand's landmarks jumping onto the other are not claps. The contact time
    is interpolated as for heel strikes. At 12 fps, claps faster than about 3 a second are not resolved.

    Parameters, errors: as :func:`heel_strikes`.

    Returns:
        Claps in time order; ``x``, ``y`` where the hands meet.
    """
    body = _body(t, landmarks, aspect)
    hands = _hand_centres(body)
    usable = (body.ok & (body.vis[:, [LEFT_WRIST, RIGHT_WRIST]].min(axis=1) >= MIN_HAND_VISIBILITY)
              & _in_picture(hands[:, 0], aspect) & _in_picture(hands[:, 1], aspect))
    claps: list[Clap] = []
    for a, b in _runs(usable):
        for seg in np.unique(body.segment[a:b + 1]):
            idx = np.arange(a, b + 1)[body.segment[a:b + 1] == seg]
            claps += _claps_in_run(t[idx], hands[idx], body.scale[idx], body.vis[idx][:, [LEFT_WRIST, RIGHT_WRIST]],
                                   aspect)
    return sorted(claps, key=lambda c: c.t)


def _claps_in_run(t: np.ndarray, hands: np.ndarray, scale: np.ndarray, vis: np.ndarray,
                  aspect: float) -> list[Clap]:
    """Claps along one unbroken run: hand centres (m, 2 hands, 2) frame heights, scale (m,), wrist vis (m, 2)."""
    out: list[Clap] = []
    d = np.linalg.norm(hands[:, 0] - hands[:, 1], axis=1) / scale  # (m,) torso lengths
    closing = -np.diff(d) / np.diff(t)  # (m - 1,) torso lengths/s, interval j joins samples j and j + 1
    for k in range(2, d.shape[0] - 1):
        if not (d[k] <= CLAP_CLOSE_TORSOS and d[k] < d[k - 1] and d[k + 1] > d[k] - 0.01):
            continue  # not where the hands stop closing
        # seen closing over two intervals, fast: one bad frame (a hand put on the other) is not a clap
        if min(closing[k - 2], closing[k - 1]) < CLAP_SPEED / 3 or max(closing[k - 2], closing[k - 1]) < CLAP_SPEED:
            continue
        before = (t >= t[k] - CLAP_LOOK_S) & (t < t[k])
        after = (t > t[k]) & (t <= t[k] + CLAP_LOOK_S)
        if d[before].max() < d[k] + CLAP_OPEN_TORSOS or d[after].max() < d[k] + CLAP_OPEN_TORSOS:
            continue
        # both hands move in: each covers at least CLAP_SHARE of the closing
        gap = hands[k - 2, 1] - hands[k - 2, 0]
        toward = gap / max(float(np.linalg.norm(gap)), 1e-9)  # unit vector from hand 0 to hand 1
        moved = np.array([np.dot(hands[k, 0] - hands[k - 2, 0], toward), np.dot(hands[k - 2, 1] - hands[k, 1], toward)])
        if moved.min() < CLAP_SHARE * moved.sum():
            continue
        dt = t[k] - t[k - 1]
        frac = min(1.0, (d[k - 1] - d[k]) / closing[k - 2] / dt)
        centre = hands[k].mean(axis=0)
        speed = max(closing[k - 2], closing[k - 1])
        strength = min(1.0, 0.3 + 0.7 * speed / STRONG_CLAP_SPEED)
        confidence = float(min(1.0, vis[k - 1:k + 1].mean()))
        out.append(Clap(float(t[k - 1] + frac * dt), float(centre[0] / aspect), float(centre[1]),
                        round(float(strength), 3), round(confidence, 3)))
    return out


#: A pose tracker: RGB uint8 frame (h, w, 3) -> (33, 4) landmarks or None (see models.pose.PoseTracker).
Tracker = Callable[[np.ndarray], np.ndarray | None]


def _grey(rgb: np.ndarray) -> np.ndarray:
    """Grey image at half resolution, int16, for the picture gate: shape=(h // 2, w // 2)."""
    small = rgb[::2, ::2].astype(np.int16)
    out: np.ndarray = (small[..., 0] + 2 * small[..., 1] + small[..., 2]) // 4
    return out


def moved_fraction(before: np.ndarray, after: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, float]:
    """Fractions of pixels inside and outside ``box`` (x0, y0, x1, y1, pixels) that changed by more than
    GATE_LEVEL between two grey images of the same shape; 1.0 for an empty region."""
    x0, y0, x1, y1 = box
    changed = np.abs(after - before) > GATE_LEVEL
    inside = changed[y0:y1, x0:x1]
    n_out = changed.size - inside.size
    return (float(inside.mean()) if inside.size else 1.0,
            float(changed.sum() - inside.sum()) / n_out if n_out else 1.0)


def limbs_moving(before: np.ndarray, after: np.ndarray, dt: float, aspect: float) -> bool:
    """Whether a usable foot moved (on screen or against the other), or the hands closed in, between two
    landmark sets (shape=(33, 4) each, ``dt`` s apart): by ACTIVE_TORSOS, or at ACTIVE_SPEED torso
    lengths/s. True when the person is not usable in either (be safe: keep sampling)."""
    t = np.array([0.0, dt])
    landmarks = np.stack([before, after])
    body = _body(t, landmarks, aspect)
    if not body.ok.all() or body.segment[0] != body.segment[1]:
        return True
    limit = min(ACTIVE_TORSOS, ACTIVE_SPEED * dt) * body.scale[1]
    feet, _, usable = _feet(t, body, aspect)
    both = usable.all(axis=0)  # (2,) feet seen in both
    if both.any() and np.linalg.norm(feet[1, both] - feet[0, both], axis=1).max() >= limit:
        return True
    if both.all() and np.linalg.norm((feet[1, 0] - feet[1, 1]) - (feet[0, 0] - feet[0, 1])) >= limit:
        return True  # the feet moved against each other (a camera following a walker)
    hands = _hand_centres(body)  # (2, 2 hands, 2)
    gaps = np.linalg.norm(hands[:, 0] - hands[:, 1], axis=1)
    return bool(gaps[0] - gaps[1] >= limit)


class PoseStepDetector:
    """Frame analyzer: footsteps and hand claps of the person MediaPipe tracks (one person at a time).

    Follows :class:`captioning.analysis.types.FrameAnalyzer`: ``push`` each frame at about ``fps``, then
    ``finish`` returns the onsets (kind "footstep" or "clap", analyzer "pose", ``track`` 0) in time order.
    State is bounded: the last WINDOW_S seconds of landmarks and one grey frame.

    The model (20-40 ms a frame on this machine's CPU) does not run on every frame it is given:

    * nobody in the picture: it looks again every PROBE_S;
    * a person moving a foot or bringing the hands together (:func:`limbs_moving`): every frame, until
      ACTIVE_KEEP_S after the last such movement;
    * a person whose feet and hands were still: every MOVED_S while the person's box changes more than the
      rest of the picture (:func:`moved_fraction`: gesturing, turning, or starting to walk: the first swing
      then turns the model on for every frame); every IDLE_S while the whole
      picture changes alike (a moving camera, film weave), so that a first step is still seen; every
      HOLD_S while the picture is still.

    Skipped frames add no sample (the decisions take irregular spacing). ``motion_gate=False`` runs the
    model on every frame.

    Parameters:
        fps: frames per second wanted (default DEFAULT_FPS).
        tracker: a pose tracker to use instead of MediaPipe's (tests); called on each RGB frame, returns
            landmarks of shape (33, 4) or None.
        motion_gate: skip the model where nothing relevant can have changed (above).

    Raises:
        ModelLoadError: (from the first ``push``) MediaPipe or its pose model is not installed.
    """

    name = "pose"

    def __init__(self, fps: float = DEFAULT_FPS, *, tracker: Tracker | None = None,
                 motion_gate: bool = True) -> None:
        self.fps: float | None = fps
        self._tracker = tracker
        self._owns_tracker = tracker is None
        self._gate = motion_gate
        self._t: deque[float] = deque()
        self._lm: deque[np.ndarray] = deque()
        self._aspect = 1.0
        self._last_run = float("-inf")
        self._last: np.ndarray | None = None  # landmarks of the last model run
        self._active_until = float("inf")  # the model runs on every frame until then
        self._grey_ref: np.ndarray | None = None  # grey frame of the last model run
        self._next_check = float("-inf")
        self._done_until = float("-inf")  # events at or before this time are already out
        self._onsets: list[VisualOnset] = []
        self.model_runs = 0
        self.frames = 0

    def _model(self, rgb: np.ndarray) -> np.ndarray | None:
        if self._tracker is None:
            from models.errors import ModelUnavailableError
            from models.pose import load_pose

            try:
                # unsmoothed: MediaPipe's filter lags heel strikes and smears left/right mix-ups (see _feet)
                self._tracker = load_pose().pose_tracker(smooth=False)
            except ModelUnavailableError as e:
                raise ModelLoadError(str(e)) from e
        self.model_runs += 1
        return self._tracker(rgb)

    @staticmethod
    def _box(landmarks: np.ndarray, h: int, w: int) -> tuple[int, int, int, int]:
        """The person's bounding box in pixels of an (h, w) image, grown by a quarter of its size."""
        pts = landmarks[:, :2]
        lo, hi = np.nanmin(pts, axis=0), np.nanmax(pts, axis=0)
        pad = (hi - lo) * 0.25
        x0, y0 = np.clip(lo - pad, 0, 1)
        x1, y1 = np.clip(hi + pad, 0, 1)
        return int(x0 * w), int(y0 * h), int(np.ceil(x1 * w)), int(np.ceil(y1 * h))

    def _run_needed(self, t: float, grey: np.ndarray) -> bool:
        since = t - self._last_run + 1e-6
        if self._last is None:
            return since >= PROBE_S
        if t < self._active_until:
            return True
        if self._grey_ref is None or self._grey_ref.shape != grey.shape:
            return True
        inside, outside = moved_fraction(self._grey_ref, grey, self._box(self._last, *grey.shape))
        if inside < GATE_FRACTION:
            return since >= HOLD_S
        if inside >= GATE_FRACTION + GATE_CONTRAST * outside:
            return since >= MOVED_S  # the person moved, the rest of the picture did not (as much)
        return since >= IDLE_S  # everything changes: the camera moves, or film weave and grain

    def push(self, frame: VideoFrame) -> None:
        """Analyse one frame (frames must come in time order)."""
        self.frames += 1
        h, w = frame.rgb.shape[:2]
        self._aspect = w / h
        grey = _grey(frame.rgb) if self._gate else None
        if grey is None or self._run_needed(frame.t, grey):
            landmarks = self._model(frame.rgb)
            if landmarks is not None and self._last is not None:
                if limbs_moving(self._last, landmarks, frame.t - self._last_run, self._aspect):
                    self._active_until = frame.t + ACTIVE_KEEP_S
            else:
                self._active_until = frame.t + ACTIVE_KEEP_S
            self._last, self._last_run, self._grey_ref = landmarks, frame.t, grey
            self._t.append(frame.t)
            self._lm.append(landmarks if landmarks is not None else
                            np.full((N_POSE_LANDMARKS, 4), np.nan, np.float32))
        if frame.t >= self._next_check:
            self._examine(final=False)
            self._next_check = frame.t + HOP_S

    def _examine(self, *, final: bool) -> None:
        if not self._t:
            return
        t = np.fromiter(self._t, np.float64, len(self._t))
        landmarks = np.stack(self._lm)  # (n, 33, 4)
        horizon = float("inf") if final else t[-1] - SETTLE_S
        for s in heel_strikes(t, landmarks, self._aspect):
            if self._done_until < s.t <= horizon:
                self._onsets.append(VisualOnset(s.t, "footstep", s.x, s.y, s.strength, s.confidence, self.name, 0))
        for c in hand_claps(t, landmarks, self._aspect):
            if self._done_until < c.t <= horizon:
                self._onsets.append(VisualOnset(c.t, "clap", c.x, c.y, c.strength, c.confidence, self.name, 0))
        self._done_until = max(self._done_until, horizon)
        while self._t and self._t[0] < t[-1] - WINDOW_S:
            self._t.popleft()
            self._lm.popleft()

    def finish(self) -> tuple[VisualOnset, ...]:
        """The footsteps and claps seen, in time order; closes the tracker this analyzer opened."""
        self._examine(final=True)
        if self._owns_tracker and self._tracker is not None:
            close = getattr(self._tracker, "close", None)
            if close is not None:
                close()
            self._tracker = None
        logger.debug("pose: model ran on %d of %d frames", self.model_runs, self.frames)
        return tuple(sorted(self._onsets, key=lambda o: o.t))
