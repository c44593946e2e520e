"""HLS subtitles line up with the video rendition they go with (issue 15).

The X-TIMESTAMP-MAP MPEGTS value is the video rendition's presentation timestamp of media time 0: read from
its first media segment (ffmpeg-made MPEG-TS and fMP4, libx264 B-frames on and off), else the documented
rule. The real-player proof is tests/test_captions_hls_browser.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import webvtt
from captions_factory import VOCAB, analysis, event
from hls_factory import KNOCKS_S, knock_analysis, make_clip, needs_ffmpeg, package_hls

from captioning.captions import (
    CaptionOptions,
    build_cues,
    read_video_rendition,
    render_hls,
    timestamp_map_ticks,
    write_captions,
)
from captioning.errors import InvalidOptionsError
from captioning.events import MediaInfo, StreamInfo


@pytest.fixture(scope="module")
def renditions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Video playlists: ``ts``/``fmp4`` of a 30 s clip with B-frames, ``*_nob`` of a 12 s clip without."""
    d = tmp_path_factory.mktemp("hls")
    clip, flat = make_clip(d / "clip.mp4"), make_clip(d / "flat.mp4", seconds=12.0, bframes=False)
    return {
        "ts": package_hls(clip, d / "ts", "mpegts"),
        "fmp4": package_hls(clip, d / "fmp4", "fmp4"),
        "ts_nob": package_hls(flat, d / "ts_nob", "mpegts"),
        "fmp4_nob": package_hls(flat, d / "fmp4_nob", "fmp4", single_file=True),  # byte ranges, EXT-X-MAP too
    }


def header_ticks(text: str) -> int:
    found = re.search(r"^X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:00:00:00\.000$", text, re.MULTILINE)
    assert found, text
    return int(found[1])


# ------------------------------------------------------------------------------- the rule, no video at hand
def test_without_a_video_rendition_media_time_0_maps_to_mpegts_0(caplog: pytest.LogCaptureFixture) -> None:
    """RFC 8216's mapping for WebVTT without the header; a warning says how to do better."""
    files = render_hls(build_cues(knock_analysis(), vocabulary=VOCAB).cues, 30.0, CaptionOptions(hls=True))
    assert header_ticks(files["segment0.webvtt"]) == 0
    assert "hls_video_playlist" in caplog.text and "master.m3u8" not in files


def test_explicit_ticks_are_written_as_given() -> None:
    options = CaptionOptions(hls=True, hls_mpegts=133_200)
    files = render_hls(build_cues(knock_analysis(), vocabulary=VOCAB).cues, 30.0, options)
    assert {header_ticks(t) for n, t in files.items() if n.endswith(".webvtt")} == {133_200}


def test_an_mpegts_input_maps_by_its_own_clock() -> None:
    """Media time 0 of a TS input is its container clock at ``start_time`` (its first frame's PTS less that
    frame's media time)."""
    media = MediaInfo("in.ts", 6.0, "mpegts", start_time=131280 / 90000,
                      streams=(StreamInfo(256, "video", "h264", start=1920 / 90000),))
    assert timestamp_map_ticks(CaptionOptions(hls=True), media) == 131_280  # = 133200 - 1920
    wrapped = MediaInfo("in.ts", 6.0, "mpegts", start_time=(2**33 + 900) / 90000)
    assert timestamp_map_ticks(CaptionOptions(hls=True), wrapped) == 900


