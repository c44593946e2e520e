"""Evaluate haptic rendering on the dev soundscapes (issue 5).

For every ``*.wav`` in the directory: analyse it with ``captioning.pipeline.analyze``, render haptics, and
check that every salient abrupt event has a transient within ``--tolerance-ms`` (10 ms) of its onset. Also
reports the onset error of those transients, events fused into an earlier tap (closer than the merge gap),
whether every output obeys its platform's limits, and, when a reference list ``<name>.tsv`` (onset, offset,
event_label) sits beside the WAV, how many reference sounds get a haptic cue starting within ``--collar-s``
of their onset (a whole-chain figure: detection misses count against it).

Usage::

    python scripts/eval_haptics.py /tmp/soundscapes-dev [--profile calm] [--limit 10] [--plots out/]

Skips cleanly (exit 0) when the directory is missing. Exit status 1 if a salient abrupt event has neither a
transient within the tolerance nor a merged tap, or an output breaks its limits.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from captioning.haptics import (  # noqa: E402
    HapticOptions,
    HapticTrack,
    is_salient,
    reference_level,
    render_haptics,
    to_ahap,
    to_android,
    to_cue_json,
    to_web,
)


@dataclass
class FileResult:
    name: str
    salient_abrupt: int = 0
    within_tolerance: int = 0
    merged: int = 0
    missed: list[str] = field(default_factory=list)
    onset_errors_ms: list[float] = field(default_factory=list)
    reference: int = 0
    reference_felt: int = 0
    violations: list[str] = field(default_factory=list)
    n_transients: int = 0
    n_continuous: int = 0
    render_s: float = 0.0


def evaluate_track(analysis: Any, track: HapticTrack, tolerance_s: float) -> FileResult:
    """Salient abrupt events vs the track's transients."""
    res = FileResult(name=Path(analysis.media.path).name, n_transients=len(track.transients),
                     n_continuous=len(track.continuous))
    opts = track.options
    ref_db = reference_level(analysis.events, opts)
    for event in analysis.events:
        if event.kind != "abrupt" or not is_salient(event, ref_db, opts):
            continue
        res.salient_abrupt += 1
        near = [c for c in track.transients if abs(c.time - event.start) <= tolerance_s]
        if near:
            res.within_tolerance += 1
            res.onset_errors_ms.append(min(abs(c.time - event.start) for c in near) * 1000)
        elif any(event.id in c.merged_ids for c in track.transients):
            res.merged += 1
        else:
            res.missed.append(f"{event.label}@{event.start:.3f}")
    return res


def check_limits(track: HapticTrack, validator: Any) -> list[str]:
    """Every output against its platform's rules; returns the violations found."""
    out: list[str] = []
    if validator is not None:
        out += [f"ahap: {e.message}" for e in validator["ahap"].iter_errors(to_ahap(track))]
        out += [f"cue json: {e.message}" for e in validator["cues"].iter_errors(to_cue_json(track))]
    for w in to_android(track)["waveforms"]:
        if len(w["timings"]) != len(w["amplitudes"]) or not all(0 <= a <= 255 for a in w["amplitudes"]):
            out.append(f"android: bad waveform at {w['start_ms']} ms")
    for c in to_web(track)["chunks"]:
        p = c["pattern"]
        if len(p) > 99 or any(x > 10_000 for x in p) or len(p) % 2 == 0:
            out.append(f"web: bad pattern at {c['start_ms']} ms")
    for cue in track.continuous:
        if cue.duration > 0 and any(v > track.options.ceiling + 1e-9 for _, v in cue.envelope):
            out.append("ceiling exceeded")
    return out


def reference_coverage(tsv: Path, track: HapticTrack, collar_s: float) -> tuple[int, int]:
    """(reference events, those with a cue starting within ``collar_s`` of their onset)."""
    with tsv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    onsets = [float(r["onset"]) for r in rows]
    starts = [c.time for c in track.cues]
    felt = sum(1 for t in onsets if any(abs(s - t) <= collar_s for s in starts))
    return len(onsets), felt


