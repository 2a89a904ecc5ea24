"""Benchmark a real server over HTTP: reads, pages, lists, creates, patches and log appends.

Usage: scripts/bench [--sizes 1000,10000,100000] [--seconds 3] [--concurrency 1,8]

For each N it preloads N holdings of about 500 bytes into a fresh data dir, starts
`valhalla serve` on it, and reports ops/s, p50/p95/p99 and, for writes, the mean number of
transactions per durable commit (group commit), beside the floors that bound them: an empty HTTP
round trip, one fsync'd replace of the file at N, and one fsync'd append. It reports the
server's start time, its RSS, and checks that every acknowledged write is on disk.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

from app.core_gov.holdings import store as holdings_store  # noqa: E402
from app.core_gov.kpi import store as kpi_store  # noqa: E402
from app.core_gov.storage import Storage, files  # noqa: E402

NOTE = "Tenanted duplex near transit; roof 2019, furnace 2021; seller motivated, estate sale. " * 3


def record(i: int) -> dict:
    return {"name": f"Holding {i:06d}", "asset_type": "property", "jurisdiction": "ON", "entity": "Valhalla Holdings Inc.",
            "value_estimate": 250000 + i, "currency": "CAD", "notes": NOTE[:260]}


def preload(data_dir: Path, n: int) -> list[str]:
    db = Storage(data_dir)
    with db.transaction("holdings") as tx:
        ids = [tx.add(holdings_store.holdings, record(i), audit="create").id for i in range(n)]
    return ids


def floors(data_dir: Path) -> dict[str, float]:
    """One fsync'd replace of the holdings file as it is now, and one fsync'd append (ms)."""
    target = data_dir / "holdings" / "holdings.json"
    data = target.read_bytes()
    out = {}
    samples = []
    for i in range(20):
        start = time.perf_counter()
        tmp = files.write_temp(target, data, f"bench{i}")
        os.replace(tmp, target)
        files.fsync_dir(target.parent)
        samples.append(time.perf_counter() - start)
    out["replace_ms"] = statistics.median(samples) * 1000
    log = data_dir / "bench.jsonl"
    samples = []
    for i in range(200):
        line = files.dumps_line(record(i))
        start = time.perf_counter()
        files.write_at(log, log.stat().st_size if log.exists() else 0, line)
        samples.append(time.perf_counter() - start)
    log.unlink()
    out["append_ms"] = statistics.median(samples) * 1000
    out["file_mb"] = len(data) / 1e6
    return out


def run(base: str, concurrency: int, seconds: float, op) -> tuple[list[float], int]:
    """Call op(client, i) from `concurrency` threads for `seconds`; latencies in ms."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(w: int) -> None:
        nonlocal errors
        mine, bad, i = [], 0, 0
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                ok = op(client, w * 1_000_000 + i)
                mine.append((time.perf_counter() - start) * 1000)
                bad += not ok
                i += 1
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return latencies, errors, len(latencies) / elapsed


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_size(n: int, seconds: float, levels: list[int]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="valhalla-bench-"))
    data_dir = tmp / "data"
    ids = preload(data_dir, n)
    fl = floors(data_dir)
    with socket_port() as port:
        env = {**os.environ, "VALHALLA_DATA_DIR": str(data_dir), "VALHALLA_PORT": str(port)}
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--log-level", "warning"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base)
            health_s = time.perf_counter() - started
            with httpx.Client(base_url=base) as c:
                c.get(f"/core/holdings/{ids[0]}")  # first read loads the file
            start_s = time.perf_counter() - started
            created: list[str] = []
            appended: list[str] = []
            created_lock = threading.Lock()

            def empty(client, i):
                return client.get("/core/health").status_code == 200

            def get(client, i):
                return client.get(f"/core/holdings/{ids[i % n]}").status_code == 200

            def page(client, i):
                return client.get("/core/holdings", params={"limit": 50, "offset": (i * 50) % max(n - 50, 1)}).status_code == 200

            def create(client, i):
                r = client.post("/core/holdings", json=record(n + i))
                if r.status_code == 201:
                    with created_lock:
                        created.append(r.json()["id"])
                return r.status_code == 201

            def patch(client, i):
                return client.patch(f"/core/holdings/{ids[i % n]}", json={"value_estimate": 300000 + i}).status_code == 200

            def listing(client, i):  # a filtered list: one pass over every record
                return client.get("/core/holdings", params={"asset_type": "property", "jurisdiction": "ON", "limit": 50}).status_code == 200

            def append(client, i):  # an append-only write: one line in kpi/events.jsonl
                r = client.post("/core/kpi/events", json={"metric": "bench_metric", "domain": "bench", "value": 1})
                if r.status_code == 201:
                    with created_lock:
                        appended.append(r.json()["id"])
                return r.status_code == 201

            def writes(client) -> tuple[int, int]:
                w = client.get("/core/system/debug").json()["writes"]
                return w["commits"], w["transactions"]

            print(f"\nN = {n:,} records ({fl['file_mb']:.1f} MB file); server answering in {health_s:.2f} s, "
                  f"with the file loaded in {start_s:.2f} s")
            print(f"floors: fsync'd replace of the file {fl['replace_ms']:.2f} ms, fsync'd append {fl['append_ms']:.3f} ms")
            print(f"{'operation':<10}{'conc':>5}{'ops/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'tx/commit':>10}{'errors':>8}")
            ops = (("empty", empty), ("get", get), ("page50", page), ("list", listing), ("create", create), ("patch", patch), ("append", append))
            for name, op in ops:
                for conc in levels:
                    with httpx.Client(base_url=base, timeout=60) as c:
                        before = writes(c)
                        lat, errors, rate = run(base, conc, seconds, op)
                        after = writes(c)
                    commits, txs = after[0] - before[0], after[1] - before[1]
                    grouped = f"{txs / commits:.1f}" if commits else "-"
                    print(f"{name:<10}{conc:>5}{rate:>10.0f}{pct(lat, 50):>9.2f}{pct(lat, 95):>9.2f}{pct(lat, 99):>9.2f}{grouped:>10}{errors:>8}")
            print(f"server RSS {rss_mb(server.pid):.0f} MB")
        finally:
            server.terminate()
            server.wait(timeout=30)
    on_disk = {r.id for r in Storage(data_dir).list(holdings_store.holdings)}
    logged = {e.id for e in Storage(data_dir).entries(kpi_store.events)}
    missing = [i for i in created if i not in on_disk] + [i for i in appended if i not in logged]
    print(f"durability: {len(created):,} acknowledged creates and {len(appended):,} appends, {len(missing)} missing from disk")
    if missing:
        raise SystemExit("FAILED: acknowledged writes are missing")


class socket_port:
    def __enter__(self) -> int:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def __exit__(self, *exc) -> None:
        return None


def wait_ready(base: str) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/core/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", default="1,8")
    args = parser.parse_args()
    print(f"Valhalla Core benchmark: {os.cpu_count()} cores, python {sys.version.split()[0]}, maxrss limit {resource.getrlimit(resource.RLIMIT_AS)[0]}")
    for n in (int(x) for x in args.sizes.split(",")):
        bench_size(n, args.seconds, [int(c) for c in args.concurrency.split(",")])


if __name__ == "__main__":
    main()
