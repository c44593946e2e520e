"""Durability and bounded concurrency of the service: kill -9 the server or a worker mid-job, restart,
the job completes; cancel a running job; a full queue answers 503/429 with Retry-After.

The workers run the real pipeline, slowed by ``api_slow_pipeline`` (a sleeping progress stage before the
real analysis) so the tests can act while a job is running.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_server import KEY_B, Server, client, wait_job

SLOW_S = 2.5


def slow_server(data_dir: Path, **env: str) -> Server:
    return Server(data_dir, {"SOUNDCUE_ANALYZER": "api_slow_pipeline:analyze", "SOUNDCUE_TEST_SLOW_S": str(SLOW_S),
                             "SOUNDCUE_WORKERS": "1", **env})


def submit(http: httpx.Client, path: Path, **options: object) -> str:
    with path.open("rb") as f:
        r = http.post("/v1/jobs", files={"file": (path.name, f)},
                      data={"options": json.dumps({"enable_cache": False, **options})})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_server_killed_mid_job_resumes_it_after_restart(data_dir: Path, knocks_wav: Path) -> None:
    server = slow_server(data_dir).start()
    try:
        with client(server) as http:
            running = submit(http, knocks_wav)
            queued = submit(http, knocks_wav)
            wait_job(http, running, until=frozenset({"running"}))
            server.kill9()
        assert not server.worker_pids()
        server.start()
        with client(server) as http:
            first, second = wait_job(http, running), wait_job(http, queued)
            assert first["status"] == second["status"] == "succeeded"
            assert first["attempts"] == 2 and second["attempts"] == 1
            assert "WEBVTT" in http.get(f"/v1/jobs/{running}/captions.vtt").text
        # Finished results survive another restart.
        server.stop()
        server.start()
        with client(server) as http:
            assert http.get(f"/v1/jobs/{running}/captions.srt").status_code == 200
    finally:
        server.stop()


def test_worker_crash_requeues_then_fails_after_max_attempts(data_dir: Path, knocks_wav: Path) -> None:
    server = slow_server(data_dir, SOUNDCUE_MAX_ATTEMPTS="2").start()
    try:
        with client(server) as http:
            job_id = submit(http, knocks_wav)
            for attempt in (1, 2):
                job = wait_job(http, job_id, until=frozenset({"running"}))
                assert job["attempts"] == attempt
                (pid,) = server.worker_pids()
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and http.get(f"/v1/jobs/{job_id}").json()["attempts"] == attempt \
                        and http.get(f"/v1/jobs/{job_id}").json()["status"] == "running":
                    time.sleep(0.05)
            job = wait_job(http, job_id)
            assert job["status"] == "failed"
            assert job["error"]["type"] == "tag:soundcue,2025:problem:worker-lost"
            assert job["error"]["status"] == 500 and job["error"]["instance"] == f"/v1/jobs/{job_id}"
            assert "2 attempts" in job["error"]["detail"] and "exit code -9" in job["error"]["detail"]
            # The API stayed up, a new worker took over, and it still runs jobs.
            assert wait_job(http, submit(http, knocks_wav))["status"] == "succeeded"
    finally:
        server.stop()


def test_cancel_running_job_and_queue_limits(data_dir: Path, knocks_wav: Path) -> None:
    server = slow_server(data_dir, SOUNDCUE_MAX_QUEUE="2", SOUNDCUE_MAX_QUEUE_PER_KEY="1").start()
    try:
        with client(server) as http, client(server, KEY_B) as other:
            running = submit(http, knocks_wav)
            wait_job(http, running, until=frozenset({"running"}))
            queued = submit(http, knocks_wav)
            with knocks_wav.open("rb") as f:
                per_key = http.post("/v1/jobs", files={"file": ("k.wav", f)})
            assert per_key.status_code == 429 and int(per_key.headers["retry-after"]) > 0
            submit(other, knocks_wav)
            with knocks_wav.open("rb") as f:
                full = other.post("/v1/jobs", files={"file": ("k.wav", f)})
            assert full.status_code == 503 and int(full.headers["retry-after"]) > 0
            assert full.headers["content-type"] == "application/problem+json"

            canceled = http.delete(f"/v1/jobs/{running}")
            assert canceled.status_code == 202 and canceled.json()["status"] == "canceled"
            # a canceled job's error is a problem like any other (docs/api.md, Errors: 409 canceled)
            assert canceled.json()["error"] == {
                "type": "tag:soundcue,2025:problem:canceled", "title": "Job canceled", "status": 409,
                "detail": f"the job was canceled (DELETE /v1/jobs/{running}) before it finished; it has no results",
                "instance": f"/v1/jobs/{running}"}
            assert http.delete(f"/v1/jobs/{queued}").json()["status"] == "canceled"
            time.sleep(SLOW_S + 1)  # long enough for the canceled job to have finished had it kept running
            job = http.get(f"/v1/jobs/{running}").json()
            assert job["status"] == "canceled" and job["results"] == []
            assert job["error"] == canceled.json()["error"]
            queued_error = http.get(f"/v1/jobs/{queued}").json()["error"]
            assert queued_error["type"].endswith(":canceled") and queued_error["status"] == 409
            assert not (server.data_dir / "jobs" / running / "results").exists()
            assert http.delete(f"/v1/jobs/{running}").status_code == 204
            # The worker that was stopped for the cancel was replaced and takes jobs again.
            assert wait_job(http, submit(http, knocks_wav), timeout_s=90)["status"] == "succeeded"
    finally:
        server.stop()


def test_server_refuses_to_start_without_keys(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", {"SOUNDCUE_API_KEYS": ""})
    with pytest.raises(RuntimeError, match="SOUNDCUE_API_KEYS"):
        server.start(timeout_s=30)


@pytest.fixture()
def no_auth_server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "data", {"SOUNDCUE_API_KEYS": "", "SOUNDCUE_NO_AUTH": "1"}).start()
    yield server
    server.stop()


def test_no_auth_mode_serves_without_keys(no_auth_server: Server) -> None:
    assert httpx.get(f"{no_auth_server.url}/v1/jobs").json()["count"] == 0
