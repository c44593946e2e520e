"""The Foley outputs of the service, end to end: a real uvicorn server, a real HTTP client (httpx).

Two ways in: the soundcue job API (``outputs: ["audio", "video"]`` with ``foley``/``remux`` options) and the
HunyuanVideo-Foley-compatible API (``POST /v1/video/foley/generate``, ``GET /v1/video/foley/status``), which
fetches ``video_url`` from a stand-in public host on 127.0.0.2 (exempted from the private-address refusal).
The networks are the rule-based stand-ins of tests/fake_analysis.py; the Foley engine and the remux are real.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
import webvtt
from api_server import KEY_B, Server, client, wait_job
from media_factory import write_audio
from servers import loopback_http

PROBLEM = "application/problem+json"


class _Files(BaseHTTPRequestHandler):
    """A public-host stand-in on 127.0.0.2 serving the files of ``files``."""

    files: dict[str, bytes] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def public_host(knocks_mp4: Path, not_media: Path) -> Iterator[str]:
    _Files.files = {"/knocks.mp4": knocks_mp4.read_bytes(), "/notes.mp4": not_media.read_bytes()}
    with loopback_http(_Files) as url:
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("foley-api") / "data", {
        "SOUNDCUE_URL_ALLOW_CIDRS": "127.0.0.2/32", "SOUNDCUE_WORKERS": "1"}).start()
    yield srv
    srv.stop()


@pytest.fixture()
def http(server: Server) -> Iterator[httpx.Client]:
    with client(server) as c:
        yield c


def upload(http: httpx.Client, path: Path, options: dict[str, Any]) -> httpx.Response:
    with path.open("rb") as f:
        return http.post("/v1/jobs", files={"file": (path.name, f, "application/octet-stream")},
                         data={"options": json.dumps(options)})


def problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["type"].endswith(":" + slug) and body["detail"], body
    assert "Traceback" not in r.text
    return body


def wait_task(http: httpx.Client, status_url: str, timeout_s: float = 120.0) -> tuple[dict[str, Any], list[int]]:
    """Poll a Foley task until it is completed or failed; returns it and the progress values seen."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout_s
    while True:
        task: dict[str, Any] = http.get(status_url).json()
        seen.append(task["progress"])
        if task["status"] in ("completed", "failed"):
            return task, seen
        assert task["status"] == "processing", task
        assert time.monotonic() < deadline, f"task still processing after {timeout_s} s"
        time.sleep(0.1)


def media_streams(data: bytes) -> list[tuple[str, str]]:
    with av.open(io.BytesIO(data)) as c:
        return [(s.type, s.codec_context.name) for s in c.streams]


# -- the HunyuanVideo-Foley-compatible API ------------------------------------------------------------


