"""A restart must not read every segment file: a full segment's ids are kept in a sidecar under
``data/.cache/`` with the stat key of the file they came from, and its records are read when
first asked for. Records of segments not used lately are let go and read again. None of this
may ever hide a change to a file or serve a record that is not on disk."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core_gov.errors import StoreCorrupt, StoreUnavailable
from app.core_gov.storage import Storage, files, formats, per_segment, search, select
from app.core_gov.storage import ids as ids_module, sidecar
from app.core_gov.storage.archive import _data_files
from app.core_gov.storage.segments import KEEP_EVERY, SUMMARY_AFTER, SegmentFiles

from .models import notes, small

FULL = ["t_seg/items.json", "t_seg/items.000002.json", "t_seg/items.000003.json", "t_seg/items.000004.json"]
LAST = "t_seg/items.000005.json"


@pytest.fixture
def db(tmp_path) -> Storage:
    """23 records: four full segments of 5 and a last one of 3."""
    db = Storage(tmp_path / "data")
    with db.transaction("t_seg") as tx:
        for i in range(23):
            tx.add(small, {"title": f"n{i}", "count": i % 4})
    Storage(db.data_dir).check(small)  # a first start parses every segment and keeps its sidecar
    return db


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The segment files parsed from here on, in order."""
    seen: list[str] = []
    real = formats.parse_segment

    def spy(d, rel, number, data):
        seen.append(rel)
        return real(d, rel, number, data)

    monkeypatch.setattr(formats, "parse_segment", spy)
    return seen


def test_a_restart_reads_only_the_segments_a_read_answers_from(db, parsed):
    ids = [r.id for r in db.list(small)]
    fresh = Storage(db.data_dir)
    assert len(fresh.list(small)) == 23
    assert parsed == [LAST]  # the full segments' ids came from their sidecars

    assert fresh.get(small, ids[12]).title == "n12"
    assert fresh.raw(small, ids[7]) == db.raw(small, ids[7])
    assert fresh.list(small).frags(3, 9) == db.list(small).frags(3, 9)
    assert [r.title for r in fresh.list(small)[8:11]] == ["n8", "n9", "n10"]
    assert parsed == [LAST]  # each record was read alone from its file, where the sidecar says it is
    assert not any(seg.resident for seg in fresh.list(small).segs[:4])


def test_the_ready_check_after_a_restart_parses_no_full_segment(db, parsed, monkeypatch):
    fresh = Storage(db.data_dir)
    read = []
    monkeypatch.setattr(fresh.segments, "from_sidecar", lambda *a: read.append(a) or None)
    assert fresh.check(small) == []
    assert parsed == [LAST] and [part.number for part, _ in read] == [5]  # of a full segment, only its sidecar's first line


def test_the_ready_check_reports_a_full_segment_broken_by_hand(db):
    path = db.data_dir / FULL[2]
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(StoreCorrupt) as e:
        Storage(db.data_dir).check(small)
    assert e.value.file == FULL[2]


def test_a_sidecar_is_unused_once_its_file_changes(db):
    path = db.data_dir / FULL[1]
    path.write_bytes(path.read_bytes().replace(b'"title": "n6"', b'"title": "six"'))
    assert [r.title for r in Storage(db.data_dir).list(small)][5:8] == ["n5", "six", "n7"]

    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b'"title": "six"', b'"title": "SIX"'))  # same size, same inode
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    assert [r.title for r in Storage(db.data_dir).list(small)][6] == "SIX"


def test_a_record_removed_by_hand_is_missing_after_a_restart(db):
    ids = [r.id for r in db.list(small)]
    path = db.data_dir / FULL[0]
    path.write_bytes(b"[]\n")
    fresh = Storage(db.data_dir)
    assert len(fresh.list(small)) == 18 and fresh.find(small, ids[0]) is None


