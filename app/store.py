"""The SQLite job store: the one durable record of every job, shared by the API and worker processes.

A job accepted is written here (with its input file already on disk) before the API answers 202, so it
is never lost. Workers claim jobs with a *lease* token; every later write of a worker is conditional on
its lease, so a job that was re-queued, canceled or handed to another worker cannot be overwritten by a
stale worker. WAL mode lets the API read while workers write. Times are float seconds since the epoch.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.job_errors import canceled_error, worker_lost_error

FINISHED = ("succeeded", "failed", "canceled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    stage TEXT,
    progress REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    expires_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    options TEXT NOT NULL,
    limits TEXT NOT NULL DEFAULT '{}',
    webhook_url TEXT,
    error TEXT,
    results TEXT NOT NULL DEFAULT '[]',
    log TEXT NOT NULL DEFAULT '[]',
    lease TEXT,
    share_token TEXT NOT NULL,
    idem_key TEXT,
    request_hash TEXT,
    input_sha256 TEXT,
    options_hash TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idem ON jobs(owner, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created_at);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner, created_at);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    url TEXT NOT NULL,
    event TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    created_at REAL NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS webhooks_due ON webhooks(state, next_at);
CREATE TABLE IF NOT EXISTS stage_stats (stage TEXT PRIMARY KEY, count INTEGER NOT NULL, sum_s REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


_BUMP = "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1"


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request."""


@dataclass(frozen=True)
class JobRow:
    """One job record, JSON columns decoded. Times are epoch seconds."""

    id: str
    owner: str
    status: str
    stage: str | None
    progress: float
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    expires_at: float | None
    attempts: int
    source: dict[str, Any]
    options: dict[str, Any]
    limits: dict[str, Any]
    webhook_url: str | None
    error: dict[str, Any] | None
    results: list[dict[str, Any]]
    log: list[dict[str, Any]]
    lease: str | None
    share_token: str
    idem_key: str | None
    request_hash: str | None
    input_sha256: str | None
    options_hash: str | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


_JSON_COLUMNS = {"source", "options", "limits", "error", "results", "log"}


def _asdict(r: sqlite3.Row) -> dict[str, Any]:
    return dict(zip(r.keys(), tuple(r), strict=True))


def _row(r: sqlite3.Row) -> JobRow:
    d = _asdict(r)
    for k in _JSON_COLUMNS:
        d[k] = json.loads(d[k]) if d[k] is not None else None
    return JobRow(**d)


@dataclass(frozen=True)
class NewJob:
    """What the API knows about a job when it accepts it."""

    owner: str
    source: Mapping[str, Any]
    options: Mapping[str, Any]
    options_hash: str
    limits: Mapping[str, Any] = field(default_factory=dict)
    webhook_url: str | None = None
    idem_key: str | None = None
    request_hash: str | None = None
    input_sha256: str | None = None
    job_id: str | None = None


def new_job_id() -> str:
    """An unguessable job id (128 random bits, URL-safe)."""
    return "job_" + secrets.token_urlsafe(16)


