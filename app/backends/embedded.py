"""The embedded backend (the default: nothing to install): SQLite job store, local worker processes, local disk.

The SQLite :class:`app.store.JobStore` is the repository *and* the queue (idle workers claim the oldest
queued job with a lease), so :class:`PollingQueue` has nothing to do; :class:`LocalWorkers` is the
:class:`app.worker.WorkerPool` supervisor seen through the :class:`app.backends.base.Runner` interface.
"""

from __future__ import annotations

from app.core.config import Settings
from app.worker import WorkerPool


class PollingQueue:
    """:class:`app.backends.base.JobQueue` of the embedded backend: a stored queued job is already visible to
    the polling workers."""

    def enqueue(self, job_id: str) -> None:
        return None

    def close(self) -> None:
        return None


class LocalWorkers:
    """:class:`app.backends.base.Runner` over the local worker processes.

    Args:
        pool: the supervisor of the worker processes.
        settings: service settings (``workers``).
    """

    def __init__(self, pool: WorkerPool, settings: Settings) -> None:
        self.pool = pool
        self.settings = settings

    def start(self) -> None:
        self.pool.start()

    def stop(self) -> None:
        self.pool.stop()

    @property
    def ready(self) -> int:
        return self.pool.ready

    @property
    def restarts(self) -> int:
        return self.pool.restarts

    @property
    def capacity(self) -> int:
        return self.settings.workers
