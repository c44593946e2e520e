"""HLS subtitles from the service (issue 15): options, the video rendition fetched by URL, ``/hls/`` results.

A real server (tests/api_server.py, rule-based stand-in models) with 127.0.0.2/32 allowed as a "public" host,
where a small file server (byte ranges supported) serves ffmpeg-packaged video renditions (tests/hls_factory.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
import webvtt
from api_server import KEY_A, KEY_B, Server, client, wait_job
from hls_factory import make_clip, needs_ffmpeg, package_hls
from servers import loopback_http

from captioning.captions import read_video_rendition

pytestmark = needs_ffmpeg

PROBLEM = "application/problem+json"
M3U8 = "application/vnd.apple.mpegurl"
CLIP_S = 12.0
#: The byte ranges the file server was asked for.
RANGES: list[str] = []


class _Renditions(BaseHTTPRequestHandler):
    """Static files under ``root`` on 127.0.0.2, with single byte ranges (``Range: bytes=a-b``) as CDNs serve."""

    root: Path

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = (self.root / self.path.lstrip("/")).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        ctype = M3U8 if path.suffix == ".m3u8" else "video/mp2t" if path.suffix == ".ts" else "video/mp4"
        found = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
        if found:
            RANGES.append(f"{self.path} {found[0]}")
            body = body[int(found[1]):int(found[2]) + 1]
        self.send_response(206 if found else 200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def renditions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The clip (B-frames on) and its video renditions: MPEG-TS segments, and fMP4 in one file (byte ranges)."""
    d = tmp_path_factory.mktemp("renditions")
    clip = make_clip(d / "clip.mp4", seconds=CLIP_S)
    return {"clip": clip, "ts": package_hls(clip, d / "ts", "mpegts"),
            "fmp4": package_hls(clip, d / "fmp4", "fmp4", single_file=True)}


@pytest.fixture(scope="module")
def cdn(renditions: dict[str, Path]) -> Iterator[str]:
    handler = type("Handler", (_Renditions,), {"root": renditions["clip"].parent.resolve()})
    with loopback_http(handler) as url:
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("api-hls") / "data",
                 {"SOUNDCUE_URL_ALLOW_CIDRS": "127.0.0.2/32", "SOUNDCUE_WORKERS": "2"}).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with client(server) as c:
        yield c


def _job(http: httpx.Client, clip: Path, captions: dict[str, Any]) -> dict[str, Any]:
    with clip.open("rb") as f:
        r = http.post("/v1/jobs", files={"file": (clip.name, f, "video/mp4")},
                      data={"options": httpx.Request("POST", "/", json={"captions": captions}).content.decode()})
    assert r.status_code == 202, r.text
    job = wait_job(http, r.json()["id"], timeout_s=120)
    assert job["status"] == "succeeded", job
    return job


@pytest.fixture(scope="module")
def hls_job(http: httpx.Client, renditions: dict[str, Path]) -> dict[str, Any]:
    return _job(http, renditions["clip"], {"hls": True, "hls_segment_s": 4})


def _segments(playlist: httpx.Response) -> list[httpx.URL]:
    """The segment URLs of a media playlist, resolved against the URL it was fetched from."""
    return [playlist.url.join(line) for line in playlist.text.splitlines() if line and not line.startswith("#")]


def _ticks(text: str) -> int:
    found = re.search(r"^X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:00:00:00\.000$", text, re.MULTILINE)
    assert found, text
    return int(found[1])


def _starts(text: str) -> list[float]:
    return [c.start_in_seconds for c in webvtt.from_string(text)]


# ------------------------------------------------------------------------------------------------ serving
def test_hls_files_are_results_served_under_hls(http: httpx.Client, hls_job: dict[str, Any]) -> None:
    names = {r["name"]: r for r in hls_job["results"]}
    assert "hls/captions.m3u8" in names and "hls/segment0.webvtt" in names
    assert names["hls/captions.m3u8"]["url"].endswith(f"/v1/jobs/{hls_job['id']}/hls/captions.m3u8")
    playlist = http.get(names["hls/captions.m3u8"]["url"])
    assert playlist.status_code == 200 and playlist.headers["content-type"].startswith(M3U8)
    assert playlist.headers["access-control-allow-origin"] == "*"
    segments = _segments(playlist)
    assert len(segments) == 3  # 12 s in 4 s segments
    starts: set[float] = set()
    for url in segments:
        r = http.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/vtt"), url
        assert _ticks(r.text) == 0  # no video rendition given: RFC 8216's mapping
        starts.update(_starts(r.text))
    full = http.get(f"/v1/jobs/{hls_job['id']}/captions.vtt").text
    assert starts == set(_starts(full)) and starts  # every cue of captions.vtt, the same times


def test_share_links_carry_their_token_into_the_playlist(server: Server, hls_job: dict[str, Any]) -> None:
    share = next(r["share_url"] for r in hls_job["results"] if r["name"] == "hls/captions.m3u8")
    token = share.split("token=", 1)[1]
    with client(server, key=None) as player:  # a browser player: no API key
        playlist = player.get(share)
        assert playlist.status_code == 200, playlist.text
        segments = _segments(playlist)
        assert segments and all(u.params.get("token") == token for u in segments)
        assert all(player.get(u).status_code == 200 for u in segments)
        assert player.get(segments[0].copy_remove_param("token")).status_code == 401