class JobStore:
    """Thread-safe access to the job database (one SQLite connection per thread).

    Args:
        path: the SQLite file (created with its tables if missing).
        retention_s: finished jobs expire this long after they finish.
    """

    def __init__(self, path: Path, *, retention_s: float = 7 * 24 * 3600.0) -> None:
        self.path = path
        self.retention_s = retention_s
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn().executescript(_SCHEMA)

    # -- plumbing ---------------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def ping(self) -> bool:
        return bool(self._conn().execute("SELECT 1").fetchone()[0] == 1)

    # -- API side ---------------------------------------------------------------------------------

    def create(self, job: NewJob) -> tuple[JobRow, bool]:
        """Insert a queued job; returns ``(row, created)``.

        With an idempotency key already used by the same owner, returns the earlier job and
        ``created=False`` when the request hash matches.

        Raises:
            IdempotencyConflict: the key was used with a different request.
        """
        now = time.time()
        job_id = job.job_id or new_job_id()
        with self._tx() as db:
            if job.idem_key is not None:
                prev = db.execute(
                    "SELECT * FROM jobs WHERE owner = ? AND idem_key = ?", (job.owner, job.idem_key)
                ).fetchone()
                if prev is not None:
                    if prev["request_hash"] != job.request_hash:
                        raise IdempotencyConflict(job.idem_key)
                    return _row(prev), False
            db.execute(
                "INSERT INTO jobs (id, owner, status, stage, progress, created_at, updated_at, source,"
                " options,"
                " limits, webhook_url, share_token, idem_key, request_hash, input_sha256, options_hash)"
                " VALUES (?, ?, 'queued', 'queued', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    job.owner,
                    now,
                    now,
                    json.dumps(dict(job.source)),
                    json.dumps(dict(job.options)),
                    json.dumps(dict(job.limits)),
                    job.webhook_url,
                    secrets.token_urlsafe(24),
                    job.idem_key,
                    job.request_hash,
                    job.input_sha256,
                    job.options_hash,
                ),
            )
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _row(row), True

    def get(self, job_id: str, owner: str | None = None) -> JobRow | None:
        """The job, or None if it does not exist or belongs to another owner."""
        r = self._conn().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if r is None or (owner is not None and r["owner"] != owner):
            return None
        return _row(r)

    def list_jobs(self, owner: str, *, limit: int, offset: int) -> tuple[list[JobRow], int]:
        """The owner's jobs, newest first, and their total count."""
        db = self._conn()
        rows = db.execute(
            "SELECT * FROM jobs WHERE owner = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            (owner, limit, offset),
        ).fetchall()
        count = db.execute("SELECT COUNT(*) FROM jobs WHERE owner = ?", (owner,)).fetchone()[0]
        return [_row(r) for r in rows], int(count)

    def queue_length(self, owner: str | None = None) -> int:
        if owner is None:
            q = self._conn().execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued'")
        else:
            q = self._conn().execute(
                "SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND owner = ?", (owner,)
            )
        return int(q.fetchone()[0])

    def counts_by_status(self) -> dict[str, int]:
        rows = self._conn().execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def cancel(self, job_id: str) -> JobRow | None:
        """Mark a queued or running job canceled (the supervisor stops its worker)."""
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET status = 'canceled', finished_at = ?, updated_at = ?, expires_at = ?,"
                " error = ? WHERE id = ? AND status IN ('queued', 'running')",
                (
                    now,
                    now,
                    now + self.retention_s,
                    json.dumps(canceled_error(job_id)),
                    job_id,
                ),
            )
            if cur.rowcount:
                self._finished(db, job_id, "canceled")
            r = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _row(r) if r else None

    def delete(self, job_id: str) -> bool:
        with self._tx() as db:
            db.execute("DELETE FROM webhooks WHERE job_id = ? AND state = 'pending'", (job_id,))
            return db.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0

    def find_cached(self, owner: str, input_sha256: str, options_hash: str, exclude: str) -> JobRow | None:
        """A succeeded job of ``owner`` with the same input bytes and options."""
        r = (
            self._conn()
            .execute(
                "SELECT * FROM jobs WHERE owner = ? AND input_sha256 = ? AND options_hash = ?"
                " AND status = 'succeeded'"
                " AND id != ? ORDER BY finished_at DESC LIMIT 1",
                (owner, input_sha256, options_hash, exclude),
            )
            .fetchone()
        )
        return _row(r) if r else None

    # -- worker side ------------------------------------------------------------------------------

    def claim(self, lease: str) -> JobRow | None:
        """Atomically take the oldest queued job for the worker holding ``lease``."""
        now = time.time()
        with self._tx() as db:
            r = db.execute(
                "SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at, id LIMIT 1"
            ).fetchone()
            if r is None:
                return None
            db.execute(
                "UPDATE jobs SET status = 'running', lease = ?, attempts = attempts + 1, started_at = ?,"
                " updated_at = ?, stage = 'starting', progress = 0, error = NULL WHERE id = ?",
                (lease, now, now, r["id"]),
            )
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (r["id"],)).fetchone()
        return _row(row)

    def progress(self, job_id: str, lease: str, stage: str, progress: float) -> bool:
        """Record progress; False when the worker no longer owns the job (canceled, re-queued)."""
        cur = self._conn().execute(
            "UPDATE jobs SET stage = ?, progress = ?, updated_at = ?"
            " WHERE id = ? AND lease = ? AND status = 'running'",
            (stage, min(max(progress, 0.0), 1.0), time.time(), job_id, lease),
        )
        return cur.rowcount > 0

    def set_input_sha256(self, job_id: str, lease: str, sha256: str) -> None:
        self._conn().execute(
            "UPDATE jobs SET input_sha256 = ? WHERE id = ? AND lease = ?", (sha256, job_id, lease)
        )

    def succeed(
        self, job_id: str, lease: str, results: Sequence[Mapping[str, Any]], log: Sequence[Mapping[str, Any]]
    ) -> bool:
        return self._finish(job_id, lease, "succeeded", None, results, log)

    def fail(
        self, job_id: str, lease: str, error: Mapping[str, Any], log: Sequence[Mapping[str, Any]] = ()
    ) -> bool:
        return self._finish(job_id, lease, "failed", error, (), log)

    def _finish(
        self,
        job_id: str,
        lease: str,
        status: str,
        error: Mapping[str, Any] | None,
        results: Sequence[Mapping[str, Any]],
        log: Sequence[Mapping[str, Any]],
    ) -> bool:
        now = time.time()
        with self._tx() as db:
            stage_sql = "progress = 1.0, stage = 'done'" if status == "succeeded" else "stage = 'failed'"
            cur = db.execute(
                f"UPDATE jobs SET status = ?, error = ?, results = ?, log = ?, {stage_sql}, finished_at = ?,"
                " updated_at = ?, expires_at = ?, lease = NULL"
                " WHERE id = ? AND lease = ? AND status = 'running'",
                (
                    status,
                    json.dumps(dict(error)) if error else None,
                    json.dumps([dict(r) for r in results]),
                    json.dumps([dict(e) for e in log]),
                    now,
                    now,
                    now + self.retention_s,
                    job_id,
                    lease,
                ),
            )
            if cur.rowcount == 0:
                return False
            self._finished(db, job_id, status)
            for entry in log:
                db.execute(
                    "INSERT INTO stage_stats (stage, count, sum_s) VALUES (?, 1, ?)"
                    " ON CONFLICT(stage) DO UPDATE"
                    " SET count = count + 1, sum_s = sum_s + excluded.sum_s",
                    (entry["stage"], float(entry["duration_s"])),
                )
        return True

    def _finished(self, db: sqlite3.Connection, job_id: str, status: str) -> None:
        """Bookkeeping inside the transaction that finishes a job: counter and webhook event."""
        db.execute(
            _BUMP,
            (f"jobs_{status}",),
        )
        r = db.execute("SELECT owner, webhook_url FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if r is not None and r["webhook_url"]:
            now = time.time()
            db.execute(
                "INSERT INTO webhooks (id, job_id, owner, url, event, next_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    "msg_" + secrets.token_urlsafe(16),
                    job_id,
                    r["owner"],
                    r["webhook_url"],
                    f"job.{status}",
                    now,
                    now,
                ),
            )

    # -- supervisor side --------------------------------------------------------------------------

    def release(self, lease: str, reason: str, max_attempts: int) -> list[tuple[str, str]]:
        """The worker holding ``lease`` died: re-queue its running job, or fail it after ``max_attempts``.

        Returns:
            ``(job_id, new_status)`` for each job released.
        """
        now = time.time()
        out: list[tuple[str, str]] = []
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, attempts FROM jobs WHERE lease = ? AND status = 'running'", (lease,)
            ).fetchall()
            for r in rows:
                if r["attempts"] < max_attempts:
                    db.execute(
                        "UPDATE jobs SET status = 'queued', stage = 'queued', progress = 0, lease = NULL,"
                        " updated_at = ? WHERE id = ?",
                        (now, r["id"]),
                    )
                    out.append((r["id"], "queued"))
                else:
                    error = worker_lost_error(reason, r["attempts"])
                    db.execute(
                        "UPDATE jobs SET status = 'failed', stage = 'failed', lease = NULL, error = ?,"
                        " finished_at = ?, updated_at = ?, expires_at = ? WHERE id = ?",
                        (json.dumps(error), now, now, now + self.retention_s, r["id"]),
                    )
                    self._finished(db, r["id"], "failed")
                    out.append((r["id"], "failed"))
            db.execute("UPDATE jobs SET lease = NULL WHERE lease = ?", (lease,))
        return out

    def running_leases(self) -> list[str]:
        """Leases of running jobs (at start-up these belong to workers of a previous server)."""
        rows = self._conn().execute(
            "SELECT DISTINCT lease FROM jobs WHERE status = 'running' AND lease IS NOT NULL"
        )
        return [r[0] for r in rows.fetchall()]

    def stale_leases(self) -> list[tuple[str, str]]:
        """``(job_id, lease)`` of finished (canceled) jobs whose worker still holds them."""
        rows = self._conn().execute(
            "SELECT id, lease FROM jobs WHERE status = 'canceled' AND lease IS NOT NULL"
        )
        return [(r[0], r[1]) for r in rows.fetchall()]

    def clear_lease(self, job_id: str) -> None:
        self._conn().execute("UPDATE jobs SET lease = NULL WHERE id = ?", (job_id,))

    def overdue(self, timeout_s: float) -> list[tuple[str, str]]:
        rows = self._conn().execute(
            "SELECT id, lease FROM jobs WHERE status = 'running' AND lease IS NOT NULL AND started_at < ?",
            (time.time() - timeout_s,),
        )
        return [(r[0], r[1]) for r in rows.fetchall()]

    def expired(self, now: float | None = None) -> list[str]:
        rows = self._conn().execute(
            "SELECT id FROM jobs WHERE expires_at IS NOT NULL AND expires_at < ? AND lease IS NULL",
            (now if now is not None else time.time(),),
        )
        return [r[0] for r in rows.fetchall()]

    # -- webhooks ---------------------------------------------------------------------------------

    def due_webhooks(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = (
            self._conn()
            .execute(
                "SELECT * FROM webhooks WHERE state = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?",
                (time.time(), limit),
            )
            .fetchall()
        )
        return [_asdict(r) for r in rows]

    def webhook_result(
        self, msg_id: str, *, delivered: bool, error: str | None, retry_at: float | None
    ) -> None:
        state = "delivered" if delivered else ("pending" if retry_at is not None else "failed")
        with self._tx() as db:
            db.execute(
                "UPDATE webhooks SET state = ?, attempts = attempts + 1, next_at = COALESCE(?, next_at),"
                " last_error = ? WHERE id = ?",
                (state, retry_at, error, msg_id),
            )
            if state != "pending":
                db.execute(
                    _BUMP,
                    (f"webhooks_{state}",),
                )

    def webhook_states(self, job_id: str) -> list[dict[str, Any]]:
        rows = self._conn().execute("SELECT * FROM webhooks WHERE job_id = ?", (job_id,)).fetchall()
        return [_asdict(r) for r in rows]

    # -- metrics ----------------------------------------------------------------------------------

    def stage_stats(self) -> dict[str, tuple[int, float]]:
        rows = self._conn().execute("SELECT stage, count, sum_s FROM stage_stats").fetchall()
        return {r[0]: (int(r[1]), float(r[2])) for r in rows}

    def counters(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self._conn().execute("SELECT name, value FROM counters").fetchall()}
