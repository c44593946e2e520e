#!/usr/bin/env python3
"""Evaluate the pose analyzer (footsteps, claps; issue 10) on the dev clips in ../shared/data/videos.

Usage::

    python scripts/eval_pose.py [--videos DIR] [--fps 12] [--no-gate]

Each clip is decoded once (``captioning.media.iter_media``, frames only), frames go to
:class:`captioning.analysis.pose.PoseStepDetector` at its rate (the first frame at or after each tick of a
regular 1/fps schedule), and the script prints every onset, the pose time per frame and per media second.

chaplin.mp4 (a man walking, music-only soundtrack) is scored against spans written down by eye from frames
every 0.12-0.16 s: he hops in from the right 0.0-0.5 s, walks around the policeman 0.5-1.4 s, turns and
walks right 1.4-2.4 s (feet landing at about 1.75 s, 2.1 s and 2.3 s, a shuffle), then stands (shifting his
weight, gesturing) 2.4-9.64 s; from ~4.0 s his feet are below the picture. MediaPipe follows one person:
until ~1.4 s it mostly follows the policeman, who stands. The other clips show nobody walking (a weight
lifter, hands with a drumstick or a knife, a child riding a scooter ~20 px tall): every footstep there is
counted as false. Exits 0 (skip) when the clips are missing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from captioning.analysis.pose import DEFAULT_FPS, PoseStepDetector  # noqa: E402
from captioning.analysis.types import VideoFrame, VisualOnset  # noqa: E402
from captioning.media import iter_media, probe  # noqa: E402

DEFAULT_VIDEOS = ROOT.parent / "shared" / "data" / "videos"
# By-eye spans of chaplin.mp4 (seconds): (start, end, what), and the feet landing in the clearest stretch.
CHAPLIN_SPANS = ((0.0, 2.4, "walking"), (2.4, 9.64, "standing"))
CHAPLIN_LANDINGS = (1.75, 2.1, 2.3)
# Clips with no walking person (the child in v_ZNVhz7ctTq0 rides a scooter, ~20 px tall at 256 px).
NO_WALKING = ("greatesthit_chopping.mp4", "greatesthit_hitting_bag.mp4", "greatesthit_hitting_metal.mp4",
              "v_GGSY1Qvo990.mp4", "v_ZNVhz7ctTq0.mp4")


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process, all threads (MediaPipe runs its graph on its own)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(path: Path, fps: float, gate: bool) -> tuple[tuple[VisualOnset, ...], dict[str, float]]:
    """Onsets of one clip and timing figures (pose wall and CPU seconds exclude decoding)."""
    info = probe(path)
    detector = PoseStepDetector(fps, motion_gate=gate)
    due, pose_s, cpu_s, pushed = float("-inf"), 0.0, 0.0, 0
    for item in iter_media(info, audio=False, video=True):
        if not isinstance(item, VideoFrame) or item.t + 1e-6 < due:
            continue
        due = (due if item.t - due < 1 / fps else item.t) + 1 / fps
        t0, c0 = time.perf_counter(), _cpu_s()
        detector.push(item)
        pose_s += time.perf_counter() - t0
        cpu_s += _cpu_s() - c0
        pushed += 1
    t0, c0 = time.perf_counter(), _cpu_s()
    onsets = detector.finish()
    pose_s += time.perf_counter() - t0
    cpu_s += _cpu_s() - c0
    duration = info.duration or 0.0
    return onsets, {"duration_s": duration, "frames": pushed, "model_runs": detector.model_runs,
                    "pose_s": pose_s, "cpu_s": cpu_s, "ms_per_frame": 1000 * pose_s / max(1, pushed),
                    "ms_per_run": 1000 * pose_s / max(1, detector.model_runs),
                    "cpu_ms_per_run": 1000 * cpu_s / max(1, detector.model_runs),
                    "x_duration": pose_s / duration if duration else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=Path, default=DEFAULT_VIDEOS, help="folder of the dev clips")
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS, help="analysis frame rate")
    parser.add_argument("--no-gate", action="store_true", help="run the pose model on every frame")
    args = parser.parse_args()
    if not args.videos.is_dir():
        print(f"{args.videos} not found (the dev clips live in ../shared/data/videos). Skipping.")
        return 0
    clips = sorted(args.videos.glob("*.mp4"))
    totals = {"pose_s": 0.0, "cpu_s": 0.0, "duration_s": 0.0, "frames": 0.0, "model_runs": 0.0}
    false_steps = 0
    for path in clips:
        onsets, fig = run(path, args.fps, not args.no_gate)
        for k in totals:
            totals[k] += fig[k]
        steps = [o for o in onsets if o.kind == "footstep"]
        claps = [o for o in onsets if o.kind == "clap"]
        print(f"\n{path.name}: {fig['duration_s']:.2f} s, {fig['frames']} frames at {args.fps:g} fps, model on "
              f"{fig['model_runs']}; pose {fig['ms_per_frame']:.1f} ms/frame ({fig['ms_per_run']:.1f} ms wall, "
              f"{fig['cpu_ms_per_run']:.1f} ms CPU per model run), {fig['x_duration']:.3f} x duration")
        print(f"  footsteps {len(steps)}: " + ", ".join(f"{o.t:.2f}s x={o.x:.2f} s={o.strength:.2f} "
                                                     f"c={o.confidence:.2f}" for o in steps))
        print(f"  claps {len(claps)}: " + ", ".join(f"{o.t:.2f}s x={o.x:.2f}" for o in claps))
        if path.name == "chaplin.mp4":
            for a, b, what in CHAPLIN_SPANS:
                n = sum(a <= o.t < b for o in steps)
                print(f"  by eye {what} {a:.1f}-{b:.1f} s: {n} footsteps")
            for landing in CHAPLIN_LANDINGS:
                near = min((abs(o.t - landing) for o in steps), default=float("inf"))
                print(f"  by eye a foot lands at {landing:.2f} s: nearest footstep {near:.2f} s away")
        elif path.name in NO_WALKING:
            false_steps += len(steps)
    if totals["duration_s"]:
        print(f"\nall clips: false footsteps (clips with nobody walking) {false_steps}; pose "
              f"{1000 * totals['pose_s'] / max(1, totals['frames']):.1f} ms/frame over {int(totals['frames'])} frames "
              f"(model on {int(totals['model_runs'])}), {totals['pose_s'] / totals['duration_s']:.3f} x media duration "
              f"(CPU {totals['cpu_s'] / totals['duration_s']:.3f} x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
