"""`scripts/bench --peers`: Valhalla beside json-server 0.17 and 1.0 on the same N holdings.

The three servers run at once, each on its own copy of the records, and take turns: each phase
(get one, page of 50, create, patch) at each concurrency runs in ``ROUNDS`` slices per server,
in a rotating order, so that a slow spell of this shared machine falls on all of them alike.
Then each is SIGKILLed and every acknowledged write is looked for on disk: Valhalla's through a
restarted server, json-server's in its db.json. json-server does not fsync and answers before
its file is written, so its lost writes are reported, not fatal.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness import Client, Ledger, Op, Server, Stats, creator, free_port, getter, http_lookup, patcher, reader, run, valhalla
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


ROUNDS = 6  # slices per server of each phase at each concurrency
WARM_SECONDS = 1.0  # each phase, per server, before any is timed


@dataclass
class Side:
    """One server under test: its API, records, what it acknowledged, and (Valhalla) its commit counts."""

    name: str
    server: Server
    api: Api
    ids: list[str]
    commits: Callable[[], tuple[int, int]] | None = None
    ledger: Ledger = field(default_factory=Ledger)

    def ops(self, n: int) -> dict[str, Op]:
        api = self.api

        def page(client: Client, w: int, k: int, conc: int) -> bool:
            offset = (w + k * conc) * 50 % max(n - 50, 1)
            return client.get(api.many, params={api.page[0]: offset, api.page[1]: 50}).status_code == 200

        return {"get one": reader(api.one, self.ids), "page of 50": page, "create": creator(api.many, lambda v: holding(n + v), self.ledger),
                "patch": patcher(api.one, self.ids, "value_estimate", self.ledger)}


EMPTY = ("empty round trip", 1)  # Valhalla's /core/health at 1 client, in turn with its get one at 1 client


def phases(sides: list[Side], n: int, levels: list[int], seconds: float) -> dict[str, dict[tuple[str, int], Stats]]:
    """Each phase at each concurrency, the servers taking turns in ``ROUNDS`` slices; for a side
    that counts its commits, each write phase's writes per commit. Valhalla's empty round trip
    (``EMPTY``) is timed in the same turns as its get one at 1 client, which it is compared with."""
    ops = {side.name: side.ops(n) for side in sides}
    empty = getter("/core/health")
    for side in sides:  # untimed: node compiles its hot paths as it runs them, Python fills its caches
        for name in PHASES:
            run(side.server.base, max(levels), WARM_SECONDS, ops[side.name][name])
    out: dict[str, dict[tuple[str, int], Stats]] = {side.name: {} for side in sides}
    for name in PHASES:
        for c in levels:
            slices: dict[str, list[Stats]] = {side.name: [] for side in sides}
            commits = {side.name: [0, 0] for side in sides}
            empties: list[Stats] = []
            for r in range(ROUNDS):
                for side in sides[r % len(sides):] + sides[:r % len(sides)]:
                    before = side.commits() if side.commits else (0, 0)
                    slices[side.name].append(run(side.server.base, c, seconds / ROUNDS, ops[side.name][name]))
                    after = side.commits() if side.commits else (0, 0)
                    commits[side.name][0] += after[0] - before[0]
                    commits[side.name][1] += after[1] - before[1]
                    if side.name == "Valhalla" and (name, c) == (PHASES[0], EMPTY[1]):
                        empties.append(run(side.server.base, c, seconds / ROUNDS, empty))
            if empties:
                out["Valhalla"][EMPTY] = Stats.combined(empties)
            for side in sides:
                stats = out[side.name][(name, c)] = Stats.combined(slices[side.name])
                made, writes = commits[side.name]
                stats.per_commit = writes / made if made else None
    return out


def valhalla_side(stack: contextlib.ExitStack, data_dir: Path, n: int) -> Side:
    ids = preload_holdings(data_dir, [holding(i) for i in range(n)])
    server = stack.enter_context(valhalla(data_dir))
    # /core/health answers while the application is still being built: wait for it first,
    # or the first slice is timed against the build.
    with Client(server.base) as c:
        c.get(VALHALLA_API.many, params={"limit": 1}).raise_for_status()
    return Side("Valhalla", server, VALHALLA_API, ids, lambda: _commits(server))


def _commits(server: Server) -> tuple[int, int]:
    """(commits, transactions) so far, from /core/system/debug (0, 0 if it no longer says)."""
    with Client(server.base) as c:
        w = c.get("/core/system/debug").json().get("writes", {})
    return w.get("commits", 0), w.get("transactions", 0)


def peer_side(stack: contextlib.ExitStack, tmp: Path, name: str, n: int) -> Side:
    folder = tmp / name.replace(" ", "-")
    (folder / "public").mkdir(parents=True)  # json-server 1.0 serves it (and fails without it when NODE_ENV=production)
    db_file = folder / "db.json"
    ids = [f"h{i:07d}" for i in range(n)]
    now = "2026-01-05T15:00:00Z"
    db_file.write_text(json.dumps({"holdings": [{"id": ids[i], "created_at": now, "updated_at": now, "version": 1, **holding(i)} for i in range(n)]}))
    return Side(name, stack.enter_context(json_server(name, db_file)), JSON_SERVER_API, ids)


def durability(tmp: Path, sides: list[Side]) -> dict[str, str]:
    """After every server was SIGKILLed: each side's acknowledged writes looked for on disk."""
    out = {}
    for side in sides:
        if side.name == "Valhalla":
            with valhalla(tmp / "valhalla") as server:
                missing = side.ledger.missing(http_lookup(server.base, VALHALLA_API.one), "value_estimate")
            if missing:
                raise SystemExit(f"FAILED: Valhalla lost acknowledged writes after SIGKILL: {missing[:5]}")
        else:
            stored = {str(r["id"]): r for r in json.loads((tmp / side.name.replace(" ", "-") / "db.json").read_text())["holdings"]}
            missing = side.ledger.missing(stored.get, "value_estimate")
        out[side.name] = side.ledger.summary(missing)
    return out


