"""`scripts/bench --sizes 1000,100000,1000000`: deals at real sizes (issue 18).

For each N: preload N deals of about 900 B (written as files, or through the CSV import with
`--preload csv`), then four launches of `valhalla serve` on that data dir, each ended by SIGKILL:
1. /core/health after launch, the first read (of files this server never read), then each phase
   over HTTP, RSS now and at peak;
2. a restart: once the application answers (GET /core, which reads no data), the first write;
   then every acknowledged create and patch looked up;
3. a restart: the first read;
4. a restart: /core/ready.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import httpx

from harness import Ledger, creator, getter, http_lookup, ms, patcher, reader, run, valhalla
from loaders import IMPORT_ENV, import_deals_csv, write_deals_csv, write_deals_files
from records import SEARCH, deal

ONE = "/core/deals/{id}"


def preload(tmp: Path, data_dir: Path, n: int, how: str) -> tuple[list[str], float, str]:
    """(about 1,000 ids spread over the deals, seconds, how it was done)."""
    if how == "files":
        start = time.perf_counter()
        ids = write_deals_files(data_dir, n)
        return ids[:: max(1, n // 1000)], time.perf_counter() - start, "written as files"
    path = tmp / "deals.csv"
    write_deals_csv(path, n)
    with valhalla(data_dir, IMPORT_ENV) as server:
        start = time.perf_counter()
        added = import_deals_csv(server, path)
        took = time.perf_counter() - start
        peak = server.rss_mb()[1]
        step = max(50, n // 20)
        ids = [d["id"] for offset in range(0, n, step) for d in httpx.get(f"{server.base}/core/deals", params={"offset": offset, "limit": 50}, timeout=900).json()]
    return ids, took, f"through the CSV import ({path.stat().st_size / 1e6:.0f} MB, {added:,} added, server peak RSS {peak:,.0f} MB; every deal a lead)"


def bench_size(n: int, levels: list[int], seconds: float, how: str, keep: bool) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="valhalla-bench-deals-"))
    data_dir = tmp / "data"
    ids, preload_s, done = preload(tmp, data_dir, n, how)
    size = sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file()) / 1e6
    print(f"\ndeals N = {n:,}: data dir {size:,.1f} MB, {done} in {preload_s:.1f} s", flush=True)
    ledger = Ledger()
    many, deep = max(levels), n * 9 // 10
    create = creator("/core/deals", lambda v: deal(n + v), ledger)
    phases = [  # (key, label, clients, op)
        ("empty", "empty round trip /core/health", 1, getter("/core/health")),
        ("get", "get one", 1, reader(ONE, ids)),
        ("page0", "page of 50, offset 0", 1, getter("/core/deals", {"limit": 50})),
        ("page_deep", f"page of 50, offset {deep:,}", 1, getter("/core/deals", {"limit": 50, "offset": deep})),
        ("filtered", "filtered: ON, Toronto, lead", 1, getter("/core/deals", {"province": "ON", "city": "Toronto", "stage": "lead", "limit": 50})),
        ("search", f"text search q={SEARCH}", 1, getter("/core/deals", {"q": SEARCH, "limit": 50})),
        ("audit", "GET /core/audit?limit=50", 1, getter("/core/audit", {"limit": 50})),
        ("create", "create", 1, create),
        ("patch", "patch", 1, patcher(ONE, ids, "asking_price", ledger)),
        ("creates_many", f"create, {many} clients", many, create),
    ]
    out: dict[str, float] = {"preload_s": preload_s}
    with valhalla(data_dir) as server:
        out["health_s"] = server.started_s
        out["first_read_s"], r = server.timed("GET", ONE.format(id=ids[len(ids) // 2]))
        r.raise_for_status()
        print(f"  launch: /core/health after {server.started_s:.2f} s, first read {ms(out['first_read_s'])}", flush=True)
        print(f"  {'phase':<32}{'clients':>8}{'ops/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'errors':>8}")
        for key, label, conc, op in phases:
            st = run(server.base, conc, seconds, op)
            out[key] = st.rate if key == "creates_many" else st.p50
            print(f"  {label:<32}{conc:>8}{st.rate:>10,.0f}{st.p50:>10.2f}{st.pct(95):>10.2f}{st.errors:>8}", flush=True)
        out["rss_mb"], out["peak_mb"] = server.rss_mb()
        print(f"  RSS {out['rss_mb']:,.0f} MB, peak {out['peak_mb']:,.0f} MB")
    with valhalla(data_dir) as server:
        out["restart_health_s"], out["restart_up_s"] = server.started_s, server.up()
        value = 1.0 + ledger.next_value()
        out["first_write_s"], r = server.timed("PATCH", ONE.format(id=ids[0]), json={"asking_price": value})
        ledger.patch(ids[0], value, r.status_code == 200)
        r.raise_for_status()
        missing = ledger.missing(http_lookup(server.base, ONE), "asking_price")
    since_health = out["restart_up_s"] - out["restart_health_s"] + out["first_write_s"]
    print(f"  restart: /core/health after {out['restart_health_s']:.2f} s, the application up after {out['restart_up_s']:.2f} s, "
          f"then first write {ms(out['first_write_s'])} ({ms(since_health)} after /core/health)")
    with valhalla(data_dir) as server:
        out["restart_read_s"], first = server.timed("GET", ONE.format(id=ids[len(ids) // 2]))
        first.raise_for_status()
        print(f"  restart: /core/health after {server.started_s:.2f} s, first read {ms(out['restart_read_s'])}")
    with valhalla(data_dir) as server:
        out["ready_s"], r = server.timed("GET", "/core/ready")
        print(f"  restart: /core/health after {server.started_s:.2f} s, /core/ready {ms(out['ready_s'])} ({r.status_code})")
    print(f"  durability: {ledger.summary(missing)} after SIGKILL and restart")
    if keep:
        print(f"  data dir kept: {data_dir}")
    else:
        shutil.rmtree(tmp)
    if missing or r.status_code != 200:
        raise SystemExit(f"FAILED: {len(missing)} acknowledged writes missing, /core/ready {r.status_code}")
    return out


# (label, key, format, goal at the largest size, from issue 18)
SUMMARY = [
    ("create p50, 1 client", "create", "{:.1f} ms", "≤ 2× smallest"),
    ("patch p50, 1 client", "patch", "{:.1f} ms", "≤ 2× smallest"),
    ("creates/s, 8 clients", "creates_many", "{:,.0f}/s", "≥ 0.5× smallest"),
    ("page of 50 p50, offset 0", "page0", "{:.1f} ms", "≤ 1.5× smallest"),
    ("page of 50 p50, offset 90%", "page_deep", "{:.1f} ms", "≤ 1.5× smallest"),
    ("filtered list p50", "filtered", "{:.1f} ms", "≤ 20 ms"),
    ("text search p50", "search", "{:.1f} ms", "≤ 100 ms"),
    ("GET /core/audit?limit=50 p50", "audit", "{:.1f} ms", "≤ 50 ms"),
    ("get one p50 (empty trip)", "get", "{:.1f} ms", ""),
    ("RSS", "rss_mb", "{:,.0f} MB", "≤ 1.2 GB at 1M"),
    ("RSS peak", "peak_mb", "{:,.0f} MB", "≤ 1.2 GB at 1M"),
    ("preload", "preload_s", "{:.1f} s", "CSV import ≤ 60 s at 1M"),
    ("/core/health after launch", "health_s", "{:.2f} s", "≤ 1 s"),
    ("first read after launch", "first_read_s", "{:.3f} s", ""),
    ("first read after restart", "restart_read_s", "{:.3f} s", "≤ 3 s"),
    ("application up after restart", "restart_up_s", "{:.2f} s", ""),
    ("then first write", "first_write_s", "{:.3f} s", "≤ 2× patch p50"),
    ("/core/ready after restart", "ready_s", "{:.3f} s", "≤ 2 s"),
]


def bench_sizes(sizes: list[int], levels: list[int], seconds: float, how: str, keep: bool) -> None:
    results = {n: bench_size(n, levels, seconds, how, keep) for n in sizes}
    print(f"\ndeals at each size ({seconds:g} s a phase; create with {max(levels)} clients)")
    print(f"{'figure':<30}" + "".join(f"{f'N={n:,}':>14}" for n in sizes) + "  goal")
    for label, key, fmt, goal in SUMMARY:
        cells = "".join(f"{fmt.format(results[n][key]):>14}" for n in sizes)
        if key == "get":
            cells = "".join(f"{'%.1f (%.1f)' % (results[n][key], results[n]['empty']):>14}" for n in sizes)
        print(f"{label.replace('8 clients', f'{max(levels)} clients'):<30}{cells}  {goal}")
