"""The soundcue exception tree.

All errors raised on purpose by the library derive from one root, so front-ends (CLI, HTTP service)
can map them in one place::

    CaptioningError
    ├── MediaError                 the input media cannot be used (message names the file)
    │   ├── MediaNotFoundError     no such file, or not a readable file (directory, FIFO, link loop, permission)
    │   ├── MediaDecodeError       not a media file, truncated, corrupt
    │   └── NoAudioStreamError     the file has no audio stream (and visual analysis is off)
    ├── InvalidOptionsError        an option is out of range or not implemented
    ├── CaptionFormatError         a caption file cannot be read
    └── ModelLoadError             a model's weights or runtime are missing
"""

from __future__ import annotations


class CaptioningError(Exception):
    """Root of every error soundcue raises on purpose."""


class MediaError(CaptioningError):
    """The input media cannot be used; ``str(err)`` names the problem and the file."""


class MediaNotFoundError(MediaError):
    """The input path cannot be read as a file: missing, a directory, a FIFO or device, a symbolic link loop,
    or permission denied (the message says which)."""


class MediaDecodeError(MediaError):
    """The input is not decodable media (not media at all, truncated or corrupt)."""


class NoAudioStreamError(MediaError):
    """The input has no audio stream."""


class InvalidOptionsError(CaptioningError, ValueError):
    """An option value is invalid or names a feature that is not implemented."""


class CaptionFormatError(CaptioningError):
    """A caption file (WebVTT/SRT) cannot be parsed."""


class ModelLoadError(CaptioningError):
    """A model cannot be loaded (package missing, weights missing or corrupt)."""
