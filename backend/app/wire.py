"""uvicorn's HTTP protocol with each response's head sent in one write with its body.

uvicorn writes a response's status line and headers, then its body: two send calls and two TCP
segments per answer, and on loopback each send also delivers to the client, so the head's alone
was the largest single cost of a cached GET (about a fifth of the server's CPU). Here a head is
held until the next write on its connection (the body, in the same pass of the event loop) and
goes out with it; one that no write follows (HEAD, a stream's first chunk still to come) goes
out at the end of that pass. Nothing else is held, and order is kept.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeadWithBody:
    """A transport that holds a response head back until the next write (or the loop's next pass)."""

    __slots__ = ("transport", "loop", "head")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self.transport, self.loop, self.head = transport, loop, None

    def write(self, data: bytes) -> None:
        head = self.head
        if head is not None:
            self.head = None
            self.transport.write(head + data)
        elif type(data) is bytes and data.startswith(b"HTTP/") and data.endswith(b"\r\n\r\n"):  # uvicorn's heads are bytes
            self.head = data
            self.loop.call_soon(self.flush)
        else:
            self.transport.write(data)

    def flush(self) -> None:
        head = self.head
        if head is not None:
            self.head = None
            self.transport.write(head)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's
        return getattr(self.transport, name)


class Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (``uvicorn.Config(http=Protocol)``) on a ``HeadWithBody`` transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeadWithBody(transport, self.loop))  # type: ignore[arg-type]
