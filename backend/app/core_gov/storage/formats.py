"""Bytes on disk to values in memory, and back, for each kind of file; or StoreCorrupt naming
the file and the position. No I/O here.

A collection segment is held as ``Seg``: its records' ids and, while it is among the recently
used ones, each record's serialised form (the pretty array item written to disk, which is also
what an HTTP answer sends); otherwise they are read back from the file (``segments.py`` does
that I/O). Each record is validated the first time it is read; the models are kept only while
the segment is among the recently used ones (``Storage`` bounds how many), and re-made from the
bytes when needed.
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate
from operator import add
from typing import Any, Callable, Iterable, Iterator, Sequence

import orjson
from pydantic import BaseModel, ValidationError

from ..errors import StoreCorrupt
from . import files
from .records import BadText, Collection, Entry, Log, Record, Singleton, TextFile


class _NotRead:
    """The value of a cache entry whose file was not parsed (a log opened only to append)."""

    def __repr__(self) -> str:
        return "NOT_READ"


NOT_READ: Any = _NotRead()


# ---------------------------------------------------------------------------- positions


def decode_error(data: bytes, e: orjson.JSONDecodeError, first_line: int = 1) -> tuple[str, str]:
    """Where and why JSON did not parse. orjson reports invalid UTF-8 at the start of the
    document, so that case is located by decoding."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        line = data.count(b"\n", 0, bad.start) + first_line
        column = bad.start - data.rfind(b"\n", 0, bad.start)
        return f"line {line} column {column}", f"invalid UTF-8 byte 0x{data[bad.start]:02x}"
    return f"line {e.lineno + first_line - 1} column {e.colno}", e.msg


def validation_position(index: int | None, raw: Any, err: ValidationError) -> tuple[str, str]:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(record)"
    where = f"field {loc}"
    if index is not None:
        rid = raw.get("id") if isinstance(raw, dict) else None
        where = f"record {index + 1}" + (f" (id {rid})" if rid else "") + f", {where}"
    return where, first["msg"].removeprefix("Value error, ")


def parse_json(rel: str, data: bytes) -> Any:
    if not data.strip():
        raise StoreCorrupt(rel, "byte 0", "the file is empty; a missing file is read as empty, a zero-byte one is not")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise StoreCorrupt(rel, *decode_error(data, e)) from None


# ---------------------------------------------------------------------------- collections


