"""`scripts/bench --peers`: Valhalla beside json-server 0.17 and 1.0 on the same N holdings.

Each server gets the same records and the same phases (get one, page of 50, create, patch) at
each concurrency, is SIGKILLed, and then every acknowledged write is looked for on disk:
Valhalla's through a restarted server, json-server's in its db.json. json-server does not fsync
and answers before its file is written, so its lost writes are reported, not fatal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness import Client, Ledger, Server, Stats, creator, free_port, getter, http_lookup, patcher, reader, run, valhalla
from loaders import preload_holdings
from records import holding

PEERS_DIR = Path(__file__).resolve().parent / "peers"
PEERS = {"json-server 0.17": "json-server-0.17/lib/cli/bin.js", "json-server 1.0": "json-server-1.0/lib/bin.js"}
PHASES = ("get one", "page of 50", "create", "patch")
GOALS = {"get one": 1.0, "page of 50": 1.0, "create": 2.0, "patch": 2.0}  # issue 19, at 8 clients


@dataclass
class Api:
    """Where one server keeps the holdings and how it pages."""

    many: str
    one: str
    page: tuple[str, str]  # (offset, limit) query names


VALHALLA_API = Api("/core/holdings", "/core/holdings/{id}", ("offset", "limit"))
JSON_SERVER_API = Api("/holdings", "/holdings/{id}", ("_start", "_limit"))


def install() -> dict[str, str]:
    """`npm ci` the pinned peers on first use; their versions."""
    if not (PEERS_DIR / "node_modules").is_dir():
        print("installing the pinned json-server versions (npm ci in scripts/bench.d/peers) ...", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEERS_DIR, check=True)
    return {name: json.loads((PEERS_DIR / "node_modules" / Path(rel).parts[0] / "package.json").read_text())["version"]
            for name, rel in PEERS.items()}


def json_server(name: str, db_file: Path) -> Server:
    port = free_port()
    argv = ["node", str(PEERS_DIR / "node_modules" / PEERS[name]), "--port", str(port), "--host", "127.0.0.1", str(db_file)]
    return Server(argv + (["--quiet"] if "0.17" in name else []), {**os.environ, "NODE_ENV": "production"}, port, "/holdings?_limit=1", cwd=db_file.parent)


def phases(server: Server, api: Api, ids: list[str], n: int, levels: list[int], seconds: float, ledger: Ledger,
           commits: Callable[[], tuple[int, int]] | None = None) -> dict[tuple[str, int], Stats]:
    """Each phase at each concurrency; with `commits` (a count of commits and transactions),
    each write phase's writes per commit."""
    def page(client: Client, w: int, k: int, conc: int) -> bool:
        offset = (w + k * conc) * 50 % max(n - 50, 1)
        return client.get(api.many, params={api.page[0]: offset, api.page[1]: 50}).status_code == 200

    ops = {"get one": reader(api.one, ids), "page of 50": page, "create": creator(api.many, lambda v: holding(n + v), ledger),
           "patch": patcher(api.one, ids, "value_estimate", ledger)}
    out = {}
    for name in PHASES:
        for c in levels:
            before = commits() if commits else (0, 0)
            out[(name, c)] = run(server.base, c, seconds, ops[name])
            after = commits() if commits else (0, 0)
            out[(name, c)].per_commit = (after[1] - before[1]) / (after[0] - before[0]) if after[0] > before[0] else None
    return out


def bench_valhalla(tmp: Path, n: int, levels: list[int], seconds: float) -> tuple[dict, Stats, str]:
    data_dir = tmp / "valhalla"
    ids = preload_holdings(data_dir, [holding(i) for i in range(n)])
    ledger = Ledger()
    with valhalla(data_dir) as server:
        # /core/health answers while the application is still being built: wait for it first,
        # or the empty round trip is timed against the build.
        with Client(server.base) as c:
            c.get(VALHALLA_API.many, params={"limit": 1}).raise_for_status()
        empty = run(server.base, 1, seconds, getter("/core/health"))
        results = phases(server, VALHALLA_API, ids, n, levels, seconds, ledger, lambda: _commits(server))
    with valhalla(data_dir) as server:
        missing = ledger.missing(http_lookup(server.base, VALHALLA_API.one), "value_estimate")
    if missing:
        raise SystemExit(f"FAILED: Valhalla lost acknowledged writes after SIGKILL: {missing[:5]}")
    return results, empty, ledger.summary(missing)


