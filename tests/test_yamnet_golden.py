"""The float32 YAMNet, pinned: top classes and scores on an input the test makes, within a tolerance any CPU meets.

A silent change of model file, front end (STFT, mel matrix, log offset) or runtime shows up here. The
scores of a float network differ across CPUs and thread counts by about 1e-6 (summation order), so the
golden values are compared with an absolute tolerance of 1e-3, never exactly.

Regenerate after a deliberate change: ``.venv/bin/python tests/test_yamnet_golden.py --regenerate``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from models import yamnet as yam

GOLDEN = Path(__file__).parent / "data" / "yamnet_golden.json"
TOLERANCE = 1e-3  # probability units
TOP_K = 5

pytestmark = pytest.mark.slow


def golden_input() -> np.ndarray:
    """Three 0.96 s patches of log-mel, shape=(3, 96, 64): a knock train, a 440 Hz tone with harmonics, noise.

    Built from seeded numpy generators (PCG64 gives the same numbers on every machine).
    """
    sr = yam.SAMPLE_RATE
    n = int(1.0 * sr)
    t = np.arange(n) / sr
    rng = np.random.default_rng(20261130)
    knocks = np.zeros(n)
    for at in (0.1, 0.4, 0.7):
        k = t[: int(0.1 * sr)]
        burst = np.exp(-k / 0.015) * (np.sin(2 * np.pi * 190 * k) + 0.6 * rng.standard_normal(k.size))
        i = int(at * sr)
        knocks[i:i + burst.size] += 0.5 * burst
    tone = sum(0.2 / h * np.sin(2 * np.pi * 440 * h * t) for h in range(1, 5))
    noise = 0.1 * rng.standard_normal(n)
    clips = [knocks + 0.001 * rng.standard_normal(n), tone, noise]
    mels = [yam.log_mel(yam.magnitude_frames(yam.frame_audio(c.astype(np.float32))))[: yam.PATCH_FRAMES]
            for c in clips]
    return np.stack(mels).astype(np.float32)


def top_classes(probs: np.ndarray, names: tuple[str, ...]) -> list[list[tuple[str, float]]]:
    return [[(names[i], float(p[i])) for i in np.argsort(-p)[:TOP_K]] for p in probs]


@pytest.fixture(scope="module")
def tagger() -> yam.YamNet:
    return yam.load_yamnet()


def test_golden_scores(tagger: yam.YamNet) -> None:
    want = json.loads(GOLDEN.read_text())
    probs = tagger(golden_input())
    assert tagger.version.startswith("yamnet-float32")
    for row, want_row in zip(probs, want["top"], strict=True):
        for name, want_p in want_row:  # each golden class keeps its score...
            got = float(row[tagger.class_names.index(name)])
            assert abs(got - want_p) <= TOLERANCE, (name, got, want_p)
        golden = {name for name, _ in want_row}
        floor = min(p for _, p in want_row)
        others = [(n, float(p)) for n, p in zip(tagger.class_names, row, strict=True) if n not in golden]
        # ...and no other class joins the top
        assert max(p for _, p in others) <= floor + TOLERANCE, max(others, key=lambda x: x[1])


def test_batching_does_not_change_scores(tagger: yam.YamNet) -> None:
    x = golden_input()
    together = tagger(x)
    alone = np.concatenate([tagger(x[i:i + 1]) for i in range(x.shape[0])])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_thread_count_does_not_change_scores(tagger: yam.YamNet) -> None:
    x = golden_input()
    np.testing.assert_allclose(yam.load_yamnet(2)(x), tagger(x), atol=1e-5)


def test_empty_batch_and_bad_shape(tagger: yam.YamNet) -> None:
    assert tagger(np.zeros((0, yam.PATCH_FRAMES, yam.MEL_BANDS), np.float32)).shape == (0, yam.N_CLASSES)
    with pytest.raises(AssertionError):
        tagger(np.zeros((1, 10, yam.MEL_BANDS), np.float32))


if __name__ == "__main__" and "--regenerate" in sys.argv:
    model = yam.load_yamnet()
    rows = top_classes(model(golden_input()), model.class_names)
    GOLDEN.write_text(json.dumps({"model": model.version, "tolerance": TOLERANCE,
                                  "top": [[[n, round(p, 6)] for n, p in r] for r in rows]}, indent=1) + "\n")
    print(json.dumps(rows, indent=1))
