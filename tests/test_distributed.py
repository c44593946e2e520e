"""The distributed backend end to end: a real uvicorn API and several ``soundcue worker`` processes on real
Redis and PostgreSQL servers (tests/servers.py), jobs submitted through the HTTP API.

The workers run the real pipeline with the rule-based stand-in models, slowed by ``api_slow_pipeline`` (a
sleeping progress stage of SOUNDCUE_TEST_SLOW_S seconds before the real work) so a test can act while a job
runs: SIGKILL the worker holding it, cancel it. A webhook receiver on 127.0.0.2 (exempted from the
private-address refusal) counts the deliveries. One deployment serves the module (process start-up is the
expensive part); each test starts the workers it needs and checks only its own jobs.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import ROOT, TESTS, Server, client, wait_job
from servers import loopback_http

from app.backends.postgres import PostgresJobStore

LOST_AFTER_S = 2.0
SLOW_S = 3.0
MAX_ATTEMPTS = 2


class _Hooks(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.received.append({"id": self.headers.get("webhook-id"), "type": body["type"],
                              "job": body["data"]["id"], "status": body["data"]["status"]})
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def hooks() -> Iterator[str]:
    with loopback_http(_Hooks) as url:
        yield f"{url}/hook"


class Stack:
    """One deployment: its own schema and queue on the session's servers, a data dir standing in for the
    shared volume, worker processes and an API server with the same settings."""

    def __init__(self, tmp_path: Path, redis_url: str, database_url: str, **env: str) -> None:
        self.data_dir = tmp_path / "shared"
        self.database_url = database_url
        self.env = {
            "SOUNDCUE_BACKEND": "distributed",
            "SOUNDCUE_DATABASE_URL": database_url,
            "SOUNDCUE_REDIS_URL": redis_url,
            "SOUNDCUE_QUEUE_NAME": "q-" + secrets.token_hex(4),
            "SOUNDCUE_WORKER_LOST_AFTER_S": str(LOST_AFTER_S),
            "SOUNDCUE_ANALYZER": "api_slow_pipeline:analyze",
            "SOUNDCUE_TEST_SLOW_S": str(SLOW_S),
            "SOUNDCUE_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "SOUNDCUE_URL_ALLOW_CIDRS": "127.0.0.2/32",
            "SOUNDCUE_WEBHOOK_BACKOFF_S": "0.2",
            **env,
        }
        self.workers: list[subprocess.Popen[bytes]] = []
        self.server: Server | None = None
        self.store = PostgresJobStore(database_url)

    def live(self) -> int:
        return sum(1 for w in self.store.live_workers(LOST_AFTER_S) if w["ready"])

    def ensure_workers(self, n: int) -> None:
        """Start worker processes until ``n`` are alive and ready."""
        env = {**os.environ, "SOUNDCUE_DATA_DIR": str(self.data_dir), "SOUNDCUE_LOG_FORMAT": "json",
               "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)]), **self.env}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        alive = [p for p in self.workers if p.poll() is None]
        for _ in range(n - len(alive)):
            log = (self.data_dir.parent / f"worker{len(self.workers)}.log").open("ab")
            self.workers.append(subprocess.Popen([sys.executable, "-m", "app", "worker"], env=env, cwd=ROOT,
                                                 stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 90
        while self.live() < n:
            assert time.monotonic() < deadline, self.logs()
            time.sleep(0.1)

    def start_server(self) -> Server:
        self.server = Server(self.data_dir, self.env).start()
        return self.server

    def lease_pid(self, job_id: str) -> int:
        job = self.store.get(job_id)
        assert job is not None and job.lease is not None
        return int(job.lease.split(":")[1])

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.data_dir.parent.glob("*.log")))

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        for p in self.workers:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.workers:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.store.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_server: Any, postgres_server: Any) -> Iterator[Stack]:
    url = postgres_server.create_schema("e2e_" + secrets.token_hex(6))
    st = Stack(tmp_path_factory.mktemp("distributed"), redis_server.url, url)
    st.ensure_workers(2)
    st.start_server()
    yield st
    st.stop()


@pytest.fixture()
def http(stack: Stack) -> Iterator[httpx.Client]:
    assert stack.server is not None
    with client(stack.server) as c:
        yield c


def submit(http: httpx.Client, path: Path, webhook_url: str | None = None,
           headers: dict[str, str] | None = None) -> str:
    data = {"options": json.dumps({"enable_cache": False})}
    if webhook_url:
        data["webhook_url"] = webhook_url
    with path.open("rb") as f:
        r = http.post("/v1/jobs", files={"file": (path.name, f)}, data=data, headers=headers or {})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def wait_until(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def running_slow(http: httpx.Client, job_id: str, attempt: int = 1) -> bool:
    job = http.get(f"/v1/jobs/{job_id}").json()
    return bool(job["stage"] == "slow" and job["attempts"] == attempt)


def test_idempotent_submission_runs_once(stack: Stack, http: httpx.Client, knocks_wav: Path) -> None:
    stack.ensure_workers(1)
    before = stack.store.counters().get("jobs_succeeded", 0)
    key = {"Idempotency-Key": "upload-" + secrets.token_hex(4)}
    first = submit(http, knocks_wav, headers=key)
    with knocks_wav.open("rb") as f:
        again = http.post("/v1/jobs", files={"file": (knocks_wav.name, f)},
                          data={"options": json.dumps({"enable_cache": False})}, headers=key)
    assert again.status_code == 202 and again.json()["id"] == first
    assert again.headers["Idempotent-Replayed"] == "true"
    job = wait_job(http, first, timeout_s=40)
    assert job["status"] == "succeeded" and job["attempts"] == 1
    assert stack.store.counters().get("jobs_succeeded", 0) == before + 1
    assert (stack.data_dir / "jobs" / first / "results" / "captions.vtt").is_file()


def test_worker_killed_mid_job_the_job_completes_once_on_another(stack: Stack, http: httpx.Client,
                                                                  knocks_wav: Path, hooks: str) -> None:
    stack.ensure_workers(3)
    before = stack.store.counters()
    ids = [submit(http, knocks_wav, webhook_url=hooks) for _ in range(3)]
    victim = ids[0]
    wait_until(lambda: running_slow(http, victim), 30, "job never ran")
    pid = stack.lease_pid(victim)
    os.kill(pid, signal.SIGKILL)
    jobs = {job_id: wait_job(http, job_id, timeout_s=45) for job_id in ids}
    assert all(j["status"] == "succeeded" for j in jobs.values()), jobs
    assert jobs[victim]["attempts"] == 2  # run again after the kill...
    assert [jobs[i]["attempts"] for i in ids[1:]] == [1, 1]  # ...and the others only once
    assert next(p for p in stack.workers if p.pid == pid).poll() == -signal.SIGKILL
    for job_id in ids:
        assert http.get(f"/v1/jobs/{job_id}/captions.vtt").text.startswith("WEBVTT")
        events = http.get(f"/v1/jobs/{job_id}/events.json").json()
        assert [round(e["start"]) for e in events["events"]] == [1, 2, 4]  # the three knocks
    # nothing duplicated: three more successes, no failure, one webhook per job
    after = stack.store.counters()
    assert after.get("jobs_succeeded", 0) - before.get("jobs_succeeded", 0) == 3
    assert after.get("jobs_failed", 0) == before.get("jobs_failed", 0)
    wait_until(lambda: len([h for h in _Hooks.received if h["job"] in ids]) >= 3, 10, "webhooks missing")
    time.sleep(0.5)
    mine = [h for h in _Hooks.received if h["job"] in ids]
    assert sorted(h["job"] for h in mine) == sorted(ids)
    assert {h["type"] for h in mine} == {"job.succeeded"} and len({h["id"] for h in mine}) == 3


def test_cancel_stops_the_running_job_and_frees_its_worker(stack: Stack, http: httpx.Client,
                                                           knocks_wav: Path) -> None:
    stack.ensure_workers(2)
    busy = [submit(http, knocks_wav) for _ in range(stack.live())]  # every worker busy...
    waiting = submit(http, knocks_wav)  # ...and one job waiting
    wait_until(lambda: all(running_slow(http, j) for j in busy), 30, "jobs never ran")
    canceled = busy[0]
    r = http.delete(f"/v1/jobs/{canceled}")
    canceled_at = time.time()
    assert r.status_code == 202 and r.json()["status"] == "canceled"
    # the worker drops the canceled job at its next progress write and takes the waiting one
    wait_job(http, waiting, until=frozenset({"running", "succeeded"}), timeout_s=10)
    started = stack.store.get(waiting)
    assert started is not None and started.started_at is not None
    assert started.started_at - canceled_at < SLOW_S - 1  # long before the slow stage would have ended
    assert all(wait_job(http, j, timeout_s=40)["status"] == "succeeded" for j in [*busy[1:], waiting])
    job = http.get(f"/v1/jobs/{canceled}").json()
    assert job["status"] == "canceled" and job["results"] == []
    assert http.get(f"/v1/jobs/{canceled}/captions.vtt").status_code == 404
    job_dir = stack.data_dir / "jobs" / canceled
    assert not (job_dir / "results").exists() and not (job_dir / "input").exists()
    row = stack.store.get(canceled)
    assert row is not None and row.lease is None  # the worker let go of it


def test_a_stopped_worker_hands_its_job_back_at_once(stack: Stack, http: httpx.Client, knocks_wav: Path) -> None:
    stack.ensure_workers(2)
    job_id = submit(http, knocks_wav)
    wait_until(lambda: running_slow(http, job_id), 30, "job never ran")
    held = stack.store.get(job_id)
    assert held is not None and held.lease is not None
    proc = next(p for p in stack.workers if p.pid == stack.lease_pid(job_id))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    row = stack.store.get(job_id)
    assert row is not None and row.lease != held.lease  # handed back before exiting, not found lost later
    assert row.status in ("queued", "running")
    job = wait_job(http, job_id, timeout_s=40)
    assert job["status"] == "succeeded" and job["attempts"] == 2


def test_a_job_whose_workers_keep_dying_fails_after_max_attempts(stack: Stack, http: httpx.Client,
                                                                 knocks_wav: Path, hooks: str) -> None:
    stack.ensure_workers(MAX_ATTEMPTS)
    assert stack.live() == MAX_ATTEMPTS
    job_id = submit(http, knocks_wav, webhook_url=hooks)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        wait_until(lambda a=attempt: running_slow(http, job_id, a), 30, f"attempt {attempt} never ran")
        os.kill(stack.lease_pid(job_id), signal.SIGKILL)
    job = wait_job(http, job_id, timeout_s=20)
    assert job["status"] == "failed" and job["attempts"] == MAX_ATTEMPTS
    assert job["error"]["type"].endswith("worker-lost")
    assert f"{MAX_ATTEMPTS} attempts" in job["error"]["detail"]
    # no worker left: the API says so
    ready = http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["workers_ready"] == 0
    wait_until(lambda: any(h["job"] == job_id for h in _Hooks.received), 10, "no webhook")
    assert [h["type"] for h in _Hooks.received if h["job"] == job_id] == ["job.failed"]


def test_maintenance_requeues_lost_work_fails_overdue_jobs_and_deletes_expired_ones(
        tmp_path: Path, redis_server: Any, postgres_server: Any) -> None:
    from app.backends.distributed import DramatiqQueue, Maintenance
    from app.backends.volume import VolumeResults
    from app.core.config import load_settings
    from app.store import NewJob

    url = postgres_server.create_schema("m_" + secrets.token_hex(6))
    settings = load_settings(no_auth=True, backend="distributed", database_url=url, redis_url=redis_server.url,
                             queue_name="q-" + secrets.token_hex(4), data_dir=tmp_path, retention_s=0.3,
                             job_timeout_s=0.3, requeue_after_s=0.2, max_attempts=3)
    store = PostgresJobStore(url, retention_s=settings.retention_s)
    queue = DramatiqQueue(settings)
    results = VolumeResults(settings.jobs_dir)
    maintenance = Maintenance(store, queue, results, settings)

    def job() -> str:
        row, _ = store.create(NewJob(owner="o", source={"kind": "upload"}, options={}, options_hash="h"))
        return row.id

    try:
        lost, unsent, done, overdue = job(), job(), job(), job()
        store.claim_job(lost, "ghost")  # a worker that never sent a heartbeat
        store.claim_job(done, "w1")
        (results.job_dir(done) / "results").mkdir(parents=True)
        results.result_path(done, "captions.vtt").write_text("WEBVTT\n")
        assert store.succeed(done, "w1", [{"name": "captions.vtt"}], [])
        store.heartbeat("alive", host="h", pid=1, threads=1, ready=True)
        store.claim_job(overdue, "alive")
        time.sleep(0.4)
        store.heartbeat("alive", host="h", pid=1, threads=1, ready=True)
        maintenance.run_once()
        lost_row, overdue_row = store.get(lost), store.get(overdue)
        assert lost_row is not None and lost_row.status == "queued" and lost_row.lease is None
        assert queue.pending() == 1  # the lost job sent again; the unsent one waits (a message is queued)
        assert overdue_row is not None and overdue_row.status == "failed"
        assert overdue_row.error is not None and overdue_row.error["type"].endswith("job-timeout")
        assert store.get(done) is None and not results.job_dir(done).exists()  # retention
        queue.broker.flush(settings.queue_name)  # Redis lost its messages
        time.sleep(0.3)
        maintenance.run_once()
        assert queue.pending() == 2  # both queued jobs sent again
        assert {lost, unsent} <= {j.id for j in store.list_jobs("o", limit=10, offset=0)[0] if j.status == "queued"}
    finally:
        queue.close()
        store.close()