def _validators() -> dict[str, Any] | None:
    try:
        import jsonschema
    except ImportError:
        return None
    data = resources.files("captioning").joinpath("data")
    return {
        key: jsonschema.Draft202012Validator(json.loads(data.joinpath(name).read_text(encoding="utf-8")))
        for key, name in (("ahap", "ahap.schema.json"), ("cues", "haptics.schema.json"))
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path, nargs="?", default=Path("/tmp/soundscapes-dev"),
                        help="folder of dev soundscapes (*.wav, optional *.tsv references)")
    parser.add_argument("--profile", choices=("standard", "calm"), default="standard", help="haptic profile")
    parser.add_argument("--tolerance-ms", type=float, default=10.0, help="onset tolerance for transients")
    parser.add_argument("--collar-s", type=float, default=0.2, help="onset collar for reference events")
    parser.add_argument("--limit", type=int, default=None, help="evaluate at most this many files")
    parser.add_argument("--plots", type=Path, default=None, help="write a timeline PNG per file here")
    parser.add_argument("--json", type=Path, default=None, help="write per-file results as JSON here")
    args = parser.parse_args(argv)

    wavs = sorted(args.directory.glob("*.wav")) if args.directory.is_dir() else []
    if not wavs:
        print(f"skipping: no soundscapes (*.wav) in {args.directory}")
        return 0
    from captioning.pipeline import analyze

    wavs = wavs[: args.limit] if args.limit else wavs
    options = HapticOptions(profile=args.profile)
    validators = _validators()
    results: list[FileResult] = []
    for wav in wavs:
        analysis = analyze(wav)
        t0 = time.perf_counter()
        track = render_haptics(analysis, options)
        render_s = time.perf_counter() - t0
        res = evaluate_track(analysis, track, args.tolerance_ms / 1000)
        res.render_s = render_s
        res.violations = check_limits(track, validators)
        tsv = wav.with_suffix(".tsv")
        if tsv.exists():
            res.reference, res.reference_felt = reference_coverage(tsv, track, args.collar_s)
        if args.plots:
            from captioning.timeline import plot_timeline

            plot_timeline(analysis, args.plots / f"{wav.stem}.timeline.png", haptics=track)
        results.append(res)
        print(f"{res.name}: {res.salient_abrupt} salient abrupt, {res.within_tolerance} tapped within "
              f"{args.tolerance_ms:g} ms, {res.merged} fused, missed {res.missed or 'none'}; "
              f"{res.n_transients} taps, {res.n_continuous} buzzes; reference felt "
              f"{res.reference_felt}/{res.reference}; {len(res.violations)} limit violations")

    salient = sum(r.salient_abrupt for r in results)
    within = sum(r.within_tolerance for r in results)
    merged = sum(r.merged for r in results)
    missed = sum(len(r.missed) for r in results)
    errors = [e for r in results for e in r.onset_errors_ms]
    ref, felt = sum(r.reference for r in results), sum(r.reference_felt for r in results)
    violations = sum(len(r.violations) for r in results)
    print()
    print(f"files: {len(results)}  profile: {args.profile}  schemas checked: {validators is not None}")
    print(f"salient abrupt events: {salient}; transient within {args.tolerance_ms:g} ms: {within} "
          f"({within / max(salient, 1):.1%}); fused into an earlier tap (< merge gap): {merged}; "
          f"missed: {missed}")
    if errors:
        print(f"onset error of those transients: median {statistics.median(errors):.2f} ms, "
              f"max {max(errors):.2f} ms")
    if ref:
        print(f"reference sounds with a haptic cue within {args.collar_s:g} s of onset: {felt}/{ref} "
              f"({felt / ref:.1%}; includes detection misses)")
    print(f"output limit violations: {violations}")
    print(f"render time per file: median {statistics.median(r.render_s for r in results) * 1000:.1f} ms")
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1), encoding="utf-8")
    return 1 if missed or violations else 0


if __name__ == "__main__":
    sys.exit(main())
