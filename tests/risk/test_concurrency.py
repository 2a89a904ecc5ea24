"""Concurrent reserves never exceed a cap: 20 reserves of 100 against max_daily_exposure 1,000,
from 20 threads and from two processes each with its own Storage on the same data dir."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from app.core_gov.errors import Conflict
from app.core_gov.golive import store as golive_store
from app.core_gov.golive.schemas import GoLiveState
from app.core_gov.risk import service
from app.core_gov.risk.schemas import RiskPolicyUpsert
from app.core_gov.storage import FrozenClock, Storage

TORONTO = ZoneInfo("America/Toronto")


def prepare(db: Storage) -> None:
    with db.transaction("golive") as tx:
        tx.write(golive_store.state, GoLiveState(enabled=True))
    service.upsert_policy(db, RiskPolicyUpsert(engine="GLOBAL", max_daily_exposure=1000))


def attempt(db: Storage) -> str:
    try:
        service.reserve(db, engine="WHOLESALE", amount=100, tz=TORONTO)
        return "ok"
    except Conflict as e:
        return e.code


def outcome(data_dir: Path) -> tuple[int, int, float]:
    reservations = orjson.loads((data_dir / "risk" / "reservations.json").read_bytes())
    events = [orjson.loads(line) for line in (data_dir / "risk" / "events.jsonl").read_bytes().splitlines()]
    ledger = {r["engine"]: r for r in orjson.loads((data_dir / "risk" / "ledger.json").read_bytes())}
    assert ledger["GLOBAL"]["exposure"] == ledger["WHOLESALE"]["exposure"] and ledger["GLOBAL"]["actions"] == 10
    return len(reservations), sum(e["kind"] == "denied" for e in events), ledger["GLOBAL"]["exposure"]


def test_twenty_threads_reserve_exactly_ten_of_a_thousand(db, data_dir):
    prepare(db)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: attempt(db), range(20)))
    assert results.count("ok") == 10 and results.count("max_daily_exposure") == 10
    assert outcome(data_dir) == (10, 10, 1000.0)


def _process(data_dir: str, start, results) -> None:
    db = Storage(data_dir, FrozenClock("2026-01-05T15:00:00Z"))  # its own engine, cache and locks
    start.wait()
    results.put([attempt(db) for _ in range(10)])


def test_two_processes_reserve_exactly_ten_of_a_thousand(db, data_dir):
    prepare(db)
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_process, args=(str(data_dir), start, results)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    flat = got[0] + got[1]
    assert flat.count("ok") == 10 and flat.count("max_daily_exposure") == 10
    assert outcome(data_dir) == (10, 10, 1000.0)
