"""Job backends behind four interfaces (:mod:`app.backends.base`), chosen by ``SOUNDCUE_BACKEND``.

:func:`open_backend` builds the one the settings name: ``embedded`` (the default) or ``distributed``.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.backends.base import JobQueue, JobRepository, ResultStore, Runner, StoreUnavailable, options_hash
from app.core.config import Settings

#: Connection pool size of one API process of the distributed backend.
API_CONNECTIONS = 16

__all__ = ["Backend", "JobQueue", "JobRepository", "ResultStore", "Runner", "StoreUnavailable", "open_backend",
           "options_hash"]


@dataclass
class Backend:
    """The four seams of one backend, as the API process uses them.

    Attributes:
        repository: the job records.
        queue: hands stored jobs to the workers.
        results: where inputs and results live.
        runner: the workers as the API sees them (None: the API only queues jobs).
    """

    repository: JobRepository
    queue: JobQueue
    results: ResultStore
    runner: Runner | None

    def close(self) -> None:
        """Stop the runner and close the connections."""
        if self.runner is not None:
            self.runner.stop()
        self.queue.close()
        self.repository.close()


def open_backend(settings: Settings, *, start_workers: bool = True) -> Backend:
    """Build (not start) the backend ``settings.backend`` names.

    Args:
        settings: service settings.
        start_workers: embedded: run local worker processes; distributed: run the maintenance loop in this
            process (False: the API only queues jobs).

    Raises:
        StoreUnavailable: the distributed job database cannot be reached.
    """
    from app.backends.volume import VolumeResults

    results = VolumeResults(settings.jobs_dir)
    if settings.backend == "distributed":
        from app.backends.distributed import DramatiqQueue, Maintenance, RemoteWorkers
        from app.backends.postgres import PostgresJobStore

        assert settings.database_url is not None
        # the API's thread pool serves up to 40 requests at once; each holds a connection only for its queries
        store = PostgresJobStore(settings.database_url, retention_s=settings.retention_s,
                                 max_connections=API_CONNECTIONS)
        queue = DramatiqQueue(settings)
        runner = RemoteWorkers(store, Maintenance(store, queue, results, settings), settings) if start_workers else None
        return Backend(repository=store, queue=queue, results=results, runner=runner)
    from app.backends.embedded import LocalWorkers, PollingQueue
    from app.store import JobStore
    from app.worker import WorkerPool

    sqlite = JobStore(settings.db_path, retention_s=settings.retention_s)
    pool = WorkerPool(settings, sqlite) if start_workers else None
    return Backend(repository=sqlite, queue=PollingQueue(), results=results,
                   runner=LocalWorkers(pool, settings) if pool is not None else None)
