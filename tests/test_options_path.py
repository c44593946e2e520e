"""One options path (issue 9): the same media gives the same cues through the library, the CLI and the service.

The library resolves the defaults that depend on the media (the caption frame rate: the video's own, else
25) from the Analysis, per input; the Analysis carries the name the user gave the media; a service job
probes its media once. Analyses here use the rule-based stand-in models (tests/fake_analysis.py), the same
the test server uses, so cue times are compared exactly.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import webvtt
from api_server import KEY_A, Server, client, wait_job
from fake_analysis import analyze as fake_analyze
from fake_analysis import fake_analyzers
from media_factory import knock, noise_floor, place, write_audio, write_video
from typer.testing import CliRunner

import captioning.media
import captioning.pipeline
from app.core.config import load_settings
from app.schemas import JobOptions
from app.store import JobStore, NewJob
from app.worker import job_dir, run_job
from captioning.captions import CaptionOptions, render_vtt
from captioning.cli import caption, register_commands
from captioning.events import MediaInfo, StreamInfo
from captioning.media import probe

#: Knocks of the issue's 5 fps sample: on a 25 fps grid they fall between two 5 fps frames.
KNOCKS_S = (5.08, 6.76)


@pytest.fixture(scope="module")
def video_5fps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("v") / "clip.mp4", place(noise_floor(8.0), knock(), KNOCKS_S), 8.0,
                       fps=5)


@pytest.fixture(scope="module")
def knocks_wav_odd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_audio(tmp_path_factory.mktemp("a") / "knocks.wav", place(noise_floor(8.0), knock(), KNOCKS_S))


def starts_ms(vtt: str) -> list[int]:
    return [c.start_time.in_milliseconds() for c in webvtt.from_buffer(io.StringIO(vtt)).captions]


# ---------------------------------------------------------------------------------------- the library
def _media(streams: tuple[StreamInfo, ...]) -> MediaInfo:
    return MediaInfo(path="x", duration=10.0, format="mov,mp4", streams=streams, audio_stream=1)


AUDIO = StreamInfo(index=1, type="audio", codec="aac", sample_rate=48000, channels=2)


@pytest.mark.parametrize("video, expected", [
    (StreamInfo(index=0, type="video", codec="h264", fps=5.0), 5.0),
    (StreamInfo(index=0, type="video", codec="h264", fps=29.97), 29.97),
    (None, 25.0),  # audio only
    (StreamInfo(index=0, type="video", codec="mjpeg", fps=90000.0, disposition=("attached_pic",)), 25.0),
    (StreamInfo(index=0, type="video", codec="h264", fps=1000.0), 25.0),  # a container's time base, not a rate
    (StreamInfo(index=0, type="video", codec="h264", fps=None), 25.0),
])
def test_frame_rate_default_comes_from_the_media(video: StreamInfo | None, expected: float) -> None:
    media = _media((video, AUDIO) if video else (AUDIO,))
    assert CaptionOptions().for_media(media).frame_rate == pytest.approx(expected)
    assert CaptionOptions(frame_rate=30.0).for_media(media).frame_rate == 30.0  # given: kept


def test_implausible_rate_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="captioning"):
        CaptionOptions().for_media(_media((StreamInfo(index=0, type="video", codec="h264", fps=1000.0), AUDIO)))
    assert "outside 1..240" in caplog.text


def test_library_renders_on_the_videos_own_frames(video_5fps: Path) -> None:
    analysis = fake_analyze(video_5fps)
    starts = starts_ms(render_vtt(analysis))
    assert len(starts) == 2 and all(ms % 200 == 0 for ms in starts), starts
    assert starts != starts_ms(render_vtt(analysis, CaptionOptions(frame_rate=25.0)))  # the grid matters here


def test_analyze_reuses_a_probe_and_carries_the_users_name(video_5fps: Path, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    info = probe(video_5fps)

    def no_second_probe(*args: Any, **kwargs: Any) -> MediaInfo:
        raise AssertionError("probed twice")

    monkeypatch.setattr(captioning.pipeline, "probe", no_second_probe)
    analysis = fake_analyze(info, name="holiday.mp4")
    assert analysis.media.path == "holiday.mp4"
    assert analysis.media.streams == info.streams and analysis.media.duration == info.duration


# ------------------------------------------------------------------------------------------- the CLI
def run_caption(monkeypatch: pytest.MonkeyPatch, *args: str | Path) -> None:
    """``soundcue caption ARGS`` in this process, on the stand-in models."""
    monkeypatch.setattr(captioning.pipeline, "load_analyzers", fake_analyzers)
    app = typer.Typer(add_completion=False)
    app.command()(caption)
    root = logging.getLogger()
    level = root.level
    result = CliRunner().invoke(register_commands(app), ["caption", *map(str, args)])
    root.setLevel(level)  # --quiet quietens the root logger of the process
    assert result.exit_code == 0, result.output


def test_cli_video_then_wav_each_on_its_own_grid(video_5fps: Path, knocks_wav_odd: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A 5 fps video followed by a WAV in one run: the WAV is not left on the 5 fps grid."""
    run_caption(monkeypatch, video_5fps, knocks_wav_odd, "-o", tmp_path)
    for path in (video_5fps, knocks_wav_odd):
        written = (tmp_path / path.stem / "captions.vtt").read_text(encoding="utf-8")
        assert written == render_vtt(fake_analyze(path)), path.name
    wav = starts_ms((tmp_path / "knocks" / "captions.vtt").read_text(encoding="utf-8"))
    assert all(ms % 40 == 0 for ms in wav) and any(ms % 200 for ms in wav), wav


