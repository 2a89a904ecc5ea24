"""A collection on disk is a series of segment files in creation order: ``deals.json`` holds the
first ``segment_size`` records, then ``deals.000002.json``, ``deals.000003.json``, ... A create
appends to the last segment (a new one once it is full) and an update or delete rewrites the
one segment holding the record, so a write costs the size of a segment, not of the collection.
Small collections are one file, as a person expects.

In memory the recently used segments keep their records serialised (``formats.Seg``), the others
their ids, record positions and indexes (``Resident``); ``Records`` is the read-only sequence
modules see, making models only for the records a read touches.
"""

from __future__ import annotations

import bisect
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar, overload

import orjson
import pydantic_core

from . import commit, files, sidecar
from .formats import Seg
from .records import Collection, Record, matches

R = TypeVar("R", bound=Record)
T = TypeVar("T")


def segment_filename(d: Collection, number: int) -> str:
    return f"{d.name}.json" if number == 1 else f"{d.name}.{number:06d}.json"


def split_oversized(data_dir: Path, size: int = Collection.segment_size) -> list[str]:
    """Lay out collections written before segments existed (one array file, any length) as
    segments of ``size`` records; every module's files change in one commit. A file counts as
    a collection when it is a JSON array of objects with ids. Returns what was split."""
    done = []
    for module in sorted(os.listdir(data_dir)):
        folder = data_dir / module
        if not folder.is_dir() or not module.isidentifier():
            continue
        replaces: list[tuple[str, Iterable[bytes]]] = []
        for name in sorted(os.listdir(folder)):
            stem = name[: -len(".json")]
            if not name.endswith(".json") or "." in stem or name.startswith(".") or f"{stem}.000002.json" in os.listdir(folder):
                continue
            rows = orjson.loads((folder / name).read_bytes())
            if not (isinstance(rows, list) and len(rows) > size and all(isinstance(r, dict) and "id" in r for r in rows)):
                continue
            for start in range(0, len(rows), size):
                number = start // size + 1
                target = name if number == 1 else f"{stem}.{number:06d}.json"
                replaces.append((f"{module}/{target}", files.join_array([files.array_item(r) for r in rows[start : start + size]])))
            done.append(f"split {module}/{name} ({len(rows)} records) into {-(-len(rows) // size)} segment files")
        commit.write(data_dir, replaces, [])
    return done


def segment_numbers(d: Collection, names: Sequence[str]) -> list[int]:
    """The segment numbers of ``d`` among a folder's file names (``name.000002.json``, ...), ascending."""
    prefix, width = f"{d.name}.", len(d.name) + 1
    found = sorted(
        n for name in names
        if len(name) == width + 11 and name.startswith(prefix) and name.endswith(".json") and name[width : width + 6].isascii() and name[width : width + 6].isdigit() and (n := int(name[width : width + 6])) > 1
    )
    return ([1] if f"{d.name}.json" in names else []) + found


class Warm:
    """Which segments keep their validated models: the most recently used, up to ``budget``
    records in all. Colder segments keep only their bytes and re-make models on access."""

    def __init__(self, budget: int):
        self.budget = budget
        self._segs: OrderedDict[int, Seg] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def touch(self, seg: Seg) -> None:
        with self._lock:
            key = id(seg)
            if key in self._segs:
                self._segs.move_to_end(key)
                return
            self._segs[key] = seg
            self._held += len(seg)
            while self._held > self.budget and len(self._segs) > 1:
                _, cold = self._segs.popitem(last=False)
                self._held -= len(cold)
                cold.models = None


