"""Write a listening folder of Foley renders (issue 11), so a person can look and listen.

For each dev clip (../shared/data/videos): chaplin.mp4 (footsteps from the pictures), greatesthit_hitting_metal.mp4
(metal hits), greatesthit_hitting_bag.mp4 and greatesthit_chopping.mp4 (sparse short hits: the hardest tracks to
bring to the loudness target) and v_GGSY1Qvo990.mp4 analysed as a silent clip (its audio ignored:
``AnalysisOptions(audio=False)``, so every sound comes from the pictures), the clip is analysed once with the
library API and rendered with each effect profile (realistic, dramatic, cartoon) and once more realistic with
background music. Beside every WAV a spectrogram PNG shows the track with the events' onsets marked;
``events.json`` is the event list rendered.

Printed per render: loudness reached (BS.1770-4) and true peak, the limiter's deepest reduction, and the crest
factor (peak over RMS in 50 ms windows whose peak is within 12 dB of the track's peak: min / median; a flattened
hit has a low one), plus the same crest factor of the clip's own recording for comparison. For clips whose audio
was analysed, "sync" compares the onsets of the realistic render with those of the clip's own recording (the
same detector as ``eval_foley.py align``, on both; each recorded onset matched to the nearest rendered one within
100 ms): median and largest error, and how many recorded onsets found no rendered hit.

Usage::

    python scripts/foley_listening.py [--videos ../shared/data/videos] [--out out/foley-listening]

Skips cleanly (exit 0) when the clips are not there.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for where in (ROOT, ROOT / "scripts"):
    if str(where) not in sys.path:
        sys.path.insert(0, str(where))

from captioning.events import Analysis  # noqa: E402
from captioning.foley import FoleyOptions  # noqa: E402
from captioning.foley.render import foley_report  # noqa: E402
from captioning.pipeline import AnalysisOptions, analyze  # noqa: E402

DEFAULT_VIDEOS = ROOT.parent / "shared" / "data" / "videos"
#: clip -> analyse its audio too (False: a silent version, every event from the pictures)
CLIPS = {"chaplin.mp4": True, "greatesthit_hitting_metal.mp4": True, "greatesthit_hitting_bag.mp4": True,
         "greatesthit_chopping.mp4": True, "v_GGSY1Qvo990.mp4": False}
RENDERS = {
    "realistic": FoleyOptions(profile="realistic"),
    "dramatic": FoleyOptions(profile="dramatic"),
    "cartoon": FoleyOptions(profile="cartoon"),
    "realistic+music": FoleyOptions(profile="realistic", music=True),
}


def spectrogram(wav: Path, analysis: Analysis, png: Path, title: str) -> None:
    """A spectrogram of ``wav`` (mono mix) with the events' onsets and labels over it."""
    import av
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with av.open(str(wav)) as c:
        rate = c.streams.audio[0].rate
        frames = [f.to_ndarray().reshape(-1, f.layout.nb_channels) for f in c.decode(audio=0)]
    x = np.concatenate(frames).astype(np.float64).mean(axis=1) / 32768.0
    fig, ax = plt.subplots(figsize=(12, 4))
    ax.specgram(x + 1e-9, NFFT=2048, Fs=rate, noverlap=1536, cmap="magma", vmin=-130)
    ax.set_ylim(0, 12000)
    ax.set_xlim(0, analysis.media.duration)
    for ev in analysis.events:
        ax.axvline(ev.start, color="cyan", lw=0.6, alpha=0.7)
        ax.text(ev.start, 11500, ev.label, color="cyan", fontsize=6, rotation=90, va="top")
    ax.set_xlabel("media time (s)")
    ax.set_ylabel("Hz")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(png, dpi=80)
    plt.close(fig)


