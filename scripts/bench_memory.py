"""Peak memory of ``soundcue caption`` against media duration (issue 9: flat memory).

Builds quiet FLAC files of the given lengths (room tone with a knock a minute, 16 kHz mono, made with
PyAV; a few MB each) in --out, runs the CLI on each as its own process and prints each run's peak resident
memory (``ru_maxrss`` of the child, from ``os.wait4``) and its ratio to the shortest file's. Needs nothing
from ../shared.

    .venv/bin/python scripts/bench_memory.py                  # 10 min, 1 h, 4 h
    .venv/bin/python scripts/bench_memory.py --minutes 10 120
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SR = 16000


def build(path: Path, minutes: float) -> Path:
    """Room tone (-60 dBFS noise) with a 0.1 s knock at the start of every minute, as FLAC."""
    if path.exists():
        return path
    rng = np.random.default_rng(0)
    t = np.arange(int(0.1 * SR)) / SR
    knock = (0.5 * np.exp(-t / 0.02) * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    tmp = path.with_suffix(".part.flac")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("flac", rate=SR)
        stream.layout = "mono"
        block = 60 * SR
        for k in range(int(round(minutes))):
            pcm = (rng.standard_normal(block) * 1e-3).astype(np.float32)
            pcm[SR:SR + knock.size] += knock
            frame = av.AudioFrame.from_ndarray((pcm * 32767).astype(np.int16)[None], format="s16", layout="mono")
            frame.sample_rate, frame.pts = SR, k * block
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.rename(path)
    return path


def run(cli: list[str], media: Path, out_dir: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one ``soundcue caption`` child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*cli, "caption", str(media), "-o", str(out_dir), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"soundcue failed on {media}: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[10, 60, 240])
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "soundcue-bench-memory")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    exe = ROOT / ".venv" / "bin" / "soundcue"
    cli = [str(exe)] if exe.exists() else [sys.executable, "-m", "captioning"]
    rows = []
    for minutes in sorted(a.minutes):
        media = build(a.out / f"quiet_{minutes:g}min.flac", minutes)
        wall, peak = run(cli, media, a.out / "out")
        rows.append((minutes, wall, peak))
        print(f"{minutes:6g} min: wall {wall:7.1f} s ({wall / (60 * minutes):.4f} x media), peak RSS {peak:6.0f} MB",
              flush=True)
    base = rows[0][2]
    print("\nminutes  peak MB  vs shortest")
    for minutes, _, peak in rows:
        print(f"{minutes:7g}  {peak:7.0f}  {peak / base:6.2f}")
    print("floor (issue 9): the longest within 1.20 x the shortest:", "PASS" if rows[-1][2] <= 1.2 * base else "FAIL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