def test_another_key_cannot_read_the_hls_files(server: Server, hls_job: dict[str, Any]) -> None:
    path = f"/v1/jobs/{hls_job['id']}/hls/captions.m3u8"
    with client(server, KEY_B) as other:
        assert other.get(path).status_code == 404
        assert other.get(f"/v1/jobs/{hls_job['id']}/hls/segment0.webvtt").status_code == 404
    with client(server, key=None) as anonymous:
        assert anonymous.get(path, params={"token": "not-the-token"}).status_code == 404
        assert anonymous.get(path).status_code == 401


@pytest.mark.parametrize("name", ["..", "..%2Fevents.json", "%2E%2E%2Fevents.json", "../events.json",
                                  "captions.m3u8%00", ".captions.m3u8"])
def test_names_with_a_path_are_not_found(server: Server, hls_job: dict[str, Any], name: str) -> None:
    """Sent as raw bytes (no client-side dot-segment removal); a job's other results are not reachable."""
    conn = HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", f"/v1/jobs/{hls_job['id']}/hls/{name}", headers={"Authorization": f"Bearer {KEY_A}"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status in (400, 404), (response.status, body)
    assert response.getheader("content-type", "").startswith(PROBLEM)  # a problem, not events.json


# ------------------------------------------------------------------------------- the video rendition by URL
@pytest.mark.parametrize("kind", ["ts", "fmp4"])
def test_video_playlist_url_sets_the_timestamp_map(http: httpx.Client, server: Server, renditions: dict[str, Path],
                                                   cdn: str, kind: str) -> None:
    """The rendition is fetched (fMP4: byte ranges of one file) and each segment's MPEGTS is its first frame's PTS."""
    url = f"{cdn}/{kind}/video.m3u8"
    job = _job(http, renditions["clip"], {"hls": True, "hls_segment_s": 6, "hls_video_playlist_url": url})
    expected = read_video_rendition(renditions[kind]).first_pts  # the MP4 clip's video starts at media time 0
    assert expected == (133_200 if kind == "ts" else 7_200)  # issue 15: ffmpeg + libx264's B-frames at 25 fps
    playlist = http.get(f"/v1/jobs/{job['id']}/hls/captions.m3u8")
    for segment in _segments(playlist):
        assert _ticks(http.get(segment).text) == expected
    master = http.get(f"/v1/jobs/{job['id']}/hls/master.m3u8")
    assert master.status_code == 200 and master.headers["content-type"].startswith(M3U8)
    lines = master.text.splitlines()
    assert lines[-1] == url  # the video rendition, where players load it from
    assert 'URI="captions.m3u8"' in master.text and "SUBTITLES=" in master.text
    share = next(r["share_url"] for r in job["results"] if r["name"] == "hls/master.m3u8")
    token = share.split("token=", 1)[1]
    with client(server, key=None) as player:
        shared = player.get(share).text
    assert f'URI="captions.m3u8?token={token}"' in shared and shared.splitlines()[-1] == url


def test_byte_ranges_are_fetched_as_ranges(http: httpx.Client, renditions: dict[str, Path], cdn: str) -> None:
    before = len(RANGES)
    _job(http, renditions["clip"], {"hls": True, "hls_video_playlist_url": f"{cdn}/fmp4/video.m3u8"})
    assert len(RANGES) - before == 2, RANGES  # the init section and the first segment, nothing more


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/video.m3u8", "http://10.0.0.1/video.m3u8",
                                 "http://169.254.169.254/latest/video.m3u8"])
def test_private_playlist_urls_are_refused(http: httpx.Client, renditions: dict[str, Path], url: str) -> None:
    with renditions["clip"].open("rb") as f:
        r = http.post("/v1/jobs", files={"file": ("clip.mp4", f, "video/mp4")},
                      data={"options": f'{{"captions": {{"hls": true, "hls_video_playlist_url": "{url}"}}}}'})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM), r.text
    body = r.json()
    assert body["type"].endswith("url-refused") and body["detail"].startswith("captions.hls_video_playlist_url")


def test_playlist_url_options_are_checked(http: httpx.Client, cdn: str) -> None:
    for captions, words in (({"hls_video_playlist_url": f"{cdn}/ts/video.m3u8"}, "set hls"),
                            ({"hls": True, "hls_mpegts": 0, "hls_video_playlist_url": f"{cdn}/ts/video.m3u8"},
                             "not both")):
        r = http.post("/v1/jobs", json={"video_url": f"{cdn}/clip.mp4", "options": {"captions": captions}})
        assert r.status_code == 422 and words in r.json()["detail"], r.text
    r = http.post("/v1/jobs", json={"video_url": f"{cdn}/clip.mp4",
                                    "options": {"captions": {"hls": True, "hls_video_playlist_url": "ftp://x/v.m3u8"}}})
    assert r.status_code == 422 and "hls_video_playlist_url" in r.text


def test_a_playlist_that_is_not_hls_fails_the_job(http: httpx.Client, cdn: str) -> None:
    r = http.post("/v1/jobs", json={"video_url": f"{cdn}/clip.mp4", "options": {
        "captions": {"hls": True, "hls_video_playlist_url": f"{cdn}/clip.mp4"}}})
    assert r.status_code == 202, r.text
    job = wait_job(http, r.json()["id"], timeout_s=120)
    assert job["status"] == "failed" and "not an HLS playlist" in job["error"]["detail"], job