class Seg:
    """One segment file of a collection: ids and serialised records in file order, and the
    validated models while the segment is recently used. A record is validated the first time
    it is read (``check``) and a whole segment before it is changed, so a hand-broken record
    is reported (503) before it could be served or overwritten. Never changed once cached: a
    transaction changes a copy."""

    __slots__ = ("number", "rel", "_ids", "_count", "_unpack", "_frags", "reread", "_spans", "read_span", "source", "models", "unchecked", "derived", "_index", "_bounds")

    def __init__(self, number: int, rel: str, ids: list[str], frags: list[bytes] | None, models: list[Record | None] | None = None, checked: bool = True):
        self.number = number
        self.rel = rel
        self._ids: list[str] | None = ids
        self._count = len(ids)
        # Set on a segment made from its count and bounds alone (``later``): reads its ids and
        # record positions when first needed.
        self._unpack: Callable[["Seg"], tuple[list[str], "array[int] | None"]] | None = None
        self._frags = frags
        # Set by the engine on a segment backed by an unchanged file: how to read its records
        # again after they were let go (``release``) or when it was made from its ids alone.
        self.reread: Callable[["Seg"], list[bytes]] | None = None
        # ``spans``, with ``read_span`` (set by the engine): a few records are read from the
        # file without reading all of it.
        self._spans: array[int] | None = None
        self.read_span: Callable[[int, int], bytes | None] | None = None
        # A full segment's data dir and its file's stat key: its ids and indexes are saved beside
        # the data (``sidecar``) for the next start, valid while the file keeps that key.
        self.source: tuple[Any, tuple[int, int, int]] | None = None
        self.models = models
        self.unchecked: bytearray | None = None if checked else bytearray(b"\x01") * len(ids)
        self.derived: dict[Any, Any] = {}  # indexes made from the records (collection.py); a copy starts without
        self._index: dict[str, int] | None = None
        self._bounds: tuple[str, str] | None = None  # the lowest and highest id

    @classmethod
    def later(cls, number: int, rel: str, count: int, bounds: tuple[str, str], checked: bool,
              unpack: Callable[["Seg"], tuple[list[str], "array[int] | None"]]) -> "Seg":
        """A segment of ``count`` records whose ids lie within ``bounds``, its ids and record
        positions read by ``unpack`` when first needed: a restart that looks one record up in a
        thousand segments reads the ids of one."""
        seg = cls(number, rel, [], None, checked=checked)
        seg._ids, seg._count, seg._bounds, seg._unpack = None, count, bounds, unpack
        if not checked:
            seg.unchecked = bytearray(b"\x01") * count
        return seg

    @property
    def ids(self) -> list[str]:
        ids = self._ids
        if ids is None:
            self._unpacked()
            ids = self._ids
        return ids  # type: ignore[return-value]

    @property
    def spans(self) -> "array[int] | None":
        """Where each record starts in the file (and where one more would), when the file is
        exactly the records joined as this store writes them."""
        if self._ids is None:
            self._unpacked()
        return self._spans

    @spans.setter
    def spans(self, spans: "array[int] | None") -> None:
        self._spans = spans

    def _unpacked(self) -> None:
        assert self._unpack is not None, f"{self.rel}: no ids and no way to read them"
        ids, spans = self._unpack(self)
        if len(ids) != self._count:
            raise AssertionError(f"{self.rel}: {len(ids)} ids where {self._count} were counted")
        self._spans, self._ids, self._unpack = spans, ids, None

    def __len__(self) -> int:
        ids = self._ids
        return self._count if ids is None else len(ids)

    @property
    def frags(self) -> list[bytes]:
        """The serialised records, read from the file again if they were let go."""
        frags = self._frags
        if frags is None:
            assert self.reread is not None, f"{self.rel}: records let go without a way to read them again"
            frags = self._frags = self.reread(self)
        return frags

    def items(self, start: int, stop: int) -> list[bytes]:
        """The serialised records in [start, stop): from memory, else only their bytes from the
        file (one read) while it is unchanged, else the whole file again."""
        frags, spans = self._frags, self.spans
        if frags is None and spans is not None and self.read_span is not None and start < stop:
            base = spans[start]
            data = self.read_span(base, spans[stop] - 2)
            if data is not None:
                found = [data[spans[i] - base : spans[i + 1] - 2 - base] for i in range(start, stop)]
                # Each is one whole record opening with its id, as the store writes it; else the
                # whole file is read (a sidecar that disagrees with its file is never trusted).
                if all(_one_item(item, rid) for item, rid in zip(found, self.ids[start:stop])):
                    return found
        return self.frags[start:stop]

    @property
    def resident(self) -> bool:
        return self._frags is not None

    def release(self) -> None:
        """Let the serialised records go (read again from the file when next needed); only a
        segment whose file holds exactly them."""
        if self.reread is not None:
            self._frags = None

    def position(self, record_id: str) -> int | None:
        bounds = self._bounds
        if bounds is None:  # ids follow creation order, so a segment rules most ids out by these two
            bounds = self._bounds = (min(self.ids), max(self.ids)) if self.ids else ("", "")
        if not bounds[0] <= record_id <= bounds[1]:
            return None
        index = self._index
        if index is None:
            index = self._index = {rid: i for i, rid in enumerate(self.ids)}
        return index.get(record_id)

    def added(self, record_id: str) -> None:
        """Keep the id lookup current after ``record_id`` was appended to ``ids``."""
        if self._index is not None:
            self._index[record_id] = len(self.ids) - 1
        self._bounds = None

    def check(self, model: type[Record], start: int = 0, stop: int | None = None) -> list[bytes]:
        """The serialised records in [start, stop), those not validated yet validated first
        (StoreCorrupt naming the file and record otherwise): what is answered is what was
        checked, read once. The models made are kept while the segment holds models."""
        stop = len(self.ids) if stop is None else stop
        frags = self.items(start, stop)
        unchecked = self.unchecked  # after the read: a file changed since is checked whole again
        if unchecked is None or not any(unchecked[start:stop]):
            return frags
        for i in range(start, stop):
            if unchecked[i]:
                try:
                    rec = model.model_validate_json(frags[i - start])
                except ValidationError as e:
                    raise StoreCorrupt(self.rel, *validation_position(i, {"id": self.ids[i]}, e)) from None
                if self.models is not None:
                    self.models[i] = rec
                unchecked[i] = 0
        if not any(unchecked):
            self.unchecked = None
        return frags

    def thaw(self, model: type[Record]) -> "Seg":
        """A private copy for a transaction to change (every record of it validated first)."""
        frags = self.frags  # the whole file, read once (not record by record)
        self.check(model)
        models = list(self.models) if self.models is not None else [None] * len(self.ids)
        copy = Seg(self.number, self.rel, list(self.ids), list(frags), models)
        copy._index = None if self._index is None else self._index.copy()  # a write looks its record up again
        copy._bounds = self._bounds
        return copy

    def put(self, pos: int | None, rec: Record, frag: bytes) -> None:
        """Replace the record at ``pos``, or append it, with its serialised form (a thawed copy only)."""
        self._detach()
        if pos is None:
            self.ids.append(rec.id)
            self.frags.append(frag)
            self.models.append(rec)  # type: ignore[union-attr]
            self.added(rec.id)
        else:
            self.frags[pos] = frag
            self.models[pos] = rec  # type: ignore[index]

    def remove(self, pos: int) -> None:
        self._detach()
        del self.ids[pos], self.frags[pos], self.models[pos]  # type: ignore[union-attr]
        self._index = self._bounds = None

    def _detach(self) -> None:
        """Before a change: the records in memory become the only copy (no file holds them
        as changed), and the indexes made before are dropped."""
        self.frags  # noqa: B018 (read back if they were let go)
        self.derived = {}
        self.spans = self.read_span = self.reread = self.source = None


