#!/usr/bin/env python3
"""Scene context on the dev videos (issue 10): top ImageNet classes and the SceneContext of each shot.

Usage::

    python scripts/eval_scene.py [VIDEO ...] [--threads N] [--fps F]

Without arguments it reads ``../shared/data/videos/*.mp4`` and exits 0 with a note when that folder is
missing. Each video is decoded once (pictures only, short side 256, as the pipeline decodes them), frames go
to :class:`captioning.analysis.scene.SceneClassifier` at its rate, and the script prints per video: the
shots' contexts (classes, labels, materials, ambience), the decode and scene times as fractions of the
media duration, and EfficientNet-Lite0's milliseconds per classified frame.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # captioning/ and models/ when the project is not installed

from captioning.analysis.scene import SceneClassifier, SceneOptions  # noqa: E402
from captioning.analysis.types import VideoFrame  # noqa: E402
from captioning.media import iter_media, probe  # noqa: E402
from models.frame_classifier import load_frame_classifier  # noqa: E402

VIDEOS = ROOT.parent / "shared" / "data" / "videos"


class _Timed:
    """Wraps a classifier to time its calls (seconds, calls)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0
        self.version = getattr(inner, "version", None)

    def __call__(self, frames):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        out = self.inner(frames)  # type: ignore[operator]
        self.seconds += time.perf_counter() - t0
        self.calls += frames.shape[0]
        return out


def run(path: Path, classifier: _Timed, options: SceneOptions) -> None:
    info = probe(path)
    duration = info.duration or 0.0
    scene = SceneClassifier(classifier, options=options, duration_s=duration or None)
    interval = 1.0 / options.fps
    due = float("-inf")
    before_s, before_n = classifier.seconds, classifier.calls
    t0 = time.perf_counter()
    push_s = 0.0
    for frame in iter_media(info, audio=False, video=True):
        if not isinstance(frame, VideoFrame):
            continue
        if frame.t + 1e-6 < due:  # the pipeline's regular schedule: first frame at or after each tick
            continue
        due = (due if frame.t - due < interval else frame.t) + interval
        t1 = time.perf_counter()
        scene.push(frame)
        push_s += time.perf_counter() - t1
    contexts = scene.finish()
    wall = time.perf_counter() - t0
    model_s, frames = classifier.seconds - before_s, classifier.calls - before_n
    print(f"\n== {path.name}  ({duration:.1f} s, {len(contexts)} shot(s))")
    for c in contexts:
        print(f"  {c.start:6.2f}-{c.end:6.2f} s  classes: " + ", ".join(f"{n} {p:.2f}" for n, p in c.classes))
        print("                   labels: " + (", ".join(f"{n} {w:.2f}" for n, w in c.labels) or "-"))
        print("                materials: " + (", ".join(f"{n} {w:.2f}" for n, w in c.materials) or "-")
              + f"   ambience: {c.ambience}")
    if duration:
        print(f"  time: decode+scene {wall:.2f} s = {wall / duration:.3f} x duration; scene {push_s:.2f} s = "
              f"{push_s / duration:.3f} x; model {1000 * model_s / max(frames, 1):.0f} ms/frame over {frames} "
              f"frame(s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("videos", nargs="*", type=Path, help="videos to analyse (default: the dev videos)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads for the classifier")
    parser.add_argument("--fps", type=float, default=SceneOptions().fps, help="frames a second to the analyzer")
    args = parser.parse_args(argv)
    videos = args.videos or sorted(VIDEOS.glob("*.mp4"))
    if not videos:
        print(f"no videos: {VIDEOS} is missing or empty; nothing to evaluate")
        return 0
    t0 = time.perf_counter()
    classifier = _Timed(load_frame_classifier(args.threads))
    print(f"{classifier.version}: loaded in {time.perf_counter() - t0:.1f} s, {args.threads} thread(s)")
    options = SceneOptions(fps=args.fps)
    for path in videos:
        run(path, classifier, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
