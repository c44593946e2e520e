"""Prometheus metrics at ``/metrics`` (prometheus-client).

Job metrics are read from the job store at scrape time (a custom collector), so they are right across
worker processes and restarts: jobs by status, queue length, finished-job counters and per-stage
durations (a summary: count and total seconds). HTTP request counts and latencies are measured in the
API process.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from app.api.deps import ServiceState

STATUSES = ("queued", "running", "succeeded", "failed", "canceled")


class JobCollector(Collector):
    """Job and worker metrics, read from the store and the worker pool at each scrape."""

    def __init__(self, get_state: Callable[[], ServiceState | None]) -> None:
        self.get_state = get_state

    def collect(self) -> Iterator[Metric]:
        state = self.get_state()
        if state is None:
            return
        store = state.store
        counts = store.counts_by_status()
        jobs = GaugeMetricFamily("soundcue_jobs", "Jobs in the store by status.", labels=["status"])
        for status in STATUSES:
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs
        yield GaugeMetricFamily(
            "soundcue_queue_length", "Jobs waiting for a worker.", value=counts.get("queued", 0)
        )
        counters = store.counters()
        finished = CounterMetricFamily(
            "soundcue_jobs_finished", "Jobs finished since the store was created.", labels=["status"]
        )
        for status in ("succeeded", "failed", "canceled"):
            finished.add_metric([status], counters.get(f"jobs_{status}", 0))
        yield finished
        hooks = CounterMetricFamily(
            "soundcue_webhooks", "Webhook events by final outcome.", labels=["outcome"]
        )
        for outcome in ("delivered", "failed"):
            hooks.add_metric([outcome], counters.get(f"webhooks_{outcome}", 0))
        yield hooks
        stages = SummaryMetricFamily(
            "soundcue_stage_duration_seconds", "Wall time of each job stage.", labels=["stage"]
        )
        for stage, (count, total) in sorted(store.stage_stats().items()):
            stages.add_metric([stage], count_value=count, sum_value=total)
        yield stages
        runner = state.runner
        if runner is not None:
            yield GaugeMetricFamily(
                "soundcue_workers_ready", "Worker processes ready for jobs.", value=runner.ready
            )
            yield CounterMetricFamily(
                "soundcue_worker_restarts", "Worker processes lost (local ones restarted) since the start.",
                value=runner.restarts,
            )


def install(app: FastAPI) -> CollectorRegistry:
    """Add request metrics middleware and the ``/metrics`` route; returns the app's registry."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(JobCollector(lambda: getattr(app.state, "soundcue", None)))
    requests = Counter(
        "soundcue_http_requests",
        "HTTP requests by route and status.",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "soundcue_http_request_duration_seconds",
        "HTTP request latency by route.",
        ["method", "route"],
        registry=registry,
    )

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        requests.labels(request.method, route, str(response.status_code)).inc()
        latency.labels(request.method, route).observe(time.perf_counter() - t0)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return registry
