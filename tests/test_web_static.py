"""The web page's files (issue 13) without a browser: shipped in the package, nothing from another site, served
at ``/`` with its security headers, and what the server tells the page (``/web/config.json``)."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient

from app.core.config import load_settings
from app.main import create_app
from app.web import STATIC_DIR, content_security_policy

ROOT = Path(__file__).resolve().parents[1]


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.inline_scripts = 0
        self.styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.refs.append(str(values[name]))
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        if "style" in values:
            self.styles += 1


def test_every_page_file_is_package_data() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["app"]
    files = [p.relative_to(ROOT / "app").as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert files
    missing = [f for f in files if not any(fnmatch.fnmatch(f, g) and f.count("/") == g.count("/") for g in globs)]
    assert not missing, f"not in [tool.setuptools.package-data] app: {missing}"


def test_the_page_loads_nothing_from_elsewhere() -> None:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    refs = _Refs()
    refs.feed(html)
    assert refs.inline_scripts == 0 and refs.styles == 0  # the CSP allows neither
    local = [r for r in refs.refs if r.startswith("/web/static/")]
    assert local, refs.refs
    for ref in local:
        assert (STATIC_DIR / ref.removeprefix("/web/static/")).is_file(), ref
    assert all(r.startswith(("/", "#", "data:")) for r in refs.refs), refs.refs
    for js in (STATIC_DIR / "js").glob("*.js"):
        text = js.read_text(encoding="utf-8")
        assert not re.search(r"""(import|from)\s*["']https?://""", text), js.name  # no module from a CDN
        for module in re.findall(r"""from\s+["'](\./[^"']+)["']""", text):
            assert (js.parent / module).is_file(), f"{js.name} imports a missing {module}"
        assert "innerHTML" not in text and "eval(" not in text, js.name  # text goes in as text


def test_the_page_is_served_with_its_policy(tmp_path: Path) -> None:
    settings = load_settings(api_keys=["a-key-of-sixteen-chars"], data_dir=tmp_path)
    with TestClient(create_app(settings, start_workers=False)) as http:
        r = http.get("/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert r.headers["content-security-policy"] == content_security_policy(settings)
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "no-referrer"  # share tokens never leak in a Referer
        assert http.get("/web/static/js/main.js").headers["content-type"].startswith("text/javascript")
        config = http.get("/web/config.json").json()
        assert config["auth_required"] is True and config["features"]["audit"] == "/v1/jobs/{job_id}/audit"
        assert "/" not in http.get("/openapi.json").json()["paths"]  # the page is not part of the API
    settings = load_settings(no_auth=True, allow_url_input=False, data_dir=tmp_path / "b")
    with TestClient(create_app(settings, start_workers=False), base_url="http://127.0.0.1:8000") as http:
        config = http.get("/web/config.json").json()
        assert config["auth_required"] is False and config["url_input"] is False
