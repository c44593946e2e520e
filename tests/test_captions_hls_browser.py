"""A real player shows our HLS subtitles at the right time (issue 15): hls.js in headless Chromium.

A 30 s clip (libx264 with its default B-frames, AAC) is packaged by ffmpeg as HLS with MPEG-TS and with fMP4
segments; soundcue writes the subtitle rendition and master playlist for a hand-built event list at the
clip's knock times (``hls_video_playlist``); one loopback HTTP server serves it all and hls.js (from the npm
registry, tests/js) to a page that plays the master playlist to its end. Each cue's start in the player,
measured from the player time of the first video frame (requestVideoFrameCallback), must be within 40 ms
(one frame) of its time in captions.vtt; every cue must become active once, no earlier than a frame before
that time and no later than the HTML "time marches on" cadence allows (timeupdate fires every 15-250 ms,
HTML Living Standard, media elements; a loaded CI machine sits at the slow end).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_captions_browser as chromium
import webvtt
from captions_factory import JS_DIR, VOCAB
from hls_factory import FPS, knock_analysis, make_clip, needs_ffmpeg, package_hls

from captioning.captions import CaptionOptions, write_captions

HLS_JS = JS_DIR / "node_modules" / "hls.js" / "dist" / "hls.min.js"
FRAME_S = 1 / FPS
#: How late a cue may become active: the browser re-evaluates active cues at most every 250 ms (HTML "time
#: marches on", run with timeupdate), plus one frame.
ACTIVATION_LAG_S = 0.25 + FRAME_S
PLAYBACK_RATE = 2.0  # the 30 s clip plays in 15 s; cue timing does not depend on it

browser = chromium.browser  # the headless Chromium of the caption tests (Playwright, Debian chromium)
pytestmark = [*chromium.pytestmark, needs_ffmpeg,
              pytest.mark.skipif(not HLS_JS.exists(), reason=f"{HLS_JS} missing (cd tests/js && npm ci)")]


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".m3u8": "application/vnd.apple.mpegurl",
                      ".ts": "video/mp2t", ".m4s": "video/iso.segment", ".mp4": "video/mp4",
                      ".webvtt": "text/vtt", ".vtt": "text/vtt", ".js": "text/javascript"}

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:  # hls.js aborts requests when it seeks
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The site root: hls.js, a page, and per segment type the video rendition and soundcue's captions."""
    root = tmp_path_factory.mktemp("hls_site")
    clip = make_clip(root / "clip.mp4")
    for kind in ("mpegts", "fmp4"):
        playlist = package_hls(clip, root / kind / "video", kind)
        write_captions(knock_analysis(), root / kind / "captions",
                       CaptionOptions(hls=True, hls_segment_s=6.0, hls_video_playlist=playlist), vocabulary=VOCAB)
    shutil.copy(HLS_JS, root / "hls.min.js")
    (root / "player.html").write_text('<!doctype html><script src="hls.min.js"></script><video muted></video>',
                                      encoding="utf-8")
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


PLAY = """async ({master, rate}) => {
  const video = document.querySelector('video');
  const seen = new Map();  // cue -> currentTime when it first became active
  const activations = [];
  video.textTracks.addEventListener('addtrack', ({track}) => {
    track.addEventListener('cuechange', () => {
      for (const cue of track.activeCues) {
        if (seen.has(cue)) continue;
        seen.set(cue, video.currentTime);
        activations.push({start: cue.startTime, text: cue.text, at: video.currentTime});
      }
    });
  });
  const hls = new Hls({subtitleDisplay: true});
  const errors = [];
  const notes = [];  // errors hls.js recovers from itself (e.g. bufferSeekOverHole: TS audio starts first)
  hls.on(Hls.Events.ERROR, (_, data) => (data.fatal ? errors : notes).push(`${data.type}: ${data.details}`));
  const parsed = new Promise(done => hls.on(Hls.Events.MANIFEST_PARSED, done));
  const videoStart = new Promise(done => hls.on(Hls.Events.BUFFER_APPENDED, (_, data) => {
    const ranges = data.timeRanges && (data.timeRanges.video || data.timeRanges.audiovideo);
    if (ranges && ranges.length) done(ranges.start(0));
  }));
  hls.loadSource(master);
  hls.attachMedia(video);
  await parsed;
  hls.subtitleTrack = 0;
  // Show the first video frame, and take its player time from the frame itself: playing from 0 would let
  // hls.js skip the gap before it (MPEG-TS audio starts first) past that frame.
  const shown = new Promise(done => video.requestVideoFrameCallback((now, meta) => done(meta.mediaTime)));
  video.currentTime = await videoStart;
  const firstFrame = await shown;
  video.playbackRate = rate;
  const ended = new Promise(done => video.addEventListener('ended', done));
  await video.play();
  await ended;
  const track = [...video.textTracks].find(t => t.kind === 'subtitles' || t.kind === 'captions');
  return {
    firstFrame, videoStart: await videoStart, duration: video.duration, errors, notes, activations,
    tracks: [...video.textTracks].map(t => `${t.kind}:${t.label}:${t.mode}`),
    cues: track ? [...track.cues].map(c => ({start: c.startTime, end: c.endTime, text: c.text})) : [],
  };
}"""


def _play(browser: Any, origin: str, master: str) -> dict[str, Any]:
    page = browser.new_page()
    try:
        page.goto(f"{origin}/player.html")
        page.set_default_timeout(120_000)
        result: dict[str, Any] = page.evaluate(PLAY, {"master": f"{origin}/{master}", "rate": PLAYBACK_RATE})
        return result
    finally:
        page.close()


def _seconds(timestamp: str) -> float:
    h, m, s = timestamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.mark.parametrize("kind", ["mpegts", "fmp4"])
def test_hls_js_shows_each_cue_once_at_its_time(browser: Any, site: tuple[str, Path], kind: str) -> None:
    origin, root = site
    captions = root / kind / "captions"
    expected = [(_seconds(c.start), c.text) for c in webvtt.read(str(captions / "captions.vtt")).captions]
    result = _play(browser, origin, f"{kind}/captions/hls/master.m3u8")
    assert not result["errors"], result["errors"]
    assert result["firstFrame"] is not None, result
    first = result["firstFrame"]
    print(f"{kind}: first frame at player time {first:.4f} s, video ends at {result['duration']:.3f} s; "
          f"hls.js recovered from {result['notes']}")
    got = sorted((c["start"] - first, c["text"]) for c in result["cues"])
    for (want_s, want_text), (got_s, _) in zip(expected, got, strict=False):
        print(f"  {want_text} captions.vtt {want_s:7.3f} s, player {got_s:7.3f} s: {1000 * (got_s - want_s):+.1f} ms")
    # every cue once (those crossing a segment boundary are in two segments), with its text, at its time
    assert [t for _, t in got] == [t for _, t in expected]
    assert all(abs(g - w) <= FRAME_S for (w, _), (g, _) in zip(expected, got, strict=True)), got
    # ... and shown once during playback, never early, at most one cue-update cadence late (the last knock's
    # cue before the end)
    active = sorted((a["start"] - first, a["at"] - first, a["text"]) for a in result["activations"])
    assert [t for _, _, t in active] == [t for _, t in expected]
    for (_, at, text), (want, _) in zip(active, expected, strict=True):
        print(f"  {text} became active at {at:7.3f} s ({1000 * (at - want):+.1f} ms)")
        assert -FRAME_S <= at - want <= ACTIVATION_LAG_S, (text, at, want)
    assert expected[-1][0] < result["duration"] - first
