"""Failures inside the store never acknowledge a write that is not on disk, never keep a lock,
never grow memory per append, and never hide or delete what an operator wrote by hand."""

from __future__ import annotations

import threading
import tracemalloc

import orjson
import pytest
from filelock import FileLock

from app.core_gov.errors import InvalidField, StoreCorrupt, StoreUnavailable
from app.core_gov.storage import Storage, commit

from .models import events, notes


@pytest.fixture
def db(tmp_path) -> Storage:
    return Storage(tmp_path / "data")


def test_any_exception_while_writing_a_batch_fails_every_caller_and_lands_nothing(db, monkeypatch):
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "before"})
    started, release = threading.Event(), threading.Event()

    def fail_once(step: str) -> None:
        if step == "temps_written" and not started.is_set():
            started.set()
            assert release.wait(10)
            raise MemoryError("forced")

    monkeypatch.setattr(commit, "FAULT", fail_once)
    outcomes: dict[str, object] = {}

    def create(title: str) -> None:
        try:
            with db.transaction("t_notes") as tx:
                tx.add(notes, {"title": title})
            outcomes[title] = "ack"
        except BaseException as e:  # noqa: BLE001 - the outcome is what is asserted
            outcomes[title] = e

    first = threading.Thread(target=create, args=("a",))
    first.start()
    assert started.wait(10)
    queued = [threading.Thread(target=create, args=(t,)) for t in ("b", "c")]
    for t in queued:
        t.start()
    release.set()
    for t in (first, *queued):
        t.join(10)
    assert isinstance(outcomes["a"], StoreUnavailable)
    on_disk = [r["title"] for r in orjson.loads(db.path(notes).read_bytes())]
    for title in ("b", "c"):  # queued behind the failed batch: failed too, or written for real
        assert (outcomes[title] == "ack") == (title in on_disk)
    assert "a" not in on_disk and "a" not in [n.title for n in Storage(db.data_dir).list(notes)]
    with db.transaction("t_notes") as tx:  # the module is usable again
        tx.add(notes, {"title": "after"})
    assert "after" in [r["title"] for r in orjson.loads(db.path(notes).read_bytes())]


def test_an_integer_beyond_64_bits_is_refused_naming_the_field_and_releases_the_lock(db):
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "first"})
    with pytest.raises(InvalidField) as exc:
        with db.transaction("t_notes") as tx:
            tx.add(notes, {"title": "huge", "count": 2**70})
    assert exc.value.status_code == 422 and "count" in str(exc.value.detail)
    other = FileLock(db.data_dir / "t_notes" / ".lock")
    other.acquire(timeout=2)  # another process could write now
    other.release()
    assert [n.title for n in Storage(db.data_dir).list(notes)] == ["first"]


def test_appending_to_a_log_this_process_created_does_not_grow_memory(db):
    def append(n: int) -> None:
        for i in range(n):
            with db.transaction("t_notes") as tx:
                tx.append(events, {"kind": "k", "n": i}, audit=None)

    append(50)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        append(400)
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    assert grown < 150_000, f"{grown} bytes kept for 400 appends"
    assert len(db.entries(events)) == 450


def test_a_whole_line_appended_by_hand_without_its_newline_is_kept(db):
    with db.transaction("t_notes") as tx:
        tx.append(events, {"kind": "a"})
    path = db.path(events)
    with open(path, "ab") as f:
        f.write(b'{"id": "ev_hand", "at": "2026-01-05T15:00:00Z", "kind": "by hand"}')
    fresh = Storage(db.data_dir)
    assert [e.kind for e in fresh.entries(events)] == ["a", "by hand"]
    assert fresh.check(events) == []
    with fresh.transaction("t_notes") as tx:
        tx.append(events, {"kind": "b"})
    assert [orjson.loads(line)["kind"] for line in path.read_bytes().splitlines()] == ["a", "by hand", "b"]


def test_a_corrupt_log_refuses_appends_and_stays_byte_identical(db):
    with db.transaction("t_notes") as tx:
        tx.append(events, {"kind": "a"})
    path = db.path(events)
    bad = path.read_bytes() + b"not json\n"
    path.write_bytes(bad)
    fresh = Storage(db.data_dir)
    with pytest.raises(StoreCorrupt) as exc:
        with fresh.transaction("t_notes") as tx:
            tx.append(events, {"kind": "b"})
    assert exc.value.file == "t_notes/events.jsonl" and exc.value.position.startswith("line 2")
    assert path.read_bytes() == bad


def test_invalid_utf8_is_reported_where_it_is(db):
    path = db.path(notes)
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "first"})
        tx.add(notes, {"title": "second"})
    data = path.read_bytes().replace(b'"second"', b'"sec\xffond"')
    path.write_bytes(data)
    line = data[: data.index(b"\xff")].count(b"\n") + 1
    with pytest.raises(StoreCorrupt) as exc:
        Storage(db.data_dir).list(notes)
    assert exc.value.position.startswith(f"line {line} ") and line > 1
    assert "UTF-8" in exc.value.message


def test_an_integer_beyond_64_bits_over_http_is_422_and_the_module_keeps_working(client):
    r = client.post("/core/risk/policies/upsert", json={"engine": "GLOBAL", "max_actions_per_day": 1180591620717411303424})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "max_actions_per_day"]
    r = client.post("/core/risk/policies/upsert", json={"engine": "GLOBAL", "max_actions_per_day": 5})
    assert r.status_code == 200 and r.json()["max_actions_per_day"] == 5
