"""The distributed backend: PostgreSQL job records, a Dramatiq queue on Redis, a shared volume for files.

Flow of a job: the API stores it (``queued``) in PostgreSQL, its input already on the shared volume, then
sends its id as a Dramatiq message; a ``soundcue worker`` process (:mod:`app.backends.dworker`, on any
machine) receives the message, *claims* the job in PostgreSQL (only a queued job can be claimed: a message
delivered twice runs the job once), runs the same :func:`app.worker.run_job` as the embedded workers and
writes its results to the volume. PostgreSQL stays the truth; Redis only carries ids.

A worker killed mid-job (SIGKILL, a machine lost) stops sending heartbeats; after ``worker_lost_after_s``
the :class:`Maintenance` loop (in every API and worker process; each step is one transaction, so several
loops never double up) re-queues the job and sends it again, or fails it with a ``worker-lost`` problem
once it has had ``max_attempts`` runs. The same loop fails jobs past ``job_timeout_s`` (their worker stops
at its next progress write), sends again the jobs whose message was lost (a Redis restart), and deletes
expired jobs with their files. Cancellation is cooperative: the worker's next progress write (every 0.2 s
at most) finds the job canceled and stops.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

from app.backends.postgres import PostgresJobStore
from app.backends.volume import VolumeResults
from app.core.config import Settings
from app.job_errors import job_timeout_error

log = logging.getLogger("soundcue.distributed")

ACTOR_NAME = "soundcue_run_job"
#: Redis key prefix of the queues (Dramatiq's namespace).
NAMESPACE = "soundcue"
#: A message whose handling raised (the database unreachable at the claim) is retried this often, with
#: Dramatiq's exponential backoff between MIN and MAX (ms); the job itself is not failed by that.
MESSAGE_RETRIES, MIN_BACKOFF_MS, MAX_BACKOFF_MS = 8, 1000, 60000


def heartbeat_interval_s(settings: Settings) -> float:
    """Heartbeats are sent four times within ``worker_lost_after_s``."""
    return settings.worker_lost_after_s / 4


def maintenance_interval_s(settings: Settings) -> float:
    """How often each process runs :class:`Maintenance` (a third of the loss delay, at most 5 s)."""
    return min(5.0, settings.worker_lost_after_s / 3)


def make_broker(settings: Settings) -> RedisBroker:
    """The Dramatiq broker on ``settings.redis_url`` (nothing is sent until a message is).

    Dramatiq's own dead-worker heartbeat matches ``worker_lost_after_s``; its message redelivery is a
    safety net under :class:`Maintenance` (duplicates are dropped by the claim).
    """
    assert settings.redis_url is not None
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=settings.redis_url,
        namespace=NAMESPACE,
        heartbeat_timeout=int(settings.worker_lost_after_s * 1000),
        middleware=[Retries(max_retries=MESSAGE_RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS)],
    )


def declare_actor(broker: RedisBroker, settings: Settings, fn: Callable[[str], None]) -> dramatiq.Actor[[str], None]:
    """The one actor: ``fn(job_id)`` on ``settings.queue_name``."""
    return dramatiq.actor(broker=broker, actor_name=ACTOR_NAME, queue_name=settings.queue_name,
                          max_retries=MESSAGE_RETRIES)(fn)


def _not_here(job_id: str) -> None:  # the API process only sends messages
    raise RuntimeError("jobs run in soundcue worker processes")


class DramatiqQueue:
    """:class:`app.backends.base.JobQueue` on Redis: one Dramatiq message (the job id) per job to run.

    Args:
        settings: ``redis_url``, ``queue_name``, ``worker_lost_after_s``.
        handler: what a worker runs for a message (default: the API side, which only sends).
    """

    def __init__(self, settings: Settings, handler: Callable[[str], None] = _not_here) -> None:
        self.settings = settings
        self.broker = make_broker(settings)
        self.actor = declare_actor(self.broker, settings, handler)

    def enqueue(self, job_id: str) -> None:
        """Send the job's id. When Redis cannot be reached the job stays queued in the database and
        :class:`Maintenance` sends it again once Redis is back (so the API still answers 202)."""
        try:
            self.actor.send(job_id)
        except redis.RedisError as e:
            log.warning("could not queue the job in Redis (%s); it will be sent again", e, extra={"job_id": job_id})

    def pending(self) -> int:
        """Messages waiting in Redis (not yet taken by a worker)."""
        return int(self.broker.do_qsize(self.settings.queue_name))

    def close(self) -> None:
        self.broker.close()


class Maintenance:
    """The periodic bookkeeping of the distributed backend (see the module docstring).

    Args:
        store: the job records.
        queue: to send re-queued jobs again.
        results: the shared volume (files of canceled and expired jobs are deleted).
        settings: ``worker_lost_after_s``, ``max_attempts``, ``job_timeout_s``, ``requeue_after_s``.
    """

    def __init__(self, store: PostgresJobStore, queue: DramatiqQueue, results: VolumeResults,
                 settings: Settings) -> None:
        self.store = store
        self.queue = queue
        self.results = results
        self.settings = settings
        self.lost_workers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maintenance", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(maintenance_interval_s(self.settings)):
            try:
                self.run_once()
            except Exception as e:  # the database or Redis away for a while: try again next time
                log.warning("maintenance skipped: %s", e)

    def run_once(self) -> None:
        """One pass: lost workers, overdue jobs, lost messages, expired jobs."""
        s, store = self.settings, self.store
        dead = set(store.dead_leases(s.worker_lost_after_s))
        if dead:
            for job_id, lease in store.stale_leases():  # canceled jobs whose worker died before cleaning up
                if lease in dead:
                    self.results.remove_work(job_id)
                    store.clear_lease(job_id)
            for lease in dead:
                reason = f"the worker stopped answering (no heartbeat for {s.worker_lost_after_s:.0f} s)"
                released = store.release(lease, reason, s.max_attempts)
                self.lost_workers += bool(released)  # another process's loop may have released it first
                for job_id, status in released:
                    log.warning("worker %s lost during the job; job is now %s", lease, status,
                                extra={"job_id": job_id})
                    if status == "queued":
                        self.queue.enqueue(job_id)
        for job_id, lease in store.overdue(s.job_timeout_s):
            store.fail(job_id, lease, job_timeout_error(s.job_timeout_s))
        try:
            empty = self.queue.pending() == 0
        except redis.RedisError as e:  # nothing to send with anyway; the other steps go on
            log.warning("maintenance: the queue cannot be reached: %s", e)
            empty = False
        if empty:
            for job_id in store.queued_before(time.time() - s.requeue_after_s):
                log.warning("job queued for %.0f s with no message in the queue: sent again", s.requeue_after_s,
                            extra={"job_id": job_id})
                self.queue.enqueue(job_id)
        expired = store.expired()
        for job_id in expired:
            self.results.remove(job_id)
            store.delete(job_id)
        if expired:
            log.info("retention: deleted %d expired jobs", len(expired))
        store.forget_dead_workers(max(3600.0, 10 * s.worker_lost_after_s))


class RemoteWorkers:
    """:class:`app.backends.base.Runner` of the API process: the ``soundcue worker`` processes it cannot start
    but watches (their heartbeats), plus the maintenance loop.

    Args:
        store: the job records (heartbeats).
        maintenance: the loop to run in this process.
        settings: ``worker_lost_after_s``.
    """

    def __init__(self, store: PostgresJobStore, maintenance: Maintenance, settings: Settings) -> None:
        self.store = store
        self.maintenance = maintenance
        self.settings = settings

    def start(self) -> None:
        self.maintenance.start()

    def stop(self) -> None:
        self.maintenance.stop()

    def _live(self) -> list[dict[str, Any]]:
        return self.store.live_workers(self.settings.worker_lost_after_s)

    @property
    def ready(self) -> int:
        return sum(1 for w in self._live() if w["ready"])

    @property
    def restarts(self) -> int:
        return self.maintenance.lost_workers

    @property
    def capacity(self) -> int:
        return max(1, sum(int(w["threads"]) for w in self._live() if w["ready"]))
