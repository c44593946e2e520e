#!/usr/bin/env python3
"""Evaluate ``soundcue caption`` on the dev soundscape set (issue 2) and print the figures and floors.

Usage::

    python scripts/eval_dev.py /tmp/soundscapes-dev [--cli PATH] [--out OUTDIR] [--reuse]
                               [--baseline naive]

Build the set first (see ../shared/data/README.md)::

    python3 ../shared/tools/build_soundscapes.py ../shared/tools/manifest_dev.json /tmp/soundscapes-dev \\
        --n 40 --seed 7 --dur 20 --cache /tmp/debcache

The CLI runs once over all WAVs (models load once) and writes ``OUTDIR/<stem>/events.json``; ``--reuse``
scores existing outputs. ``--baseline naive`` also scores, in-process, the naive tagger (YAMNet 0.96 s
windows every 0.48 s, fixed threshold, adjacent windows of a class merged) on the same files. All figures
go to ``OUTDIR/metrics.json``. Definitions are in ``scripts/_evalcommon.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # models/ when the project is not installed

import _evalcommon as ev  # noqa: E402
import numpy as np  # noqa: E402

DEFAULT_OUT = Path("/tmp/soundcue-eval-dev")


def run_cli(cli: list[str], wavs: list[Path], out: Path) -> tuple[float, int, str]:
    """Run ``soundcue caption`` once over all files; (wall seconds, exit code, stderr tail)."""
    cmd = [*cli, "caption", *map(str, wavs), "-o", str(out), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    return wall, proc.returncode, proc.stderr[-2000:]


def naive_predictions(wavs: list[Path], threshold: float) -> dict[str, list[ev.PredEvent]]:
    """Naive tagger events per file stem, computed in-process with models.yamnet."""
    import captioning  # noqa: F401  # import the core before models/ (models.yamnet imports captioning.errors)
    from models import yamnet as yam

    model = yam.load_yamnet()
    hop = yam.PATCH_FRAMES // 2  # 48 frames = 0.48 s, YAMNet's own patch hop
    out = {}
    for wav in wavs:
        audio = np.concatenate(list(ev.iter_pcm(wav, yam.SAMPLE_RATE)) or [np.zeros(0, np.float32)])
        mel = yam.log_mel(yam.magnitude_frames(yam.frame_audio(audio)))  # (n_frames, 64)
        starts = range(0, max(0, mel.shape[0] - yam.PATCH_FRAMES) + 1, hop)
        if mel.shape[0] >= yam.PATCH_FRAMES:
            patches = np.stack([mel[s:s + yam.PATCH_FRAMES] for s in starts])  # (n, 96, 64)
        else:
            patches = np.zeros((0, yam.PATCH_FRAMES, yam.MEL_BANDS), np.float32)
        probs = model(patches)  # (n_patches, 521)
        out[wav.stem] = ev.naive_events(probs, model.class_names, hop_s=hop * yam.FRAME_S,
                                        win_s=yam.PATCH_FRAMES * yam.FRAME_S, threshold=threshold)
    return out


def score_all(wavs: list[Path], preds: dict[str, list[ev.PredEvent]],
              kinds: dict[str, str | None]) -> list[ev.FileScore]:
    return [ev.score_file(ev.read_reference_tsv(w.with_suffix(".tsv")), preds.get(w.stem, []),
                          kinds.get(w.stem)) for w in wavs]


def _fmt(v: float | None, path: str) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if path.endswith("_ms") else f"{v:.3f}"


def _get(summary: dict[str, Any], path: str) -> float | None:
    v: Any = summary
    for k in path.split("."):
        v = v.get(k) if isinstance(v, dict) else None
    return float(v) if v is not None else None


def print_report(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    main = results[names[0]]
    rows = [
        "onset_agnostic.f1", "onset_agnostic.precision", "onset_agnostic.recall",
        "onset_labelled.f1", "onset_labelled.precision", "onset_labelled.recall",
        "event_based_agnostic.f1", "event_based_agnostic.precision", "event_based_agnostic.recall",
        "event_based_labelled.f1", "event_based_labelled.precision", "event_based_labelled.recall",
        "median_abs_onset_error_ms", "onset_agnostic_without_background_drop.precision",
    ]
    floors = {path: (op, floor) for path, op, floor in ev.FLOORS}
    head = f"{'figure':<50}" + "".join(f"{n:>12}" for n in names) + f"{'floor':>10}  verdict"
    print(head)
    print("-" * len(head))
    for path in rows:
        line = f"{path:<50}" + "".join(f"{_fmt(_get(results[n], path), path):>12}" for n in names)
        if path in floors:
            op, floor = floors[path]
            v = _get(main, path)
            ok = v is not None and (v >= floor if op == ">=" else v <= floor)
            line += f"{op + str(floor):>10}  {'PASS' if ok else 'FAIL'}"
        print(line)
    for n in names:
        r = results[n]
        print(f"\n[{n}] files={r['files']} references={r['n_ref']} predictions scored={r['n_pred_scored']} "
              f"background-only predictions dropped={r['background_dropped']} "
              f"(flagged background: {r['background_dropped_flagged']})"
              + (f" missing outputs={r['missing_outputs']}" if r.get("missing_outputs") else ""))
    print(f"\nPer label ({names[0]}): n_ref, recall class-agnostic, recall labelled, n_pred, "
          "precision labelled; what was said instead")
    conf = main.get("confusions", {})
    for label, row in main["per_label"].items():
        instead = ", ".join(f"{k} x{c}" for k, c in conf.get(label, []))
        print(f"  {label:<14}{row['n_ref']:>4}{row['recall_agnostic']:>7.2f}{row['recall_labelled']:>7.2f}"
              f"{row['n_pred']:>5}{row['precision_labelled']:>7.2f}   {instead}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", type=Path, help="dev soundscape folder (NAME.wav + NAME.tsv, build.json)")
    ap.add_argument("--cli", help="path of the soundcue executable (default: .venv/bin/soundcue, PATH, "
                                  "or python -m captioning)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--reuse", action="store_true", help="score existing OUTDIR/<stem>/events.json")
    ap.add_argument("--baseline", choices=["naive"], help="also score the naive tagger baseline")
    ap.add_argument("--no-cli", action="store_true", help="do not run or score soundcue (baseline only)")
    ap.add_argument("--threshold", type=float, default=0.5, help="naive baseline threshold (default 0.5)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (quick runs)")
    a = ap.parse_args(argv)

    wavs = sorted(a.dir.glob("*.wav")) if a.dir.is_dir() else []
    wavs = [w for w in wavs if w.with_suffix(".tsv").exists()]
    if not wavs:
        print(f"eval_dev: no soundscapes (NAME.wav + NAME.tsv) in {a.dir}; build them with "
              "../shared/tools/build_soundscapes.py (see ../shared/data/README.md). Skipping.")
        return 0
    if a.limit:
        wavs = wavs[: a.limit]

    bad = ev.unknown_names(ev.read_class_names(ev.yamnet_class_map()))
    if bad:
        print(f"eval_dev: names not in YAMNet's class map: {bad}", file=sys.stderr)
        return 1
    kinds: dict[str, str | None] = {w.stem: None for w in wavs}
    build = a.dir / "build.json"
    if build.exists():
        for stem, info in json.loads(build.read_text()).get("outputs", {}).items():
            kinds[stem] = ev.background_kind(info.get("background", ""))
    a.out.mkdir(parents=True, exist_ok=True)
    media_s = sum(ev.duration_s(w) for w in wavs)

    results: dict[str, dict[str, Any]] = {}
    meta: dict[str, Any] = {"dir": str(a.dir), "files": len(wavs), "media_seconds": round(media_s, 2),
                            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                            "commit": ev.git_commit(ROOT), "background_kinds": kinds}
    cli = None if a.no_cli else ev.find_cli(a.cli, ROOT)
    if a.cli and not a.no_cli and shutil.which(a.cli) is None:
        print(f"eval_dev: --cli {a.cli}: no such executable", file=sys.stderr)
        return 2
    if not a.no_cli and (a.reuse or cli is not None):
        if not a.reuse:
            assert cli is not None
            print(f"running {' '.join(cli)} caption <{len(wavs)} files> -o {a.out} --quiet ...", flush=True)
            wall, rc, err = run_cli(cli, wavs, a.out)
            meta.update(cli=" ".join(cli), cli_wall_s=round(wall, 2), cli_exit_code=rc,
                        cli_wall_per_media_s=round(wall / media_s, 4) if media_s else None)
            print(f"CLI: {wall:.1f} s for {media_s:.0f} s of media (x{wall / media_s:.3f} incl. model load), "
                  f"exit code {rc}")
            if rc != 0:
                print(f"CLI stderr (tail):\n{err}", file=sys.stderr)
        preds: dict[str, list[ev.PredEvent]] = {}
        missing = []
        for w in wavs:
            ej = a.out / w.stem / "events.json"
            if ej.exists():
                preds[w.stem] = ev.read_predictions(ej)
            else:
                missing.append(w.stem)
        results["soundcue"] = ev.summarize(score_all(wavs, preds, kinds))
        results["soundcue"]["missing_outputs"] = missing
        if len(missing) == len(wavs):
            print(f"eval_dev: no events.json under {a.out}: nothing to score for soundcue", file=sys.stderr)
            del results["soundcue"]
    elif not a.no_cli:
        print("eval_dev: soundcue CLI not found (pass --cli); scoring only the baseline" if a.baseline
              else "eval_dev: soundcue CLI not found (pass --cli). Skipping.")
    if a.baseline == "naive":
        t0 = time.perf_counter()
        naive = naive_predictions(wavs, a.threshold)
        meta["naive_wall_s"] = round(time.perf_counter() - t0, 2)
        results[f"naive@{a.threshold:g}"] = ev.summarize(score_all(wavs, naive, kinds))
    if not results:
        return 0

    print_report(results)
    first = results[next(iter(results))]
    floors = [{"figure": p, "value": v, "op": op, "floor": f, "pass": ok}
              for p, v, op, f, ok in ev.check_floors(first)]
    out = {"meta": meta, "floors": floors, **results}
    (a.out / "metrics.json").write_text(json.dumps(out, indent=1))
    verdict = "ALL PASS" if all(r["pass"] for r in floors) else "SOME FAIL"
    print(f"\nfloors: {verdict} ({next(iter(results))}); "
          f"figures in {a.out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
