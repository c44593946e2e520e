"""The ``error`` of a failed or canceled job: a problem document (RFC 9457, docs/api.md *Errors*) kept with
the job instead of being sent as a response.

Every job error is built here (by both job stores, the worker and the supervisors), so each has ``type`` (a
:func:`problem_type` tag URI), ``title``, ``status`` (the HTTP status the same problem has as a response) and
``detail``. :func:`read_job_error` brings an error as stored, also by earlier versions (``"type": "canceled"``,
no ``status``), to that shape and adds ``instance`` (the job's URL) when the job is shown.

This module imports nothing else of the service: the job stores import it, and :mod:`app.problems` (which
imports the stores' protocol) re-exports :func:`problem_type` from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Problem type URIs are tag URIs (RFC 4151): stable identifiers, documented in docs/api.md.
TYPE_PREFIX = "tag:soundcue,2025:problem:"

#: The status of the job errors no exception maps (the worker's failures carry their own): a canceled job
#: conflicts with what was asked of it (``POST /v1/captions`` answers 409 when its job is canceled).
STATUS_BY_SLUG: dict[str, int] = {"canceled": 409, "worker-lost": 500, "job-timeout": 500}


def problem_type(slug: str) -> str:
    return TYPE_PREFIX + slug


def job_error(slug: str, title: str, status: int, detail: str) -> dict[str, Any]:
    """A job's error as both job stores keep it (``instance`` is added when the job is shown)."""
    return {"type": problem_type(slug), "title": title, "status": status, "detail": detail}


def canceled_error(job_id: str) -> dict[str, Any]:
    return job_error("canceled", "Job canceled", STATUS_BY_SLUG["canceled"],
                     f"the job was canceled (DELETE /v1/jobs/{job_id}) before it finished; it has no results")


def worker_lost_error(reason: str, attempts: int) -> dict[str, Any]:
    """The job's error when its worker was lost on every one of its ``attempts``."""
    return job_error("worker-lost", "Job could not be completed", STATUS_BY_SLUG["worker-lost"],
                     f"{reason} on each of {attempts} attempts; the input may be too large or trigger a crash. "
                     "Try a shorter or re-encoded file.")


def job_timeout_error(limit_s: float) -> dict[str, Any]:
    return job_error("job-timeout", "Job took too long", STATUS_BY_SLUG["job-timeout"],
                     f"the job ran longer than the limit of {limit_s:.0f} s; try a shorter file")


def read_job_error(error: Mapping[str, Any], instance: str | None = None) -> dict[str, Any]:
    """``error`` as stored, by this version or an earlier one, in the documented shape.

    Args:
        error: the stored error (earlier versions wrote ``"type": "canceled"`` and no ``status``).
        instance: the job's URL; kept from ``error`` when not given.

    Returns:
        ``type`` (a tag URI), ``title``, ``status`` (from the type's slug when missing; 500 for an unknown
        one), ``detail`` and ``instance``, plus any other member ``error`` has.
    """
    out = dict(error)
    kind = str(out.get("type") or "internal")
    if ":" not in kind:  # a bare name, as canceled jobs once had
        kind = problem_type(kind)
    status = out.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        status = STATUS_BY_SLUG.get(kind.removeprefix(TYPE_PREFIX), 500)
    out.update(type=kind, status=status, title=str(out.get("title") or "Job failed"),
               detail=str(out.get("detail") or "the job failed"))
    if instance is not None:
        out["instance"] = instance
    return out
