#!/usr/bin/env python3
"""Wall time and peak memory of ``soundcue caption`` per minute of media, beside PyAV decode time (issue 2).

Usage::

    python scripts/benchmark.py [FILES ...] [--cli PATH] [--long-minutes 10] [--out DIR]

Without FILES it uses a few files of ../shared/data (videos and audio) plus a long file it builds in
``--out`` by concatenating those real recordings with PyAV (AAC in .m4a) up to ``--long-minutes``, to show
that memory stays bounded. It skips cleanly when ../shared/data is missing and no FILES are given.

For each file, ``soundcue caption FILE -o TMP --quiet --json`` runs as its own subprocess; peak memory is
that process's ``ru_maxrss`` (``os.wait4``). Model load is measured twice: the CLI's own ``model_load_s``
and the wall time of a run on a 1-second file (interpreter start + imports + model load + a trivial
analysis). Processing time is the CLI's ``processing_s`` for the file (decode + analysis + writing
outputs, after model load). PyAV decode is timed in this process: the same file to 16 kHz mono float32.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import _evalcommon as ev  # noqa: E402
import numpy as np  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DEFAULT_FILES = ("videos/v_GGSY1Qvo990.mp4", "videos/greatesthit_chopping.mp4", "videos/chaplin.mp4",
                 "audio/crunching.mp3", "audio/rain.mp3")
MAX_RATIO = 0.05  # processing time / media duration, after model load (issue 2)
MAX_RSS_MB = 1536.0  # peak resident memory (issue 2: 1.5 GB)
LONG_RATE = 44100  # Hz of the generated long file


# Linux carries a process's RSS high-water mark across exec, so a child forked from this (large: it has
# decoded media) process would report this process's peak. A tiny launcher starts the measured command
# instead and writes its child's own ru_maxrss (KiB) to the file named in argv[1].
_LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_measured(cmd: list[str]) -> tuple[float, float, int, str, str]:
    """Run ``cmd``: (wall s, peak RSS MiB of that process, exit code, stdout, stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, rss.name, *cmd], cwd=ROOT, stdout=out,
                              stderr=err, check=False)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        peak_kib = float(rss.read() or 0)
        return (wall, peak_kib / 1024.0, proc.returncode,
                out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def decode_time(path: Path) -> tuple[float, float]:
    """(seconds PyAV takes to decode ``path`` to 16 kHz mono in this process, decoded seconds)."""
    t0 = time.perf_counter()
    n = sum(chunk.shape[0] for chunk in ev.iter_pcm(path, 16000))
    return time.perf_counter() - t0, n / 16000


def _encode_m4a(dest: Path, chunks: Any, rate: int) -> None:
    """Encode mono float32 chunks (at ``rate`` Hz) to AAC in an .m4a container with PyAV."""
    import av

    with av.open(str(dest), "w") as container:
        stream = container.add_stream("aac", rate=rate, layout="mono")
        stream.bit_rate = 96000
        pts = 0
        for chunk in chunks:
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1).astype(np.float32), format="flt",
                                               layout="mono")
            frame.sample_rate = rate
            frame.pts = pts
            pts += chunk.shape[0]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def build_long_file(sources: list[Path], minutes: float, dest: Path) -> Path:
    """Concatenate real recordings (cycling through ``sources``) to ``minutes`` of mono AAC at ``dest``."""
    if dest.exists() and abs(ev.duration_s(dest) - 60 * minutes) < 2.0:
        return dest
    target = int(60 * minutes * LONG_RATE)

    def chunks() -> Any:
        done = 0
        while done < target:
            for src in sources:
                for c in ev.iter_pcm(src, LONG_RATE):
                    c = c[: target - done]
                    done += c.shape[0]
                    if c.size:
                        yield c
                    if done >= target:
                        return

    _encode_m4a(dest, chunks(), LONG_RATE)
    return dest


