"""Corrupt files are reported, never read as empty and never overwritten; the read cache sees
hand edits and other processes' writes, even a same-size rewrite within one mtime tick."""

from __future__ import annotations

import os

import orjson
import pytest

from app.core_gov.errors import StoreCorrupt
from app.core_gov.storage import Storage

from .models import counter, events, notes


@pytest.fixture
def db(tmp_path) -> Storage:
    db = Storage(tmp_path / "data")
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "first"})
        tx.add(notes, {"title": "second"})
    return db


@pytest.mark.parametrize(
    ("content", "position"),
    [
        (b"", "byte 0"),  # zero bytes: corrupt, not empty
        (b'[\n  {"id": "nt_1", "title"', "line 2"),  # truncated
        (b"{}", "top level"),
    ],
)
def test_bad_file_is_reported_with_position_and_never_overwritten(db, content, position):
    path = db.path(notes)
    path.write_bytes(content)
    with pytest.raises(StoreCorrupt) as exc:
        db.list(notes)
    assert exc.value.file == "t_notes/notes.json" and exc.value.position.startswith(position)
    with pytest.raises(StoreCorrupt):
        with db.transaction("t_notes") as tx:
            tx.add(notes, {"title": "third"})
    assert path.read_bytes() == content  # byte-identical after the refused write


def test_invalid_record_names_record_and_field(db):
    raw = orjson.loads(db.path(notes).read_bytes())
    raw[1]["count"] = "lots"
    db.path(notes).write_bytes(orjson.dumps(raw))
    with pytest.raises(StoreCorrupt) as exc:
        db.get(notes, raw[1]["id"])
    assert exc.value.position == f"record 2 (id {raw[1]['id']}), field count"  # counted from 1, as a person counts
    with pytest.raises(StoreCorrupt):
        db.list(notes).frags(0, 2)  # its stored bytes are never answered either
    with pytest.raises(StoreCorrupt):
        list(db.list(notes))
    with pytest.raises(StoreCorrupt):  # nor overwritten by a change to a neighbour
        with db.transaction("t_notes") as tx:
            tx.update(notes, raw[0]["id"], title="changed")
    assert orjson.loads(db.path(notes).read_bytes()) == raw


def test_unknown_field_in_a_hand_edit_is_reported_not_dropped(db):
    raw = orjson.loads(db.path(notes).read_bytes())
    raw[0]["colour"] = "red"
    db.path(notes).write_bytes(orjson.dumps(raw))
    with pytest.raises(StoreCorrupt, match="colour"):
        list(db.list(notes))


def test_bad_log_line_in_the_middle_is_corruption(db):
    with db.transaction("t_notes") as tx:
        tx.append(events, {"kind": "a"})
        tx.append(events, {"kind": "b"})
    lines = db.path(events).read_bytes().splitlines(keepends=True)
    db.path(events).write_bytes(lines[0] + b"not json\n" + lines[1])
    with pytest.raises(StoreCorrupt) as exc:
        db.entries(events)
    assert exc.value.position.startswith("line 2")


def test_missing_file_reads_as_empty(tmp_path):
    db = Storage(tmp_path / "data")
    assert db.list(notes) == () and db.read(counter).value == 0 and db.entries(events) == ()


def test_hand_edit_is_visible_on_the_next_read(db):
    assert [n.title for n in db.list(notes)] == ["first", "second"]
    raw = orjson.loads(db.path(notes).read_bytes())
    raw[0]["title"] = "edited by hand"
    db.path(notes).write_bytes(orjson.dumps(raw, option=orjson.OPT_INDENT_2))
    assert [n.title for n in db.list(notes)] == ["edited by hand", "second"]


def test_same_size_rewrite_within_one_mtime_tick_is_seen(db):
    path = db.path(notes)
    assert db.list(notes)[0].title == "first"
    st = os.stat(path)
    new = path.read_bytes().replace(b'"first"', b'"FIRST"')
    assert len(new) == st.st_size
    tmp = path.with_name("edit.tmp")
    tmp.write_bytes(new)
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime: only the inode differs
    os.replace(tmp, path)
    assert db.list(notes)[0].title == "FIRST"


def test_write_from_another_storage_is_seen_without_restart(db, tmp_path):
    other = Storage(tmp_path / "data")
    with other.transaction("t_notes") as tx:
        tx.add(notes, {"title": "from elsewhere"})
    assert [n.title for n in db.list(notes)] == ["first", "second", "from elsewhere"]


def test_reads_are_served_from_the_cache_without_reparsing(db, monkeypatch):
    db.list(notes)
    calls = []
    monkeypatch.setattr("app.core_gov.storage.formats.parse_segment", lambda *a: calls.append(a))
    for _ in range(5):
        assert len(db.list(notes)) == 2
    assert calls == []


def test_an_unchanged_collection_is_read_as_the_same_view_and_a_change_makes_a_new_one(db):
    view = db.list(notes)
    assert db.list(notes) is view  # its position index and the records it made are reused
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "third"})
    assert db.list(notes) is not view and [n.title for n in db.list(notes)] == ["first", "second", "third"]
