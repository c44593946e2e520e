"""The web page served at ``/`` (issue 13): try soundcue, review its results and feel them.

Plain HTML, CSS and ES modules shipped in the package (``app/web/static/``, package data); nothing is
fetched from another site at run time. The page uses only the public API (``/v1/jobs`` with the user's key,
or a result's ``share_url``), plus ``GET /web/config.json``, which tells it what this server offers (whether a
key is needed, URL input, the Foley track, the caption audit) so it shows only the controls that work.

:func:`install` adds the routes to an app; ``app.main.create_app`` calls it.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from app.core.config import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Where the page's files are served (the HTML itself is at ``/``).
STATIC_PREFIX = "/web/static"


def content_security_policy(settings: Settings) -> str:
    """The page's Content-Security-Policy: its own scripts and styles only, API calls to this server.

    Media may come from anywhere (a ``video_url`` input plays from its own site) and from ``blob:`` (a local
    file plays without being uploaded twice). With ``public_url`` set, links in job resources are absolute,
    so that origin is allowed for fetches and tracks too.
    """
    connect = "'self'"
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        connect += f" {parts.scheme}://{parts.netloc}"
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: data: https: http:",
        f"connect-src {connect}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _foley_available() -> bool:
    """Whether this server renders the Foley track: the ``audio`` output is no longer refused."""
    from app.schemas import JobOptions

    try:
        options = JobOptions.model_validate({"outputs": ["events", "audio"]})
        unimplemented = getattr(options, "unimplemented", None)
        return not (unimplemented() if unimplemented else [])
    except Exception:  # an API without the output at all: no Foley controls on the page
        return False


def _audit_path(app: FastAPI) -> str | None:
    """The path template of the caption-audit endpoint (a POST under /v1 ending in /audit), from the OpenAPI
    document (the public description of the API), or None when this server has none."""
    for path, operations in app.openapi().get("paths", {}).items():
        if path.startswith("/v1/") and path.endswith("/audit") and "post" in operations:
            return str(path)
    return None


def page_config(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """What the page needs to know about this server (``GET /web/config.json``).

    Returns:
        ``auth_required`` (bool: ask for an API key), ``url_input`` (bool), ``max_upload_bytes`` (int),
        ``features``: ``foley`` (bool: the ``audio`` output and its options work) and ``audit`` (the audit
        endpoint's path template, or None), and ``version``.
    """
    try:
        version = importlib.metadata.version("soundcue")
    except importlib.metadata.PackageNotFoundError:
        version = "0.0.0"
    return {
        "auth_required": not settings.no_auth,
        "url_input": settings.allow_url_input,
        "max_upload_bytes": settings.max_upload_bytes,
        "features": {"foley": _foley_available(), "audit": _audit_path(app)},
        "version": version,
    }


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the page at ``/``, its files under ``/web/static`` and its configuration at ``/web/config.json``."""
    router = APIRouter(include_in_schema=False)
    csp = content_security_policy(settings)
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }

    @router.get("/", name="web_page")
    def web_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=headers)

    @router.get("/web/config.json", name="web_config")
    def web_config(request: Request) -> JSONResponse:
        return JSONResponse(page_config(request.app, settings), headers={"Cache-Control": "no-cache"})

    app.include_router(router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="web_static")
