"""All routers of the versioned API."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.routes import audit, captions, foley, health, jobs

api_router = APIRouter(prefix="/v1")
api_router.include_router(jobs.router)
api_router.include_router(audit.router)
api_router.include_router(captions.router)
api_router.include_router(foley.router)
api_router.include_router(health.webhooks_router)
