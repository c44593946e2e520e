"""Foley: a synthesized, time-aligned sound track from the event list (issue 11).

``write_foley(analysis, path, options)`` renders every event at its onset, panned and scaled, over an ambience
bed, and writes a 48 kHz stereo WAV/MP3/AAC exactly as long as the media; :func:`foley_blocks` yields the same
track as float blocks (for a remux), :func:`foley_report` also says what was done (loudness, limiter, cache).
"""

from captioning.foley.encode import suffix_for
from captioning.foley.options import FoleyOptions
from captioning.foley.remux import RemuxOptions, remux
from captioning.foley.render import FoleyReport, foley_blocks, foley_report, render_foley, write_foley

__all__ = ["FoleyOptions", "FoleyReport", "RemuxOptions", "foley_blocks", "foley_report", "remux", "render_foley",
           "suffix_for", "write_foley"]
