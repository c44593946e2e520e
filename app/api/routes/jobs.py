"""``/v1/jobs``: submit (upload or URL), poll, list, cancel/delete, and fetch results."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import ValidationError

from app.api.deps import JobStoreDep, OptionalOwnerDep, OwnerDep, ServiceState, StateDep, get_state
from app.backends import options_hash
from app.fetch import AddressPolicy, check_url
from app.hls import FIELD as HLS_FIELD
from app.hls import HLS_NAME, with_token
from app.problems import PROBLEM_JSON, ApiProblem
from app.schemas import (
    JobCreate,
    JobOptions,
    JobPublic,
    JobsPublic,
    JobUploadForm,
    ProblemDetail,
)
from app.store import IdempotencyConflict, JobRow, NewJob, new_job_id
from app.uploads import body_chunks, receive_upload, too_large
from app.views import job_path, job_public

router = APIRouter(prefix="/jobs", tags=["jobs"])

MAX_JSON_BYTES = 256 * 1024
#: Multipart framing allowance on top of the file size limit when checking Content-Length.
FORM_OVERHEAD_BYTES = 256 * 1024
RESULT_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$"

_PROBLEM = {"model": ProblemDetail, "content": {PROBLEM_JSON: {}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key", **_PROBLEM},
    404: {"description": "No such job for this key", **_PROBLEM},
    422: {"description": "Invalid request or options", **_PROBLEM},
}


#: OpenAPI links from a created job to the operations on it (clients and schemathesis follow them).
JOB_LINKS = {
    op: {"operationId": op, "parameters": {"job_id": "$response.body#/id"}}
    for op in ("get_job", "delete_job")
}


def _create_body_schema() -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/JobCreate"}},
            "multipart/form-data": {
                "schema": {"$ref": "#/components/schemas/JobUploadForm"},
                "encoding": {"options": {"contentType": "application/json"}},
            },
        },
    }


def validation_problem(e: ValidationError, prefix: tuple[str, ...]) -> RequestValidationError:
    errors = [
        {**err, "loc": (*prefix, *err["loc"])} for err in e.errors(include_url=False, include_context=False)
    ]
    return RequestValidationError(errors)


def check_options(options: JobOptions) -> None:
    """Refuse (422) options that ask for unimplemented work or that the library rejects."""
    from captioning.errors import InvalidOptionsError

    missing = options.unimplemented()
    if missing:
        raise ApiProblem(
            422,
            "not-implemented",
            "not implemented yet: " + "; ".join(missing),
            title="Option not implemented",
            extra={"options": missing},
        )
    try:
        options.to_domain()
    except InvalidOptionsError as e:
        raise ApiProblem(422, "invalid-options", str(e), title="Invalid options") from e


async def check_option_urls(state: ServiceState, options: JobOptions) -> None:
    """The URLs inside the options (the HLS video rendition) follow the rules of ``video_url``."""
    url = options.captions.hls_video_playlist_url
    if url is not None:
        await check_public_url(state, url, HLS_FIELD)


async def check_public_url(state: ServiceState, url: str, field: str) -> None:
    if field == "video_url" and not state.settings.allow_url_input:
        raise ApiProblem(422, "url-input-disabled", "this server accepts uploads only; send the file as "
                         "multipart/form-data", title="URL input disabled")
    if field == HLS_FIELD and not state.settings.allow_url_input:
        raise ApiProblem(422, "url-input-disabled", f"{field}: this server fetches no URLs; give "
                         "captions.hls_mpegts instead", title="URL input disabled")
    if field == "webhook_url" and not state.settings.allow_webhooks:
        raise ApiProblem(422, "webhooks-disabled", "this server does not send webhooks; poll the job instead",
                         title="Webhooks disabled")
    policy = AddressPolicy(tuple(state.settings.url_allow_cidrs))
    try:
        await run_in_threadpool(check_url, url, policy)
    except ApiProblem as e:
        e.detail = f"{field}: {e.detail}"
        raise


def check_capacity(state: ServiceState, owner: str) -> None:
    """503 when the queue is full, 429 when this key has too many queued jobs (both with Retry-After)."""
    settings = state.settings
    queued = state.store.queue_length()
    runner = state.runner
    capacity = runner.capacity if runner is not None else settings.workers
    retry = str(min(300, 10 + 10 * queued // max(1, capacity)))
    if queued >= settings.max_queue:
        raise ApiProblem(
            503,
            "queue-full",
            f"the queue is full ({queued} jobs waiting); retry later",
            title="Queue full",
            headers={"Retry-After": retry},
        )
    mine = state.store.queue_length(owner)
    if mine >= settings.max_queue_per_key:
        raise ApiProblem(
            429,
            "too-many-jobs",
            f"this key already has {mine} queued jobs; wait for some to finish",
            title="Too many queued jobs",
            headers={"Retry-After": retry},
        )


def _hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def accepted(state: ServiceState, row: JobRow, created: bool) -> JSONResponse:
    body = job_public(row, state.base).model_dump(mode="json")
    headers = {"Location": state.base + job_path(row.id)}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=202, headers=headers)


async def submit(
    request: Request,
    state: ServiceState,
    owner: str,
    idempotency_key: str | None,
    *,
    limits: dict[str, Any] | None = None,
    force_outputs: tuple[str, ...] = (),
) -> tuple[JobRow, bool]:
    """Parse a job submission (JSON with video_url, or a multipart upload), validate it, store it."""
    settings = state.settings
    # the job store calls run in the thread pool: a slow or unreachable database must not stall the event loop
    await run_in_threadpool(check_capacity, state, owner)
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    limits = limits or {}
    job_id = new_job_id()
    if content_type == "application/json":
        raw = await _read_limited(request, MAX_JSON_BYTES)
        try:
            create = JobCreate.model_validate_json(raw or b"null")
        except ValidationError as e:
            raise validation_problem(e, ("body",)) from e
        return await submit_url(state, owner, idempotency_key, create, limits=limits, force_outputs=force_outputs)
    if content_type != "multipart/form-data":
        raise ApiProblem(
            415,
            "unsupported-content-type",
            "send application/json with video_url, or multipart/form-data with a 'file' part",
            title="Unsupported content type",
        )
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_upload_bytes + FORM_OVERHEAD_BYTES:
        raise too_large(settings.max_upload_bytes)
    staging = settings.data_dir / "staging" / secrets.token_hex(8)
    staging.mkdir(parents=True)
    try:
        upload = await receive_upload(
            request,
            staging / "input",
            max_bytes=settings.max_upload_bytes,
            text_fields=frozenset({"options", "webhook_url"}),
            timeout_s=settings.upload_timeout_s,
        )
        try:
            parsed = JobOptions.model_validate_json(upload.fields.get("options") or "{}")
        except ValidationError as e:
            raise validation_problem(e, ("body", "options")) from e
        options = _with_outputs(parsed, force_outputs)
        check_options(options)
        await check_option_urls(state, options)
        webhook = upload.fields.get("webhook_url") or None
        if webhook:
            await check_public_url(state, webhook, "webhook_url")
        source = {
            "kind": "upload",
            "filename": upload.filename,
            "size_bytes": upload.size_bytes,
        }
        request_hash = _hash("upload", upload.sha256, parsed.model_dump(mode="json"), webhook, limits)
        new = NewJob(
            owner=owner,
            source=source,
            options=options.model_dump(mode="json"),
            options_hash=options_hash(options, limits, upload.filename),
            limits=limits,
            webhook_url=webhook,
            idem_key=idempotency_key,
            request_hash=request_hash,
            input_sha256=upload.sha256,
            job_id=job_id,
        )
        # The input is in place before the job row exists, so a worker never sees a job without input.
        state.results.adopt_input(job_id, staging / "input")
        try:
            row, created = await run_in_threadpool(_create, state, new)
        except BaseException:  # refused or not stored (database unreachable): keep no orphan input
            state.results.remove(job_id)
            raise
        if not created:
            state.results.remove(job_id)
        return row, created
    finally:
        shutil.rmtree(staging, ignore_errors=True)


async def submit_url(
    state: ServiceState,
    owner: str,
    idempotency_key: str | None,
    create: JobCreate,
    *,
    limits: dict[str, Any] | None = None,
    force_outputs: tuple[str, ...] = (),
) -> tuple[JobRow, bool]:
    """Validate and store a job from a URL (the JSON form of ``POST /v1/jobs``, and the Foley-compatible API)."""
    limits = limits or {}
    options = _with_outputs(create.options, force_outputs)
    check_options(options)
    await check_option_urls(state, options)
    await check_public_url(state, str(create.video_url), "video_url")
    webhook = str(create.webhook_url) if create.webhook_url else None
    if webhook:
        await check_public_url(state, webhook, "webhook_url")
    source: dict[str, Any] = {"kind": "url", "url": str(create.video_url)}
    request_hash = _hash("url", create.model_dump(mode="json"), limits)
    new = NewJob(
        owner=owner,
        source=source,
        options=options.model_dump(mode="json"),
        options_hash=options_hash(options, limits, source["url"]),
        limits=limits,
        webhook_url=webhook,
        idem_key=idempotency_key,
        request_hash=request_hash,
        job_id=new_job_id(),
    )
    return await run_in_threadpool(_create, state, new)


def _with_outputs(options: JobOptions, force: tuple[str, ...]) -> JobOptions:
    if not force or all(o in options.outputs for o in force):
        return options
    outputs = list(options.outputs) + [o for o in force if o not in options.outputs]
    updated = options.model_copy(update={"outputs": outputs})
    updated.__pydantic_fields_set__ = set(options.model_fields_set)
    return updated


def _create(state: ServiceState, new: NewJob) -> tuple[JobRow, bool]:
    """Store the job, then hand it to the workers (the queue); an idempotent replay is not queued again."""
    try:
        row, created = state.store.create(new)
    except IdempotencyConflict as e:
        if new.job_id:
            state.results.remove(new.job_id)
        raise ApiProblem(
            422,
            "idempotency-conflict",
            "this Idempotency-Key was already used with a different request; use a new key for a new job",
            title="Idempotency-Key reused",
        ) from e
    if created:
        state.queue.enqueue(row.id)
    return row, created


async def _read_limited(request: Request, limit: int) -> bytes:
    """The JSON body, at most ``limit`` bytes (413), all of it within ``SOUNDCUE_UPLOAD_TIMEOUT_S`` (408)."""
    body = bytearray()
    async for chunk in body_chunks(request, get_state(request).settings.upload_timeout_s):
        body += chunk
        if len(body) > limit:
            raise ApiProblem(
                413, "too-large", f"the JSON body is larger than {limit} bytes", title="Body too large"
            )
    return bytes(body)


@router.post(
    "",
    status_code=202,
    response_model=JobPublic,
    summary="Submit a job (upload a file or give a URL)",
    openapi_extra={"requestBody": _create_body_schema()},
    responses={
        202: {"links": JOB_LINKS, "description": "Accepted: the job, with its Location"},
        **PROBLEMS,
        408: {"description": "The body did not arrive within the upload time limit", **_PROBLEM},
        413: {"description": "Upload larger than the limit", **_PROBLEM},
        415: {"description": "Not audio/video, or unsupported content type", **_PROBLEM},
        429: {"description": "Too many queued jobs for this key (see Retry-After)", **_PROBLEM},
        503: {"description": "Queue full (see Retry-After)", **_PROBLEM},
    },
)
async def create_job(
    request: Request,
    owner: OwnerDep,
    state: StateDep,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="Same key and body: the same job is returned, not a new one."),
    ] = None,
) -> JSONResponse:
    """Accept a job: a multipart upload (``file`` + JSON ``options``) or JSON with ``video_url``.

    Answers 202 with the job and its ``Location``; poll it until ``status`` is succeeded or failed.
    """
    row, created = await submit(request, state, owner, idempotency_key)
    return accepted(state, row, created)


@router.get("", response_model=JobsPublic, responses=PROBLEMS, summary="List your jobs, newest first")
def list_jobs(
    owner: OwnerDep,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JobsPublic:
    rows, count = state.store.list_jobs(owner, limit=limit, offset=offset)
    nxt = None
    if offset + len(rows) < count:
        nxt = f"{state.base}/v1/jobs?limit={limit}&offset={offset + limit}"
    return JobsPublic(
        data=[job_public(r, state.base) for r in rows], count=count, limit=limit, offset=offset, next=nxt
    )


def _job_or_404(store: JobStoreDep, job_id: str, owner: str | None) -> JobRow:
    row = store.get(job_id, owner)
    if row is None:
        raise ApiProblem(
            404, "not-found", f"there is no job {job_id!r} for this API key", title="Job not found"
        )
    return row


@router.get("/{job_id}", response_model=JobPublic, responses=PROBLEMS, summary="A job's status and results")
def get_job(job_id: str, owner: OwnerDep, state: StateDep) -> JobPublic:
    return job_public(_job_or_404(state.store, job_id, owner), state.base)


@router.delete(
    "/{job_id}",
    status_code=204,
    responses={
        **PROBLEMS,
        202: {"model": JobPublic, "description": "The running or queued job was canceled"},
    },
    summary="Cancel a queued/running job, or delete a finished one with its files",
)
def delete_job(job_id: str, owner: OwnerDep, state: StateDep) -> Response:
    row = _job_or_404(state.store, job_id, owner)
    if not row.finished:
        canceled = state.store.cancel(row.id)
        if canceled is not None and canceled.status == "canceled":
            if canceled.lease is None:
                state.results.remove(row.id)
            return JSONResponse(job_public(canceled, state.base).model_dump(mode="json"), status_code=202)
        row = canceled or row
    state.store.delete(row.id)
    state.results.remove(row.id)
    return Response(status_code=204)


#: The ``token`` query parameter of result URLs: the capability token of the job's ``share_url``.
TokenQuery = Annotated[str | None, Query(max_length=100, description="Capability token from share_url.")]


@router.head("/{job_id}/{name}", include_in_schema=False)
@router.get(
    "/{job_id}/{name}",
    responses={
        200: {"content": {"text/vtt": {}, "application/x-subrip": {}, "application/json": {}, "image/png": {},
                          "audio/wav": {}, "audio/mpeg": {}, "audio/mp4": {}, "video/mp4": {},
                          "video/x-matroska": {}, "video/webm": {}},
              "description": "The result file"},
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        409: {"description": "The job has not finished yet", **_PROBLEM},
        **PROBLEMS,
    },
    response_class=Response,
    summary="Fetch one result file (captions.vtt, captions.srt, events.json, haptics.*, timeline.png, foley.*, "
    "video.*)",
)
def get_result(
    job_id: str,
    name: Annotated[str, PathParam(pattern=RESULT_NAME, description="Result file name, e.g. captions.vtt.")],
    request: Request,
    owner: OptionalOwnerDep,
    state: StateDep,
    token: TokenQuery = None,
) -> Response:
    """Results need the job's API key, or the ``token`` of the job's ``share_url`` (for players)."""
    return _result(job_id, name, request, owner, state, token)


@router.head("/{job_id}/hls/{name}", include_in_schema=False)
@router.get(
    "/{job_id}/hls/{name}",
    responses={
        200: {"content": {"application/vnd.apple.mpegurl": {}, "text/vtt": {}},
              "description": "A playlist or a WebVTT segment of the HLS subtitle rendition"},
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        409: {"description": "The job has not finished yet", **_PROBLEM},
        **PROBLEMS,
    },
    response_class=Response,
    summary="Fetch one file of the HLS subtitle rendition (captions.m3u8, segment<n>.webvtt, master.m3u8)",
)
def get_hls_result(
    job_id: str,
    name: Annotated[str, PathParam(max_length=100, description="File name under hls/, e.g. captions.m3u8.")],
    request: Request,
    owner: OptionalOwnerDep,
    state: StateDep,
    token: TokenQuery = None,
) -> Response:
    """The same rules as the other results. Fetched with a share link's ``token``, a playlist's relative URIs
    carry that token too, so a player given ``hls/master.m3u8?token=...`` (or ``captions.m3u8``) loads every
    segment without a key; the video rendition's own (absolute) URI in ``master.m3u8`` is left unchanged."""
    if not re.fullmatch(HLS_NAME, name):  # no path, no traversal: 404 as for any name the job does not have
        raise ApiProblem(404, "no-such-result", f"{name!r} is not the name of an HLS file (captions.m3u8, "
                         "master.m3u8, segment<n>.webvtt)", title="No such result")
    return _result(job_id, f"hls/{name}", request, owner, state, token)