def test_an_unreadable_sidecar_is_ignored_and_made_again(db, parsed):
    cached = db.data_dir / ".cache" / f"{FULL[3]}.ids"
    cached.write_bytes(b'{"key": [1, 2')
    assert [r.title for r in Storage(db.data_dir).list(small)][15] == "n15"
    assert FULL[3] in parsed and cached.read_bytes().startswith(b"[")


def test_a_sidecar_that_disagrees_with_its_file_fails_one_read_then_the_file_is_read(db):
    """A sidecar whose key matches but whose ids are not the file's (it can only be planted)
    never serves another record: the read that finds out fails, the next reads the file."""
    cached = db.data_dir / ".cache" / f"{FULL[0]}.ids"
    cached.write_bytes(cached.read_bytes().replace(b'"sg_', b'"xx_', 1))
    fresh = Storage(db.data_dir)
    with pytest.raises(StoreUnavailable):
        fresh.list(small)[0]
    assert fresh.list(small)[0].title == "n0"


def test_records_let_go_are_read_again_and_memory_stays_bounded(db):
    fresh = Storage(db.data_dir)
    fresh.resident.budget = 1  # one segment at a time
    assert [r.title for r in fresh.list(small)] == [f"n{i}" for i in range(23)]
    assert sum(seg.resident for seg in fresh.list(small).segs) == 1
    assert [r.id for r in select(fresh.list(small), {"count": 2})] == [r.id for r in db.list(small) if r.count == 2]


def test_a_let_go_segment_changed_in_place_is_read_as_it_is_now(db):
    fresh = Storage(db.data_dir)
    fresh.resident.budget = 1
    records = fresh.list(small)
    assert records[0].title == "n0" and records[22].title == "n22"  # the first segment let go
    assert not records.segs[0].resident
    path = db.data_dir / FULL[0]
    path.write_bytes(path.read_bytes().replace(b'"body": ""', b'"body": "edited"'))
    assert b'"body": "edited"' in records.frags(1, 2)[0]
    assert records.frags(0, 5) == Storage(db.data_dir).list(small).frags(0, 5)


def test_a_record_added_by_hand_to_a_let_go_segment_fails_that_read_only(db):
    fresh = Storage(db.data_dir)
    fresh.resident.budget = 1
    records = fresh.list(small)
    records[22]  # the first segment let go
    path = db.data_dir / FULL[0]
    copy = records.frags(22, 23)[0].replace(records[22].id.encode(), b"sg_byhand").replace(b'"n22"', b'"by hand"')
    path.write_bytes(path.read_bytes()[: -len(b"\n]\n")] + b",\n" + copy + b"\n]\n")
    with pytest.raises(StoreUnavailable, match="changed while it was being read"):
        records[0]
    assert fresh.get(small, "sg_byhand").title == "by hand"


def test_the_cache_folder_ignores_itself_and_is_never_backed_up(db):
    cache = db.data_dir / ".cache"
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    assert sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*.ids")) == [f"{rel}.ids" for rel in sorted(FULL)]
    assert not [p for p in _data_files(db.data_dir) if ".cache" in Path(p).parts]


def test_a_write_after_a_restart_keeps_every_record(db):
    ids = [r.id for r in db.list(small)]
    fresh = Storage(db.data_dir)
    with fresh.transaction("t_seg") as tx:
        tx.update(small, ids[3], {"title": "three"})
        tx.add(small, {"title": "n23"})
    again = Storage(db.data_dir)
    assert [r.title for r in again.list(small)] == [f"n{i}" for i in range(23)][:3] + ["three"] + [f"n{i}" for i in range(4, 24)]


def test_filters_and_searches_after_a_restart_use_the_saved_indexes(db, parsed):
    expected = [r.id for r in db.list(small) if r.count == 2]
    found = [r.id for r in search(db.list(small), "n1", ("title",))]
    assert len(select(db.list(small), {"count": 2})) == len(expected)  # made once, and saved

    fresh = Storage(db.data_dir)
    parsed.clear()
    assert len(select(fresh.list(small), {"count": 2})) == len(expected)
    assert len(search(fresh.list(small), "n1", ("title",))) == len(found)
    assert parsed == [LAST]  # no full segment read to answer them
    assert [r.id for r in select(fresh.list(small), {"count": 2})] == expected  # the records themselves are read for the answer


