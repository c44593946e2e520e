"""RFC 9457 problem details: every error the service returns is ``application/problem+json``.

One place maps errors to HTTP (STYLE.md habit 7): :func:`problem_for_exception` turns the library's
``captioning.errors`` tree into a problem (also used for failed jobs), and :func:`install` registers the
exception handlers. Clients never see stack traces; unexpected errors are logged with the request path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.backends.base import StoreUnavailable
from app.job_errors import TYPE_PREFIX as TYPE_PREFIX  # tag URIs, defined where the job stores can use them
from app.job_errors import problem_type as problem_type
from captioning import errors

log = logging.getLogger("soundcue.api")

PROBLEM_JSON = "application/problem+json"


class ApiProblem(Exception):
    """An error with an HTTP status, rendered as problem+json by the handler :func:`install` adds.

    Args:
        status: HTTP status code.
        slug: problem type suffix, e.g. ``"not-found"``.
        detail: what went wrong and what the caller can do.
        title: short summary; defaults to the status phrase.
        headers: extra response headers (``Retry-After``, ``WWW-Authenticate``).
        extra: extension members of the problem document.
    """

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": problem_type(self.slug),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


#: Library error class -> (status, slug, title). First match in MRO order wins.
_LIBRARY_ERRORS: dict[type[BaseException], tuple[int, str, str]] = {
    errors.MediaNotFoundError: (400, "media-not-found", "Media not found"),
    errors.MediaDecodeError: (422, "media-decode", "Media cannot be decoded"),
    errors.NoAudioStreamError: (422, "no-audio-stream", "Media has no audio stream"),
    errors.MediaError: (422, "media-invalid", "Media cannot be used"),
    errors.InvalidOptionsError: (422, "invalid-options", "Invalid options"),
    errors.CaptionFormatError: (422, "caption-format", "Caption file cannot be read"),
    errors.ModelLoadError: (503, "model-unavailable", "Analysis models unavailable"),
    errors.CaptioningError: (500, "analysis-failed", "Analysis failed"),
}


def problem_for_exception(exc: BaseException) -> ApiProblem:
    """The problem a library (or service) error maps to; unknown errors become a bare 500."""
    if isinstance(exc, ApiProblem):
        return exc
    for cls in type(exc).__mro__:
        if cls in _LIBRARY_ERRORS:
            status, slug, title = _LIBRARY_ERRORS[cls]
            return ApiProblem(status, slug, str(exc) or title, title=title)
    return ApiProblem(
        500, "internal", "An unexpected error occurred; it has been logged.", title="Internal server error"
    )


def problem_response(problem: ApiProblem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.to_dict(instance),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_JSON,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))})
    return out


def install(app: FastAPI) -> None:
    """Register the problem+json exception handlers on ``app``."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiProblem)
        return problem_response(exc, request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is no resource at {request.url.path}."
        problem = ApiProblem(exc.status_code, slug, detail, headers=exc.headers)
        return problem_response(problem, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errs = _validation_errors(exc)
        first = errs[0] if errs else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else str(first["msg"])
        problem = ApiProblem(
            422, "validation", detail, title="Request validation failed", extra={"errors": errs}
        )
        return problem_response(problem, request.url.path)

    async def on_library(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(problem_for_exception(exc), request.url.path)

    async def on_store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("job store unavailable on %s %s: %s", request.method, request.url.path, exc)
        problem = ApiProblem(503, "store-unavailable", "the job database cannot be reached right now; nothing was "
                             "changed, retry later", title="Service unavailable", headers={"Retry-After": "5"})
        return problem_response(problem, request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(problem_for_exception(exc), request.url.path)

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(errors.CaptioningError, on_library)
    app.add_exception_handler(StoreUnavailable, on_store_unavailable)
    app.add_exception_handler(Exception, on_unexpected)
