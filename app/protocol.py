"""The HTTP/1.1 connection protocol ``soundcue serve`` runs: uvicorn's h11 protocol with a request-head deadline.

uvicorn (0.54) times out idle keep-alive connections but not a request head in progress: a client that opens a
connection and sends its request line and headers a byte at a time ("slowloris") holds a connection, a file
descriptor and a parser for as long as it likes, and a few hundred such clients exhaust the server. With this
protocol a request head (request line and header fields) must be complete within ``head_timeout_s`` of its first
byte (of the connection's opening, for the first request); otherwise the connection is closed, after a 408
problem+json answer when part of a head had arrived (a connection that sent nothing is closed silently, as
browsers' unused pre-connections are). This is the rule of Apache httpd's mod_reqtimeout (``header=20``: 20 s for
the head by default, https://httpd.apache.org/docs/2.4/mod/mod_reqtimeout.html) and nginx's
``client_header_timeout``. A request body has its own limit in the application (``upload_timeout_s``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.core.config import Settings
from app.problems import PROBLEM_JSON, ApiProblem

#: Default time allowed for a request head, seconds: ``SOUNDCUE_REQUEST_HEAD_TIMEOUT_S``'s default (20 s, as
#: Apache mod_reqtimeout's ``header=20``).
HEAD_TIMEOUT_S: float = Settings.model_fields["request_head_timeout_s"].default


class HeadDeadlineH11Protocol(H11Protocol):
    """uvicorn's :class:`~uvicorn.protocols.http.h11_impl.H11Protocol`; a request head must arrive within
    :attr:`head_timeout_s` seconds (see the module docstring). Subclass it to change the limit
    (:func:`head_deadline_protocol`)."""

    head_timeout_s: float = HEAD_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        if self._head_deadline is None and self.conn.their_state is h11.IDLE:
            self._arm_head_deadline()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_deadline()  # the head is parsed (or the connection failed): the app takes over

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:  # part of a head arrived: say why the connection ends
            self.transport.write(_timeout_response(self.head_timeout_s))
        self.logger.info("closing a connection whose request head took over %g s", self.head_timeout_s)
        self.transport.close()


def head_deadline_protocol(head_timeout_s: float) -> type[HeadDeadlineH11Protocol]:
    """The protocol class uvicorn runs (its ``http`` option) with a head deadline of ``head_timeout_s`` seconds.

    Raises:
        ValueError: ``head_timeout_s`` is not positive.
    """
    if not head_timeout_s > 0:
        raise ValueError(f"head_timeout_s must be positive, got {head_timeout_s}")
    return type("HeadDeadlineH11Protocol", (HeadDeadlineH11Protocol,), {"head_timeout_s": float(head_timeout_s)})


def _timeout_response(head_timeout_s: float) -> bytes:
    problem = ApiProblem(408, "head-timeout", f"the request line and headers did not arrive within "
                         f"{head_timeout_s:g} s; the connection is closed")
    body = json.dumps(problem.to_dict()).encode()
    head = (f"HTTP/1.1 408 Request Timeout\r\ncontent-type: {PROBLEM_JSON}\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n")
    return head.encode("ascii") + body
