"""HLS in the service: fetch a video rendition by URL (``captions.hls_video_playlist_url``), and serve the
``hls/`` results with share-link tokens carried into the playlists' URIs.

The rendition is fetched with :func:`app.fetch.fetch_to_file` under the rules of ``video_url`` (public addresses
only, every redirect checked, size limits, one time limit shared by the fetches): the media playlist, then only
its first media segment (its byte range) and that segment's init section (``EXT-X-MAP``), each URI resolved
against the playlist's final URL.
The library reads them as bytes (:func:`captioning.captions.hls.video_rendition`), so nothing is looked up on the
server's disk by a URI the playlist chose. Segment sizes other than the first are taken from byte ranges when the
playlist has them; otherwise the master playlist's BANDWIDTH is estimated from the first segment.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from app.core.config import Settings
from app.fetch import AddressPolicy, Fetched, fetch_to_file
from app.problems import ApiProblem

if TYPE_CHECKING:
    from captioning.captions.hls import VideoRendition

#: The API field the rendition comes from (named in errors).
FIELD = "captions.hls_video_playlist_url"
#: Size limit of a media playlist, bytes (a day of 2 s segments is about 3 MB).
MAX_PLAYLIST_BYTES = 8 * 1024 * 1024
#: Names under a job's ``hls/``: the library's playlists and segments (no path, no traversal).
HLS_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,80}\.(m3u8|webvtt|vtt)$"


def fetch_video_rendition(url: str, settings: Settings) -> VideoRendition:
    """Fetch the media playlist at ``url`` and its first segment (with its init section); read the rendition.

    Raises:
        ApiProblem: the URL (or a segment's, or a redirect) is refused, cannot be fetched, or is too large
            (the detail names :data:`FIELD`).
        InvalidOptionsError: the playlist or its first segment cannot be read as an HLS video rendition.
    """
    from captioning.captions.hls import media_segments, video_rendition

    policy = AddressPolicy(tuple(settings.url_allow_cidrs))
    deadline = time.monotonic() + settings.fetch_timeout_s  # one limit for the three fetches (issue 14)

    def fetch(target: str, dest: Path, *, media: bool, byterange: tuple[int, int] | None = None,
              max_bytes: int = settings.max_upload_bytes) -> Fetched:
        try:
            return fetch_to_file(target, dest, policy=policy, max_bytes=max_bytes, timeout_s=settings.fetch_timeout_s,
                                 max_redirects=settings.max_redirects, media=media, byterange=byterange,
                                 deadline=deadline)
        except ApiProblem as e:
            e.detail = f"{FIELD}: {e.detail}"
            raise

    with tempfile.TemporaryDirectory(prefix="hls-") as tmp:
        directory = Path(tmp)
        playlist = fetch(url, directory / "playlist.m3u8", media=False, max_bytes=MAX_PLAYLIST_BYTES)
        text = playlist.path.read_bytes().decode("utf-8-sig", errors="replace")
        segments = media_segments(text, url)
        first = segments[0]
        base = playlist.final_url  # relative URIs resolve against where the playlist was found
        init = b""
        if first.init is not None:
            init = fetch(urljoin(base, first.init[0]), directory / "init", media=True,
                         byterange=first.init[1]).path.read_bytes()
        data = fetch(urljoin(base, first.uri), directory / "segment", media=True,
                     byterange=first.byterange).path.read_bytes()
    sizes = [s.byterange[1] if s.byterange is not None else None for s in segments]
    return video_rendition(url, segments, data, init, sizes)


_URI_LINE = re.compile(r"^(?!#)(\S.*)$", re.MULTILINE)
_URI_ATTR = re.compile(r'(URI=")([^"]*)(")')


def with_token(playlist: str, token: str) -> str:
    """``playlist`` with ``?token=`` added to each relative URI (segment lines and ``URI=`` attributes), so a
    player that loaded it by its share link loads the segments by theirs. Absolute URIs (the video rendition
    in ``master.m3u8``) are left as they are."""

    def add(uri: str) -> str:
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:|^/", uri):
            return uri
        return f"{uri}{'&' if '?' in uri else '?'}token={token}"

    text = _URI_LINE.sub(lambda m: add(m[1]), playlist)
    return _URI_ATTR.sub(lambda m: m[1] + add(m[2]) + m[3], text)
