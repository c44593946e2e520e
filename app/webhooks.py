"""Job webhooks, signed per the Standard Webhooks specification and retried with backoff.

Each delivery is a POST of a small JSON body (``{"type": "job.succeeded", "timestamp": ..., "data": job}``)
with the headers ``webhook-id`` (stable across retries, for de-duplication), ``webhook-timestamp``
(integer seconds) and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``
keyed with the base64-decoded secret). Each API key has its own secret, derived from the server's master
secret, so one tenant cannot forge another's webhooks; ``GET /v1/webhooks/secret`` shows it to its key.

Deliveries are queued in the job store in the same transaction that finishes the job, so a restart does
not lose them; a :class:`WebhookDispatcher` thread sends them, doubling the delay after each failure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from app.backends.base import JobRepository
from app.store import JobRow

log = logging.getLogger("soundcue.webhooks")

SECRET_PREFIX = "whsec_"
#: Receivers should refuse messages whose timestamp is further than this from their clock (seconds).
TOLERANCE_S = 300


class WebhookVerificationError(Exception):
    """A webhook message failed verification."""


def decode_secret(secret: str) -> bytes:
    """The key bytes of a ``whsec_``-prefixed base64 secret.

    Raises:
        ValueError: not ``whsec_`` + base64, or shorter than 24 bytes.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with 'whsec_' followed by base64")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"the webhook secret is not valid base64 ({e})") from e
    if len(key) < 24:
        raise ValueError("the webhook secret must hold at least 24 bytes (192 bits)")
    return key


def encode_secret(key: bytes) -> str:
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def owner_secret(master: bytes, owner: str) -> str:
    """The webhook secret of one API key (``owner`` is the key's hash)."""
    return encode_secret(hmac.new(master, f"webhook-secret:{owner}".encode(), hashlib.sha256).digest())


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one message."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(decode_secret(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
    """Check a received message (for receivers written in Python).

    Raises:
        WebhookVerificationError: missing headers, stale timestamp, or no matching signature.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, ts, sigs = lower["webhook-id"], lower["webhook-timestamp"], lower["webhook-signature"]
        timestamp = int(ts)
    except (KeyError, ValueError) as e:
        raise WebhookVerificationError(f"missing or malformed webhook headers ({e})") from e
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE_S:
        raise WebhookVerificationError("timestamp outside the tolerance window")
    expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
    for candidate in sigs.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise WebhookVerificationError("no matching signature")


def load_master_secret(configured: str | None, data_dir: Path) -> bytes:
    """The configured master secret, or one generated once and kept in ``data_dir`` (mode 0600)."""
    if configured:
        return decode_secret(configured)
    path = data_dir / "webhook_master_secret"
    if path.exists():
        return decode_secret(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = encode_secret(secrets.token_bytes(32))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return decode_secret(secret)


class WebhookDispatcher:
    """A thread that delivers due webhooks from the store.

    Args:
        store: the job store holding the delivery queue.
        master: master secret bytes (per-key secrets derive from it).
        render: job row -> JSON-ready job resource (the API's JobPublic).
        post: ``post(url, body, headers) -> status``; raises on connection errors or refused URLs.
        attempts: deliveries tried before giving up.
        backoff_s: delay before the first retry, doubled for each further retry (capped at one hour).
    """

    def __init__(
        self,
        store: JobRepository,
        master: bytes,
        render: Callable[[JobRow], dict[str, Any]],
        post: Callable[[str, bytes, Mapping[str, str]], int],
        *,
        attempts: int,
        backoff_s: float,
    ) -> None:
        self.store = store
        self.master = master
        self.render = render
        self.post = post
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                for delivery in self.store.due_webhooks():
                    if self._stop.is_set():
                        break
                    self.deliver(delivery)
            except Exception:
                log.exception("webhook dispatcher error")

    def deliver(self, delivery: Mapping[str, Any]) -> bool:
        """Try one delivery now; record the outcome (delivered, retry later, or given up)."""
        job = self.store.get(delivery["job_id"])
        if job is None:
            self.store.webhook_result(delivery["id"], delivered=False, error="job deleted", retry_at=None)
            return False
        timestamp = int(time.time())
        body = json.dumps(
            {"type": delivery["event"], "timestamp": timestamp, "data": self.render(job)},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        secret = owner_secret(self.master, delivery["owner"])
        headers = {
            "webhook-id": delivery["id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, delivery["id"], timestamp, body),
        }
        error: str | None = None
        try:
            status = self.post(delivery["url"], body, headers)
            if 200 <= status < 300:
                self.store.webhook_result(delivery["id"], delivered=True, error=None, retry_at=None)
                log.info("webhook delivered", extra={"job_id": job.id, "webhook_id": delivery["id"]})
                return True
            error = f"HTTP {status}"
        except Exception as e:  # a refused URL or a network error: both retried, then given up
            error = str(e) or type(e).__name__
        attempt = int(delivery["attempts"]) + 1
        retry_at = None
        if attempt < self.attempts:
            retry_at = time.time() + min(self.backoff_s * 2 ** (attempt - 1), 3600.0)
        log.warning(
            "webhook delivery failed (%s), attempt %d/%d",
            error,
            attempt,
            self.attempts,
            extra={"job_id": job.id, "webhook_id": delivery["id"]},
        )
        self.store.webhook_result(delivery["id"], delivered=False, error=error, retry_at=retry_at)
        return False
