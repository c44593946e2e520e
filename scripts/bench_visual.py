"""Time and memory of the visual stages (issue 10), beside the audio path, in one process per run.

    .venv/bin/python scripts/bench_visual.py                      # the dev videos in ../shared/data/videos
    .venv/bin/python scripts/bench_visual.py --repeat 3               # fastest of 3 runs (a busy machine)
    .venv/bin/python scripts/bench_visual.py FILE [FILE ...]
    .venv/bin/python scripts/bench_visual.py --long-minutes 60    # also a generated 720p video: peak memory
    .venv/bin/python scripts/bench_visual.py --long-minutes 60 --long-only

For each file: wall time of ``analyze`` with sight off (``visual=False``) and on, after the models are
loaded (a warm-up run first), as a fraction of the media duration; the visual overhead is their difference.
With ``--repeat N`` the two runs alternate N times and the fastest of each counts (other processes on the
machine only ever add time); the CPU time of the process (all threads) is printed beside, and the load
average before and after, so a busy machine shows.
With --long-minutes, a 1280x720 H.264 clip of moving shapes (with room tone) is made with PyAV in /tmp and
analysed in a child process whose peak RSS (ru_maxrss via os.wait4) is printed. Skips cleanly (exit 0) when
no files are given and ../shared is missing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "data" / "videos"


def make_long(path: Path, minutes: float, fps: int = 25) -> Path:
    """A 1280x720 clip of a bouncing square over a gradient, with -50 dBFS noise as audio."""
    if path.exists():
        return path
    tmp = path.with_suffix(".part.mp4")
    rng = np.random.default_rng(0)
    base = np.tile(np.linspace(40, 200, 1280, dtype=np.uint8)[None, :, None], (720, 1, 3))
    with av.open(str(tmp), "w") as out:
        vs = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = 1280, 720, "yuv420p"
        aus = out.add_stream("aac", rate=16000)
        aus.layout = "mono"
        n = int(minutes * 60 * fps)
        for i in range(n):
            img = base.copy()
            y = int(abs(((i % 50) - 25) / 25) * 560)
            img[y:y + 120, 600:720] = 255
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts, f.time_base = i, Fraction(1, fps)
            for p in vs.encode(f):
                out.mux(p)
            k = i * 16000 // fps
            pcm = (rng.standard_normal(16000 // fps) * 0.003).astype(np.float32)[None]
            af = av.AudioFrame.from_ndarray(pcm, format="flt", layout="mono")
            af.sample_rate, af.pts = 16000, k
            for p in aus.encode(af):
                out.mux(p)
        for s in (vs, aus):
            for p in s.encode():
                out.mux(p)
    tmp.rename(path)
    return path


def timed(path: Path, visual: bool) -> tuple[float, float, float]:
    """(wall s, CPU s of all threads, media duration s) of one ``analyze``."""
    from captioning.pipeline import AnalysisOptions, analyze

    t0, c0 = time.perf_counter(), time.process_time()
    a = analyze(path, AnalysisOptions(visual=visual))
    return time.perf_counter() - t0, time.process_time() - c0, a.media.duration


def best_of(path: Path, repeat: int) -> tuple[float, float, float, float, float]:
    """(media s, wall audio, wall both, CPU audio, CPU both): fastest of ``repeat`` alternating runs."""
    runs = [(timed(path, False), timed(path, True)) for _ in range(repeat)]
    audio, both = min(r[0] for r in runs), min(r[1] for r in runs)
    return audio[2], audio[0], both[0], audio[1], both[1]


def child_peak(path: Path) -> tuple[float, float]:
    code = ("import sys; from captioning.pipeline import analyze; analyze(sys.argv[1])")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"analysis of {path} failed")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def _row(name: str, dur: float, wall_audio: float, wall_both: float, cpu_audio: float, cpu_both: float) -> str:
    return (f"{name:34} {dur:8.1f} {wall_audio / dur:8.3f} {wall_both / dur:8.3f} "
            f"{(wall_both - wall_audio) / dur:9.3f} {(cpu_both - cpu_audio) / dur:13.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--long-minutes", type=float, default=0.0)
    ap.add_argument("--long-only", action="store_true", help="only the generated long video")
    ap.add_argument("--repeat", type=int, default=1, help="alternating runs per file; the fastest counts")
    a = ap.parse_args(argv)
    files = [] if a.long_only else a.files or (sorted(DEV.glob("*.mp4")) if DEV.is_dir() else [])
    if not files and not a.long_minutes:
        print("bench_visual: no files given and ../shared/data/videos is missing; skipping")
        return 0
    if files:
        timed(files[0], True)  # warm-up: load every model once
        print(f"load average before: {os.getloadavg()[0]:.2f}; fastest of {a.repeat} run(s) each")
        print(f"{'file':34} {'media s':>8} {'audio x':>8} {'both x':>8} {'visual x':>9} {'visual CPU x':>13}")
        total = [0.0] * 5
        for f in files:
            row = best_of(f, max(1, a.repeat))
            total = [x + y for x, y in zip(total, row, strict=True)]
            print(_row(f.name, *row))
        print(_row("all", *total) + "   (floor: visual <= 0.25 x media duration)")
        print(f"load average after: {os.getloadavg()[0]:.2f} (2 cores)")
    if a.long_minutes:
        path = make_long(Path(tempfile.gettempdir()) / f"soundcue-720p-{a.long_minutes:g}min.mp4", a.long_minutes)
        wall, peak = child_peak(path)
        ratio = wall / (60 * a.long_minutes)
        print(f"\n{path.name}: {a.long_minutes:g} min of 720p, wall {wall:.0f} s ({ratio:.3f} x), "
              f"peak RSS {peak:.0f} MB (floor: < 1536 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
