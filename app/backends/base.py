"""The job backend's seams: job repository, queue, result store and runner (issue 14).

The routes, the webhook dispatcher and the metrics talk to these four interfaces only; two backends
implement them (``SOUNDCUE_BACKEND``):

* **embedded** (the default, nothing to install): the SQLite :class:`app.store.JobStore` is both the
  repository and the queue (workers poll it with leases), :class:`app.worker.WorkerPool` runs local worker
  processes, results sit in ``data_dir/jobs`` on local disk (:mod:`app.backends.embedded`);
* **distributed**: PostgreSQL holds the job records (:mod:`app.backends.postgres`), a Dramatiq queue on
  Redis carries job ids to ``soundcue worker`` processes on any machine, results sit on a volume every
  machine mounts at ``data_dir`` (:mod:`app.backends.distributed`).

One job contract on both: job ids, status and progress, cancellation, retries of a job whose worker died
(at most ``max_attempts`` runs), webhooks, idempotency keys and retention. The shape follows httpx's
``BaseTransport``: one small interface per seam, each with its implementations chosen by settings.

Errors: :class:`StoreUnavailable` when the repository cannot be reached (the API answers 503 with
``Retry-After``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from app.schemas import JobOptions
from app.store import JobRow, NewJob


class StoreUnavailable(RuntimeError):
    """The job repository (database) cannot be reached right now; the request may be retried later."""


def options_hash(options: JobOptions, limits: Mapping[str, Any], name: str | None = None) -> str:
    """Hash of everything that changes a job's results (the key of the result cache), the media's name
    included: the results name the media as the user did (events.json ``media.path``, haptics.json
    ``source``). Returns 64 hex digits (SHA-256)."""
    relevant = options.model_dump(mode="json", exclude={"enable_cache", "detailed_log"})
    text = json.dumps({"options": relevant, "limits": dict(limits), "name": name}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class JobRepository(Protocol):
    """The durable record of every job, its webhook deliveries and the service counters.

    Every write of a worker is conditional on its *lease* (a token naming the worker process): a job that was
    canceled, re-queued or handed to another worker cannot be overwritten by a stale worker. Times are epoch
    seconds. Implementations: :class:`app.store.JobStore` (SQLite) and
    :class:`app.backends.postgres.PostgresJobStore`.
    """

    retention_s: float

    # API side
    def ping(self) -> bool: ...
    def close(self) -> None: ...
    def create(self, job: NewJob) -> tuple[JobRow, bool]: ...
    def get(self, job_id: str, owner: str | None = None) -> JobRow | None: ...
    def list_jobs(self, owner: str, *, limit: int, offset: int) -> tuple[list[JobRow], int]: ...
    def queue_length(self, owner: str | None = None) -> int: ...
    def counts_by_status(self) -> dict[str, int]: ...
    def cancel(self, job_id: str) -> JobRow | None: ...
    def delete(self, job_id: str) -> bool: ...
    def find_cached(self, owner: str, input_sha256: str, options_hash: str, exclude: str) -> JobRow | None: ...

    # worker side (conditional on the lease)
    def progress(self, job_id: str, lease: str, stage: str, progress: float) -> bool: ...
    def set_input_sha256(self, job_id: str, lease: str, sha256: str) -> None: ...
    def succeed(self, job_id: str, lease: str, results: Sequence[Mapping[str, Any]],
                log: Sequence[Mapping[str, Any]]) -> bool: ...
    def fail(self, job_id: str, lease: str, error: Mapping[str, Any],
             log: Sequence[Mapping[str, Any]] = ()) -> bool: ...

    # supervision
    def release(self, lease: str, reason: str, max_attempts: int) -> list[tuple[str, str]]: ...
    def running_leases(self) -> list[str]: ...
    def stale_leases(self) -> list[tuple[str, str]]: ...
    def clear_lease(self, job_id: str) -> None: ...
    def overdue(self, timeout_s: float) -> list[tuple[str, str]]: ...
    def expired(self, now: float | None = None) -> list[str]: ...

    # webhooks and metrics
    def due_webhooks(self, limit: int = 20) -> list[dict[str, Any]]: ...
    def webhook_result(self, msg_id: str, *, delivered: bool, error: str | None, retry_at: float | None) -> None: ...
    def webhook_states(self, job_id: str) -> list[dict[str, Any]]: ...
    def stage_stats(self) -> dict[str, tuple[int, float]]: ...
    def counters(self) -> dict[str, int]: ...


class JobQueue(Protocol):
    """Hands a stored, queued job to the workers. The repository stays the truth: a job id delivered twice, or
    for a job that is no longer queued, is dropped by the worker's conditional claim."""

    def enqueue(self, job_id: str) -> None:
        """Make ``job_id`` (already stored with status ``queued``) available to a worker."""
        ...

    def close(self) -> None: ...


class ResultStore(Protocol):
    """Where a job's input and result files live: a directory per job, visible to the API and every worker
    (local disk for the embedded backend; a shared volume mounted at the same path on every machine for the
    distributed one)."""

    def job_dir(self, job_id: str) -> Path:
        """The job's folder: ``input`` (deleted once the job ends) and ``results/``."""
        ...

    def input_path(self, job_id: str) -> Path: ...

    def result_path(self, job_id: str, name: str) -> Path:
        """The file of result ``name`` (``captions.vtt``, ``hls/captions.m3u8``); it may not exist."""
        ...

    def adopt_input(self, job_id: str, staged: Path) -> None:
        """Move an uploaded file (staged under ``data_dir``) into place as the job's input, before the job
        record exists (a worker never sees a job without its input)."""
        ...

    def remove(self, job_id: str) -> None:
        """Delete everything of the job (missing files are fine)."""
        ...

    def remove_work(self, job_id: str) -> None:
        """Delete the input and results of a canceled job, keeping nothing half-written."""
        ...


class Runner(Protocol):
    """What runs the jobs, seen from the API process: local worker processes it supervises (embedded) or
    remote ``soundcue worker`` processes it only watches (distributed)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...

    @property
    def ready(self) -> int:
        """Workers ready to take jobs now."""
        ...

    @property
    def restarts(self) -> int:
        """Workers lost (and, for local workers, restarted) since the start."""
        ...

    @property
    def capacity(self) -> int:
        """Jobs that can run at once (for the Retry-After estimate)."""
        ...