def _result(job_id: str, name: str, request: Request, owner: str | None, state: ServiceState,
            token: str | None) -> Response:
    row = state.store.get(job_id)
    by_token = row is not None and token is not None and hmac.compare_digest(token, row.share_token)
    allowed = row is not None and ((owner is not None and row.owner == owner) or by_token)
    if owner is None and token is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "send an API key as 'Authorization: Bearer <key>', or use the result's share_url",
            headers={"WWW-Authenticate": 'Bearer realm="soundcue"'},
        )
    if row is None or not allowed:
        raise ApiProblem(
            404, "not-found", f"there is no job {job_id!r} for this API key", title="Job not found"
        )
    if row.status != "succeeded":
        raise ApiProblem(
            409 if not row.finished else 404,
            "not-ready" if not row.finished else "no-results",
            f"the job is {row.status}; results exist once it has succeeded",
            title="Results not available",
        )
    entry = next((r for r in row.results if r["name"] == name), None)
    path = state.results.result_path(row.id, name)
    if entry is None or not path.is_file():
        names = ", ".join(r["name"] for r in row.results)
        raise ApiProblem(
            404, "no-such-result", f"the job has no result {name!r}; it has {names}", title="No such result"
        )
    rewrite = by_token and name.endswith(".m3u8")
    etag = f'"{entry["etag"]}-token"' if rewrite else f'"{entry["etag"]}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, max-age=3600, immutable",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "ETag, Content-Length",
    }
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    if rewrite:
        assert row is not None and token is not None
        return Response(with_token(path.read_text(encoding="utf-8"), token), media_type=entry["media_type"],
                        headers={**headers, "Content-Disposition": f'inline; filename="{Path(name).name}"'})
    return FileResponse(
        Path(path),
        media_type=entry["media_type"],
        headers=headers,
        content_disposition_type="inline",
        filename=Path(name).name,
    )


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


# Referenced in the OpenAPI document through openapi_extra.
__all__ = ["router", "submit", "submit_url", "accepted", "JobUploadForm"]
