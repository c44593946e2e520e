"""The job repository of the distributed backend: PostgreSQL, shared by every API and worker process.

The same records and rules as the SQLite :class:`app.store.JobStore` (one row per job, lease-conditional
worker writes, webhook deliveries written in the transaction that finishes a job, counters), plus what
several machines need:

* :meth:`PostgresJobStore.claim_job` takes one given job (the id a queue message carries) only if it is still
  queued, in one ``UPDATE ... WHERE status = 'queued'``: a message delivered twice runs the job once;
* a ``workers`` table of heartbeats, stamped with the database's clock (machines' clocks may disagree), from
  which :meth:`dead_leases` finds the jobs of workers that stopped answering;
* :meth:`due_webhooks` *claims* deliveries (``FOR UPDATE SKIP LOCKED`` and a short lease on ``next_at``),
  so several API processes never post the same event at once.

Connection problems surface as :class:`app.backends.base.StoreUnavailable`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from app.backends.base import StoreUnavailable
from app.job_errors import canceled_error, worker_lost_error
from app.store import IdempotencyConflict, JobRow, NewJob, new_job_id

#: A webhook delivery taken by a dispatcher is hidden from the others this long (seconds): longer than one
#: delivery attempt (``webhook_timeout_s``), after which a dispatcher that died mid-delivery is retried.
WEBHOOK_CLAIM_S = 120.0

#: At most one probe a second for a database that came back (see PostgresJobStore._recover).
RECOVERY_PROBE_S = 1.0

#: Serialises the schema creation of processes starting together (CREATE ... IF NOT EXISTS is not safe
#: against concurrent creation in PostgreSQL). Any constant; "sc" in ASCII.
_SCHEMA_LOCK = 0x7363

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id text PRIMARY KEY,
    owner text NOT NULL,
    status text NOT NULL,
    stage text,
    progress double precision NOT NULL DEFAULT 0,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL,
    started_at double precision,
    finished_at double precision,
    expires_at double precision,
    attempts integer NOT NULL DEFAULT 0,
    source jsonb NOT NULL,
    options jsonb NOT NULL,
    limits jsonb NOT NULL DEFAULT '{}',
    webhook_url text,
    error jsonb,
    results jsonb NOT NULL DEFAULT '[]',
    log jsonb NOT NULL DEFAULT '[]',
    lease text,
    share_token text NOT NULL,
    idem_key text,
    request_hash text,
    input_sha256 text,
    options_hash text
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idem ON jobs (owner, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created_at);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, created_at);
CREATE INDEX IF NOT EXISTS jobs_lease ON jobs (lease) WHERE lease IS NOT NULL;
CREATE TABLE IF NOT EXISTS webhooks (
    id text PRIMARY KEY,
    job_id text NOT NULL,
    owner text NOT NULL,
    url text NOT NULL,
    event text NOT NULL,
    state text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_at double precision NOT NULL,
    created_at double precision NOT NULL,
    last_error text
);
CREATE INDEX IF NOT EXISTS webhooks_due ON webhooks (state, next_at);
CREATE TABLE IF NOT EXISTS stage_stats (stage text PRIMARY KEY, count bigint NOT NULL, sum_s double precision NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name text PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE IF NOT EXISTS workers (
    lease text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    threads integer NOT NULL,
    ready boolean NOT NULL DEFAULT false,
    started_at double precision NOT NULL,
    heartbeat_at double precision NOT NULL
);
"""

_BUMP = "INSERT INTO counters (name, value) VALUES (%s, 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
#: The database's clock in epoch seconds (heartbeats compare times written by different machines).
_DB_NOW = "extract(epoch FROM clock_timestamp())"

Conn = psycopg.Connection[DictRow]


def _row(d: Mapping[str, Any]) -> JobRow:
    return JobRow(**d)


