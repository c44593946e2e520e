"""The distributed API while its PostgreSQL server is down for a while: requests get 503 problems with
Retry-After (never a 500, never a hang), nothing stored is lost, and service resumes when it is back. A
PostgreSQL server of its own (tests/servers.py), so the outage touches no other test."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from api_server import Server, client
from servers import PostgresServer


def test_database_outage_answers_503_and_loses_nothing(tmp_path: Path, redis_server: Any,
                                                       knocks_wav: Path) -> None:
    pg = PostgresServer().start()
    server = None
    try:
        url = pg.create_schema("outage_" + secrets.token_hex(4))
        server = Server(tmp_path / "data", {
            "SOUNDCUE_BACKEND": "distributed", "SOUNDCUE_DATABASE_URL": url, "SOUNDCUE_REDIS_URL": redis_server.url,
            "SOUNDCUE_QUEUE_NAME": "q-" + secrets.token_hex(4),
        }).start(ready_path="/healthz")  # no worker: jobs stay queued
        with client(server) as http:
            with knocks_wav.open("rb") as f:
                r = http.post("/v1/jobs", files={"file": (knocks_wav.name, f)}, data={"options": json.dumps({})})
            assert r.status_code == 202, r.text
            job_id = r.json()["id"]

            pg.stop_server()
            for method, path in (("GET", f"/v1/jobs/{job_id}"), ("POST", "/v1/jobs")):
                r = http.request(method, path, json={"video_url": "https://example.org/a.mp4"}
                                 if method == "POST" else None)
                assert r.status_code == 503, (method, path, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                assert r.headers["Retry-After"] == "5"
                assert r.json()["type"].endswith("store-unavailable")
            ready = http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["store"] is False

            pg.start()
            deadline = time.monotonic() + 30  # a client retrying as Retry-After says gets through again
            while (job := http.get(f"/v1/jobs/{job_id}")).status_code == 503 and time.monotonic() < deadline:
                time.sleep(float(job.headers["Retry-After"]) / 5)
            assert job.status_code == 200 and job.json()["status"] == "queued"
            assert http.get("/v1/jobs").json()["count"] == 1  # the refused POST stored nothing
    finally:
        if server is not None:
            server.stop()
        pg.stop()
