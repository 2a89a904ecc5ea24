"""Writers in several threads and processes never lose an update."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson

from app.core_gov.storage import Storage

from .models import counter, notes

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + str(ROOT / "backend")}


def workers(data_dir: Path, mode: str, processes: int, count: int) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-m", "tests.storage.concurrency_worker", str(data_dir), mode, str(count)], cwd=ROOT, env=ENV)
        for _ in range(processes)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * processes


def test_four_processes_creating_250_each_leave_exactly_1000_records(tmp_path):
    data_dir = tmp_path / "data"
    workers(data_dir, "create", processes=4, count=250)
    records = orjson.loads((data_dir / "t_notes" / "notes.json").read_bytes())
    assert len(records) == 1000 and len({r["id"] for r in records}) == 1000
    audit = (data_dir / "t_notes" / "audit.jsonl").read_bytes().splitlines()
    assert len(audit) == 1000


def test_read_modify_write_from_two_processes_and_two_threads_loses_nothing(tmp_path):
    data_dir = tmp_path / "data"
    db = Storage(data_dir)

    def bump(_: int) -> None:
        with db.transaction("t_notes") as tx:
            tx.write(counter, {"value": tx.read(counter).value + 1})

    procs = [
        subprocess.Popen([sys.executable, "-m", "tests.storage.concurrency_worker", str(data_dir), "increment", "150"], cwd=ROOT, env=ENV)
        for _ in range(2)
    ]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(bump, range(300)))
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert orjson.loads((data_dir / "t_notes" / "counter.json").read_bytes()) == {"value": 600}
    assert db.read(counter).value == 600  # this process's cache saw the other processes' writes


def test_threads_creating_in_one_storage_keep_every_record(tmp_path):
    db = Storage(tmp_path / "data")

    def create(i: int) -> str:
        with db.transaction("t_notes") as tx:
            return tx.add(notes, {"title": f"t{i}"}).id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(create, range(200)))
    assert sorted(n.id for n in db.list(notes)) == sorted(ids)
