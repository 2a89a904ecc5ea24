"""The Launcher `valhalla serve` hands uvicorn: /core/health answers before the application is
built; everything else waits for the build, then is passed through. Driven over ASGI directly,
the build held back by an event (no sleeps)."""

from __future__ import annotations

import asyncio
import json
import threading

from fastapi.testclient import TestClient

from app import __version__
from app.core_gov.http import SECURITY_HEADERS
from app.launch import HEALTH, HEADERS, Launcher
from app.main import create_app
from app.settings import LOOPBACK_HOSTS, Settings

HOSTS = frozenset(LOOPBACK_HOSTS)


class Inner:
    """A stand-in application: answers every request 200 naming its path; records lifespan messages."""

    def __init__(self) -> None:
        self.lifespan: list[str] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.lifespan.append(message["type"])
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body = json.dumps({"inner": scope["path"]}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def held(app, gate: threading.Event):
    """A build that returns ``app`` once ``gate`` is set."""
    def build():
        assert gate.wait(30)
        return app
    return build


async def request(launcher, path: str, method: str = "GET", host: bytes = b"localhost:8000") -> tuple[int, dict, dict]:
    scope = {"type": "http", "method": method, "path": path, "headers": [(b"host", host)], "query_string": b""}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await launcher(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], dict(sent[0]["headers"]), json.loads(body) if body else {}


def test_health_answers_before_the_build_and_other_requests_wait_then_pass_through():
    gate, inner = threading.Event(), Inner()
    launcher = Launcher(held(inner, gate), HOSTS).start()

    async def scenario():
        status, headers, body = await request(launcher, HEALTH)
        assert (status, body) == (200, {"status": "ok", "version": __version__, "loading": True})
        assert headers[b"content-type"] == b"application/json" and set(SECURITY_HEADERS) <= set(headers.items())
        assert await request(launcher, HEALTH, "HEAD") == (200, headers, {})
        waiting = asyncio.ensure_future(request(launcher, "/core/holdings"))
        for _ in range(20):
            await asyncio.sleep(0)  # let it run as far as it can: it waits for the build
        assert not waiting.done()
        gate.set()
        assert await asyncio.wait_for(waiting, 30) == (200, {b"content-type": b"application/json"}, {"inner": "/core/holdings"})
        assert (await request(launcher, HEALTH))[2] == {"inner": HEALTH}  # built: the application answers health too

    asyncio.run(scenario())
    assert launcher.app is inner and launcher.error is None


def test_the_launch_headers_are_the_core_middlewares():
    assert HEADERS == SECURITY_HEADERS


def test_a_host_not_served_gets_no_early_health_but_the_applications_answer():
    gate = threading.Event()
    launcher = Launcher(held(Inner(), gate), HOSTS).start()

    async def scenario():
        waiting = asyncio.ensure_future(request(launcher, HEALTH, host=b"evil.example"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()
        gate.set()
        assert (await asyncio.wait_for(waiting, 30))[2] == {"inner": HEALTH}

    asyncio.run(scenario())


def test_a_request_waits_at_most_the_bound_then_is_503_starting():
    gate = threading.Event()
    launcher = Launcher(held(Inner(), gate), HOSTS, wait=0).start()
    try:
        status, headers, body = asyncio.run(request(launcher, "/core/deals"))
        assert (status, body["detail"]["code"], headers[b"retry-after"]) == (503, "starting", b"5")
    finally:
        gate.set()


def test_a_failed_build_stops_the_server_and_requests_are_503_start_failed():
    failures: list[BaseException] = []
    done = threading.Event()

    def build():
        raise RuntimeError("data format 9 is newer than this program's")

    def failed(error):
        failures.append(error)
        done.set()

    launcher = Launcher(build, HOSTS, failed=failed).start()
    assert done.wait(30)
    assert [str(e) for e in failures] == ["data format 9 is newer than this program's"]
    status, _, body = asyncio.run(request(launcher, "/core/deals"))
    assert (status, body["detail"]["code"]) == (503, "start_failed") and "newer than" in body["detail"]["message"]


def test_lifespan_startup_completes_at_once_and_the_applications_lifespan_runs_once_built():
    gate, inner = threading.Event(), Inner()
    launcher = Launcher(held(inner, gate), HOSTS).start()

    async def scenario():
        to_app: asyncio.Queue = asyncio.Queue()
        from_app: asyncio.Queue = asyncio.Queue()
        running = asyncio.ensure_future(launcher({"type": "lifespan", "state": {}}, to_app.get, from_app.put))
        await to_app.put({"type": "lifespan.startup"})
        assert await asyncio.wait_for(from_app.get(), 30) == {"type": "lifespan.startup.complete"}
        assert inner.lifespan == []
        gate.set()
        await to_app.put({"type": "lifespan.shutdown"})
        assert await asyncio.wait_for(from_app.get(), 30) == {"type": "lifespan.shutdown.complete"}
        await asyncio.wait_for(running, 30)
        assert from_app.empty()  # the application's own startup.complete is not sent twice

    asyncio.run(scenario())
    assert inner.lifespan == ["lifespan.startup", "lifespan.shutdown"]


def test_the_real_application_behind_the_launcher_answers_as_it_does_alone(data_dir):
    settings = Settings(data_dir=data_dir)
    launcher = Launcher(lambda: create_app(settings), settings.hosts).start()
    with TestClient(launcher, base_url="http://localhost") as client:  # runs the lifespan too
        r = client.get("/core/holdings")
        assert r.status_code == 200 and r.json() == []
        assert client.get("/core/health").json() == {"status": "ok", "version": __version__}
        assert client.get("/core/nowhere", headers={"Host": "evil.example"}).json()["detail"]["code"] == "host_not_allowed"
