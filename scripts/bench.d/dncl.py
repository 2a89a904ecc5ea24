"""`scripts/bench --dncl 2000000`: the National DNCL at its real size (issue 18 item 3).

Generates a list of N numbers over 416, 647 and 437, then three launches of `valhalla serve`,
each ended by SIGKILL:
1. the import (time, RSS growth and peak, audit lines written), then opt-outs (p50);
2. a restart: the first suppression check, then its p50; every acknowledged opt-out and a
   sample of the imported numbers must be suppressed;
3. a restart: /core/ready.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import date
from itertools import islice
from pathlib import Path

import httpx

from harness import Client, Ledger, Server, getter, ms, run, valhalla
from loaders import IMPORT_ENV, import_dncl
from records import dncl_numbers, opt_out_number

CHECK = "/core/comms/suppressions/check"


def audit_lines(server: Server) -> int:
    """Entries in the comms audit trail (X-Total-Count of GET /core/audit?module=comms)."""
    r = httpx.get(f"{server.base}/core/audit", params={"module": "comms", "limit": 1}, timeout=900)
    r.raise_for_status()
    return int(r.headers["x-total-count"])


def bench_dncl(n: int, seconds: float, keep: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="valhalla-bench-dncl-"))
    data_dir, path = tmp / "data", tmp / "dncl.csv"
    start = time.perf_counter()
    with open(path, "w") as f:
        f.write("phone\n")
        f.writelines(f"{x}\n" for x in dncl_numbers(n))
    print(f"\nDNCL N = {n:,} numbers over 416, 647, 437 ({path.stat().st_size / 1e6:.1f} MB file, written in {time.perf_counter() - start:.1f} s)", flush=True)
    ledger = Ledger()

    def opt_out(client: Client, w: int, k: int, conc: int) -> bool:
        value = opt_out_number(ledger.next_value())
        r = client.post("/core/comms/suppressions", json={"value": value, "reason": "opt_out", "source": "bench"})
        if r.status_code == 201:
            ledger.create(value)
        return r.status_code == 201

    with valhalla(data_dir, IMPORT_ENV) as server:
        httpx.get(f"{server.base}{CHECK}", params={"to": "+14165550100"}, timeout=900).raise_for_status()  # comms loaded
        lines_before = audit_lines(server)
        rss_before = server.rss_mb()[0]
        start = time.perf_counter()
        held = import_dncl(server, path, date.today())
        import_s = time.perf_counter() - start
        rss_after, peak = server.rss_mb()
        lines = audit_lines(server) - lines_before
        opt_outs = run(server.base, 1, seconds, opt_out)
    print(f"  import: {import_s:.1f} s, {held:,} numbers held; server RSS {rss_before:,.0f} -> {rss_after:,.0f} MB "
          f"(+{rss_after - rss_before:,.0f} MB, peak {peak:,.0f} MB); {lines:,} audit lines written")
    print(f"  opt-out after the import (POST /core/comms/suppressions): p50 {opt_outs.p50:.2f} ms, p95 {opt_outs.pct(95):.2f} ms, {opt_outs.rate:,.0f}/s")
    numbers = [f"+1{x}" for x in islice(dncl_numbers(n), 0, None, max(1, n // 200))]
    with valhalla(data_dir) as server:
        first, r = server.timed("GET", CHECK, params={"to": numbers[0]})
        r.raise_for_status()
        checks = run(server.base, 1, seconds, getter(CHECK, {"to": numbers[-1]}))
        empty = run(server.base, 1, seconds, getter("/core/health"))
        with Client(server.base) as c:
            suppressed = [x for x in ledger.created + numbers if c.get(CHECK, params={"to": x}).json()["suppressed"]]
        missing = len(ledger.created) + len(numbers) - len(suppressed)
    print(f"  restart: /core/health after {server.started_s:.2f} s; suppression check first {ms(first)}, then p50 {checks.p50:.2f} ms "
          f"(empty round trip {empty.p50:.2f} ms)")
    with valhalla(data_dir) as server:
        ready, r = server.timed("GET", "/core/ready")
    print(f"  restart: /core/health after {server.started_s:.2f} s, /core/ready {ms(ready)} ({r.status_code})")
    print(f"  durability: {len(ledger.created):,} acknowledged opt-outs and {len(numbers)} sampled list numbers checked, "
          f"{missing} not suppressed after SIGKILL and restart")
    if keep:
        print(f"  data dir kept: {data_dir}")
    else:
        shutil.rmtree(tmp)
    if missing or held != n or r.status_code != 200:
        raise SystemExit(f"FAILED: {missing} numbers not suppressed, {held:,} of {n:,} held, /core/ready {r.status_code}")
