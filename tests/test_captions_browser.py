"""A real browser loads our tracks: headless Chromium (Debian ``chromium``) driven by Playwright for Python.

The test serves a tiny WebM it makes with PyAV and our caption files from loopback HTTP servers, opens a
page with ``<video><track></video>`` and reads ``track.cues`` from the page: readyState 2 (LOADED), the
number of cues, their text, times and position settings; the same from a second origin with CORS, and a
refusal without CORS. Skips (saying so) only when chromium or Playwright is missing.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from captions_factory import VOCAB, scene

from captioning.captions import CaptionOptions, build_cues, write_captions

CHROMIUM = os.environ.get("SOUNDCUE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"chromium not found at {CHROMIUM} "
                       "(apt-get install -y chromium)"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None,
                       reason="playwright is not installed (pip install playwright==1.65.2)"),
]


def _write_webm(path: Path, seconds: float = 2.0, fps: int = 10) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 10 % 255, np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


class _Handler(http.server.SimpleHTTPRequestHandler):
    cors_origin: str | None = None
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".vtt": "text/vtt; charset=utf-8", ".webm": "video/webm"}

    def end_headers(self) -> None:
        if self.cors_origin:
            self.send_header("Access-Control-Allow-Origin", self.cors_origin)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass


@functools.cache
def _handler(cors: str | None) -> type[_Handler]:
    return type("Handler", (_Handler,), {"cors_origin": cors})


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Three loopback origins: the page (with the video and captions), a CORS one and a non-CORS one."""
    root = tmp_path_factory.mktemp("site")
    _write_webm(root / "clip.webm")
    write_captions(scene(), root, CaptionOptions(line="10%"), vocabulary=VOCAB)
    servers = []

    def serve(cors: str | None) -> str:
        handler = functools.partial(_handler(cors), directory=str(root))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    page = serve(None)
    urls = {"page": page, "cors": serve(page), "plain": serve(None), "root": str(root)}
    yield urls
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


READ_TRACKS = """async () => {
  const video = document.querySelector('video');
  const tracks = [...video.querySelectorAll('track')];
  for (const t of tracks) if (t.track.mode === 'disabled') t.track.mode = 'hidden';
  await Promise.all(tracks.map(t => t.readyState >= 2 ? null : new Promise(done => {
    t.addEventListener('load', done); t.addEventListener('error', done);
  })));
  return tracks.map(t => ({
    kind: t.kind, readyState: t.readyState,
    cues: t.track.cues ? [...t.track.cues].map(c => ({
      id: c.id, start: c.startTime, end: c.endTime, text: c.text,
      shown: t.kind === 'metadata' ? null : c.getCueAsHTML().textContent,
      position: c.position, align: c.align, line: c.line,
    })) : null,
  }));
}"""


def _open(browser: Any, page_origin: str, track_origin: str, tmp: Path) -> list[dict[str, Any]]:
    html = (f'<!doctype html><video src="{page_origin}/clip.webm" crossorigin="anonymous" muted>'
            f'<track kind="captions" srclang="en" label="Sounds" default src="{track_origin}/captions.vtt">'
            f'<track kind="metadata" src="{track_origin}/captions.metadata.vtt"></video>')
    name = f"page_{track_origin.rsplit(':', 1)[1]}.html"
    (tmp / name).write_text(html, encoding="utf-8")
    page = browser.new_page()
    try:
        page.goto(f"{page_origin}/{name}")
        tracks: list[dict[str, Any]] = page.evaluate(READ_TRACKS)
        return tracks
    finally:
        page.close()


@pytest.mark.parametrize("origin", ["page", "cors"])
def test_chromium_loads_our_captions_and_metadata_tracks(browser: Any, site: dict[str, str],
                                                         origin: str) -> None:
    captions, metadata = _open(browser, site["page"], site[origin], Path(site["root"]))
    expected = build_cues(scene(), CaptionOptions(line="10%"), vocabulary=VOCAB).cues
    assert captions["readyState"] == 2 and metadata["readyState"] == 2
    got = captions["cues"]
    assert len(got) == len(expected) == 8
    assert [c["shown"] for c in got] == [c.text for c in expected]
    assert [c["id"] for c in got] == [c.identifier for c in expected]
    assert [(round(c["start"] * 1000), round(c["end"] * 1000)) for c in got] == [
        (c.start_ms, c.end_ms) for c in expected]
    assert got[0]["shown"] == "[door slams]" and (got[0]["position"], got[0]["align"]) == (90, "right")
    assert (got[2]["position"], got[2]["align"]) == (10, "left")
    assert all(c["line"] == 10 for c in got)
    assert "[kettle whistles &amp; hisses]" in [c["text"] for c in got]  # raw text keeps the escape
    assert [c["id"] for c in metadata["cues"]] == [e.id for e in scene().events]
    assert '"label":"glass_shatter"' in metadata["cues"][3]["text"]


def test_chromium_refuses_a_cross_origin_track_without_cors(browser: Any, site: dict[str, str]) -> None:
    captions, _ = _open(browser, site["page"], site["plain"], Path(site["root"]))
    assert captions["readyState"] == 3  # ERROR: the CORS check is real, so the passing case above means it
