"""Receive a multipart/form-data upload by streaming it straight to disk, enforcing the limits as it goes.

FastAPI's ``UploadFile`` spools the whole body before the route runs; this parser (python-multipart's
streaming ``MultipartParser``) writes the ``file`` part to its destination chunk by chunk, hashes it,
sniffs its first bytes, and stops with 413 the moment it passes the size limit (issue 3: limits are
enforced while streaming, not after buffering everything).

A form is whole only when its closing boundary (``--BOUNDARY--``, RFC 2046 section 5.1.1) has arrived: a body
cut off before it, even with a Content-Length that matches what was sent, is refused with 422 before any job
exists (issue 14), instead of queueing a job on a partial file. And a body must arrive within one wall-clock
limit (``SOUNDCUE_UPLOAD_TIMEOUT_S``), enforced while a read waits: a client sending a few bytes a second is
answered 408 at the limit instead of holding a connection, a file and a staging folder for as long as it likes.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from app.problems import ApiProblem
from captioning.media import SNIFF_BYTES, sniff

MAX_FIELD_BYTES = 64 * 1024
FILE_FIELD = "file"


@dataclass
class Upload:
    """What the form held: the file (written to ``path``) and the text fields."""

    path: Path
    filename: str | None = None
    size_bytes: int = 0
    sha256: str = ""
    received_file: bool = False
    fields: dict[str, str] = field(default_factory=dict)


class _Receiver:
    def __init__(self, dest: Path, max_bytes: int, text_fields: frozenset[str]) -> None:
        self.dest = dest
        self.max_bytes = max_bytes
        self.text_fields = text_fields
        self.upload = Upload(path=dest)
        self.digest = hashlib.sha256()
        self.head = b""
        self.file: BinaryIO | None = None
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._text = bytearray()
        self.ended = False  # the closing boundary has been read

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self._headers = {}
        self._name = None
        self._text = bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if name == FILE_FIELD:
            if self.upload.received_file:
                raise _bad("send exactly one 'file' part")
            filename = params.get(b"filename")
            self.upload.filename = Path(filename.decode("utf-8", "replace")).name[:255] if filename else None
            self.upload.received_file = True
            self.file = self.dest.open("wb")
        elif name in self.text_fields:
            if name in self.upload.fields:
                raise _bad(f"the form field {name!r} appears twice")
        else:
            allowed = ", ".join(sorted({FILE_FIELD, *self.text_fields}))
            raise _bad(f"unexpected form field {name!r}; the form takes {allowed}")
        self._name = name

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._name == FILE_FIELD:
            assert self.file is not None
            self.upload.size_bytes += len(chunk)
            if self.upload.size_bytes > self.max_bytes:
                raise too_large(self.max_bytes)
            if len(self.head) < SNIFF_BYTES:
                self.head += chunk[: SNIFF_BYTES - len(self.head)]
                if len(self.head) >= SNIFF_BYTES:
                    self._sniff()
            self.digest.update(chunk)
            self.file.write(chunk)
        else:
            self._text += chunk
            if len(self._text) > MAX_FIELD_BYTES:
                raise _bad(f"the form field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes")

    def part_end(self) -> None:
        if self._name == FILE_FIELD:
            assert self.file is not None
            self.file.close()
            self.file = None
            self._sniff()
        elif self._name is not None:
            try:
                self.upload.fields[self._name] = self._text.decode("utf-8")
            except UnicodeDecodeError as e:
                raise _bad(f"the form field {self._name!r} is not UTF-8") from e
        self._name = None

    def end(self) -> None:
        self.ended = True

    def cut_off(self, boundary: bytes) -> ApiProblem:
        """The problem for a body that ended before its closing boundary."""
        where = ""
        if self._name == FILE_FIELD:
            where = f", inside the 'file' part after {self.upload.size_bytes} bytes of it"
        elif self._name is not None:
            where = f", inside the form field {self._name!r}"
        closing = "--" + boundary.decode("latin-1") + "--"
        return _bad(
            f"the upload was cut off: the multipart body ends before its closing boundary ({closing}){where}; "
            "nothing was queued: send the whole form again"
        )

    def _sniff(self) -> None:
        why = sniff(self.head)
        if why:
            raise ApiProblem(
                415,
                "not-media",
                f"{self.upload.filename or 'the upload'}: {why}",
                title="Not an audio or video file",
            )

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def _bad(detail: str) -> ApiProblem:
    return ApiProblem(422, "bad-form", detail, title="Malformed upload form")


def too_large(max_bytes: int) -> ApiProblem:
    return ApiProblem(
        413,
        "too-large",
        f"the upload is larger than the limit of {max_bytes} bytes "
        f"({max_bytes / 1e6:.0f} MB); send a shorter or more compressed file",
        title="Upload too large",
        headers={"Connection": "close"},
    )


def upload_timeout(timeout_s: float, received: int) -> ApiProblem:
    return ApiProblem(
        408,
        "upload-timeout",
        f"the request body did not arrive within the time limit of {timeout_s:g} s for uploads ({received} bytes "
        "received); send it over a faster connection, or give a URL the server can fetch",
        title="Upload too slow",
        headers={"Connection": "close"},
    )


async def body_chunks(request: Request, timeout_s: float | None) -> AsyncIterator[bytes]:
    """The body of ``request`` as it arrives, all of it within ``timeout_s`` seconds (None: no limit).

    The limit is a deadline over the whole body, enforced while a read waits (a per-read timeout would restart
    with every byte a slow client sends).

    Raises:
        ApiProblem: 408 ``upload-timeout`` when the deadline passes before the body has ended.
        ClientDisconnect: the client went away.
    """
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    stream = request.stream().__aiter__()
    received = 0
    while True:
        scope = asyncio.timeout_at(deadline)
        try:
            async with scope:
                chunk = await anext(stream)
        except StopAsyncIteration:
            return
        except TimeoutError:
            if timeout_s is not None and scope.expired():
                raise upload_timeout(timeout_s, received) from None
            raise
        received += len(chunk)
        yield chunk


async def receive_upload(
    request: Request, dest: Path, *, max_bytes: int, text_fields: frozenset[str], timeout_s: float | None = None
) -> Upload:
    """Stream the multipart body of ``request``; the file part goes to ``dest``.

    Args:
        timeout_s: the whole body must arrive within this many seconds (None: no limit).

    Raises:
        ApiProblem: 413 past ``max_bytes`` (as soon as it is passed), 415 for a non-media file,
            422 for a malformed form, a missing file part, or a body cut off before its closing boundary,
            408 when the body has not all arrived within ``timeout_s``.
    """
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise _bad("the multipart/form-data content type has no boundary")
    receiver = _Receiver(dest, max_bytes, text_fields)
    parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in body_chunks(request, timeout_s):
            parser.write(chunk)
        parser.finalize()
        if not receiver.ended:  # python-multipart's finalize() does not check this itself
            raise receiver.cut_off(boundary)
    except FormParserError as e:
        raise _bad(f"the multipart body cannot be parsed ({e})") from e
    except ClientDisconnect as e:
        raise _bad("the client disconnected before the upload finished") from e
    finally:
        receiver.close()
    if not receiver.upload.received_file:
        raise _bad("the form has no 'file' part; send the video or audio file as 'file'")
    receiver.upload.sha256 = receiver.digest.hexdigest()
    if receiver.upload.size_bytes < SNIFF_BYTES:
        receiver._sniff()
    return receiver.upload