def _commits(server: Server) -> tuple[int, int]:
    """(commits, transactions) so far, from /core/system/debug (0, 0 if it no longer says)."""
    with Client(server.base) as c:
        w = c.get("/core/system/debug").json().get("writes", {})
    return w.get("commits", 0), w.get("transactions", 0)


def bench_peer(tmp: Path, name: str, n: int, levels: list[int], seconds: float) -> tuple[dict, str]:
    folder = tmp / name.replace(" ", "-")
    (folder / "public").mkdir(parents=True)  # json-server 1.0 serves it (and fails without it when NODE_ENV=production)
    db_file = folder / "db.json"
    ids = [f"h{i:07d}" for i in range(n)]
    now = "2026-01-05T15:00:00Z"
    db_file.write_text(json.dumps({"holdings": [{"id": ids[i], "created_at": now, "updated_at": now, "version": 1, **holding(i)} for i in range(n)]}))
    ledger = Ledger()
    with json_server(name, db_file) as server:
        results = phases(server, JSON_SERVER_API, ids, n, levels, seconds, ledger)
    stored = {str(r["id"]): r for r in json.loads(db_file.read_text())["holdings"]}
    return results, ledger.summary(ledger.missing(stored.get, "value_estimate"))


def bench_peers(n: int, levels: list[int], seconds: float) -> None:
    versions = install()
    tmp = Path(tempfile.mkdtemp(prefix="valhalla-bench-peers-"))
    size = len(json.dumps({"id": "h0000000", "created_at": "2026-01-05T15:00:00Z", "updated_at": "2026-01-05T15:00:00Z", "version": 1, **holding(0)}))
    print(f"\nN = {n:,} holdings of about {size} B; {', '.join(f'{k} ({v})' for k, v in versions.items())}", flush=True)
    ours, empty, durable = bench_valhalla(tmp, n, levels, seconds)
    peers = {name: bench_peer(tmp, name, n, levels, seconds) for name in PEERS}
    shutil.rmtree(tmp)
    names = ["Valhalla", *PEERS]
    print(f"{'phase':<11}{'clients':>8}" + "".join(f"{x:>24}" for x in names) + f"{'ratio to best':>15}{'goal':>7}")
    for phase in PHASES:
        for c in levels:
            row = [ours[(phase, c)], *(peers[name][0][(phase, c)] for name in PEERS)]
            best = max(s.rate for s in row[1:])
            cells = "".join(f"{s.rate:>11,.0f}/s {s.p50:>6.2f} ms" + (f" ({s.errors} err)" if s.errors else "") for s in row)
            goal = f"{GOALS[phase]:.1f}×" if c == max(levels) else ""
            print(f"{phase:<11}{c:>8}{cells}{row[0].rate / best:>14.2f}×{goal:>7}")
    get1 = ours[("get one", min(levels))].p50
    print(f"Valhalla get p50 at {min(levels)} client: {get1:.2f} ms; empty round trip to /core/health {empty.p50:.2f} ms: "
          f"{get1 / empty.p50:.2f}× (goal ≤ 1.5×)")
    grouped = [f"{phase} {ours[(phase, c)].per_commit:.1f} at {c}" for phase in ("create", "patch") for c in levels if ours[(phase, c)].per_commit]
    print(f"Valhalla writes per commit: {', '.join(grouped) or 'not reported by /core/system/debug'}")
    print(f"durability: Valhalla {durable} after SIGKILL and restart")
    for name in PEERS:
        print(f"            {name}: {peers[name][1]} from db.json after SIGKILL (lost writes are reported, not a failure)")
