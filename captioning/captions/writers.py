"""Cues -> WebVTT (webvtt-py), SRT (pysrt), a WebVTT metadata track; segmented WebVTT for HLS in ``hls.py``.

Every ``render_*``/``*_to_*`` function is pure and returns text; :func:`write_captions` writes the files
atomically (temp file in the output directory, then ``os.replace``). Text is UTF-8 without BOM with ``\\n``
line ends; WebVTT cue text escapes ``&``, ``<`` and ``>``; SRT is numbered from 1 with comma decimals.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pysrt
from webvtt import Caption, CueSettings, WebVTT
from webvtt.models import Region, Style, Timestamp

from captioning.captions.cues import build_cues
from captioning.captions.cuetext import numpad_alignment
from captioning.captions.hls import VideoRendition, read_video_rendition, render_hls, timestamp_map_ticks
from captioning.captions.merge import merge_dialogue, read_dialogue
from captioning.captions.model import Cue, CueLine, CueTrack
from captioning.captions.options import CaptionOptions
from captioning.captions.reader import CaptionFile
from captioning.errors import InvalidOptionsError
from captioning.events import Analysis, SoundEvent
from captioning.outputs import make_temp_dir, write_text_atomic
from captioning.vocabulary import Vocabulary

#: Event fields carried by the metadata track (the envelope is left out: it can be long).
METADATA_FIELDS: tuple[str, ...] = (
    "id", "start", "end", "label", "caption", "category", "kind", "confidence", "loudness", "peak_loudness",
    "source", "background", "pan", "material", "audioset", "audioset_ids",
)


def _timestamp(ms: int) -> str:
    return str(Timestamp.from_seconds(ms / 1000))


def _vtt_line(line: CueLine) -> str:
    text = html.escape(line.text, quote=False)
    return f"<i>{text}</i>" if line.italic else text


def _srt_line(line: CueLine) -> str:
    # SRT has no escapes and players read "<...>" as markup: show angle brackets as similar quotes
    text = line.text.replace("<", "‹").replace(">", "›")
    return f"<i>{text}</i>" if line.italic else text


_MARKUP = re.compile(r"<(/?)([^<>\s.]*)[^<>]*>|[^<]+|<")


def _srt_markup(markup: str) -> str:
    """A WebVTT cue text line as SRT: ``<i> <b> <u>`` kept, other spans and ruby text dropped, references
    decoded."""
    out = []
    ruby_text = False
    for m in _MARKUP.finditer(markup):
        if m[2] is not None:
            name = m[2].lower()
            if name in ("rt", "ruby"):
                ruby_text = name == "rt" and not m[1]
            if name in ("i", "b", "u"):
                out.append(f"<{m[1]}{name}>")
        elif not ruby_text:
            out.append(html.unescape(m[0]).replace("<", "‹").replace(">", "›"))
    return "".join(out)


def _srt_placement(settings: str) -> str:
    """``{\\an8}``-style tag for a cue placed at the top or middle (SRT players read it), else ""."""
    if not settings:
        return ""
    parsed = CueSettings.from_string(settings)
    an = numpad_alignment(parsed.line, parsed.align)
    return f"{{\\an{an}}}" if an > 3 else ""


def _srt_text(cue: Cue) -> str:
    lines = [_srt_markup(m) for m in cue.markup] if cue.markup else [_srt_line(line) for line in cue.lines]
    return _srt_placement(cue.settings) + "\n".join(lines)


def cues_to_vtt(cues: Sequence[Cue], *, metadata: Sequence[str] = (), comments: Sequence[str] = (),
                styles: Sequence[str] = (), regions: Sequence[str] = ()) -> str:
    """WebVTT text of ``cues`` (identifiers, cue settings and cue text markup kept).

    Parameters
    ----------
    cues : the cues, sorted by start.
    metadata : header lines after ``WEBVTT`` (e.g. ``X-TIMESTAMP-MAP=...`` for HLS segments).
    comments : NOTE blocks written before the cues.
    styles : STYLE block bodies (CSS) written before the cues (e.g. from a dialogue file).
    regions : REGION block settings (``id:fred width:40% ...``) the cues' ``region`` settings refer to.
    """
    captions = [
        Caption(_timestamp(c.start_ms), _timestamp(c.end_ms),
                list(c.markup) or [_vtt_line(line) for line in c.lines],
                identifier=c.identifier or None, settings=c.settings or None)
        for c in cues
    ]
    content: str = WebVTT(captions=captions, metadata=list(metadata), header_comments=list(comments),
                          styles=[Style(s) for s in styles], regions=[Region.from_string(r) for r in regions]).content
    return content


def cues_to_srt(cues: Sequence[Cue]) -> str:
    """SRT text of ``cues``: numbered from 1, ``hh:mm:ss,mmm`` times, ``<i>`` kept for italics.

    SRT cannot escape ``<`` and ``>`` (players read them as markup), so they are written as ``‹`` ``›``.
    A cue placed at the top or middle of the picture (WebVTT ``line``) starts with the SSA tag SRT players
    read for it (``{\\an8}``); ``<b>``/``<u>`` from a dialogue file's markup are kept.
    """
    subs = pysrt.SubRipFile(items=[
        pysrt.SubRipItem(index=i, start=pysrt.SubRipTime.from_ordinal(c.start_ms),
                         end=pysrt.SubRipTime.from_ordinal(c.end_ms), text=_srt_text(c))
        for i, c in enumerate(cues, 1)
    ])
    buf = io.StringIO()
    subs.write_into(buf, eol="\n")
    return buf.getvalue()


def render_vtt(analysis: Analysis, options: CaptionOptions | None = None, *,
               vocabulary: Vocabulary | None = None) -> str:
    """The sound-caption track of ``analysis`` as WebVTT text (see :func:`build_cues`)."""
    return cues_to_vtt(build_cues(analysis, options, vocabulary=vocabulary).cues)


def render_srt(analysis: Analysis, options: CaptionOptions | None = None, *,
               vocabulary: Vocabulary | None = None) -> str:
    """The sound-caption track of ``analysis`` as SRT text (see :func:`build_cues`)."""
    return cues_to_srt(build_cues(analysis, options, vocabulary=vocabulary).cues)


def _event_json(event: SoundEvent) -> str:
    d = event.to_dict()
    text = json.dumps({k: d[k] for k in METADATA_FIELDS if k in d}, ensure_ascii=False, separators=(",", ":"))
    # JSON's own escapes keep "<", ">" and "&" (and so "-->") out of the cue text
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_metadata_vtt(analysis: Analysis) -> str:
    """A ``kind="metadata"`` WebVTT track: one cue per event, timed as the event, whose text is its JSON.

    The JSON object has the keys of :data:`METADATA_FIELDS` (times in seconds, loudness in dBFS,
    confidence 0..1). Cues may overlap, as events do; ids are the event ids (or ``e<n>``).
    """
    events = sorted(analysis.events, key=lambda e: (e.start, e.end, e.label))
    cues: list[Cue] = []
    used: set[str] = set()
    for i, e in enumerate(events, 1):
        start = round(e.start * 1000)
        ident = e.id if e.id and e.id not in used else f"e{i:04d}"
        used.add(ident)
        cues.append(Cue(start, max(round(e.end * 1000), start + 1), (CueLine(_event_json(e)),),
                        identifier=ident))
    return cues_to_vtt(cues)


def review_json(track: CueTrack) -> str:
    """The review list as JSON text: ``{"style": ..., "events": [{"reason", "included", "event"}...]}``."""
    body = {"style": track.style, "events": [r.to_dict() for r in track.review]}
    return json.dumps(body, indent=1, ensure_ascii=False) + "\n"


def _write_dir_atomic(target: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` into a fresh temp directory beside ``target``, then swap it in for ``target``."""
    tmp = make_temp_dir(target.parent, f".{target.name}.")
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="\n")
        old = None
        if target.exists():
            old = target.parent / f"{tmp.name}.old"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [target / name for name in files]


