"""Footsteps and claps from pose (issue 10): the decision logic on hand-built landmark sequences with known
answers, the analyzer's plumbing with a fake tracker, and (slow) the real MediaPipe wrapper."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from captioning.analysis.pose import (
    MAX_STEP_S,
    WINDOW_S,
    PoseStepDetector,
    hand_claps,
    heel_strikes,
)
from captioning.analysis.types import FrameAnalyzer, VideoFrame, VisualOnset
from models import pose as mp_pose

FPS = 12.0
FRAME = 1.0 / FPS
ASPECT = 16 / 9
H, W = 144, 256  # frames the fake tracker is called on
TORSO = 0.25  # frame heights
GROUND = 0.9  # heel y when planted

# --- hand-built people (x in frame widths, y in frame heights, as MediaPipe returns them) ---


def _person(hip_x: float, *, hip_y: float = GROUND - 0.3) -> np.ndarray:
    """A standing person facing sideways: shape (33, 4), visibility 0.95 everywhere."""
    lm = np.zeros((33, 4), np.float64)
    lm[:, 3] = 0.95
    dx = 0.03 / ASPECT  # half hip/shoulder width, in frame widths
    lm[:, 0] = hip_x
    lm[:, 1] = hip_y - TORSO - 0.08  # head
    for left, right, y in ((mp_pose.LEFT_SHOULDER, mp_pose.RIGHT_SHOULDER, hip_y - TORSO),
                           (mp_pose.LEFT_HIP, mp_pose.RIGHT_HIP, hip_y)):
        lm[left, :2] = hip_x - dx, y
        lm[right, :2] = hip_x + dx, y
    for i in (mp_pose.LEFT_ELBOW, mp_pose.RIGHT_ELBOW):
        lm[i, 1] = hip_y - 0.12
    for i in (mp_pose.LEFT_WRIST, mp_pose.RIGHT_WRIST, mp_pose.LEFT_INDEX, mp_pose.RIGHT_INDEX,
              mp_pose.LEFT_PINKY, mp_pose.RIGHT_PINKY, mp_pose.LEFT_THUMB, mp_pose.RIGHT_THUMB):
        lm[i, 1] = hip_y + 0.02
    for foot in (0, 1):
        _place_foot(lm, foot, hip_x + (dx if foot else -dx), GROUND)
    return lm


LEGS = ((mp_pose.LEFT_HEEL, mp_pose.LEFT_ANKLE, mp_pose.LEFT_FOOT_INDEX, mp_pose.LEFT_KNEE, mp_pose.LEFT_HIP),
        (mp_pose.RIGHT_HEEL, mp_pose.RIGHT_ANKLE, mp_pose.RIGHT_FOOT_INDEX, mp_pose.RIGHT_KNEE, mp_pose.RIGHT_HIP))


def _place_foot(lm: np.ndarray, foot: int, heel_x: float, heel_y: float) -> None:
    heel, ankle, toe, knee, hip = LEGS[foot]
    lm[heel, :2] = heel_x, heel_y
    lm[ankle, :2] = heel_x + 0.01 / ASPECT, heel_y - 0.03
    lm[toe, :2] = heel_x + 0.05 / ASPECT, heel_y
    lm[knee, :2] = (lm[hip, 0] + heel_x) / 2 + 0.01, (lm[hip, 1] + heel_y) / 2


def walker(duration_s: float, strikes_from_s: float = 0.6, step_s: float = 0.55, speed: float = 0.3,
           x0: float = 0.05, swing_fraction: float = 0.8, fps: float = FPS, follow: bool = False,
           ) -> tuple[np.ndarray, np.ndarray, list[tuple[float, int]]]:
    """A person walking right at ``speed`` frame heights/s, feet striking alternately every ``step_s``.

    Each foot swings for ``swing_fraction`` of a step before its strike: moving at constant speed, up for
    the first half and down for the second, then stops dead (the strike). ``follow``: the camera pans with
    the walker (who stays at ``x0`` on screen). Returns (t, landmarks (n, 33, 4), [(strike time, foot)]).
    """
    t = np.arange(0.0, duration_s, 1 / fps)
    strikes = []
    s, foot = strikes_from_s, 0
    while s < duration_s:
        strikes.append((s, foot))
        s, foot = s + step_s, 1 - foot
    swing_s = swing_fraction * step_s
    step_len = speed * step_s  # frame heights the body moves per step

    def landing(s: float) -> float:  # a foot lands half a step ahead of the hips
        return x0 + (speed * s + step_len / 2) / ASPECT

    landmarks = np.empty((t.shape[0], 33, 4))
    for i, ti in enumerate(t):
        lm = _person(x0 + speed * ti / ASPECT)
        for f in (0, 1):
            mine = [s for s, g in strikes if g == f]
            done = [s for s in mine if s <= ti]
            planted = landing(done[-1]) if done else landing(mine[0]) - 2 * step_len / ASPECT
            nxt = [s for s in mine if s > ti]
            if nxt and ti > nxt[0] - swing_s:
                u = (ti - (nxt[0] - swing_s)) / swing_s  # 0..1 through the swing
                x = planted + u * (landing(nxt[0]) - planted)
                y = GROUND - 0.06 * (1 - abs(2 * u - 1))
            else:
                x, y = planted, GROUND
            _place_foot(lm, f, x, y)
        if follow:
            lm[:, 0] -= speed * ti / ASPECT
        landmarks[i] = lm
    return t, landmarks, strikes


def still(duration_s: float, jitter: float = 0.003, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A person standing still, every landmark jittering by ``jitter`` frame heights (Gaussian)."""
    t = np.arange(0.0, duration_s, FRAME)
    rng = np.random.default_rng(seed)
    lm = np.repeat(_person(0.5)[None], t.shape[0], axis=0)
    lm[..., :2] += rng.normal(0.0, jitter, lm[..., :2].shape)
    return t, lm


