"""The `soundcue caption` command as a user runs it: a real subprocess of the console entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysrt
import webvtt
from media_factory import knock, noise_floor, place, write_audio

from captioning.events import Analysis


def soundcue(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "captioning", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_caption_writes_events_and_tracks(knocks_mp4: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = soundcue("caption", knocks_mp4, "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""  # --quiet prints only errors
    d = out / "knocks"
    analysis = Analysis.from_dict(json.loads((d / "events.json").read_text()))
    assert abs(analysis.media.duration - 6.0) < 0.1
    assert {s.type for s in analysis.media.streams} == {"audio", "video"}
    assert "audio_tagger" in analysis.models and "speech_activity" in analysis.models
    raw = json.loads((d / "events.json").read_text())["events"]
    for key in ("start", "end", "label", "caption", "category", "confidence", "source", "loudness", "audioset"):
        assert all(key in e for e in raw), key
    assert len(analysis.events) >= 3
    vtt = webvtt.read(str(d / "captions.vtt"))
    srt = pysrt.open(str(d / "captions.srt"), encoding="utf-8")
    assert len(vtt) == len(srt) >= 1
    assert all(c.text.strip() for c in vtt)


def test_json_summary_and_several_inputs_with_one_bad(knocks_wav: Path, not_media: Path, silence_wav: Path,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = soundcue("caption", knocks_wav, not_media, silence_wav, "-o", out, "--json")
    assert r.returncode == 2
    # one line naming the problem and the file, no traceback
    err_lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(err_lines) == 1 and "notes.mp4" in err_lines[0] and "Traceback" not in r.stderr
    summary = json.loads(r.stdout)
    status = {Path(x["input"]).name: x["status"] for x in summary["results"]}
    assert status == {"knocks.wav": "ok", "notes.mp4": "failed", "silence.wav": "ok"}
    # the bad input left nothing behind; the good ones are complete
    assert sorted(p.name for p in out.iterdir()) == ["knocks", "silence"]


def test_silence_gives_empty_valid_tracks(silence_wav: Path, tmp_path: Path) -> None:
    r = soundcue("caption", silence_wav, "-o", tmp_path, "--quiet")
    assert r.returncode == 0, r.stderr
    d = tmp_path / "silence"
    assert json.loads((d / "events.json").read_text())["events"] == []
    assert (d / "captions.vtt").read_text(encoding="utf-8").startswith("WEBVTT")
    assert len(webvtt.read(str(d / "captions.vtt"))) == 0
    assert len(pysrt.open(str(d / "captions.srt"))) == 0


def test_bad_inputs_exit_2_with_one_line_each(tmp_path: Path, video_only_mp4: Path, truncated_mp3: Path) -> None:
    out = tmp_path / "out"
    r = soundcue("caption", tmp_path / "missing.wav", video_only_mp4, truncated_mp3, "-o", out, "--no-visual")
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.startswith("soundcue: error:")]
    assert len(lines) == 3, r.stderr
    assert "missing.wav" in lines[0] and "no such file" in lines[0]
    assert "video_only.mp4" in lines[1] and "no audio stream" in lines[1] and "--no-visual" in lines[1]
    assert "truncated.mp3" in lines[2] and "truncated" in lines[2]
    assert "Traceback" not in r.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_rerun_failure_keeps_earlier_results(knocks_wav: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert soundcue("caption", knocks_wav, "-o", out, "-q").returncode == 0
    before = (out / "knocks" / "events.json").read_text()
    broken = tmp_path / "knocks.wav"
    broken.write_bytes(b"RIFF....WAVEjunk")
    r = soundcue("caption", broken, "-o", out, "-q")
    assert r.returncode == 2
    assert (out / "knocks" / "events.json").read_text() == before


def test_help_lists_commands() -> None:
    r = soundcue("--help")
    assert r.returncode == 0 and "caption" in r.stdout


def test_stereo_side_reaches_the_caption_position(tmp_path: Path) -> None:
    """A knock hard right is captioned at the right of the picture; one hard left at the left."""
    floor = noise_floor(6.0)
    right = place(floor, knock(), [1.0], gain=1.8)
    left = place(floor, knock(), [3.5], gain=1.8)
    path = write_audio(tmp_path / "sides.flac", np.stack([left, right]))
    # every event is captioned (no confidence cut): the test is about the side, not about the tagger's certainty
    assert soundcue("caption", path, "-o", tmp_path / "out", "-q", "--include-low-confidence").returncode == 0
    cues = webvtt.read(str(tmp_path / "out" / "sides" / "captions.vtt"))
    assert len(cues) == 2
    text = (tmp_path / "out" / "sides" / "captions.vtt").read_text()
    first, second = text.split("\n\n")[1:3]
    assert "align:right" in first and "align:left" in second


def test_dcmp_onomatopoeia_flag(knocks_wav: Path, tmp_path: Path) -> None:
    r = soundcue("caption", knocks_wav, "-o", tmp_path, "-q", "--style", "dcmp", "--onomatopoeia",
                 "--include-low-confidence")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "knocks" / "captions.vtt").read_text()
    assert "knock knock" in text
    plain = soundcue("caption", knocks_wav, "-o", tmp_path / "plain", "-q", "--style", "dcmp",
                     "--include-low-confidence")
    assert plain.returncode == 0 and "knock knock" not in (tmp_path / "plain" / "knocks" / "captions.vtt").read_text()
