"""The web page at ``/`` (issue 13), end to end in a real browser.

Headless Chromium (Debian ``chromium``) driven by Playwright for Python opens the page of the real service
(tests/api_server.py: uvicorn on loopback, real job store and workers, the rule-based stand-in models of
tests/fake_analysis.py), uploads a clip the test draws (tests/video_factory.py: a flash and a knock at each of
KNOCKS_S), waits for the job and then checks what a person would: the video's text track holds the job's cues
and shows them, the timeline shows every event and seeks when one is activated, downloads give the result
files, the whole flow works from the keyboard alone with visible focus, a share link opens the results without
a key, "feel it" calls navigator.vibrate at the Web Vibration chunks' times, and axe-core (npm, tests/js)
finds no serious or critical accessibility violation. Screenshots go to out/test-artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import test_captions_browser as chromium
import webvtt
from api_server import KEY_A, Server, client
from captions_factory import JS_DIR
from media_factory import SR, knock, noise_floor, place, write_audio, write_video
from video_factory import write_frames

from app.noauth import refusal

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("SOUNDCUE_TEST_ARTIFACTS") or ROOT / "out" / "test-artifacts")
AXE = JS_DIR / "node_modules" / "axe-core" / "axe.min.js"
KNOCKS_S = (1.0, 2.5, 4.2)
CLIP_S = 6.0
FPS = 25
#: Chromium flags of the caption tests, plus playback started by the test (no user gesture in headless).
LAUNCH_ARGS = [*chromium.CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
MEDIA_HOST = "127.0.0.2"  # a "public" media site for URL input (allowed by SOUNDCUE_URL_ALLOW_CIDRS)

pytestmark = chromium.pytestmark


# -- fixtures ------------------------------------------------------------------------------------------------


def _draw(i: int, t: float) -> np.ndarray:
    """Dark frame; a white square for 0.2 s from each knock (something to see at each sound)."""
    img = np.full((96, 128, 3), (20, 30, 60), np.uint8)
    if any(k <= t < k + 0.2 for k in KNOCKS_S):
        img[28:68, 44:84] = 255
    return img


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s H.264/AAC MP4: three knocks over a faint noise floor, a flash at each."""
    audio = place(noise_floor(CLIP_S), knock(), KNOCKS_S)
    assert audio.size == int(CLIP_S * SR)
    return write_frames(tmp_path_factory.mktemp("web_media") / "knocks.mp4", _draw,
                        [i / FPS for i in range(int(CLIP_S * FPS))], audio=audio)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def media_site(clip: Path) -> Iterator[str]:
    """The clip on a second loopback address, as a video site would serve it (for URL input)."""
    srv = http.server.ThreadingHTTPServer((MEDIA_HOST, 0), functools.partial(_Quiet, directory=str(clip.parent)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://{MEDIA_HOST}:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """Two real services, started side by side: one with API keys, one with ``--no-auth`` (no keys)."""
    made = {
        "keys": Server(tmp_path_factory.mktemp("web") / "data",
                       {"SOUNDCUE_URL_ALLOW_CIDRS": f"{MEDIA_HOST}/32", "SOUNDCUE_WORKERS": "1"}),
        "no_auth": Server(tmp_path_factory.mktemp("web_noauth") / "data",
                          {"SOUNDCUE_API_KEYS": "", "SOUNDCUE_NO_AUTH": "1", "SOUNDCUE_WORKERS": "1"}),
    }
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(srv.start) for srv in made.values()]
    try:
        for future in futures:
            future.result()
        yield made
    finally:
        for srv in made.values():
            srv.stop()


@pytest.fixture(scope="module")
def server(servers: dict[str, Server]) -> Server:
    return servers["keys"]


@pytest.fixture(scope="module")
def no_auth_server(servers: dict[str, Server]) -> Server:
    return servers["no_auth"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium.CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh context (its own sessionStorage), failing the test on any script error."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(20_000)
    yield pg
    context.close()
    assert not errors, errors


# -- helpers -------------------------------------------------------------------------------------------------


def open_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready]", state="attached")


def enter_key(page: Any, key: str = KEY_A) -> None:
    page.fill("#api-key", key)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#key-state:has-text('Key accepted')")


def wait_results(page: Any) -> None:
    try:
        page.wait_for_selector("#results-panel:not([hidden]), #alert:not([hidden])", timeout=60_000)
    finally:
        save_screenshot(page, "web_last_wait.png")
    assert not page.is_visible("#alert"), page.text_content("#alert")
    wait_until(page, "document.querySelectorAll('#timeline .tl-item').length > 0")


def wait_until(page: Any, js: str, arg: Any = None, timeout_s: float = 20.0) -> Any:
    """Poll ``js`` (an expression, or a function of ``arg``) in the page until it is truthy.

    Not ``page.wait_for_function``: its polling evaluates strings inside the page, which the page's
    Content-Security-Policy (no 'unsafe-eval') rightly refuses.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(js, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {js}")
        time.sleep(0.03)


def job_id(page: Any) -> str:
    value: str = page.evaluate("new URLSearchParams(location.hash.slice(1)).get('job')")
    assert value and value.startswith("job_")
    return value


PAGE_CUES = """() => {
  const video = document.querySelector('video');
  const track = video.textTracks[0];
  return {mode: track.mode, kind: track.kind,
          cues: track.cues ? [...track.cues].map(c => ({start: c.startTime, end: c.endTime, text: c.text})) : null};
}"""


def vtt_cues(text: str) -> list[tuple[float, float, str]]:
    return [(_s(c.start), _s(c.end), c.text) for c in webvtt.from_string(text).captions]


def _s(timestamp: str) -> float:
    h, m, s = timestamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def api_result(server: Server, job: str, name: str) -> bytes:
    with client(server) as http:
        r = http.get(f"/v1/jobs/{job}/{name}")
        assert r.status_code == 200, r.text
        return r.content


def save_screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def focus_visible(page: Any) -> dict[str, Any]:
    """The focused element and how its focus is drawn."""
    result: dict[str, Any] = page.evaluate("""() => {
      const el = document.activeElement;
      const s = getComputedStyle(el);
      return {id: el.id, tag: el.tagName, cls: el.className, outline: s.outlineStyle,
              width: parseFloat(s.outlineWidth)};
    }""")
    return result


def press_for_file_chooser(page: Any, key: str, timeout_s: float = 20.0) -> Any:
    """Press ``key`` on the focused file input and return the file chooser it opens.

    Not ``page.expect_file_chooser()`` around the press: adding the first listener turns Chromium's
    chooser interception on fire-and-forget, so a key pressed at once can open the chooser before the
    interception is on, and the event never comes (the race of puppeteer/puppeteer#6040). Here the
    listener is added and a round trip made through the page before the key goes down.
    """
    opened: list[Any] = []

    def on_chooser(chooser: Any) -> None:
        opened.append(chooser)

    page.on("filechooser", on_chooser)
    try:
        page.evaluate("document.activeElement.type")  # a round trip: interception is on by now
        page.keyboard.press(key)
        deadline = time.monotonic() + timeout_s
        while not opened and time.monotonic() < deadline:
            page.wait_for_timeout(50)
    finally:
        page.remove_listener("filechooser", on_chooser)
    assert opened, f"pressing {key} on the focused file input opened no file chooser in {timeout_s:g} s"
    return opened[0]


def tab_to(page: Any, selector: str, limit: int = 40, *, back: bool = False) -> None:
    """Press Tab (Shift+Tab) until the focused element matches ``selector``; every stop shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        state = focus_visible(page)
        if state["tag"] != "BODY":
            assert state["outline"] != "none" and state["width"] >= 2, state
        if page.evaluate("(sel) => document.activeElement.matches(sel)", selector):
            return
    raise AssertionError(f"{selector} not reached with the keyboard in {limit} Tab presses")


# -- the main flow -------------------------------------------------------------------------------------------


def test_upload_plays_with_the_caption_track_and_the_timeline(page: Any, server: Server, clip: Path) -> None:
    open_page(page, server.url + "/")
    assert page.is_visible("#key-panel")  # the server has keys: the page asks for one
    enter_key(page)
    page.set_input_files("#file", str(clip))
    page.check("#out-haptics")
    page.evaluate("""() => {  // what the progress line says while the job runs
      window.progressSeen = [];
      const line = document.getElementById('progress-text');
      new MutationObserver(() => window.progressSeen.push(line.textContent)).observe(line, {childList: true});
    }""")
    page.click("#submit")
    wait_results(page)
    job = job_id(page)
    seen = page.evaluate("window.progressSeen")
    assert seen[0].startswith("uploading the file") and any(re.match(r"(queued|running)\b.*\(\d+%\)$", s)
                                                            for s in seen), seen

    # the video plays the local file, with the job's caption track loaded, on (showing) by default
    wait_until(page, "document.querySelector('video').readyState >= 1")
    got = page.evaluate(PAGE_CUES)
    assert got["kind"] == "captions" and got["mode"] == "showing"
    served = vtt_cues(api_result(server, job, "captions.vtt").decode())
    assert len(served) == len(KNOCKS_S)
    assert [(round(c["start"], 3), round(c["end"], 3), c["text"]) for c in got["cues"]] == [
        (round(s, 3), round(e, 3), t) for s, e, t in served]
    for k in KNOCKS_S:  # a cue at each knock (the cue starts on a frame boundary at or before it)
        assert any(-0.25 <= k - c["start"] <= 0.25 for c in got["cues"]), (k, got["cues"])

    page.uncheck("#captions-on")  # the captions switch turns the track off and on
    assert page.evaluate(PAGE_CUES)["mode"] == "hidden"
    page.check("#captions-on")
    assert page.evaluate(PAGE_CUES)["mode"] == "showing"

    # the timeline: every event once, named, in its category's row (name and shape, not colour alone)
    events = json.loads(api_result(server, job, "events.json"))["events"]
    buttons = page.evaluate("""() => [...document.querySelectorAll('#timeline .tl-event')].map(b => ({
        id: b.dataset.eventId, text: b.textContent, label: b.getAttribute('aria-label'),
        row: b.closest('.tl-lane').querySelector('.tl-name').textContent}))""")
    assert sorted(b["id"] for b in buttons) == sorted(e["id"] for e in events)
    for b in buttons:
        ev = next(e for e in events if e["id"] == b["id"])
        assert ev["caption"] in b["text"] and ev["caption"] in b["label"]
        assert b["row"].endswith(ev["category"]) and b["row"][0] not in " abcdefghijklmnopqrstuvwxyz"
    cue_buttons = page.locator("#timeline button.tl-cue")
    assert cue_buttons.count() == len(served)
    assert page.locator("#timeline .tl-haptics [role=img]").count() == 1

    # clicking an event seeks the video there, and the playhead follows
    second = sorted(events, key=lambda e: e["start"])[1]
    page.click(f"#timeline .tl-event[data-event-id='{second['id']}']")
    wait_until(page, "(t) => Math.abs(document.querySelector('video').currentTime - t) < 0.05",
                           arg=second["start"])
    assert "active" in (page.get_attribute(f".tl-event[data-event-id='{second['id']}']", "class") or "")
    assert page.evaluate("document.querySelector('.tl-playhead').style.left") != ""

    # downloads: every result of the job, each giving the file itself
    with client(server) as http:
        names = [r["name"] for r in http.get(f"/v1/jobs/{job}").json()["results"]]
    assert page.evaluate("[...document.querySelectorAll('#downloads a')].map(a => a.download)") == names
    for name in ("captions.srt", "events.json", "haptics.web.json"):
        with page.expect_download() as info:
            page.click(f"#downloads a[download='{name}']")
        data = Path(info.value.path()).read_bytes()
        assert data == api_result(server, job, name), name
        assert info.value.suggested_filename == name

    # the key is kept for this tab only, and a reload brings the job back
    assert page.evaluate("sessionStorage.getItem('soundcue.apiKey')") == KEY_A
    assert page.evaluate("localStorage.length") == 0
    page.reload()
    page.wait_for_selector("#results-panel:not([hidden])")
    assert page.is_visible("#need-video")  # the local file is not uploaded twice: the page asks for it
    page.set_input_files("#local-video", str(clip))
    wait_until(page, "document.querySelector('video').readyState >= 1")
    page.evaluate("document.querySelector('video').currentTime = 2.6")
    wait_until(page, "document.querySelector('video').textTracks[0].activeCues.length === 1")
    shot = save_screenshot(page, "web_results.png")
    assert shot.stat().st_size > 10_000


def test_keyboard_alone_runs_the_main_flow(page: Any, server: Server, clip: Path) -> None:
    open_page(page, server.url + "/")
    assert focus_visible(page)["id"] == "api-key"  # the first thing to do has the focus
    page.keyboard.type(KEY_A)
    page.keyboard.press("Enter")
    page.wait_for_selector("#key-state:has-text('Key accepted')")
    tab_to(page, "#file")
    press_for_file_chooser(page, "Space").set_files(str(clip))
    tab_to(page, "#style")
    page.keyboard.press("End")  # BBC: the last style
    assert page.input_value("#style") == "bbc"
    tab_to(page, "#submit")
    page.keyboard.press("Enter")
    wait_results(page)
    assert focus_visible(page)["id"] == "results-heading"
    job = job_id(page)
    with client(server) as http:
        assert http.get(f"/v1/jobs/{job}").json()["options"]["captions"]["style"] == "bbc"

    # into the timeline (one tab stop), along it with the arrow keys, Enter seeks the video
    tab_to(page, "#timeline .tl-item")
    first = float(page.evaluate("document.activeElement.dataset.start"))
    page.keyboard.press("ArrowRight")
    second = float(page.evaluate("document.activeElement.dataset.start"))
    assert second > first
    page.keyboard.press("Enter")
    wait_until(page, "(t) => Math.abs(document.querySelector('video').currentTime - t) < 0.05", arg=second)
    page.keyboard.press("ArrowDown")  # to the caption cue row
    assert "tl-cue" in page.evaluate("document.activeElement.className")
    page.keyboard.press("Tab")  # leaves the timeline: one tab stop for all its buttons
    assert not page.evaluate("document.activeElement.closest('#timeline')")

    # a download from the keyboard
    tab_to(page, "#downloads a[download='captions.vtt']")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    assert Path(info.value.path()).read_bytes() == api_result(server, job, "captions.vtt")


def test_url_input_plays_the_video_from_its_address(page: Any, server: Server, media_site: str) -> None:
    open_page(page, server.url + "/")
    enter_key(page)
    page.check("#src-url")
    page.fill("#video-url", f"{media_site}/knocks.mp4")
    page.click("#submit")
    wait_results(page)
    assert page.evaluate("document.querySelector('video').src") == f"{media_site}/knocks.mp4"
    wait_until(page, "document.querySelector('video').readyState >= 1")
    assert len(page.evaluate(PAGE_CUES)["cues"]) == len(KNOCKS_S)
    # the share link carries the address, so whoever opens it sees the video too
    assert "src=" in page.input_value("#share-link")


def test_bad_input_shows_the_servers_reason(page: Any, server: Server, tmp_path: Path) -> None:
    notes = tmp_path / "notes.mp4"
    notes.write_text("meeting notes, not a video\n" * 40)
    open_page(page, server.url + "/")
    page.click("#submit")  # no key yet
    assert page.is_visible("#alert") and "API key" in page.text_content("#alert")
    enter_key(page)
    page.set_input_files("#file", str(notes))
    page.click("#submit")
    page.wait_for_selector("#alert:not([hidden])")
    with client(server) as http, notes.open("rb") as f:
        problem = http.post("/v1/jobs", files={"file": (notes.name, f)}).json()
    assert problem["status"] == 415
    assert page.text_content("#alert") == f"{problem['title']}: {problem['detail']}"  # the server's own words
    assert page.is_visible("#submit-panel") and page.input_value("#style") == "netflix"  # the form is kept

    # a job that fails while running: the reason the job carries
    page.set_input_files("#file", str(write_video(tmp_path / "silent.mp4", None, 2.0)))
    page.click("#submit")
    wait_until(page, "!document.getElementById('alert').hidden && !document.getElementById('submit-panel').hidden",
               timeout_s=60)
    with client(server) as http:
        failed = http.get(f"/v1/jobs/{job_id(page)}").json()
    assert failed["status"] == "failed"
    assert failed["error"]["detail"] in page.text_content("#alert")
    page.fill("#api-key", "wrong-key-0123456789abcdef")
    page.click("#key-form button[type=submit]")
    wait_until(page, "document.getElementById('alert').textContent.includes('not valid')")
    assert page.evaluate("sessionStorage.getItem('soundcue.apiKey')") is None  # a refused key is not kept


def test_share_link_opens_the_results_without_a_key(browser: Any, page: Any, server: Server, clip: Path) -> None:
    open_page(page, server.url + "/")
    enter_key(page)
    page.set_input_files("#file", str(clip))
    page.click("#submit")
    wait_results(page)
    link = page.input_value("#share-link")
    assert link.startswith(server.url + "/#job=") and "token=" in link

    other = browser.new_context()  # someone else: no key in this session
    try:
        viewer = other.new_page()
        viewer.goto(link)
        viewer.wait_for_selector("#results-panel:not([hidden])")
        wait_until(viewer, "document.querySelectorAll('#timeline .tl-event').length === 3")
        assert viewer.evaluate("sessionStorage.length") == 0
        assert viewer.is_visible("#need-video")
        viewer.set_input_files("#local-video", str(clip))
        wait_until(viewer, "document.querySelector('video').readyState >= 1")
        cues = viewer.evaluate(PAGE_CUES)
        assert cues["mode"] == "showing" and len(cues["cues"]) == len(KNOCKS_S)
        shared = viewer.evaluate("[...document.querySelectorAll('#downloads a')].map(a => a.download)")
        assert shared == page.evaluate("[...document.querySelectorAll('#downloads a')].map(a => a.download)")
        with viewer.expect_download() as info:  # a download without a key
            viewer.click("#downloads a[download='captions.srt']")
        assert Path(info.value.path()).read_bytes() == api_result(server, job_id(page), "captions.srt")
    finally:
        other.close()


def test_feel_it_vibrates_with_the_playback(page: Any, server: Server, clip: Path) -> None:
    # navigator.vibrate is recorded, with the media time of each call (desktop Chromium has no motor)
    page.add_init_script("""
      window.vibrations = [];
      navigator.vibrate = (pattern) => {
        const v = document.querySelector('video');
        window.vibrations.push({at: v ? v.currentTime : null, pattern});
        return true;
      };""")
    open_page(page, server.url + "/")
    enter_key(page)
    page.set_input_files("#file", str(clip))
    page.click("#submit")
    wait_results(page)
    web = json.loads(api_result(server, job_id(page), "haptics.web.json"))
    assert len(web["chunks"]) == len(KNOCKS_S)
    assert page.is_enabled("#feel-it")
    page.check("#feel-it")
    page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; v.playbackRate = 2; "
                  "return v.play(); }")
    wait_until(page, "document.querySelector('video').ended", timeout_s=20)
    calls = [c for c in page.evaluate("window.vibrations") if c["pattern"] not in (0, [0])]
    assert len(calls) == len(web["chunks"]), calls
    for call, chunk in zip(calls, web["chunks"], strict=True):
        # started within two animation frames of the chunk's media time (at 2x: 2 frames = 67 ms of media)
        assert abs(call["at"] * 1000 - chunk["start_ms"]) <= 80, (call, chunk)
        assert call["pattern"] == [round(ms / 2) for ms in chunk["pattern"]]  # scaled to the 2x rate
    page.evaluate("window.vibrations = []; document.querySelector('video').currentTime = 0.5")
    wait_until(page, "window.vibrations.length > 0")
    assert page.evaluate("window.vibrations")[0]["pattern"] in (0, [0])  # a seek stops the motor


# -- accessibility -------------------------------------------------------------------------------------------


def _axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    assert len(result["passes"]) >= 20, "axe-core ran hardly any rule"  # it did check the page
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]]


