"""Fetch a URL safely: no server-side request forgery, bounded size and time, media only.

Rules (issue 3): http and https only, no credentials in the URL; the host is resolved and *every*
address must be public (not loopback, private, link-local, shared, multicast, reserved, or a cloud
metadata address) unless it falls in an operator-configured allow range; the connection then goes to
the address that was checked (no second DNS lookup an attacker could rebind), with the original Host
header and TLS server name. Redirects are followed by hand, each hop checked the same way. Downloads
are streamed to disk and stopped as soon as they pass the size limit, and the content type and the first
bytes (container magic numbers) must look like audio or video.

Time (issue 14): a fetch, and a webhook delivery, has one wall-clock limit over the whole exchange: DNS,
connections, every redirect, headers and body. It is an asyncio timeout around the exchange, so it cuts off
a read that is still waiting; a per-read timeout would not, since a server sending a byte at a time restarts
it with every byte and could hold a worker for hours.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import httpx

from app.problems import ApiProblem
from captioning.media import SNIFF_BYTES, sniff

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
T = TypeVar("T")

#: Cloud metadata endpoints: refused even inside an allow range.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
#: Content types that are certainly not media (refused before downloading the body).
NON_MEDIA_TYPES = (
    "text/",
    "image/",
    "application/json",
    "application/xml",
    "application/pdf",
    "application/zip",
    "application/javascript",
    "application/x-tar",
    "application/gzip",
)
DNS_TIMEOUT_S = 5.0


class UrlRefused(ApiProblem):
    """The URL (or one of its redirects) points somewhere the service must not connect to."""

    def __init__(self, detail: str) -> None:
        super().__init__(422, "url-refused", detail, title="URL refused")


class FetchFailed(ApiProblem):
    """The URL could not be downloaded (network error, HTTP error status, timeout)."""

    def __init__(self, detail: str) -> None:
        super().__init__(422, "url-fetch-failed", detail, title="URL could not be fetched")


class TooLarge(ApiProblem):
    def __init__(self, detail: str) -> None:
        super().__init__(413, "too-large", detail, title="Content too large")


class NotMedia(ApiProblem):
    def __init__(self, detail: str) -> None:
        super().__init__(415, "not-media", detail, title="Not an audio or video file")


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses may be connected to.

    Attributes:
        allow: ranges exempted from the public-address rule (metadata addresses stay refused).
    """

    allow: Sequence[IPNetwork] = ()

    def check(self, ip: IPAddress) -> str | None:
        """None if ``ip`` may be contacted, else the reason it may not."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if any(ip in net for net in self.allow if net.version == ip.version):
            return None
        if ip.is_loopback:
            return "a loopback address"
        if ip.is_link_local:
            return "a link-local address"
        if ip.is_private:
            return "a private address"
        if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
            return "not a public address"
        return None


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``address``) and what to say (``host``)."""

    url: httpx.URL
    host: str
    address: IPAddress


def _resolve(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[IPAddress] = []
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if addr not in out:
            out.append(addr)
    return out


_dns_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="dns")


