"""A collection is a series of segment files: a write rewrites only the segments it touches,
reads see every segment in creation order, hand edits and corruption are per file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from app.core_gov.errors import StoreCorrupt
from app.core_gov.storage import Storage

from .models import small

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + str(ROOT / "backend")}
NAMES = ["items.json", "items.000002.json", "items.000003.json"]


def folder(db: Storage) -> Path:
    return db.data_dir / "t_seg"


def identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


@pytest.fixture
def db(tmp_path) -> Storage:
    db = Storage(tmp_path / "data")
    for i in range(12):
        with db.transaction("t_seg") as tx:
            tx.add(small, {"title": f"n{i}"})
    return db


def test_records_fill_segments_in_creation_order(db):
    assert sorted(n for n in os.listdir(folder(db)) if n.startswith("items")) == sorted(NAMES)
    on_disk = [[r["title"] for r in orjson.loads((folder(db) / n).read_bytes())] for n in NAMES]
    assert on_disk == [[f"n{i}" for i in range(0, 5)], [f"n{i}" for i in range(5, 10)], ["n10", "n11"]]
    assert (folder(db) / "items.000002.json").read_bytes().startswith(b'[\n  {\n    "id": "sg_')
    fresh = Storage(db.data_dir)
    assert [r.title for r in fresh.list(small)] == [f"n{i}" for i in range(12)]
    assert len(fresh.list(small)) == 12 and fresh.list(small)[7].title == "n7" and [r.title for r in fresh.list(small)[4:6]] == ["n4", "n5"]


def test_a_create_rewrites_only_the_last_segment(db):
    before = {n: identity(folder(db) / n) for n in NAMES}
    with db.transaction("t_seg") as tx:
        tx.add(small, {"title": "n12"})
    after = {n: identity(folder(db) / n) for n in NAMES}
    assert [n for n in NAMES if before[n] != after[n]] == ["items.000003.json"]


def test_an_update_or_delete_rewrites_only_the_segment_holding_the_record(db):
    target = db.list(small)[6]
    before = {n: identity(folder(db) / n) for n in NAMES}
    with db.transaction("t_seg") as tx:
        tx.update(small, target, title="changed")
    with db.transaction("t_seg") as tx:
        tx.delete(small, db.list(small)[5].id)
    after = {n: identity(folder(db) / n) for n in NAMES}
    assert [n for n in NAMES if before[n] != after[n]] == ["items.000002.json"]
    assert [r["title"] for r in orjson.loads((folder(db) / "items.000002.json").read_bytes())] == ["changed", "n7", "n8", "n9"]
    assert Storage(db.data_dir).get(small, target.id).title == "changed"


def test_a_new_segment_starts_when_the_last_is_full(db):
    with db.transaction("t_seg") as tx:
        for i in range(12, 16):
            tx.add(small, {"title": f"n{i}"})
    assert [r["title"] for r in orjson.loads((folder(db) / "items.000004.json").read_bytes())] == ["n15"]


def test_a_hand_edit_of_one_segment_is_seen_on_the_next_read(db):
    path = folder(db) / "items.000002.json"
    raw = orjson.loads(path.read_bytes())
    raw[0]["title"] = "edited by hand"
    path.write_bytes(orjson.dumps(raw, option=orjson.OPT_INDENT_2))
    assert db.list(small)[5].title == "edited by hand"
    assert db.get(small, raw[0]["id"]).title == "edited by hand"


def test_a_corrupt_segment_is_503_naming_that_file_and_is_never_overwritten(db):
    path = folder(db) / "items.000003.json"
    path.write_bytes(b'[\n  {"id": "sg_1", "title"\n')
    with pytest.raises(StoreCorrupt) as exc:
        db.list(small)
    assert exc.value.file == "t_seg/items.000003.json" and exc.value.position.startswith("line 3")
    with pytest.raises(StoreCorrupt):
        with db.transaction("t_seg") as tx:
            tx.add(small, {"title": "refused"})
    assert path.read_bytes() == b'[\n  {"id": "sg_1", "title"\n'


def test_an_old_single_file_larger_than_a_segment_keeps_working(tmp_path):
    db = Storage(tmp_path / "data")
    with db.transaction("t_seg") as tx:  # as an older version wrote it: one file
        for i in range(12):
            tx.add(small, {"title": f"n{i}"})
    rows = [r for n in NAMES for r in orjson.loads((folder(db) / n).read_bytes())]
    for n in NAMES[1:]:
        (folder(db) / n).unlink()
    (folder(db) / "items.json").write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    fresh = Storage(db.data_dir)
    assert len(fresh.list(small)) == 12
    with fresh.transaction("t_seg") as tx:
        tx.add(small, {"title": "n12"})
        tx.update(small, rows[0]["id"], title="first")
    assert [r["title"] for r in orjson.loads((folder(db) / "items.000002.json").read_bytes())] == ["n12"]
    assert [r.title for r in Storage(db.data_dir).list(small)][:2] == ["first", "n1"]


def test_four_processes_filling_segments_lose_nothing(tmp_path):
    data_dir = tmp_path / "data"
    procs = [
        subprocess.Popen([sys.executable, "-m", "tests.storage.concurrency_worker", str(data_dir), "segments", "30"], cwd=ROOT, env=ENV)
        for _ in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    names = sorted(n for n in os.listdir(data_dir / "t_seg") if n.startswith("items"))
    sizes = [len(orjson.loads((data_dir / "t_seg" / n).read_bytes())) for n in names]
    assert sum(sizes) == 120 and all(s == 5 for s in sizes)
    db = Storage(data_dir)
    assert len({r.id for r in db.list(small)}) == 120
    assert db.list(small)[0].count == 119  # every read-modify-write of the first record landed


def test_the_format_migration_splits_a_collection_written_as_one_file(tmp_path):
    from app.core_gov.storage.collection import split_oversized

    from .models import notes

    data_dir = tmp_path / "data"
    db = Storage(data_dir)
    with db.transaction("t_notes") as tx:
        for i in range(2500):
            tx.add(notes, {"title": f"n{i}"})
    rows = [r for p in db.paths(notes) for r in orjson.loads(p.read_bytes())]
    for p in db.paths(notes)[1:]:
        p.unlink()
    db.path(notes).write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))  # the old layout
    assert split_oversized(data_dir) == ["split t_notes/notes.json (2500 records) into 3 segment files"]
    sizes = [len(orjson.loads(p.read_bytes())) for p in Storage(data_dir).paths(notes)]
    assert sizes == [1000, 1000, 500]
    assert [n.title for n in Storage(data_dir).list(notes)] == [f"n{i}" for i in range(2500)]
    assert split_oversized(data_dir) == []  # already laid out


def test_a_lookup_by_id_stats_the_folder_and_its_own_segment_and_sees_what_changed_there(db, monkeypatch):
    first = db.list(small)[0]
    statted = []
    real = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **kw: statted.append(os.fspath(path)) or real(path, *a, **kw))
    assert db.get(small, first.id) == first
    assert sorted(Path(p).name for p in statted) == ["items.json", "t_seg"]  # not the other two segments
    monkeypatch.setattr(os, "stat", real)

    path = folder(db) / "items.json"
    raw = orjson.loads(path.read_bytes())
    raw[0]["title"] = "edited by hand"
    path.write_bytes(orjson.dumps(raw, option=orjson.OPT_INDENT_2))
    assert db.get(small, first.id).title == "edited by hand"
    path.write_bytes(orjson.dumps(raw[1:], option=orjson.OPT_INDENT_2))  # the record taken out by hand
    assert db.find(small, first.id) is None
    other = Storage(db.data_dir)
    with other.transaction("t_seg") as tx:
        made = tx.add(small, {"title": "from another process"})
    assert db.get(small, made.id).title == "from another process"
