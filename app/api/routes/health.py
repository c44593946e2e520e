"""Liveness (``/healthz``), readiness (``/readyz``) and the per-key webhook secret."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import OwnerDep, StateDep
from app.schemas import Health, WebhookSecret
from app.webhooks import owner_secret

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Not ready: no worker has loaded the models yet"}},
    summary="The service can take jobs: store reachable, at least one worker ready",
)
def readyz(state: StateDep) -> JSONResponse:
    checks: dict[str, object] = {}
    try:
        checks["store"] = state.store.ping()
    except Exception as e:  # a readiness probe reports, it does not fail
        checks["store"] = False
        checks["store_error"] = type(e).__name__
    runner = state.runner
    ready = 0
    # the distributed runner reads worker heartbeats from the job database: not asked again when it is down
    if runner is not None and (checks["store"] or state.settings.backend == "embedded"):
        try:
            ready = runner.ready
        except Exception as e:
            checks["workers_error"] = type(e).__name__
    checks["workers_ready"] = ready
    checks["workers_configured"] = state.settings.workers if state.settings.backend == "embedded" else ready
    checks["backend"] = state.settings.backend
    ok = bool(checks["store"]) and (runner is None or ready > 0)
    health = Health(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(health.model_dump(mode="json"), status_code=200 if ok else 503)


webhooks_router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@webhooks_router.get("/secret", response_model=WebhookSecret, summary="This key's webhook signing secret")
def webhook_secret(owner: OwnerDep, state: StateDep) -> WebhookSecret:
    """The Standard Webhooks secret that signs the webhooks of jobs created with this key."""
    return WebhookSecret(secret=owner_secret(state.webhook_master, owner))