def clapper(duration_s: float, claps_s: tuple[float, ...], speed: float = 1.2, open_h: float = 0.25,
            hold_s: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """A standing person whose hands (mid-chest) meet at ``claps_s``: apart ``open_h`` frame heights, closing
    and opening at ``speed`` frame heights/s, touching for ``hold_s``."""
    t = np.arange(0.0, duration_s, FRAME)
    lm = np.repeat(_person(0.5)[None], t.shape[0], axis=0)
    travel = open_h / speed
    for i, ti in enumerate(t):
        gap = open_h
        for c in claps_s:
            if c - travel <= ti < c:
                gap = open_h - speed * (ti - (c - travel))
            elif c <= ti < c + hold_s:
                gap = 0.0
            elif c + hold_s <= ti < c + hold_s + travel:
                gap = speed * (ti - c - hold_s)
        for side, pts in ((-1, (mp_pose.LEFT_WRIST, mp_pose.LEFT_INDEX, mp_pose.LEFT_PINKY)),
                          (1, (mp_pose.RIGHT_WRIST, mp_pose.RIGHT_INDEX, mp_pose.RIGHT_PINKY))):
            for p in pts:
                lm[i, p, :2] = 0.5 + side * gap / 2 / ASPECT, GROUND - 0.45
    return t, lm


# --- heel strikes ---


def test_walker_steps_at_the_known_times_alternating_with_pan_following() -> None:
    t, lm, truth = walker(5.0)
    steps = heel_strikes(t, lm, ASPECT)
    swing_s = 0.8 * 0.55
    expected = [(s, f) for s, f in truth if s - swing_s > t[0] and s < t[-1] - 2 * FRAME]  # seen whole
    assert len(steps) == len(expected)
    for step, (s, _) in zip(steps, expected, strict=True):
        assert abs(step.t - s) <= FRAME
    feet = [s.foot for s in steps]
    assert all(a != b for a, b in zip(feet, feet[1:], strict=False))
    xs = [s.x for s in steps]
    assert all(b > a for a, b in zip(xs, xs[1:], strict=False))  # pan follows the walker to the right
    hip_x = [float(np.interp(s.t, t, lm[:, mp_pose.LEFT_HIP, 0])) for s in steps]
    assert all(abs(x - h) < 0.15 for x, h in zip(xs, hip_x, strict=True))
    assert all(0.0 < s.strength <= 1.0 and 0.0 < s.confidence <= 1.0 for s in steps)


@pytest.mark.parametrize(("step_s", "speed", "follow"), [(0.3, 0.6, False), (0.55, 0.3, True), (0.9, 0.3, True),
                                                       (1.1, 0.25, True)])
def test_cadences_from_running_to_slow_walking(step_s: float, speed: float, follow: bool) -> None:
    duration = 8.0 if follow else 2.6  # a runner crosses the picture in 2.6 s
    t, lm, truth = walker(duration, step_s=step_s, speed=speed, x0=0.5 if follow else 0.05, follow=follow)
    steps = heel_strikes(t, lm, ASPECT)
    assert len(steps) >= len(truth) - 2
    for step in steps:
        assert min(abs(step.t - s) for s, _ in truth) <= FRAME


def test_camera_following_the_walker_still_gives_the_steps() -> None:
    t, lm, truth = walker(8.0, x0=0.5, follow=True)
    steps = heel_strikes(t, lm, ASPECT)
    assert len(steps) == len([s for s, _ in truth if s - 0.44 > 0 and s < t[-1] - 2 * FRAME])
    assert all(min(abs(step.t - s) for s, _ in truth) <= FRAME for step in steps)
    assert all(abs(step.x - 0.5) < 0.15 for step in steps)


def test_irregular_frame_times_are_interpolated() -> None:
    t, lm, truth = walker(5.0, fps=25.0)
    rng = np.random.default_rng(3)
    keep = np.sort(rng.choice(t.shape[0], size=t.shape[0] // 2, replace=False))  # ~12.5 fps, uneven
    steps = heel_strikes(t[keep], lm[keep], ASPECT)
    assert len(steps) >= 6
    for step in steps:
        gaps = np.diff(t[keep])
        assert min(abs(step.t - s) for s, _ in truth) <= gaps.max()


def test_standing_still_with_jitter_gives_no_steps() -> None:
    for seed in range(5):
        t, lm = still(10.0, seed=seed)
        assert heel_strikes(t, lm, ASPECT) == []


def test_one_foot_shifting_out_and_back_is_not_walking() -> None:
    t, lm = still(6.0, jitter=0.0)
    heel, ankle, toe, _, _ = LEGS[0]
    for i, ti in enumerate(t):
        shift = 0.1 * np.clip(1 - abs(ti - 3.0) / 0.4, 0, 1)  # out over 0.4 s, back over 0.4 s
        lm[i, [heel, ankle, toe], 0] -= shift / ASPECT
    assert heel_strikes(t, lm, ASPECT) == []


def test_camera_pan_over_a_standing_person_gives_no_steps() -> None:
    t, lm = still(6.0, jitter=0.001)
    pan = np.clip((t - 2.0) / 1.0, 0, 1) * 0.4  # the whole picture slides 0.4 widths in 1 s
    lm[..., 0] -= pan[:, None]
    assert heel_strikes(t, lm, ASPECT) == []


def test_left_right_mix_up_for_a_frame_gives_no_steps() -> None:
    t, lm = still(6.0, jitter=0.001)
    for i in (20, 21, 40, 55):  # MediaPipe swaps the legs' labels for single frames
        a, b = list(LEGS[0][:4]), list(LEGS[1][:4])
        lm[i, a + b] = lm[i, b + a]
    assert heel_strikes(t, lm, ASPECT) == []


def test_left_right_flicker_of_a_frontal_person_gives_no_steps() -> None:
    # as MediaPipe does on a weight lifter facing the camera: labels trading places every frame or two, with
    # frames where both feet are put between the two places
    t, lm = still(6.0, jitter=0.001)
    a, b = list(LEGS[0][:3]), list(LEGS[1][:3])
    lm[:, a, 0] -= 0.08 / ASPECT  # feet apart
    lm[:, b, 0] += 0.08 / ASPECT
    rng = np.random.default_rng(7)
    for i in range(24, 48):
        kind = rng.integers(0, 3)
        if kind == 1:
            lm[i, a + b] = lm[i, b + a]
        elif kind == 2:
            mid = (lm[i, a, :2] + lm[i, b, :2]) / 2
            lm[i, a, :2] = mid + rng.normal(0, 0.01, mid.shape)
            lm[i, b, :2] = mid + rng.normal(0, 0.01, mid.shape)
    assert heel_strikes(t, lm, ASPECT) == []


def test_missing_and_low_visibility_frames_do_not_crash_or_invent_steps() -> None:
    t, lm, truth = walker(5.0)
    rng = np.random.default_rng(1)
    holes = rng.choice(t.shape[0], size=12, replace=False)
    lm[holes[:6]] = np.nan  # no person
    lm[holes[6:], :, 3] = 0.1  # a person nobody should trust
    lm[30:34, mp_pose.LEFT_HEEL:mp_pose.RIGHT_FOOT_INDEX + 1, 3] = 0.2  # feet hidden for a moment
    steps = heel_strikes(t, lm, ASPECT)
    for step in steps:
        assert min(abs(step.t - s) for s, _ in truth) <= FRAME
    assert heel_strikes(t, np.full_like(lm, np.nan), ASPECT) == []
    assert heel_strikes(t[:0], lm[:0], ASPECT) == []
    assert heel_strikes(t[:1], lm[:1], ASPECT) == []


def test_wrong_landmark_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="33, 4"):
        heel_strikes(np.zeros(3), np.zeros((3, 17, 4)), ASPECT)


# --- claps ---

CLAPS = (1.0, 2.03, 3.1, 4.57)


def test_claps_at_the_known_times() -> None:
    t, lm = clapper(6.0, CLAPS)
    claps = hand_claps(t, lm, ASPECT)
    assert [round(c.t, 2) for c in claps] == pytest.approx(CLAPS, abs=FRAME)
    assert all(abs(c.x - 0.5) < 0.02 and 0 < c.strength <= 1 for c in claps)
    assert heel_strikes(t, lm, ASPECT) == []


def test_hands_coming_together_slowly_are_not_a_clap() -> None:
    t, lm = clapper(8.0, (3.0,), speed=0.08)
    assert hand_claps(t, lm, ASPECT) == []


def test_hands_meeting_and_staying_are_not_a_clap() -> None:
    t, lm = clapper(6.0, (2.0,), hold_s=10.0)
    assert hand_claps(t, lm, ASPECT) == []


def test_one_hand_landmark_jumping_onto_the_other_is_not_a_clap() -> None:
    t, lm = still(4.0, jitter=0.0)
    right = [mp_pose.RIGHT_WRIST, mp_pose.RIGHT_INDEX, mp_pose.RIGHT_PINKY]
    lm[:, right, 0] += 0.2  # hands apart
    lm[24, right, :2] = lm[24, mp_pose.LEFT_WRIST, :2]  # one bad frame
    assert hand_claps(t, lm, ASPECT) == []


def test_claps_without_trustworthy_hands_are_skipped() -> None:
    t, lm = clapper(6.0, CLAPS)
    lm[:, [mp_pose.LEFT_WRIST, mp_pose.RIGHT_WRIST], 3] = 0.2
    assert hand_claps(t, lm, ASPECT) == []
    lm[::3] = np.nan
    assert hand_claps(t, lm, ASPECT) == []


# --- the analyzer ---


class FakeTracker:
    """Returns the landmarks of the frame it is called on (the frame's index is painted in pixel 0)."""

    def __init__(self, landmarks: np.ndarray) -> None:
        self.landmarks = landmarks
        self.calls: list[int] = []
        self.closed = False

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        i = int(rgb[0, 0, 0]) + 256 * int(rgb[0, 0, 1])
        self.calls.append(i)
        row = self.landmarks[i]
        return None if np.isnan(row).all() else row.astype(np.float32)

    def close(self) -> None:
        self.closed = True


def _frames(t: np.ndarray, landmarks: np.ndarray | None = None) -> list[VideoFrame]:
    """Black frames numbered in pixel (0, 0); with ``landmarks``, a white square on each hand and foot."""
    frames = []
    for i, ti in enumerate(t):
        rgb = np.zeros((H, W, 3), np.uint8)
        if landmarks is not None:
            for p in (mp_pose.LEFT_WRIST, mp_pose.RIGHT_WRIST, mp_pose.LEFT_HEEL, mp_pose.RIGHT_HEEL):
                x, y = int(landmarks[i, p, 0] * W), int(landmarks[i, p, 1] * H)
                rgb[max(0, y - 4):y + 4, max(0, x - 4):x + 4] = 255
        rgb[0, 0, :2] = i % 256, i // 256
        frames.append(VideoFrame(i, float(ti), rgb))
    return frames


@pytest.mark.parametrize("gate", [False, True])
def test_analyzer_streams_the_same_steps_as_the_whole_sequence(gate: bool) -> None:
    assert abs(W / H - ASPECT) < 0.01
    t, lm, _ = walker(3 * WINDOW_S, x0=0.5, follow=True)
    lm = lm.astype(np.float32)  # as a tracker returns them
    fake = FakeTracker(lm)
    detector: FrameAnalyzer[tuple[VisualOnset, ...]] = PoseStepDetector(FPS, tracker=fake, motion_gate=gate)
    assert detector.name == "pose" and detector.fps == FPS
    for frame in _frames(t):
        detector.push(frame)
    onsets = detector.finish()
    seen = fake.calls  # the frames the model ran on (all of them without the gate)
    assert len(seen) == len(t) or gate
    batch = heel_strikes(t[seen], lm[seen], W / H)
    assert len(batch) >= 0.8 * len(heel_strikes(t, lm, W / H))
    assert [round(o.t, 6) for o in onsets] == [round(s.t, 6) for s in batch]
    assert {(o.kind, o.analyzer, o.track) for o in onsets} == {("footstep", "pose", 0)}
    assert [o.x for o in onsets] == pytest.approx([s.x for s in batch])
    assert not fake.closed  # the caller's tracker is the caller's to close


@pytest.mark.parametrize("fps", [10.0, 15.0, 30.0])
def test_analyzer_finds_the_same_steps_at_10_15_and_30_fps(fps: float) -> None:
    t, lm, truth = walker(8.0, x0=0.5, follow=True, fps=fps)
    lm = lm.astype(np.float32)
    detector = PoseStepDetector(fps, tracker=FakeTracker(lm))
    for frame in _frames(t, lm):
        detector.push(frame)
    found = [o.t for o in detector.finish() if o.t < 7.5]  # the last step may not have settled at every rate
    expected = [s for s, _ in truth if s - 0.44 > 0 and s < 7.5]  # its whole swing seen
    assert found == pytest.approx(expected, abs=0.1)


def test_analyzer_skips_the_model_while_nothing_moves() -> None:
    t, lm = still(10.0, jitter=0.0)
    lm[60:] = np.nan  # the person leaves after 5 s
    fake = FakeTracker(lm)
    detector = PoseStepDetector(FPS, tracker=fake)
    for frame in _frames(t):
        detector.push(frame)
    assert detector.finish() == ()
    assert len(fake.calls) < t.shape[0] / 2


def test_analyzer_claps_and_empty_input() -> None:
    t, lm = clapper(6.0, CLAPS)
    fake = FakeTracker(lm)
    detector = PoseStepDetector(FPS, tracker=fake)
    for frame in _frames(t, lm):  # the hands are drawn: the picture gate sees them start to move
        detector.push(frame)
    onsets = detector.finish()
    assert [o.kind for o in onsets] == ["clap"] * len(CLAPS)
    assert [o.t for o in onsets] == pytest.approx(CLAPS, abs=FRAME)
    assert len(fake.calls) < len(t)
    assert PoseStepDetector(tracker=FakeTracker(lm)).finish() == ()


def test_strikes_further_apart_than_the_cadence_limit_are_not_walking() -> None:
    # alternating strikes make steps only MAX_STEP_S apart or closer
    t, lm, truth = walker(4.0, step_s=MAX_STEP_S + 0.3, speed=0.15, swing_fraction=0.3)
    assert len(truth) >= 2
    assert heel_strikes(t, lm, ASPECT) == []


@pytest.mark.parametrize(("step_s", "speed", "follow"), [(0.3, 0.6, False), (0.55, 0.3, False), (0.55, 0.3, True),
                                                       (0.9, 0.3, True)])
def test_the_same_walk_gives_the_same_steps_at_10_15_and_30_fps(step_s: float, speed: float, follow: bool) -> None:
    # one walk, sampled at three analysis rates: the rules are durations, so every rate finds the same strikes
    duration = 8.0 if follow else 2.6
    found: dict[float, list[float]] = {}
    for fps in (10.0, 15.0, 30.0):
        t, lm, truth = walker(duration, step_s=step_s, speed=speed, x0=0.5 if follow else 0.05, follow=follow,
                              fps=fps)
        steps = heel_strikes(t, lm, ASPECT)
        assert all(min(abs(step.t - s) for s, _ in truth) <= 0.1 for step in steps), fps
        feet = [step.foot for step in steps]
        assert all(a != b for a, b in zip(feet, feet[1:], strict=False)), fps
        # strikes whose swing and settling lie inside the clip at every rate
        inner = [s for s, _ in truth if s - 0.8 * step_s > 0.2 and s < duration - 0.4]
        assert steps, fps
        found[fps] = [min((abs(step.t - s), step.t) for step in steps)[1] for s in inner]
        assert [abs(f - s) <= 0.1 for f, s in zip(found[fps], inner, strict=True)] == [True] * len(inner), fps
    assert found[15.0] == pytest.approx(found[10.0], abs=0.1)
    assert found[30.0] == pytest.approx(found[10.0], abs=0.1)


@pytest.mark.parametrize("fps", [10.0, 15.0, 30.0])
def test_standing_and_shifting_give_no_steps_at_any_rate(fps: float) -> None:
    t, lm = still(6.0, jitter=0.003)
    t = np.arange(t.shape[0]) / fps  # the same poses, at this rate
    heel, ankle, toe, _, _ = LEGS[0]
    for i, ti in enumerate(t):  # one foot out and back over 0.8 s
        lm[i, [heel, ankle, toe], 0] -= 0.1 * np.clip(1 - abs(ti - t[-1] / 2) / 0.4, 0, 1) / ASPECT
    assert heel_strikes(t, lm, ASPECT) == []


# --- the real model (slow) ---


@pytest.mark.slow
def test_real_pose_model_on_noise_finds_nobody_and_checks_its_input() -> None:
    model = mp_pose.load_pose()
    assert model is mp_pose.load_pose()  # cached
    assert "mediapipe" in model.version
    noise = np.random.default_rng(0).integers(0, 256, (256, 320, 3), dtype=np.uint8)
    with model.pose_tracker() as tracker:
        assert tracker(noise) is None
        assert tracker(np.zeros((144, 256, 3), np.uint8)) is None
        with pytest.raises(ValueError, match="RGB uint8"):
            tracker(noise.astype(np.float32))
        with pytest.raises(ValueError, match="RGB uint8"):
            tracker(noise[..., 0])
    with model.hands_tracker() as hands:
        assert hands(noise) is None


@pytest.mark.slow
def test_real_pose_model_keeps_stderr_clean() -> None:
    code = (
        "import numpy as np\n"
        "from models.pose import load_pose\n"
        "m = load_pose()\n"
        "with m.pose_tracker() as t:\n"
        "    [t(np.zeros((144, 256, 3), np.uint8)) for _ in range(3)]\n"
        "with m.hands_tracker() as h:\n"
        "    h(np.zeros((144, 256, 3), np.uint8))\n"
        "print('ok')\n"
    )
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    assert r.stderr == ""
