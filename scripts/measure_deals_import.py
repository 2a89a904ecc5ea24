"""Measure the deals CSV import at real sizes (not a test; the machine is shared: one run at a time).

  .venv/bin/python scripts/measure_deals_import.py --rows 100000,1000000
  .venv/bin/python scripts/measure_deals_import.py --profile 50000

--rows: for each N, a fresh data dir and server; a lead list of N rows (the bench's deals, about
280 B a row) POSTed to /core/deals/import as a streamed text/csv body. Prints the seconds, the
server's CPU seconds for it (utime + stime, counted once the application is built: on a shared
machine the wall time includes waiting for a core), its RSS before and after and its peak
(VmRSS, VmHWM), the deal files and audit lines written, the first page of deals after a restart
(its X-Total-Count must be every deal added), the load average (1, 5, 15 min) as the import
ends, and a linear extrapolation to 1M rows.
--profile N: one in-process import of N rows under cProfile, the top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "bench.d"))

from harness import valhalla  # noqa: E402
from loaders import write_deals_csv  # noqa: E402


def cpu_seconds(server) -> float:
    """utime + stime of the server process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(n: int, work: Path) -> dict:
    csv_path = work / f"leads-{n}.csv"
    write_deals_csv(csv_path, n)
    data_dir = work / f"data-{n}"
    with valhalla(data_dir) as server:
        server.timed("GET", "/core/deals", params={"limit": 1})  # health answers while the app is still built: wait for it
        before, cpu = server.rss_mb(), cpu_seconds(server)
        with open(csv_path, "rb") as f:
            seconds, r = server.timed("POST", "/core/deals/import", content=iter(partial(f.read, 1 << 16), b""), headers={"content-type": "text/csv"})
        if r.status_code != 201:
            raise SystemExit(f"import of {n} rows answered {r.status_code}: {r.text[:500]}")
        cpu = cpu_seconds(server) - cpu
        after, peak = server.rss_mb()
    with valhalla(data_dir) as server:
        read_s, page = server.timed("GET", "/core/deals", params={"limit": 50, "offset": n // 2})
        if page.status_code != 200 or page.headers["x-total-count"] != str(r.json()["added"]) or len(page.json()) != 50:
            raise SystemExit(f"after a restart the deals read {page.status_code} {page.headers.get('x-total-count')}: {page.text[:300]}")
    folder = data_dir / "deals"
    return {
        "rows": n, "file_mb": csv_path.stat().st_size / 1e6, "seconds": seconds, "cpu": cpu, "added": r.json()["added"], "read_s": read_s,
        "rss_before": before[0], "rss_after": after, "peak": peak, "answer_bytes": len(r.content),
        "deals_mb": sum(p.stat().st_size for p in folder.glob("deals*.json")) / 1e6,
        "audit_lines": len((folder / "audit.jsonl").read_bytes().splitlines()), "load": os.getloadavg(),
    }


def profile(n: int, work: Path) -> None:
    sys.path.insert(0, str(HERE.parent / "backend"))
    from app.core_gov import core_router  # noqa: F401  (registers every module's files)
    from app.core_gov.deals import service
    from app.core_gov.storage import Storage

    csv_path = work / f"leads-{n}.csv"
    write_deals_csv(csv_path, n)
    db = Storage(work / "data-profile")
    with open(csv_path, "rb") as f:
        cProfile.runctx("service.import_csv(db, iter(partial(f.read, 1 << 16), b''))", globals(), locals(), str(work / "import.prof"))
    pstats.Stats(str(work / "import.prof")).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="100000,200000", help="comma-separated row counts")
    parser.add_argument("--profile", type=int, metavar="N", help="profile one in-process import of N rows instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deals-import-") as tmp:
        if args.profile:
            return profile(args.profile, Path(tmp))
        print("| rows | file MB | seconds | rows/s | server CPU s | RSS before MB | RSS after MB | peak MB | deal files MB | audit lines | answer bytes | first page after restart s | load average after |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        results = []
        for n in (int(x) for x in args.rows.split(",")):
            m = measure(n, Path(tmp))
            results.append(m)
            print(f"| {n:,} | {m['file_mb']:.1f} | {m['seconds']:.1f} | {n / m['seconds']:,.0f} | {m['cpu']:.1f} | {m['rss_before']:.0f} | {m['rss_after']:.0f} "
                  f"| {m['peak']:.0f} | {m['deals_mb']:.0f} | {m['audit_lines']} | {m['answer_bytes']} | {m['read_s']:.2f} | {' '.join(f'{x:.2f}' for x in m['load'])} |", flush=True)
        a, b = results[0], results[-1]
        if b["rows"] > a["rows"]:
            per_row_s = (b["seconds"] - a["seconds"]) / (b["rows"] - a["rows"])
            per_row_mb = (b["peak"] - a["peak"]) / (b["rows"] - a["rows"])
            print(f"\nlinear from {a['rows']:,} to {b['rows']:,} rows: 1M rows ~ {b['seconds'] + per_row_s * (1_000_000 - b['rows']):.0f} s, "
                  f"peak ~ {b['peak'] + per_row_mb * (1_000_000 - b['rows']):.0f} MB")


if __name__ == "__main__":
    main()
