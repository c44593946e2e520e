"""Write a listening folder of Foley renders (issue 11), so a person can look and listen.

For each dev clip (../shared/data/videos): chaplin.mp4 (footsteps from the pictures), greatesthit_hitting_metal.mp4
(metal hits) and v_GGSY1Qvo990.mp4 analysed as a silent clip (its audio ignored: ``AnalysisOptions(audio=False)``,
so every sound comes from the pictures), the clip is analysed once with the library API and rendered with each
effect profile (realistic, dramatic, cartoon) and once more realistic with background music. Beside every WAV a
spectrogram PNG shows the track with the events' onsets marked; ``events.json`` is the event list rendered.

Usage::

    python scripts/foley_listening.py [--videos ../shared/data/videos] [--out out/foley-listening]

Skips cleanly (exit 0) when the clips are not there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from captioning.events import Analysis  # noqa: E402
from captioning.foley import FoleyOptions  # noqa: E402
from captioning.foley.render import foley_report  # noqa: E402
from captioning.pipeline import AnalysisOptions, analyze  # noqa: E402

DEFAULT_VIDEOS = ROOT.parent / "shared" / "data" / "videos"
#: clip -> analyse its audio too (False: a silent version, every event from the pictures)
CLIPS = {"chaplin.mp4": True, "greatesthit_hitting_metal.mp4": True, "v_GGSY1Qvo990.mp4": False}
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
    import numpy as np

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
        for name, options in RENDERS.items():
            wav = folder / f"foley-{name}.wav"
            report = foley_report(analysis, wav, options)
            spectrogram(wav, analysis, wav.with_suffix(".png"), f"{clip} - {name}")
            print(f"  {wav.relative_to(args.out)}: {report.voices} sounds, {report.loudness_lufs:.1f} LUFS, "
                  f"limiter {report.limiter_db:.1f} dB, mood {report.mood or '-'}")
    print(f"listening folder: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
