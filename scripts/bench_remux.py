"""Time and peak memory of the remux (captioning.foley.remux) against video length (issue 11: streaming).

Builds H.264 + AAC MP4 files of the given lengths in --out (320x180, 25 fps, made with PyAV; a moving
gradient and a tone), then remuxes each in its own child process with a synthetic stereo Foley track made
block by block (a 50 ms noise burst every second) and a caption cue every 5 s, and prints the remux's wall
time, its speed against real time, the child's peak resident memory (``ru_maxrss`` from ``os.wait4``) and the
output size. The Foley engine is not timed here (scripts/eval_foley.py does that); needs nothing from
../shared.

    .venv/bin/python scripts/bench_remux.py                 # 1, 10 and 30 minutes
    .venv/bin/python scripts/bench_remux.py --minutes 1 60
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FPS = 25
SR = 48000
W, H = 320, 180


def build(path: Path, minutes: float) -> Path:
    """An MP4 of ``minutes``: H.264 (ultrafast) pictures of a moving gradient, AAC mono tone at -20 dBFS."""
    if path.exists():
        return path
    tmp = path.with_suffix(".part.mp4")
    n_frames = int(minutes * 60 * FPS)
    ramp = np.linspace(0, 255, W, dtype=np.float32)
    with av.open(str(tmp), "w") as out:
        vs = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast"})
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        aus = out.add_stream("aac", rate=SR)
        aus.layout = "mono"
        tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)).astype(np.float32)
        for i in range(n_frames):
            img = np.empty((H, W, 3), np.uint8)
            img[:] = ((ramp + 4 * i) % 256).astype(np.uint8)[None, :, None]
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for packet in vs.encode(frame):
                out.mux(packet)
            if i % FPS == 0:  # one second of audio per second of pictures
                af = av.AudioFrame.from_ndarray(tone[None], format="fltp", layout="mono")
                af.sample_rate, af.pts = SR, (i // FPS) * SR
                for packet in aus.encode(af):
                    out.mux(packet)
        for stream in (vs, aus):
            for packet in stream.encode():
                out.mux(packet)
    tmp.rename(path)
    return path


def foley_blocks(seconds: float) -> Iterator[np.ndarray]:
    """shape=(SR, 2) float32 blocks of one second each: a 50 ms noise burst at the start of every second."""
    rng = np.random.default_rng(0)
    for k in range(int(np.ceil(seconds))):
        n = min(SR, int(round(seconds * SR)) - k * SR)
        block = np.zeros((n, 2), np.float32)
        m = min(n, SR // 20)
        block[:m] = 0.3 * rng.standard_normal((m, 2))
        yield block


def child(video: Path, out: Path) -> None:
    from captioning.captions.model import Cue, CueLine
    from captioning.foley.remux import remux

    with av.open(str(video)) as c:
        seconds = float(c.duration / av.time_base) if c.duration else 0.0
    cues = [Cue(t * 1000, t * 1000 + 2000, (CueLine("[knock]"),), identifier=f"s{i + 1:04d}")
            for i, t in enumerate(range(0, int(seconds) - 2, 5))]
    t0 = time.perf_counter()
    remux(video, out, foley_blocks(seconds), sample_rate=SR, channels=2, cues=cues)
    print(f"{time.perf_counter() - t0:.3f} {seconds:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 30])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "soundcue-bench-remux")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"{'minutes':>8} {'input MB':>9} {'remux s':>8} {'x realtime':>11} {'peak RSS MB':>12} {'output MB':>10}")
    for minutes in args.minutes:
        video = build(args.out / f"video_{minutes:g}min.mp4", minutes)
        out = args.out / f"remuxed_{minutes:g}min.mp4"
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(video), str(out)],
                                stdout=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        assert proc.stdout is not None
        line = proc.stdout.read().split()
        if status != 0 or len(line) != 2:
            raise SystemExit(f"remux of {video} failed (status {status})")
        wall, seconds = float(line[0]), float(line[1])
        print(f"{minutes:>8g} {video.stat().st_size / 1e6:>9.1f} {wall:>8.2f} {seconds / wall:>11.0f} "
              f"{usage.ru_maxrss / 1024:>12.0f} {out.stat().st_size / 1e6:>10.1f}")


if __name__ == "__main__":
    main()
