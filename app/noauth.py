"""What keeps a server without API keys (``soundcue serve --no-auth``) for its own machine's user.

Without keys every caller is the same owner, so anyone who can send a request can list, read and delete
every job. Binding to loopback (the default host, 127.0.0.1) keeps other machines out, but not other web
sites open in the user's own browser: a page from anywhere can send requests to ``http://127.0.0.1:8000``,
and the API answers with ``Access-Control-Allow-Origin: *``. Two rules close that door (issue 13):

* a request that carries an ``Origin`` other than this server's own (a cross-site ``fetch``, a form post, a
  CORS preflight) is refused, except a GET/HEAD with a share ``token`` (a capability link, as a ``<track>`` on
  another page uses it) and origins ``SOUNDCUE_CORS_ORIGINS`` names one by one (its default ``*`` names none);
* the ``Host`` must be an IP address, ``localhost`` (or a ``*.localhost`` name) or the host of
  ``SOUNDCUE_PUBLIC_URL``: a DNS name another site controls could otherwise be re-pointed at 127.0.0.1 after
  the page loaded ("DNS rebinding") and reach the server as its own origin.

Refusals are ``403`` problem+json. Servers with keys are unaffected (a key is never ambient: browsers do not
attach it by themselves).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.problems import ApiProblem, problem_response


def _host_name(netloc: str) -> str:
    """``"[::1]:8000"`` -> ``"::1"``, ``"Example.org:80"`` -> ``"example.org"``."""
    host = urlsplit(f"//{netloc}").hostname
    return (host or "").lower()


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def refusal(method: str, host: str | None, origin: str | None, query: str, public_url: str | None,
            trusted_origins: tuple[str, ...] = ()) -> str | None:
    """Why a no-auth server refuses this request, or None to let it through.

    Args:
        method: HTTP method.
        host: the ``Host`` header (``name[:port]``), None when absent.
        origin: the ``Origin`` header, None when absent (same-origin GETs, non-browser clients).
        query: the raw query string.
        public_url: ``SOUNDCUE_PUBLIC_URL`` (its host and origin are allowed), or None.
        trusted_origins: other origins allowed by name (``SOUNDCUE_CORS_ORIGINS`` without ``*``).
    """
    public = urlsplit(public_url) if public_url else None
    name = _host_name(host or "")
    if not (_is_ip(name) or name == "localhost" or name.endswith(".localhost")
            or (public is not None and name == (public.hostname or "").lower())):
        return (f"this server runs without API keys and answers only to an IP address, localhost or "
                f"SOUNDCUE_PUBLIC_URL's host, not {name or 'a request without a Host'!r}")
    if origin is None:
        return None
    allowed = {f"http://{host}".lower(), f"https://{host}".lower(), *(o.lower().rstrip("/") for o in trusted_origins)}
    if public is not None:
        allowed.add(f"{public.scheme}://{public.netloc}".lower())
    if origin.lower() in allowed:
        return None
    if method in ("GET", "HEAD") and "token" in parse_qs(query):
        return None  # a share link: a capability, not the ambient no-auth identity
    return (f"this server runs without API keys, so it accepts requests only from its own page, not from "
            f"{origin}; start it with SOUNDCUE_API_KEYS, or name that origin in SOUNDCUE_CORS_ORIGINS")


class NoAuthGuard:
    """ASGI middleware applying :func:`refusal` to every HTTP request (install only with ``no_auth``)."""

    def __init__(self, app: ASGIApp, public_url: str | None = None, trusted_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.public_url = public_url
        self.trusted_origins = trusted_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            reason = refusal(scope["method"], headers.get("host"), headers.get("origin"),
                             scope.get("query_string", b"").decode("latin-1"), self.public_url,
                             self.trusted_origins)
            if reason is not None:
                problem = ApiProblem(403, "forbidden-origin", reason, title="Request refused")
                await problem_response(problem, scope.get("path"))(scope, receive, send)
                return
        await self.app(scope, receive, send)