def test_saved_indexes_are_unused_once_their_file_changes(db):
    assert len(select(db.list(small), {"title": "n6"})) == 1
    path = db.data_dir / FULL[1]
    path.write_bytes(path.read_bytes().replace(b'"title": "n6"', b'"title": "six"'))
    fresh = Storage(db.data_dir)
    assert len(select(fresh.list(small), {"title": "n6"})) == 0
    assert [r.title for r in select(fresh.list(small), {"title": "six"})] == ["six"]


def test_a_planted_index_sidecar_is_ignored(db):
    assert len(select(db.list(small), {"count": 1})) == 6
    for cached in (db.data_dir / ".cache" / "t_seg").glob("*.values"):
        key = cached.read_bytes().split(b"\n")[0]
        cached.write_bytes(key + b"\n[[1,2,3]]")
    assert len(select(Storage(db.data_dir).list(small), {"count": 1})) == 6


@pytest.fixture
def validated(monkeypatch) -> list[str]:
    """The records validated from here on (ids), in order."""
    seen: list[str] = []
    real = formats.Seg.check

    def spy(seg, model, start=0, stop=None):
        if seg.unchecked is not None:
            seen.extend(seg.ids[i] for i in range(start, len(seg) if stop is None else stop) if seg.unchecked[i])
        return real(seg, model, start, stop)

    monkeypatch.setattr(formats.Seg, "check", spy)
    return seen


def test_the_first_write_after_a_restart_validates_no_record_the_store_wrote(db, validated):
    """Segments this store wrote are saved as valid: a patch to one after a restart validates
    none of its neighbours again (a thousand of them at real size)."""
    ids = [r.id for r in db.list(small)]
    fresh = Storage(db.data_dir)
    with fresh.transaction("t_seg") as tx:
        tx.update(small, ids[7], {"title": "seven"})
    assert validated == []
    assert Storage(db.data_dir).get(small, ids[7]).title == "seven"


def test_a_hand_edited_segment_is_validated_again_before_a_write(db, validated):
    ids = [r.id for r in db.list(small)]
    path = db.data_dir / FULL[1]
    path.write_bytes(path.read_bytes().replace(b'"count": 1', b'"count": "lots"'))
    with pytest.raises(StoreCorrupt, match="count"):
        with Storage(db.data_dir).transaction("t_seg") as tx:
            tx.update(small, ids[7], {"title": "seven"})
    assert b'"count": "lots"' in path.read_bytes() and b'"title": "seven"' not in path.read_bytes()


def test_verify_validates_every_record_whatever_the_sidecars_say(db, validated):
    path = db.data_dir / FULL[2]
    key = os.stat(path)
    path.write_bytes(path.read_bytes().replace(b'"count": 3', b'"count":[]'))  # bit rot: same size, inode and mtime
    os.utime(path, ns=(key.st_atime_ns, key.st_mtime_ns))
    fresh = Storage(db.data_dir)
    assert fresh.check(small) == []  # the shallow check trusts the sidecar
    with pytest.raises(StoreCorrupt, match="count"):
        fresh.check(small, deep=True)


def test_a_sidecar_with_wrong_positions_never_serves_another_record(db):
    cached = db.data_dir / ".cache" / f"{FULL[1]}.ids"
    key, head, body = cached.read_bytes().split(b"\n")
    saved = orjson.loads(body)
    spans = saved["spans"]
    saved["spans"] = [spans[0], *spans[2:], spans[-1] + (spans[-1] - spans[-2])][: len(spans) - 1] + [spans[-1]]
    cached.write_bytes(key + b"\n" + head + b"\n" + orjson.dumps(saved))
    fresh = Storage(db.data_dir)
    assert [r.title for r in fresh.list(small)[5:10]] == ["n5", "n6", "n7", "n8", "n9"]
    assert fresh.list(small).frags(5, 10) == db.list(small).frags(5, 10)

    cached.write_bytes(key + b"\n" + head + b"\n" + orjson.dumps(saved))  # planted again, then a write to that segment
    fresh = Storage(db.data_dir)
    ids = [r.id for r in db.list(small)]
    with fresh.transaction("t_seg") as tx:
        tx.update(small, ids[6], {"title": "six"})
    assert [r.title for r in Storage(db.data_dir).list(small)[5:10]] == ["n5", "six", "n7", "n8", "n9"]


