"""Job records as the API shows them (one function, shared by the routes and the webhook payloads)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from app.job_errors import read_job_error
from app.schemas import JobError, JobOptions, JobPublic, JobSource, ResultFile, StageLog
from app.store import JobRow


def _dt(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, tz=UTC) if ts is not None else None


def job_path(job_id: str) -> str:
    return f"/v1/jobs/{quote(job_id)}"


def job_public(row: JobRow, base: str = "") -> JobPublic:
    """The API view of a job; ``base`` prefixes every link (empty: relative links)."""
    options = JobOptions.model_validate(row.options)
    self_link = base + job_path(row.id)
    results = [
        ResultFile(
            name=r["name"],
            media_type=r["media_type"],
            size_bytes=r["size_bytes"],
            etag=r["etag"],
            url=f"{self_link}/{quote(r['name'])}",
            share_url=f"{self_link}/{quote(r['name'])}?token={row.share_token}",
            duration_s=r.get("duration_s"),
        )
        for r in (row.results if row.status == "succeeded" else [])
    ]
    links = {"self": self_link}
    links.update({r.name: r.url for r in results})
    log = None
    if options.detailed_log:
        log = [
            StageLog(
                stage=e["stage"],
                started_at=datetime.fromtimestamp(e["started_at"], tz=UTC),
                duration_s=e["duration_s"],
                details=e.get("details"),
            )
            for e in row.log
        ]
    created = _dt(row.created_at)
    assert created is not None
    return JobPublic(
        id=row.id,
        status=row.status,  # type: ignore[arg-type]
        progress=row.progress,
        stage=row.stage,
        created_at=created,
        started_at=_dt(row.started_at),
        finished_at=_dt(row.finished_at),
        expires_at=_dt(row.expires_at),
        attempts=row.attempts,
        source=JobSource(**row.source),
        options=options,
        webhook_url=row.webhook_url,
        error=JobError.model_validate(read_job_error(row.error, self_link)) if row.error else None,
        results=results,
        links=links,
        log=log,
    )


def job_json(row: JobRow, base: str = "") -> dict[str, Any]:
    return job_public(row, base).model_dump(mode="json")
