"""tx.after_commit: reactions queued on the outermost transaction run once its commit is durable,
never for a body that raised or a commit that failed; a reaction that fails is logged and
audited and leaves the commit standing."""

from __future__ import annotations

import logging
import threading

import orjson
import pytest

from app.core_gov.errors import InvalidField, StoreUnavailable
from app.core_gov.storage import FrozenClock, Storage, commit

from .models import notes, others


@pytest.fixture
def db(tmp_path) -> Storage:
    return Storage(tmp_path / "data", FrozenClock("2026-03-01T12:00:00Z"))


def on_disk(db: Storage, d=notes) -> list[str]:
    path = db.path(d)
    return [r["title"] for r in orjson.loads(path.read_bytes())] if path.exists() else []


def test_a_reaction_runs_after_the_commit_is_on_disk_outside_the_transaction(db):
    seen: list[tuple[list[str], bool]] = []

    def react(title: str) -> None:
        with db.transaction("t_other") as tx:  # its own transaction: no module was named for it
            tx.add(others, {"title": f"saw {title}"})
        seen.append((on_disk(db), True))

    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "a"})
        tx.after_commit(react, "a")
        assert seen == []  # queued, not run
    assert seen == [(["a"], True)]
    assert on_disk(db, others) == ["saw a"]


def test_a_joined_transaction_queues_on_the_outermost_and_the_same_call_runs_once(db):
    ran: list[str] = []
    with db.transaction("t_notes", "t_other") as outer:
        with db.transaction("t_notes") as inner:
            assert inner is outer
            inner.add(notes, {"title": "a"})
            inner.after_commit(ran.append, "x")
            inner.after_commit(ran.append, "x")
        outer.after_commit(ran.append, "y")
        assert ran == []
    assert ran == ["x", "y"]


def test_no_reaction_runs_when_the_body_raises(db):
    ran: list[str] = []
    with pytest.raises(InvalidField):
        with db.transaction("t_notes") as tx:
            tx.add(notes, {"title": "a"})
            tx.after_commit(ran.append, "x")
            raise InvalidField(("body", "title"), "refused")
    assert ran == [] and on_disk(db) == []


def _group(db: Storage, monkeypatch, fail: bool) -> tuple[dict[str, object], list[tuple[str, list[str]]]]:
    """"a" is written while its commit is held; "b" and "c" queue behind it and share the next
    commit (built on a's: when a's fails, theirs fails too)."""
    started, release = threading.Event(), threading.Event()
    queued_bodies = threading.Semaphore(0)

    def hold_first(step: str) -> None:
        if step == "temps_written" and not started.is_set():
            started.set()
            assert release.wait(10)
            if fail:
                raise OSError("disk gone")

    monkeypatch.setattr(commit, "FAULT", hold_first)
    ran: list[tuple[str, list[str]]] = []
    outcomes: dict[str, object] = {}

    def create(title: str) -> None:
        try:
            with db.transaction("t_notes") as tx:
                tx.add(notes, {"title": title})
                tx.after_commit(lambda: ran.append((title, on_disk(db))))
                if title != "a":
                    queued_bodies.release()
            outcomes[title] = "ack"
        except StoreUnavailable as e:
            outcomes[title] = e

    threads = {t: threading.Thread(target=create, args=(t,)) for t in "abc"}
    threads["a"].start()
    assert started.wait(10)
    for t in "bc":
        threads[t].start()
    for _ in "bc":
        assert queued_bodies.acquire(timeout=10)
    release.set()
    for t in threads.values():
        t.join(10)
    return outcomes, ran


def test_in_a_group_commit_each_member_reacts_once_its_commit_is_durable(db, monkeypatch):
    outcomes, ran = _group(db, monkeypatch, fail=False)
    assert outcomes == {"a": "ack", "b": "ack", "c": "ack"}
    assert sorted(title for title, _ in ran) == ["a", "b", "c"]
    for title, seen in ran:
        assert title in seen  # its own commit was on disk when it ran


def test_a_failed_group_commit_runs_no_reaction_of_its_members(db, monkeypatch):
    outcomes, ran = _group(db, monkeypatch, fail=True)
    assert all(isinstance(o, StoreUnavailable) for o in outcomes.values()) and len(outcomes) == 3
    assert ran == [] and on_disk(db) == []


def test_a_failing_reaction_is_logged_and_audited_and_the_commit_stands(db, caplog):
    ran: list[str] = []

    def broken() -> None:
        raise ValueError("tripwire exploded")

    with caplog.at_level(logging.ERROR, logger="valhalla.reactions"):
        with db.transaction("t_notes") as tx:
            note = tx.add(notes, {"title": "kept"})
            tx.after_commit(broken)
            tx.after_commit(ran.append, "next")
    assert on_disk(db) == ["kept"] and db.get(notes, note.id).title == "kept"
    assert ran == ["next"]  # the next reaction still runs
    assert "reaction" in caplog.text and "broken" in caplog.text and "tripwire exploded" in caplog.text
    audit = [orjson.loads(line) for line in (db.data_dir / "t_notes" / "audit.jsonl").read_bytes().splitlines()]
    failed = audit[-1]
    assert (failed["module"], failed["entity"], failed["action"]) == ("t_notes", "reaction", "reaction_failed")
    assert failed["entity_id"].endswith("broken")
    assert failed["changes"] == {"error": [None, "ValueError: tripwire exploded"]}
