"""Group commit: transactions that queue while a commit is being written are applied in order,
each on its own staged state, and written together by the next commit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.core_gov.errors import InvalidField
from app.core_gov.storage import Storage, commit, formats

from .models import counter, events, notes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path) -> Storage:
    return Storage(tmp_path / "data")


def test_queued_transactions_share_one_commit_and_a_failing_one_is_dropped_alone(db, monkeypatch):
    writes: list[int] = []
    real_write = db._write
    monkeypatch.setattr(db, "_write", lambda changes: (writes.append(len(changes.views)), real_write(changes)))

    first_writing, release_first = threading.Event(), threading.Event()
    bodies_done = threading.Semaphore(0)

    def hold_first_commit(step: str) -> None:
        if step == "temps_written" and not first_writing.is_set():
            first_writing.set()
            assert release_first.wait(10)

    monkeypatch.setattr(commit, "FAULT", hold_first_commit)
    results: dict[str, object] = {}
    ran: list[str] = []  # the order the bodies ran in (one at a time)

    def create(title: str, fail: bool = False) -> None:
        try:
            with db.transaction("t_notes") as tx:
                tx.add(notes, {"title": title})
                tx.append(events, {"kind": title})
                tx.write(counter, {"value": tx.read(counter).value + 1})
                ran.append(title)
                if fail:
                    raise InvalidField(("body", "title"), "refused")
                bodies_done.release()
            results[title] = "ok"
        except InvalidField as e:
            bodies_done.release()
            results[title] = e

    a = threading.Thread(target=create, args=("a",))
    a.start()
    assert first_writing.wait(10)  # "a" is being written, holding the commit
    others = [threading.Thread(target=create, args=(t, t == "c")) for t in ("b", "c", "d", "e")]
    for t in others:
        t.start()
    for _ in range(5):  # a's body, then b..e's bodies ran while a's commit was held
        assert bodies_done.acquire(timeout=10)
    release_first.set()
    for t in (a, *others):
        t.join(10)

    assert results["a"] == results["b"] == results["d"] == results["e"] == "ok"
    assert isinstance(results["c"], InvalidField)
    titles = [n.title for n in db.list(notes)]
    assert titles == [t for t in ran if t != "c"] and sorted(titles) == ["a", "b", "d", "e"]
    assert [e.kind for e in db.entries(events)] == titles
    assert db.read(counter).value == 4  # each body saw the state the previous one left
    assert len(writes) == 2  # a alone, then b, d and e in one commit
    assert db.stats == {"commits": 2, "transactions": 4}
    fresh = Storage(db.data_dir)
    assert [n.title for n in fresh.list(notes)] == titles and fresh.read(counter).value == 4


def test_read_only_transaction_returns_after_the_state_it_saw_is_durable(db):
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "x"})
    with db.transaction("t_notes") as tx:
        assert [n.title for n in tx.list(notes)] == ["x"]
    assert not list(db.data_dir.rglob(".commit-*"))


def test_group_worker_sigkill_loses_no_acknowledged_write(tmp_path):
    data_dir = tmp_path / "data"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.storage.group_worker", str(data_dir), "file_replaced", "40"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + str(ROOT / "backend")},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    acked = {line.split()[1] for line in proc.stdout.splitlines() if line.startswith("ack ")}
    assert len(acked) >= 10
    db = Storage(data_dir)
    titles = {n.title for n in db.list(notes)}
    kinds = [e.kind for e in db.entries(events)]
    assert acked <= titles  # nothing acknowledged is lost
    assert sorted(kinds) == sorted(titles)  # each transaction landed whole: note and event together


def test_writes_append_to_logs_without_parsing_them(db, monkeypatch):
    with db.transaction("t_notes") as tx:
        tx.append(events, {"kind": "seed"})
    parsed: list[str] = []
    real = formats.parse_log
    monkeypatch.setattr(formats, "parse_log", lambda d, data: (parsed.append(d.relpath), real(d, data))[1])
    fresh = Storage(db.data_dir)
    for i in range(3):
        with fresh.transaction("t_notes") as tx:
            tx.add(notes, {"title": f"n{i}"})  # also appends to t_notes/audit.jsonl
            tx.append(events, {"kind": f"k{i}"})
    assert parsed == []
    assert [e.kind for e in fresh.entries(events)] == ["seed", "k0", "k1", "k2"]
    assert parsed == ["t_notes/events.jsonl"]


def test_a_body_reading_a_log_sees_entries_pending_in_a_held_commit_once(db, monkeypatch):
    with db.transaction("t_notes") as tx:
        tx.append(events, {"kind": "committed"})
    fresh = Storage(db.data_dir)  # its cache has never parsed the log
    writing, release = threading.Event(), threading.Event()

    def hold(step: str) -> None:
        if step == "log_appended" and not writing.is_set():
            writing.set()  # the first batch's line is on disk, its commit not finished
            assert release.wait(10)

    monkeypatch.setattr(commit, "FAULT", hold)

    def first() -> None:
        with fresh.transaction("t_notes") as tx:
            tx.append(events, {"kind": "pending"})

    t = threading.Thread(target=first)
    t.start()
    assert writing.wait(10)
    seen: list[str] = []
    body_ran = threading.Event()

    def second() -> None:
        with fresh.transaction("t_notes") as tx:
            tx.append(events, {"kind": "mine"})
            seen.extend(e.kind for e in tx.entries(events))
            body_ran.set()

    s = threading.Thread(target=second)
    s.start()
    assert body_ran.wait(10)  # its body ran while the first commit was held
    release.set()
    t.join(10)
    s.join(10)
    assert seen == ["committed", "pending", "mine"]
    assert [e.kind for e in Storage(db.data_dir).entries(events)] == ["committed", "pending", "mine"]
