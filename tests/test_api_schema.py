"""The OpenAPI contract: schemathesis generates requests from /openapi.json against the real server and
no response may be a 5xx; the document itself describes both ways to submit a job and every option.
The same server (uploads only, tight media limits) also checks the duration and resolution limits."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_server import KEY_A, Server, client, wait_job

ST = Path(sys.executable).with_name("st")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Generated URLs may name public hosts: this server takes uploads only and sends no webhooks, so the
    # fuzzing never makes it connect anywhere.
    srv = Server(tmp_path_factory.mktemp("schema") / "data", {
        "SOUNDCUE_MAX_UPLOAD_BYTES": "1000000", "SOUNDCUE_ALLOW_URL_INPUT": "false",
        "SOUNDCUE_ALLOW_WEBHOOKS": "false", "SOUNDCUE_MAX_DURATION_S": "5", "SOUNDCUE_MAX_VIDEO_PIXELS": "2000"}
    ).start()
    yield srv
    srv.stop()


def test_openapi_documents_both_submissions_and_all_options(server: Server) -> None:
    schema = httpx.get(f"{server.url}/openapi.json").json()
    body = schema["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    options = schema["components"]["schemas"]["JobOptions"]["properties"]
    for name in ("outputs", "foley", "remux", "enable_cache", "detailed_log", "captions", "haptics"):
        assert name in options, name
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "401" in schema["paths"]["/v1/jobs/{job_id}"]["get"]["responses"]


def test_url_input_and_webhooks_can_be_disabled(server: Server) -> None:
    headers = {"Authorization": f"Bearer {KEY_A}"}
    r = httpx.post(f"{server.url}/v1/jobs", json={"video_url": "https://93.184.216.34/a.mp4"}, headers=headers)
    assert r.status_code == 422 and r.json()["type"].endswith("url-input-disabled")
    r = httpx.post(f"{server.url}/v1/jobs", files={"file": ("a.wav", b"RIFF" + bytes(400))},
                   data={"webhook_url": "https://93.184.216.34/hook"}, headers=headers)
    assert r.status_code == 422 and r.json()["type"].endswith("webhooks-disabled")


@pytest.mark.skipif(not ST.exists() and shutil.which("st") is None, reason="schemathesis is not installed")
def test_schemathesis_finds_no_server_errors(server: Server, tmp_path: Path) -> None:
    """Bounded: 15 examples per operation (about 10-20 s here); seeded so a failure reproduces."""
    cmd = [
        str(ST if ST.exists() else shutil.which("st")), "run", f"{server.url}/openapi.json",
        "--checks", "not_a_server_error", "--max-examples", "15", "--seed", "7", "--workers", "1",
        "--header", f"Authorization: Bearer {KEY_A}", "--no-color", "--generation-database", "none",
        "--request-timeout", "20",
    ]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    report = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout and "failed" not in result.stdout.split("SUMMARY")[-1], report
    assert "Traceback" not in server.log(), server.log()


@pytest.mark.parametrize("fixture, slug, words", [
    ("knocks_wav", "media-too-long", "the limit here is 5 s"),
    ("video_only_mp4", "media-resolution", "64x48"),
])
def test_media_limits_fail_the_job_with_a_reason(server: Server, request: pytest.FixtureRequest, fixture: str,
                                                 slug: str, words: str) -> None:
    path: Path = request.getfixturevalue(fixture)
    with client(server) as http, path.open("rb") as f:
        r = http.post("/v1/jobs", files={"file": (path.name, f)})
        job = wait_job(http, r.json()["id"])
    assert job["status"] == "failed" and job["error"]["type"].endswith(slug), job
    assert words in job["error"]["detail"]
