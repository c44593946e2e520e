"""Service building blocks without a server: address policy, sniffing, webhook signatures, settings,
the job store's lease rules, retention and the error mapping."""

from __future__ import annotations

import ipaddress
import json
import sqlite3
import time
from pathlib import Path

import pytest

from app.core.config import ConfigError, load_settings
from app.fetch import AddressPolicy, UrlRefused, check_url
from app.job_errors import canceled_error
from app.problems import problem_for_exception
from app.schemas import JobOptions
from app.store import IdempotencyConflict, JobStore, NewJob
from app.views import job_public
from app.webhooks import WebhookVerificationError, decode_secret, encode_secret, owner_secret, sign, verify
from app.worker import WorkerPool, options_hash
from captioning import errors
from captioning.media import sniff

KEYS = {"api_keys": "k" * 20}


@pytest.mark.parametrize("ip, refused", [
    ("127.0.0.1", "loopback"), ("127.5.5.5", "loopback"), ("::1", "loopback"),
    ("10.0.0.1", "private"), ("172.16.3.4", "private"), ("192.168.1.1", "private"), ("fd12::1", "private"),
    ("169.254.169.254", "metadata"), ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("100.64.0.1", "public"), ("0.0.0.0", "private"), ("224.0.0.1", "public"), ("::ffff:10.0.0.1", "private"),
    ("93.184.216.34", None), ("2606:4700::1111", None),
])
def test_address_policy(ip: str, refused: str | None) -> None:
    reason = AddressPolicy().check(ipaddress.ip_address(ip))
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and (refused in reason or (refused == "public" and "public" in reason))


def test_allow_ranges_never_open_metadata_addresses() -> None:
    policy = AddressPolicy((ipaddress.ip_network("127.0.0.2/32"), ipaddress.ip_network("169.254.0.0/16")))
    assert policy.check(ipaddress.ip_address("127.0.0.2")) is None
    assert policy.check(ipaddress.ip_address("127.0.0.1")) is not None
    assert policy.check(ipaddress.ip_address("169.254.169.254")) == "a cloud metadata address"


@pytest.mark.parametrize("url", ["http://localhost:80/a", "http://foo.localhost/a", "https://[::1]/a",
                                 "ftp://example.com/a", "http://u:p@1.1.1.1/a", "http:///nohost"])
def test_check_url_refuses(url: str) -> None:
    with pytest.raises(UrlRefused):
        check_url(url, AddressPolicy())


def test_check_url_accepts_public_literal() -> None:
    target = check_url("https://93.184.216.34:8443/v.mp4", AddressPolicy())
    assert str(target.address) == "93.184.216.34" and target.host == "93.184.216.34"


@pytest.mark.parametrize("head, ok", [
    (b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(300), True),
    (b"\x00\x00\x00\x20ftypisom" + bytes(300), True),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(300), True),
    (b"\x1aE\xdf\xa3" + bytes(300), True),  # Matroska/WebM
    (b"\x89PNG\r\n\x1a\n" + bytes(300), False),
    (b"PK\x03\x04" + bytes(300), False),
    (b"%PDF-1.7\n" + bytes(300), False),
    (b"  <!DOCTYPE html><html>", False),
    (b"just some notes\n" * 20, False),
    (b"", False),
])
def test_sniff(head: bytes, ok: bool) -> None:
    assert (sniff(head) is None) is ok