def check_url(url: str, policy: AddressPolicy) -> Target:
    """Validate ``url`` and resolve its host; every resolved address must pass ``policy``.

    Raises:
        UrlRefused: bad scheme, credentials, a host that does not resolve, or a refused address.
    """
    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as e:
        raise UrlRefused(f"{url!r} is not a valid URL ({e})") from e
    if u.scheme not in ("http", "https"):
        raise UrlRefused(f"only http and https URLs are accepted, not {u.scheme or 'no scheme'!r}")
    if u.userinfo:
        raise UrlRefused("URLs with a user name or password are not accepted")
    host = u.host
    if not host:
        raise UrlRefused(f"{url!r} has no host")
    port = u.port or (443 if u.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        if host.lower().rstrip(".") in ("localhost",) or host.lower().endswith(".localhost"):
            raise UrlRefused(f"{host!r} names this machine; only public hosts are fetched")
        try:
            addresses = _dns_pool.submit(_resolve, host, port).result(timeout=DNS_TIMEOUT_S)
        except concurrent.futures.TimeoutError as e:
            raise UrlRefused(f"the host {host!r} did not resolve within {DNS_TIMEOUT_S:.0f} s") from e
        except (OSError, UnicodeError, ValueError) as e:
            raise UrlRefused(f"the host {host!r} does not resolve ({e})") from e
        if not addresses:
            raise UrlRefused(f"the host {host!r} does not resolve")
    for addr in addresses:
        reason = policy.check(addr)
        if reason:
            raise UrlRefused(f"{host!r} resolves to {addr}, {reason}; only public addresses are fetched")
    return Target(url=u, host=host, address=addresses[0])


async def _send(
    client: httpx.AsyncClient, method: str, target: Target, headers: Mapping[str, str], content: bytes | None
) -> httpx.Response:
    """Send to the checked address, keeping the original Host header and TLS server name."""
    pinned = target.url.copy_with(host=str(target.address))
    host_header = target.url.netloc.decode("ascii")
    request = client.build_request(
        method,
        pinned,
        headers={**headers, "Host": host_header},
        content=content,
        extensions={"sni_hostname": target.host} if target.url.scheme == "https" else {},
    )
    return await client.send(request, stream=True)


def looks_like_non_media(content_type: str | None) -> bool:
    ct = (content_type or "").split(";", 1)[0].strip().lower()
    return any(ct.startswith(t) for t in NON_MEDIA_TYPES)


@dataclass(frozen=True)
class Fetched:
    path: Path
    size_bytes: int
    sha256: str
    content_type: str | None
    final_url: str


@dataclass
class _Exchange:
    """How far one fetch or delivery got, for the problem raised when its time is up."""

    host: str
    stage: str = "did not accept the connection"
    received: int = 0
    redirects: int = 0

    def but(self) -> str:
        """What had happened by then, as a parenthesis (empty when nothing had)."""
        done = [f"{self.redirects} redirect{'s' * (self.redirects != 1)} followed"] if self.redirects else []
        done += [f"{self.received} bytes received"] if self.received else []
        return f" ({', '.join(done)})" if done else ""


async def _in_time(work: Awaitable[T], budget_s: float, on_timeout: Callable[[], ApiProblem]) -> T:
    """Await ``work`` under one wall-clock budget (seconds), raising ``on_timeout()`` when it runs out.

    The budget cancels whatever ``work`` is waiting on at that moment: a connection, a DNS lookup, a read
    that a server answers one byte at a time. Per-read timeouts cannot do this: each byte restarts them.
    """
    scope = asyncio.timeout(budget_s)
    try:
        async with scope:
            return await work
    except TimeoutError:
        if scope.expired():
            raise on_timeout() from None
        raise


def _run_in_time(work: Callable[[], Awaitable[T]], budget_s: float, on_timeout: Callable[[], ApiProblem]) -> T:
    """Run ``work()`` in an event loop of its own (callers are worker threads and processes), in time."""
    if budget_s <= 0:
        raise on_timeout()
    return asyncio.run(_in_time(work(), budget_s, on_timeout))


def _host_of(url: str) -> str:
    try:
        return httpx.URL(url).host or url
    except (httpx.InvalidURL, TypeError, ValueError):
        return url


async def _check_url(url: str, policy: AddressPolicy) -> Target:
    """:func:`check_url` off the event loop, so the deadline also bounds a slow DNS answer."""
    return await asyncio.get_running_loop().run_in_executor(_check_pool, check_url, url, policy)


# A thread left behind by a cancelled check ends by itself within DNS_TIMEOUT_S; no one waits for it.
_check_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="url-check")


def fetch_to_file(
    url: str,
    dest: Path,
    *,
    policy: AddressPolicy,
    max_bytes: int,
    timeout_s: float,
    max_redirects: int = 5,
    media: bool = True,
    byterange: tuple[int, int] | None = None,
    deadline: float | None = None,
) -> Fetched:
    """Download ``url`` to ``dest`` under the rules of this module.

    Args:
        url: http(s) URL.
        dest: file to write (its directory must exist); removed again on any error.
        policy: which addresses may be contacted.
        max_bytes: size limit in bytes, enforced while streaming.
        timeout_s: wall-clock limit in seconds for the whole fetch: DNS, connections, redirects, headers and
            body, enforced even while a read waits (a server sending a byte at a time is cut off at the limit).
        max_redirects: redirects to follow, each checked like the first URL.
        media: refuse what is not audio or video (content type, first bytes); False for a text resource the
            caller checks itself (an HLS playlist).
        byterange: (offset, length) in bytes: only that part is downloaded (``Range``; a server that answers
            200 with the whole resource is read up to the range's end), ``max_bytes`` applying to the part.
        deadline: a ``time.monotonic()`` instant the fetch must also end by, for several fetches that share
            one ``timeout_s`` (an HLS rendition's playlist and segments); None: ``timeout_s`` from now.

    Raises:
        UrlRefused, FetchFailed (the detail names the time limit when it is reached), TooLarge, NotMedia.
    """
    budget = timeout_s if deadline is None else min(timeout_s, deadline - time.monotonic())
    state = _Exchange(host=_host_of(url))

    def too_slow() -> FetchFailed:
        return FetchFailed(
            f"{state.host} {state.stage} within the time limit of {timeout_s:g} s for URL downloads{state.but()}; "
            "upload the file instead, or serve it from a host that sends it faster"
        )

    try:
        return _run_in_time(
            lambda: _fetch(url, dest, policy, max_bytes, max_redirects, media, byterange, state), budget, too_slow
        )
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