def test_the_fingerprint_of_a_model_is_the_same_in_every_process(tmp_path):
    """Whether a segment's records were validated by this model is kept across restarts, so
    its fingerprint may not depend on addresses or hash seeds."""
    import subprocess
    import sys

    code = ("from app.core_gov.storage.segments import _schema\nfrom tests.storage.models import small\n"
            "from app.core_gov.deals.schemas import Deal\nprint(_schema(small.model), _schema(Deal))")
    root = Path(__file__).resolve().parents[2]
    runs = {subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root / "backend")}).stdout for seed in ("1", "2", "3")}
    assert len(runs) == 1 and len(runs.pop().split()) == 2


def test_a_figure_of_stored_columns_after_a_restart_reads_no_full_segment(db, parsed):
    def total(cols):
        return sum(cols.values["count"])

    assert sum(per_segment(db.list(small), total, ("count",))) == sum(i % 4 for i in range(23))
    fresh = Storage(db.data_dir)
    parsed.clear()
    assert sum(per_segment(fresh.list(small), total, ("count",))) == sum(i % 4 for i in range(23))
    assert parsed == [LAST]


def test_a_large_transaction_keeps_one_staged_segment_in_memory(tmp_path):
    """A bulk add spools each full segment it fills until the commit copies it into place."""
    db = Storage(tmp_path / "data")
    with db.transaction("t_seg") as tx:
        for i in range(23):
            tx.add(small, {"title": f"n{i}", "count": i % 4})
        staged = tx.list(small).segs
        assert [seg.resident for seg in staged] == [False, False, False, False, True]
        assert [r.title for r in tx.list(small)[3:7]] == ["n3", "n4", "n5", "n6"]  # read back from the spool
        tx.update(small, tx.list(small)[6].id, {"title": "six"})  # a spooled segment changed again
        tx.add_many(small, [{"title": "m0", "body": "", "count": 0, "tags": []}] * 4)
    on_disk = [r.title for r in Storage(db.data_dir).list(small)]
    assert on_disk == [f"n{i}" for i in range(6)] + ["six"] + [f"n{i}" for i in range(7, 23)] + ["m0"] * 4
    assert [r.title for r in db.list(small)] == on_disk


def test_a_failed_large_transaction_writes_nothing(tmp_path):
    db = Storage(tmp_path / "data")
    with pytest.raises(RuntimeError):
        with db.transaction("t_seg") as tx:
            for i in range(12):
                tx.add(small, {"title": f"n{i}"})
            raise RuntimeError("the body fails after spooling two segments")
    assert not (db.data_dir / "t_seg").exists() or not list((db.data_dir / "t_seg").glob("items*.json"))
    assert len(db.list(small)) == 0


def test_a_record_changed_by_hand_after_it_was_let_go_is_checked_before_it_is_answered(db):
    fresh = Storage(db.data_dir)
    fresh.resident.budget = 1
    records = fresh.list(small)
    assert [r.title for r in records[0:5]] == [f"n{i}" for i in range(5)]  # the first segment checked
    records[22]  # and let go
    path = db.data_dir / FULL[0]
    path.write_bytes(path.read_bytes().replace(b'"count": 1', b'"count": "lots"'))  # same ids, a bad value
    with pytest.raises(StoreCorrupt, match="count"):
        records.frags(0, 5)


