"""The timeline PNG: events, caption cues and haptic intensity against time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from haptics_cases import VOCAB, abrupt, analysis, known_events
from matplotlib.image import imread

from captioning.haptics import render_haptics
from captioning.outputs import OutputOptions, write_outputs
from captioning.timeline import DPI, FIG_SIZE_IN, plot_timeline


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(imread(path))  # (height, width, 4) float RGBA


def test_timeline_is_a_png_of_the_documented_size(tmp_path: Path) -> None:
    a = known_events()
    out = plot_timeline(a, tmp_path / "job" / "timeline.png", haptics=render_haptics(a, vocabulary=VOCAB))
    assert out == tmp_path / "job" / "timeline.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = _pixels(out)
    assert img.shape[:2] == (int(FIG_SIZE_IN[1] * DPI), int(FIG_SIZE_IN[0] * DPI))
    assert [p.name for p in out.parent.iterdir()] == ["timeline.png"]  # no temp file left


def test_haptic_intensity_is_drawn(tmp_path: Path) -> None:
    # The same event list with and without a strong tap: the pictures differ in the haptic panel
    # (bottom third), where the tap's red stem is drawn.
    quiet = analysis([abrupt(5.0, peak=-3.0)])
    loud = analysis([abrupt(5.0, peak=-3.0), abrupt(15.0, "gunshot", peak=-3.0)])
    a = _pixels(plot_timeline(quiet, tmp_path / "a.png"))
    b = _pixels(plot_timeline(loud, tmp_path / "b.png"))
    bottom = slice(int(a.shape[0] * 0.70), int(a.shape[0] * 0.92))
    red = (b[bottom, :, 0] > 0.7) & (b[bottom, :, 1] < 0.3) & (b[bottom, :, 2] < 0.3)
    red_before = (a[bottom, :, 0] > 0.7) & (a[bottom, :, 1] < 0.3) & (a[bottom, :, 2] < 0.3)
    assert red.sum() > red_before.sum() + 20
    # The new stem sits about three quarters across the time axis (15 s of 20 s).
    cols = np.flatnonzero(red.any(axis=0) & ~red_before.any(axis=0))
    assert cols.size and 0.6 < cols.mean() / a.shape[1] < 0.85


def test_the_caption_row_draws_the_cues_of_captions_vtt_at_their_times(tmp_path: Path) -> None:
    # the slam at 2 s (0.1 s long) is on screen 2.0-2.834 s; the unsure one at 12 s goes to the review list, not
    # into captions.vtt, so the row shows nothing there
    out = tmp_path / "job"
    write_outputs(analysis([abrupt(2.0, duration=0.1), abrupt(12.0, duration=0.1, confidence=0.2)]), out,
                  OutputOptions(outputs=frozenset({"events", "captions", "timeline"})))
    assert "00:00:02.000 --> 00:00:02.834" in (out / "captions.vtt").read_text()
    img = _pixels(out / "timeline.png")[:, :, :3]
    h = img.shape[0]
    band = img[int(h * 0.47):int(h * 0.64)]  # the caption row, between the events and the haptics
    spines = np.flatnonzero(img[int(h * 0.63)].max(axis=1) < 0.3)  # its left and right edges: 0 and 20 s
    seconds = (np.flatnonzero((np.abs(band - 0xDD / 255).max(axis=2) < 0.01).sum(axis=0) > 10) - spines.min()) / (
        spines.max() - spines.min()) * 20.0  # columns filled by a cue's grey span, as media time
    assert seconds.size and seconds.min() == pytest.approx(2.0, abs=0.1) and seconds.max() == pytest.approx(
        2.834, abs=0.1)


def test_empty_analysis_still_draws(tmp_path: Path) -> None:
    out = plot_timeline(analysis([]), tmp_path / "empty.png")
    assert _pixels(out).shape[2] in (3, 4)


@pytest.mark.parametrize("profile", ["standard", "calm"])
def test_timeline_accepts_any_track(tmp_path: Path, profile: str) -> None:
    a = known_events()
    track = render_haptics(a, {"profile": profile}, vocabulary=VOCAB)
    assert plot_timeline(a, tmp_path / f"{profile}.png", haptics=track).stat().st_size > 10_000