# ----------------------------------------------------------------------------------------- the service
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("options") / "data").start()
    yield srv
    srv.stop()


def test_service_and_cli_give_the_same_cues(server: Server, video_5fps: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's numbers: 05.080/06.760 from the service, 05.000/06.650 from the CLI; now one answer."""
    with client(server) as http, video_5fps.open("rb") as f:
        r = http.post("/v1/captions", files={"file": ("clip.mp4", f)})
    assert r.status_code == 200, r.text
    expected = render_vtt(fake_analyze(video_5fps))
    assert r.text == expected
    assert starts_ms(r.text) == [5000, 6600]  # the frames the knocks at 5.08 and 6.76 s fall in, at 5 fps
    run_caption(monkeypatch, video_5fps, "-o", tmp_path, "-q")
    assert (tmp_path / "clip" / "captions.vtt").read_text(encoding="utf-8") == r.text


def test_service_results_name_the_upload_not_the_server_path(server: Server, video_5fps: Path) -> None:
    with client(server, KEY_A) as http, video_5fps.open("rb") as f:
        r = http.post("/v1/jobs", files={"file": ("holiday clip.mp4", f)},
                      data={"options": json.dumps({"outputs": ["events", "vtt", "haptics"]})})
        job = wait_job(http, r.json()["id"])
        assert job["status"] == "succeeded", job
        texts = {res["name"]: http.get(f"/v1/jobs/{job['id']}/{res['name']}").text for res in job["results"]}
    assert json.loads(texts["events.json"])["media"]["path"] == "holiday clip.mp4"
    assert json.loads(texts["haptics.json"])["source"] == "holiday clip.mp4"
    for name, text in texts.items():
        assert str(server.data_dir) not in text and "/input" not in text, name


def test_a_job_probes_its_media_once(tmp_path: Path, video_5fps: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_probe = captioning.media.probe

    def counting(path: Any, **kwargs: Any) -> MediaInfo:
        calls.append(str(path))
        return real_probe(path, **kwargs)

    monkeypatch.setattr(captioning.media, "probe", counting)
    monkeypatch.setattr(captioning.pipeline, "probe", counting)
    settings = load_settings(data_dir=tmp_path, api_keys="k" * 20)
    store = JobStore(settings.db_path)
    row, _ = store.create(NewJob(owner="o", source={"kind": "upload", "filename": "clip.mp4"},
                                 options=JobOptions(outputs=["events", "vtt"]).model_dump(mode="json"),
                                 options_hash="h"))
    job_dir(settings, row.id).mkdir(parents=True)
    (job_dir(settings, row.id) / "input").write_bytes(video_5fps.read_bytes())
    claimed = store.claim("lease")
    assert claimed is not None
    assert run_job(store, settings, claimed, "lease", fake_analyze) == "succeeded"
    assert len(calls) == 1, calls
    vtt = (job_dir(settings, row.id) / "results" / "captions.vtt").read_text(encoding="utf-8")
    assert vtt == render_vtt(fake_analyze(video_5fps))
