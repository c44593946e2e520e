"""The README's picture of the web page (issue 13), taken from a real run.

Starts ``soundcue serve --no-auth`` (real models) on a free loopback port with a temporary data directory,
opens its page in headless Chromium (Debian ``chromium``, Playwright), uploads samples/street_scene.mp4 with
vibrations and (when the server renders it) the Foley track, waits for the job, moves the video to the siren
and saves the results panel as a PNG. Prints how long the job took in the page.

    .venv/bin/python scripts/screenshot_web.py                      # -> docs/img/web.png
    .venv/bin/python scripts/screenshot_web.py --at 6.9 -o out/web.png
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SOUNDCUE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"soundcue serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"soundcue serve not ready after {timeout_s} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=ROOT / "samples" / "street_scene.mp4")
    parser.add_argument("--at", type=float, default=5.3, help="Media time shown (s).")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "img" / "web.png")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--no-auth", "--port", str(port),
                                 "--workers", "1", "--data-dir", data], cwd=ROOT,
                                env={**os.environ, "SOUNDCUE_LOG_LEVEL": "WARNING"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_ready(url, proc)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1000, "height": 720}, device_scale_factor=1)
                page.goto(url + "/")
                page.wait_for_selector("body[data-ready]", state="attached")
                page.set_input_files("#file", str(args.video))
                page.check("#out-haptics")
                if page.is_visible("#out-audio"):
                    page.check("#out-audio")
                t0 = time.monotonic()
                page.click("#submit")
                page.wait_for_selector("#results-panel:not([hidden]), #alert:not([hidden])", timeout=300_000)
                if page.is_visible("#alert"):
                    raise SystemExit(f"the job failed: {page.text_content('#alert')}")
                print(f"job done in the page after {time.monotonic() - t0:.1f} s")
                # seek, then give the frame there time to be painted
                page.evaluate("""(t) => new Promise(done => {
                    const v = document.querySelector('video');
                    v.addEventListener('seeked', () => done(), {once: true});
                    setTimeout(done, 10000);
                    v.currentTime = t;
                })""", args.at)
                page.wait_for_timeout(700)
                page.evaluate("document.activeElement.blur()")
                top = page.locator("#results-panel").bounding_box()
                bottom = page.locator("#event-list").bounding_box()
                assert top is not None and bottom is not None
                args.output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.output), full_page=True, clip={
                    "x": top["x"], "y": top["y"], "width": top["width"],
                    "height": bottom["y"] + bottom["height"] - top["y"] + 8})
                browser.close()
            print(f"wrote {args.output}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