_ITEM_BREAK = b"\n  },\n  {"


def _split_items(data: bytes) -> list[bytes]:
    """The array items of a file laid out as this store writes it (2-space indent, each item
    opening with "  {" on its own line). Pretty JSON nests deeper, so the break between two
    items is found only between items; each item is still parsed when first used."""
    parts = data[2:-3].split(_ITEM_BREAK)
    if len(parts) == 1:
        return parts
    return [parts[0] + b"\n  }", *(b"  {" + p + b"\n  }" for p in parts[1:-1]), b"  {" + parts[-1]]


# Each item of a file this store wrote opens with its id, a plain string.
_CANONICAL_ID = re.compile(rb'\n  \{\n    "id": "([^"\\]*)"[,\n]')


def _canonical_ids(data: bytes, count: int) -> list[str] | None:
    """The ids of a file laid out as this store writes it, read without parsing the records;
    None when an item is laid out otherwise."""
    ids = [m.decode() for m in _CANONICAL_ID.findall(data)]
    return ids if len(ids) == count else None


def parse_segment(d: Collection, rel: str, number: int, data: bytes) -> Seg:
    """A segment file: its records are cut apart and their ids indexed now; each record is
    parsed and validated on first use (Seg.check). A file laid out as this store writes it is
    cut without parsing (a 1 MB segment: about a tenth of the time); any other layout, a hand
    edit say, is parsed whole first. Error positions count records from 1 within the file."""
    if data.startswith(b"[\n  {") and data.endswith(b"\n  }\n]\n") and _utf8(data):
        frags = _split_items(data)
        ids = _canonical_ids(data, len(frags))
        if ids is not None:
            _require_unique(rel, ids)
            seg = Seg(number, rel, ids, frags, None, checked=False)
            seg.spans = spans_of(frags)
            return seg
    raw = parse_json(rel, data)
    if not isinstance(raw, list):
        raise StoreCorrupt(rel, "top level", "expected a JSON array of records")
    ids = []
    for i, item in enumerate(raw):
        rid = item.get("id") if isinstance(item, dict) else None
        if not isinstance(rid, str):
            raise StoreCorrupt(rel, f"record {i + 1}", "expected an object with a string id")
        ids.append(rid)
    _require_unique(rel, ids)
    return Seg(number, rel, ids, [files.array_item(item) for item in raw], None, checked=False)


def _one_item(item: bytes, rid: str) -> bool:
    return item.startswith(b'  {\n    "id": "%s"' % rid.encode()) and item.endswith(b"\n  }") and _ITEM_BREAK not in item


def spans_of(frags: Sequence[bytes]) -> "array[int]":
    """Where each record starts in the file ``files.join_array(frags)`` writes, and where the
    next would ("[\n", then the records apart by ",\n")."""
    # span i = 2 + the lengths of the records before it + 2 for each of their separators
    return array("q", map(add, accumulate(map(len, frags), initial=0), range(2, 2 * len(frags) + 3, 2)))


