"""Stress multi-module commits against a real server on a temporary data dir (issue 17, item 1):
N clients loop for S seconds, each loop creating a deal for a new seller phone, its six-step
follow-up ladder, then posting an inbound "STOP" from that phone (one commit across comms and
followups). At the end the server is SIGKILLed and restarted, and every acknowledged (2xx)
effect is looked for over HTTP and in the JSON files: each deal, each ladder task, each
opt-out's suppression with all of that phone's tasks `canceled`, and the audit entry of each.

  scripts/stress                                  4 clients for 20 s
  scripts/stress --seconds 600 --kill-every 10    the long run: SIGKILL and restart every 10 s

Exits 1 when an acknowledged effect is missing or a request answered 500.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench.d"))
from harness import Server, valhalla  # noqa: E402

EXCHANGES = [e for e in range(555, 1000) if e % 100 != 11]  # 416-555..999, no N11 codes
SETUP = [  # what a fresh install lacks for go-live (scripts/workflows/_common.sh ensure_live)
    ("POST", "/core/risk/policies/upsert", {"engine": "GLOBAL", "max_daily_loss": 25000, "max_daily_exposure": 5000000, "max_actions_per_day": 200, "enabled": True}),
    ("POST", "/core/heimdall/policies/upsert", {"domain": "offers"}),
    ("POST", "/core/regression/policies/upsert", {"metric": "followup_completed", "domain": "followups"}),
    ("PUT", "/core/comms/identity", {"sender_name": "Valhalla Homes Inc.", "mailing_address": "100 King St W, Toronto ON M5X 1C9", "phone": "416-555-0100", "email": "hello@valhallahomes.example", "unsubscribe_text": "Reply STOP to opt out."}),
    ("POST", "/core/golive/enable", {"reason": "scripts/stress: runbook clear"}),
]


def phone(n: int) -> str:
    return f"+1416{EXCHANGES[n % len(EXCHANGES)]}{n // len(EXCHANGES) % 10000:04d}"


@dataclass
class Loop:
    """One client loop and what the server acknowledged of it."""

    phone: str
    deal: str
    tasks: list[str] = field(default_factory=list)
    stop: dict | None = None  # the acknowledged answer to the inbound STOP


@dataclass
class Run:
    base: str
    deadline: float
    loops: list[Loop] = field(default_factory=list)
    numbers: itertools.count = field(default_factory=itertools.count)
    answers: Counter = field(default_factory=Counter)  # unanswered requests and non-2xx answers
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, c: httpx.Client, path: str, body: dict) -> dict | None:
        try:
            r = c.post(path, json=body)
        except httpx.ConnectError:
            key = "no connection (restarting)"
        except httpx.TransportError:
            key = "no answer"
        else:
            if r.is_success:
                return r.json()
            key = f"{r.status_code} {path}"
        with self.lock:
            self.answers[key] += 1
        return None

    def acknowledged(self, attr: str) -> int:
        return sum(bool(getattr(loop, attr)) for loop in self.loops)

    def client(self, w: int) -> None:
        with httpx.Client(base_url=self.base, timeout=60) as c:
            while time.monotonic() < self.deadline:
                number = phone(next(self.numbers))
                deal = self.post(c, "/core/deals", {"seller_name": f"Seller {w}", "seller_phone": number, "address": "10 King St W", "city": "Toronto", "province": "ON", "property_type": "sfr"})
                if deal is None:  # not a loop: nothing acknowledged
                    time.sleep(0.05)  # the server may be restarting
                    continue
                loop = Loop(number, deal["id"])
                self.loops.append(loop)
                ladder = self.post(c, "/core/followups/ladder/create", {"deal_id": loop.deal, "province": "ON", "market": "Toronto", "owner": f"stress-{w}"})
                if ladder is None:
                    continue
                loop.tasks = [t["id"] for t in ladder["tasks"]]
                loop.stop = self.post(c, "/core/comms/inbound", {"from": loop.phone, "channel": "sms", "body": "STOP"})


@dataclass
class View:
    """The stored state, as read over HTTP or from the files."""

    deals: dict[str, dict]
    tasks: dict[str, dict]
    suppressions: dict[str, dict]  # by value
    inbound: set[str]
    audit: set[tuple[str, str]]  # (entity_id, action)

    @classmethod
    def of(cls, deals: list, tasks: list, suppressions: list, inbound: list, audit: list) -> "View":
        return cls({d["id"]: d for d in deals}, {t["id"]: t for t in tasks}, {s["value"]: s for s in suppressions},
                   {e["id"] for e in inbound}, {(e["entity_id"], e["action"]) for e in audit})


def http_view(base: str) -> View:
    with httpx.Client(base_url=base, timeout=600) as c:
        def every(path: str, **params) -> list[dict]:
            rows: list[dict] = []
            while True:
                r = c.get(path, params={**params, "limit": 1000, "offset": len(rows)})
                r.raise_for_status()
                rows += r.json()
                if len(rows) >= int(r.headers["X-Total-Count"]):
                    return rows

        audit = [e for m in ("deals", "followups", "comms") for e in every("/core/audit", module=m)]
        return View.of(every("/core/deals"), every("/core/followups/tasks"), every("/core/comms/suppressions"), every("/core/comms/inbound"), audit)


def disk_view(data: Path) -> View:
    def rows(module: str, name: str) -> list[dict]:  # every segment file: name.json, name.000002.json, ...
        segment = re.compile(rf"{name}(\.\d{{6}})?\.json")
        return [r for p in (data / module).iterdir() if segment.fullmatch(p.name) for r in json.loads(p.read_bytes())]

    def lines(module: str, name: str) -> list[dict]:
        return [json.loads(line) for line in (data / module / f"{name}.jsonl").read_text().splitlines() if line.strip()]

    audit = [e for m in ("deals", "followups", "comms") for e in lines(m, "audit")]
    return View.of(rows("deals", "deals"), rows("followups", "tasks"), rows("comms", "suppressions"), lines("comms", "inbound"), audit)


def lost(v: View, loops: list[Loop]) -> dict[str, list[str]]:
    """The acknowledged effects missing from v, per loop's phone."""
    by_contact = defaultdict(list)
    for t in v.tasks.values():
        by_contact[t["contact"]].append(t)
    out = {}
    for loop in loops:
        want = [(loop.deal in v.deals, f"deal {loop.deal}"), ((loop.deal, "create") in v.audit, f"audit create {loop.deal}")]
        for t in loop.tasks:
            want += [(t in v.tasks, f"task {t}"), ((t, "create") in v.audit, f"audit create {t}")]
        if loop.stop is not None:
            sup, inbound = loop.stop["suppression_id"], loop.stop["id"]
            want += [(v.suppressions.get(loop.phone, {}).get("id") == sup, f"suppression {sup}"), ((sup, "create") in v.audit, f"audit create {sup}"),
                     (inbound in v.inbound, f"inbound {inbound}"), ((inbound, "action") in v.audit, f"audit action {inbound}"),
                     (sorted(loop.stop["tasks_canceled"]) == sorted(loop.tasks), f"the STOP answer canceled {len(loop.stop['tasks_canceled'])} of {len(loop.tasks)} tasks")]
            want += [(t["status"] == "canceled", f"task {t['id']} canceled (is {t['status']})") for t in by_contact[loop.phone]]
            want += [((t, "transition") in v.audit, f"audit transition {t}") for t in loop.tasks]
        if missing := [what for ok, what in want if not ok]:
            out[loop.phone] = missing
    return out


