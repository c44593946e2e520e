"""`soundcue caption --audio/--remux` as a user runs it: a real subprocess, the real pipeline and Foley engine,
on clips the tests make (tests/media_factory.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import webvtt
from media_factory import knock, noise_floor, place, write_audio, write_video


def soundcue(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "captioning", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def streams(path: Path) -> list[tuple[str, str]]:
    with av.open(str(path)) as c:
        return [(s.type, s.codec_context.name) for s in c.streams]


def packets(path: Path, kind: str) -> list[bytes]:
    with av.open(str(path)) as c:
        stream = [s for s in c.streams if s.type == kind][0]
        return [bytes(p) for p in c.demux(stream) if p.size]


def audio_info(path: Path, index: int = 0) -> tuple[str, int, int, str, float]:
    """(codec, sample rate, channels, sample format, seconds decoded) of the index-th audio stream."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[index]
        ctx = stream.codec_context
        n = sum(f.samples for f in c.decode(stream))
        return ctx.name, ctx.sample_rate, ctx.channels, ctx.format.name, n / ctx.sample_rate


def subtitle_texts(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [sub.ass.decode().split(",", 8)[-1] for p in c.demux(c.streams.subtitles[0]) if p.size
                for sub in p.decode()]


def duration(folder: Path) -> float:
    return float(json.loads((folder / "events.json").read_text())["media"]["duration"])


@pytest.fixture(scope="module")
def song_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_audio(tmp_path_factory.mktemp("song") / "song.wav", noise_floor(3.0, -40.0))


def test_audio_and_remux_on_a_video_an_audio_file_and_a_silent_clip(knocks_mp4: Path, song_wav: Path,
                                                                    video_only_mp4: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = soundcue("caption", knocks_mp4, song_wav, video_only_mp4, "-o", out, "--audio", "--remux", "--json")
    # the audio file cannot be remuxed: one line naming it and the way out, the other inputs are complete
    assert r.returncode == 2
    errors = [line for line in r.stderr.splitlines() if line.startswith("soundcue: error:")]
    assert len(errors) == 1 and "song.wav: no video stream" in errors[0] and "--audio" in errors[0], r.stderr
    assert "Traceback" not in r.stderr
    status = {Path(x["input"]).name: x["status"] for x in json.loads(r.stdout)["results"]}
    assert status == {"knocks.mp4": "ok", "song.wav": "failed", "video_only.mp4": "ok"}
    assert sorted(p.name for p in out.iterdir()) == ["knocks", "video_only"]

    knocks = out / "knocks"
    # the Foley track: 48 kHz, 16-bit, stereo, exactly as long as the media
    codec, rate, channels, fmt, seconds = audio_info(knocks / "foley.wav")
    assert (codec, rate, channels, fmt) == ("pcm_s16le", 48000, 2, "s16")
    assert seconds == pytest.approx(duration(knocks), abs=0.001)
    # the remuxed video: picture copied, the Foley track first, the original second, the captions as mov_text
    video = knocks / "video.mp4"
    assert streams(video) == [("video", "h264"), ("audio", "aac"), ("audio", "aac"), ("subtitle", "mov_text")]
    assert packets(video, "video") == packets(knocks_mp4, "video")
    with av.open(str(video)) as c:
        foley, original = c.streams.audio
        assert foley.metadata["language"] == "zxx" and foley.disposition & av.stream.Disposition.default
        assert not original.disposition & av.stream.Disposition.default
    with av.open(str(knocks_mp4)) as c:
        assert [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size] == packets_of_audio(video, 1)
    cues = webvtt.read(str(knocks / "captions.vtt")).captions
    assert cues and subtitle_texts(video) == [c.text.replace("\n", "\\N") for c in cues]

    silent = out / "video_only"
    assert streams(silent / "video.mp4")[:2] == [("video", "h264"), ("audio", "aac")]
    assert [t for t, _ in streams(silent / "video.mp4")].count("audio") == 1  # the Foley is its only audio
    assert audio_info(silent / "foley.wav")[4] == pytest.approx(duration(silent), abs=0.001)


def packets_of_audio(path: Path, index: int) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[index]) if p.size]