def _utf8(data: bytes) -> bool:
    try:
        data.isascii() or data.decode()
    except UnicodeDecodeError:
        return False  # parsed whole below, which names the line
    return True


def _require_unique(rel: str, ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        for i, rid in enumerate(ids):
            if rid in seen:
                raise StoreCorrupt(rel, f"record {i + 1}", f"duplicate id {rid}")
            seen.add(rid)


def seed_segment(d: Collection, rel: str, now: Any) -> Seg:
    """The rows a seeded collection reads as before anything is written."""
    models = [d.model.model_validate({**row, "created_at": now, "updated_at": now, "version": 1}) for row in d.seed()]  # type: ignore[misc]
    return Seg(1, rel, [m.id for m in models], [files.array_item(m.model_dump()) for m in models], list(models))


def serialise_segment(seg: Seg) -> Iterator[bytes]:
    """The file's bytes, made when written; a segment whose records were let go is copied from
    where it is kept (a transaction's spool), never held whole in memory again."""
    if not seg.resident and seg.spans is not None and seg.read_span is not None and len(seg):
        data = seg.read_span(0, seg.spans[-1] + 1)
        if data is not None:
            yield data
            return
    yield from files.join_array(seg.frags)


def cut(data: bytes, spans: Sequence[int]) -> list[bytes]:
    """The records of a segment file laid out as ``spans`` says (``spans_of``)."""
    return [data[spans[i] : spans[i + 1] - 2] for i in range(len(spans) - 1)]


def cut_as(data: bytes, spans: Sequence[int], ids: Sequence[str]) -> list[bytes] | None:
    """The records of a segment file cut as ``spans`` says, if each is then one whole record
    opening with its id in ``ids`` (as the store writes them); else None."""
    if len(data) != spans[-1] + 1 or not data.endswith(b"\n]\n"):
        return None
    frags = cut(data, spans)
    return frags if all(map(_one_item, frags, ids)) else None


# ---------------------------------------------------------------------------- other kinds


def parse_singleton(d: Singleton, data: bytes) -> BaseModel:
    raw = parse_json(d.relpath, data)
    if not isinstance(raw, dict):
        raise StoreCorrupt(d.relpath, "top level", "expected a JSON object")
    try:
        return d.model.model_validate(raw)
    except ValidationError as e:
        raise StoreCorrupt(d.relpath, *validation_position(None, raw, e)) from None


def serialise_singleton(value: BaseModel | None) -> list[bytes]:
    return [files.dumps_pretty(value.model_dump() if value is not None else None)]


def parse_text(d: TextFile, data: bytes) -> Any:
    try:
        return d.parse(data)
    except BadText as e:
        raise StoreCorrupt(d.relpath, e.position, e.message) from None


def parse_line(d: Log, line: bytes, lineno: int) -> Entry:
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise StoreCorrupt(d.relpath, *decode_error(line, e, lineno)) from None
    try:
        return d.model.model_validate(raw)
    except ValidationError as e:
        where, msg = validation_position(None, raw, e)
        raise StoreCorrupt(d.relpath, f"line {lineno}, {where}", msg) from None


def whole_tail(d: Log, tail: bytes) -> bool:
    """Whether a final line without its newline is a whole entry (appended by hand, kept) rather
    than a write torn by a crash (never acknowledged, trimmed)."""
    try:
        parse_line(d, tail, 0)
    except StoreCorrupt:
        return False
    return True


def parse_log(d: Log, data: bytes) -> tuple[tuple[Entry, ...], int]:
    """Entries and the length of the lines that count: complete lines, plus a final line
    without its newline when it is a whole entry. A torn final line is left out here and
    trimmed under the lock."""
    valid = data.rfind(b"\n") + 1
    entries = [parse_line(d, line, lineno) for lineno, line in enumerate(data[:valid].split(b"\n")[:-1], start=1)]
    tail = data[valid:]
    if tail.strip() and whole_tail(d, tail):
        entries.append(parse_line(d, tail, len(entries) + 1))
        valid = len(data)
    return tuple(entries), valid


def check_lines(d: Log, data: bytes) -> None:
    """Validate complete lines (positions are relative: the caller re-parses the whole file to
    name the line when this raises)."""
    for line in data.split(b"\n")[:-1]:
        parse_line(d, line, 0)


def log_bytes(entries: Sequence[Entry]) -> bytes:
    return b"".join(files.dumps_line(e.model_dump()) for e in entries)
