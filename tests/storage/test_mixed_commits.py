"""Single-module group commits and multi-module transactions interleaved: every acknowledged
effect is on disk, with and without a SIGKILL, and a two-module transaction is never
overwritten by a batch that was opened while it waited."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest

from app.core_gov.storage import Storage, commit

from .models import counter, events, notes, others

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + str(ROOT / "backend")}


def run_worker(data_dir: Path, threads: int, rounds: int, *fault: str) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.storage.mixed_worker", str(data_dir), str(threads), str(rounds), *fault],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120,
    )
    return proc.returncode, {line.split()[1] for line in proc.stdout.splitlines() if line.startswith("ack ")}


def assert_every_ack_on_disk(data_dir: Path, acked: set[str]) -> None:
    db = Storage(data_dir)  # a fresh process view: recovery runs first
    note_titles = {n.title for n in db.list(notes)}
    other_titles = {o.title for o in db.list(others)}
    event_kinds = [e.kind for e in db.entries(events)]
    assert {a for a in acked if a.startswith("s")} <= note_titles
    assert {a for a in acked if a.startswith("m")} <= other_titles
    # each two-module transaction landed whole: its record, its log line and its counter bump
    assert sorted(other_titles) == sorted(event_kinds)
    assert db.read(counter).value == len(other_titles)
    audit = [orjson.loads(line) for line in (data_dir / "t_notes" / "audit.jsonl").read_bytes().splitlines()]
    audited = {a["changes"]["title"][1] for a in audit if a["action"] == "create" and a["entity"] == "notes"}
    assert note_titles == audited


def test_mixed_single_and_two_module_commits_keep_every_acknowledged_effect(tmp_path):
    data_dir = tmp_path / "data"
    code, acked = run_worker(data_dir, threads=6, rounds=40)
    assert code == 0 and len(acked) == 6 * 40 * 2
    assert_every_ack_on_disk(data_dir, acked)
    db = Storage(data_dir)
    assert len(db.list(notes)) == 240 and len(db.list(others)) == 240 and db.read(counter).value == 240


@pytest.mark.parametrize("step,occurrence", [("temps_written", 37), ("file_replaced", 51), ("log_appended", 23)])
def test_mixed_commits_killed_mid_commit_lose_no_acknowledged_effect(tmp_path, step, occurrence):
    data_dir = tmp_path / "data"
    code, acked = run_worker(data_dir, 6, 40, step, str(occurrence))
    assert code == -signal.SIGKILL and acked
    assert_every_ack_on_disk(data_dir, acked)


def wait_until(predicate) -> None:
    """Spin (yielding the GIL) until another thread reached a state; bounded."""
    for _ in range(5_000_000):
        if predicate():
            return
        os.sched_yield()
    raise AssertionError("the other thread never got there")


def test_a_batch_opened_while_a_two_module_transaction_waits_is_committed_first(tmp_path, monkeypatch):
    """The exact interleaving: the two-module transaction commits a pending batch, and while
    that batch is written a third body opens another. It must be written before the two-module
    body runs, or it would later overwrite the two-module change with the state it saw."""
    db = Storage(tmp_path / "data")
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "first"})
    mod = db._module("t_notes")
    in_body, leave_body = threading.Event(), threading.Event()
    in_commit, leave_commit = threading.Event(), threading.Event()

    def hold(step: str) -> None:
        if step == "temps_written" and threading.current_thread().name == "multi" and not in_commit.is_set():
            in_commit.set()
            assert leave_commit.wait(10)

    monkeypatch.setattr(commit, "FAULT", hold)

    def single(title: str, wait: bool) -> None:
        with db.transaction("t_notes") as tx:
            tx.add(notes, {"title": title})
            if wait:
                in_body.set()
                assert leave_body.wait(10)

    def multi() -> None:
        with db.transaction("t_notes", "t_other") as tx:
            tx.add(others, {"title": "m"})
            tx.write(counter, {"value": tx.read(counter).value + 1})
            tx.add(notes, {"title": "from-multi"})

    s1 = threading.Thread(target=single, args=("s1", True))
    s1.start()
    assert in_body.wait(10)
    m = threading.Thread(target=multi, name="multi")
    m.start()
    wait_until(mod.commit_lock.locked)  # the two-module transaction holds the commit lock
    leave_body.set()  # s1's batch opens; the two-module transaction commits it
    assert in_commit.wait(10)
    s2 = threading.Thread(target=single, args=("s2", False))
    s2.start()
    wait_until(lambda: mod.batch is not None)  # s2's batch is open while the commit is held
    leave_commit.set()
    for t in (s1, m, s2):
        t.join(10)
        assert not t.is_alive()
    fresh = Storage(tmp_path / "data")
    assert sorted(n.title for n in fresh.list(notes)) == ["first", "from-multi", "s1", "s2"]
    assert fresh.read(counter).value == 1 and [o.title for o in fresh.list(others)] == ["m"]
