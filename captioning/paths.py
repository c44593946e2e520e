"""What a path is when it is not a file soundcue can read or a directory it can write (issue 9).

One place says why a path cannot be used, in words a user can act on; the media probe, the caption reader and
the command line all ask it, so a FIFO, a directory, a symbolic link loop or an unreadable file is named the
same way everywhere::

    >>> input_problem(Path("/tmp"), "media file")
    'it is a directory, not a media file'

Nothing here opens a FIFO or a device (opening one can wait forever); a regular file is opened once, for
reading, and closed, so a permission problem is found before any decoder or parser sees the path.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

#: File types that are neither a regular file nor a directory, as a message names them.
_SPECIAL_FILES = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                  (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


#: An input that was a URL before the shell or pathlib folded its "//" ("https:/host/clip.mp4").
_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")


def _stat_problem(path: Path, e: OSError) -> str:
    """The words for an ``os.stat`` failure of ``path``."""
    if e.errno == errno.ELOOP:
        return "it is a symbolic link loop"
    if e.errno == errno.ENOENT and path.is_symlink():
        return f"no such file (a symbolic link to the missing {os.readlink(path)})"
    if e.errno in (errno.ENOENT, errno.ENOTDIR):
        if _URL_LIKE.match(str(path)):
            return ("no such file: this command reads local files; for a URL, download it first or send it to a "
                    "soundcue server with `soundcue submit URL`")
        return "no such file"
    if e.errno == errno.EACCES:
        return "permission denied"
    return e.strerror or str(e)


def _kind(mode: int) -> str | None:
    """How a message names a file that is not a regular file or directory (None for those two)."""
    return next((what for test, what in _SPECIAL_FILES if test(mode)), None)


def input_problem(path: Path, what: str = "file") -> str | None:
    """Why ``path`` cannot be read as an input file, or None when it is a regular file that opens for reading.

    Parameters:
        path: the input as the user gave it (symbolic links are followed).
        what: what the file should be, for the message (e.g. ``"media file"``, ``"caption file"``).

    Returns:
        None, or a phrase to put after the path: ``"no such file"``, ``"it is a directory, not a media file"``,
        ``"it is a FIFO (named pipe), not a regular file"`` (also sockets and devices), ``"it is a symbolic
        link loop"``, ``"permission denied"``.
    """
    try:
        st = os.stat(path)
    except OSError as e:
        return _stat_problem(path, e)
    if stat.S_ISDIR(st.st_mode):
        return f"it is a directory, not a {what}"
    special = _kind(st.st_mode)
    if special is not None:
        return f"it is {special}, not a regular file"
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError as e:
        return "permission denied" if e.errno in (errno.EACCES, errno.EPERM) else (e.strerror or str(e))
    return None


def output_dir_problem(path: Path) -> str | None:
    """Why results cannot be written under directory ``path`` (created if missing), or None if they can.

    Returns:
        None, or a phrase to put after the path, e.g. ``"the output path is a file, not a directory"``,
        ``"its parent .../x is a file, not a directory"``, ``"permission denied"``.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        if e.errno != errno.ENOTDIR:
            return _stat_problem(path, e)
        parent = next((p for p in path.parents if p.exists()), path.parent)
        return f"its parent {parent} is not a directory"
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            return None if os.access(path, os.W_OK | os.X_OK) else "permission denied"
        special = _kind(st.st_mode)
        return f"the output path is {special}, not a directory" if special else \
            "the output path is a file, not a directory"
    parent = next((p for p in path.parents if p.exists()), Path("."))
    if not parent.is_dir():
        return f"its parent {parent} is not a directory"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"permission denied (cannot create it in {parent})"
