"""Transactions: staged changes, audit in the same commit, versions, refusals writing nothing."""

from __future__ import annotations

import orjson
import pytest

from app.core_gov.errors import InvalidField, NotFound, PreconditionFailed
from app.core_gov.storage import FrozenClock, Storage

from .models import counter, events, notes, others


@pytest.fixture
def db(tmp_path) -> Storage:
    return Storage(tmp_path / "data", FrozenClock("2026-03-01T12:00:00Z"))


def test_add_stamps_id_times_version_and_writes_readable_json(db):
    with db.transaction("t_notes") as tx:
        note = tx.add(notes, {"title": "Café", "tags": ["a"]})
    assert note.id.startswith("nt_") and note.version == 1
    raw = (db.data_dir / "t_notes" / "notes.json").read_bytes()
    assert raw.endswith(b"]\n") and "Café".encode() in raw  # UTF-8, no \u escapes
    assert raw.startswith(b'[\n  {\n    "id": "nt_')  # 2-space indent, id first (schema order)
    assert orjson.loads(raw)[0]["created_at"] == "2026-03-01T12:00:00Z"
    assert db.get(notes, note.id) == note


def test_update_bumps_version_and_audits_changed_fields_only(db):
    with db.transaction("t_notes") as tx:
        note = tx.add(notes, {"title": "a"})
    with db.transaction("t_notes") as tx:
        updated = tx.update(notes, note.id, {"title": "b", "count": 0})
    assert updated.version == 2 and updated.title == "b"
    audit = [orjson.loads(line) for line in (db.data_dir / "t_notes" / "audit.jsonl").read_bytes().splitlines()]
    assert [a["action"] for a in audit] == ["create", "update"]
    assert audit[1]["changes"] == {"title": ["a", "b"]}
    assert audit[1]["actor"] == "operator"


def test_unchanged_update_writes_nothing(db):
    with db.transaction("t_notes") as tx:
        note = tx.add(notes, {"title": "a"})
    before = (db.data_dir / "t_notes" / "notes.json").stat().st_ino
    with db.transaction("t_notes") as tx:
        same = tx.update(notes, note.id, {"title": "a"})
    assert same.version == 1
    assert (db.data_dir / "t_notes" / "notes.json").stat().st_ino == before


def test_stale_expected_version_is_412_and_writes_nothing(db):
    with db.transaction("t_notes") as tx:
        note = tx.add(notes, {"title": "a"})
    with pytest.raises(PreconditionFailed) as exc:
        with db.transaction("t_notes") as tx:
            tx.update(notes, note.id, {"title": "b"}, expected_version=7)
    assert exc.value.detail["current_version"] == 1
    assert db.get(notes, note.id).title == "a"


def test_body_that_raises_writes_nothing(db):
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "keep"})
    with pytest.raises(RuntimeError):
        with db.transaction("t_notes") as tx:
            tx.add(notes, {"title": "drop"})
            tx.append(events, {"kind": "x"})
            raise RuntimeError("boom")
    assert [n.title for n in db.list(notes)] == ["keep"]
    assert db.entries(events) == ()
    assert not list((db.data_dir / "t_notes").glob(".*.tmp"))


def test_invalid_field_names_the_field(db):
    with pytest.raises(InvalidField) as exc:
        with db.transaction("t_notes") as tx:
            tx.add(notes, {"title": "x", "count": "many"})
    assert exc.value.detail[0]["loc"] == ["body", "count"]
    assert not (db.data_dir / "t_notes" / "notes.json").exists()


def test_missing_record_is_not_found(db):
    with pytest.raises(NotFound, match="Note nt_x not found"):
        db.get(notes, "nt_x")


def test_delete_removes_and_audits_old_values(db):
    with db.transaction("t_notes") as tx:
        a = tx.add(notes, {"title": "a"})
        b = tx.add(notes, {"title": "b"})
    with db.transaction("t_notes") as tx:
        tx.delete(notes, a.id, reason="dup")
    assert [n.id for n in db.list(notes)] == [b.id]
    assert db.find(notes, a.id) is None and db.get(notes, b.id).title == "b"
    last = orjson.loads((db.data_dir / "t_notes" / "audit.jsonl").read_bytes().splitlines()[-1])
    assert last["action"] == "delete" and last["changes"]["title"] == ["a", None] and last["changes"]["reason"] == [None, "dup"]


def test_singleton_default_then_write(db):
    assert db.read(counter).value == 0
    with db.transaction("t_notes") as tx:
        tx.write(counter, {"value": 3})
    assert db.read(counter).value == 3
    assert orjson.loads((db.data_dir / "t_notes" / "counter.json").read_bytes()) == {"value": 3}


def test_log_appends_one_line_each(db):
    with db.transaction("t_notes") as tx:
        tx.append(events, {"kind": "a", "n": 1})
        tx.append(events, {"kind": "b", "n": 2})
    lines = (db.data_dir / "t_notes" / "events.jsonl").read_bytes().splitlines()
    assert [orjson.loads(x)["kind"] for x in lines] == ["a", "b"]
    assert [e.n for e in db.entries(events)] == [1, 2]


def test_reads_inside_a_transaction_see_staged_changes(db):
    with db.transaction("t_notes") as tx:
        note = tx.add(notes, {"title": "x"})
        assert db.get(notes, note.id) is note  # a service reading through db joins the transaction
        with db.transaction("t_notes") as inner:  # a nested transaction on a held module joins it
            assert inner is tx
    assert db.get(notes, note.id).title == "x"


def test_nested_transaction_on_another_module_is_refused(db):
    with pytest.raises(RuntimeError, match="open them together"):
        with db.transaction("t_notes"):
            with db.transaction("t_other"):
                pass


def test_two_module_transaction_commits_both(db):
    with db.transaction("t_notes", "t_other") as tx:
        tx.add(notes, {"title": "n"})
        tx.add(others, {"title": "o"})
    assert len(db.list(notes)) == 1 and len(db.list(others)) == 1
    assert not list(db.data_dir.glob("*/.commit-*"))


def test_replaced_file_keeps_its_mode(db):
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "a"})
    path = db.data_dir / "t_notes" / "notes.json"
    path.chmod(0o600)
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "b"})
    assert path.stat().st_mode & 0o777 == 0o600


def test_instant_out_of_range_is_a_validation_error_not_an_overflow():
    from pydantic import BaseModel, ValidationError

    from app.core_gov.storage import UtcDatetime

    class M(BaseModel):
        at: UtcDatetime

    assert M(at="2026-01-05T10:00:00-05:00").at.isoformat() == "2026-01-05T15:00:00+00:00"
    for bad in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00", "2026-01-05T10:00:00"):
        with pytest.raises(ValidationError):
            M(at=bad)


def test_locking_every_module_inside_a_transaction_is_refused_not_a_deadlock(db):
    with pytest.raises(RuntimeError, match="call it before the transaction"):
        with db.transaction("t_notes"):
            with db.locked("t_other"):
                pass
