"""Filters, text search and pages of a segmented collection, answered from per-segment indexes,
must give exactly what a plain walk over the records gives; and the layout fast paths
(segments cut without parsing, older segments statted once a sweep) must never hide a change."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core_gov.errors import StoreCorrupt
from app.core_gov.storage import Storage, per_segment, search, select
from app.core_gov.storage import engine as engine_module

from app.core_gov.offers.store import policies as seeded

from .models import small

WORDS = ["Maple", "maple", "Élan", "élan", "Oak", "oak st", "Ünder", "x,y", 'say "hi"', "back\\slash", ""]

records = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS), st.integers(0, 3), st.lists(st.sampled_from(["a", "b", "c"]), max_size=2)),
    max_size=23,
)


def _fill(db: Storage, rows) -> None:
    with db.transaction("t_seg") as tx:
        for title, body, count, tags in rows:
            tx.add(small, {"title": title, "body": body, "count": count, "tags": tags})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=records, title=st.sampled_from([None, *WORDS]), count=st.sampled_from([None, 0, 2]), tag=st.sampled_from([None, "a", "c"]),
       text=st.sampled_from(["map", "MAPLE", "élan", "ÉLAN", "st", ",", '"h', "\\", "zzz"]), whole=st.booleans(),
       offset=st.integers(0, 12), limit=st.integers(1, 7))
def test_indexed_answers_equal_a_walk_over_the_records(tmp_path_factory, rows, title, count, tag, text, whole, offset, limit):
    db = Storage(tmp_path_factory.mktemp("idx"))
    _fill(db, rows)
    models = list(db.list(small))
    assert len(db.list(small).segs) == -(-len(rows) // 5)  # several segments of 5

    filters = {"title": title, "count": count, "tags": tag}
    picked = select(db.list(small), filters)
    walked = [m for m in models if (title is None or m.title == title) and (count is None or m.count == count) and (tag is None or tag in m.tags)]
    assert [m.id for m in picked] == [m.id for m in walked]
    assert len(picked) == len(walked)

    found = search(picked, text, ("title", "body"), whole=whole)
    key = text.casefold()
    expected = [m for m in walked if any(v.casefold() == key if whole else key in v.casefold() for v in (m.title, m.body))]
    assert [m.id for m in found] == [m.id for m in expected]
    page = expected[offset : offset + limit]
    assert [m.id for m in found[offset : offset + limit]] == [m.id for m in page]
    assert found.frags(offset, offset + limit) == [db.raw(small, m.id) for m in page]


def test_a_title_filter_uses_the_written_value_and_sees_a_hand_edit(db):
    _fill(db, [(f"t{i}", "", i % 3, []) for i in range(12)])
    assert len(select(db.list(small), {"title": "t7"})) == 1
    path = db.data_dir / "t_seg" / "items.000002.json"
    path.write_bytes(path.read_bytes().replace(b'"title": "t7"', b'"title": "seven"'))
    assert [m.title for m in select(db.list(small), {"title": "seven"})] == ["seven"]
    assert len(select(db.list(small), {"title": "t7"})) == 0


def test_a_record_broken_by_hand_is_503_from_a_filter_not_500(db):
    _fill(db, [(f"t{i}", "", 0, []) for i in range(7)])
    path = db.data_dir / "t_seg" / "items.000002.json"
    path.write_bytes(path.read_bytes().replace(b'"body": ""', b'"body": "', 1))
    fresh = Storage(db.data_dir)
    with pytest.raises(StoreCorrupt) as exc:
        list(select(fresh.list(small), {"body": "x"}))
    assert exc.value.file == "t_seg/items.000002.json" and exc.value.position.startswith("record 1")


def test_a_hand_laid_out_segment_is_parsed_whole(db):
    """A file not laid out as the store writes it (one line, an id with an escape) is read the
    slow way and answers the same."""
    _fill(db, [("a", "", 0, []), ("b", "", 1, [])])
    path = db.data_dir / "t_seg" / "items.json"
    one_line = b"[" + b",".join(
        b'{"id": "%s", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "version": 1, "title": "%s"}' % (i, t)
        for i, t in ((b"sg_one", b"a"), (b"sg_tw\\u006f", b"b"))
    ) + b"]\n"
    path.write_bytes(one_line)
    fresh = Storage(db.data_dir)
    assert [m.id for m in fresh.list(small)] == ["sg_one", "sg_two"]
    assert [m.id for m in select(fresh.list(small), {"title": "b"})] == ["sg_two"]


def test_older_segments_of_a_large_collection_are_statted_once_a_sweep(db, monkeypatch):
    monkeypatch.setattr(engine_module, "ALWAYS_STATTED", 2)
    _fill(db, [(f"t{i}", "", 0, []) for i in range(20)])  # 4 segments
    now = [100.0]
    db._monotonic = lambda: now[0]
    assert db.list(small)[6].title == "t6"
    middle = db.data_dir / "t_seg" / "items.000002.json"
    stat = middle.stat()
    middle.write_bytes(middle.read_bytes().replace(b'"title": "t6"', b'"title": "T6"'))  # in place: same inode
    os.utime(middle, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert db.list(small)[6].title == "t6"  # not statted again within the sweep
    now[0] += engine_module.SWEEP_SECONDS
    assert db.list(small)[6].title == "T6"  # seen at the next sweep


def test_a_write_by_another_process_is_seen_at_once_however_large(db, monkeypatch):
    monkeypatch.setattr(engine_module, "ALWAYS_STATTED", 2)
    _fill(db, [(f"t{i}", "", 0, []) for i in range(20)])
    db._monotonic = lambda: 100.0  # the sweep never comes
    assert db.list(small)[6].title == "t6"
    other = Storage(db.data_dir)
    rid = db.list(small)[6].id
    with other.transaction("t_seg") as tx:
        tx.update(small, rid, {"title": "renamed"})
    os.utime(db.data_dir / "t_seg", ns=(0, 0))  # a folder change however close in time
    assert db.get(small, rid).title == "renamed"
    assert [m.title for m in select(db.list(small), {"title": "renamed"})] == ["renamed"]



def test_a_transaction_rereads_the_segment_it_changes_so_a_hand_edit_is_kept(db, monkeypatch):
    monkeypatch.setattr(engine_module, "ALWAYS_STATTED", 2)
    _fill(db, [(f"t{i}", "", 0, []) for i in range(20)])
    db._monotonic = lambda: 100.0  # the reads' sweep never comes
    first, second = db.list(small)[5].id, db.list(small)[6].id
    middle = db.data_dir / "t_seg" / "items.000002.json"
    stat = middle.stat()
    middle.write_bytes(middle.read_bytes().replace(b'"title": "t5"', b'"title": "by hand"'))
    os.utime(middle, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    with db.transaction("t_seg") as tx:
        assert tx.get(small, first).title == "by hand"
        tx.update(small, second, {"body": "patched"})
    written = middle.read_bytes()
    assert b'"title": "by hand"' in written and b'"body": "patched"' in written
    assert [db.get(small, first).title, db.get(small, second).body] == ["by hand", "patched"]


def test_a_seeded_row_is_changed_before_its_file_exists(db):
    """Offers' policies are answered from their seed until the first change writes the file."""
    path = db.data_dir / "offers" / "policies.json"
    assert not path.exists()
    with db.transaction("offers") as tx:
        assert tx.get(seeded, "op_bc_all").enabled
        tx.update(seeded, "op_bc_all", {"enabled": False})
    assert db.get(seeded, "op_bc_all").enabled is False
    assert len(db.list(seeded)) > 1 and b'"id": "op_bc_all"' in path.read_bytes()


