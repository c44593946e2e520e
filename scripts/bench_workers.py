"""Jobs per minute of the distributed backend with 1, 2 and 4 ``soundcue worker`` processes (issue 14).

For each worker count: a fresh schema and queue on throw-away Redis and PostgreSQL servers (started here on
loopback ports from Debian's redis-server and postgresql, as the tests do: tests/servers.py), that many
worker processes with the real models (warmed up before timing), and the real API (uvicorn); then a batch
of short clips is uploaded through the HTTP API at once and timed from the first upload to the last job
finished. The result cache is off, so every job does the whole analysis.

    .venv/bin/python scripts/bench_workers.py [--clips 8] [--workers 1,2,4] [--media samples/street_scene.mp4]

Prints one row per worker count: jobs, wall seconds, jobs per minute, mean and max job latency (upload to
finished), and the load average before and after (the machine is shared: read the figures beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from api_server import KEY_A, Server  # noqa: E402
from servers import PostgresServer, RedisServer  # noqa: E402

from app.backends.postgres import PostgresJobStore  # noqa: E402


def run(n_workers: int, clips: int, media: Path, redis_url: str, pg: PostgresServer, work: Path) -> dict[str, float]:
    """One timed batch with ``n_workers`` worker processes; returns its figures."""
    url = pg.create_schema("bench_" + secrets.token_hex(4))
    data_dir = work / f"shared-{n_workers}"
    data_dir.mkdir(parents=True)
    env = {"SOUNDCUE_BACKEND": "distributed", "SOUNDCUE_DATABASE_URL": url, "SOUNDCUE_REDIS_URL": redis_url,
           "SOUNDCUE_QUEUE_NAME": "bench-" + secrets.token_hex(4), "SOUNDCUE_ANALYZER": "captioning.pipeline:analyze",
           "SOUNDCUE_LOG_LEVEL": "WARNING", "SOUNDCUE_MAX_QUEUE": "1000", "SOUNDCUE_MAX_QUEUE_PER_KEY": "1000"}
    worker_env = {**os.environ, **env, "SOUNDCUE_DATA_DIR": str(data_dir)}
    store = PostgresJobStore(url)
    workers = [subprocess.Popen([sys.executable, "-m", "app", "worker"], env=worker_env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=(work / f"worker-{n_workers}-{i}.log").open("ab"))
               for i in range(n_workers)]
    server = None
    try:
        deadline = time.monotonic() + 300
        while sum(1 for w in store.live_workers(60) if w["ready"]) < n_workers:  # models loaded in each
            if time.monotonic() > deadline or any(p.poll() is not None for p in workers):
                raise RuntimeError(f"workers did not start; see {work}/worker-{n_workers}-*.log")
            time.sleep(0.2)
        server = Server(data_dir, env).start()
        load_before = os.getloadavg()[0]
        submitted: dict[str, float] = {}
        finished: dict[str, float] = {}
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY_A}"}, timeout=120) as http:
            t0 = time.monotonic()
            for i in range(clips):
                with media.open("rb") as f:
                    r = http.post("/v1/jobs", files={"file": (f"clip{i}{media.suffix}", f)},
                                  data={"options": json.dumps({"enable_cache": False})})
                r.raise_for_status()
                submitted[r.json()["id"]] = time.monotonic()
            while len(finished) < clips:
                for job_id in submitted.keys() - finished.keys():
                    job = http.get(f"/v1/jobs/{job_id}").json()
                    if job["status"] in ("succeeded", "failed", "canceled"):
                        if job["status"] != "succeeded":
                            raise RuntimeError(f"job {job_id} {job['status']}: {job.get('error')}")
                        finished[job_id] = time.monotonic()
                time.sleep(0.2)
            wall = max(finished.values()) - t0
        latencies = [finished[j] - submitted[j] for j in submitted]
        return {"workers": n_workers, "jobs": clips, "wall_s": wall, "jobs_per_min": clips / wall * 60,
                "mean_latency_s": sum(latencies) / len(latencies), "max_latency_s": max(latencies),
                "load_before": load_before, "load_after": os.getloadavg()[0]}
    finally:
        if server is not None:
            server.stop()
        for p in workers:
            p.send_signal(signal.SIGTERM)
        for p in workers:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=8, help="clips uploaded per batch")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--media", type=Path, default=ROOT / "samples" / "street_scene.mp4",
                        help="the short clip uploaded (as clip0, clip1, ...)")
    args = parser.parse_args()
    if not args.media.is_file():
        print(f"no such media file: {args.media}", file=sys.stderr)
        return 2
    counts = [int(c) for c in args.workers.split(",") if c.strip()]
    print(f"{args.clips} uploads of {args.media.name} per batch; cpus={os.cpu_count()}")
    print(f"{'workers':>7} {'jobs':>5} {'wall s':>8} {'jobs/min':>9} {'mean lat s':>10} {'max lat s':>9} "
          f"{'load 1m before/after':>21}")
    redis = RedisServer().start()
    pg = PostgresServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="soundcue-bench-") as tmp:
            for n in counts:
                r = run(n, args.clips, args.media, redis.url, pg, Path(tmp))
                print(f"{n:>7} {args.clips:>5} {r['wall_s']:>8.1f} {r['jobs_per_min']:>9.1f} "
                      f"{r['mean_latency_s']:>10.1f} {r['max_latency_s']:>9.1f} "
                      f"{r['load_before']:>10.1f}/{r['load_after']:<10.1f}", flush=True)
    finally:
        pg.stop()
        redis.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