def read_audio(path: Path, rate: int = 48000) -> np.ndarray:
    """Any file's first audio stream as float64 stereo at ``rate``: shape (n, 2)."""
    import av

    with av.open(str(path)) as c:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        frames = [g.to_ndarray() for f in c.decode(audio=0) for g in resampler.resample(f)]
        frames += [g.to_ndarray() for g in resampler.resample(None)]
    return np.concatenate(frames, axis=1).T.astype(np.float64)


def crest_db(x: np.ndarray, rate: int) -> tuple[float, float]:
    """Min and median crest factor (dB) of the 50 ms windows of ``x`` whose peak is within 12 dB of its peak."""
    w = int(0.05 * rate)
    n = x.shape[0] // w
    seg = x[:n * w].reshape(n, w, -1)
    peak = np.abs(seg).max(axis=(1, 2))
    rms = np.sqrt((seg ** 2).mean(axis=(1, 2)))
    keep = peak >= peak.max(initial=0.0) * 10 ** (-12 / 20)
    c = 20 * np.log10(peak[keep] / np.maximum(rms[keep], 1e-12))
    return (float(c.min()), float(np.median(c))) if c.size else (math.nan, math.nan)


def sync_ms(recorded: np.ndarray, rendered: np.ndarray, rate: int) -> tuple[float, float, int, int]:
    """(median |error| ms, max |error| ms, recorded onsets matched, recorded onsets) between two tracks' onsets."""
    from eval_foley import detect_onsets

    ref = np.asarray(detect_onsets(recorded, rate)) / rate
    out = np.asarray(detect_onsets(rendered, rate)) / rate
    errors = [float(np.min(np.abs(out - t))) * 1000 for t in ref if out.size and np.min(np.abs(out - t)) <= 0.1]
    if not errors:
        return math.nan, math.nan, 0, int(ref.size)
    return float(np.median(errors)), float(max(errors)), len(errors), int(ref.size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=Path, default=DEFAULT_VIDEOS)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "foley-listening")
    args = parser.parse_args(argv)
    if not args.videos.is_dir():
        print(f"skipped: no dev clips at {args.videos}")
        return 0
    for clip, with_audio in CLIPS.items():
        path = args.videos / clip
        if not path.is_file():
            print(f"skipped {clip}: not in {args.videos}")
            continue
        analysis = analyze(path, AnalysisOptions(audio=with_audio))
        folder = args.out / (Path(clip).stem + ("" if with_audio else "-silent"))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "events.json").write_text(analysis.to_json() + "\n", encoding="utf-8")
        print(f"{clip}{'' if with_audio else ' (audio ignored)'}: {len(analysis.events)} events "
              f"({', '.join(sorted({e.label for e in analysis.events})) or 'none'})")
        recording = read_audio(path) if with_audio else None
        if recording is not None:
            lo, med = crest_db(recording, 48000)
            print(f"  the clip's own recording: crest {lo:.1f} / {med:.1f} dB")
        for name, options in RENDERS.items():
            wav = folder / f"foley-{name}.wav"
            report = foley_report(analysis, wav, options)
            spectrogram(wav, analysis, wav.with_suffix(".png"), f"{clip} - {name}")
            rendered = read_audio(wav)
            lo, med = crest_db(rendered, 48000)
            line = (f"  {wav.relative_to(args.out)}: {report.voices} sounds, {report.loudness_lufs:.1f} LUFS "
                    f"({'met' if report.shortfall is None else 'missed'}), {report.true_peak_dbtp:.1f} dBTP, "
                    f"limiter {report.limiter_db:.1f} dB, crest {lo:.1f} / {med:.1f} dB, mood {report.mood or '-'}")
            if recording is not None and name == "realistic":
                m, worst, hit, total = sync_ms(recording, rendered, 48000)
                line += (f"; sync with the recording: median {m:.0f} ms, max {worst:.0f} ms, {hit}/{total} onsets"
                         if hit else f"; none of the recording's {total} onsets has a rendered hit within 100 ms")
            print(line)
    print(f"listening folder: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