async def _fetch(
    url: str,
    dest: Path,
    policy: AddressPolicy,
    max_bytes: int,
    max_redirects: int,
    media: bool,
    byterange: tuple[int, int] | None,
    state: _Exchange,
) -> Fetched:
    current = url
    # No httpx timeouts: the caller's deadline bounds the whole exchange (a per-read timeout restarts with
    # every byte, so a trickling server would never hit it).
    async with httpx.AsyncClient(timeout=None, follow_redirects=False, trust_env=False) as client:
        for _hop in range(max_redirects + 1):
            state.stage = "did not resolve"
            target = await _check_url(current, policy)
            state.host, state.stage = target.host, "did not answer"
            headers = {"Accept": "video/*, audio/*, */*;q=0.1"}
            if byterange is not None:
                headers["Range"] = f"bytes={byterange[0]}-{byterange[0] + byterange[1] - 1}"
            try:
                response = await _send(client, "GET", target, headers, None)
            except httpx.HTTPError as e:
                raise FetchFailed(f"could not connect to {target.host}: {e}") from e
            try:
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchFailed(f"{target.host} answered {response.status_code} without a Location")
                    current = urljoin(str(target.url), location)
                    state.redirects += 1
                    continue
                state.stage = "did not send the whole file"
                return await _download(response, target, dest, max_bytes, media, byterange, state)
            finally:
                await response.aclose()
        raise FetchFailed(f"more than {max_redirects} redirects")


async def _download(
    response: httpx.Response,
    target: Target,
    dest: Path,
    max_bytes: int,
    media: bool,
    byterange: tuple[int, int] | None,
    state: _Exchange,
) -> Fetched:
    partial = byterange is not None and response.status_code == 206
    if response.status_code != 200 and not partial:
        raise FetchFailed(
            f"{target.url} answered HTTP {response.status_code}; the file must be downloadable "
            "without authentication"
        )
    content_type = response.headers.get("content-type")
    if media and looks_like_non_media(content_type):
        raise NotMedia(f"{target.url} is {content_type}, not an audio or video file")
    length = response.headers.get("content-length")
    if byterange is None and length and length.isdigit() and int(length) > max_bytes:
        raise TooLarge(f"the file is {int(length)} bytes; the limit is {max_bytes} bytes")
    if byterange is not None and byterange[1] > max_bytes:
        raise TooLarge(f"the byte range is {byterange[1]} bytes; the limit is {max_bytes} bytes")
    # A server that ignores Range sends the whole resource: skip to the range, stop at its end.
    skip = byterange[0] if byterange is not None and not partial else 0
    want = byterange[1] if byterange is not None else None
    if skip and skip + (want or 0) > max_bytes:
        raise TooLarge(f"{target.url} ignores Range requests and the byte range ends past the limit of "
                       f"{max_bytes} bytes")
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with dest.open("wb") as f:
            async for chunk in response.aiter_bytes():  # as the bytes arrive: the limits act at once
                state.received += len(chunk)
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                if want is not None:
                    chunk = chunk[: want - size]
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"the file is larger than the limit of {max_bytes} bytes")
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                    if media and len(head) >= SNIFF_BYTES and (why := sniff(head)):
                        raise NotMedia(f"{target.url}: {why}")
                digest.update(chunk)
                f.write(chunk)
                if want is not None and size >= want:
                    break
    except httpx.HTTPError as e:
        raise FetchFailed(f"the download from {target.host} failed: {e}") from e
    if media and (why := sniff(head)):
        raise NotMedia(f"{target.url}: {why}")
    if byterange is not None and size < byterange[1]:
        raise FetchFailed(f"{target.url} ended before the byte range {byterange[1]}@{byterange[0]}")
    return Fetched(dest, size, digest.hexdigest(), content_type, str(target.url))


def post_json(
    url: str, body: bytes, headers: Mapping[str, str], *, policy: AddressPolicy, timeout_s: float
) -> int:
    """POST ``body`` (JSON) to ``url`` with the same address rules; returns the HTTP status.

    Redirects are not followed (a 3xx counts as a failed delivery). ``timeout_s`` (seconds) bounds the whole
    delivery, DNS to the answer's headers, even against a receiver that answers a byte at a time.

    Raises:
        UrlRefused: the URL is refused by ``policy``.
        FetchFailed: the connection failed, or the delivery did not end within ``timeout_s``.
    """
    state = _Exchange(host=_host_of(url))

    def too_slow() -> FetchFailed:
        return FetchFailed(f"{state.host} {state.stage} within the time limit of {timeout_s:g} s")

    return _run_in_time(lambda: _post(url, body, headers, policy, state), timeout_s, too_slow)


async def _post(url: str, body: bytes, headers: Mapping[str, str], policy: AddressPolicy, state: _Exchange) -> int:
    state.stage = "did not resolve"
    target = await _check_url(url, policy)
    state.host, state.stage = target.host, "did not answer the webhook"
    hdrs: dict[str, Any] = {"Content-Type": "application/json", "User-Agent": "soundcue-webhooks", **headers}
    try:
        async with httpx.AsyncClient(timeout=None, follow_redirects=False, trust_env=False) as client:
            response = await _send(client, "POST", target, hdrs, body)
            await response.aclose()
            return response.status_code
    except httpx.HTTPError as e:
        raise FetchFailed(f"could not deliver to {target.host}: {e}") from e
