"""Structured logs: one JSON object a line (or plain text), carrying ``job_id`` when there is one."""

from __future__ import annotations

import json
import logging
import sys
import time

#: LogRecord attributes copied into the JSON line when a call passes them with ``extra=``.
_EXTRA_KEYS = (
    "job_id",
    "webhook_id",
    "worker",
    "stage",
    "status",
    "duration_s",
    "method",
    "path",
    "status_code",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in _EXTRA_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        job = getattr(record, "job_id", None)
        return f"{line} [job {job}]" if job else line


def configure(fmt: str = "json", level: str = "INFO") -> None:
    """Send the ``soundcue`` and ``captioning`` loggers to stderr in ``fmt`` ("json" or "text")."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("soundcue", "captioning", "models", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