@dataclass(frozen=True)
class CaptionTracks:
    """The caption tracks of one analysis, built once for every output that shows them (the caption files,
    the timeline, the remuxed video's subtitle stream).

    Attributes:
        options: the caption options with the media's frame rate filled in (:meth:`CaptionOptions.for_media`).
        track: the sound captions (the cues of captions.vtt) and the review list.
        dialogue: the dialogue file of ``options.dialogue``, or None.
        sdh: the sound captions merged with the dialogue (the cues of captions.sdh.vtt), or None without one.
    """

    options: CaptionOptions
    track: CueTrack
    dialogue: CaptionFile | None = None
    sdh: tuple[Cue, ...] | None = None

    @property
    def subtitle_cues(self) -> tuple[Cue, ...]:
        """The cues a remuxed video carries as its subtitle stream: the SDH track with dialogue, else the sounds."""
        return self.sdh if self.sdh is not None else self.track.cues


def build_caption_tracks(analysis: Analysis, options: CaptionOptions | None = None, *,
                         vocabulary: Vocabulary | None = None) -> CaptionTracks:
    """The caption tracks of ``analysis`` (see :class:`CaptionTracks`); no cue ends after the media does.

    Raises:
        CaptionFormatError: the dialogue file cannot be read.
        InvalidOptionsError: invalid options.
    """
    options = (options or CaptionOptions()).for_media(analysis.media)  # the frame rate from the video
    dialogue_file = read_dialogue(options.dialogue) if options.dialogue is not None else None
    dialogue = list(dialogue_file.cues) if dialogue_file is not None else []
    # With dialogue, a long sound it interrupts is captioned again ("[barking continues]") after it.
    track = build_cues(analysis, options, vocabulary=vocabulary, dialogue=dialogue)
    sdh = (tuple(merge_dialogue(dialogue, track.cues, options, media_duration=analysis.media.duration))
           if dialogue_file is not None else None)
    return CaptionTracks(options, track, dialogue_file, sdh)


