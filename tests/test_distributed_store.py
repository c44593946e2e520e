"""The PostgreSQL job repository of the distributed backend, on a real PostgreSQL server (tests/servers.py):
one claim per job however many workers race for it, idempotency keys, lease-conditional writes, bounded
re-runs of jobs whose worker died, heartbeats, webhook deliveries claimed by one dispatcher at a time."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.backends.base import StoreUnavailable
from app.backends.postgres import PostgresJobStore
from app.job_errors import canceled_error
from app.store import IdempotencyConflict, JobStore, NewJob


@pytest.fixture()
def store(postgres_server: Any) -> Iterator[PostgresJobStore]:
    url = postgres_server.create_schema("t_" + secrets.token_hex(6))
    s = PostgresJobStore(url, retention_s=60)
    yield s
    s.close()


def new(owner: str = "alice", **kw: Any) -> NewJob:
    return NewJob(owner=owner, source={"kind": "upload", "filename": "a.wav"}, options={"outputs": ["vtt"]},
                  options_hash="h", **kw)


def test_racing_workers_claim_a_job_once(store: PostgresJobStore) -> None:
    row, created = store.create(new())
    assert created and row.status == "queued"
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def claim(i: int) -> None:
        barrier.wait()
        if store.claim_job(row.id, f"lease-{i}") is not None:
            wins.append(f"lease-{i}")

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    job = store.get(row.id)
    assert job is not None and job.status == "running" and job.attempts == 1 and job.lease == wins[0]
    # a late duplicate message finds it running, then finished: never a second run
    assert store.claim_job(row.id, "late") is None
    assert store.succeed(row.id, wins[0], [{"name": "captions.vtt"}], [{"stage": "probe", "duration_s": 0.1,
                                                                         "started_at": 0.0}])
    assert store.claim_job(row.id, "late") is None
    assert store.counters()["jobs_succeeded"] == 1
    assert store.stage_stats()["probe"][0] == 1


def test_idempotency_key_returns_the_same_job_even_when_racing(store: PostgresJobStore) -> None:
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(6)

    def create() -> None:
        barrier.wait()
        row, created = store.create(new(idem_key="k1", request_hash="same"))
        results.append((row.id, created))

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({job_id for job_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with pytest.raises(IdempotencyConflict):
        store.create(new(idem_key="k1", request_hash="different"))
    # another owner may use the same key
    assert store.create(new(owner="bob", idem_key="k1", request_hash="other"))[1]
    assert store.queue_length() == 2 and store.queue_length("alice") == 1


def test_a_stale_worker_cannot_overwrite_a_requeued_job(store: PostgresJobStore) -> None:
    row, _ = store.create(new(webhook_url="https://example.org/hook"))
    assert store.claim_job(row.id, "w1") is not None
    assert store.progress(row.id, "w1", "audio", 0.4)
    assert store.release("w1", "gone", max_attempts=2) == [(row.id, "queued")]
    assert not store.progress(row.id, "w1", "audio", 0.5)
    assert not store.succeed(row.id, "w1", [], [])
    job = store.claim_job(row.id, "w2")
    assert job is not None and job.attempts == 2
    # second loss: the attempts are used up, the job fails with a reason, and its webhook is queued
    assert store.release("w2", "the worker stopped answering", max_attempts=2) == [(row.id, "failed")]
    failed = store.get(row.id)
    assert failed is not None and failed.status == "failed" and failed.lease is None
    assert failed.error is not None and failed.error["type"].endswith("worker-lost")
    assert "on each of 2 attempts" in failed.error["detail"]
    assert [w["event"] for w in store.webhook_states(row.id)] == ["job.failed"]


def test_cancel_keeps_the_lease_until_the_worker_has_stopped(store: PostgresJobStore) -> None:
    row, _ = store.create(new())
    store.claim_job(row.id, "w1")
    canceled = store.cancel(row.id)
    assert canceled is not None and canceled.status == "canceled" and canceled.lease == "w1"
    assert not store.progress(row.id, "w1", "audio", 0.5)  # the worker's next write tells it to stop
    assert store.stale_leases() == [(row.id, "w1")]
    assert store.expired(now=canceled.expires_at) == []  # not deleted while a worker may still write files
    store.clear_lease(row.id)
    assert store.expired(now=(canceled.expires_at or 0) + 1) == [row.id]
    assert store.delete(row.id) and store.get(row.id) is None


def test_both_job_stores_keep_the_same_job_errors(store: PostgresJobStore, tmp_path: Path) -> None:
    """A canceled and a worker-lost job have the same error, member for member, in PostgreSQL and SQLite."""
    lite = JobStore(tmp_path / "jobs.db", retention_s=60)
    kept: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for repo in (store, lite):
        doomed, _ = repo.create(new())
        waiting, _ = repo.create(new())
        canceled = repo.cancel(waiting.id)
        if isinstance(repo, PostgresJobStore):
            assert repo.claim_job(doomed.id, "w") is not None
        else:
            assert repo.claim("w") is not None
        assert repo.release("w", "the worker died", max_attempts=1) == [(doomed.id, "failed")]
        failed = repo.get(doomed.id)
        assert canceled is not None and canceled.error is not None and failed is not None and failed.error is not None
        kept.append(({**canceled.error, "detail": canceled.error["detail"].replace(waiting.id, "ID")}, failed.error))
    assert kept[0] == kept[1]
    canceled_, lost = kept[0]
    assert canceled_ == canceled_error("ID") and canceled_["type"] == "tag:soundcue,2025:problem:canceled"
    assert (lost["type"], lost["title"], lost["status"]) == (
        "tag:soundcue,2025:problem:worker-lost", "Job could not be completed", 500)


def test_heartbeats_tell_live_workers_from_lost_ones(store: PostgresJobStore) -> None:
    a, _ = store.create(new())
    b, _ = store.create(new())
    store.heartbeat("alive", host="h1", pid=1, threads=2, ready=True)
    store.claim_job(a.id, "alive")
    store.claim_job(b.id, "never-beat")
    assert store.dead_leases(lost_after_s=3600) == ["never-beat"]
    assert sorted(store.dead_leases(lost_after_s=0)) == ["alive", "never-beat"]
    live = store.live_workers(lost_after_s=3600)
    assert [(w["lease"], w["threads"], w["ready"]) for w in live] == [("alive", 2, True)]
    store.forget_worker("alive")
    assert store.live_workers(lost_after_s=3600) == []


def test_each_webhook_delivery_goes_to_one_dispatcher(store: PostgresJobStore, postgres_server: Any) -> None:
    for _ in range(6):
        row, _ = store.create(new(webhook_url="https://example.org/hook"))
        store.cancel(row.id)
    other = PostgresJobStore(store.pool.conninfo)
    try:
        first, second = store.due_webhooks(limit=4), other.due_webhooks(limit=4)
        assert len(first) == 4 and len(second) == 2
        assert not {d["id"] for d in first} & {d["id"] for d in second}
        assert store.due_webhooks() == []  # all taken
        store.webhook_result(first[0]["id"], delivered=True, error=None, retry_at=None)
        assert store.counters()["webhooks_delivered"] == 1
    finally:
        other.close()


def test_queued_jobs_without_a_message_are_found_once(store: PostgresJobStore) -> None:
    row, _ = store.create(new())
    assert store.queued_before(row.created_at - 1) == []
    now = time.time()
    assert store.queued_before(now) == [row.id]
    assert store.queued_before(now) == []  # touched: not sent again at once


def test_an_unreachable_database_is_a_clear_error() -> None:
    from servers import free_port

    with pytest.raises(StoreUnavailable, match="cannot connect to the job database"):
        PostgresJobStore(f"postgresql://postgres@127.0.0.1:{free_port()}/none", connect_timeout_s=1)
