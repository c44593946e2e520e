"""Foley: a synthesized, time-aligned sound track from the event list (issue 11).

``write_foley(analysis, path, options)`` renders every event at its onset, panned and scaled, over an ambience
bed, and writes a 48 kHz stereo WAV/MP3/AAC exactly as long as the media.
"""

from captioning.foley.options import FoleyOptions
from captioning.foley.remux import RemuxOptions, remux
from captioning.foley.render import write_foley

__all__ = ["FoleyOptions", "RemuxOptions", "remux", "write_foley"]
