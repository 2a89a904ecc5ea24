"""`valhalla serve` sends each response's head in one write with its body (``app.wire``), and
answers exactly what uvicorn's own protocol answers: heads, bodies, streams, HEAD, keep-alive."""

from __future__ import annotations

import asyncio
import socket
import threading
from contextlib import contextmanager

import uvicorn

from app.wire import HeadWithBody, Protocol

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recorder:
    def __init__(self):
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


def test_a_head_goes_out_with_the_body_that_follows_it():
    async def main():
        t = Recorder()
        wire = HeadWithBody(t, asyncio.get_running_loop())
        wire.write(HEAD)
        assert t.writes == []
        wire.write(b"{}")
        assert t.writes == [HEAD + b"{}"]
        await asyncio.sleep(0)  # the pass that would have sent a head left alone sends nothing more
        assert t.writes == [HEAD + b"{}"]

    asyncio.run(main())


def test_a_head_no_write_follows_goes_out_at_the_end_of_the_pass_and_before_a_close():
    async def main():
        t = Recorder()
        wire = HeadWithBody(t, asyncio.get_running_loop())
        wire.write(HEAD)
        await asyncio.sleep(0)
        assert t.writes == [HEAD]
        wire.write(HEAD)
        wire.close()
        assert t.writes == [HEAD, HEAD] and t.closed
        other = HeadWithBody(Recorder(), asyncio.get_running_loop())
        other.write(b"a body chunk\r\n\r\n")  # not a head: straight through
        other.write(memoryview(b"HTTP/ a chunk\r\n\r\n"))  # a body of any buffer type
        assert other.transport.writes == [b"a body chunk\r\n\r\n", memoryview(b"HTTP/ a chunk\r\n\r\n")]
        assert other.get_write_buffer_size() == 0  # the rest is the transport's

    asyncio.run(main())


async def _app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0)
        return await send({"type": "http.response.body", "body": b""})
    body = b'{"path": "%s"}' % scope["path"].encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def serving(http):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(_app, http=http, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)


def _exchange(port: int, requests: bytes, answers: int) -> bytes:
    """Send the requests on one connection and read until the last answer ends."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(requests)
        got = b""
        while got.count(b"HTTP/1.1 ") < answers or not (got.endswith(b"}") or got.endswith(b"0\r\n\r\n") or got.endswith(b"\r\n\r\n")):
            chunk = c.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def test_the_answers_are_those_of_uvicorns_own_protocol():
    requests = (b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n" b"HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n" b"GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
    answers = []
    for http in (Protocol, "httptools"):
        with serving(http) as port:
            raw = _exchange(port, requests, 4)
        answers.append(b"\r\n".join(line for line in raw.split(b"\r\n") if not line.startswith(b"date: ")))
    assert answers[0] == answers[1]
    assert answers[0].count(b"HTTP/1.1 200 OK") == 4 and b'{"path": "/c"}' in answers[0] and b"one,two,three" not in answers[0]
    assert b"4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n" in answers[0]