def build_short_file(source: Path, dest: Path, seconds: float = 1.0) -> Path:
    """The first ``seconds`` of a real recording, for timing start-up and model load."""
    n = int(seconds * LONG_RATE)
    data = np.concatenate(list(ev.iter_pcm(source, LONG_RATE)))[:n]
    _encode_m4a(dest, [data], LONG_RATE)
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="media files (default: a few from ../shared/data)")
    ap.add_argument("--cli", help="soundcue executable (default: .venv/bin/soundcue, PATH, "
                                  "python -m captioning)")
    ap.add_argument("--long-minutes", type=float, default=10.0,
                    help="length of the generated long file in minutes (0: none)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/soundcue-bench"), help="work folder and results")
    a = ap.parse_args(argv)

    cli = ev.find_cli(a.cli, ROOT)
    if cli is None:
        print("benchmark: soundcue CLI not found (pass --cli). Skipping.")
        return 0
    a.out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = list(a.files)
    reference = files[0] if files else SHARED / "audio" / "rain.mp3"
    if not files:
        if not SHARED.is_dir():
            print(f"benchmark: {SHARED} not found and no files given. Skipping.")
            return 0
        files = [SHARED / f for f in DEFAULT_FILES if (SHARED / f).exists()]
        if a.long_minutes > 0:
            print(f"building a {a.long_minutes:g}-minute file from {len(files)} real recordings ...",
                  flush=True)
            files.append(build_long_file(files, a.long_minutes, a.out / f"long_{a.long_minutes:g}min.m4a"))
    short = build_short_file(reference, a.out / "one_second.m4a")

    def caption(path: Path) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(dir=a.out) as tmp:
            cmd = [*cli, "caption", str(path), "-o", tmp, "--quiet", "--json"]
            wall, rss, rc, out, err = run_measured(cmd)
        rec: dict[str, Any] = {"wall_s": round(wall, 3), "peak_rss_mb": round(rss, 1), "exit_code": rc}
        try:
            js = json.loads(out)
            rec["model_load_s"] = js.get("model_load_s")
            rec["processing_s"] = js["results"][0].get("processing_s")
        except (ValueError, LookupError, AttributeError):
            rec["stderr"] = err[-500:]
        return rec

    startup = caption(short)
    print(f"start-up + model load (1-s file): wall {startup['wall_s']:.2f} s, CLI model_load_s "
          f"{startup.get('model_load_s')}, peak RSS {startup['peak_rss_mb']:.0f} MB")
    rows = []
    for path in files:
        dur = ev.duration_s(path)
        rec = caption(path)
        dec_s, dec_media = decode_time(path)
        dur = dur or dec_media
        proc_s = rec.get("processing_s")
        if proc_s is None:
            proc_s = max(0.0, rec["wall_s"] - startup["wall_s"])
        rec.update(file=str(path), duration_s=round(dur, 2), processing_s=proc_s, decode_s=round(dec_s, 3),
                   ratio=round(proc_s / dur, 4) if dur else None,
                   processing_s_per_media_min=round(60 * proc_s / dur, 3) if dur else None,
                   decode_s_per_media_min=round(60 * dec_s / dur, 3) if dur else None,
                   wall_s_per_media_min=round(60 * rec["wall_s"] / dur, 3) if dur else None)
        rec["pass"] = (rec["exit_code"] == 0 and rec["ratio"] is not None and rec["ratio"] <= MAX_RATIO
                       and rec["peak_rss_mb"] <= MAX_RSS_MB)
        rows.append(rec)
        print(f"  {path.name}: {dur:.1f} s media, wall {rec['wall_s']:.2f} s, processing {proc_s:.2f} s",
              flush=True)

    head = (f"{'file':<34}{'media s':>9}{'wall s':>8}{'proc s':>8}{'proc/min':>9}{'ratio':>8}"
            f"{'decode s':>9}{'dec/min':>8}{'proc/dec':>9}{'RSS MB':>8}  verdict")
    print("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        pd = r["processing_s"] / r["decode_s"] if r["decode_s"] else float("nan")
        verdict = "PASS" if r["pass"] else "FAIL"
        if r["exit_code"] != 0:
            verdict += f" (exit {r['exit_code']})"
        print(f"{Path(r['file']).name[:33]:<34}{r['duration_s']:>9.1f}{r['wall_s']:>8.2f}{r['processing_s']:>8.2f}"
              f"{r['processing_s_per_media_min']:>9.2f}{r['ratio']:>8.4f}{r['decode_s']:>9.3f}"
              f"{r['decode_s_per_media_min']:>8.3f}{pd:>9.1f}{r['peak_rss_mb']:>8.0f}  "
              f"{verdict}")
    print(f"floors: processing/media <= {MAX_RATIO} after model load, peak RSS <= {MAX_RSS_MB:.0f} MB")
    result = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "commit": ev.git_commit(ROOT),
              "cpu_count": os.cpu_count(), "cli": " ".join(cli), "startup": startup, "files": rows}
    (a.out / "benchmark.json").write_text(json.dumps(result, indent=1))
    print(f"results in {a.out / 'benchmark.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
