"""Issue 9: times follow the media's own timeline, whatever the stream layout.

Every file is made here with PyAV (media_factory.write_media), as real muxers leave them: audio muxed after
the video (ffmpeg -itsoffset), timestamp holes (asetpts), files that start late or early, several audio
tracks, cover art, phase-inverted stereo, 32 channels without a layout. The decoder tests check where the
knocks land in the decoded audio; the end-to-end tests run `soundcue caption` once over all of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import webvtt
from media_factory import SR, Track, knock, noise_floor, place, write_audio, write_media, write_multichannel_wav

from captioning.errors import InvalidOptionsError, MediaDecodeError
from captioning.events import Analysis, MediaInfo
from captioning.media import ANALYSIS_SAMPLE_RATE, iter_audio, probe
from captioning.pipeline import AnalysisOptions

KNOCKS_S = (3.0, 8.0)  # where the reference track's knocks are, from its own first sample
TOL_S = 0.05


def reference(seconds: float = 12.0) -> np.ndarray:
    """The issue's 12 s reference track: room tone with knocks at 3.0 s and 8.0 s."""
    return place(noise_floor(seconds), knock(), KNOCKS_S)


def onsets(path: Path, **probe_kw: Any) -> tuple[MediaInfo, list[float]]:
    """Probe and decode ``path``; the media times (s) where each knock starts in the mono mix."""
    info = probe(path, **probe_kw)
    audio = np.concatenate([c.samples for c in iter_audio(info)])
    loud = np.flatnonzero(np.abs(audio) > 0.05)
    starts = [int(i) for k, i in enumerate(loud) if k == 0 or i - loud[k - 1] > ANALYSIS_SAMPLE_RATE // 2]
    return info, [i / ANALYSIS_SAMPLE_RATE for i in starts]


def assert_at(found: list[float], expected: tuple[float, ...]) -> None:
    assert len(found) == len(expected), found
    for got, want in zip(found, expected, strict=True):
        assert abs(got - want) <= TOL_S, (found, expected)


# -- the decoder --------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".ts", ".webm"])
@pytest.mark.parametrize("offset_s", [2.0, 5.0])
def test_audio_muxed_after_the_video_keeps_its_offset(tmp_path: Path, suffix: str, offset_s: float) -> None:
    path = write_media(tmp_path / f"offset{suffix}", [Track(reference(), start_s=offset_s)], video_s=12.0)
    info, found = onsets(path)  # Matroska was refused as truncated: 12 s decoded of 14 s declared
    assert_at(found, tuple(t + offset_s for t in KNOCKS_S))
    assert info.audio is not None and info.audio.start is not None and abs(info.audio.start - offset_s) < 0.03
    assert info.video is not None and info.video.start is not None and abs(info.video.start) < 0.1
    if info.audio.duration is not None:
        assert abs(info.audio.start + info.audio.duration - (offset_s + 12.0)) < 0.05


@pytest.mark.parametrize("suffix", [".mka", ".mkv", ".mp4"])
@pytest.mark.parametrize("hole_s", [1.0, 3.0])
def test_timestamp_holes_become_silence(tmp_path: Path, suffix: str, hole_s: float) -> None:
    track = Track(reference(), holes=[(5.0, hole_s)])
    path = write_media(tmp_path / f"hole{suffix}", [track], video_s=12.0 + hole_s if suffix != ".mka" else None)
    _, found = onsets(path)  # a 3 s hole is not "truncated"
    assert_at(found, (3.0, 8.0 + hole_s))


def test_timestamps_that_restart_continue_the_audio(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Two MPEG-TS recordings joined byte for byte: the second restarts its clock; it is played after the first."""
    one = write_media(tmp_path / "one.ts", [Track(reference())], video_s=12.0)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(one.read_bytes() * 2)
    _, found = onsets(joined)
    assert_at(found, (*KNOCKS_S, *(t + 12.03 for t in KNOCKS_S)))  # right after the first (12.03 s of AAC)
    assert "timestamps jump" in caplog.text


@pytest.mark.parametrize("suffix", [".mkv", ".mp4", ".ts"])
def test_a_file_that_starts_late_is_timed_from_its_start(tmp_path: Path, suffix: str) -> None:
    """Recordings and remuxed broadcasts start at any timestamp; players show that start as 00:00:00."""
    path = write_media(tmp_path / f"late{suffix}", [Track(reference(), start_s=10.0)], video_s=12.0,
                       video_start_s=10.0)
    info, found = onsets(path)
    assert_at(found, KNOCKS_S)
    assert abs(info.start_time - 10.0) < 0.1 and abs(info.duration - 12.0) < 0.1


def test_video_that_starts_after_the_audio(tmp_path: Path) -> None:
    path = write_media(tmp_path / "late_video.mkv", [Track(reference())], video_s=10.0, video_start_s=2.0)
    info, found = onsets(path)
    assert_at(found, KNOCKS_S)
    assert info.video is not None and info.video.start is not None and abs(info.video.start - 2.0) < 0.05


def test_audio_before_the_video_in_mp4_follows_the_edit_list(tmp_path: Path) -> None:
    """MP4 cannot start before 0: the muxer's edit list cuts the first second, as a browser plays it."""
    path = write_media(tmp_path / "early.mp4", [Track(reference(), start_s=-1.0)], video_s=12.0)
    _, found = onsets(path)
    assert_at(found, (2.0, 7.0))


def test_audio_before_the_video_in_matroska_starts_the_timeline(tmp_path: Path) -> None:
    """Matroska keeps negative timestamps: media time 0 is the audio's start, the video comes 1 s later."""
    path = write_media(tmp_path / "early.mkv", [Track(reference(), start_s=-1.0)], video_s=12.0)
    info, found = onsets(path)
    assert_at(found, KNOCKS_S)
    assert info.start_time < -0.9
    assert info.video is not None and info.video.start is not None and abs(info.video.start - 1.0) < 0.05


# -- which audio track -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_tracks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stream 0 video, 1 a quiet non-default "Commentary" track, 2 the default programme track (knocks)."""
    commentary = Track(noise_floor(12.0, level_db=-60.0, seed=3), default=False, title="Commentary")
    return write_media(tmp_path_factory.mktemp("tracks") / "two_tracks.mkv", [commentary, Track(reference())],
                       video_s=12.0)


def test_the_default_track_is_analysed(two_tracks: Path) -> None:
    info, found = onsets(two_tracks)
    assert info.audio_stream == 2 and info.audio is not None and info.audio.is_default
    assert_at(found, KNOCKS_S)
    commentary = info.streams[1]
    assert commentary.title == "Commentary" and not commentary.is_default


def test_audio_stream_picks_another_track(two_tracks: Path) -> None:
    info, found = onsets(two_tracks, audio_stream=1)
    assert info.audio_stream == 1 and found == []


@pytest.mark.parametrize("index, what", [(0, "stream 0 is video"), (7, "no such stream")])
def test_audio_stream_that_is_not_audio_names_the_streams(two_tracks: Path, index: int, what: str) -> None:
    with pytest.raises(InvalidOptionsError, match=what) as err:
        probe(two_tracks, audio_stream=index)
    assert '#1 audio aac "Commentary"' in str(err.value) and "#2 audio aac (default)" in str(err.value)


def test_audio_stream_option_is_validated() -> None:
    with pytest.raises(InvalidOptionsError, match="audio_stream"):
        AnalysisOptions(audio_stream=-1)


def test_the_stream_used_is_recorded_in_events_json(two_tracks: Path) -> None:
    info = probe(two_tracks)
    again = Analysis.from_dict(json.loads(Analysis(media=info).to_json())).media
    assert again == info and again.audio_stream == 2
    assert json.loads(Analysis(media=info).to_json())["media"]["streams"][2]["disposition"] == ["default"]


# -- cover art, channels -----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".mp3", ".m4a"])
def test_cover_art_is_not_a_video(tmp_path: Path, suffix: str) -> None:
    path = write_media(tmp_path / f"song{suffix}", [Track(reference())], cover_art=True)
    info, found = onsets(path)
    assert info.video is None  # no frame rate of 90000 from the picture
    picture = next(s for s in info.streams if s.type == "video")
    assert picture.is_picture and picture.fps is None
    assert_at(found, KNOCKS_S)


@pytest.mark.parametrize("suffix", [".wav", ".m4a", ".ogg"])
def test_phase_inverted_stereo_is_not_silence(tmp_path: Path, suffix: str) -> None:
    ref = reference()
    path = write_audio(tmp_path / f"inverted{suffix}", np.stack([ref, -ref]))
    chunks = list(iter_audio(probe(path)))
    mono = np.concatenate([c.samples for c in chunks])
    assert np.abs(mono).max() > 0.3  # the knocks keep their level (0.5 peak) instead of cancelling
    _, found = onsets(path)
    assert_at(found, KNOCKS_S)
    assert all(c.stereo is not None for c in chunks)  # pan still sees both channels


def test_polarity_that_flips_midway_is_followed(tmp_path: Path) -> None:
    """Right in phase for 5.5 s, then inverted (an edit between two recordings): both knocks are kept."""
    ref = reference()
    right = ref.copy()
    right[int(5.5 * SR):] *= -1
    _, found = onsets(write_audio(tmp_path / "flip.wav", np.stack([ref, right])))
    assert_at(found, KNOCKS_S)


def test_stereo_mix_is_still_the_mean_of_the_channels(tmp_path: Path) -> None:
    left, right = reference(), place(noise_floor(12.0, seed=7), knock(seed=2), (5.0,), gain=0.4)
    path = write_audio(tmp_path / "stereo.wav", np.stack([left, right]))
    chunks = list(iter_audio(probe(path)))
    mono = np.concatenate([c.samples for c in chunks])
    planes = np.concatenate([c.stereo for c in chunks if c.stereo is not None], axis=1)
    np.testing.assert_allclose(mono, planes.mean(axis=0), atol=1e-6)


@pytest.mark.parametrize("used", [(0,), (3, 17), tuple(range(32))])
def test_32_channels_without_a_layout_are_mixed_down(tmp_path: Path, used: tuple[int, ...]) -> None:
    ref = reference()
    planes = np.zeros((32, ref.size), np.float32)
    planes[list(used)] = ref
    path = write_multichannel_wav(tmp_path / "array.wav", planes)
    info, found = onsets(path)
    assert info.audio is not None and info.audio.channels == 32
    assert_at(found, KNOCKS_S)
    mono = np.concatenate([c.samples for c in iter_audio(info)])
    assert np.abs(mono).max() > 0.3  # unused channels do not dilute the mix


def test_six_channel_layout_is_downmixed_as_before(tmp_path: Path) -> None:
    """A known layout (5.1) is still mixed by FFmpeg to stereo, so pan sees left and right."""
    ref = reference()
    planes = np.zeros((6, ref.size), np.float32)
    planes[0] = ref  # front left
    path = tmp_path / "surround.wav"
    with av.open(str(path), "w") as out:
        st = out.add_stream("pcm_s16le", rate=48000)
        st.layout = "5.1"
        frame = av.AudioFrame.from_ndarray((planes.T.reshape(1, -1) * 32767).astype(np.int16), format="s16",
                                           layout="5.1")
        frame.sample_rate, frame.pts = 48000, 0
        for packet in [*st.encode(frame), *st.encode()]:
            out.mux(packet)
    chunks = list(iter_audio(probe(path)))
    assert all(c.stereo is not None for c in chunks)
    stereo = np.concatenate([c.stereo for c in chunks if c.stereo is not None], axis=1)
    assert np.abs(stereo[0]).max() > 10 * np.abs(stereo[1]).max()  # the sound is on the left


# -- truncation is judged on the timeline --------------------------------------------------------------


def test_soundtrack_shorter_than_the_video_is_not_truncated(tmp_path: Path) -> None:
    path = write_media(tmp_path / "short_audio.mkv", [Track(reference(4.0))], video_s=12.0)
    info, _ = onsets(path)
    assert info.duration > 11.0


@pytest.mark.parametrize("suffix", [".mkv", ".mka"])
def test_truncated_matroska_is_still_refused(tmp_path: Path, suffix: str) -> None:
    full = write_media(tmp_path / f"full{suffix}", [Track(reference(30.0))], video_s=30.0 if suffix == ".mkv" else None)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    with pytest.raises(MediaDecodeError, match="truncated"):
        list(iter_audio(probe(cut)))


# -- end to end: `soundcue caption` ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def caption_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One `soundcue caption` run (one model load) over one file of each kind; stem -> output dir."""
    d = tmp_path_factory.mktemp("e2e")
    ref = reference()
    commentary = Track(noise_floor(12.0, level_db=-60.0, seed=3), default=False, title="Commentary")
    planes = np.zeros((32, ref.size), np.float32)
    planes[[0, 1]] = ref
    inputs = [
        write_media(d / "offset_mp4.mp4", [Track(ref, start_s=2.0)], video_s=12.0),
        write_media(d / "offset_mkv.mkv", [Track(ref, start_s=2.0)], video_s=12.0),
        write_media(d / "hole1.mka", [Track(ref, holes=[(5.0, 1.0)])]),
        write_media(d / "hole3.mka", [Track(ref, holes=[(5.0, 3.0)])]),
        write_media(d / "tracks.mkv", [commentary, Track(ref)], video_s=12.0),
        write_media(d / "cover_mp3.mp3", [Track(ref)], cover_art=True),
        write_media(d / "cover_m4a.m4a", [Track(ref)], cover_art=True),
        write_audio(d / "inverted.wav", np.stack([ref, -ref])),
        write_multichannel_wav(d / "channels32.wav", planes),
    ]
    out = d / "out"
    cmd = [sys.executable, "-m", "captioning", "caption", *map(str, inputs), "-o", str(out), "--quiet", "--haptics",
           "--hls", "--hls-segment", "4"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return {p.stem: out / p.stem for p in inputs}


def seconds(timestamp: str) -> float:
    """``HH:MM:SS.mmm`` -> seconds."""
    h, m, sec = timestamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(sec)


def foreground_starts(out: Path) -> list[float]:
    events = json.loads((out / "events.json").read_text())["events"]
    return [e["start"] for e in events if not e["background"]]


@pytest.mark.slow
@pytest.mark.parametrize("stem, expected", [
    ("offset_mp4", (5.0, 10.0)), ("offset_mkv", (5.0, 10.0)), ("hole1", (3.0, 9.0)), ("hole3", (3.0, 11.0)),
    ("tracks", KNOCKS_S), ("cover_mp3", KNOCKS_S), ("cover_m4a", KNOCKS_S), ("inverted", KNOCKS_S),
    ("channels32", KNOCKS_S),
])
def test_events_are_on_the_media_timeline(caption_run: dict[str, Path], stem: str,
                                          expected: tuple[float, ...]) -> None:
    assert_at(foreground_starts(caption_run[stem]), expected)


@pytest.mark.slow
@pytest.mark.parametrize("stem", ["cover_mp3", "cover_m4a"])
def test_cover_art_cues_are_on_the_25_fps_grid(caption_run: dict[str, Path], stem: str) -> None:
    cues = webvtt.read(str(caption_run[stem] / "captions.vtt"))
    assert [c.start for c in cues] == ["00:00:02.960", "00:00:07.960"]


@pytest.mark.slow
def test_every_output_a_player_reads_is_on_the_media_timeline(caption_run: dict[str, Path]) -> None:
    """Captions, metadata track, HLS segments and haptics of audio muxed 2 s after the video."""
    out = caption_run["offset_mkv"]
    starts = [seconds(webvtt.read(str(out / name)).captions[0].start) for name in
              ("captions.vtt", "captions.metadata.vtt", "hls/segment1.webvtt")]
    assert all(abs(t - 5.0) <= TOL_S for t in starts), starts
    assert not webvtt.read(str(out / "hls/segment0.webvtt")).captions
    cues = json.loads((out / "haptics.json").read_text())["cues"]
    assert_at(sorted({round(c["time"]) for c in cues if c["time"] < 11}), (5.0, 10.0))


@pytest.mark.slow
def test_events_json_records_the_audio_stream(caption_run: dict[str, Path]) -> None:
    media = json.loads((caption_run["tracks"] / "events.json").read_text())["media"]
    assert media["audio_stream"] == 2
    assert media["streams"][1]["title"] == "Commentary"


@pytest.mark.slow
def test_cli_audio_stream_flag(two_tracks: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "captioning", "caption", str(two_tracks), "-o", str(tmp_path), "--quiet"]
    r = subprocess.run([*cmd, "--audio-stream", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    analysis = json.loads((tmp_path / "two_tracks" / "events.json").read_text())
    assert analysis["media"]["audio_stream"] == 1 and foreground_starts(tmp_path / "two_tracks") == []
    r = subprocess.run([*cmd, "--audio-stream", "0"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert "stream 0 is video" in r.stderr and "#2 audio" in r.stderr and "Traceback" not in r.stderr
