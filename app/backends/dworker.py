"""``soundcue worker``: one worker process of the distributed backend, on any machine that reaches the
PostgreSQL job store, the Redis queue and the shared volume (see :mod:`app.backends.distributed`).

The process loads the models once, then runs ``worker_threads`` jobs at a time from the queue with
Dramatiq's :class:`dramatiq.Worker` (taking a message only when a thread is free, so an idle worker on
another machine is never starved by this one's backlog). Beside it: a heartbeat thread (the process's
lease in the ``workers`` table) and the maintenance loop.

SIGTERM or SIGINT: the jobs this process runs go back to the queue at once (the run counts as one
attempt) and the process exits; another worker takes them.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, cast

import dramatiq

from app.backends.base import StoreUnavailable
from app.backends.distributed import DramatiqQueue, Maintenance, heartbeat_interval_s
from app.backends.postgres import PostgresJobStore
from app.backends.volume import VolumeResults
from app.core.config import Settings

log = logging.getLogger("soundcue.worker")

#: Redis polling of an idle worker: at most this long (ms) between two looks at the queue.
IDLE_POLL_MS = 500
#: Pause between two tries to hand a job back while the database is unreachable (s).
HAND_BACK_RETRY_S = 2.0


def load_analyzer(path: str) -> Callable[..., Any]:
    """The analysis function named ``module:function`` (``Settings.analyzer``).

    Raises:
        ImportError, AttributeError: no such module or function.
        TypeError: the name is not a function.
    """
    module, _, name = path.partition(":")
    fn = getattr(importlib.import_module(module), name)
    if not callable(fn):
        raise TypeError(f"{path} is not callable")
    return cast(Callable[..., Any], fn)


class DistributedWorker:
    """One worker process: its lease, its job handler, heartbeats and shutdown.

    Args:
        settings: service settings with ``backend="distributed"``.
        threads: jobs run at once (default ``settings.worker_threads``).

    Raises:
        StoreUnavailable: the job database cannot be reached.
    """

    def __init__(self, settings: Settings, threads: int | None = None) -> None:
        assert settings.database_url is not None
        self.settings = settings
        self.threads = threads or settings.worker_threads
        self.lease = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.store = PostgresJobStore(settings.database_url, retention_s=settings.retention_s,
                                      max_connections=self.threads + 3)
        self.results = VolumeResults(settings.jobs_dir)
        self.queue = DramatiqQueue(settings, self.handle)
        self.maintenance = Maintenance(self.store, self.queue, self.results, settings)
        self.analyze = load_analyzer(settings.analyzer)
        self.ready = False
        self.stopping = threading.Event()

    # -- jobs -------------------------------------------------------------------------------------

    def handle(self, job_id: str) -> None:
        """Run ``job_id`` if it is still queued (a duplicate or late message is dropped)."""
        from app.worker import run_job

        extra = {"job_id": job_id, "worker": self.lease}
        if self.stopping.is_set():
            raise RuntimeError("worker stopping")  # Dramatiq retries the message elsewhere
        job = self.store.claim_job(job_id, self.lease)
        if job is None:
            log.info("message for a job that is not queued (running elsewhere, finished or gone): dropped",
                     extra=extra)
            return
        try:
            status = run_job(self.store, self.settings, job, self.lease, self.analyze)
        except StoreUnavailable as e:  # the database went away mid-job: the job must not stay ours
            log.warning("job database unreachable mid-job (%s); handing the job back", e, extra=extra)
            self._hand_back(job_id)
            return
        if status == "aborted":
            current = self.store.get(job_id)
            if current is not None and current.status == "canceled" and current.lease == self.lease:
                self.results.remove_work(job_id)
                self.store.clear_lease(job_id)
                log.info("job canceled: stopped, files removed", extra=extra)

    def _hand_back(self, job_id: str) -> None:
        """Re-queue ``job_id`` (not failed for this), retrying until the database answers again: while this
        process sends heartbeats nobody else would release it."""
        while not self.stopping.is_set():
            try:
                for _, status in self.store.release(self.lease, "the job database was unreachable",
                                                    self.settings.max_attempts + 1, job_id=job_id):
                    if status == "queued":
                        self.queue.enqueue(job_id)
                return
            except StoreUnavailable:
                self.stopping.wait(HAND_BACK_RETRY_S)

    # -- process ----------------------------------------------------------------------------------

    def _beat(self) -> None:
        while not self.stopping.wait(heartbeat_interval_s(self.settings)):
            try:
                self.store.heartbeat(self.lease, host=socket.gethostname(), pid=os.getpid(), threads=self.threads,
                                     ready=self.ready)
            except Exception as e:
                log.warning("heartbeat not recorded: %s", e, extra={"worker": self.lease})

    def _warm_up(self) -> None:
        """Load the real models once before taking jobs (a pipeline of stand-ins has none to load)."""
        if not self.settings.analyzer.startswith("captioning."):
            return
        try:
            from captioning.pipeline import load_analyzers

            load_analyzers()
        except Exception:
            log.exception("model warm-up failed; jobs will report the error", extra={"worker": self.lease})

    def run(self) -> int:
        """Take jobs until SIGTERM/SIGINT; returns the exit status."""
        self.store.heartbeat(self.lease, host=socket.gethostname(), pid=os.getpid(), threads=self.threads,
                             ready=False)
        threading.Thread(target=self._beat, name="heartbeat", daemon=True).start()
        self._warm_up()
        worker = dramatiq.Worker(self.queue.broker, worker_threads=self.threads, worker_timeout=IDLE_POLL_MS)
        worker.queue_prefetch = self.threads  # take a message only when a thread is free
        worker.start()
        self.ready = True
        self.store.heartbeat(self.lease, host=socket.gethostname(), pid=os.getpid(), threads=self.threads,
                             ready=True)
        self.maintenance.start()
        log.info("worker ready: %d thread(s), queue %s", self.threads, self.settings.queue_name,
                 extra={"worker": self.lease})

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.stopping.wait()
        self.give_back()
        logging.shutdown()
        os._exit(0)  # the job threads cannot be interrupted; their jobs are already back in the queue

    def give_back(self) -> None:
        """Put this process's running jobs back in the queue and leave the ``workers`` table."""
        try:
            released = self.store.release(self.lease, "the worker was stopped", self.settings.max_attempts + 1)
            for job_id, status in released:
                log.info("worker stopping: job handed back (%s)", status, extra={"job_id": job_id})
                if status == "queued":
                    self.queue.enqueue(job_id)
            self.store.forget_worker(self.lease)
        except Exception as e:  # the maintenance loop of another process releases them instead
            log.warning("could not hand the jobs back: %s", e, extra={"worker": self.lease})


def worker_main(settings: Settings, threads: int | None = None) -> int:
    """Run one distributed worker process until it is stopped; returns an exit status (2: cannot start)."""
    from app.core import logging as app_logging

    app_logging.configure(settings.log_format, settings.log_level)
    try:
        worker = DistributedWorker(settings, threads)
    except (StoreUnavailable, ImportError, AttributeError, TypeError) as e:
        sys.stderr.write(f"soundcue: error: the worker cannot start: {e}\n")
        return 2
    return worker.run()