def bench_peers(n: int, levels: list[int], seconds: float) -> None:
    versions = install()
    tmp = Path(tempfile.mkdtemp(prefix="valhalla-bench-peers-"))
    size = len(json.dumps({"id": "h0000000", "created_at": "2026-01-05T15:00:00Z", "updated_at": "2026-01-05T15:00:00Z", "version": 1, **holding(0)}))
    print(f"\nN = {n:,} holdings of about {size} B; {', '.join(f'{k} ({v})' for k, v in versions.items())}; "
          f"each warmed up, then taking turns, {ROUNDS} slices each per phase", flush=True)
    with contextlib.ExitStack() as stack:  # every server SIGKILLed on the way out
        sides = [valhalla_side(stack, tmp / "valhalla", n), *(peer_side(stack, tmp, name, n) for name in PEERS)]
        results = phases(sides, n, levels, seconds)
    durable = durability(tmp, sides)
    shutil.rmtree(tmp)
    ours, peers = results["Valhalla"], {name: results[name] for name in PEERS}
    names = ["Valhalla", *PEERS]
    print(f"{'phase':<11}{'clients':>8}" + "".join(f"{x:>24}" for x in names) + f"{'ratio to best':>15}{'goal':>7}")
    for phase in PHASES:
        for c in levels:
            row = [ours[(phase, c)], *(peers[name][(phase, c)] for name in PEERS)]
            best = max(s.rate for s in row[1:])
            cells = "".join(f"{s.rate:>11,.0f}/s {s.p50:>6.2f} ms" + (f" ({s.errors} err)" if s.errors else "") for s in row)
            goal = f"{GOALS[phase]:.1f}×" if c == max(levels) else ""
            print(f"{phase:<11}{c:>8}{cells}{row[0].rate / best:>14.2f}×{goal:>7}")
    if EMPTY in ours:
        get1, empty = ours[("get one", EMPTY[1])].p50, ours[EMPTY].p50
        print(f"Valhalla get p50 at 1 client: {get1:.2f} ms; empty round trip to /core/health, timed in the same turns: {empty:.2f} ms: "
              f"{get1 / empty:.2f}× (goal ≤ 1.5×)")
    grouped = [f"{phase} {ours[(phase, c)].per_commit:.1f} at {c}" for phase in ("create", "patch") for c in levels if ours[(phase, c)].per_commit]
    print(f"Valhalla writes per commit: {', '.join(grouped) or 'not reported by /core/system/debug'}")
    print(f"durability: Valhalla {durable['Valhalla']} after SIGKILL and restart")
    for name in PEERS:
        print(f"            {name}: {durable[name]} from db.json after SIGKILL (lost writes are reported, not a failure)")
