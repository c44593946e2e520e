"""``POST /v1/captions``: the synchronous convenience endpoint for short clips.

The clip goes through the same queue and workers as any job (so concurrency stays bounded), with the
shorter duration limit ``sync_max_duration_s``; the route waits for it and answers with the caption file.
If the job is not done within ``sync_timeout_s`` the answer is 202 with the job, to poll as usual.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from app.api.deps import OwnerDep, StateDep
from app.api.routes.jobs import _PROBLEM, PROBLEMS, _create_body_schema, accepted, submit
from app.problems import ApiProblem

router = APIRouter(prefix="/captions", tags=["captions"])

POLL_S = 0.1


@router.post(
    "",
    summary="Caption a short clip and get the caption file back directly",
    openapi_extra={"requestBody": _create_body_schema()},
    responses={
        200: {"content": {"text/vtt": {}, "application/x-subrip": {}}, "description": "The caption track"},
        202: {"description": "Not finished within the wait limit: the job, to poll"},
        **PROBLEMS,
        408: {"description": "The body did not arrive within the upload time limit", **_PROBLEM},
        413: {"description": "Upload larger than the limit", **_PROBLEM},
        415: {"description": "Not audio/video, or unsupported content type", **_PROBLEM},
        429: {"description": "Too many queued jobs for this key", **_PROBLEM},
        503: {"description": "Queue full", **_PROBLEM},
    },
    response_class=Response,
)
async def caption_now(
    request: Request,
    owner: OwnerDep,
    state: StateDep,
    format: Annotated[Literal["vtt", "srt"], Query(description="Caption format to return.")] = "vtt",
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Same body as ``POST /v1/jobs``; media longer than the sync limit is refused with 422."""
    settings = state.settings
    limits = {"max_duration_s": min(settings.sync_max_duration_s, settings.max_duration_s)}
    row, created = await submit(
        request, state, owner, idempotency_key, limits=limits, force_outputs=(format,)
    )
    deadline = time.monotonic() + settings.sync_timeout_s
    while not row.finished and time.monotonic() < deadline:
        await asyncio.sleep(POLL_S)
        current = state.store.get(row.id)
        if current is None:
            raise ApiProblem(404, "not-found", "the job was deleted while it ran", title="Job deleted")
        row = current
    if not row.finished:
        return accepted(state, row, created)
    if row.status != "succeeded":
        err = row.error or {}
        status = int(err.get("status") or 422)
        problem = ApiProblem(
            status,
            "job-failed",
            err.get("detail", f"the job {row.status}"),
            title=err.get("title", "Job failed"),
            extra={"job": row.id},
        )
        body = problem.to_dict(request.url.path) | {"type": err.get("type", problem.to_dict()["type"])}
        return JSONResponse(body, status_code=status, media_type="application/problem+json")
    name = f"captions.{format}"
    entry = next((r for r in row.results if r["name"] == name), None)
    path = state.results.result_path(row.id, name)
    if entry is None or not path.is_file():
        raise ApiProblem(500, "missing-result", f"the job succeeded but wrote no {name}")
    return FileResponse(
        Path(path),
        media_type=entry["media_type"],
        headers={
            "ETag": f'"{entry["etag"]}"',
            "Content-Location": f"{state.base}/v1/jobs/{row.id}/{name}",
            "Access-Control-Allow-Origin": "*",
        },
    )
