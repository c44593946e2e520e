"""Service settings, read once from ``SOUNDCUE_*`` environment variables (pydantic-settings).

Bad configuration fails fast: :func:`get_settings` raises :class:`ConfigError` with every problem listed,
so ``soundcue serve`` refuses to start instead of misbehaving later (issue 3).
"""

from __future__ import annotations

import functools
import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(RuntimeError):
    """The service configuration is invalid; the message lists each bad setting."""


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


#: Shortest API key accepted (characters): a short key is guessable (``secrets.token_urlsafe(32)`` gives 43).
MIN_API_KEY_CHARS = 16


class Settings(BaseSettings):
    """Every knob of the service. Units are in the field names (``_s`` seconds, ``_bytes`` bytes).

    Attributes:
        api_keys: accepted Bearer keys (comma-separated in the environment), each at least
            :data:`MIN_API_KEY_CHARS` characters. Kept in memory only to be hashed at start-up; jobs record
            the SHA-256 of the key that created them.
        no_auth: accept requests without a key (local use only; every caller shares one owner).
        data_dir: where the SQLite job store, inputs and results live.
        workers: number of analysis worker processes (bounded concurrency).
        max_queue: queued jobs past which POST answers 503 with Retry-After.
        max_queue_per_key: queued jobs per API key past which POST answers 429 with Retry-After.
        max_upload_bytes: upload (and URL download) size limit, enforced while streaming.
        upload_timeout_s: a request body (an upload) must arrive within this many seconds, or the request is
            answered 408 (a client trickling bytes cannot hold a connection and a staging file).
        request_head_timeout_s: a request's line and headers must arrive within this many seconds of its first
            byte, or the connection is closed (408 ``head-timeout``; app/protocol.py, ``soundcue serve`` only).
        max_duration_s: media longer than this is refused.
        max_video_pixels: video frames larger than this (width * height) are refused.
        sync_max_duration_s: duration limit of the synchronous ``POST /v1/captions`` endpoint.
        sync_timeout_s: how long ``POST /v1/captions`` waits before answering 202 with the job instead.
        job_timeout_s: a running job is stopped and failed after this long.
        max_attempts: a job whose worker died (crash, kill, server restart) is re-run at most this often.
        retention_s: finished jobs and their files are deleted this long after they finish.
        url_allow_cidrs: address ranges exempted from the private-address refusal for URL input and
            webhooks (e.g. an internal media store). Empty: only public addresses are fetched.
        allow_url_input: accept jobs with a ``video_url`` (False: uploads only).
        allow_webhooks: accept a ``webhook_url`` on jobs (False: refused with 422).
        fetch_timeout_s: total time allowed to download one URL input (DNS, redirects, headers, body).
        max_redirects: redirects followed when fetching a URL (each one checked).
        webhook_secret: Standard Webhooks master secret (``whsec_`` + base64). None: one is generated
            on first start and kept in ``data_dir``.
        webhook_attempts: deliveries tried per webhook event before giving up.
        webhook_backoff_s: delay before the first retry; doubled for each further retry.
        cors_origins: origins allowed by CORS ("*" for any: results are fetched with a Bearer key or a
            capability link, never with cookies).
        public_url: base URL clients reach the service at (e.g. ``https://captions.example.org``); links
            in job resources and webhooks are absolute with it, relative paths without it.
        analyzer: ``module:function`` of the analysis function workers call (same signature as
            ``captioning.pipeline.analyze``); lets a deployment plug in another pipeline.
        log_format: "json" (one JSON object a line, with ``job_id``) or "text".
        log_level: Python logging level name.
        backend: "embedded" (SQLite job store, local worker processes, local disk: nothing to install) or
            "distributed" (PostgreSQL job store, a Dramatiq queue on Redis, ``soundcue worker`` processes on
            any machine, ``data_dir`` on a volume every machine mounts); see docs/deploy.md.
        database_url: PostgreSQL URL of the distributed job store (``postgresql://user:pw@host:5432/db``).
        redis_url: Redis URL of the distributed queue (``redis://host:6379/0``).
        queue_name: the queue's name (letters, digits, ``._-``); deployments sharing one Redis use their own.
        worker_threads: jobs one ``soundcue worker`` process runs at once.
        worker_lost_after_s: a distributed worker silent (no heartbeat) this long is taken for dead: its job
            is re-queued (or failed after ``max_attempts`` runs). Heartbeats are sent 4 times in that time.
        requeue_after_s: a distributed job still queued this long while the queue holds no message is sent
            again (a message lost with a Redis restart; the worker's claim drops duplicates).
    """

    model_config = SettingsConfigDict(env_prefix="SOUNDCUE_", extra="ignore", frozen=True)

    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    no_auth: bool = False
    data_dir: Path = Path("soundcue-data")
    workers: int = Field(default=1, ge=1, le=64)
    max_queue: int = Field(default=100, ge=1)
    max_queue_per_key: int = Field(default=50, ge=1)
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1024)
    upload_timeout_s: float = Field(default=3600.0, gt=0)
    request_head_timeout_s: float = Field(default=20.0, gt=0, le=3600.0)
    max_duration_s: float = Field(default=4 * 3600.0, gt=0)
    max_video_pixels: int = Field(default=7680 * 4320, ge=1)
    sync_max_duration_s: float = Field(default=60.0, gt=0)
    sync_timeout_s: float = Field(default=120.0, gt=0)
    job_timeout_s: float = Field(default=6 * 3600.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=20)
    retention_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    url_allow_cidrs: Annotated[list[IPNetwork], NoDecode] = Field(default_factory=list)
    allow_url_input: bool = True
    allow_webhooks: bool = True
    fetch_timeout_s: float = Field(default=300.0, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    webhook_secret: str | None = None
    webhook_attempts: int = Field(default=6, ge=1, le=30)
    webhook_backoff_s: float = Field(default=5.0, ge=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    public_url: str | None = None
    analyzer: str = Field(default="captioning.pipeline:analyze", pattern=r"^[\w.]+:\w+$")
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    backend: Literal["embedded", "distributed"] = "embedded"
    database_url: str | None = Field(default=None, pattern=r"^postgres(ql)?://")
    redis_url: str | None = Field(default=None, pattern=r"^rediss?://")
    queue_name: str = Field(default="soundcue-jobs", pattern=r"^[a-zA-Z_][a-zA-Z0-9._-]{0,99}$")
    worker_threads: int = Field(default=1, ge=1, le=64)
    worker_lost_after_s: float = Field(default=30.0, ge=1.0)
    requeue_after_s: float = Field(default=60.0, gt=0)

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("url_allow_cidrs", mode="before")
    @classmethod
    def _cidrs(cls, value: Any) -> Any:
        value = _split_commas(value)
        if isinstance(value, list):
            return [ipaddress.ip_network(v, strict=False) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("api_keys")
    @classmethod
    def _key_length(cls, keys: list[str]) -> list[str]:
        short = [k for k in keys if len(k) < MIN_API_KEY_CHARS]
        if short:
            raise ValueError(
                f"each API key must be at least {MIN_API_KEY_CHARS} characters long, and {len(short)} of "
                f"{len(keys)} {'is' if len(short) == 1 else 'are'} shorter (the shortest has {min(map(len, short))}); "
                "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return keys

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, secret: str | None) -> str | None:
        if secret is not None:
            from app.webhooks import decode_secret

            decode_secret(secret)  # raises ValueError with the reason
        return secret

    @model_validator(mode="after")
    def _auth_configured(self) -> Settings:
        if not self.api_keys and not self.no_auth:
            raise ValueError(
                "no API keys configured: set SOUNDCUE_API_KEYS=key1,key2 (or start with --no-auth / "
                "SOUNDCUE_NO_AUTH=1 for local use only)"
            )
        return self

    @model_validator(mode="after")
    def _backend_configured(self) -> Settings:
        if self.backend == "distributed":
            missing = [v for v, value in (("SOUNDCUE_DATABASE_URL", self.database_url),
                                          ("SOUNDCUE_REDIS_URL", self.redis_url)) if not value]
            if missing:
                raise ValueError(f"the distributed backend needs {' and '.join(missing)} (see docs/deploy.md)")
        return self

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url.rstrip("/") if url else None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings` from the environment plus ``overrides``.

    Raises:
        ConfigError: one line per invalid setting, naming its environment variable.
    """
    try:
        return Settings(**overrides)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            name = ".".join(str(p) for p in err["loc"])
            var = f"SOUNDCUE_{name.upper()}" if name else "configuration"
            lines.append(f"{var}: {str(err['msg']).removeprefix('Value error, ')}")
        raise ConfigError("invalid soundcue configuration:\n  " + "\n  ".join(lines)) from e


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, validated once (raises :class:`ConfigError`)."""
    return load_settings()
