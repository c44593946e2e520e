"""``POST /v1/jobs/{id}/audit`` (issue 12) against the real service (uvicorn, workers with the rule-based stand-in
tagger of tests/fake_analysis.py: every knock is heard as "Knock") and a real HTTP client; the report must be the
one ``soundcue audit`` writes for the job's events.json and the same caption file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from api_server import KEY_B, Server, client, wait_job

from captioning.datafiles import data_text

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = "application/problem+json"
#: The conftest knocks are at 1.0, 2.5 and 4.2 s. The track captions the first (a cue too short for the style,
#: ending more than the 1 s collar before the second knock), misses the other two and has a cue at 5.5 s where
#: nothing sounds; a speaker label and dialogue sit on the second knock.
TRACK = """WEBVTT

00:00:01.000 --> 00:00:01.400
[someone knocking]

00:00:02.400 --> 00:00:03.500
[Alba] ¿Hay alguien?

00:00:05.500 --> 00:00:06.000
[dog barks]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("audit-api") / "data", {"SOUNDCUE_WORKERS": "1"}).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def job(server: Server, knocks_wav: Path) -> dict[str, Any]:
    with client(server) as http, knocks_wav.open("rb") as f:
        r = http.post("/v1/jobs", files={"file": (knocks_wav.name, f)}, data={"options": "{}"})
        assert r.status_code == 202, r.text
        done = wait_job(http, r.json()["id"])
    assert done["status"] == "succeeded", done
    return done


def audit(http: httpx.Client, job_id: str, track: bytes | str = TRACK, name: str = "track.vtt",
          options: dict[str, Any] | str | None = None, **params: str) -> httpx.Response:
    data = {} if options is None else {"options": options if isinstance(options, str) else json.dumps(options)}
    body = track.encode() if isinstance(track, str) else track
    return http.post(f"/v1/jobs/{job_id}/audit", files={"captions": (name, body, "text/vtt")}, data=data,
                     params=params, timeout=120)


def assert_problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["type"].endswith(":" + slug) and body["detail"], body
    assert "Traceback" not in r.text
    return body


def test_the_endpoint_returns_the_report_the_cli_writes(server: Server, job: dict[str, Any], tmp_path: Path) -> None:
    with client(server) as http:
        r = audit(http, job["id"], options={"min_coverage": 0.5})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/json")
        served = r.json()
        events = tmp_path / "events.json"
        events.write_bytes(http.get(f"/v1/jobs/{job['id']}/events.json").content)
    track = tmp_path / "track.vtt"
    track.write_text(TRACK, encoding="utf-8")
    cli = subprocess.run([sys.executable, "-m", "app", "audit", str(events), str(track), "-o", str(tmp_path / "out"),
                          "--min-coverage", "0.5", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
    assert cli.returncode == 1, cli.stderr  # one knock of three captioned: below 0.5
    assert json.loads(cli.stdout) == served
    assert json.loads((tmp_path / "out" / "audit.json").read_text()) == served
    jsonschema.validate(served, json.loads(data_text("audit.schema.json")))
    # what the report says: the rule tagger heard three knocks
    assert served["media"]["file"] == "knocks.wav" and served["captions"]["file"] == "track.vtt"
    assert [c["event"]["start"] for c in served["covered"]] == [pytest.approx(1.0, abs=0.1)]
    assert [m["event"]["start"] for m in served["missed"]] == [pytest.approx(2.5, abs=0.1), pytest.approx(4.2, abs=0.1)]
    assert [u["cue"]["text"] for u in served["unsupported_cues"]] == ["[dog barks]"]
    assert served["summary"]["passed"] is False
    assert served["missed"][0]["suggested_cue"]["text"] == "[someone knocks]"


def test_html_and_csv_forms(server: Server, job: dict[str, Any]) -> None:
    with client(server) as http:
        page = audit(http, job["id"], format="html")
        sheet = audit(http, job["id"], format="csv")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "data:image/png;base64," in page.text and "[someone knocks]" in page.text
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    rows = sheet.text.strip().splitlines()
    assert rows[0].startswith("start,end,label,") and len(rows) == 3


@pytest.mark.parametrize("track, name, slug, words", [
    (b"[Script Info]\nTitle: x\n\n[Events]\n", "subs.ass", "caption-format", "SSA/ASS"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "track.vtt", "caption-format", "track.vtt"),
    (b"WEBVTT\n\n", "empty.vtt", "caption-format", "nothing to audit"),
    (b"WEBVTT\n\n00:00:01,000 --> 00:00:02,000\n[knock]\n", "comma.vtt", "caption-format", "comma.vtt"),
])
def test_a_bad_caption_file_is_a_problem_naming_it(server: Server, job: dict[str, Any], track: bytes, name: str,
                                                   slug: str, words: str) -> None:
    with client(server) as http:
        body = assert_problem(audit(http, job["id"], track, name), 422, slug)
    assert words in body["detail"]


def test_bad_requests_are_problems(server: Server, job: dict[str, Any]) -> None:
    with client(server) as http:
        assert_problem(audit(http, "job_doesnotexist"), 404, "not-found")
        assert_problem(audit(http, job["id"], options={"collar_s": -1}), 422, "validation")
        assert_problem(audit(http, job["id"], options="{not json"), 422, "validation")
        r = http.post(f"/v1/jobs/{job['id']}/audit", files={"file": ("t.vtt", TRACK.encode())})
        assert "the form takes captions and options" in assert_problem(r, 422, "bad-form")["detail"]
        r = http.post(f"/v1/jobs/{job['id']}/audit", files={"options": (None, "{}")})
        assert "no 'captions' file part" in assert_problem(r, 422, "bad-form")["detail"]
        assert_problem(http.post(f"/v1/jobs/{job['id']}/audit", json={"captions": TRACK}), 415,
                       "unsupported-content-type")
    with client(server, KEY_B) as other:  # a job is visible only to the key that made it
        assert_problem(audit(other, job["id"]), 404, "not-found")


def test_a_failed_job_has_nothing_to_audit(server: Server, video_only_mp4: Path) -> None:
    with client(server) as http, video_only_mp4.open("rb") as f:
        r = http.post("/v1/jobs", files={"file": (video_only_mp4.name, f)})
        assert r.status_code == 202, r.text
        failed = wait_job(http, r.json()["id"])
        assert failed["status"] == "failed"  # no audio, and the stand-in analyzers see no pictures
        assert "succeeded" in assert_problem(audit(http, failed["id"]), 404, "no-results")["detail"]