def test_a_derived_value_is_kept_until_the_collection_changes(db):
    made = []

    def titles(records):
        made.append(1)
        return sorted(m.title for m in records)

    _fill(db, [("b", "", 0, []), ("a", "", 0, [])])
    assert db.derived(small, titles) == ["a", "b"] and db.derived(small, titles) == ["a", "b"]
    assert len(made) == 1  # kept while nothing changed
    with db.transaction("t_seg") as tx:
        tx.add(small, {"title": "c"})
        assert db.derived(small, titles) == ["a", "b", "c"]  # inside: made from the staged records
    assert db.derived(small, titles) == ["a", "b", "c"]
    path = db.data_dir / "t_seg" / "items.json"
    path.write_bytes(path.read_bytes().replace(b'"title": "c"', b'"title": "0"'))
    assert db.derived(small, titles) == ["0", "a", "b"]  # a hand edit is seen


def test_an_index_made_inside_a_transaction_does_not_outlive_a_later_change_in_it(db):
    _fill(db, [("a", "", 0, [])])
    with db.transaction("t_seg") as tx:
        tx.add(small, {"title": "b", "count": 1})
        assert len(select(tx.list(small), {"count": 1})) == 1  # indexes the staged segment
        tx.add(small, {"title": "c", "count": 1})
        assert len(select(tx.list(small), {"count": 1})) == 2
    assert [m.title for m in select(db.list(small), {"count": 1})] == ["b", "c"]
    assert [m.title for m in search(db.list(small), "c", ("title",))] == ["c"]


def test_a_figure_per_segment_is_made_again_only_for_the_segments_a_write_changed(db):
    made = []

    def count_sum(records):
        made.append(len(records))
        return sum(m.count for m in records)

    _fill(db, [(f"t{i}", "", i, []) for i in range(12)])  # segments of 5, 5 and 2
    assert sum(per_segment(db.list(small), count_sum)) == sum(range(12)) and made == [5, 5, 2]
    assert sum(per_segment(db.list(small), count_sum)) == sum(range(12)) and made == [5, 5, 2]  # kept
    with db.transaction("t_seg") as tx:
        tx.update(small, db.list(small)[6].id, {"count": 100})
    assert sum(per_segment(db.list(small), count_sum)) == sum(range(12)) - 6 + 100
    assert made == [5, 5, 2, 5]  # only the changed segment again


def test_a_figure_of_stored_columns_equals_one_of_the_records_and_reads_defaults(db):
    """per_segment with fields gives each segment's stored values without making models; a
    record written without a field (by hand, or before the field existed) reads its default."""
    _fill(db, [(f"t{i}", "", i, ["a"] if i % 2 else []) for i in range(12)])
    path = db.data_dir / "t_seg" / "items.000002.json"
    path.write_bytes(path.read_bytes().replace(b',\n    "count": 7', b"", 1))  # count's default is 0

    def figure(cols):
        return sorted(zip(cols.ids, cols.values["title"], cols.values["count"], cols.values["tags"]))

    by_columns = [row for part in per_segment(db.list(small), figure, ("title", "count", "tags")) for row in part]
    by_models = sorted((m.id, m.title, m.count, m.tags) for m in db.list(small))
    assert sorted(by_columns) == by_models
    assert ("t7", 0) in [(t, c) for _, t, c, _ in by_columns]
    inside = []
    with db.transaction("t_seg") as tx:  # a staged list is summed from its models
        inside = per_segment(tx.list(small), figure, ("title", "count", "tags"))
    assert sorted(row for part in inside for row in part) == by_models