class Resident:
    """Which segments keep their serialised records in memory: the most recently used, up to
    ``budget`` bytes of segment files in all. The others keep their ids and indexes and read
    their records from the file again when asked (``Seg.release``), so memory does not grow
    with the collection."""

    def __init__(self, budget: int):
        self.budget = budget
        self._segs: OrderedDict[int, tuple[Seg, int]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def touch(self, seg: Seg, size: int) -> None:
        with self._lock:
            key = id(seg)
            if key in self._segs:
                self._segs.move_to_end(key)
                return
            self._segs[key] = (seg, size)
            self._held += size
            while self._held > self.budget and len(self._segs) > 1:
                _, (cold, cold_size) = self._segs.popitem(last=False)
                self._held -= cold_size
                cold.release()


class Records(Sequence[R]):
    """A collection's records in creation order, as of one moment. Indexing and slicing make
    models only for the records returned; ``frags`` gives their serialised JSON instead."""

    def __init__(self, model: type[R], segs: Sequence[Seg], warm: Warm | None):
        self.model = model
        self.segs = tuple(segs)
        self._warm = warm
        starts = list(accumulate(map(len, self.segs), initial=0))
        self._starts = starts[:-1]
        self._len = starts[-1]

    def __len__(self) -> int:
        return self._len

    def _locate(self, i: int) -> tuple[Seg, int]:
        lo, hi = 0, len(self._starts) - 1
        while lo < hi:  # the last segment starting at or before i
            mid = (lo + hi + 1) // 2
            if self._starts[mid] <= i:
                lo = mid
            else:
                hi = mid - 1
        return self.segs[lo], i - self._starts[lo]

    def _model(self, seg: Seg, j: int) -> R:
        models = seg.models
        if models is None:
            models = [None] * len(seg)
            if self._warm is not None:
                seg.models = models
                self._warm.touch(seg)
        elif self._warm is not None:
            self._warm.touch(seg)
        rec = models[j]
        if rec is None:
            frag = seg.check(self.model, j, j + 1)[0]  # keeps the model it makes in seg.models
            rec = models[j]
            if rec is None:
                rec = models[j] = self.model.model_validate_json(frag)
        return rec  # type: ignore[return-value]

    @overload
    def __getitem__(self, i: int) -> R: ...
    @overload
    def __getitem__(self, i: slice) -> list[R]: ...

    def __getitem__(self, i: int | slice) -> R | list[R]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        return self._model(*self._locate(i))

    def __iter__(self) -> Iterator[R]:
        for seg in self.segs:
            for j in range(len(seg)):
                yield self._model(seg, j)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and all(a == b for a, b in zip(self, other))

    def frags(self, start: int = 0, stop: int | None = None) -> list[bytes]:
        """The serialised records in [start, stop), without making models."""
        stop = self._len if stop is None else min(stop, self._len)
        out: list[bytes] = []
        i = max(0, start)
        while i < stop:
            seg, j = self._locate(i)
            take = min(len(seg) - j, stop - i)
            out += seg.check(self.model, j, j + take)  # never answer a record that was not validated
            i += take
        return out

    def pairs(self) -> Iterator[tuple[Seg, int]]:
        """(segment, position) of every record, in order."""
        for seg in self.segs:
            for j in range(len(seg)):
                yield seg, j

    def locate(self, record_id: str) -> tuple[Seg, int] | None:
        found = self.where(record_id)
        return None if found is None else (self.segs[found[0]], found[1])

    def where(self, record_id: str) -> tuple[int, int] | None:
        """(which segment, position in it) of a record, or None."""
        segs = self.segs
        for i in range(len(segs) - 1, -1, -1):  # recent records are looked up most
            pos = segs[i].position(record_id)
            if pos is not None:
                return i, pos
        return None

    def at(self, i: int, pos: int) -> R:
        """The record at ``where`` says."""
        return self._model(self.segs[i], pos)

    def find(self, record_id: str) -> R | None:
        found = self.locate(record_id)
        return None if found is None else self._model(*found)


class Selection(Records[R]):
    """Some records of a collection, in creation order; reads like ``Records``. Held as one
    bitmap per segment (bit j: the segment's record j), so its length costs a bit count and a
    page only the records it answers."""

    def __init__(self, parent: Records[R], bitmaps: list[int]):
        self.model = parent.model
        self._warm = parent._warm
        self.segs = parent.segs
        self._bitmaps = bitmaps
        self._counts = [b.bit_count() for b in bitmaps]
        self._len = sum(self._counts)

    def _picks(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[Seg, int]]:
        """(segment, position) of the picks in [start, stop)."""
        stop = self._len if stop is None else min(stop, self._len)
        skip, left = max(0, start), stop - max(0, start)
        for seg, bits, count in zip(self.segs, self._bitmaps, self._counts):
            if left <= 0:
                return
            if skip >= count:
                skip -= count
                continue
            while bits and left > 0:
                low = bits & -bits
                bits ^= low
                if skip:
                    skip -= 1
                    continue
                left -= 1
                yield seg, low.bit_length() - 1

    def __getitem__(self, i: int | slice) -> R | list[R]:  # type: ignore[override]
        if isinstance(i, slice):
            start, stop, step = i.indices(self._len)
            picks = list(self._picks(start, stop))
            return [self._model(*p) for p in (picks if step == 1 else list(self._picks())[i])]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        return self._model(*next(self._picks(i, i + 1)))

    def __iter__(self) -> Iterator[R]:
        for seg, j in self._picks():
            yield self._model(seg, j)

    def pairs(self) -> Iterator[tuple[Seg, int]]:
        return self._picks()

    def frags(self, start: int = 0, stop: int | None = None) -> list[bytes]:
        out = []
        for seg, j in self._picks(start, stop):
            out += seg.check(self.model, j, j + 1)
        return out


# ---------------------------------------------------------------------------- filters and search
#
# Each segment keeps, made the first time a filter or search asks, a bitmap per value of a
# field and a folded text of the searched fields (``Seg.derived``). A segment is never changed
# once cached (a write makes a new one), so these never go stale; a filtered list of a large
# collection then costs a few big-integer ANDs per segment, not a parse of every record.


def _columns(seg: Seg, names: list[str], model: type[Record]) -> list[list[Any]]:
    """Each named field's value for every record of the segment. Fields written as this store
    writes them (4 spaces in, one line) are read off the segment's bytes by one scan a field,
    many times faster than parsing each record; anything else (a list, a hand-edited layout)
    by parsing the record."""
    joined = b"\n".join(seg.frags)
    columns = []
    parsed: dict[int, dict[str, Any]] = {}
    for name in names:
        found = re.findall(b'\n    "' + re.escape(name.encode()) + b'": (.*?),?\n', joined)
        if len(found) == len(seg):
            values = {written: _value(written) for written in set(found)}
            column = [values[written] for written in found]
        else:
            column = [_UNREAD] * len(seg)
        for j, value in enumerate(column):
            if value is _UNREAD:
                if j not in parsed:
                    parsed[j] = _parsed(seg, j, model)
                column[j] = parsed[j][name] if name in parsed[j] else _default(model, name)
        columns.append(column)
    return columns


_UNREAD: Any = object()


def _value(written: bytes) -> Any:
    """A value as written on one line, or _UNREAD when it is not plain (a list, an object)."""
    if len(written) > 1 and written[:1] == b'"' and written[-1:] == b'"' and b"\\" not in written:
        return written[1:-1].decode()
    if written[:1] in (b"[", b"{") and written not in (b"[]", b"{}"):
        return _UNREAD
    try:
        return orjson.loads(written)
    except orjson.JSONDecodeError:
        return _UNREAD


def _default(model: type[Record], name: str) -> Any:
    """What a record written without the field holds (the model's default), as stored."""
    field = next((f for n, f in model.model_fields.items() if name in (n, f.alias, f.serialization_alias)), None)
    return None if field is None or field.is_required() else pydantic_core.to_jsonable_python(field.get_default(call_default_factory=True))


def _parsed(seg: Seg, j: int, model: type[Record]) -> dict[str, Any]:
    try:
        return orjson.loads(seg.frags[j])
    except orjson.JSONDecodeError:
        seg.check(model, j, j + 1)  # names the file and the record
        raise


# How each kind of index is kept in its sidecar (key and value as JSON) and taken back.
_KEPT: dict[str, tuple[Callable[[tuple, Any], Any], Callable[[Any], tuple[tuple, Any]]]] = {
    "values": (
        lambda k, index: [[k[1], k[2]], [[v, format(bits, "x")] for v, bits in index.items()]],
        lambda e: (("values", e[0][0], e[0][1]), {v: int(bits, 16) for v, bits in e[1]}),
    ),
    "text": (lambda k, text: [list(k[1]), list(text)], lambda e: (("text", tuple(e[0])), (e[1][0], e[1][1]))),
    "columns": (lambda k, column: [k[1], column], lambda e: (("columns", e[0]), list(e[1]))),
}


def _saved(seg: Seg, kind: str) -> None:
    """Take the indexes of a kind saved beside a full segment's file, once."""
    if seg.source is None or ("saved", kind) in seg.derived:
        return
    seg.derived[("saved", kind)] = True
    found: dict[Any, Any] = {}
    try:
        for entry in sidecar.read(seg.source[0], seg.rel, kind, seg.source[1]) or ():
            key, value = _KEPT[kind][1](entry)
            found[key] = value
    except (TypeError, ValueError, IndexError):
        return  # not a sidecar this store wrote: the indexes are made from the records
    seg.derived.update(found)


def _save(seg: Seg, kind: str) -> None:
    """Keep a full segment's indexes of a kind for the next start (``sidecar``)."""
    if seg.source is not None:
        keep = _KEPT[kind][0]
        sidecar.write(seg.source[0], seg.rel, kind, seg.source[1], [keep(k, v) for k, v in seg.derived.items() if k[0] == kind])


def _stored_columns(seg: Seg, names: tuple[str, ...], model: type[Record]) -> dict[str, list[Any]]:
    """Fields of every record of the segment as stored (JSON values), kept like the indexes."""
    _saved(seg, "columns")
    missing = [n for n in names if ("columns", n) not in seg.derived]
    if missing:
        for name, column in zip(missing, _columns(seg, missing, model)):
            seg.derived[("columns", name)] = column
        _save(seg, "columns")
    return {n: seg.derived[("columns", n)] for n in names}


def _bitmaps(seg: Seg, wanted: list[tuple[str, bool]], model: type[Record]) -> list[dict[Any, int]]:
    """For each (field, folded): value -> bitmap of the segment's records holding it (a list
    field: each of its items). Fields not indexed yet are indexed in one pass over the records."""
    _saved(seg, "values")
    missing = [w for w in wanted if ("values", *w) not in seg.derived]
    if missing:
        for (name, folded), column in zip(missing, _columns(seg, [name for name, _ in missing], model)):
            index: dict[Any, int] = {}
            for j, value in enumerate(column):
                for v in value if isinstance(value, list) else (value,):
                    if not isinstance(v, (dict, list)):
                        v = v.casefold() if folded and isinstance(v, str) else v
                        index[v] = index.get(v, 0) | 1 << j
            seg.derived[("values", name, folded)] = index
        _save(seg, "values")
    return [seg.derived[("values", *w)] for w in wanted]


def _text(seg: Seg, fields: tuple[str, ...], model: type[Record]) -> tuple[str, list[int]]:
    """The segment's searched fields, folded, one line a record (fields apart by \\x1f), and
    where each line starts."""
    key = ("text", fields)
    _saved(seg, "text")
    if key not in seg.derived:
        lines = ["\x1f".join(v.casefold() for v in row if isinstance(v, str)) for row in zip(*_columns(seg, list(fields), model))]
        starts, at = [], 0
        for line in lines:
            starts.append(at)
            at += len(line) + 1
        seg.derived[key] = ("\n".join(lines), starts)
        _save(seg, "text")
    return seg.derived[key]


def _found_in(seg: Seg, fields: tuple[str, ...], needle: str, model: type[Record]) -> int:
    text, starts = _text(seg, fields, model)
    bits, i = 0, text.find(needle)
    while i >= 0:
        j = bisect.bisect_right(starts, i) - 1
        bits |= 1 << j
        i = text.find(needle, starts[j + 1]) if j + 1 < len(starts) else -1
    return bits


_UNMADE: Any = object()


@dataclass(frozen=True)
class Columns:
    """Some fields of a run of records as stored (JSON values: an enum is its value, a time its
    text), by field name, and the records' ids."""

    ids: Sequence[str]
    values: dict[str, list[Any]]

    @classmethod
    def of(cls, records: Iterable[Record], names: tuple[str, ...]) -> "Columns":
        records = list(records)
        return cls([r.id for r in records], {n: [pydantic_core.to_jsonable_python(getattr(r, n)) for r in records] for n in names})


def per_segment(records: Sequence[T], make: Callable[[Any], Any], fields: tuple[str, ...] | None = None) -> list[Any]:
    """``make`` of each segment's records, kept on the segment, so a figure over a large
    collection (totals by stage, say) is made again only for the segments a write changed.
    With ``fields``, ``make`` is given those fields as ``Columns`` instead, read off the stored
    bytes without making a model and kept beside a full segment's file for the next start."""
    if not isinstance(records, Records) or isinstance(records, Selection):
        return [make(records if fields is None else Columns.of(records, fields))]
    out = []
    for seg in records.segs:
        value = seg.derived.get(("per_segment", make), _UNMADE)
        if value is _UNMADE:
            made = Records(records.model, [seg], records._warm) if fields is None else Columns(seg.ids, _stored_columns(seg, fields, records.model))
            value = seg.derived[("per_segment", make)] = make(made)
        out.append(value)
    return out


def _bitmaps_of(records: Records) -> list[int]:
    if isinstance(records, Selection):
        return records._bitmaps
    return [(1 << len(seg)) - 1 for seg in records.segs]


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def select(records: Sequence[T], filters: dict[str, Any]) -> Sequence[T]:
    """The records matching every filter that is set (see ``matches``); with none set, the same
    sequence, so an unfiltered page of a large collection does not walk it. On a collection the
    per-segment value bitmaps answer it, and no record is parsed or made a model."""
    wanted = {k: v for k, v in filters.items() if v is not None}
    if not wanted:
        return records
    if not isinstance(records, Records):
        return [r for r in records if matches(r, wanted)]
    fields = records.model.model_fields
    plain = {(fields[k].serialization_alias or fields[k].alias or k) if k in fields else k: pydantic_core.to_jsonable_python(v) for k, v in wanted.items()}
    if not all(_plain(v) for v in plain.values()):
        return [r for r in records if matches(r, wanted)]  # type: ignore[return-value]
    keys = [(name, False) for name in plain]
    values = list(plain.values())
    out = []
    for seg, bits in zip(records.segs, _bitmaps_of(records)):
        for index, value in zip(_bitmaps(seg, keys, records.model), values):
            bits &= index.get(value, 0)
            if not bits:
                break
        out.append(bits)
    return Selection(records, out)  # type: ignore[return-value]


def search(records: Sequence[T], text: str, fields: tuple[str, ...], *, whole: bool = False) -> Sequence[T]:
    """The records where one of ``fields`` (text) contains ``text``, or equals it with
    ``whole``, ignoring case. On a collection the per-segment folded text (or, with ``whole``,
    value bitmaps) answers it."""
    key = text.casefold()

    def hit(values: list[Any]) -> bool:
        return any(isinstance(v, str) and (v.casefold() == key if whole else key in v.casefold()) for v in values)

    if not isinstance(records, Records) or "\n" in key or "\x1f" in key:
        return [r for r in records if hit([getattr(r, f) for f in fields])]
    out = []
    for seg, bits in zip(records.segs, _bitmaps_of(records)):
        if bits:
            if whole:
                found = 0
                for index in _bitmaps(seg, [(f, True) for f in fields], records.model):
                    found |= index.get(key, 0)
            else:
                found = _found_in(seg, fields, key, records.model)
            bits &= found
        out.append(bits)
    return Selection(records, out)  # type: ignore[return-value]