@given(ops=st.lists(st.tuples(st.sampled_from(["add", "remove", "find"]), st.text("abcz", min_size=1, max_size=3)), max_size=40))
def test_a_segment_finds_each_id_where_it_is_as_ids_come_and_go(ops):
    """Ids are looked up by range first (the lowest and highest id of the segment), then by index."""
    seg = formats.Seg(1, "t/items.json", [], [], [])
    for op, rid in ops:
        if op == "add" and rid not in seg.ids:
            seg.ids.append(rid)
            seg.frags.append(b"{}")
            seg.models.append(None)
            seg.added(rid)
        elif op == "remove" and rid in seg.ids:
            seg.remove(seg.ids.index(rid))
        assert seg.position(rid) == (seg.ids.index(rid) if rid in seg.ids else None)


@given(frags=st.lists(st.binary(max_size=12), max_size=8))
def test_where_each_record_starts_is_where_the_store_writes_it(frags):
    data = b"".join(files.join_array(frags))
    spans = formats.spans_of(frags)
    assert len(spans) == len(frags) + 1
    assert formats.cut(data, spans) == frags if frags else data == b"[]\n"
    assert not frags or spans[-1] == len(data) - 1


@pytest.fixture
def unpacked(monkeypatch) -> list[str]:
    """The segments whose ids were read from their sidecars from here on."""
    seen: list[str] = []
    real = SegmentFiles._unpack

    def spy(self, part, key, seg):
        seen.append(part.relpath)
        return real(self, part, key, seg)

    monkeypatch.setattr(SegmentFiles, "_unpack", spy)
    return seen


def test_a_write_after_a_restart_reads_the_ids_of_the_one_segment_it_changes(tmp_path, monkeypatch, parsed, unpacked):
    """Each full segment's count and lowest and highest id head its sidecar: a lookup after a
    restart rules the other segments out by those alone (ids made a millisecond apart here:
    within one millisecond their order is random, and neighbouring segments may overlap)."""
    clock = iter(range(10**15, 10**16, 10**6))
    monkeypatch.setattr(ids_module, "time", type("Clock", (), {"time_ns": staticmethod(lambda: next(clock))}))
    db = Storage(tmp_path / "data")
    with db.transaction("t_seg") as tx:
        for i in range(23):
            tx.add(small, {"title": f"n{i}"})
    ids = [r.id for r in db.list(small)]
    Storage(db.data_dir).check(small)
    parsed.clear()

    fresh = Storage(db.data_dir)
    with fresh.transaction("t_seg") as tx:
        tx.update(small, ids[12], {"title": "twelve"})
    assert unpacked == [FULL[2]] and parsed == [LAST]  # the segment changed is read whole, cut where its records start
    assert fresh.get(small, ids[3]).title == "n3" and unpacked == [FULL[2], FULL[0]]
    assert [r.title for r in Storage(db.data_dir).list(small)][11:14] == ["n11", "twelve", "n13"]


