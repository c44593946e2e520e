"""The FastAPI application: settings, lifespan (the job backend of app/backends, webhooks), middleware, routers.

Run with ``soundcue serve`` or ``uvicorn --factory app.main:create_app``. Settings are validated when
the app is created, so a bad configuration stops the server before it listens.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from app import metrics, problems, web
from app.api.deps import ServiceState, key_hash
from app.api.main import api_router
from app.api.routes import health
from app.backends import open_backend
from app.core import logging as app_logging
from app.core.config import ConfigError, Settings, get_settings
from app.fetch import AddressPolicy, post_json
from app.noauth import NoAuthGuard
from app.schemas import AuditUploadForm, FoleyGenerate, JobCreate, JobUploadForm, ProblemDetail
from app.views import job_json
from app.webhooks import WebhookDispatcher, load_master_secret

log = logging.getLogger("soundcue.api")

DESCRIPTION = """\
soundcue finds the sound events of a video or audio file and returns them as SDH sound captions
(WebVTT, SRT), an event list (JSON) and haptic tracks. Submit a job, poll it, fetch its results.
Authenticate with `Authorization: Bearer <key>`; every error is `application/problem+json` (RFC 9457).
"""


def _version() -> str:
    try:
        return importlib.metadata.version("soundcue")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def _lock_data_dir(settings: Settings) -> int:
    """Hold an exclusive lock on the data directory: two servers must not share one job store."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.data_dir / "server.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        os.close(fd)
        raise ConfigError(f"another soundcue server is using {settings.data_dir}") from e
    return fd


def create_app(settings: Settings | None = None, *, start_workers: bool = True) -> FastAPI:
    """Build the service.

    Args:
        settings: validated settings; default: from the environment (:func:`get_settings`).
        start_workers: start the local worker processes (embedded backend) or the maintenance loop
            (distributed backend); False: the API only queues jobs.

    Raises:
        ConfigError: the environment holds an invalid configuration.
    """
    settings = settings or get_settings()
    app_logging.configure(settings.log_format, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Two servers must not share one embedded (SQLite) job store; API processes of the distributed backend
        # share theirs by design.
        lock = _lock_data_dir(settings) if settings.backend == "embedded" else None
        backend = open_backend(settings, start_workers=start_workers)
        master = load_master_secret(settings.webhook_secret, settings.data_dir)
        state = ServiceState(
            settings=settings,
            backend=backend,
            key_hashes=tuple(key_hash(k) for k in settings.api_keys),
            webhook_master=master,
        )
        policy = AddressPolicy(tuple(settings.url_allow_cidrs))
        dispatcher = WebhookDispatcher(
            backend.repository,
            master,
            render=lambda row: job_json(row, state.base),
            post=lambda url, body, headers: post_json(
                url, body, headers, policy=policy, timeout_s=settings.webhook_timeout_s
            ),
            attempts=settings.webhook_attempts,
            backoff_s=settings.webhook_backoff_s,
        )
        if backend.runner is not None:
            backend.runner.start()
        dispatcher.start()
        app.state.soundcue = state
        log.info(
            "soundcue ready: %s backend, %s, data in %s, auth %s",
            settings.backend,
            f"{settings.workers} worker(s)" if settings.backend == "embedded" else f"queue {settings.queue_name}",
            settings.data_dir,
            "off" if settings.no_auth else "on",
        )
        try:
            yield
        finally:
            dispatcher.stop()
            backend.close()
            if lock is not None:
                os.close(lock)

    app = FastAPI(title="soundcue", version=_version(), description=DESCRIPTION, lifespan=lifespan,
                  generate_unique_id_function=lambda route: route.name)
    problems.install(app)
    metrics.install(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-None-Match"],
        expose_headers=["Location", "ETag", "Retry-After", "Idempotent-Replayed", "Content-Location"],
        max_age=600,
    )
    if settings.no_auth:  # outermost: other sites in the user's browser must not use a keyless server
        app.add_middleware(NoAuthGuard, public_url=settings.public_url,
                           trusted_origins=tuple(o for o in settings.cors_origins if o != "*"))
    app.include_router(health.router)
    app.include_router(api_router)
    web.install(app, settings)
    _document_bodies(app)
    return app


def _document_bodies(app: FastAPI) -> None:
    """Add the request-body models that routes read by hand (JSON or multipart) to the OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (JobCreate, JobUploadForm, FoleyGenerate, AuditUploadForm, ProblemDetail):
            js = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(js.pop("$defs", {}))
            components[model.__name__] = js
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def __getattr__(name: str) -> Any:
    """``app.main:app`` for ``uvicorn app.main:app``: built on first access, not at import."""
    if name == "app":
        return create_app()
    raise AttributeError(name)
