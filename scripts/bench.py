"""Benchmark real servers over HTTP, each on a temporary data dir, SIGKILLed at the end of each
launch so that every acknowledged write is then looked for on disk.

  scripts/bench [--sizes 1000,10000,100000]    deals of about 900 B at each size (issue 18)
  scripts/bench --peers [--sizes 1000,10000]   beside json-server 0.17 and 1.0 (issue 19)
  scripts/bench --dncl 2000000                 a National DNCL list of N numbers (issue 18)
  scripts/bench --launch [--sizes 0,100000]    scripts/serve to the first /core/health (issue 18)

--peers, --dncl and --launch can be combined; the deals sizes run when none is given. The parts that
depend on the store's format or import routes are in scripts/bench.d/loaders.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench.d"))

from dncl import bench_dncl  # noqa: E402
from launch import bench_launch  # noqa: E402
from peers import bench_peers  # noqa: E402
from sizes import bench_sizes  # noqa: E402


def numbers(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=numbers, help="record counts (default 1000,10000,100000; with --peers 1000,10000)")
    parser.add_argument("--seconds", type=float, help="length of each timed phase (default 3; 2 with --peers)")
    parser.add_argument("--concurrency", type=numbers, default=[1, 8], help="client threads (default 1,8)")
    parser.add_argument("--peers", action="store_true", help="compare with json-server 0.17 and 1.0 (npm ci on first use)")
    parser.add_argument("--dncl", type=int, metavar="N", help="import a DNCL list of N numbers")
    parser.add_argument("--launch", action="store_true", help="time scripts/serve to its first /core/health on an empty data dir and N deals (--sizes, default 0,100000)")
    parser.add_argument("--preload", choices=("files", "csv"), default="files", help="deals: write the data files (default) or use the CSV import")
    parser.add_argument("--keep", action="store_true", help="keep the data dirs (their paths are printed)")
    args = parser.parse_args()
    print(f"Valhalla Core benchmark: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    if args.peers:
        for n in args.sizes or [1000, 10000]:
            bench_peers(n, args.concurrency, args.seconds or 2.0)
    if args.dncl:
        bench_dncl(args.dncl, args.seconds or 3.0, args.keep)
    if args.launch:
        bench_launch(args.sizes or [0, 100000])
    if not args.peers and not args.dncl and not args.launch:
        bench_sizes(args.sizes or [1000, 10000, 100000], args.concurrency, args.seconds or 3.0, args.preload, args.keep)


if __name__ == "__main__":
    main()