def restart(server: Server) -> Server:
    """SIGKILL the server and start it again on the same port and data dir."""
    server.kill()
    return Server(server.argv, server.env, server.port, server.ready_path).__enter__()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--seconds", type=float, default=20, help="length of the run (default 20)")
    parser.add_argument("--kill-every", type=float, metavar="K", help="SIGKILL and restart the server every K seconds")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (kept anyway when something is lost)")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="valhalla-stress-"))
    server = valhalla(data, {"VALHALLA_TOKEN": ""}).__enter__()
    try:
        with httpx.Client(base_url=server.base, timeout=60) as c:
            for method, path, body in SETUP:
                c.request(method, path, json=body).raise_for_status()
        run, kills = Run(server.base, time.monotonic() + args.seconds), 0
        threads = [threading.Thread(target=run.client, args=(w,), daemon=True) for w in range(args.clients)]
        for t in threads:
            t.start()
        while args.kill_every and time.monotonic() + args.kill_every < run.deadline:  # each server lives K s
            time.sleep(args.kill_every)
            server, kills = restart(server), kills + 1
        for t in threads:
            t.join()
        server = restart(server)
        missing = {"http": lost(http_view(server.base), run.loops), "disk": lost(disk_view(data), run.loops)}
    finally:
        server.kill()
    print(f"stress: {args.clients} clients for {args.seconds:g} s, {kills} SIGKILL restarts: {len(run.loops):,} loops "
          f"(an acknowledged deal each), then {run.acknowledged('tasks'):,} ladders, {run.acknowledged('stop'):,} opt-outs acknowledged")
    print("  not acknowledged: " + (", ".join(f"{k} x{n:,}" for k, n in sorted(run.answers.items())) or "none"))
    counts = {source: sum(map(len, by_phone.values())) for source, by_phone in missing.items()}
    loops = {p for by_phone in missing.values() for p in by_phone}
    print("  after SIGKILL and restart, over HTTP and in the files: lost effects = " + (
        f"{counts['http']:,} over HTTP and {counts['disk']:,} in the files, in {len(loops):,} loops:" if loops else "0"))
    for source, by_phone in missing.items():
        for p, whats in list(by_phone.items())[:10]:
            print(f"    {source} {p}: {len(whats)} missing: {'; '.join(whats[:2])}{'; ...' if len(whats) > 2 else ''}")
    failed = bool(loops) or any(k.startswith("500") for k in run.answers)
    if failed or args.keep:
        print(f"  data dir kept: {data}")
    else:
        shutil.rmtree(data)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
