"""A collection on disk is a series of segment files in creation order: ``deals.json`` holds the
first ``segment_size`` records, then ``deals.000002.json``, ``deals.000003.json``, ... A create
appends to the last segment (a new one once it is full) and an update or delete rewrites the
one segment holding the record, so a write costs the size of a segment, not of the collection.
Small collections are one file, as a person expects.

In memory each segment keeps its records serialised (``formats.Seg``); ``Records`` is the
read-only sequence modules see, making models only for the records a read touches.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, TypeVar, overload

import orjson
import pydantic_core

from . import commit, files
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
    """The segment numbers of ``d`` among a folder's file names, ascending."""
    pattern = re.compile(rf"^{re.escape(d.name)}\.(\d{{6}})\.json$")
    found = sorted(int(m.group(1)) for name in names if (m := pattern.match(name)) and int(m.group(1)) > 1)
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


class Records(Sequence[R]):
    """A collection's records in creation order, as of one moment. Indexing and slicing make
    models only for the records returned; ``frags`` gives their serialised JSON instead."""

    def __init__(self, model: type[R], segs: Sequence[Seg], warm: Warm | None):
        self.model = model
        self.segs = tuple(segs)
        self._warm = warm
        starts, total = [], 0
        for seg in self.segs:
            starts.append(total)
            total += len(seg)
        self._starts = starts
        self._len = total

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
        seg.check(self.model, j, j + 1)
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
            rec = models[j] = self.model.model_validate_json(seg.frags[j])
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
            seg.check(self.model, j, j + take)  # never answer a record that was not validated
            out += seg.frags[j : j + take]
            i += take
        return out

    def pairs(self) -> Iterator[tuple[Seg, int]]:
        """(segment, position) of every record, in order."""
        for seg in self.segs:
            for j in range(len(seg)):
                yield seg, j

    def locate(self, record_id: str) -> tuple[Seg, int] | None:
        for seg in reversed(self.segs):  # recent records are looked up most
            pos = seg.position(record_id)
            if pos is not None:
                return seg, pos
        return None

    def find(self, record_id: str) -> R | None:
        found = self.locate(record_id)
        return None if found is None else self._model(*found)


class Selection(Records[R]):
    """Some records of a collection, in creation order; reads like ``Records``."""

    def __init__(self, parent: Records[R], picks: list[tuple[Seg, int]]):
        self.model = parent.model
        self._warm = parent._warm
        self.segs = parent.segs
        self._picks = picks
        self._len = len(picks)

    def __getitem__(self, i: int | slice) -> R | list[R]:  # type: ignore[override]
        if isinstance(i, slice):
            return [self._model(*p) for p in self._picks[i]]
        return self._model(*self._picks[i])

    def __iter__(self) -> Iterator[R]:
        for seg, j in self._picks:
            yield self._model(seg, j)

    def pairs(self) -> Iterator[tuple[Seg, int]]:
        return iter(self._picks)

    def frags(self, start: int = 0, stop: int | None = None) -> list[bytes]:
        out = []
        for seg, j in self._picks[start:stop]:
            seg.check(self.model, j, j + 1)
            out.append(seg.frags[j])
        return out


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def select(records: Sequence[T], filters: dict[str, Any]) -> Sequence[T]:
    """The records matching every filter that is set (see ``matches``); with none set, the same
    sequence, so an unfiltered page of a large collection does not walk it. On a collection,
    the stored JSON of each record is searched for the wanted values first, so only candidates
    are parsed and no model is made."""
    wanted = {k: v for k, v in filters.items() if v is not None}
    if not wanted:
        return records
    if not isinstance(records, Records) or isinstance(records, Selection):
        return [r for r in records if matches(r, wanted)]
    fields = records.model.model_fields
    plain = {(fields[k].serialization_alias or fields[k].alias or k) if k in fields else k: pydantic_core.to_jsonable_python(v) for k, v in wanted.items()}
    needles = [orjson.dumps(v) for v in plain.values() if _scalar(v)]  # a field's value or a list's item
    picks = [
        (seg, j) for seg, j in records.pairs()
        if all(n in seg.frags[j] for n in needles) and _json_matches(orjson.loads(seg.frags[j]), plain)
    ]
    return Selection(records, picks)  # type: ignore[return-value]


def search(records: Sequence[T], text: str, fields: tuple[str, ...], *, whole: bool = False) -> Sequence[T]:
    """The records where one of ``fields`` (text) contains ``text``, or equals it with
    ``whole``, ignoring case. On a collection the stored JSON is searched first (for ASCII text)
    and only candidates are parsed."""
    key = text.casefold()

    def hit(values: list[Any]) -> bool:
        return any(isinstance(v, str) and (v.casefold() == key if whole else key in v.casefold()) for v in values)

    if not isinstance(records, Records):
        return [r for r in records if hit([getattr(r, f) for f in fields])]
    quick = re.compile(re.escape(text.encode()), re.IGNORECASE) if text.isascii() else None
    picks = [
        (seg, j) for seg, j in records.pairs()
        if (quick is None or quick.search(seg.frags[j])) and hit([orjson.loads(seg.frags[j]).get(f) for f in fields])
    ]
    return Selection(records, picks)  # type: ignore[return-value]


def _json_matches(raw: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for name, value in wanted.items():
        have = raw.get(name)
        if not (value in have if isinstance(have, list) else have == value):
            return False
    return True
