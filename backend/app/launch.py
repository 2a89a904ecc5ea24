"""What uvicorn runs: `/core/health` answers from the first moment while the application is built
in a background thread (importing FastAPI and every module, checking the data format and
preparing ~200 routes takes seconds on a busy machine). Every other request waits for the build
(at most ``wait`` seconds, then 503 ``starting``) and is then passed through unchanged; the
application's lifespan runs once it is built (startup then, shutdown with the server's). This
module imports nothing heavy: no FastAPI, pydantic or store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from typing import Any, Awaitable, Callable

from . import __version__
from .settings import host_name

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[dict, Receive, Send], Awaitable[None]]

HEALTH = "/core/health"
# The headers CoreMiddleware adds to every answer (SECURITY_HEADERS; a test keeps them equal).
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
_PORT = re.compile(r":\d*$")


class Launcher:
    """An ASGI app that answers GET /core/health itself until ``build()`` (run by ``start()`` in a
    thread) returns the real application, then hands everything to it. ``failed(error)`` is called
    when the build raises (the server should stop); requests are then answered 503."""

    def __init__(self, build: Callable[[], App], hosts: frozenset[str], *, wait: float = 120.0,
                 failed: Callable[[BaseException], None] = lambda error: None):
        self.build, self.hosts, self.wait, self.failed = build, hosts, wait, failed
        self.app: App | None = None
        self.error: BaseException | None = None
        self._built = False
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def start(self) -> "Launcher":
        threading.Thread(target=self._build, name="valhalla-build", daemon=True).start()
        return self

    def _build(self) -> None:
        try:
            self.app = self.build()
        except BaseException as e:  # noqa: BLE001  (reported to the server, which stops)
            self.error = e
            self.failed(e)
        with self._lock:
            self._built = True
            waiters, self._waiters = self._waiters, []
        for loop, done in waiters:
            with contextlib.suppress(RuntimeError):  # a loop already closed waits for nothing
                loop.call_soon_threadsafe(done.set)

    async def _ready(self, timeout: float | None) -> bool:
        """Whether the build has ended (built or failed) within ``timeout`` seconds."""
        with self._lock:
            if self._built:
                return True
            done = asyncio.Event()
            self._waiters.append((asyncio.get_running_loop(), done))
        try:
            await asyncio.wait_for(done.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if self.app is not None:
            return await self.app(scope, receive, send)
        if scope["type"] == "lifespan":
            return await self._lifespan(scope, receive, send)
        if scope["type"] == "http" and scope["path"] == HEALTH and scope["method"] in ("GET", "HEAD") and self._host_served(scope):
            body = {"status": "ok", "version": __version__, "loading": True}
            return await _answer(send, 200, body, head=scope["method"] == "HEAD")
        if not await self._ready(self.wait):
            return await _answer(send, 503, {"detail": {"code": "starting", "message": (
                f"the service is still starting (over {self.wait:.0f} s building the application); retry shortly")}}, [(b"retry-after", b"5")])
        if self.app is None:
            return await _answer(send, 503, {"detail": {"code": "start_failed", "message": f"the service failed to start: {self.error}"}})
        await self.app(scope, receive, send)

    async def _lifespan(self, scope: dict, receive: Receive, send: Send) -> None:
        """Startup completes at once (uvicorn listens only after it). Once the application is
        built, its lifespan is driven from here: startup replayed (its completion was already
        sent), then the server's shutdown passed through."""
        await receive()  # lifespan.startup
        await send({"type": "lifespan.startup.complete"})
        await self._ready(None)
        if self.app is None:
            await receive()  # lifespan.shutdown
            return await send({"type": "lifespan.shutdown.complete"})
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "lifespan.startup"}
            return await receive()

        async def relay(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                self.error = RuntimeError(f"the application's startup failed: {message.get('message', '')}")
                self.failed(self.error)
            elif message["type"] != "lifespan.startup.complete":
                await send(message)

        await self.app(scope, replay, relay)

    def _host_served(self, scope: dict) -> bool:
        """The Host check of CoreMiddleware (any other name waits and gets its 400 from it)."""
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
        return host_name(_PORT.sub("", host)) in self.hosts


async def _answer(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]] = (), *, head: bool = False) -> None:  # type: ignore[assignment]
    data = json.dumps(body, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *HEADERS, *headers]})
    await send({"type": "http.response.body", "body": b"" if head else data})