def test_mp3_mono_and_a_matroska_remux_that_replaces_the_audio(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.mkv", place(noise_floor(4.0), knock(), (1.0, 2.5)), 4.0)
    out = tmp_path / "out"
    r = soundcue("caption", clip, "-o", out, "--quiet", "--audio", "--audio-format", "mp3", "--sample-rate", "44100",
                 "--channels", "1", "--remux", "--replace-audio")
    assert r.returncode == 0, r.stderr
    folder = out / "clip"
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(("foley", "video"))) == [
        "foley.mp3", "video.mkv"]
    codec, rate, channels, _, seconds = audio_info(folder / "foley.mp3")
    assert (codec, rate, channels) == ("mp3float", 44100, 1)
    assert seconds == pytest.approx(duration(folder), abs=0.06)  # MP3 frames: 1152 samples
    kinds = streams(folder / "video.mkv")
    assert kinds[:2] == [("video", "h264"), ("audio", "aac")] and [k for k, _ in kinds].count("audio") == 1
    assert packets(folder / "video.mkv", "video") == packets(clip, "video")
    if ("subtitle", "webvtt") in kinds:
        assert subtitle_texts(folder / "video.mkv") == [
            c.text.replace("\n", "\\N") for c in webvtt.read(str(folder / "captions.vtt")).captions]


def test_aac_goes_in_an_m4a(knocks_wav: Path, tmp_path: Path) -> None:
    r = soundcue("caption", knocks_wav, "-o", tmp_path, "--quiet", "--audio", "--audio-format", "aac")
    assert r.returncode == 0, r.stderr
    codec, rate, channels, _, seconds = audio_info(tmp_path / "knocks" / "foley.m4a")
    assert (codec, rate, channels) == ("aac", 48000, 2)
    assert seconds == pytest.approx(duration(tmp_path / "knocks"), abs=0.03)


@pytest.mark.parametrize("flags, words", [
    (["--foley-profile", "opera"], "--foley-profile opera: Foley profile must be one of"),
    (["--sample-rate", "7"], "--sample-rate 7: sample rate must be one of"),
    (["--music-intensity", "2"], "--music-intensity 2.0: music intensity must be within 0..1"),
    (["--audio-format", "flac"], "--audio-format flac: audio format must be one of"),
])
def test_bad_foley_options_are_one_line_and_exit_2(knocks_wav: Path, tmp_path: Path, flags: list[str],
                                                   words: str) -> None:
    r = soundcue("caption", knocks_wav, "-o", tmp_path / "out", "--audio", *flags)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags, words", [
    (["--audio-format", "mp3"], "--audio-format needs --audio or --remux"),
    (["--foley-profile", "realistic"], "--foley-profile needs --audio or --remux"),  # a default given is given
    (["--music"], "--music needs --audio or --remux"),
    (["--no-enable-cache"], "--no-enable-cache needs --audio or --remux"),
    (["--replace-audio"], "--replace-audio needs --remux"),
    (["--audio", "--replace-audio"], "--replace-audio needs --remux"),
    (["--audio", "--music-intensity", "0.5"], "--music-intensity needs --music"),
])
def test_foley_flags_without_audio_or_remux_are_refused(knocks_wav: Path, tmp_path: Path, flags: list[str],
                                                        words: str) -> None:
    r = soundcue("caption", knocks_wav, "-o", tmp_path / "out", *flags)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and words in lines[0], r.stderr
    assert not (tmp_path / "out").exists()


def test_analyse_audio_switch_still_reads_no_audio(knocks_wav: Path, tmp_path: Path) -> None:
    """--audio is the Foley track now; --no-audio (analyse the pictures only) keeps its meaning."""
    r = soundcue("caption", "--help")
    assert "--analyse-audio" in r.stdout and "--no-audio" in r.stdout and "--remux" in r.stdout
    r = soundcue("caption", knocks_wav, "-o", tmp_path, "--no-audio", "--quiet")
    assert r.returncode == 2 and "knocks.wav" in r.stderr  # nothing left to analyse in an audio file


def test_foley_outputs_need_nothing_else(tmp_path: Path) -> None:
    """A quiet clip (no events) still gets a track exactly as long as the media."""
    quiet = write_audio(tmp_path / "quiet.wav", np.zeros(48000 * 2, np.float32))
    r = soundcue("caption", quiet, "-o", tmp_path / "out", "--quiet", "--audio")
    assert r.returncode == 0, r.stderr
    assert audio_info(tmp_path / "out" / "quiet" / "foley.wav")[4] == pytest.approx(2.0, abs=0.001)


def test_the_summary_reports_the_achieved_loudness_and_true_peak(knocks_wav: Path, tmp_path: Path) -> None:
    r = soundcue("caption", knocks_wav, "-o", tmp_path / "out", "--audio", "--json", "--loudness-lufs", "-23")
    assert r.returncode == 0, r.stderr
    [result] = json.loads(r.stdout)["results"]
    foley = result["foley"]
    assert foley["target_lufs"] == -23.0 and foley["true_peak_dbtp"] <= -1.0
    assert foley["target_met"] == (foley["shortfall"] is None)
    assert foley["target_met"] is False or abs(foley["loudness_lufs"] + 23.0) <= 0.5
