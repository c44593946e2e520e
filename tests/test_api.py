"""The soundcue service, end to end: a real uvicorn server, the real pipeline, a real HTTP client.

The server runs with two API keys, a 3 MB upload limit, a 10 s limit for the synchronous endpoint, and
the address range 127.0.0.2/32 exempted from the private-address refusal, so a local file server and a
webhook receiver there stand in for public hosts while 127.0.0.1 stays refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import select
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pysrt
import pytest
import webvtt
from api_server import KEY_A, KEY_B, Server, client, wait_job
from media_factory import Track, knock, noise_floor, place, write_audio, write_media
from servers import loopback_http

UPLOAD_LIMIT = 3_000_000
PROBLEM = "application/problem+json"


class _Files(BaseHTTPRequestHandler):
    """A tiny public-host stand-in on 127.0.0.2: serves files, redirects, and records webhooks."""

    files: dict[str, tuple[str, bytes]] = {}
    redirects: dict[str, str] = {}
    hooks: list[dict[str, Any]] = []
    hook_failures: dict[str, int] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path in self.redirects:
            self.send_response(302)
            self.send_header("Location", self.redirects[self.path])
            self.end_headers()
            return
        if self.path not in self.files:
            self.send_error(404)
            return
        ctype, body = self.files[self.path]
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        msg_id = self.headers.get("webhook-id", "")
        self.hooks.append({"path": self.path, "headers": dict(self.headers), "body": body, "at": time.time()})
        left = self.hook_failures.get(msg_id, 1)  # the first delivery of each message fails: retry is tested
        self.hook_failures[msg_id] = left - 1
        self.send_response(500 if left > 0 else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def public_host() -> Iterator[str]:
    with loopback_http(_Files) as url:
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("api") / "data", {
        "SOUNDCUE_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
        "SOUNDCUE_SYNC_MAX_DURATION_S": "10",
        "SOUNDCUE_URL_ALLOW_CIDRS": "127.0.0.2/32",
        "SOUNDCUE_WEBHOOK_BACKOFF_S": "0.2",
        "SOUNDCUE_WORKERS": "2",
    }).start()
    yield srv
    srv.stop()


@pytest.fixture()
def http(server: Server) -> Iterator[httpx.Client]:
    with client(server) as c:
        yield c


def upload(http: httpx.Client, path: Path, options: dict[str, Any] | None = None,
           headers: dict[str, str] | None = None, **data: str) -> httpx.Response:
    with path.open("rb") as f:
        return http.post("/v1/jobs", files={"file": (path.name, f, "application/octet-stream")},
                         data={"options": json.dumps(options or {}), **data}, headers=headers or {})


def assert_problem(r: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    if slug:
        assert body["type"].endswith(":" + slug), body
    assert "Traceback" not in r.text
    return body


@pytest.fixture(scope="module")
def knocks_job(server: Server, knocks_wav: Path) -> dict[str, Any]:
    """One finished job with every implemented output, shared by the result tests."""
    with client(server) as http:
        r = upload(http, knocks_wav, {"outputs": ["events", "vtt", "srt", "haptics", "timeline"],
                                      "detailed_log": True})
        assert r.status_code == 202, r.text
        return wait_job(http, r.json()["id"])


# -- health, auth, problems ---------------------------------------------------------------------------


def test_health_and_readiness(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok", "checks": {}}
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["status"] == "ok" and ready["checks"]["workers_ready"] >= 1
    assert ready["checks"]["workers_configured"] == 2


@pytest.mark.parametrize("key", [None, "not-a-real-key-0123456789"])
def test_requests_need_a_valid_key(server: Server, key: str | None) -> None:
    with client(server, key) as anon:
        r = anon.get("/v1/jobs")
    body = assert_problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "Bearer" in body["detail"] or "not valid" in body["detail"]


def test_unknown_route_and_job_are_problem_json(http: httpx.Client) -> None:
    assert_problem(http.get("/v1/nothing-here"), 404)
    assert_problem(http.get("/v1/jobs/job_doesnotexist"), 404, "not-found")


# -- submit, poll, results ----------------------------------------------------------------------------


def test_upload_job_succeeds_with_every_result(server: Server, http: httpx.Client, knocks_job: dict[str, Any]
                                               ) -> None:
    job = knocks_job
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0 and job["attempts"] == 1
    assert job["source"] == {"kind": "upload", "filename": "knocks.wav", "url": None, "size_bytes": job["source"]
                             ["size_bytes"]}
    names = {r["name"] for r in job["results"]}
    assert {"events.json", "captions.vtt", "captions.srt", "haptics.json", "haptics.ahap",
            "haptics.android.json", "haptics.web.json", "timeline.png"} <= names
    assert [s["stage"] for s in job["log"]][:1] == ["probe"] and "outputs" in [s["stage"] for s in job["log"]]

    events = http.get(f"/v1/jobs/{job['id']}/events.json").json()
    assert events["media"]["path"] == "knocks.wav"  # the user's name, not the server's file layout
    starts = [e["start"] for e in events["events"]]
    assert starts, "three loud knocks must give at least one event"
    for knock_s in (1.0, 2.5, 4.2):
        assert any(abs(s - knock_s) < 0.25 for s in starts), (knock_s, starts)

    vtt = http.get(f"/v1/jobs/{job['id']}/captions.vtt")
    assert vtt.headers["content-type"] == "text/vtt; charset=utf-8"
    cues = webvtt.from_buffer(io.StringIO(vtt.text)).captions
    srt = http.get(f"/v1/jobs/{job['id']}/captions.srt")
    assert srt.headers["content-type"] == "application/x-subrip; charset=utf-8"
    subs = pysrt.from_string(srt.text)
    assert len(cues) == len(subs) >= 1
    assert all(c.text.startswith("[") for c in cues)
    assert [c.text for c in cues] == [s.text for s in subs]

    png = http.get(f"/v1/jobs/{job['id']}/timeline.png")
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    ahap = http.get(f"/v1/jobs/{job['id']}/haptics.ahap").json()
    assert "Pattern" in ahap
    # Structured logs: one JSON object a line, carrying the job id.
    lines = [json.loads(line) for line in server.log(10**7).splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("job_id") == job["id"]]
    assert any("succeeded" in line["msg"] for line in mine), mine


def test_submit_answers_202_with_location(http: httpx.Client, knocks_mp4: Path) -> None:
    r = upload(http, knocks_mp4)
    assert r.status_code == 202
    job = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] in ("queued", "running") and len(job["id"]) >= 20
    done = wait_job(http, job["id"])
    assert done["status"] == "succeeded"
    assert {r["name"] for r in done["results"]} >= {"captions.vtt", "captions.srt", "events.json"}


def test_results_have_etag_caching_and_cors(server: Server, http: httpx.Client, knocks_job: dict[str, Any]
                                            ) -> None:
    url = f"/v1/jobs/{knocks_job['id']}/captions.vtt"
    first = http.get(url, headers={"Origin": "https://player.example"})
    assert first.headers["access-control-allow-origin"] == "*"
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = http.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    head = http.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(first.content))
    # A <track crossorigin> sends no Authorization header: the share_url works without a key...
    share = next(r["share_url"] for r in knocks_job["results"] if r["name"] == "captions.vtt")
    anon = httpx.get(server.url + share, headers={"Origin": "https://player.example"})
    assert anon.status_code == 200 and anon.text == first.text
    assert anon.headers["access-control-allow-origin"] == "*"
    # ...but a wrong token does not.
    assert_problem(httpx.get(server.url + url + "?token=wrong"), 404)
    # A browser preflight for an authenticated fetch is allowed.
    pre = httpx.options(server.url + url, headers={
        "Origin": "https://player.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code == 200 and "authorization" in pre.headers["access-control-allow-headers"].lower()


def test_jobs_are_visible_only_to_their_key(server: Server, http: httpx.Client, knocks_job: dict[str, Any]
                                            ) -> None:
    job_id = knocks_job["id"]
    with client(server, KEY_B) as other:
        assert_problem(other.get(f"/v1/jobs/{job_id}"), 404)
        assert_problem(other.get(f"/v1/jobs/{job_id}/captions.vtt"), 404)
        assert_problem(other.delete(f"/v1/jobs/{job_id}"), 404)
        assert job_id not in [j["id"] for j in other.get("/v1/jobs").json()["data"]]
    assert http.get(f"/v1/jobs/{job_id}").status_code == 200


def test_list_is_paginated(http: httpx.Client, knocks_job: dict[str, Any]) -> None:
    page = http.get("/v1/jobs", params={"limit": 1}).json()
    assert page["count"] >= 2 and len(page["data"]) == 1 and page["next"]
    second = http.get(page["next"]).json()
    assert second["offset"] == 1 and second["data"][0]["id"] != page["data"][0]["id"]
    assert_problem(http.get("/v1/jobs", params={"limit": 0}), 422, "validation")


# -- idempotency ---------------------------------------------------------------------------------------


def test_idempotency_key_returns_the_same_job(http: httpx.Client, knocks_wav: Path, silence_wav: Path) -> None:
    key = {"Idempotency-Key": "upload-123"}
    first = upload(http, knocks_wav, {"outputs": ["events", "vtt"]}, key)
    again = upload(http, knocks_wav, {"outputs": ["events", "vtt"]}, key)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    assert_problem(upload(http, silence_wav, {"outputs": ["events", "vtt"]}, key), 422, "idempotency-conflict")
    assert_problem(upload(http, knocks_wav, {"outputs": ["events", "srt"]}, key), 422, "idempotency-conflict")


# -- options -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("options, loc", [
    ({"foley": {"channels": 3}}, "channels"),
    ({"min_confidence": 1.5}, "min_confidence"),
    ({"outputs": ["subtitles"]}, "outputs"),
    ({"captions": {"style": "comic"}}, "style"),
    ({"nonsense": 1}, "nonsense"),
])
def test_invalid_options_are_422_with_the_field(http: httpx.Client, knocks_wav: Path, options: dict[str, Any],
                                                loc: str) -> None:
    body = assert_problem(upload(http, knocks_wav, options), 422, "validation")
    assert any(loc in err["loc"] for err in body["errors"]), body


def test_caption_options_reach_the_renderer(http: httpx.Client, knocks_wav: Path) -> None:
    r = upload(http, knocks_wav, {"outputs": ["events", "vtt"], "captions": {"style": "bbc", "line": "10%",
                                                                            "min_confidence": 0.0}})
    job = wait_job(http, r.json()["id"])
    vtt = http.get(f"/v1/jobs/{job['id']}/captions.vtt").text
    cues = webvtt.from_buffer(io.StringIO(vtt)).captions
    assert cues and all(c.text == c.text.upper() and not c.text.startswith("[") for c in cues)
    assert "line:10%" in vtt


def test_audio_stream_option_picks_the_track(http: httpx.Client, tmp_path: Path) -> None:
    """Stream 1 is a quiet "Commentary" track, stream 2 the default programme track with the knocks."""
    commentary = Track(noise_floor(6.0, level_db=-60.0, seed=3), default=False, title="Commentary")
    path = write_media(tmp_path / "tracks.mkv", [commentary, Track(place(noise_floor(6.0), knock(), (1.0, 4.0)))],
                       video_s=6.0)
    for options, stream, n_events in (({}, 2, 2), ({"audio_stream": 1}, 1, 0)):
        job = wait_job(http, upload(http, path, {"outputs": ["events"], **options}).json()["id"])
        events = http.get(f"/v1/jobs/{job['id']}/events.json").json()
        assert events["media"]["audio_stream"] == stream
        assert len([e for e in events["events"] if not e["background"]]) == n_events, events["events"]
    job = wait_job(http, upload(http, path, {"audio_stream": 0}).json()["id"])
    assert job["status"] == "failed" and job["error"]["status"] == 422
    assert "stream 0 is video" in job["error"]["detail"] and "#2 audio" in job["error"]["detail"]


# -- bad input -----------------------------------------------------------------------------------------


def test_non_media_upload_is_415(http: httpx.Client, not_media: Path) -> None:
    body = assert_problem(upload(http, not_media), 415, "not-media")
    assert "notes.mp4" in body["detail"]


def test_media_without_audio_fails_with_a_reason(http: httpx.Client, video_only_mp4: Path) -> None:
    job = wait_job(http, upload(http, video_only_mp4).json()["id"])
    assert job["status"] == "failed"
    assert job["error"]["type"] == "tag:soundcue,2025:problem:no-audio-stream" and job["error"]["status"] == 422
    assert job["error"]["title"] == "Media has no audio stream" and job["error"]["instance"] == f"/v1/jobs/{job['id']}"
    assert "video_only.mp4" in job["error"]["detail"] and "/jobs/" not in job["error"]["detail"]
    assert_problem(http.get(f"/v1/jobs/{job['id']}/captions.vtt"), 404, "no-results")


def test_missing_file_part_and_wrong_content_type(http: httpx.Client) -> None:
    assert_problem(http.post("/v1/jobs", data={"options": "{}"}, files={"other": ("x", b"y")}), 422, "bad-form")
    assert_problem(http.post("/v1/jobs", content=b"RIFF", headers={"Content-Type": "audio/wav"}), 415)
    assert_problem(http.post("/v1/jobs", json={"options": {}}), 422, "validation")


def test_oversized_upload_is_refused_while_streaming(server: Server) -> None:
    """413 arrives while the client is still sending: the server never buffers the whole upload."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    boundary = "soundcueboundary"
    sock.sendall((
        f"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY_A}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode())

    def chunk(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    part = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n").encode() + b"RIFF\xff\xff\xff\x7fWAVEfmt " + bytes(300)
    sock.sendall(chunk(part))
    sent, response = len(part), b""
    block = bytes(64 * 1024)
    while sent < 40 * UPLOAD_LIMIT and not response:
        try:
            sock.sendall(chunk(block))
            sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            break
        if select.select([sock], [], [], 0)[0]:
            response = sock.recv(65536)
    if not response:
        response = sock.recv(65536)
    sock.close()
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    # The client meant to send 40x the limit; the refusal came while it was still sending (what it got
    # out before then is the limit plus what the socket buffers absorbed: about 3.5 MB here).
    assert sent < 3 * UPLOAD_LIMIT, f"the client sent {sent} bytes before the refusal"
    assert b"problem+json" in response
    assert not any((server.data_dir / "staging").iterdir()), "the partial upload must be removed"


def test_declared_oversized_upload_is_refused_before_reading(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall((
            f"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY_A}\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {UPLOAD_LIMIT * 10}\r\n\r\n--x"
        ).encode())
        response = b""
        while chunk := sock.recv(65536):  # answered (and closed) without waiting for the 30 MB body
            response += chunk
    assert response.startswith(b"HTTP/1.1 413") and b"too-large" in response


# -- URL input and SSRF --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/video.mp4",
    "http://10.1.2.3/video.mp4",
    "http://192.168.0.10/video.mp4",
    "http://169.254.169.254/latest/meta-data/",
    "http://localhost/video.mp4",
    "http://[::1]/video.mp4",
    "http://[::ffff:127.0.0.1]/video.mp4",
    "http://2130706433/video.mp4",
    "http://user:pw@example.com/video.mp4",
])
def test_url_input_to_private_addresses_is_refused(http: httpx.Client, url: str) -> None:
    r = http.post("/v1/jobs", json={"video_url": url})
    assert r.status_code == 422, r.text
    assert r.json()["type"].endswith(("url-refused", "validation"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.mp4", "gopher://x/"])
def test_non_http_schemes_are_refused(http: httpx.Client, url: str) -> None:
    assert_problem(http.post("/v1/jobs", json={"video_url": url}), 422)


def test_url_job_is_fetched_and_analysed(http: httpx.Client, public_host: str, knocks_wav: Path) -> None:
    _Files.files["/media/knocks.wav"] = ("audio/wav", knocks_wav.read_bytes())
    r = http.post("/v1/jobs", json={"video_url": f"{public_host}/media/knocks.wav"})
    assert r.status_code == 202, r.text
    job = wait_job(http, r.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["source"]["kind"] == "url"
    assert "WEBVTT" in http.get(f"/v1/jobs/{job['id']}/captions.vtt").text


def test_redirect_to_loopback_is_refused(http: httpx.Client, server: Server, public_host: str) -> None:
    _Files.redirects["/sneaky.mp4"] = f"http://127.0.0.1:{server.port}/healthz"
    job = wait_job(http, http.post("/v1/jobs", json={"video_url": f"{public_host}/sneaky.mp4"}).json()["id"])
    assert job["status"] == "failed"
    assert job["error"]["type"].endswith("url-refused") and "127.0.0.1" in job["error"]["detail"]


def test_url_that_is_not_media_fails(http: httpx.Client, public_host: str) -> None:
    _Files.files["/page.html"] = ("text/html", b"<!doctype html><p>hello</p>" * 20)
    job = wait_job(http, http.post("/v1/jobs", json={"video_url": f"{public_host}/page.html"}).json()["id"])
    assert job["status"] == "failed" and job["error"]["type"].endswith("not-media")


def test_url_download_past_the_size_limit_fails(http: httpx.Client, public_host: str) -> None:
    _Files.files["/huge.wav"] = ("audio/wav", b"RIFF\xff\xff\xff\x7fWAVEfmt " + bytes(UPLOAD_LIMIT + 1))
    job = wait_job(http, http.post("/v1/jobs", json={"video_url": f"{public_host}/huge.wav"}).json()["id"])
    assert job["status"] == "failed" and job["error"]["type"].endswith("too-large")
    assert str(UPLOAD_LIMIT) in job["error"]["detail"]


def test_webhook_url_to_loopback_is_refused(http: httpx.Client, knocks_wav: Path) -> None:
    r = upload(http, knocks_wav, webhook_url="http://127.0.0.1:9/hook")
    body = assert_problem(r, 422, "url-refused")
    assert body["detail"].startswith("webhook_url")


# -- webhooks ------------------------------------------------------------------------------------------


def _verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes) -> None:
    """Independent Standard Webhooks verification (not using app.webhooks)."""
    h = {k.lower(): v for k, v in headers.items()}
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert abs(time.time() - int(h["webhook-timestamp"])) < 300
    assert any(sig == f"v1,{expected}" for sig in h["webhook-signature"].split()), "bad signature"


def test_webhook_is_signed_and_retried(http: httpx.Client, server: Server, public_host: str,
                                       knocks_wav: Path) -> None:
    secret = http.get("/v1/webhooks/secret").json()["secret"]
    with client(server, KEY_B) as other:
        assert other.get("/v1/webhooks/secret").json()["secret"] != secret  # one secret per key
    r = upload(http, knocks_wav, webhook_url=f"{public_host}/hooks/soundcue")
    job_id = r.json()["id"]
    wait_job(http, job_id)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        mine = [h for h in _Files.hooks if json.loads(h["body"])["data"]["id"] == job_id]
        if len(mine) >= 2:
            break
        time.sleep(0.1)
    assert len(mine) == 2, "first delivery answered 500, so it must be retried once"
    assert mine[0]["headers"]["webhook-id"] == mine[1]["headers"]["webhook-id"]
    for h in mine:
        _verify_standard_webhook(secret, h["headers"], h["body"])
    payload = json.loads(mine[1]["body"])
    assert payload["type"] == "job.succeeded" and payload["data"]["status"] == "succeeded"
    assert any(res["name"] == "captions.vtt" for res in payload["data"]["results"])
    tampered = mine[1]["body"].replace(b"succeeded", b"failed")
    with pytest.raises(AssertionError):
        _verify_standard_webhook(secret, mine[1]["headers"], tampered)


# -- sync endpoint, cancel/delete, metrics ----------------------------------------------------------


def test_sync_caption_endpoint_returns_the_file(http: httpx.Client, knocks_wav: Path) -> None:
    with knocks_wav.open("rb") as f:
        r = http.post("/v1/captions", params={"format": "srt"}, files={"file": ("knocks.wav", f)})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-subrip; charset=utf-8"
    assert len(pysrt.from_string(r.text)) >= 1
    assert r.headers["content-location"].endswith("/captions.srt")


def test_sync_caption_endpoint_refuses_long_media(http: httpx.Client, media_dir: Path) -> None:
    long_wav = write_audio(media_dir / "long.wav", place(noise_floor(14.0), knock(), (1.0, 12.0)))
    with long_wav.open("rb") as f:
        r = http.post("/v1/captions", files={"file": ("long.wav", f)})
    body = assert_problem(r, 422)
    assert "limit" in body["detail"] and "long.wav" not in body["detail"].split("limit")[1]


def test_delete_finished_job_removes_it_and_its_files(server: Server, http: httpx.Client, knocks_wav: Path
                                                      ) -> None:
    job = wait_job(http, upload(http, knocks_wav, {"enable_cache": False}).json()["id"])
    files = server.data_dir / "jobs" / job["id"]
    assert (files / "results" / "captions.vtt").is_file()
    assert http.delete(f"/v1/jobs/{job['id']}").status_code == 204
    assert_problem(http.get(f"/v1/jobs/{job['id']}"), 404)
    assert not files.exists()


def test_cache_reuses_results_of_identical_input(http: httpx.Client, knocks_wav: Path,
                                                 knocks_job: dict[str, Any]) -> None:
    opts = {"outputs": ["events", "vtt", "srt", "haptics", "timeline"], "detailed_log": True}
    job = wait_job(http, upload(http, knocks_wav, opts).json()["id"])
    assert job["status"] == "succeeded" and [s["stage"] for s in job["log"]] == ["cache"]
    assert {r["etag"] for r in job["results"]} == {r["etag"] for r in knocks_job["results"]}


def test_metrics_report_jobs_and_stages(server: Server, knocks_job: dict[str, Any]) -> None:
    text = httpx.get(f"{server.url}/metrics").text
    assert 'soundcue_jobs{status="succeeded"}' in text
    assert "soundcue_queue_length" in text
    assert 'soundcue_stage_duration_seconds_count{stage="outputs"}' in text
    assert "soundcue_http_requests_total" in text
