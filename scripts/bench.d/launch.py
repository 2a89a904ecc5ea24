"""`scripts/bench --launch`: seconds from `scripts/serve` to the first 200 from /core/health, on an
empty data dir and on one holding N deals (issue 18: at most 1 s at any size), then how long the
first other request (`GET /core/deals?limit=1`) waits for the application behind it."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from harness import ROOT, free_port
from loaders import write_deals_files


def _launch(data_dir: Path) -> tuple[float, float]:
    """(launch to the first /core/health 200, launch to the first /core/deals 200), in seconds."""
    port = free_port()
    env = {**os.environ, "VALHALLA_DATA_DIR": str(data_dir), "VALHALLA_PORT": str(port)}
    base = f"http://127.0.0.1:{port}"
    launched = time.perf_counter()
    proc = subprocess.Popen([str(ROOT / "scripts" / "serve"), "--log-level", "warning"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        health = None
        while health is None:
            if proc.poll() is not None:
                raise SystemExit(f"scripts/serve exited {proc.returncode}")
            try:  # http.client: no client set-up cost between polls
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", "/core/health")
                if conn.getresponse().status == 200:
                    health = time.perf_counter() - launched
                conn.close()
            except OSError:
                time.sleep(0.005)  # not listening yet: poll the port again
            if time.perf_counter() - launched > 120:
                raise SystemExit("scripts/serve did not answer /core/health within 120 s")
        r = httpx.get(base + "/core/deals", params={"limit": 1}, timeout=300)
        if r.status_code != 200:
            raise SystemExit(f"GET /core/deals answered {r.status_code}: {r.text[:300]}")
        return health, time.perf_counter() - launched
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def bench_launch(sizes: list[int], runs: int = 3) -> None:
    print("\nlaunch: scripts/serve to the first 200 from /core/health (target ≤ 1 s), then to the first /core/deals", flush=True)
    for n in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="valhalla-bench-launch-"))
        try:
            data_dir = tmp / "data"
            if n:
                write_deals_files(data_dir, n)
            else:
                data_dir.mkdir()
            size = sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file()) / 1e6
            times = [_launch(data_dir) for _ in range(runs)]
            health = ", ".join(f"{h:.2f}" for h, _ in times)
            first = ", ".join(f"{f:.2f}" for _, f in times)
            print(f"  {n:>9,} deals ({size:,.0f} MB): /core/health after {health} s; first /core/deals after {first} s", flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
