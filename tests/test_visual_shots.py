"""Shot cuts (issue 10): a cut is found on its first frame; camera motion, fades, flashes and noise are not cuts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from frames_factory import frames_at, read_frames, regular, texture, with_noise, write_mp4

from captioning.analysis.shots import ShotDetector, frame_signature, signature_distance
from captioning.analysis.types import ShotCut, VideoFrame

H, W = 144, 256
SCENE_A = texture(H, W, seed=1, tint=(0.7, 1.0, 0.6))
SCENE_B = texture(H, W, seed=2, tint=(0.6, 0.7, 1.1))
SCENE_A2 = texture(H, W, seed=3, tint=(0.7, 1.0, 0.6))  # same colours as A, another layout


def cuts_of(frames: Iterable[VideoFrame], **kw: float) -> tuple[ShotCut, ...]:
    det = ShotDetector(**kw)  # type: ignore[arg-type]
    for f in frames:
        det.push(f)
    return det.finish()


def two_scenes(times: list[float], cut_t: float, a: np.ndarray = SCENE_A, b: np.ndarray = SCENE_B,
               seed: int = 0) -> Iterable[VideoFrame]:
    rng = np.random.default_rng(seed)
    return frames_at(times, lambda i, t: with_noise(a if t < cut_t else b, rng))


def test_a_cut_is_found_on_the_first_frame_of_the_new_shot() -> None:
    times = regular(25, 4.0)
    cuts = cuts_of(two_scenes(times, cut_t=2.0))
    assert [c.t for c in cuts] == [pytest.approx(2.0)]
    assert 0.3 < cuts[0].strength <= 1.0


def test_a_cut_between_shots_of_the_same_colours_is_found() -> None:
    cuts = cuts_of(two_scenes(regular(25, 3.0), cut_t=1.0, b=SCENE_A2))
    assert [c.t for c in cuts] == [pytest.approx(1.0)]


def test_a_still_scene_with_noise_has_no_cut() -> None:
    rng = np.random.default_rng(5)
    assert cuts_of(frames_at(regular(30, 3.0), lambda i, t: with_noise(SCENE_A, rng, sigma=8.0))) == ()


def test_a_pan_and_a_shaking_camera_are_not_cuts() -> None:
    world = texture(H + 80, W * 3, seed=4)
    rng = np.random.default_rng(6)

    def view(i: int, t: float) -> np.ndarray:
        x = int(12 * i) % (2 * W)  # 12 px a frame: a fast pan
        y = 40 + int(rng.integers(-20, 21))  # and a shaking hand
        return world[y:y + H, x:x + W]

    assert cuts_of(frames_at(regular(30, 3.0), view)) == ()


def test_a_fade_through_black_back_to_the_same_scene_is_not_a_cut() -> None:
    def fading(i: int, t: float) -> np.ndarray:
        gain = min(1.0, abs(t - 1.5) / 0.5)  # black at 1.5 s, back by 2 s
        return (SCENE_A * gain).astype(np.uint8)

    assert cuts_of(frames_at(regular(25, 3.0), fading)) == ()


def test_a_fade_through_black_to_another_scene_is_one_cut() -> None:
    def fading(i: int, t: float) -> np.ndarray:
        gain = min(1.0, abs(t - 1.5) / 0.5)
        return ((SCENE_A if t < 1.5 else SCENE_B) * gain).astype(np.uint8)

    cuts = cuts_of(frames_at(regular(25, 3.0), fading))
    assert len(cuts) == 1 and 1.5 <= cuts[0].t <= 2.0


def test_a_dissolve_is_not_a_stream_of_cuts() -> None:
    def dissolving(i: int, t: float) -> np.ndarray:
        a = float(np.clip((t - 1.0) / 1.0, 0, 1))
        return ((1 - a) * SCENE_A + a * SCENE_B).astype(np.uint8)

    assert len(cuts_of(frames_at(regular(25, 3.0), dissolving))) <= 1


@pytest.mark.parametrize("flash_frames", [1, 2])
def test_a_flash_is_not_a_cut(flash_frames: int) -> None:
    white = np.full_like(SCENE_A, 250)
    cuts = cuts_of(frames_at(regular(25, 2.0), lambda i, t: white if 25 <= i < 25 + flash_frames else SCENE_A))
    assert cuts == ()


def test_cuts_closer_than_the_minimum_shot_are_one() -> None:
    scenes = [SCENE_A, SCENE_B, SCENE_A2]
    cuts = cuts_of(frames_at(regular(25, 3.0), lambda i, t: scenes[0 if t < 1.0 else 1 if t < 1.12 else 2]))
    assert [c.t for c in cuts] == [pytest.approx(1.0)]
    spaced = cuts_of(frames_at(regular(25, 3.0), lambda i, t: scenes[0 if t < 1.0 else 1 if t < 2.0 else 2]))
    assert [c.t for c in spaced] == [pytest.approx(1.0), pytest.approx(2.0)]


def test_irregular_timestamps_keep_the_cut_on_its_frame() -> None:
    rng = np.random.default_rng(7)
    times = list(np.cumsum(rng.uniform(0.02, 0.09, 60)))
    cut_t = times[30]
    cuts = cuts_of(two_scenes(times, cut_t=cut_t))
    assert [c.t for c in cuts] == [pytest.approx(cut_t)]


@pytest.mark.parametrize("n", [0, 1])
def test_no_frame_or_a_single_frame_gives_no_cut(n: int) -> None:
    assert cuts_of(frames_at(regular(25, n / 25), lambda i, t: SCENE_A)) == ()


def test_two_unrelated_frames_are_two_shots() -> None:
    assert [c.t for c in cuts_of(frames_at([0.0, 0.04], lambda i, t: SCENE_A if i == 0 else SCENE_B))] == [0.04]


def test_a_cut_on_the_last_frame_is_found() -> None:
    times = regular(25, 1.0)
    cuts = cuts_of(two_scenes(times, cut_t=times[-1]))
    assert [c.t for c in cuts] == [pytest.approx(times[-1])]


def test_a_cut_survives_a_real_container(tmp_path: Path) -> None:
    times = regular(30, 2.0)
    path = write_mp4(tmp_path / "cut.mp4", two_scenes(times, cut_t=times[33]))
    cuts = cuts_of(read_frames(path))
    assert [c.t for c in cuts] == [pytest.approx(times[33], abs=1e-3)]


def test_signature_distance_spans_zero_to_one() -> None:
    a, b = frame_signature(SCENE_A), frame_signature(SCENE_B)
    assert signature_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert signature_distance(a, b) > 0.5
    black = frame_signature(np.zeros((H, W, 3), np.uint8))
    assert black.flat and signature_distance(black, black) == pytest.approx(0.0)
    assert 0.0 <= signature_distance(a, black) <= 1.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        frame_signature(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError):
        ShotDetector(ratio=0.5)
    with pytest.raises(ValueError):
        ShotDetector(fps=0)