def test_webhook_signature_round_trip_and_tampering() -> None:
    secret = encode_secret(bytes(range(32)))
    body = b'{"type":"job.succeeded"}'
    now = int(time.time())
    signature = sign(secret, "msg_1", now, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": signature}
    verify(secret, headers, body)
    with pytest.raises(WebhookVerificationError):
        verify(secret, headers, body + b" ")
    with pytest.raises(WebhookVerificationError):
        verify(encode_secret(bytes(32)), headers, body)
    with pytest.raises(WebhookVerificationError, match="timestamp"):
        verify(secret, headers, body, now=now + 3600)
    # Several signatures (key rotation): any one matching is enough.
    rotated = {**headers, "webhook-signature": "v1,AAAA " + headers["webhook-signature"]}
    verify(secret, rotated, body)


def test_webhook_secrets() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        decode_secret("abc")
    with pytest.raises(ValueError, match="24 bytes"):
        decode_secret(encode_secret(b"short"))
    master = bytes(32)
    assert owner_secret(master, "a") != owner_secret(master, "b")
    assert len(decode_secret(owner_secret(master, "a"))) == 32


def test_settings_parse_lists_and_fail_fast(tmp_path: Path) -> None:
    s = load_settings(api_keys="a" * 16 + ", " + "b" * 16, url_allow_cidrs="10.0.0.0/8,::1", data_dir=tmp_path)
    assert s.api_keys == ["a" * 16, "b" * 16] and len(s.url_allow_cidrs) == 2
    with pytest.raises(ConfigError, match="SOUNDCUE_API_KEYS"):
        load_settings(api_keys="")
    with pytest.raises(ConfigError, match="at least 16 characters"):
        load_settings(api_keys="short")
    with pytest.raises(ConfigError, match="SOUNDCUE_URL_ALLOW_CIDRS"):
        load_settings(url_allow_cidrs="not-a-network", **KEYS)
    with pytest.raises(ConfigError, match="SOUNDCUE_WORKERS"):
        load_settings(workers=0, **KEYS)
    with pytest.raises(ConfigError, match="SOUNDCUE_WEBHOOK_SECRET"):
        load_settings(webhook_secret="nope", **KEYS)
    assert load_settings(no_auth=True).no_auth


def test_default_options_ask_for_nothing_unimplemented() -> None:
    assert JobOptions().unimplemented() == []
    assert JobOptions.model_validate({"outputs": ["audio", "video"], "foley": {"audio_format": "mp3"}}
                                     ).unimplemented() == []  # the Foley outputs exist (issue 11)
    a, b = JobOptions(detailed_log=True), JobOptions(enable_cache=False)
    assert options_hash(a, {}) == options_hash(b, {}) != options_hash(JobOptions(min_confidence=0.5), {})


def _new(owner: str = "o", key: str | None = None, request_hash: str = "h") -> NewJob:
    return NewJob(owner=owner, source={"kind": "upload"}, options={}, options_hash="x", idem_key=key,
                  request_hash=request_hash)


def test_store_idempotency_and_isolation(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db")
    job, created = store.create(_new(key="k1"))
    again, created_again = store.create(_new(key="k1"))
    assert created and not created_again and again.id == job.id
    with pytest.raises(IdempotencyConflict):
        store.create(_new(key="k1", request_hash="other"))
    other, created_other = store.create(_new(owner="p", key="k1"))  # keys are per owner
    assert created_other and other.id != job.id
    assert store.get(job.id, "p") is None and store.get(job.id, "o") is not None


def test_store_leases_guard_every_worker_write(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.db", retention_s=60)
    job, _ = store.create(_new())
    claimed = store.claim("lease-1")
    assert claimed is not None and claimed.id == job.id and claimed.attempts == 1
    assert store.claim("lease-2") is None  # nothing else queued
    # The worker dies: the job goes back to the queue; the dead lease can no longer write.
    assert store.release("lease-1", "crashed", max_attempts=2) == [(job.id, "queued")]
    assert not store.progress(job.id, "lease-1", "analyze", 0.5)
    assert not store.succeed(job.id, "lease-1", [], [])
    assert store.claim("lease-2") is not None
    assert store.release("lease-2", "crashed again", max_attempts=2) == [(job.id, "failed")]
    failed = store.get(job.id)
    assert failed is not None and failed.status == "failed" and "crashed again" in failed.error["detail"]
    # A canceled job cannot be completed by its worker.
    job2, _ = store.create(_new())
    store.claim("lease-3")
    canceled = store.cancel(job2.id)
    assert canceled is not None and canceled.status == "canceled" and canceled.error == canceled_error(job2.id)
    assert canceled.error["type"] == "tag:soundcue,2025:problem:canceled" and canceled.error["status"] == 409
    assert not store.succeed(job2.id, "lease-3", [{"name": "x"}], [])
    assert store.stale_leases() == [(job2.id, "lease-3")]


@pytest.mark.parametrize("stored, status", [
    ({"type": "canceled", "title": "Canceled", "detail": "The job was canceled.", "status": None}, 409),
    ({"type": "tag:soundcue,2025:problem:worker-lost", "title": "Job could not be completed", "detail": "lost"}, 500),
    ({"type": "tag:soundcue,2025:problem:job-timeout", "title": "Job took too long", "detail": "slow"}, 500),
    ({"type": "tag:soundcue,2025:problem:media-decode", "title": "t", "detail": "d", "status": 422}, 422),
])
def test_job_errors_kept_by_earlier_versions_read_in_the_documented_shape(
        tmp_path: Path, stored: dict[str, object], status: int) -> None:
    """Rows written before every job error was a full problem (bare "canceled", no status) still read."""
    store = JobStore(tmp_path / "jobs.db")
    job, _ = store.create(_new())
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE jobs SET status = 'failed', error = ? WHERE id = ?", (json.dumps(stored), job.id))
    row = store.get(job.id)
    assert row is not None
    error = job_public(row, "https://captions.example.org").model_dump(mode="json")["error"]
    slug = str(stored["type"]).rsplit(":", 1)[-1]
    assert error == {"type": f"tag:soundcue,2025:problem:{slug}", "title": stored["title"], "status": status,
                     "detail": stored["detail"], "instance": f"https://captions.example.org/v1/jobs/{job.id}"}


def test_retention_deletes_expired_jobs_and_files(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, retention_s=0.05, **KEYS)
    store = JobStore(settings.db_path, retention_s=settings.retention_s)
    old, _ = store.create(_new())
    store.claim("l")
    assert store.succeed(old.id, "l", [], [])
    running, _ = store.create(_new())
    store.claim("m")
    (settings.jobs_dir / old.id / "results").mkdir(parents=True)
    time.sleep(0.1)
    assert WorkerPool(settings, store).sweep() == 1
    assert store.get(old.id) is None and not (settings.jobs_dir / old.id).exists()
    assert store.get(running.id) is not None  # unfinished jobs never expire


@pytest.mark.parametrize("exc, status, slug", [
    (errors.MediaNotFoundError("x: no such file"), 400, "media-not-found"),
    (errors.MediaDecodeError("x: not media"), 422, "media-decode"),
    (errors.NoAudioStreamError("x: no audio"), 422, "no-audio-stream"),
    (errors.MediaError("x: too long"), 422, "media-invalid"),
    (errors.InvalidOptionsError("bad"), 422, "invalid-options"),
    (errors.ModelLoadError("missing"), 503, "model-unavailable"),
    (RuntimeError("secret internals /srv/x"), 500, "internal"),
])
def test_error_mapping(exc: Exception, status: int, slug: str) -> None:
    problem = problem_for_exception(exc)
    assert problem.status == status and problem.to_dict()["type"].endswith(slug)
    if status == 500:
        assert "secret" not in problem.detail  # unexpected errors never leak their message
