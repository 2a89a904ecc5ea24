"""The commit of one file of one module (a create or an update with its audit line) writes no
manifest: its temp file's name records the log appends, three fsyncs in all. Recovery rolls
it forward once every append is on disk and back otherwise, keeping what others wrote."""

from __future__ import annotations

import os
import stat

import orjson
import pytest

from app.core_gov.errors import StoreUnavailable
from app.core_gov.storage import Storage, audit_log, commit, files

from .models import counter, events, notes, others


class Killed(BaseException):
    """Stops a commit at a step as a SIGKILL would: nothing after it runs, nothing is undone."""


@pytest.fixture
def db(tmp_path) -> Storage:
    return Storage(tmp_path / "data")


@pytest.fixture
def fsyncs(monkeypatch) -> list[str]:
    """Each fsync a commit makes: "file" or "folder"."""
    calls: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    return calls


def kill_at(monkeypatch, step: str, occurrence: int = 1) -> None:
    seen = []

    def fault(name: str) -> None:
        if name == step:
            seen.append(name)
            if len(seen) == occurrence:
                raise Killed(step)

    monkeypatch.setattr(commit, "FAULT", fault)


def titles(db: Storage) -> list[str]:
    return [n.title for n in Storage(db.data_dir).list(notes)]


def test_a_create_with_its_audit_line_takes_three_fsyncs_and_no_manifest(db, fsyncs, monkeypatch):
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "first"})  # creates notes.json and audit.jsonl
    steps: list[str] = []
    monkeypatch.setattr(commit, "FAULT", steps.append)
    fsyncs.clear()
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "second"})
    assert fsyncs == ["file", "folder", "file"]  # the temp file, its folder, the audit append
    assert steps == ["temp_unsynced", "temps_written", "log_appended", "file_replaced"]
    assert titles(db) == ["first", "second"]
    assert [e.entity_id for e in db.entries(audit_log("t_notes"))] == [n.id for n in db.list(notes)]
    assert sorted(os.listdir(db.data_dir / "t_notes")) == [".lock", "audit.jsonl", "notes.json"]


def test_one_file_without_a_log_append_is_a_plain_atomic_replace(db, fsyncs):
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "quiet"}, audit=None)
    assert fsyncs == ["file", "folder"]
    assert titles(db) == ["quiet"] and not db.path(audit_log("t_notes")).exists()


def test_two_files_or_two_modules_still_commit_through_a_manifest(db, monkeypatch):
    steps: list[str] = []
    monkeypatch.setattr(commit, "FAULT", steps.append)
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "n"})
        tx.write(counter, {"value": 1})
    with db.transaction("t_notes", "t_other") as tx:
        tx.add(others, {"title": "o"})
        tx.append(events, {"kind": "k"})  # one file, but a log in another module
    assert steps.count("manifest_written:t_notes") == 2
    assert db.read(counter).value == 1 and [o.title for o in db.list(others)] == ["o"]


@pytest.mark.parametrize(("step", "occurrence", "committed"), [
    ("temps_written", 1, False),
    ("log_appended", 1, False),  # events appended, the audit line not
    ("log_appended", 2, True),  # both appended: the commit happened, the rename is redone
])
def test_a_commit_stopped_at_a_step_is_rolled_forward_or_back_by_the_next_writer(db, monkeypatch, step, occurrence, committed):
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "before"})
        tx.append(events, {"kind": "before"})
    kill_at(monkeypatch, step, occurrence)
    with pytest.raises(Killed):
        with db.transaction("t_notes") as tx:
            tx.add(notes, {"title": "cut"})
            tx.append(events, {"kind": "cut"})
    assert len(list((db.data_dir / "t_notes").glob(".notes.json.tx_*~*.jsonl@*,*.jsonl@*.tmp"))) == 1
    monkeypatch.setattr(commit, "FAULT", None)

    with db.transaction("t_notes") as tx:  # takes the lock: recovery first
        tx.add(notes, {"title": "after"})
    landed = ["cut"] if committed else []
    assert titles(db) == ["before", *landed, "after"]
    assert [e.kind for e in Storage(db.data_dir).entries(events)] == ["before", *landed]
    assert [e.entity for e in Storage(db.data_dir).entries(audit_log("t_notes"))] == ["notes", "events", *(["notes", "events"] if committed else []), "notes"]
    assert not list(db.data_dir.rglob("*.tmp"))


def test_rolling_back_cuts_out_the_commits_lines_and_keeps_a_line_appended_by_hand_after_them(db, monkeypatch):
    with db.transaction("t_notes") as tx:
        tx.append(events, {"kind": "before"})
    kill_at(monkeypatch, "log_appended", 1)  # the audit line appended, the event not
    with pytest.raises(Killed):
        with db.transaction("t_notes") as tx:
            tx.add(notes, {"title": "cut"})
            tx.append(events, {"kind": "cut"})
    monkeypatch.setattr(commit, "FAULT", None)
    audit = db.path(audit_log("t_notes"))
    assert [orjson.loads(line)["entity"] for line in audit.read_bytes().splitlines()] == ["events", "notes", "events"]
    by_hand = {"id": "au_byhand", "at": "2026-01-05T15:00:00Z", "actor": "me", "module": "t_notes", "entity": "notes", "entity_id": "x", "action": "update"}
    with open(audit, "ab") as f:
        f.write(orjson.dumps(by_hand) + b"\n")

    Storage(db.data_dir)  # recovery at start
    assert [e.id for e in Storage(db.data_dir).entries(audit_log("t_notes"))][1:] == ["au_byhand"]
    assert titles(db) == [] and [e.kind for e in Storage(db.data_dir).entries(events)] == ["before"]
    assert not list(db.data_dir.rglob("*.tmp"))


def test_a_torn_last_append_is_not_a_commit_and_every_log_is_cut_back(db, monkeypatch):
    with db.transaction("t_notes") as tx:
        tx.append(events, {"kind": "before"})
    logs = (db.path(audit_log("t_notes")), db.path(events))  # appended in this order
    sizes = [p.stat().st_size for p in logs]
    kill_at(monkeypatch, "log_appended", 2)
    with pytest.raises(Killed):
        with db.transaction("t_notes") as tx:
            tx.add(notes, {"title": "cut"})
            tx.append(events, {"kind": "cut"})
    monkeypatch.setattr(commit, "FAULT", None)
    os.truncate(db.path(events), db.path(events).stat().st_size - 7)  # power lost before the fsync

    Storage(db.data_dir)
    assert [p.stat().st_size for p in logs] == sizes
    assert titles(db) == [] and [e.kind for e in Storage(db.data_dir).entries(events)] == ["before"]


def test_a_disk_error_while_appending_undoes_the_commit_at_once(db, monkeypatch):
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "before"})
        tx.append(events, {"kind": "before"})
    sizes = {p.name: p.stat().st_size for p in (db.path(events), db.path(audit_log("t_notes")))}
    real_write_at, calls = files.write_at, []

    def failing(path, offset, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_write_at(path, offset, data)

    monkeypatch.setattr(files, "write_at", failing)
    with pytest.raises(StoreUnavailable, match="could not write"):
        with db.transaction("t_notes") as tx:
            tx.add(notes, {"title": "refused"})
            tx.append(events, {"kind": "refused"})
    assert {p.name: p.stat().st_size for p in (db.path(events), db.path(audit_log("t_notes")))} == sizes
    assert not list(db.data_dir.rglob("*.tmp")) and titles(db) == ["before"]