class PostgresJobStore:
    """:class:`app.backends.base.JobRepository` on PostgreSQL (thread-safe: a connection pool).

    Args:
        url: a libpq connection URL (``postgresql://user:password@host:5432/soundcue``).
        retention_s: finished jobs expire this long after they finish.
        max_connections: pool size of this process.
        connect_timeout_s: how long to wait for the database at start-up.
        request_timeout_s: how long one call waits for a working connection before raising
            :class:`StoreUnavailable` (an API request answers 503 then, rather than hang).

    Raises:
        StoreUnavailable: the database cannot be reached within ``connect_timeout_s``.
    """

    def __init__(self, url: str, *, retention_s: float = 7 * 24 * 3600.0, max_connections: int = 8,
                 connect_timeout_s: float = 10.0, request_timeout_s: float = 3.0) -> None:
        self.retention_s = retention_s
        self.connect_timeout_s = connect_timeout_s
        self.request_timeout_s = request_timeout_s
        self._url = url
        self._max_connections = max_connections
        self._recover_lock = threading.Lock()
        self._last_probe = 0.0
        self.pool = self._new_pool()
        try:
            self.pool.open(wait=True, timeout=connect_timeout_s)
        except PoolTimeout as e:
            self.pool.close()
            raise StoreUnavailable(f"cannot connect to the job database within {connect_timeout_s:.0f} s: {e}") from e
        with self._db(tx=True) as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            db.execute(_SCHEMA)  # several statements: psycopg sends them as one simple query

    # -- plumbing ---------------------------------------------------------------------------------

    def _new_pool(self) -> ConnectionPool[Conn]:
        # check: a connection is tested before it is handed out, so the first request after a database restart
        # gets a fresh one instead of failing on a connection the server closed.
        return ConnectionPool(
            self._url, min_size=1, max_size=self._max_connections, open=False, name="soundcue",
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True, "row_factory": dict_row,
                    "connect_timeout": max(1, int(self.connect_timeout_s))},
        )

    @contextmanager
    def _db(self, *, tx: bool = False) -> Iterator[Conn]:
        try:
            with self.pool.connection(timeout=self.request_timeout_s) as conn:
                if tx:
                    with conn.transaction():
                        yield conn
                else:
                    yield conn
        except PoolTimeout as e:
            self._recover()
            raise StoreUnavailable(f"no connection to the job database within {self.request_timeout_s:.0f} s "
                                   "(unreachable or overloaded)") from e
        except psycopg.OperationalError as e:
            self._recover()
            raise StoreUnavailable(f"the job database cannot be reached: {e}") from e

    def _recover(self) -> None:
        """After an outage the pool retries its connections with doubling pauses (psycopg_pool: 1, 2, 4 ... s
        up to 5 minutes), so it could come back minutes after the database. When a call fails but a fresh
        connection succeeds (probed at most once a second), the pool is replaced by a new one."""
        if not self._recover_lock.acquire(blocking=False):
            return
        try:
            now = time.monotonic()
            if now - self._last_probe < RECOVERY_PROBE_S:
                return
            self._last_probe = now
            try:
                psycopg.connect(self._url, connect_timeout=2).close()
            except psycopg.Error:
                return
            old, self.pool = self.pool, self._new_pool()
            self.pool.open(wait=False)
        finally:
            self._recover_lock.release()
        threading.Thread(target=old.close, kwargs={"timeout": 5.0}, name="pool-close", daemon=True).start()

    def close(self) -> None:
        self.pool.close()

    def ping(self) -> bool:
        with self._db() as db:
            r = db.execute("SELECT 1 AS one").fetchone()
        return r is not None and r["one"] == 1

    def _one(self, db: Conn, job_id: str) -> JobRow | None:
        r = db.execute("SELECT * FROM jobs WHERE id = %s", (job_id,)).fetchone()
        return _row(r) if r else None

    # -- API side ---------------------------------------------------------------------------------

    def create(self, job: NewJob) -> tuple[JobRow, bool]:
        """Insert a queued job; returns ``(row, created)`` (see :meth:`app.store.JobStore.create`).

        Raises:
            IdempotencyConflict: the idempotency key was used by the same owner with a different request.
        """
        now = time.time()
        job_id = job.job_id or new_job_id()
        with self._db(tx=True) as db:
            r = db.execute(
                "INSERT INTO jobs (id, owner, status, stage, progress, created_at, updated_at, source, options,"
                " limits, webhook_url, share_token, idem_key, request_hash, input_sha256, options_hash)"
                " VALUES (%s, %s, 'queued', 'queued', 0, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (owner, idem_key) WHERE idem_key IS NOT NULL DO NOTHING RETURNING *",
                (job_id, job.owner, now, now, Jsonb(dict(job.source)), Jsonb(dict(job.options)),
                 Jsonb(dict(job.limits)), job.webhook_url, secrets.token_urlsafe(24), job.idem_key,
                 job.request_hash, job.input_sha256, job.options_hash),
            ).fetchone()
            if r is not None:
                return _row(r), True
            prev = db.execute(
                "SELECT * FROM jobs WHERE owner = %s AND idem_key = %s", (job.owner, job.idem_key)
            ).fetchone()
        if prev is None:  # the earlier job was deleted between the two statements: a new one is right
            return self.create(job)
        if prev["request_hash"] != job.request_hash:
            raise IdempotencyConflict(job.idem_key)
        return _row(prev), False

    def get(self, job_id: str, owner: str | None = None) -> JobRow | None:
        with self._db() as db:
            row = self._one(db, job_id)
        if row is None or (owner is not None and row.owner != owner):
            return None
        return row

    def list_jobs(self, owner: str, *, limit: int, offset: int) -> tuple[list[JobRow], int]:
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM jobs WHERE owner = %s ORDER BY created_at DESC, id LIMIT %s OFFSET %s",
                (owner, limit, offset),
            ).fetchall()
            count = db.execute("SELECT count(*) AS n FROM jobs WHERE owner = %s", (owner,)).fetchone()
        return [_row(r) for r in rows], int(count["n"]) if count else 0

    def queue_length(self, owner: str | None = None) -> int:
        with self._db() as db:
            if owner is None:
                r = db.execute("SELECT count(*) AS n FROM jobs WHERE status = 'queued'").fetchone()
            else:
                r = db.execute(
                    "SELECT count(*) AS n FROM jobs WHERE status = 'queued' AND owner = %s", (owner,)
                ).fetchone()
        return int(r["n"]) if r else 0

    def counts_by_status(self) -> dict[str, int]:
        with self._db() as db:
            rows = db.execute("SELECT status, count(*) AS n FROM jobs GROUP BY status").fetchall()
        return {r["status"]: int(r["n"]) for r in rows}

    def cancel(self, job_id: str) -> JobRow | None:
        """Mark a queued or running job canceled; its worker notices at its next progress write."""
        now = time.time()
        error = canceled_error(job_id)
        with self._db(tx=True) as db:
            r = db.execute(
                "UPDATE jobs SET status = 'canceled', finished_at = %s, updated_at = %s, expires_at = %s,"
                " error = %s WHERE id = %s AND status IN ('queued', 'running') RETURNING id",
                (now, now, now + self.retention_s, Jsonb(error), job_id),
            ).fetchone()
            if r is not None:
                self._finished(db, job_id, "canceled")
            return self._one(db, job_id)

    def delete(self, job_id: str) -> bool:
        with self._db(tx=True) as db:
            db.execute("DELETE FROM webhooks WHERE job_id = %s AND state = 'pending'", (job_id,))
            return db.execute("DELETE FROM jobs WHERE id = %s", (job_id,)).rowcount > 0

    def find_cached(self, owner: str, input_sha256: str, options_hash: str, exclude: str) -> JobRow | None:
        with self._db() as db:
            r = db.execute(
                "SELECT * FROM jobs WHERE owner = %s AND input_sha256 = %s AND options_hash = %s"
                " AND status = 'succeeded' AND id != %s ORDER BY finished_at DESC LIMIT 1",
                (owner, input_sha256, options_hash, exclude),
            ).fetchone()
        return _row(r) if r else None

    # -- worker side ------------------------------------------------------------------------------

    def claim_job(self, job_id: str, lease: str) -> JobRow | None:
        """Take ``job_id`` for the worker holding ``lease`` if it is still queued (else None: it runs
        elsewhere, finished, was canceled or deleted). Counts one attempt."""
        now = time.time()
        with self._db() as db:
            r = db.execute(
                "UPDATE jobs SET status = 'running', lease = %s, attempts = attempts + 1, started_at = %s,"
                " updated_at = %s, stage = 'starting', progress = 0, error = NULL"
                " WHERE id = %s AND status = 'queued' RETURNING *",
                (lease, now, now, job_id),
            ).fetchone()
        return _row(r) if r else None

    def progress(self, job_id: str, lease: str, stage: str, progress: float) -> bool:
        with self._db() as db:
            cur = db.execute(
                "UPDATE jobs SET stage = %s, progress = %s, updated_at = %s"
                " WHERE id = %s AND lease = %s AND status = 'running'",
                (stage, min(max(progress, 0.0), 1.0), time.time(), job_id, lease),
            )
        return cur.rowcount > 0

    def set_input_sha256(self, job_id: str, lease: str, sha256: str) -> None:
        with self._db() as db:
            db.execute("UPDATE jobs SET input_sha256 = %s WHERE id = %s AND lease = %s", (sha256, job_id, lease))

    def succeed(self, job_id: str, lease: str, results: Sequence[Mapping[str, Any]],
                log: Sequence[Mapping[str, Any]]) -> bool:
        return self._finish(job_id, lease, "succeeded", None, results, log)

    def fail(self, job_id: str, lease: str, error: Mapping[str, Any],
             log: Sequence[Mapping[str, Any]] = ()) -> bool:
        return self._finish(job_id, lease, "failed", error, (), log)

    def _finish(self, job_id: str, lease: str, status: str, error: Mapping[str, Any] | None,
                results: Sequence[Mapping[str, Any]], log: Sequence[Mapping[str, Any]]) -> bool:
        now = time.time()
        stage_sql = "progress = 1.0, stage = 'done'" if status == "succeeded" else "stage = 'failed'"
        with self._db(tx=True) as db:
            cur = db.execute(
                f"UPDATE jobs SET status = %s, error = %s, results = %s, log = %s, {stage_sql}, finished_at = %s,"
                " updated_at = %s, expires_at = %s, lease = NULL"
                " WHERE id = %s AND lease = %s AND status = 'running'",
                (status, Jsonb(dict(error)) if error else None, Jsonb([dict(r) for r in results]),
                 Jsonb([dict(e) for e in log]), now, now, now + self.retention_s, job_id, lease),
            )
            if cur.rowcount == 0:
                return False
            self._finished(db, job_id, status)
            for entry in log:
                db.execute(
                    "INSERT INTO stage_stats (stage, count, sum_s) VALUES (%s, 1, %s) ON CONFLICT (stage)"
                    " DO UPDATE SET count = stage_stats.count + 1, sum_s = stage_stats.sum_s + excluded.sum_s",
                    (entry["stage"], float(entry["duration_s"])),
                )
        return True

    def _finished(self, db: Conn, job_id: str, status: str) -> None:
        """Bookkeeping in the transaction that finishes a job: the counter and the webhook event."""
        db.execute(_BUMP, (f"jobs_{status}",))
        r = db.execute("SELECT owner, webhook_url FROM jobs WHERE id = %s", (job_id,)).fetchone()
        if r is not None and r["webhook_url"]:
            now = time.time()
            db.execute(
                "INSERT INTO webhooks (id, job_id, owner, url, event, next_at, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                ("msg_" + secrets.token_urlsafe(16), job_id, r["owner"], r["webhook_url"], f"job.{status}", now, now),
            )

    # -- supervision ------------------------------------------------------------------------------

    def release(self, lease: str, reason: str, max_attempts: int, job_id: str | None = None) -> list[tuple[str, str]]:
        """The worker holding ``lease`` is gone: re-queue its running jobs (only ``job_id`` if given), or fail
        each one that has had ``max_attempts`` runs. Returns ``(job_id, new_status)`` per job released."""
        now = time.time()
        out: list[tuple[str, str]] = []
        only = "" if job_id is None else " AND id = %s"
        with self._db(tx=True) as db:
            rows = db.execute(
                "SELECT id, attempts FROM jobs WHERE lease = %s AND status = 'running'" + only + " FOR UPDATE",
                (lease,) if job_id is None else (lease, job_id),
            ).fetchall()
            for r in rows:
                if r["attempts"] < max_attempts:
                    db.execute(
                        "UPDATE jobs SET status = 'queued', stage = 'queued', progress = 0, lease = NULL,"
                        " updated_at = %s WHERE id = %s",
                        (now, r["id"]),
                    )
                    out.append((r["id"], "queued"))
                else:
                    error = worker_lost_error(reason, r["attempts"])
                    db.execute(
                        "UPDATE jobs SET status = 'failed', stage = 'failed', lease = NULL, error = %s,"
                        " finished_at = %s, updated_at = %s, expires_at = %s WHERE id = %s",
                        (Jsonb(error), now, now, now + self.retention_s, r["id"]),
                    )
                    self._finished(db, r["id"], "failed")
                    out.append((r["id"], "failed"))
            if job_id is None:
                db.execute("UPDATE jobs SET lease = NULL WHERE lease = %s AND status <> 'running'", (lease,))
        return out

    def running_leases(self) -> list[str]:
        with self._db() as db:
            rows = db.execute(
                "SELECT DISTINCT lease FROM jobs WHERE status = 'running' AND lease IS NOT NULL"
            ).fetchall()
        return [r["lease"] for r in rows]

    def stale_leases(self) -> list[tuple[str, str]]:
        with self._db() as db:
            rows = db.execute("SELECT id, lease FROM jobs WHERE status = 'canceled' AND lease IS NOT NULL").fetchall()
        return [(r["id"], r["lease"]) for r in rows]

    def clear_lease(self, job_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE jobs SET lease = NULL WHERE id = %s", (job_id,))

    def overdue(self, timeout_s: float) -> list[tuple[str, str]]:
        with self._db() as db:
            rows = db.execute(
                "SELECT id, lease FROM jobs WHERE status = 'running' AND lease IS NOT NULL AND started_at < %s",
                (time.time() - timeout_s,),
            ).fetchall()
        return [(r["id"], r["lease"]) for r in rows]

    def expired(self, now: float | None = None) -> list[str]:
        with self._db() as db:
            rows = db.execute(
                "SELECT id FROM jobs WHERE expires_at IS NOT NULL AND expires_at < %s AND lease IS NULL",
                (now if now is not None else time.time(),),
            ).fetchall()
        return [r["id"] for r in rows]

    def queued_before(self, before: float, limit: int = 100) -> list[str]:
        """Queued jobs not touched since ``before`` (epoch s), oldest first; their ``updated_at`` is set to now
        so that the next call does not return them again at once (used to re-send lost queue messages)."""
        with self._db() as db:
            rows = db.execute(
                "UPDATE jobs SET updated_at = %s WHERE id IN (SELECT id FROM jobs WHERE status = 'queued'"
                " AND updated_at < %s ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id, created_at",
                (time.time(), before, limit),
            ).fetchall()
        return [r["id"] for r in sorted(rows, key=lambda r: r["created_at"])]

    # -- workers ----------------------------------------------------------------------------------

    def heartbeat(self, lease: str, *, host: str, pid: int, threads: int, ready: bool) -> None:
        """Record that the worker process holding ``lease`` is alive (the database's clock)."""
        with self._db() as db:
            db.execute(
                f"INSERT INTO workers (lease, host, pid, threads, ready, started_at, heartbeat_at)"
                f" VALUES (%s, %s, %s, %s, %s, {_DB_NOW}, {_DB_NOW}) ON CONFLICT (lease) DO UPDATE"
                f" SET heartbeat_at = {_DB_NOW}, ready = excluded.ready",
                (lease, host, pid, threads, ready),
            )

    def forget_worker(self, lease: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM workers WHERE lease = %s", (lease,))

    def live_workers(self, lost_after_s: float) -> list[dict[str, Any]]:
        """Workers whose last heartbeat is less than ``lost_after_s`` old."""
        with self._db() as db:
            rows = db.execute(
                f"SELECT * FROM workers WHERE heartbeat_at >= {_DB_NOW} - %s ORDER BY started_at", (lost_after_s,)
            ).fetchall()
        return [dict(r) for r in rows]

    def dead_leases(self, lost_after_s: float) -> list[str]:
        """Leases still held by jobs (running, or canceled and not yet cleaned up) whose worker has sent no
        heartbeat for ``lost_after_s`` seconds (or never did)."""
        with self._db() as db:
            rows = db.execute(
                f"SELECT DISTINCT j.lease FROM jobs j LEFT JOIN workers w ON w.lease = j.lease"
                f" WHERE j.lease IS NOT NULL AND j.status IN ('running', 'canceled')"
                f" AND (w.lease IS NULL OR w.heartbeat_at < {_DB_NOW} - %s)",
                (lost_after_s,),
            ).fetchall()
        return [r["lease"] for r in rows]

    def forget_dead_workers(self, older_than_s: float) -> int:
        """Delete worker rows silent for ``older_than_s`` (their jobs were released before)."""
        with self._db() as db:
            return db.execute(
                f"DELETE FROM workers WHERE heartbeat_at < {_DB_NOW} - %s", (older_than_s,)
            ).rowcount

    # -- webhooks and metrics ---------------------------------------------------------------------

    def due_webhooks(self, limit: int = 20) -> list[dict[str, Any]]:
        """Claim up to ``limit`` due deliveries for this dispatcher (hidden from others for
        :data:`WEBHOOK_CLAIM_S`)."""
        now = time.time()
        with self._db() as db:
            rows = db.execute(
                "UPDATE webhooks SET next_at = %s WHERE id IN (SELECT id FROM webhooks WHERE state = 'pending'"
                " AND next_at <= %s ORDER BY next_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *",
                (now + WEBHOOK_CLAIM_S, now, limit),
            ).fetchall()
        return [dict(r) for r in sorted(rows, key=lambda r: r["created_at"])]

    def webhook_result(self, msg_id: str, *, delivered: bool, error: str | None, retry_at: float | None) -> None:
        state = "delivered" if delivered else ("pending" if retry_at is not None else "failed")
        with self._db(tx=True) as db:
            db.execute(
                "UPDATE webhooks SET state = %s, attempts = attempts + 1, next_at = COALESCE(%s, next_at),"
                " last_error = %s WHERE id = %s",
                (state, retry_at, error, msg_id),
            )
            if state != "pending":
                db.execute(_BUMP, (f"webhooks_{state}",))

    def webhook_states(self, job_id: str) -> list[dict[str, Any]]:
        with self._db() as db:
            return [dict(r) for r in db.execute("SELECT * FROM webhooks WHERE job_id = %s", (job_id,)).fetchall()]

    def stage_stats(self) -> dict[str, tuple[int, float]]:
        with self._db() as db:
            rows = db.execute("SELECT stage, count, sum_s FROM stage_stats").fetchall()
        return {r["stage"]: (int(r["count"]), float(r["sum_s"])) for r in rows}

    def counters(self) -> dict[str, int]:
        with self._db() as db:
            return {r["name"]: int(r["value"]) for r in db.execute("SELECT name, value FROM counters").fetchall()}