@pytest.mark.parametrize("kwargs", [
    {"hls": True, "hls_mpegts": -1}, {"hls": True, "hls_mpegts": 2**33},
    {"hls": True, "hls_mpegts": 0, "hls_video_playlist": Path("v.m3u8")},
    {"hls_mpegts": 126000}, {"hls_video_playlist": Path("v.m3u8")},
])
def test_bad_hls_options_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidOptionsError):
        CaptionOptions(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- read from the rendition
@needs_ffmpeg
@pytest.mark.parametrize("name, ticks, container", [
    ("ts", 133_200, "mpegts"),  # ffmpeg's TS starts at 1.4 s; two B-frames delay the first frame 7200 more
    ("fmp4", 7_200, "fmp4"),  # base decode time 0 + the first sample's composition offset (edit list ignored)
    ("ts_nob", 127_920, "mpegts"),  # 1.4 s + the AAC priming (1024 samples at 48 kHz) ffmpeg shifts by
    ("fmp4_nob", 0, "fmp4"),
])
def test_first_frame_pts_is_read_from_the_first_segment(renditions: dict[str, Path], name: str, ticks: int,
                                                        container: str) -> None:
    video = read_video_rendition(renditions[name])
    assert (video.first_pts, video.container) == (ticks, container)
    assert video.duration_s == pytest.approx(30.0 if name in ("ts", "fmp4") else 12.0)
    assert video.codecs == "avc1.64000b,mp4a.40.2" and video.resolution == (160, 120) and video.frame_rate == 25
    assert 0 < video.average_bandwidth <= video.peak_bandwidth


@needs_ffmpeg
@pytest.mark.parametrize("name", ["ts", "fmp4"])
def test_write_captions_with_the_video_playlist(renditions: dict[str, Path], tmp_path: Path, name: str) -> None:
    playlist = renditions[name]
    video = read_video_rendition(playlist)
    out = tmp_path / "out"
    # the media runs 1 s past the video rendition (its audio goes on), so captions.vtt may hold the cue of the knock
    # at 29.6 s whole while the rendition ends at 30 s
    write_captions(knock_analysis(31.0), out, CaptionOptions(hls=True, hls_segment_s=6.0, hls_video_playlist=playlist),
                   vocabulary=VOCAB)
    segments = sorted((out / "hls").glob("segment*.webvtt"))
    assert len(segments) == 5 and {header_ticks(p.read_text()) for p in segments} == {video.first_pts}
    master = (out / "hls" / "master.m3u8").read_text().splitlines()
    assert master[0] == "#EXTM3U"
    assert master[1].startswith("#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"soundcue\",")
    assert "DEFAULT=YES,AUTOSELECT=YES" in master[1] and master[1].endswith('URI="captions.m3u8"')
    assert master[2] == (f"#EXT-X-STREAM-INF:BANDWIDTH={video.peak_bandwidth},AVERAGE-BANDWIDTH="
                         f"{video.average_bandwidth},CODECS=\"avc1.64000b,mp4a.40.2\",RESOLUTION=160x120,"
                         'FRAME-RATE=25.000,SUBTITLES="soundcue"')
    assert (out / "hls" / master[3]).resolve() == playlist.resolve()  # relative to hls/
    # the cue of the knock at 29.6 s is cut where the video ends (30 s), every other one kept whole
    whole = webvtt.read(str(out / "captions.vtt")).captions
    cues = {(c.start, c.end) for p in segments for c in webvtt.read(str(p)).captions}
    assert len(cues) == len(whole) == len(KNOCKS_S)
    assert whole[-1].end > "00:00:30.000" and max(c[1] for c in cues) == "00:00:30.000"


@needs_ffmpeg
def test_a_cue_starting_after_the_video_ends_is_left_out(renditions: dict[str, Path],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    video = read_video_rendition(renditions["fmp4_nob"])  # 12 s
    cues = build_cues(analysis([event(5.0, 5.5, "door_slam"), event(12.5, 13.0, "glass_shatter")], 14.0),
                      vocabulary=VOCAB).cues
    files = render_hls(cues, 14.0, CaptionOptions(hls=True, hls_segment_s=6.0), video=video, video_uri="v.m3u8")
    playlist = files["captions.m3u8"]
    assert re.findall(r"#EXTINF:([\d.]+),", playlist) == ["6.000", "6.000"]
    assert "[glass shatters]" not in "".join(files.values()) and "after the video rendition ends" in caplog.text


@pytest.mark.parametrize("text, message", [
    ("not a playlist", "no #EXTM3U"),
    ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n", "master playlist"),
    ("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:6,\ns0.ts\n", "encrypted"),
    ("#EXTM3U\n#EXT-X-ENDLIST\n", "no media segment"),
    ("#EXTM3U\n#EXTINF:6,\nhttps://cdn.example/s0.ts\n", "local files"),
    ("#EXTM3U\n#EXTINF:6,\nmissing.ts\n", "segment .*missing.ts: no such file"),
])
def test_unreadable_video_playlists_are_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    playlist = tmp_path / "video.m3u8"
    playlist.write_text(text)
    with pytest.raises(InvalidOptionsError, match=message):
        read_video_rendition(playlist)


# ------------------------------------------------------------------------------- the command line
@needs_ffmpeg
def test_cli_hls_video_playlist(renditions: dict[str, Path], tmp_path: Path) -> None:
    """``--hls-video-playlist`` times the rendition to the video and prints the EXT-X-MEDIA line to add."""
    clip = renditions["ts"].parent.parent / "clip.mp4"
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "captioning", "caption", str(clip), "-o", str(out), "--hls",
                        "--hls-segment", "6", "--hls-video-playlist", str(renditions["ts"])],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert header_ticks((out / "clip" / "hls" / "segment0.webvtt").read_text()) == 133_200
    master = (out / "clip" / "hls" / "master.m3u8").read_text()
    assert (out / "clip" / "hls" / master.splitlines()[-1]).resolve() == renditions["ts"].resolve()
    media = next(line for line in master.splitlines() if line.startswith("#EXT-X-MEDIA:"))
    assert media.replace('URI="captions.m3u8"', 'URI="hls/captions.m3u8"') in r.stdout


@pytest.mark.parametrize("args, message", [
    (["--hls-mpegts", "126000"], "set hls (--hls) as well"),
    # a rule between two flags is not blamed on the first of them (it was "--hls-mpegts 5: ... set hls as well")
    (["--hls", "--hls-mpegts", "5", "--hls-video-playlist", "v.m3u8"], "error: give hls_mpegts (--hls-mpegts) or "
     "hls_video_playlist(_url) (--hls-video-playlist), not both"),
    (["--hls", "--hls-mpegts", "8589934592"], "0..2**33-1"),
])
def test_cli_refuses_bad_hls_flags_in_one_line(knocks_wav: Path, tmp_path: Path, args: list[str],
                                               message: str) -> None:
    r = subprocess.run([sys.executable, "-m", "captioning", "caption", str(knocks_wav), "-o", str(tmp_path), *args],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_missing_or_wrong_video_playlist_is_named_plainly(tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionsError, match=r"the video playlist .*nope.m3u8: no such file$"):
        read_video_rendition(tmp_path / "nope.m3u8")
    with pytest.raises(InvalidOptionsError, match=r"it is a directory, not a video playlist \(.m3u8\)$"):
        read_video_rendition(tmp_path)