def write_captions(analysis: Analysis, out_dir: Path, options: CaptionOptions | None = None, *,
                   vocabulary: Vocabulary | None = None, hls_video: VideoRendition | None = None,
                   tracks: CaptionTracks | None = None) -> list[Path]:
    """Write the caption files of ``analysis`` into ``out_dir``; returns the paths written.

    Always ``captions.vtt``, ``captions.srt`` and ``captions.review.json`` (possibly an empty list); also
    ``captions.metadata.vtt`` if ``options.metadata``; ``captions.sdh.vtt``, ``captions.sdh.srt`` and
    ``captions.sounds.vtt`` if ``options.dialogue``; ``hls/`` (playlist + segments, and ``master.m3u8``
    with ``options.hls_video_playlist``, which refers to that playlist by its path relative to ``hls/``) if
    ``options.hls`` (see :mod:`captioning.captions.hls`). All texts are rendered before anything is written,
    and each file is written atomically.

    ``hls_video``: the video rendition already read (:func:`~captioning.captions.hls.video_rendition`), in place
    of reading ``options.hls_video_playlist``; ``master.m3u8`` refers to it by ``options.hls_video_playlist_url``
    when set, else by its ``playlist``. The service passes the rendition it fetched from the URL.

    ``tracks``: the tracks already built from ``analysis`` and ``options`` (:func:`build_caption_tracks`), so
    that other outputs showing the same cues do not build them again.

    Raises:
        CaptionFormatError: the dialogue file cannot be read (cue blocks players skip are left out, with a
            logged warning naming each).
        InvalidOptionsError: invalid options, or a video playlist that cannot be read.
    """
    tracks = tracks or build_caption_tracks(analysis, options, vocabulary=vocabulary)
    options, track, dialogue_file = tracks.options, tracks.track, tracks.dialogue
    texts: dict[str, str] = {
        "captions.vtt": cues_to_vtt(track.cues),
        "captions.srt": cues_to_srt(track.cues),
        "captions.review.json": review_json(track),
    }
    if options.metadata:
        texts["captions.metadata.vtt"] = render_metadata_vtt(analysis)
    if dialogue_file is not None and tracks.sdh is not None:
        sdh = tracks.sdh
        # the dialogue file's STYLE and REGION blocks go with its cues (their markup and region settings)
        texts["captions.sdh.vtt"] = cues_to_vtt(sdh, styles=dialogue_file.styles, regions=dialogue_file.regions)
        texts["captions.sdh.srt"] = cues_to_srt(sdh)
        texts["captions.sounds.vtt"] = texts["captions.vtt"]
    hls = None
    if options.hls:
        playlist = options.hls_video_playlist
        video = hls_video or (read_video_rendition(playlist) if playlist is not None else None)
        if video is None and options.hls_video_playlist_url is not None:
            raise InvalidOptionsError("hls_video_playlist_url: the library does no HTTP; read the rendition "
                                      "(captioning.captions.hls.video_rendition) and pass it as hls_video")
        video_uri = options.hls_video_playlist_url or (
            Path(os.path.relpath(playlist.absolute(), (out_dir / "hls").absolute())).as_posix()
            if playlist is not None and hls_video is None else None)
        hls = render_hls(track.cues, analysis.media.duration, options, video=video, video_uri=video_uri,
                         mpegts=timestamp_map_ticks(options, analysis.media, video))

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_text_atomic(out_dir / name, text) for name, text in texts.items()]
    if hls is not None:
        written += _write_dir_atomic(out_dir / "hls", hls)
    return written