def test_generate_and_status_give_the_foley_track(server: Server, http: httpx.Client, public_host: str,
                                                  knocks_mp4: Path) -> None:
    request = {
        "video_url": f"{public_host}/knocks.mp4",
        "output": {"format": "wav", "sample_rate": 48000, "channels": 2},
        "effects": {"profile": "realistic", "sync": "frame", "background_music": {"enabled": False}},
        "options": {"enable_cache": True, "return_detailed_log": True}}
    r = http.post("/v1/video/foley/generate", json=request)
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["task_id"].startswith("job_") and accepted["status"] == "processing"
    assert r.headers["location"] == accepted["status_url"] == (
        f"{server.url}/v1/video/foley/status?task_id={accepted['task_id']}")
    task, seen = wait_task(http, accepted["status_url"])
    assert task["status"] == "completed" and task["error"] is None, task
    assert seen == sorted(seen) and seen[0] >= 0 and seen[-1] == 100
    result = task["result"]
    assert (result["format"], result["sample_rate"], result["channels"]) == ("wav", 48000, 2)
    assert result["duration_seconds"] == pytest.approx(6.0, abs=0.05)
    assert {s["stage"] for s in task["detailed_log"]} >= {"fetch", "foley"}
    # the log says what the render reached, in the units the client asked for
    foley = next(s for s in task["detailed_log"] if s["stage"] == "foley")["details"]
    assert foley["target_lufs"] == -16.0 and foley["sample_rate"] == 48000 and foley["voices"] >= 1
    assert foley["target_met"] is (foley["shortfall"] is None)
    assert foley["true_peak_dbtp"] <= -1.0
    # audio_url is a capability link: a client downloads it as given, without the key
    audio = httpx.get(result["audio_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    with av.open(io.BytesIO(audio.content)) as c:
        stream = c.streams.audio[0]
        assert (stream.codec_context.name, stream.codec_context.sample_rate, stream.codec_context.channels) == (
            "pcm_s16le", 48000, 2)
        samples = sum(f.samples for f in c.decode(stream))
    assert samples / 48000 == pytest.approx(result["duration_seconds"], abs=0.001)
    # the same task is a soundcue job for the same key
    job = http.get(f"/v1/jobs/{task['task_id']}").json()
    assert job["options"]["foley"]["audio_format"] == "wav" and "foley.wav" in job["links"]
    # asked again, the files come from the cache, and the log still says what the render reached
    again = http.post("/v1/video/foley/generate", json=request)
    cached, _ = wait_task(http, again.json()["status_url"])
    assert cached["status"] == "completed", cached
    stages = {s["stage"]: s["details"] for s in cached["detailed_log"]}
    assert "foley" not in stages and stages["cache"]["served_from"] == task["task_id"]
    assert stages["cache"]["foley"] == foley


def test_generate_with_mp3_and_music(http: httpx.Client, public_host: str) -> None:
    r = http.post("/v1/video/foley/generate", json={
        "video_url": f"{public_host}/knocks.mp4", "output": {"format": "mp3", "sample_rate": 44100, "channels": 1},
        "effects": {"profile": "cartoon", "background_music": {"enabled": True, "intensity": 0.5}}})
    assert r.status_code == 202, r.text
    task, _ = wait_task(http, r.json()["status_url"])
    assert task["status"] == "completed", task
    assert task["detailed_log"] is None  # not asked for
    audio = httpx.get(task["result"]["audio_url"])
    assert audio.headers["content-type"] == "audio/mpeg"
    with av.open(io.BytesIO(audio.content)) as c:
        ctx = c.streams.audio[0].codec_context
        assert (ctx.name, ctx.sample_rate, ctx.channels) == ("mp3float", 44100, 1)
    job = http.get(f"/v1/jobs/{task['task_id']}").json()
    assert job["options"]["foley"] | {"music": True, "music_intensity": 0.5, "profile": "cartoon"} == (
        job["options"]["foley"])


@pytest.mark.parametrize("body, field", [
    ({"effects": {"profile": "opera"}}, "profile"),
    ({"effects": {"background_music": {"enabled": True, "intensity": 2}}}, "intensity"),
    ({"output": {"sample_rate": 7}}, "sample_rate"),
    ({"output": {"format": "flac"}}, "format"),
    ({"output": {"channels": 6}}, "channels"),
    ({"effects": {"sync": "beat"}}, "sync"),
    ({"prompt": "footsteps on gravel"}, "prompt"),
])
def test_bad_generate_options_are_422_naming_the_field(http: httpx.Client, public_host: str,
                                                       body: dict[str, Any], field: str) -> None:
    r = http.post("/v1/video/foley/generate", json={"video_url": f"{public_host}/knocks.mp4", **body})
    err = problem(r, 422, "validation")
    assert any(field in e["loc"] for e in err["errors"]), err
    assert field in err["detail"]


def test_generate_needs_a_key_and_a_public_url(server: Server, http: httpx.Client) -> None:
    with client(server, None) as anon:
        problem(anon.post("/v1/video/foley/generate", json={"video_url": "https://example.org/a.mp4"}), 401,
                "unauthorized")
        problem(anon.get("/v1/video/foley/status", params={"task_id": "job_x"}), 401, "unauthorized")
    err = problem(http.post("/v1/video/foley/generate", json={"video_url": "http://127.0.0.1/a.mp4"}), 422,
                  "url-refused")
    assert "video_url" in err["detail"]
    problem(http.post("/v1/video/foley/generate", content=b"video_url=x",
                      headers={"content-type": "application/x-www-form-urlencoded"}), 415, "unsupported-content-type")


def test_tasks_are_visible_only_to_their_key(server: Server, http: httpx.Client, public_host: str) -> None:
    task_id = http.post("/v1/video/foley/generate", json={"video_url": f"{public_host}/knocks.mp4"}).json()["task_id"]
    with client(server, KEY_B) as other:
        problem(other.get("/v1/video/foley/status", params={"task_id": task_id}), 404, "not-found")
    problem(http.get("/v1/video/foley/status", params={"task_id": "job_doesnotexist"}), 404, "not-found")
    wait_task(http, f"/v1/video/foley/status?task_id={task_id}")


def test_a_task_that_fails_says_why(http: httpx.Client, public_host: str) -> None:
    r = http.post("/v1/video/foley/generate", json={"video_url": f"{public_host}/notes.mp4"})
    task, _ = wait_task(http, r.json()["status_url"])
    assert task["status"] == "failed" and task["result"] is None
    assert task["error"]["code"] in ("not-media", "media-decode") and "notes.mp4" in task["error"]["message"]


def test_status_of_a_job_without_the_audio_output_says_so(server: Server, http: httpx.Client,
                                                          knocks_mp4: Path) -> None:
    """A task_id may be any job of the key: one made by /v1/jobs without ``audio`` is finished, with no track."""
    job = wait_job(http, upload(http, knocks_mp4, {"outputs": ["vtt"]}).json()["id"])
    assert job["status"] == "succeeded", job
    task = http.get("/v1/video/foley/status", params={"task_id": job["id"]}).json()
    assert task["status"] == "failed" and task["result"] is None and task["progress"] == 100, task
    assert task["error"]["code"] == "no-audio"  # documented in docs/api.md with the compatible API
    message = task["error"]["message"]
    assert "{id}" not in message and f"{server.url}/v1/jobs/{job['id']}" in message, message  # absolute, filled in


# -- the job API ---------------------------------------------------------------------------------------


def test_job_makes_the_audio_and_the_remuxed_video(http: httpx.Client, knocks_mp4: Path) -> None:
    r = upload(http, knocks_mp4, {"outputs": ["vtt", "audio", "video"], "detailed_log": True,
                                  "foley": {"audio_format": "aac", "profile": "dramatic"}})
    assert r.status_code == 202, r.text
    job = wait_job(http, r.json()["id"], timeout_s=120)
    assert job["status"] == "succeeded", job
    results = {x["name"]: x for x in job["results"]}
    assert results["foley.m4a"]["media_type"] == "audio/mp4"
    assert results["video.mp4"]["media_type"] == "video/mp4"
    assert results["foley.m4a"]["duration_s"] == pytest.approx(6.0, abs=0.05)
    stages = [s["stage"] for s in job["log"]]
    foley = next(s for s in job["log"] if s["stage"] == "foley")["details"]
    assert foley["target_met"] is True and abs(foley["loudness_lufs"] + 16.0) <= 0.5
    assert all(s.get("details") is None for s in job["log"] if s["stage"] != "foley")
    video = http.get(f"/v1/jobs/{job['id']}/video.mp4")
    assert video.headers["content-type"] == "video/mp4"
    assert media_streams(video.content) == [("video", "h264"), ("audio", "aac"), ("audio", "aac"),
                                            ("subtitle", "mov_text")]
    with av.open(io.BytesIO(video.content)) as c:
        texts = [sub.ass.decode().split(",", 8)[-1] for p in c.demux(c.streams.subtitles[0]) if p.size
                 for sub in p.decode()]
    vtt = webvtt.from_buffer(io.StringIO(http.get(f"/v1/jobs/{job['id']}/captions.vtt").text))
    assert texts == [c.text.replace("\n", "\\N") for c in vtt.captions] and texts
    assert {"foley", "remux"} <= set(stages) and len(stages) == len(set(stages))  # each stage once, in order


def test_video_of_an_audio_file_fails_the_job_clearly(http: httpx.Client, tmp_path: Path) -> None:
    song = write_audio(tmp_path / "song.m4a", np.zeros(48000 * 2, np.float32))
    job = wait_job(http, upload(http, song, {"outputs": ["video"]}).json()["id"])
    assert job["status"] == "failed"
    error = job["error"]
    assert isinstance(error, dict) and error["type"].endswith("invalid-options")
    assert "song.m4a: no video stream" in error["detail"]


@pytest.mark.parametrize("options, field", [
    ({"foley": {"profile": "opera"}}, "profile"),
    ({"foley": {"music_intensity": 2}}, "music_intensity"),
    ({"foley": {"sample_rate": 7}}, "sample_rate"),
    ({"remux": {"replace_audio": "sometimes"}}, "replace_audio"),
    ({"foley": {"loudness_lufs": 3}}, "loudness_lufs"),
    ({"foley": {"true_peak_dbtp": 2}}, "true_peak_dbtp"),
])
def test_bad_job_foley_options_are_422_naming_the_field(http: httpx.Client, knocks_mp4: Path,
                                                        options: dict[str, Any], field: str) -> None:
    err = problem(upload(http, knocks_mp4, {"outputs": ["audio"], **options}), 422, "validation")
    assert any(field in e["loc"] for e in err["errors"]), err


def test_a_failed_render_fails_the_job_with_a_clear_problem(tmp_path_factory: pytest.TempPathFactory,
                                                            knocks_mp4: Path) -> None:
    """The engine raising an unexpected error (tests/foley_faults.py) fails the job, not the worker."""
    srv = Server(tmp_path_factory.mktemp("foley-faults") / "data",
                 {"SOUNDCUE_ANALYZER": "foley_faults:analyze", "SOUNDCUE_WORKERS": "1"}).start()
    try:
        with client(srv) as http:
            job = wait_job(http, upload(http, knocks_mp4, {"outputs": ["audio"]}).json()["id"])
            assert job["status"] == "failed" and job["results"] == []
            error = job["error"]
            assert isinstance(error, dict) and error["type"].endswith("foley-failed")
            assert error["detail"] == "the Foley track could not be rendered (RuntimeError); the error has been logged"
            assert http.get("/readyz").json()["status"] == "ok"  # the worker lives on
    finally:
        srv.stop()


@pytest.mark.parametrize("options, words", [
    ({"outputs": ["vtt"], "foley": {"profile": "dramatic"}}, "foley.profile needs 'audio' or 'video'"),
    ({"outputs": ["audio"], "remux": {"replace_audio": True}}, "remux.replace_audio needs 'video'"),
])
def test_foley_options_without_a_foley_output_are_422(http: httpx.Client, knocks_mp4: Path,
                                                      options: dict[str, Any], words: str) -> None:
    err = problem(upload(http, knocks_mp4, options), 422, "invalid-options")
    assert words in err["detail"], err
