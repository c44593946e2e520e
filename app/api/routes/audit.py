"""``POST /v1/jobs/{id}/audit``: audit an uploaded caption track against a finished job's analysis (issue 12).

The job's ``events.json`` (every succeeded job has one) is the analysis: nothing is decoded or analysed again.
The body is ``multipart/form-data`` with a ``captions`` file part (WebVTT or SRT, at most
:data:`MAX_CAPTION_UPLOAD_BYTES`) and an optional ``options`` part (JSON, :class:`app.schemas.AuditSettings`).
The answer is the same report ``soundcue audit`` writes: ``audit.json`` (default), or with ``?format=html``
the self-contained HTML page, ``?format=csv`` the missed sounds. The sentence-embedding model is loaded on the
first audit a server process serves (a few seconds) and kept.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from app.api.deps import OwnerDep, ServiceState, StateDep
from app.api.routes.jobs import _PROBLEM, PROBLEMS, validation_problem
from app.problems import ApiProblem
from app.schemas import AuditSettings

router = APIRouter(prefix="/jobs", tags=["audit"])

#: Largest caption upload, bytes (a feature film's SRT is well under 1 MB).
MAX_CAPTION_UPLOAD_BYTES = 16 * 1024 * 1024
MAX_OPTIONS_BYTES = 64 * 1024
FORM_OVERHEAD_BYTES = 64 * 1024
MEDIA_TYPES = {"json": "application/json", "html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8"}


def _body_schema() -> dict[str, Any]:
    return {
        "required": True,
        "content": {"multipart/form-data": {
            "schema": {"$ref": "#/components/schemas/AuditUploadForm"},
            "encoding": {"options": {"contentType": "application/json"}},
        }},
    }


def _bad_form(detail: str) -> ApiProblem:
    return ApiProblem(422, "bad-form", detail, title="Malformed upload form")


def _too_large() -> ApiProblem:
    return ApiProblem(413, "too-large", f"the caption file is larger than {MAX_CAPTION_UPLOAD_BYTES // 2**20} MB; "
                      "send a WebVTT or SRT file", title="Upload too large", headers={"Connection": "close"})


async def _limited(request: Request) -> AsyncGenerator[bytes, None]:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_CAPTION_UPLOAD_BYTES + FORM_OVERHEAD_BYTES:
            raise _too_large()
        yield chunk


async def _read_form(request: Request) -> tuple[str, bytes, AuditSettings]:
    """The uploaded caption file's name and bytes, and the options (422 for a bad form)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "multipart/form-data":
        raise ApiProblem(415, "unsupported-content-type", "send multipart/form-data with a 'captions' file part "
                         "(and optionally an 'options' JSON part)", title="Unsupported content type")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_CAPTION_UPLOAD_BYTES + FORM_OVERHEAD_BYTES:
        raise _too_large()
    parser = MultiPartParser(request.headers, _limited(request), max_files=1, max_fields=1,
                             max_part_size=MAX_OPTIONS_BYTES)
    try:
        form = await parser.parse()
    except MultiPartException as e:
        raise _bad_form(f"the multipart body cannot be read: {e.message}") from e
    try:
        unknown = sorted(set(form.keys()) - {"captions", "options"})
        if unknown:
            raise _bad_form(f"unexpected form field {unknown[0]!r}; the form takes captions and options")
        upload = form.get("captions")
        if not isinstance(upload, UploadFile):
            raise _bad_form("the form has no 'captions' file part; send the WebVTT or SRT file as 'captions'")
        data = await upload.read()
        name = upload.filename or "captions"
        raw = form.get("options")
        if isinstance(raw, UploadFile):
            raw = (await raw.read()).decode("utf-8", "replace")
        try:
            settings = AuditSettings.model_validate_json(raw or "{}")
        except ValidationError as e:
            raise validation_problem(e, ("body", "options")) from e
    finally:
        await form.close()
    if len(data) > MAX_CAPTION_UPLOAD_BYTES:
        raise _too_large()
    return name, data, settings


def _analysis_of(state: ServiceState, job_id: str, owner: str) -> Any:
    """The finished job's analysis, from its events.json (404 no such job or a failed one, 409 not finished)."""
    from captioning.events import Analysis

    row = state.store.get(job_id, owner)
    if row is None:
        raise ApiProblem(404, "not-found", f"there is no job {job_id!r} for this API key", title="Job not found")
    if row.status != "succeeded":
        raise ApiProblem(409 if not row.finished else 404, "not-ready" if not row.finished else "no-results",
                         f"the job is {row.status}; a job can be audited once it has succeeded",
                         title="No analysis to audit")
    path = state.results.result_path(row.id, "events.json")
    try:
        return Analysis.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ApiProblem(404, "no-such-result", "the job's events.json is no longer on the server; submit the "
                         "media again", title="No analysis to audit") from e


def _audit(analysis: Any, name: str, data: bytes, settings: AuditSettings, fmt: str) -> str:
    from captioning.audit import audit_captions, render_csv, render_html, render_json
    from captioning.captions.decoding import decode_caption_bytes
    from captioning.captions.reader import parse_caption_file
    from captioning.errors import CaptionFormatError

    options = settings.to_domain()
    text, encoding = decode_caption_bytes(data, name)
    caption_file = parse_caption_file(text, name=name, encoding=encoding)
    if not caption_file.cues:
        raise CaptionFormatError(f"{name}: no cue players show: nothing to audit")
    report = audit_captions(analysis, caption_file, options, captions_name=name)
    renderer = {"json": render_json, "html": render_html, "csv": render_csv}[fmt]
    return renderer(report)


@router.post(
    "/{job_id}/audit",
    summary="Audit a caption track against the job's detected sounds",
    openapi_extra={"requestBody": _body_schema()},
    response_class=Response,
    responses={
        200: {"content": {"application/json": {"schema": {"type": "object", "description": (
                  "The audit report (schema: captioning/data/audit.schema.json, docs/audit.md)")}},
                          "text/html": {}, "text/csv": {}},
              "description": "The audit report, as soundcue audit writes it"},
        **PROBLEMS,
        409: {"description": "The job has not finished yet: there is no analysis to audit", **_PROBLEM},
        413: {"description": "Caption file larger than the limit", **_PROBLEM},
        415: {"description": "Not multipart/form-data", **_PROBLEM},
    },
)
async def audit_job(
    job_id: str,
    request: Request,
    owner: OwnerDep,
    state: StateDep,
    format: Annotated[Literal["json", "html", "csv"], Query(
        description="json: the report (audit.json); html: the report page; csv: the missed sounds.")] = "json",
) -> Response:
    """Upload a WebVTT or SRT file as ``captions`` (and ``options`` as JSON); get back which salient sounds it
    misses, which of its sound cues match no detected sound, and its timing and style violations. The job's
    analysis is reused; a caption file that cannot be read is a 422 problem naming what is wrong."""
    analysis = _analysis_of(state, job_id, owner)
    name, data, settings = await _read_form(request)
    from captioning.errors import InvalidOptionsError

    try:
        settings.to_domain()
    except InvalidOptionsError as e:
        raise ApiProblem(422, "invalid-options", str(e), title="Invalid options") from e
    body = await run_in_threadpool(_audit, analysis, name, data, settings, format)
    return Response(body, media_type=MEDIA_TYPES[format])