@pytest.mark.skipif(not AXE.exists(), reason=f"{AXE} missing (scripts/install_test_deps.sh installs it)")
def test_axe_finds_no_serious_violations(browser: Any, server: Server, clip: Path) -> None:
    # bypass_csp: axe-core is injected as a script tag, which the page's own policy rightly refuses
    context = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
    try:
        page = context.new_page()
        open_page(page, server.url + "/")
        found = {"start": _axe(page)}
        enter_key(page)
        page.set_input_files("#file", str(clip))
        page.click("#submit")
        wait_results(page)
        page.click("#event-list summary")  # the table too
        found["results"] = _axe(page)
        print(json.dumps(found, indent=1))
        serious = {state: [v for v in violations if v["impact"] in ("serious", "critical")]
                   for state, violations in found.items()}
        assert serious == {"start": [], "results": []}, serious
    finally:
        context.close()


# -- soundcue serve --no-auth -------------------------------------------------------------------------------


def test_no_auth_page_asks_for_no_key_and_other_sites_are_refused(page: Any, no_auth_server: Server,
                                                                    clip: Path) -> None:
    url = no_auth_server.url
    open_page(page, url + "/")
    assert not page.is_visible("#key-panel")
    page.set_input_files("#file", str(clip))
    page.click("#submit")
    wait_results(page)
    assert len(page.evaluate(PAGE_CUES)["cues"]) == len(KNOCKS_S)

    # another site open in the same browser (here: the same server under another origin) cannot use it
    port = url.rsplit(":", 1)[1]
    open_page(page, f"http://localhost:{port}/")
    outcome = page.evaluate("""(api) => fetch(api + '/v1/jobs').then(r => 'status ' + r.status,
                                                                     e => 'refused: ' + e.name)""", url)
    assert outcome == "refused: TypeError"  # 403 without CORS headers: the page cannot read anything
    r = httpx.get(f"{url}/v1/jobs", headers={"Origin": f"http://localhost:{port}"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert "its own page" in r.json()["detail"]
    assert httpx.get(f"{url}/v1/jobs", headers={"Host": "attacker.example"}).status_code == 403
    assert httpx.get(f"{url}/v1/jobs").status_code == 200  # curl, scripts: no Origin, loopback Host


@pytest.mark.parametrize(("method", "host", "origin", "query", "refused"), [
    ("GET", "127.0.0.1:8000", None, "", False),
    ("POST", "127.0.0.1:8000", "http://127.0.0.1:8000", "", False),  # the page itself
    ("POST", "[::1]:8000", "http://[::1]:8000", "", False),
    ("GET", "localhost:8000", None, "", False),
    ("POST", "127.0.0.1:8000", "https://evil.example", "", True),  # another site in the user's browser
    ("OPTIONS", "127.0.0.1:8000", "https://evil.example", "", True),  # its CORS preflight
    ("POST", "127.0.0.1:8000", "null", "", True),  # a sandboxed frame or a file:// page
    ("GET", "127.0.0.1:8000", "https://player.example", "token=abc", False),  # a share link in a <track>
    ("DELETE", "127.0.0.1:8000", "https://evil.example", "token=abc", True),
    ("GET", "rebound.evil.example:8000", None, "", True),  # DNS rebinding: a name someone else controls
    ("GET", "captions.example.org", None, "", False),  # SOUNDCUE_PUBLIC_URL's host
    ("POST", "127.0.0.1:8000", "https://tools.example.org", "", False),  # named in SOUNDCUE_CORS_ORIGINS
])
def test_no_auth_guard_rules(method: str, host: str, origin: str | None, query: str, refused: bool) -> None:
    reason = refusal(method, host, origin, query, "https://captions.example.org", ("https://tools.example.org/",))
    assert (reason is not None) == refused, reason


# -- Foley ---------------------------------------------------------------------------------------------------


def _features(server: Server) -> dict[str, Any]:
    features: dict[str, Any] = httpx.get(f"{server.url}/web/config.json").json()["features"]
    return features


def test_foley_switch_and_a_new_render(page: Any, server: Server, clip: Path) -> None:
    if not _features(server)["foley"]:
        pytest.skip("this server does not render Foley")
    open_page(page, server.url + "/")
    enter_key(page)
    page.set_input_files("#file", str(clip))
    page.check("#out-audio")
    page.select_option("#foley-profile", "dramatic")
    page.click("#submit")
    wait_results(page)
    first = job_id(page)
    with client(server) as http:
        assert http.get(f"/v1/jobs/{first}").json()["options"]["foley"]["profile"] == "dramatic"

    # the Foley track plays in step with the video; the switch picks what is heard
    assert page.is_visible("#sound-switch")
    assert "/foley.wav?token=" in page.evaluate("document.getElementById('foley-audio').src")
    wait_until(page, "document.getElementById('foley-audio').readyState >= 1")
    assert abs(page.evaluate("document.getElementById('foley-audio').duration") - CLIP_S) < 0.1
    page.check("#sound-foley")
    page.evaluate("document.querySelector('video').play()")
    wait_until(page, "document.querySelector('video').currentTime > 1.0")
    heard = page.evaluate("""() => {
        const v = document.querySelector('video'), a = document.getElementById('foley-audio');
        return {video_muted: v.muted, foley_muted: a.muted, foley_playing: !a.paused,
                gap: Math.abs(a.currentTime - v.currentTime)};
    }""")
    assert heard["video_muted"] and not heard["foley_muted"] and heard["foley_playing"], heard
    assert heard["gap"] < 0.2, heard
    page.check("#sound-both")
    assert page.evaluate("!document.querySelector('video').muted && !document.getElementById('foley-audio').muted")
    page.check("#sound-original")
    wait_until(page, "document.getElementById('foley-audio').paused")
    assert not page.evaluate("document.querySelector('video').muted")
    page.evaluate("document.querySelector('video').pause()")

    # a new render starts from the job's own Foley options
    assert page.input_value("#rerender-profile") == "dramatic"
    assert not page.is_checked("#rerender-music")

    # a new render of the same video with another profile and background music
    page.select_option("#rerender-profile", "cartoon")
    page.check("#rerender-music")
    page.click("#rerender-form button[type=submit]")
    wait_until(page, "(old) => new URLSearchParams(location.hash.slice(1)).get('job') !== old", arg=first)
    wait_results(page)
    second = job_id(page)
    with client(server) as http:
        job = http.get(f"/v1/jobs/{second}").json()
    assert job["status"] == "succeeded" and "audio" in job["options"]["outputs"]
    assert job["options"]["foley"]["profile"] == "cartoon" and job["options"]["foley"]["music"] is True
    assert "foley.wav" in [r["name"] for r in job["results"]]
    assert page.is_visible("#sound-switch")


# -- audit ---------------------------------------------------------------------------------------------------

#: Captions a person already has for the clip: the first knock is captioned (the cue ends more than the audit's
#: 1 s collar before the second), the other two are not, and a cue at 5.5 s names a sound nobody hears.
USER_TRACK = """WEBVTT

00:00:01.000 --> 00:00:01.400
[someone knocking]

00:00:05.500 --> 00:00:06.000
[dog barks]
"""


def test_audit_lists_and_marks_the_missed_sounds(page: Any, server: Server, clip: Path, tmp_path: Path) -> None:
    if not _features(server)["audit"]:
        pytest.skip("this server has no caption audit")
    track = tmp_path / "mine.vtt"
    track.write_text(USER_TRACK, encoding="utf-8")
    open_page(page, server.url + "/")
    enter_key(page)
    page.set_input_files("#file", str(clip))
    page.click("#submit")
    wait_results(page)
    job = job_id(page)
    assert page.is_visible("#audit-form")
    page.set_input_files("#audit-file", str(track))
    page.click("#audit-form button[type=submit]")
    page.wait_for_selector("#audit-report h4", timeout=120_000)  # the first audit loads the embedding model

    with client(server) as http:  # the same audit through the API: the page shows this report
        r = http.post(f"/v1/jobs/{job}/audit", files={"captions": ("mine.vtt", USER_TRACK.encode(), "text/vtt")},
                      data={"options": json.dumps({"style": "netflix"})}, timeout=120)
        assert r.status_code == 200, r.text
        report = r.json()
    missed = sorted(m["event"]["id"] for m in report["missed"])
    events = json.loads(api_result(server, job, "events.json"))["events"]
    late = sorted(e["id"] for e in events if e["start"] > 2.0)
    assert missed == late and len(missed) == 2  # the knocks at 2.5 and 4.2 s

    text = page.text_content("#audit-report")
    assert f"{round(report['summary']['coverage'] * 100)}%" in text
    assert text.count("MISSED") == 2 and "[dog barks]" in text  # the unsupported cue is named too
    marked = page.evaluate("""() => [...document.querySelectorAll('#timeline .tl-event.missed')].map(b => ({
        id: b.dataset.eventId, label: b.getAttribute('aria-label')}))""")
    assert sorted(m["id"] for m in marked) == missed
    assert all(m["label"].endswith("missed by your captions") for m in marked)  # said, not only drawn
    rows = page.evaluate("[...document.querySelectorAll('#event-rows tr.missed')].map(r => r.dataset.eventId)")
    assert sorted(rows) == missed
    with page.expect_download() as info:
        page.click("#audit-report a[download='audit.json']")
    saved = json.loads(Path(info.value.path()).read_text())
    assert sorted(m["event"]["id"] for m in saved["missed"]) == missed
    save_screenshot(page, "web_audit.png")


def test_a_zoomed_timeline_follows_the_playhead(page: Any, server: Server, tmp_path: Path) -> None:
    # 40 s of sound (an audio file plays in the page's <video> too), knocks in three 15 s windows
    knocks = (2.0, 20.0, 35.0)
    wav = write_audio(tmp_path / "long.wav", place(noise_floor(40.0), knock(), knocks))
    open_page(page, server.url + "/")
    enter_key(page)
    page.set_input_files("#file", str(wav))
    page.click("#submit")
    wait_results(page)
    shown = """() => [...document.querySelectorAll('#timeline .tl-event')]
        .filter(b => getComputedStyle(b).display !== 'none').map(b => Number(b.dataset.start))"""
    assert len(page.evaluate(shown)) == 3  # 40 s: the whole of it at once
    page.select_option("#zoom", "15")
    assert [round(t) for t in page.evaluate(shown)] == [2]
    assert page.text_content("#timeline .tl-axis").startswith("time0:00")
    page.evaluate("document.querySelector('video').currentTime = 21")
    wait_until(page, f"({shown})().length === 1 && ({shown})()[0] > 15")
    axis = page.text_content("#timeline .tl-axis")
    assert "0:16" in axis and "0:30" in axis and "0:14" not in axis  # the axis shows 15..30 s
    # the keyboard reaches sounds outside the window: the window moves to them
    page.focus("#timeline .tl-event:not(.tl-out)")
    page.keyboard.press("ArrowRight")
    assert round(float(page.evaluate("document.activeElement.dataset.start"))) == 35
    assert [round(t) for t in page.evaluate(shown)] == [35]
