"""A real server (`valhalla serve` on a free port and a temp data dir) and a real browser
(Debian's chromium driven headless by Playwright) for the dashboard tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VALHALLA = Path(sys.executable).with_name("valhalla")


@dataclass
class Server:
    base: str
    data_dir: Path
    process: subprocess.Popen
    http: httpx.Client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(data_dir: Path, *, token: str | None = None) -> Server:
    """Start `valhalla serve`; `ready` waits for it to answer."""
    port = _free_port()
    env = {**os.environ, "VALHALLA_DATA_DIR": str(data_dir), "VALHALLA_PORT": str(port)}
    env.pop("VALHALLA_TOKEN", None)
    if token:
        env["VALHALLA_TOKEN"] = token
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(data_dir.parent / "server.log", "wb") as log:  # the child keeps its own handle
        process = subprocess.Popen([str(VALHALLA), "serve", "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)
    headers = {"X-Actor": "ui-test", **({"Authorization": f"Bearer {token}"} if token else {})}
    base = f"http://127.0.0.1:{port}"
    return Server(base, data_dir, process, httpx.Client(base_url=base, timeout=10, headers=headers))


def ready(server: Server) -> Server:
    deadline = time.monotonic() + 30
    while True:
        try:
            r = server.http.get("/core/health")
            if r.status_code == 200 and not r.json().get("loading"):  # up, not only listening
                return server
        except httpx.TransportError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            stop(server)
            raise RuntimeError(f"valhalla serve did not start: {(server.data_dir.parent / 'server.log').read_text()}")
        time.sleep(0.05)


def stop(server: Server) -> None:
    server.http.close()
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


TOKEN = "ui-test-token-0123456789"


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> dict[str, Server]:
    """Two servers started together: `seeded` (`valhalla seed-demo`, then the operator's first step,
    go-live on: the demo clears the runbook) and `empty` (a fresh install guarded by VALHALLA_TOKEN)."""
    root = tmp_path_factory.mktemp("ui")
    started = {"empty": launch(root / "empty" / "data", token=TOKEN)}
    try:
        seeded_dir = root / "seeded" / "data"
        demo = subprocess.run([str(VALHALLA), "seed-demo"], check=False, env={**os.environ, "VALHALLA_DATA_DIR": str(seeded_dir)}, capture_output=True, text=True)
        assert demo.returncode == 0, demo.stderr
        started["seeded"] = launch(seeded_dir)
        for server in started.values():
            ready(server)
        enabled = started["seeded"].http.post("/core/golive/enable", json={"reason": "runbook clear: opening the week"})
        assert enabled.status_code == 200, enabled.text
        yield started
    finally:
        for server in started.values():
            stop(server)


@pytest.fixture
def seeded(servers) -> Server:
    return servers["seeded"]


@pytest.fixture
def empty(servers) -> Server:
    return servers["empty"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