def _sidecar_heads_read(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = sidecar.read

    def spy(data_dir, rel, kind, key, *, body=False):
        if kind == "ids" and not body:
            seen.append(rel)
        return real(data_dir, rel, kind, key, body=body)

    monkeypatch.setattr(sidecar, "read", spy)
    return seen


def test_a_restart_opens_one_summary_not_a_sidecar_per_segment(tmp_path, monkeypatch):
    """Once enough segments were made without it, a collection's segment heads are summed up in
    one sidecar; an entry whose file changed since is not used (that segment's own sidecar, or
    its file, is read instead), and a hand edit is seen."""
    db = Storage(tmp_path / "data")
    with db.transaction("t_seg") as tx:
        for i in range(5 * SUMMARY_AFTER + 2):
            tx.add(small, {"title": f"n{i}"})
    ids = [r.id for r in db.list(small)]
    Storage(db.data_dir).list(small)  # a first start: every head read alone, then summed up
    summary = db.data_dir / ".cache" / "t_seg" / "items.json.heads"
    assert len(orjson.loads(summary.read_bytes().split(b"\n")[1])) == SUMMARY_AFTER

    heads = _sidecar_heads_read(monkeypatch)
    fresh = Storage(db.data_dir)
    last = ["t_seg/items.000017.json"]  # not full: it keeps no sidecar, and is parsed
    assert [r.title for r in fresh.list(small)][40:42] == ["n40", "n41"] and heads == last

    path = db.data_dir / "t_seg" / "items.000003.json"
    path.write_bytes(path.read_bytes().replace(b'"title": "n12"', b'"title": "by hand"'))
    again = Storage(db.data_dir)
    assert again.get(small, ids[12]).title == "by hand" and heads == last + ["t_seg/items.000003.json"] + last
    with again.transaction("t_seg") as tx:
        tx.update(small, ids[13], {"title": "thirteen"})
    assert [r.title for r in Storage(db.data_dir).list(small)][12:14] == ["by hand", "thirteen"]


def test_a_torn_summary_is_ignored(tmp_path):
    db = Storage(tmp_path / "data")
    with db.transaction("t_seg") as tx:
        for i in range(5 * SUMMARY_AFTER + 2):
            tx.add(small, {"title": f"n{i}"})
    Storage(db.data_dir).list(small)
    summary = db.data_dir / ".cache" / "t_seg" / "items.json.heads"
    summary.write_bytes(summary.read_bytes()[:-40])
    assert [r.title for r in Storage(db.data_dir).list(small)] == [f"n{i}" for i in range(5 * SUMMARY_AFTER + 2)]


def test_a_start_prepares_the_collections_large_enough_to_be_summed_up(tmp_path, monkeypatch):
    """`valhalla serve` prepares each summed-up collection before the first request: that
    request then makes no segment from disk but the one it changes (read whole to write it)."""
    db = Storage(tmp_path / "data")
    with db.transaction("t_seg") as tx:
        for i in range(5 * SUMMARY_AFTER + 2):
            tx.add(small, {"title": f"n{i}"})
    with db.transaction("t_notes") as tx:
        tx.add(notes, {"title": "a small collection"})
    ids = [r.id for r in db.list(small)]
    Storage(db.data_dir).list(small)

    fresh = Storage(db.data_dir)
    fresh.prepare()
    assert list(fresh._views) == [small]  # a collection of one segment is left to its first read
    made = []
    monkeypatch.setattr(fresh.segments, "from_sidecar", lambda part, key: made.append(part.number))
    with fresh.transaction("t_seg") as tx:
        tx.update(small, ids[30], {"title": "thirty"})
    assert made == [] and Storage(db.data_dir).get(small, ids[30]).title == "thirty"


def test_a_segment_changed_by_commits_in_a_row_keeps_its_sidecar_once_a_second(db, parsed):
    """Patches under load do not rewrite a segment's sidecar per commit: a sidecar left behind
    describes an older file, is not used, and that segment is read from its file."""
    ids = [r.id for r in db.list(small)]
    now = [1e9]  # long after the fixture's commits
    db._monotonic = lambda: now[0]
    cached = db.data_dir / ".cache" / f"{FULL[1]}.ids"
    kept = lambda: orjson.loads(cached.read_bytes().split(b"\n")[0])  # noqa: E731  (the stat key it describes)
    key = lambda: list(files.stat_key(db.data_dir / FULL[1]))  # noqa: E731
    for title in ("a", "b", "c"):
        with db.transaction("t_seg") as tx:
            tx.update(small, ids[6], {"title": title})
        if title == "a":
            assert kept() == key()  # kept at once: none was kept lately
    assert kept() != key()  # the two after it waited
    parsed.clear()
    assert Storage(db.data_dir).get(small, ids[6]).title == "c" and parsed == [FULL[1], LAST]

    now[0] += KEEP_EVERY
    with db.transaction("t_seg") as tx:
        tx.update(small, ids[1], {"title": "another segment"})  # a commit after the time keeps what waited
    assert kept() == key()
    parsed.clear()
    assert Storage(db.data_dir).get(small, ids[6]).title == "c" and parsed == [LAST]
