"""``/v1/video/foley``: the request and status shapes of the HunyuanVideo-Foley generation API, on soundcue jobs.

A client written for that API works here by changing its base URL and key: ``POST /v1/video/foley/generate``
takes its JSON body (``video_url``, ``output``, ``effects``, ``options``) and answers 202 with a ``task_id``;
``GET /v1/video/foley/status?task_id=...`` answers ``status`` (processing, completed, failed), ``progress``
(0-100) and, when completed, ``result.audio_url`` and ``result.duration_seconds`` (or ``error``; ``no-audio``, at
progress 100, for a finished job of ``/v1/jobs`` made without the audio output). Each task is a
soundcue job making the ``audio`` output (:meth:`app.schemas.FoleyGenerate.to_job`), with the same keys, limits,
isolation (a task is visible only to the key that made it) and problem+json errors as ``/v1/jobs``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.api.deps import OwnerDep, ServiceState, StateDep
from app.api.routes.jobs import MAX_JSON_BYTES, PROBLEMS, _read_limited, check_capacity, submit_url, validation_problem
from app.problems import PROBLEM_JSON, TYPE_PREFIX, ApiProblem
from app.schemas import FoleyGenerate, FoleyResult, FoleyTask, FoleyTaskError, JobOptions
from app.store import JobRow
from app.views import job_public

router = APIRouter(prefix="/video/foley", tags=["foley (HunyuanVideo-Foley compatible)"])

#: soundcue job status -> the compatible API's task status.
TASK_STATUS = {"queued": "processing", "running": "processing", "succeeded": "completed", "failed": "failed",
               "canceled": "failed"}


def _base(state: ServiceState, request: Request) -> str:
    """Absolute links: the configured public URL, else the URL this request came to (clients of this API
    download ``audio_url`` as given)."""
    return state.base or str(request.base_url).rstrip("/")


def _status_url(base: str, task_id: str) -> str:
    return f"{base}/v1/video/foley/status?task_id={quote(task_id)}"


def task_view(row: JobRow, base: str) -> FoleyTask:
    """The compatible view of a job: status, percent, and the Foley track (or the error)."""
    job = job_public(row, base)
    options = JobOptions.model_validate(row.options)
    status = TASK_STATUS[row.status]
    result = None
    audio = next((r for r in job.results if r.name.startswith("foley.")), None)
    if status == "completed" and audio is not None:
        foley = options.to_domain()[1].foley
        assert foley is not None
        result = FoleyResult(audio_url=audio.share_url, duration_seconds=audio.duration_s or 0.0,
                             format=foley.audio_format, sample_rate=foley.sample_rate, channels=foley.channels)
    error = None
    if status == "completed" and result is None:
        # a job made by /v1/jobs without the audio output: finished, but there is no track to give
        status = "failed"
        error = FoleyTaskError(code="no-audio", message=f"the job {row.id} finished but was not made with the audio "
                                                        f"output, so it has no Foley track; see {job.links['self']}")
    elif status == "failed":
        if job.error is not None:
            error = FoleyTaskError(code=job.error.type.removeprefix(TYPE_PREFIX), message=job.error.detail)
        else:  # the stores write an error with every failed or canceled job; this is a fallback
            error = FoleyTaskError(code="canceled" if row.status == "canceled" else "internal",
                                   message=f"the task {row.status}; see {job.links['self']}")
    return FoleyTask(task_id=row.id, status=status,  # type: ignore[arg-type]
                     progress=100 if row.status == "succeeded" else min(99, int(row.progress * 100)),
                     created_at=job.created_at, status_url=_status_url(base, row.id), result=result, error=error,
                     detailed_log=job.log)


@router.post(
    "/generate",
    status_code=202,
    response_model=FoleyTask,
    summary="Generate a Foley track for a video (HunyuanVideo-Foley request shape)",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/FoleyGenerate"}}}}},
    responses={**PROBLEMS, 202: {"description": "Accepted: the task, with its status URL in Location"},
               429: {"description": "Too many queued tasks for this key (see Retry-After)",
                     "content": {PROBLEM_JSON: {}}},
               503: {"description": "Queue full (see Retry-After)", "content": {PROBLEM_JSON: {}}}},
)
async def generate(
    request: Request,
    owner: OwnerDep,
    state: StateDep,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="Same key and body: the same task is returned, not a new one."),
    ] = None,
) -> JSONResponse:
    """Accept a Foley task for ``video_url``; poll ``status_url`` until ``status`` is completed or failed."""
    check_capacity(state, owner)
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise ApiProblem(415, "unsupported-content-type", "send the request as application/json",
                         title="Unsupported content type")
    raw = await _read_limited(request, MAX_JSON_BYTES)
    try:
        body = FoleyGenerate.model_validate_json(raw or b"null")
    except ValidationError as e:
        raise validation_problem(e, ("body",)) from e
    row, created = await submit_url(state, owner, idempotency_key, body.to_job())
    base = _base(state, request)
    headers = {"Location": _status_url(base, row.id)}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(task_view(row, base).model_dump(mode="json"), status_code=202, headers=headers)


@router.get("/status", response_model=FoleyTask, responses=PROBLEMS, summary="A Foley task's status and result")
def status(
    request: Request,
    owner: OwnerDep,
    state: StateDep,
    task_id: Annotated[str, Query(max_length=100, description="The task_id from /generate.")],
) -> FoleyTask:
    row = state.store.get(task_id, owner)
    if row is None:
        raise ApiProblem(404, "not-found", f"there is no task {task_id!r} for this API key", title="Task not found")
    return task_view(row, _base(state, request))
