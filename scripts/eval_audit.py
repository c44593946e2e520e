#!/usr/bin/env python3
"""Evaluate the caption audit (issue 12) on ../shared/data: cue reading, missed-cue finding, speed.

Usage::

    python scripts/eval_audit.py [--captions DIR] [--dev /tmp/soundscapes-dev] [--analysis DIR]
                                 [--out /tmp/soundcue-eval-audit] [--seed 7] [--json]

1. **Cue reading** on the real caption fixtures (``../shared/data/captions``: the Netflix SDH track in Spanish
   and the go-astisub files): every bracket or parenthesis in them is hand-labelled below (:data:`LABELS`:
   sound, speaker or note), every other line is dialogue (the fixtures have no lines in capitals or with music
   notes; :data:`LINE_LABELS` lists the speaker prefixes). Precision and recall of *sound description* against
   that list. Floor: both >= 0.9.
2. **Missed cues** on the dev soundscapes (``build_soundscapes.py``, reference track NAME.vtt, one cue per
   NAME.tsv row): a third of each reference track's cues (rounded) is deleted at random (seeded), and the rest
   audited against soundcue's analysis of NAME.wav. A reference sound is *detected* when an event (speech and
   ``ignore`` labels aside) overlaps its span; each missed event of a report is assigned to the reference it
   overlaps most. Floors: >= 80 % of the deleted cues whose sound is detected are reported missing; <= 10 % of
   the kept cues are reported missing.
3. **Speed**: a 10-minute audit: 30 dev soundscapes (600 s) joined into one analysis and one caption track,
   plus the Netflix track's cues as dialogue, audited by ``soundcue audit EVENTS.json CAPTIONS.vtt`` in a
   fresh process (model load, reading, audit, the three report files). Floor: < 0.1 x the media duration.

The analyses come from ``--analysis DIR`` (``DIR/NAME/events.json``, e.g. from ``soundcue caption *.wav -o
DIR``), else ``soundcue caption`` is run once over the WAVs into ``OUT/analysis``. Skips cleanly (exit 0) when
the data is missing.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

import _evalcommon as ev  # noqa: E402

from captioning.audit import AuditOptions, audit_captions, load_embedder, read_cue  # noqa: E402
from captioning.audit.cueclass import caps_file, load_lexicon  # noqa: E402
from captioning.audit.matching import SoundMatcher  # noqa: E402
from captioning.audit.salience import importance  # noqa: E402
from captioning.captions import read_caption_file  # noqa: E402
from captioning.captions.model import Cue, CueLine  # noqa: E402
from captioning.captions.reader import CaptionFile  # noqa: E402
from captioning.captions.writers import cues_to_vtt  # noqa: E402
from captioning.errors import CaptionFormatError  # noqa: E402
from captioning.events import Analysis, MediaInfo, SoundEvent  # noqa: E402
from captioning.vocabulary import load_vocabulary  # noqa: E402

SHARED = Path(os.environ.get("SOUNDCUE_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_OUT = Path("/tmp/soundcue-eval-audit")
FLOORS = {"cue_precision": (">=", 0.9), "cue_recall": (">=", 0.9), "deleted_reported": (">=", 0.8),
          "kept_reported": ("<=", 0.1), "speed_x": ("<", 0.1)}

# ------------------------------------------------------------------------------------------ hand labels
#: Every bracket/parenthesis text in the caption fixtures -> what it is. "sound": a sound description
#: (effects, music, and non-speech vocal sounds: laughing, sighing, sobbing, screaming, panting, kissing);
#: "speaker": who speaks (a name, "hombre", "joven Alba", "automated" before a recorded voice); "note": a
#: note that is not a sound (the language spoken, "inaudible", and manner of speaking with no sound of its own:
#: "azorada" embarrassed, "cándida" innocently, "tartamudea" stutters). Labelled by reading each cue in context.
LABELS: dict[str, str] = {
    # webvtt-py__netflix_chicas_del_cable.vtt
    "Alba": "speaker", "Ángeles": "speaker", "Victoria": "speaker", "Sara": "speaker", "Marga": "speaker",
    "Carlota": "speaker", "Carlos": "speaker", "hombre": "speaker", "Miguel": "speaker", "Francisco": "speaker",
    "joven Francisco": "speaker", "joven Alba": "speaker", "Ricardo": "speaker", "Pedro": "speaker",
    "Carmen": "speaker", "Beltrán": "speaker", "Alfonso XIII en inglés": "speaker",
    "ríe": "sound", "risita": "sound", "vítores y aplausos": "sound", "teléfono": "sound", "suspira": "sound",
    "riendo": "sound", "Ángeles ríe": "sound", "truenos": "sound", "tema musical": "sound", "solloza": "sound",
    "señal de teléfono y voces": "sound", "ríen emocionadas": "sound", "ríe suavemente": "sound",
    "risas": "sound", "respiración jadeante": "sound", "respira agitada": "sound", "puerta": "sound",
    "puerta abriéndose": "sound", "portazo": "sound", "pisa fuerte": "sound", "pequeños golpes": "sound",
    "para la música": "sound", "música": "sound", "música festiva y ambiente animado": "sound",
    "música de la fiesta": "sound", "motor a lo lejos": "sound", "llora": "sound", "lapicero cae": "sound",
    "jadeos": "sound", "gruñe": "sound", "grita con rabia": "sound", "dos disparos": "sound", "bobina": "sound",
    "beso": "sound", "aplausos": "sound", "ambas gritan": "sound", "Beltrán cuelga": "sound",
    "inaudible": "note", "en inglés": "note", "cándida": "note", "azorada": "note", "tartamudea": "note",
    # go-astisub__*
    "deep rumbling": "sound", "computer playing electronic melody": "sound", "instrumental music": "sound",
    "ticks": "sound", "dog barking": "sound", "beeping": "sound", "automated": "speaker",
}
#: Speaker prefixes ("MAN:") in the fixtures; every other line outside brackets is dialogue.
LINE_LABELS: dict[str, str] = {"MAN": "speaker"}


def _brackets(text: str) -> list[str]:
    import re

    return [" ".join((m[0] or m[1]).split()) for m in re.findall(r"\[([^\[\]]*)\]|\(([^()]*)\)", text)]


def eval_cue_reading(folder: Path, sound_like: Any) -> dict[str, Any]:
    """Sound-description precision/recall of the cue reader against :data:`LABELS` (module docstring)."""
    lex = load_lexicon()
    tp = fp = fn = 0
    spk_tp = spk_fp = spk_fn = 0
    files: list[dict[str, Any]] = []
    errors: list[str] = []
    for path in sorted(folder.iterdir()):
        try:
            doc = read_caption_file(path)
        except CaptionFormatError as e:
            files.append({"file": path.name, "status": f"not read: {str(e).split(': ', 1)[-1]}"})
            continue
        caps = caps_file(doc.cues)
        n_sound = 0
        for n, cue in zip(doc.numbers, doc.cues, strict=True):
            reading = read_cue(cue, lex, caps_dialogue=caps, sound_like=sound_like)
            truth_sound: collections.Counter[str] = collections.Counter()
            truth_speaker: collections.Counter[str] = collections.Counter()
            for inner in _brackets(cue.text):
                label = LABELS.get(inner)
                if label is None:
                    errors.append(f"{path.name} cue {n}: [{inner}] is not hand-labelled")
                    continue
                if label == "sound":
                    truth_sound.update(p.strip() for p in inner.replace(";", ",").split(",") if p.strip())
                elif label == "speaker":
                    truth_speaker[inner] += 1
            for line in cue.text.split("\n"):
                head = line.split(":", 1)[0].strip()
                if ":" in line and LINE_LABELS.get(head) == "speaker":
                    truth_speaker[head] += 1
            pred_sound = collections.Counter(s.text for s in reading.sounds)
            pred_speaker = collections.Counter(reading.speakers)
            n_sound += sum(pred_sound.values())
            tp += sum((pred_sound & truth_sound).values())
            fp += sum((pred_sound - truth_sound).values())
            fn += sum((truth_sound - pred_sound).values())
            spk_tp += sum((pred_speaker & truth_speaker).values())
            spk_fp += sum((pred_speaker - truth_speaker).values())
            spk_fn += sum((truth_speaker - pred_speaker).values())
            for wrong in (pred_sound - truth_sound):
                errors.append(f"{path.name} cue {n}: read {wrong!r} as a sound")
            for lost in (truth_sound - pred_sound):
                errors.append(f"{path.name} cue {n}: missed the sound {lost!r}")
        files.append({"file": path.name, "status": "read", "cues": len(doc.cues), "skipped_blocks": len(doc.skipped),
                      "sound_descriptions": n_sound})
    return {"files": files, "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else None, "recall": tp / (tp + fn) if tp + fn else None,
            "speaker_precision": spk_tp / (spk_tp + spk_fp) if spk_tp + spk_fp else None,
            "speaker_recall": spk_tp / (spk_tp + spk_fn) if spk_tp + spk_fn else None, "errors": errors}


# -------------------------------------------------------------------------------------------- dev audit
def _analyses(wavs: list[Path], analysis_dir: Path | None, out: Path) -> tuple[dict[str, Analysis], str]:
    folder = analysis_dir
    note = f"reused {analysis_dir}"
    if folder is None or not all((folder / w.stem / "events.json").exists() for w in wavs):
        folder = out / "analysis"
        cli = ev.find_cli(None, ROOT)
        if cli is None:
            raise SystemExit("eval_audit: no soundcue CLI to analyse the soundscapes (pass --analysis)")
        cmd = [*cli, "caption", *map(str, wavs), "-o", str(folder), "--quiet"]
        print(f"running {' '.join(cli)} caption <{len(wavs)} files> -o {folder} --quiet ...", flush=True)
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=False)
        note = f"soundcue caption in {time.perf_counter() - t0:.0f} s"
    found = {w.stem: Analysis.from_dict(json.loads((folder / w.stem / "events.json").read_text()))
             for w in wavs if (folder / w.stem / "events.json").exists()}
    return found, note


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def eval_missed(dev: Path, analyses: dict[str, Analysis], seed: int, embed: Any, version: str,
                out: Path, options: AuditOptions | None = None) -> dict[str, Any]:
    vocab = load_vocabulary()
    totals: collections.Counter[str] = collections.Counter()
    per_file = []
    audit_s = 0.0
    for stem, analysis in sorted(analyses.items()):
        refs = ev.read_reference_tsv(dev / f"{stem}.tsv")
        track = read_caption_file(dev / f"{stem}.vtt")
        if len(refs) != len(track.cues) or any(abs(r.onset - c.start) > 0.002 for r, c in
                                               zip(refs, track.cues, strict=True)):
            raise SystemExit(f"eval_audit: {stem}.vtt does not hold one cue per {stem}.tsv row")
        k = round(len(refs) / 3)
        deleted = set(random.Random(f"{seed}:{stem}").sample(range(len(refs)), k))
        kept_cues = tuple(c for i, c in enumerate(track.cues) if i not in deleted)
        kept_numbers = tuple(i + 1 for i in range(len(refs)) if i not in deleted)
        cut = CaptionFile(kept_cues, kept_numbers, "vtt")
        (out / "tracks").mkdir(parents=True, exist_ok=True)
        (out / "tracks" / f"{stem}.vtt").write_text(cues_to_vtt(kept_cues), encoding="utf-8")
        t0 = time.perf_counter()
        report = audit_captions(analysis, cut, options or AuditOptions(), captions_name=f"{stem}.vtt", embed=embed,
                                embedder_version=version, vocabulary=vocab)
        audit_s += time.perf_counter() - t0
        events = [e for e in analysis.events if importance(e, vocab) > 0]
        detected = [any(_overlap(r.onset, r.offset, e.start, e.end) > 0 for e in events) for r in refs]
        assigned: dict[int, list[SoundEvent]] = collections.defaultdict(list)
        extra = 0
        for m in report.missed:
            e = m.event.event
            best = _nearest_ref(refs, e)
            if _overlap(refs[best].onset, refs[best].offset, e.start, e.end) > 0:
                assigned[best].append(e)
            else:
                extra += 1
        uncertain: set[int] = set()  # references a listed *uncertain* event (under min_confidence) overlaps
        for u in report.uncertain:
            best = _nearest_ref(refs, u.event.event)
            if _overlap(refs[best].onset, refs[best].offset, u.event.event.start, u.event.event.end) > 0:
                uncertain.add(best)
        row: dict[str, Any] = {"file": stem, "cues": len(refs), "deleted": sorted(i + 1 for i in deleted),
                               "extra_missed": extra}
        for i, r in enumerate(refs):
            key = "deleted" if i in deleted else "kept"
            totals[key] += 1
            totals[f"{key}_detected"] += detected[i]
            if assigned.get(i):
                totals[f"{key}_reported"] += 1
                totals[f"{key}_detected_reported"] += detected[i]
                if key == "kept":
                    row.setdefault("kept_reported", []).append(f"{r.label}@{r.onset:.2f}: "
                                                               + ", ".join(e.caption for e in assigned[i]))
            elif key == "deleted" and detected[i]:
                row.setdefault("deleted_not_reported", []).append(
                    f"{r.label}@{r.onset:.2f}" + (" (listed uncertain)" if i in uncertain else ""))
            if detected[i] and (assigned.get(i) or i in uncertain):
                totals[f"{key}_detected_flagged"] += 1
        totals["extra_missed"] += extra
        totals["naming"] += len(report.naming)
        totals["unsupported"] += len(report.unsupported)
        totals["missed"] += len(report.missed)
        per_file.append(row)
    return {
        "files": len(analyses), "totals": dict(totals), "per_file": per_file,
        "deleted_reported": totals["deleted_detected_reported"] / totals["deleted_detected"]
        if totals["deleted_detected"] else None,
        "kept_reported": totals["kept_reported"] / totals["kept"] if totals["kept"] else None,
        "deleted_flagged": totals["deleted_detected_flagged"] / totals["deleted_detected"]
        if totals["deleted_detected"] else None,
        "kept_detected_reported": totals["kept_detected_reported"] / totals["kept_detected"]
        if totals["kept_detected"] else None,
        "audit_s_per_file": audit_s / len(analyses) if analyses else None,
    }


def _nearest_ref(refs: Sequence[Any], e: SoundEvent) -> int:
    """The reference sound an event overlaps most (nearest onset on ties)."""
    return max(range(len(refs)), key=lambda i: (_overlap(refs[i].onset, refs[i].offset, e.start, e.end),
                                                -abs(refs[i].onset - e.start)))


# ------------------------------------------------------------------------------------------------ speed
def _join(analyses: Sequence[tuple[str, Analysis]], tracks: Sequence[CaptionFile], dialogue: Sequence[Cue],
          seconds: float) -> tuple[Analysis, list[Cue]]:
    events: list[SoundEvent] = []
    cues: list[Cue] = []
    t = 0.0
    import dataclasses

    for (_stem, a), track in zip(analyses, tracks, strict=True):
        events += [dataclasses.replace(e, start=e.start + t, end=e.end + t, id="") for e in a.events]
        off = round(t * 1000)
        cues += [dataclasses.replace(c, start_ms=c.start_ms + off, end_ms=c.end_ms + off) for c in track.cues]
        t += a.media.duration
    # the Netflix track's dialogue and speaker labels of the same 10 minutes, mixed in (overlaps and all)
    cues += [Cue(d.start_ms, d.end_ms, tuple(CueLine(x.text) for x in d.lines)) for d in dialogue
             if d.end_ms <= seconds * 1000]
    cues.sort(key=lambda c: (c.start_ms, c.end_ms))
    from captioning.events import sort_events

    media = MediaInfo(path="joined_600s.wav", duration=t, format="wav")
    return Analysis(media=media, events=sort_events(events), models={"audio_tagger": "dev analyses"}), cues


def eval_speed(dev: Path, analyses: dict[str, Analysis], captions_dir: Path, out: Path) -> dict[str, Any]:
    items = sorted(analyses.items())[:30]
    tracks = [read_caption_file(dev / f"{stem}.vtt") for stem, _ in items]
    netflix = captions_dir / "webvtt-py__netflix_chicas_del_cable.vtt"
    dialogue = list(read_caption_file(netflix).cues) if netflix.exists() else []
    joined, cues = _join(items, tracks, dialogue, 600.0)
    out.mkdir(parents=True, exist_ok=True)
    events_json = out / "joined_600s.events.json"
    events_json.write_text(joined.to_json(), encoding="utf-8")
    vtt = out / "joined_600s.vtt"
    vtt.write_text(cues_to_vtt(cues), encoding="utf-8")
    cli = ev.find_cli(None, ROOT)
    if cli is None:
        return {"skipped": "no soundcue CLI"}
    cmd = [*cli, "audit", str(events_json), str(vtt), "-o", str(out / "joined_600s"), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    # the same audit in this process, the model already loaded: reading, auditing, the three renderings
    from captioning.audit import render_csv, render_html, render_json

    t0 = time.perf_counter()
    report = audit_captions(joined, read_caption_file(vtt), AuditOptions(), captions_name=vtt.name)
    for render in (render_json, render_html, render_csv):
        render(report)
    warm = time.perf_counter() - t0
    return {"command": " ".join(cmd), "media_s": round(joined.media.duration, 1), "events": len(joined.events),
            "cues": len(cues), "wall_s": round(wall, 2), "speed_x": wall / joined.media.duration,
            "warm_s": round(warm, 3), "exit_code": proc.returncode, "stderr": proc.stderr[-500:]}


# ------------------------------------------------------------------------------------------------- main
def _verdict(name: str, value: float | None) -> str:
    op, floor = FLOORS[name]
    if value is None:
        return "n/a"
    ok = value >= floor if op == ">=" else value <= floor if op == "<=" else value < floor
    return f"{op} {floor:g}  {'PASS' if ok else 'FAIL'}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--captions", type=Path, default=SHARED / "captions", help="caption fixtures folder")
    ap.add_argument("--dev", type=Path, default=Path("/tmp/soundscapes-dev"), help="dev soundscape folder")
    ap.add_argument("--analysis", type=Path, help="folder of NAME/events.json analyses of the dev WAVs to reuse")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--seed", type=int, default=7, help="seed of the cue deletion (default 7)")
    ap.add_argument("--min-confidence", type=float, default=None,
                    help="the audit's --min-confidence for the missed-cue part (default: the audit's own default)")
    ap.add_argument("--no-speed", action="store_true", help="skip the 10-minute timing")
    ap.add_argument("--json", action="store_true", help="print every figure as JSON")
    a = ap.parse_args(argv)

    have_captions = a.captions.is_dir()
    wavs = sorted(w for w in a.dev.glob("*.wav") if w.with_suffix(".tsv").exists() and w.with_suffix(".vtt").exists()) \
        if a.dev.is_dir() else []
    if not have_captions and not wavs:
        print(f"eval_audit: neither {a.captions} nor dev soundscapes in {a.dev}; skipping.")
        return 0
    a.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"commit": ev.git_commit(ROOT)}
    t0 = time.perf_counter()
    embed, version = load_embedder()
    results["embedder"] = {"version": version, "load_s": round(time.perf_counter() - t0, 2)}
    matcher = SoundMatcher(embed, load_vocabulary())
    lines = []
    if have_captions:
        r = eval_cue_reading(a.captions, matcher.sound_like)
        results["cue_reading"] = r
        lines += [f"cue reading: sound descriptions precision {r['precision']:.3f} "
                  f"{_verdict('cue_precision', r['precision'])}, recall {r['recall']:.3f} "
                  f"{_verdict('cue_recall', r['recall'])} (TP {r['tp']}, FP {r['fp']}, FN {r['fn']}); speaker labels "
                  f"precision {r['speaker_precision']:.3f}, recall {r['speaker_recall']:.3f}"]
        lines += [f"  {f['file']}: {f['status']}" + (f", {f['cues']} cues, {f['skipped_blocks']} skipped blocks, "
                                                    f"{f['sound_descriptions']} sound descriptions"
                                                    if f["status"] == "read" else "") for f in r["files"]]
        lines += [f"  - {e}" for e in r["errors"]]
    else:
        lines.append(f"cue reading: {a.captions} missing; skipped")
    if wavs:
        analyses, note = _analyses(wavs, a.analysis, a.out)
        opts = AuditOptions() if a.min_confidence is None else AuditOptions(min_confidence=a.min_confidence)
        m = eval_missed(a.dev, analyses, a.seed, embed, version, a.out, opts)
        results["missed_cues"] = {**m, "analysis": note}
        t = m["totals"]
        lines += [
            f"missed cues ({m['files']} dev soundscapes, seed {a.seed}, --min-confidence {opts.min_confidence:g}, "
            f"analysis {note}):",
            f"  deleted cues whose sound is detected, reported missing: {t.get('deleted_detected_reported', 0)}/"
            f"{t.get('deleted_detected', 0)} = {m['deleted_reported']:.3f} "
            f"{_verdict('deleted_reported', m['deleted_reported'])}"
            f"  (deleted: {t.get('deleted', 0)}, their sound detected: {t.get('deleted_detected', 0)})",
            f"  the same, reported missing or listed uncertain (under --min-confidence): "
            f"{t.get('deleted_detected_flagged', 0)}/{t.get('deleted_detected', 0)} = {m['deleted_flagged']:.3f}",
            f"  kept cues reported missing: {t.get('kept_reported', 0)}/{t.get('kept', 0)} = {m['kept_reported']:.3f} "
            f"{_verdict('kept_reported', m['kept_reported'])}  (of kept cues whose sound is detected: "
            f"{m['kept_detected_reported']:.3f})",
            f"  naming disagreements {t.get('naming', 0)}, unsupported cues {t.get('unsupported', 0)}, missed events "
            f"{t.get('missed', 0)} of which {t.get('extra_missed', 0)} overlap no reference sound; audit "
            f"{m['audit_s_per_file'] * 1000:.1f} ms per 20 s file (model loaded)",
        ]
        for row in m["per_file"]:
            for k in ("kept_reported", "deleted_not_reported"):
                if row.get(k):
                    lines.append(f"  {row['file']} {k}: {'; '.join(row[k])}")
        if not a.no_speed:
            s = eval_speed(a.dev, analyses, a.captions, a.out)
            results["speed"] = s
            if "skipped" not in s:
                lines.append(f"speed: {s['command']}\n  {s['media_s']:.0f} s of media, {s['events']} events, "
                             f"{s['cues']} cues: {s['wall_s']:.2f} s = {s['speed_x']:.4f} x duration "
                             f"{_verdict('speed_x', s['speed_x'])} (exit code {s['exit_code']}; a fresh process: "
                             f"imports, model load, reading, audit, three report files); in-process with the model "
                             f"loaded: {s['warm_s']:.2f} s")
    else:
        lines.append(f"missed cues: no dev soundscapes in {a.dev}; skipped")
    (a.out / "metrics.json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    if a.json:
        print(json.dumps(results, indent=1, ensure_ascii=False))
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
