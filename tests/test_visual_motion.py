"""Impacts from motion (issue 10): a drawn object that drops and stops (or bounces) gives one impact at the
contact, timed between frames, at the object's place; cuts, camera motion, swaying, noise and repeated frames
give none."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pytest
from frames_factory import (
    falling,
    frames_at,
    read_frames,
    regular,
    sprite,
    texture,
    with_noise,
    write_mp4,
)

from captioning.analysis.motion import MotionOnsetDetector, camera_motion
from captioning.analysis.types import VideoFrame, VisualOnset

H, W = 144, 256
BACKGROUND = texture(H, W, seed=11)
BALL = texture(56, 56, seed=12, tint=(1.2, 0.9, 0.5))  # a textured disc 56 px across (0.39 short sides)
FLOOR_Y = 110.0  # where the ball's centre stops (px)


def impacts(frames: Iterable[VideoFrame], **kw: float) -> tuple[VisualOnset, ...]:
    det = MotionOnsetDetector(**kw)
    for f in frames:
        det.push(f)
    return det.finish()


def drop(t_contact: float, *, x: float = 80.0, bounce: float = 0.0, seed: int = 0,
         background: np.ndarray = BACKGROUND) -> Callable[[int, float], np.ndarray]:
    rng = np.random.default_rng(seed)

    def draw(i: int, t: float) -> np.ndarray:
        y = falling(t, top=28.0, floor=FLOOR_Y, t_contact=t_contact, bounce=bounce)
        return with_noise(sprite(background, BALL, x, y), rng)

    return draw


@pytest.mark.parametrize("t_contact", [1.0, 1.011, 1.0167, 1.022, 1.03])
@pytest.mark.parametrize("bounce", [0.0, 0.4])
def test_a_drop_gives_one_impact_at_the_contact_between_frames(t_contact: float, bounce: float) -> None:
    fps = 30.0
    found = impacts(frames_at(regular(fps, 2.0), drop(t_contact, bounce=bounce)))
    assert len(found) == 1
    hit = found[0]
    assert hit.t == pytest.approx(t_contact, abs=1 / (3 * fps))  # within a third of the frame interval
    assert hit.kind == "impact" and hit.analyzer == "motion" and hit.track is None
    assert hit.x == pytest.approx(80 / W, abs=0.05)  # where the ball is: pan follows it
    assert hit.y == pytest.approx(FLOOR_Y / H, abs=0.1)
    assert 0.3 < hit.strength <= 1 and 0.5 <= hit.confidence <= 1


def test_the_impact_is_where_the_object_lands() -> None:
    left = impacts(frames_at(regular(30, 2.0), drop(1.01, x=50.0)))
    right = impacts(frames_at(regular(30, 2.0), drop(1.01, x=206.0)))
    assert [round(o.x, 1) for o in left] == [0.2] and [round(o.x, 1) for o in right] == [0.8]


def test_a_harder_drop_is_stronger() -> None:
    def dropped_in(fall_s: float) -> VisualOnset:  # the same height, faster or slower
        rng = np.random.default_rng(1)
        draw = lambda i, t: with_noise(sprite(BACKGROUND, BALL, 128, falling(  # noqa: E731
            t, top=28.0, floor=FLOOR_Y, t_contact=1.0, fall_s=fall_s)), rng)
        (hit,) = impacts(frames_at(regular(30, 2.0), draw))
        return hit

    assert dropped_in(0.3).strength > dropped_in(0.5).strength


def test_irregular_frame_times_keep_the_timing() -> None:
    rng = np.random.default_rng(3)
    times = list(np.cumsum(rng.uniform(0.02, 0.05, 70)))  # variable frame rate, 20-50 fps
    t_contact = 1.013
    i = int(np.searchsorted(times, t_contact))
    gap = times[i] - times[i - 1]
    (hit,) = impacts(frames_at(times, drop(t_contact)))
    assert hit.t == pytest.approx(t_contact, abs=gap / 2)


def test_timing_survives_a_real_container(tmp_path: Path) -> None:
    times = [round(t, 4) for t in np.cumsum(np.tile([1 / 30, 1 / 20, 1 / 25], 24))]  # variable frame rate
    t_contact = 1.02
    path = write_mp4(tmp_path / "drop.mp4", frames_at(times, drop(t_contact)))
    decoded = list(read_frames(path))
    assert [f.t for f in decoded] == pytest.approx(times, abs=1e-3)
    i = int(np.searchsorted(times, t_contact))
    (hit,) = impacts(decoded)
    assert hit.t == pytest.approx(t_contact, abs=(times[i] - times[i - 1]) / 2)


def test_a_still_scene_with_noise_has_no_impact() -> None:
    rng = np.random.default_rng(4)
    assert impacts(frames_at(regular(30, 3.0), lambda i, t: with_noise(BACKGROUND, rng, sigma=8.0))) == ()


def test_an_object_moving_steadily_through_the_picture_is_not_an_impact() -> None:
    rng = np.random.default_rng(5)
    draw = lambda i, t: with_noise(sprite(BACKGROUND, BALL, -30 + 150 * t, 70), rng)  # noqa: E731
    assert impacts(frames_at(regular(30, 2.0), draw)) == ()


@pytest.mark.parametrize("jump_px", [12.0, 24.0])
def test_a_thing_that_jumps_for_one_frame_is_not_an_impact(jump_px: float) -> None:
    """Moved for one frame and back (a glitch, a light flicking on and off): the motion that is lost came and
    went within one interval, it was never moving towards anything."""
    rng = np.random.default_rng(9)
    draw = lambda i, t: with_noise(sprite(BACKGROUND, BALL, 80 + (jump_px if i in (30, 45) else 0.0), 70),  # noqa: E731
                                   rng)
    assert impacts(frames_at(regular(30, 2.5), draw)) == ()


def test_camera_motion_is_not_an_impact() -> None:
    world = texture(H + 60, 3 * W, seed=6)
    rng = np.random.default_rng(7)

    def view(i: int, t: float) -> np.ndarray:
        x = 12 * min(i, 40)  # a fast pan that stops dead at frame 40
        y = 30 + int(rng.integers(-6, 7)) if i > 50 else 30  # then a shaking hand
        return with_noise(world[y:y + H, x:x + W], rng)

    assert impacts(frames_at(regular(30, 3.0), view)) == ()


def test_a_zoom_that_stops_is_not_an_impact() -> None:
    world = texture(2 * H, 2 * W, seed=8)
    rng = np.random.default_rng(9)

    def view(i: int, t: float) -> np.ndarray:
        scale = 1.0 + 0.6 * min(t, 1.0)  # zooming in for 1 s, then holding
        h, w = int(H * 2 / scale), int(W * 2 / scale)
        y0, x0 = (2 * H - h) // 2, (2 * W - w) // 2
        import cv2
        return with_noise(cv2.resize(world[y0:y0 + h, x0:x0 + w], (W, H), interpolation=cv2.INTER_AREA), rng)

    assert impacts(frames_at(regular(30, 2.0), view)) == ()


def test_swaying_leaves_and_rippling_water_are_not_impacts() -> None:
    leaves = texture(H, W + 40, seed=10, tint=(0.5, 1.0, 0.4), grain_px=6)
    water = texture(H, W + 40, seed=13, tint=(0.4, 0.6, 1.0), grain_px=8)
    rng = np.random.default_rng(11)

    def scene(i: int, t: float) -> np.ndarray:
        out = np.empty((H, W, 3), np.uint8)
        for row in range(0, H // 2, 8):  # branches swaying, each band a little out of phase
            dx = 20 + 14 * np.sin(2 * np.pi * 0.6 * t + row / 20)
            out[row:row + 8] = leaves[row:row + 8, int(dx):int(dx) + W]
        for row in range(H // 2, H, 4):  # ripples: bands sliding back and forth faster
            dx = 20 + 5 * np.sin(2 * np.pi * 1.3 * t + row / 3)
            out[row:row + 4] = water[row:row + 4, int(dx):int(dx) + W]
        return with_noise(out, rng)

    assert impacts(frames_at(regular(30, 6.0), scene)) == ()


def test_nothing_is_measured_across_a_cut() -> None:
    other = texture(H, W, seed=14, tint=(0.6, 0.7, 1.1))
    rng = np.random.default_rng(12)

    def shots(i: int, t: float) -> np.ndarray:
        if t < 1.0:  # a ball rolling right fast, cut away while it moves
            return with_noise(sprite(BACKGROUND, BALL, 40 + 300 * t, 60), rng)
        return with_noise(other, rng)  # a still shot

    assert impacts(frames_at(regular(30, 2.0), shots)) == ()


def test_an_impact_right_after_a_cut_is_found() -> None:
    other = texture(H, W, seed=14, tint=(0.6, 0.7, 1.1))
    rng = np.random.default_rng(13)
    ball_drop = drop(1.01, background=other)

    def shots(i: int, t: float) -> np.ndarray:
        return with_noise(BACKGROUND, rng) if t < 0.5 else ball_drop(i, t)

    (hit,) = impacts(frames_at(regular(30, 2.0), shots))
    assert hit.t == pytest.approx(1.01, abs=1 / 90)


def test_repeated_frames_are_not_stops() -> None:
    rng = np.random.default_rng(14)
    # 24 fps motion shown at 30 fps: every fourth picture is shown twice (pulldown)
    times = regular(30, 3.0)
    draw = lambda i, t: with_noise(sprite(BACKGROUND, BALL, 20 + 70 * (i - i // 5) / 24 * 3, 70), rng,  # noqa: E731
                                   sigma=0.0)
    assert impacts(frames_at(times, draw)) == ()


def test_a_picture_that_stops_for_good_is_still_an_impact() -> None:
    # a clean render: after the contact the frames are identical (no noise), not repeats to skip
    draw = lambda i, t: sprite(BACKGROUND, BALL, 80, falling(t, top=28, floor=FLOOR_Y, t_contact=1.0))  # noqa: E731
    (hit,) = impacts(frames_at(regular(30, 2.0), draw))
    assert hit.t == pytest.approx(1.0, abs=1 / 90)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_too_few_frames_give_no_impact(n: int) -> None:
    assert impacts(frames_at(regular(30, n / 30), drop(0.01))) == ()


def test_frames_out_of_order_or_resized_restart_cleanly() -> None:
    draw = drop(1.01)
    frames = list(frames_at(regular(30, 2.0), draw))
    small = [VideoFrame(f.index, f.t + 2.0, f.rgb[::2, ::2].copy()) for f in frames]  # the size changes
    found = impacts([*frames, *small])
    assert [round(o.t, 2) for o in found] == [1.01, 3.01]


def test_memory_stays_flat_on_long_input() -> None:
    rng = np.random.default_rng(15)
    still = [with_noise(BACKGROUND, rng) for _ in range(4)]
    det = MotionOnsetDetector()

    def push(n: int, start: int) -> None:
        for i in range(start, start + n):
            det.push(VideoFrame(i, i / 30, still[i % 4]))

    push(60, 0)
    tracemalloc.start()
    push(60, 60)
    first, _ = tracemalloc.get_traced_memory()
    push(300, 120)
    later, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert later - first < 200_000  # bytes: no per-frame state kept
    assert det.finish() == ()


def test_camera_motion_fits_an_affine_flow_despite_a_moving_object() -> None:
    h, w = 64, 114
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    pan = np.stack([3.0 + 0.02 * xs, -1.0 + 0.01 * ys], axis=-1)  # (h, w, 2) pan and zoom
    flow = pan.copy()
    flow[20:35, 40:60] += (9.0, 4.0)  # an object moving on its own
    fitted = camera_motion(flow)
    assert fitted.shape == flow.shape
    assert np.abs(fitted - pan).max() < 0.2


def test_bad_input_is_refused() -> None:
    det = MotionOnsetDetector()
    with pytest.raises(ValueError):
        det.push(VideoFrame(0, 0.0, np.zeros((10, 10), np.uint8)))
    with pytest.raises(ValueError):
        MotionOnsetDetector(min_loss=0)
    with pytest.raises(ValueError):
        MotionOnsetDetector(fps=-1)
