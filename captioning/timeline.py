"""A timeline picture of one analysis: events, caption cues and haptic intensity against media time.

For a person checking a job's result at a glance (``timeline.png``). Drawn with matplotlib's
object-oriented API on the Agg canvas: no pyplot global state, no display needed, safe in worker threads.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from captioning.events import Analysis

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from captioning.captions.model import Cue
    from captioning.haptics.model import HapticTrack

#: Figure size in inches and resolution (dots per inch): 1500 x 750 pixels.
FIG_SIZE_IN = (15.0, 7.5)
DPI = 100
#: Caption cues whose text is written on the plot at most (the rest are drawn as spans only).
MAX_CAPTION_TEXTS = 120
#: Haptic intensity is drawn as the maximum over bins of this many ms.
PLOT_BIN_MS = 10

_CATEGORY_COLORS = {
    "impact": "#d62728", "explosion": "#8c1c13", "footsteps": "#ff7f0e", "vehicle": "#7f7f7f",
    "music": "#9467bd", "ambience": "#2ca02c", "weather": "#17becf", "water": "#1f77b4",
    "alarm": "#e377c2", "animal": "#bcbd22", "voice": "#8c564b", "human": "#8c564b",
    "mechanical": "#393b79", "tools": "#637939",
}


def plot_timeline(analysis: Analysis, out_png: Path, *, haptics: HapticTrack | None = None,
                  cues: Sequence[Cue] | None = None) -> Path:
    """Draw events, caption cues and haptic intensity against time and save a PNG atomically.

    Parameters:
        analysis: the analysis to draw.
        out_png: where to write the PNG (its directory is created).
        haptics: the haptic track to draw; None renders one with the default options.
        cues: the caption track to draw (the cues of captions.vtt, at their times); None builds it with the
            default caption options (:func:`captioning.captions.build_cues`).

    Returns:
        ``out_png``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if haptics is None:
        from captioning.haptics import render_haptics

        haptics = render_haptics(analysis)
    if cues is None:
        from captioning.captions import build_cues

        cues = build_cues(analysis).cues
    end = max(analysis.media.duration, haptics.end, *(e.end for e in analysis.events), *(c.end for c in cues), 1e-3)
    fig = Figure(figsize=FIG_SIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax_ev, ax_cap, ax_hap = fig.subplots(3, 1, sharex=True, height_ratios=[3, 1.4, 2])
    name = Path(analysis.media.path).name or "media"
    fig.suptitle(f"{name}: {len(analysis.events)} sound events, {len(cues)} caption cues, "
                 f"{len(haptics.transients)} haptic taps, {len(haptics.continuous)} haptic buzzes "
                 f"({haptics.options.profile} profile)")
    _draw_events(ax_ev, analysis)
    _draw_captions(ax_cap, cues, end)
    _draw_haptics(ax_hap, haptics)
    ax_hap.set_xlim(0.0, end)
    ax_hap.set_xlabel("media time (s)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return _write_bytes_atomic(Path(out_png), buf.getvalue())


def _draw_events(ax: Axes, analysis: Analysis) -> None:
    """One row per label: spans coloured by category (hatched for ambience beds), a tick at abrupt onsets."""
    labels: list[str] = []
    for e in analysis.events:
        if e.label not in labels:
            labels.append(e.label)
    for row, label in enumerate(labels):
        events = [e for e in analysis.events if e.label == label]
        for background in (False, True):
            spans = [(e.start, e.duration) for e in events if e.background == background]
            if spans:
                color = _CATEGORY_COLORS.get(events[0].category, "#555555")
                ax.broken_barh(spans, (row - 0.35, 0.7), facecolors=color, alpha=0.35 if background else 0.85,
                               hatch="//" if background else None)
        onsets = [e.start for e in events if e.kind == "abrupt"]
        if onsets:
            ax.vlines(onsets, row - 0.45, row + 0.45, colors="black", linewidth=1.0)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(-0.6, max(len(labels), 1) - 0.4)
    ax.invert_yaxis()
    ax.set_ylabel("events")
    ax.grid(axis="x", alpha=0.3)


def _draw_captions(ax: Axes, cues: Sequence[Cue], end_s: float) -> None:
    """The caption track: each cue's span from its start to its end, with its text (lines joined), on the
    first of a few rows where the text does not overlap."""
    rows = 4
    s_per_char = end_s * 6.0 / (FIG_SIZE_IN[0] * DPI)  # ~5 px per character at 7 pt, plus margin
    free_at = [0.0] * rows  # time from which each row is free (s)
    spans: list[list[tuple[float, float]]] = [[] for _ in range(rows)]
    for i, c in enumerate(cues):
        text = " ".join(line.text for line in c.lines)
        row = next((r for r in range(rows) if free_at[r] <= c.start), int(np.argmin(free_at)))
        free_at[row] = max(c.end, c.start + len(text) * s_per_char)
        spans[row].append((c.start, c.end - c.start))
        if i < MAX_CAPTION_TEXTS:
            ax.text(c.start, row + 0.5, text, fontsize=7, va="center", ha="left", clip_on=True)
    for row, row_spans in enumerate(spans):
        if row_spans:
            ax.broken_barh(row_spans, (row + 0.1, 0.8), facecolors="#dddddd", edgecolors="#999999")
    ax.set_ylim(rows, 0)
    ax.set_yticks([])
    ax.set_ylabel("captions")


def _draw_haptics(ax: Axes, track: HapticTrack) -> None:
    from captioning.haptics.motor import GRID_HZ, motor_grid

    grid = motor_grid(track)
    n_bins = max(1, grid.n_ms // PLOT_BIN_MS)
    usable = n_bins * PLOT_BIN_MS
    t = np.arange(n_bins) * PLOT_BIN_MS / GRID_HZ  # (n_bins,) seconds
    if usable <= grid.n_ms and usable > 0:
        cont = grid.continuous[:usable].reshape(n_bins, PLOT_BIN_MS).max(axis=1)
        ax.fill_between(t, cont, step="post", color="#1f77b4", alpha=0.4, label="continuous")
    if track.transients:
        ax.vlines([c.time for c in track.transients], 0.0, [c.intensity for c in track.transients],
                  colors="#d62728", linewidth=1.2)
        ax.scatter([c.time for c in track.transients], [c.intensity for c in track.transients],
                   color="#d62728", s=12, zorder=3, label="transient")
    ax.axhline(track.options.ceiling, color="black", linestyle=":", linewidth=0.8, label="ceiling")
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("haptic intensity")
    ax.legend(loc="upper right", fontsize=7)
    ax.grid(alpha=0.3)


def _write_bytes_atomic(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp creates 0600; a picture is for people to open
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
